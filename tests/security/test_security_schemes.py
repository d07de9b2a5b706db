"""Tests of the encryption schemes, the baseline indices and the agreement statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dctn
from scipy.stats import kendalltau, pearsonr, spearmanr

from nlvision.security.agreement import agreement, fit_logistic, logistic5
from nlvision.security.baselines import edge_texture_index, ess, lss, psnr, ssim
from nlvision.security.encryption import SCHEMES, encrypt


def _img(h=64, w=64, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    return np.clip(0.5 + 0.3 * np.sin(x / 7.0) * np.cos(y / 5.0) + 0.05 * rng.standard_normal((h, w)), 0, 1)


# ----------------------------------------------------------------------------- schemes


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_scheme_identity_at_zero_deterministic_and_keyed(scheme):
    img = _img()
    assert np.allclose(encrypt(img, scheme, 0.0, key=1), img, atol=1e-12)
    a = encrypt(img, scheme, 0.7, key=1)
    assert a.shape == img.shape and a.min() >= 0 and a.max() <= 1
    assert np.array_equal(a, encrypt(img, scheme, 0.7, key=1))
    if scheme != "wavelet_truncate":  # truncation uses no key
        assert not np.array_equal(a, encrypt(img, scheme, 0.7, key=2))
    assert not np.allclose(a, img)


def test_colour_encrypted_per_channel_with_same_key():
    img = np.stack([_img(), _img(seed=1), _img(seed=2)], axis=-1)
    out = encrypt(img, "block_shuffle", 0.5, key=4)
    assert np.array_equal(out[..., 1], encrypt(img[..., 1], "block_shuffle", 0.5, key=4))


def test_block_shuffle_is_a_permutation_of_blocks():
    img = _img(64, 64)
    out = encrypt(img, "block_shuffle", 0.5, key=3)  # b = round(16^0.5 * 2^0.5) = 6
    b = 6
    m = 64 // b
    blocks_in = {img[i * b : (i + 1) * b, j * b : (j + 1) * b].tobytes() for i in range(m) for j in range(m)}
    blocks_out = {out[i * b : (i + 1) * b, j * b : (j + 1) * b].tobytes() for i in range(m) for j in range(m)}
    assert blocks_in == blocks_out
    assert np.array_equal(out[m * b :], img[m * b :])  # uncovered remainder untouched


def test_pixel_scramble_preserves_block_means_and_histogram():
    img = _img(64, 64)
    out = encrypt(img, "pixel_scramble", 1.0, key=0)  # b = round(64/8) = 8
    m = img.reshape(8, 8, 8, 8).mean(axis=(1, 3))
    assert np.allclose(out.reshape(8, 8, 8, 8).mean(axis=(1, 3)), m)
    assert np.array_equal(np.sort(out.ravel()), np.sort(img.ravel()))


def test_dct_sign_keeps_dc_and_coefficient_magnitudes():
    img = _img(64, 64)
    out = encrypt(img, "dct_sign", 0.5, key=0)  # AC ranks 1..round(63^0.5)=8
    for i, j in [(0, 0), (3, 5)]:
        c_in = dctn(img[8 * i : 8 * i + 8, 8 * j : 8 * j + 8] - 0.5, norm="ortho")
        c_out = dctn(out[8 * i : 8 * i + 8, 8 * j : 8 * j + 8] - 0.5, norm="ortho")
        if out[8 * i : 8 * i + 8, 8 * j : 8 * j + 8].min() > 0 and out[8 * i : 8 * i + 8, 8 * j : 8 * j + 8].max() < 1:
            assert np.allclose(np.abs(c_out), np.abs(c_in), atol=1e-9)  # no clipping happened
        assert np.isclose(c_out[0, 0], c_in[0, 0], atol=1e-6) or out.min() == 0 or out.max() == 1


def test_msb_xor_keeps_low_bit_planes():
    img = _img()
    q = np.round(img * 255).astype(np.uint8)
    out = np.round(encrypt(img, "msb_xor", 0.25, key=9) * 255).astype(np.uint8)  # 2 planes
    assert np.array_equal(out & 0x3F, q & 0x3F)
    assert not np.array_equal(out & 0xC0, q & 0xC0)


def test_wavelet_truncate_full_strength_is_flat_gray():
    assert np.allclose(encrypt(_img(), "wavelet_truncate", 1.0), 0.5)


def test_encrypt_bad_input():
    img = _img()
    with pytest.raises(ValueError, match="valid: block_shuffle"):
        encrypt(img, "rot13", 0.5)
    with pytest.raises(ValueError, match="strength"):
        encrypt(img, "msb_xor", 1.5)
    with pytest.raises(TypeError, match="strength"):
        encrypt(img, "msb_xor", "high")
    with pytest.raises(ValueError, match="key"):
        encrypt(img, "msb_xor", 0.5, key=-1)
    with pytest.raises(TypeError, match="key"):
        encrypt(img, "msb_xor", 0.5, key=1.5)
    with pytest.raises(ValueError, match="NaN"):
        encrypt(np.full((8, 8), np.nan), "msb_xor", 0.5)


# ----------------------------------------------------------------------------- baselines


def test_psnr_and_ssim_match_closed_form_and_skimage():
    from skimage.metrics import structural_similarity

    a = _img()
    b = np.clip(a + 0.05, 0, 1)
    mse = np.mean((a - b) ** 2)
    assert np.isclose(psnr(a, b), 10 * np.log10(1 / mse))
    assert psnr(a, a) == float("inf")
    assert np.isclose(ssim(a, b), structural_similarity(a, b, data_range=1.0))


def test_lss_hand_case():
    p = np.zeros((8, 24))
    e = p.copy()
    e[:, 8:16] = 0.05  # |d| = 0.05 < alpha -> 1
    e[:, 16:] = 0.35  # |d| = 0.35 -> -0.1 * round(3.5) = -0.4
    assert np.isclose(lss(p, e), (1 + 1 - 0.4) / 3)


def test_ess_directions():
    p = np.zeros((16, 16))
    p[:, 8:] = 1.0  # vertical edge in the middle column of blocks
    diag = (np.add.outer(np.arange(16), np.arange(16)) >= 16).astype(float)  # 45° edge
    assert ess(p, p) == 1.0
    # blocks with the vertical edge (2 of 4) against blocks with no edge/other direction
    assert ess(p, np.zeros_like(p)) == 0.0
    s = ess(p, diag)
    assert 0.0 <= s < 1.0


def test_edge_texture_index_range_and_identity():
    a = _img()
    assert edge_texture_index(a, a) == 1.0
    assert 0 <= edge_texture_index(a, np.random.default_rng(1).random(a.shape)) < 0.8


def test_baselines_bad_input():
    with pytest.raises(ValueError, match="differs"):
        lss(np.zeros((16, 16)), np.zeros((16, 8)))
    with pytest.raises(ValueError, match="smaller than one 8x8 block"):
        ess(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        psnr(np.zeros((8, 8)), np.full((8, 8), np.nan))


# ----------------------------------------------------------------------------- agreement


def test_agreement_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.random(40)
    y = 3 * x + 0.3 * rng.standard_normal(40)
    a = agreement(x, y)
    assert np.isclose(a.srocc, spearmanr(x, y)[0])
    assert np.isclose(a.krcc, kendalltau(x, y)[0])
    # the fitted logistic can only improve on the best straight line
    lin = np.polyval(np.polyfit(x, y, 1), x)
    assert a.rmse <= np.sqrt(np.mean((lin - y) ** 2)) + 1e-9
    assert a.plcc >= pearsonr(x, y)[0] - 1e-6
    assert a.n == 40


def test_logistic_fit_recovers_a_known_curve():
    x = np.linspace(-1, 2, 30)
    true = (3.0, -4.0, 0.5, 0.2, 1.0)
    y = logistic5(x, *true)
    params, q = fit_logistic(x, y)
    assert np.allclose(q, y, atol=1e-5)
    a = agreement(x, y)
    assert np.isclose(a.rmse, 0.0, atol=1e-5) and np.isclose(a.plcc, 1.0)


def test_agreement_bad_input():
    with pytest.raises(ValueError, match="expected 6"):
        agreement(np.arange(6), np.arange(5))
    with pytest.raises(ValueError, match="at least 6"):
        agreement([1, 2], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        agreement([1, 2, 3, 4, 5, np.nan], [1, 2, 3, 4, 5, 6])
    with pytest.raises(ValueError, match="constant"):
        agreement(np.ones(6), np.arange(6))


# ----------------------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheme=st.sampled_from(sorted(SCHEMES)),
    strength=st.floats(0.0, 1.0),
    key=st.integers(0, 2**31),
    h=st.integers(16, 40),
    w=st.integers(16, 40),
)
def test_property_encrypt_keeps_shape_and_range(scheme, strength, key, h, w):
    img = _img(h, w)
    out = encrypt(img, scheme, strength, key=key)
    assert out.shape == img.shape and np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(20, 36))
def test_property_vsi_bounds(seed, size):
    """sim, RD and GS lie in [0, 1], so 0 <= VSI <= 2 and VSI <= VSI(P, P) = 2."""
    from nlvision.security.vsi import vsi

    rng = np.random.default_rng(seed)
    p, e = rng.random((size, size)), rng.random((size, size))
    r = vsi(p, e)
    assert 0 <= r.rd <= 1 + 1e-12 and 0 <= r.gs <= 1 + 1e-12 and 0 <= r.vsi <= 2 + 1e-12
    assert np.all((r.block_rd >= 0) & (r.block_rd <= 1 + 1e-12))
