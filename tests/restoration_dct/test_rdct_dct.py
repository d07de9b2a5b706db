"""Sliding-DCT denoising against a straightforward loop over patches (scipy.fft.dctn)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
from scipy.signal import convolve2d

from nlvision.restoration import (
    aggregation_weights,
    dct_matrix,
    denoise_dct,
    denoise_dct_dask,
    opponent_to_rgb,
    resolve_threshold,
    rgb_to_opponent,
)


def _reference(z, tau, p, aggregation):
    """Plain loop over every sliding patch (or non-overlapping tiles for 'none')."""
    H, W = z.shape
    num = np.zeros_like(z)
    den = np.zeros_like(z)
    if aggregation == "none":
        rows = sorted(set(list(range(0, H - p + 1, p)) + [H - p]))
        cols = sorted(set(list(range(0, W - p + 1, p)) + [W - p]))
    else:
        rows, cols = range(H - p + 1), range(W - p + 1)
    for i in rows:
        for j in cols:
            c = scipy.fft.dctn(z[i : i + p, j : j + p], norm="ortho")
            dc = c[0, 0]
            c[np.abs(c) < tau] = 0
            c[0, 0] = dc
            w = 1.0 / max(np.count_nonzero(c), 1) if aggregation == "sparsity" else 1.0
            num[i : i + p, j : j + p] += w * scipy.fft.idctn(c, norm="ortho")
            den[i : i + p, j : j + p] += w
    return num / den


@pytest.mark.parametrize("aggregation", ["uniform", "sparsity", "none"])
@pytest.mark.parametrize("shape,p", [((21, 26), 8), ((16, 16), 8), ((13, 9), 4)])
def test_matches_patch_loop(aggregation, shape, p):
    z = np.random.default_rng(3).random(shape)
    tau = 0.25
    out = denoise_dct(z, 0.1, patch_size=p, threshold=tau, aggregation=aggregation)
    np.testing.assert_allclose(out, _reference(z, tau, p, aggregation), atol=2e-5)


def test_zero_threshold_is_identity():
    z = np.random.default_rng(0).random((20, 30))
    np.testing.assert_allclose(denoise_dct(z, 0.1, threshold=0.0), z, atol=1e-5)


def test_huge_threshold_keeps_only_patch_means():
    # every patch is replaced by its mean (DC kept): out = full-conv of the box means / counts
    z = np.random.default_rng(1).random((24, 19))
    p = 8
    means = convolve2d(z, np.ones((p, p)) / p**2, mode="valid")
    ref = convolve2d(means, np.ones((p, p)), mode="full") / convolve2d(np.ones_like(means), np.ones((p, p)), mode="full")
    np.testing.assert_allclose(denoise_dct(z, 0.1, threshold=1e6), ref, atol=1e-5)


def test_dct_matrix_matches_scipy():
    P = np.random.default_rng(2).random((8, 8))
    D = dct_matrix(8)
    np.testing.assert_allclose(D @ P @ D.T, scipy.fft.dctn(P, norm="ortho"), atol=1e-12)


def test_thresholds():
    assert resolve_threshold("3sigma", 0.1, 8) == pytest.approx(0.3)
    assert resolve_threshold("universal", 0.1, 8) == pytest.approx(0.1 * math.sqrt(2 * math.log(64)))
    assert resolve_threshold("universal", 0.1, 4) == pytest.approx(0.1 * math.sqrt(2 * math.log(16)))
    assert resolve_threshold(0.05, 0.1) == 0.05


def test_aggregation_weights_hand_case():
    c = np.zeros((3, 2, 2))
    c[0, 0, 0] = 1.0  # only DC: ||x||_0 = 1
    c[1] = [[1.0, 2.0], [0.0, -3.0]]  # 3 non-zeros
    # c[2] all zero -> counted as 1
    np.testing.assert_allclose(aggregation_weights(c, "sparsity"), [1.0, 1 / 3, 1.0])
    np.testing.assert_allclose(aggregation_weights(c, "uniform"), [1.0, 1.0, 1.0])


def _checkerboard(n=256, square=16):
    i = np.arange(n)
    return ((i[:, None] // square + i[None, :] // square) % 2).astype(float)


def test_lecture_checkerboard_numbers():
    """Seed: no aggregation on a 16x16-square checkerboard 35.7 dB, shifted by one pixel 23.6 dB;
    sparsity-aware aggregation beats uniform (35.7 vs 30.6 dB)."""
    rng = np.random.default_rng(0)
    s = 20 / 255
    cb = _checkerboard()
    shifted = np.roll(cb, (1, 1), axis=(0, 1))

    def psnr(a, b):
        return 10 * np.log10(1 / np.mean((a - b) ** 2))

    z = cb + rng.normal(0, s, cb.shape)
    zs = shifted + rng.normal(0, s, cb.shape)
    assert psnr(denoise_dct(z, s, aggregation="none"), cb) == pytest.approx(35.7, abs=1.0)
    assert psnr(denoise_dct(zs, s, aggregation="none"), shifted) == pytest.approx(23.6, abs=1.0)
    uni = psnr(denoise_dct(zs, s, aggregation="uniform"), shifted)
    spa = psnr(denoise_dct(zs, s, aggregation="sparsity"), shifted)
    assert uni == pytest.approx(30.6, abs=1.0)
    assert spa == pytest.approx(35.7, abs=1.0)


def test_camera_psnr_issue_number():
    from skimage import data
    from skimage.metrics import peak_signal_noise_ratio

    clean = data.camera() / 255.0
    z = clean + np.random.default_rng(0).normal(0, 20 / 255, clean.shape)
    out = denoise_dct(z, 20 / 255)
    assert not np.isnan(out).any()
    assert peak_signal_noise_ratio(clean, out, data_range=1.0) == pytest.approx(29.9, abs=0.3)


def test_opponent_transform_is_orthonormal():
    M = rgb_to_opponent(np.eye(3)).T  # columns: images of the unit vectors
    np.testing.assert_allclose(M @ M.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(M[0], np.full(3, 1 / math.sqrt(3)))
    np.testing.assert_allclose(M[1], [1 / math.sqrt(2), 0, -1 / math.sqrt(2)])
    x = np.random.default_rng(0).random((5, 4, 3))
    np.testing.assert_allclose(opponent_to_rgb(rgb_to_opponent(x)), x, atol=1e-12)


def test_color_and_channel_axis():
    rng = np.random.default_rng(5)
    clean = np.stack([_checkerboard(40, 8), np.full((40, 40), 0.5), 1 - _checkerboard(40, 8)], axis=-1)
    z = clean + rng.normal(0, 0.1, clean.shape)
    out = denoise_dct(z, 0.1, channel_axis=-1)
    assert out.shape == z.shape
    assert np.mean((out - clean) ** 2) < np.mean((z - clean) ** 2) / 4
    first = denoise_dct(np.moveaxis(z, -1, 0), 0.1, channel_axis=0)
    np.testing.assert_allclose(np.moveaxis(first, 0, -1), out, atol=1e-12)


def test_sigma_none_uses_estimate():
    rng = np.random.default_rng(1)
    clean = np.tile(np.linspace(0.2, 0.8, 64), (64, 1))
    z = clean + rng.normal(0, 0.05, clean.shape)
    auto = denoise_dct(z)
    assert np.mean((auto - clean) ** 2) < np.mean((z - clean) ** 2) / 4


def test_workers_do_not_change_the_result():
    z = np.random.default_rng(8).random((70, 45))
    for agg in ("uniform", "sparsity"):
        np.testing.assert_allclose(
            denoise_dct(z, 0.1, aggregation=agg, workers=3), denoise_dct(z, 0.1, aggregation=agg), atol=1e-6
        )


def test_dask_path_matches():
    pytest.importorskip("dask")
    z = np.random.default_rng(4).random((50, 37))
    for agg in ("uniform", "sparsity"):
        np.testing.assert_allclose(
            denoise_dct_dask(z, 0.1, aggregation=agg, chunks=16), denoise_dct(z, 0.1, aggregation=agg), atol=1e-5
        )
    rgb = np.random.default_rng(5).random((30, 30, 3))
    np.testing.assert_allclose(
        denoise_dct_dask(rgb, 0.1, channel_axis=-1, chunks=12), denoise_dct(rgb, 0.1, channel_axis=-1), atol=1e-5
    )


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(image=np.zeros((0, 0))), ValueError, "empty"),
        (dict(image=np.full((16, 16), np.nan)), ValueError, "NaN"),
        (dict(image=np.zeros((5, 16))), ValueError, "smaller than the 8x8 patch"),
        (dict(sigma=0.0), ValueError, "sigma"),
        (dict(sigma=-1.0), ValueError, "sigma"),
        (dict(sigma=float("inf")), ValueError, "sigma"),
        (dict(sigma="a"), TypeError, "sigma"),
        (dict(patch_size=1), ValueError, "patch_size"),
        (dict(patch_size=2.5), TypeError, "patch_size"),
        (dict(threshold="bogus"), ValueError, "3sigma, universal"),
        (dict(threshold=-1.0), ValueError, "threshold"),
        (dict(aggregation="mean"), ValueError, "uniform, sparsity, none"),
        (dict(image=np.zeros((16, 16, 3))), ValueError, "channel_axis"),
        (dict(channel_axis=-1), ValueError, "channel_axis"),
        (dict(image="file.png"), TypeError, "path"),
        (dict(workers=0), ValueError, "workers"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = dict(image=np.zeros((16, 16)), sigma=0.1)
    args.update(kwargs)
    image = args.pop("image")
    sigma = args.pop("sigma")
    with pytest.raises(exc, match=match):
        denoise_dct(image, sigma, **args)


def test_bad_input_helpers():
    with pytest.raises(ValueError, match="3 channels"):
        rgb_to_opponent(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="aggregation"):
        aggregation_weights(np.zeros((2, 4)), "max")
    with pytest.raises(ValueError, match="patch_size"):
        dct_matrix(1)
    with pytest.raises(ValueError, match="'none'"):
        denoise_dct_dask(np.zeros((16, 16)), 0.1, aggregation="none")


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=15, deadline=None)
@given(
    h=st.integers(4, 19),
    w=st.integers(4, 19),
    p=st.integers(2, 4),
    agg=st.sampled_from(["uniform", "sparsity", "none"]),
    seed=st.integers(0, 2**16),
)
def test_zero_threshold_reconstructs_any_shape(h, w, p, agg, seed):
    """With tau = 0 every patch is reconstructed exactly, whatever the shape and aggregation."""
    z = np.random.default_rng(seed).random((h, w))
    out = denoise_dct(z, 0.1, patch_size=p, threshold=0.0, aggregation=agg)
    assert out.shape == z.shape and np.isfinite(out).all()
    np.testing.assert_allclose(out, z, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(bad=st.one_of(st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf"))))
def test_non_positive_or_non_finite_sigma_rejected(bad):
    with pytest.raises(ValueError, match="sigma"):
        denoise_dct(np.zeros((8, 8)), bad)
