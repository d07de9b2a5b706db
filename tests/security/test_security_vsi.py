"""Tests of the VSI (seed 004 eqs. 1-8) and its Fourier-Argand edge detector."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dct, dctn, idctn
from scipy.ndimage import correlate, distance_transform_edt

from nlvision.security.edges import EdgeConfig, edge_maps, edge_response, steerable_harmonics, template_rotated
from nlvision.security.vsi import (
    CONFIGS,
    VSIConfig,
    bhattacharyya,
    block_size,
    block_weights,
    combine_similarity,
    dct_matrix,
    get_config,
    lowpass_blocks,
    pool_rd,
    sim_appearance,
    sim_structure,
    vsi,
    vsi_loop,
    zigzag_rank,
)

# The JPEG standard's zig-zag scan of an 8x8 block (ITU T.81, figure 5), written out by hand.
JPEG_ZIGZAG = np.array(
    [
        [0, 1, 5, 6, 14, 15, 27, 28],
        [2, 4, 7, 13, 16, 26, 29, 42],
        [3, 8, 12, 17, 25, 30, 41, 43],
        [9, 11, 18, 24, 31, 40, 44, 53],
        [10, 19, 23, 32, 39, 45, 52, 54],
        [20, 22, 33, 38, 46, 51, 55, 60],
        [21, 34, 37, 47, 50, 56, 59, 61],
        [35, 36, 48, 49, 57, 58, 62, 63],
    ]
)


def _image(n=64, seed=0):
    """A smooth test image with edges (disc + ramp) and mild texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    img = 0.3 + 0.4 * ((x - 0.5) ** 2 + (y - 0.4) ** 2 < 0.08) + 0.2 * x
    return np.clip(img + 0.02 * rng.standard_normal((n, n)), 0, 1)


# ----------------------------------------------------------------------------- edges


def test_harmonics_are_odd_and_steer_exactly_with_full_energy():
    cfg = EdgeConfig(n_harmonics=None, energy=1.0)
    orders, kernels = steerable_harmonics(cfg)
    assert np.all(orders % 2 == 1)
    rng = np.random.default_rng(0)
    f = rng.random((40, 40))
    from nlvision.security.edges import _harmonic_responses

    o, z = _harmonic_responses(f, cfg)
    for phi in (0.3, 1.1, 2.5, 4.0):
        direct = correlate(f, template_rotated(cfg, phi), mode="mirror")  # = numpy "reflect" padding
        w = np.where(o == 0, 1.0, 2.0)
        steered = np.einsum("k,khw->hw", w, (z * np.exp(-1j * o * phi)[:, None, None]).real)
        assert np.allclose(steered, direct, atol=1e-6 * np.abs(direct).max())


def test_truncated_harmonics_keep_the_requested_energy():
    full = steerable_harmonics(EdgeConfig(n_harmonics=None, energy=1.0))[1]
    kept = steerable_harmonics(EdgeConfig(n_harmonics=None, energy=0.9))[1]
    e_full = 2 * np.sum(np.abs(full) ** 2)  # n and -n
    e_kept = 2 * np.sum(np.abs(kept) ** 2)
    assert e_kept / e_full >= 0.9 - 1e-9 and kept.shape[0] < full.shape[0]


@pytest.mark.parametrize("angle", [0.0, 30.0, 60.0, 90.0, 135.0])
def test_edge_orientation_matches_a_rotated_step(angle):
    n = 64
    y, x = np.mgrid[0:n, 0:n] - n / 2 + 0.25
    t = np.deg2rad(angle)
    img = (np.cos(t) * x + np.sin(t) * y > 0).astype(float)
    r = edge_response(img)
    c = n // 2
    # the normal is (cos φ, sin φ) up to the sign (polarity)
    phi = r.orientation[c - 4 : c + 4, c - 4 : c + 4][r.thinned[c - 4 : c + 4, c - 4 : c + 4] > 0]
    err = np.abs(np.angle(np.exp(1j * (phi - t)) ** 2)) / 2  # modulo π
    assert phi.size > 0 and np.median(err) < np.deg2rad(6)  # pixel staircase on diagonals


def test_step_edge_is_thinned_to_one_pixel_per_row():
    img = np.zeros((32, 32))
    img[:, 16:] = 1.0
    t = edge_response(img).thinned
    assert np.all((t[4:-4] > 0).sum(axis=1) == 1)
    assert set(np.nonzero(t[10])[0]) <= {15, 16}


def test_edge_map_scale_is_taken_from_plain():
    p = _image()
    em_p, em_e, s = edge_maps(p, 0.1 * p + 0.45)  # same structure at 1/10 contrast
    assert em_p.max() == 1.0
    assert 0.05 < em_e.max() <= 0.2  # not inflated back to 1
    assert s > 0


def test_constant_plain_has_all_zero_edge_maps():
    em_p, em_e, s = edge_maps(np.full((32, 32), 0.3), np.random.default_rng(0).random((32, 32)))
    assert s == 0.0 and not em_p.any() and not em_e.any()


# ----------------------------------------------------------------------------- eqs. 2-7


def test_zigzag_matches_jpeg_table():
    assert np.array_equal(zigzag_rank(8), JPEG_ZIGZAG)


def test_dct_matrix_matches_scipy():
    x = np.random.default_rng(1).random(7)
    assert np.allclose(dct_matrix(7) @ x, dct(x, norm="ortho"))


def test_lowpass_matches_scipy_dctn():
    rng = np.random.default_rng(2)
    b = rng.random((3, 8, 8))
    w = np.exp(-JPEG_ZIGZAG / (2.0 * 8))  # beta = 2 so the high frequencies are visibly damped
    ref = np.stack([idctn(dctn(x, norm="ortho") * w, norm="ortho") for x in b])
    assert np.allclose(lowpass_blocks(b, 2.0), ref)
    assert not np.allclose(ref, b)


def test_block_size_formula():
    assert block_size((512, 384)) == int(0.1 * 384) + 1 == 39
    assert block_size((100, 100), alpha=0.25) == 26


def test_sim_appearance_hand_case_and_chunking():
    a = np.array([[[0.2, 0.4]]])
    b = np.array([[[0.2, 0.9]], [[0.7, 0.4]]])
    # gamma = 5: ((1^5 + 0.5^5)/2)^(1/5) for both encrypted blocks
    expected = ((1 + 0.5**5) / 2) ** 0.2
    assert np.allclose(sim_appearance(a, b, 5.0), expected)
    rng = np.random.default_rng(3)
    p, e = rng.random((7, 4, 4)), rng.random((5, 4, 4))
    ref = np.array([[np.mean((1 - np.abs(x - y)) ** 3) ** (1 / 3) for y in e] for x in p])
    assert np.allclose(sim_appearance(p, e, 3.0, chunk_elements=10), ref)
    assert np.allclose(sim_appearance(p, e, 2.5), np.array([[np.mean((1 - np.abs(x - y)) ** 2.5) ** 0.4 for y in e] for x in p]))


def test_sim_structure_hand_cases():
    p = np.zeros((1, 3, 3), bool)
    p[0, 0, :] = True  # top row edge
    e_same = p.copy()
    e_shift = np.zeros((1, 3, 3), bool)
    e_shift[0, 2, :] = True  # bottom row: distance 2 from the plain edge
    e_none = np.zeros((1, 3, 3), bool)
    s = sim_structure(p, np.concatenate([e_same, e_shift, e_none]))
    d = np.sqrt(2) * 3
    assert np.isclose(s[0, 0], 1.0)
    assert np.isclose(s[0, 1], 3 * (1 - 2 / d) / (3 + 3 - 0))
    assert s[0, 2] == 0.0
    # two edge-free blocks: defined as identical (empty) structure
    assert sim_structure(e_none, e_none)[0, 0] == 1.0
    assert sim_structure(e_none, p)[0, 0] == 0.0


def test_sim_structure_random_against_loop():
    rng = np.random.default_rng(4)
    bp = rng.random((4, 5, 5)) > 0.8
    be = rng.random((3, 5, 5)) > 0.7
    ref = np.zeros((4, 3))
    for i in range(4):
        wem = np.clip(1 - distance_transform_edt(~bp[i]) / (np.sqrt(2) * 5), 0, 1) if bp[i].any() else np.zeros((5, 5))
        for j in range(3):
            den = bp[i].sum() + be[j].sum() - (bp[i] & be[j]).sum()
            ref[i, j] = (wem * be[j]).sum() / den if den else 1.0
    assert np.allclose(sim_structure(bp, be), ref)


def test_combine_similarity_eq4():
    assert np.isclose(combine_similarity(np.array(0.6), np.array(0.5)), 0.6 * 0.5**0.4)
    assert combine_similarity(np.array(1.0), np.array(0.0)) == 1.0  # 0^0 = 1: sim_A dominates


def test_block_weights_eq5_hand_case():
    rd = np.array([[0.2, 0.4], [0.6, 0.8]])
    em = np.zeros((2, 2, 2, 2))
    em[0, 0] = [[1, 0], [0, 0]]  # std = sqrt(1/4 - 1/16) = sqrt(3)/4
    em[1, 1] = [[1, 1], [0, 0]]  # std = 1/2
    w = block_weights(rd, em)
    assert np.isclose(w[0, 0], (1 - (0.4 + 0.6) / 2) * np.sqrt(3) / 4)
    assert np.isclose(w[1, 1], (1 - (0.4 + 0.6) / 2) * 0.5)
    assert w[0, 1] == 0 and w[1, 0] == 0


def test_pool_rd_forms():
    rd, w = np.array([0.5, 1.0]), np.array([1.0, 3.0])
    assert np.isclose(pool_rd(rd, w, 5.0), ((0.5**5 + 3) / 4) ** 0.2)
    assert np.isclose(pool_rd(rd, w, 5.0, "literal"), ((0.5**5 + 3**5) / 4) ** 0.2)
    assert np.isclose(pool_rd(rd, np.zeros(2), 2.0), np.sqrt((0.25 + 1) / 2))
    with pytest.raises(ValueError, match="pooling"):
        pool_rd(rd, w, 5.0, "max")


def test_bhattacharyya_hand_case():
    a = np.array([0.0, 0.0, 0.9, 0.9])  # half in bin 0, half in bin 1 (2 bins)
    b = np.array([0.0, 0.0, 0.0, 0.9])
    assert np.isclose(bhattacharyya(a, b, bins=2), np.sqrt(0.5 * 0.75) + np.sqrt(0.5 * 0.25))
    assert np.isclose(bhattacharyya(a, a, bins=2), 1.0)


# ----------------------------------------------------------------------------- the index


@pytest.mark.parametrize("name", list(CONFIGS))
def test_vectorised_vsi_equals_loop_reference(name):
    from nlvision.security.vsi import with_overrides

    cfg = with_overrides(name, alpha=0.15, search_stride=1.0, phases=1)  # the paper's grid; 48 px -> 8x8 blocks on a 6x6 grid: 1296 pairs in the loop
    p = _image(48, 0)
    e = np.clip(p[::-1] * 0.8 + 0.1 * np.random.default_rng(5).random(p.shape), 0, 1)
    assert np.isclose(vsi(p, e, cfg).vsi, vsi_loop(p, e, cfg), rtol=1e-6)


def test_identical_images_score_maximal():
    p = _image()
    r = vsi(p, p)
    assert np.isclose(r.rd, 1.0) and np.isclose(r.gs, 1.0) and np.isclose(r.vsi, 2.0)
    l = r.block
    m, n = r.block_rd.shape
    oy, ox = r.origin
    expected = np.stack(np.meshgrid(oy + l * np.arange(m), ox + l * np.arange(n), indexing="ij"), axis=-1)
    assert np.array_equal(r.match, expected)  # every block matched itself


def test_non_local_matching_finds_shuffled_blocks():
    """A permutation of the VSI's own blocks is fully recognisable: every block finds its match."""
    p = _image(70, 1)
    l = block_size(p.shape)  # 8 -> 8x8 grid, 6-pixel remainder
    m = p.shape[0] // l
    rng = np.random.default_rng(0)
    perm = rng.permutation(m * m)
    blocks = p[: m * l, : m * l].reshape(m, l, m, l).swapaxes(1, 2).reshape(m * m, l, l)
    e = p.copy()
    e[: m * l, : m * l] = blocks[perm].reshape(m, m, l, l).swapaxes(1, 2).reshape(m * l, m * l)
    from nlvision.security.vsi import PAPER, with_overrides

    inverse = np.argsort(perm)
    expected = np.stack([l * (inverse // m), l * (inverse % m)], axis=-1).reshape(m, m, 2)
    for cfg in (with_overrides(PAPER, use_structure=False, use_weights=False, use_global=False), "C1"):
        r = vsi(p, e, cfg)
        assert np.isclose(r.rd, 1.0)
        if r.origin == (0, 0):
            assert np.array_equal(r.match, expected)


def test_colour_is_evaluated_on_luminance():
    from skimage.color import rgb2gray

    rng = np.random.default_rng(6)
    p = rng.random((40, 40, 3))
    e = rng.random((40, 40, 3))
    assert np.isclose(vsi(p, e).vsi, vsi(rgb2gray(p), rgb2gray(e)).vsi)


def test_constant_images_defined_result():
    p = np.full((40, 40), 0.5)
    e = np.full((40, 40), 0.25)
    r = vsi(p, e)
    # no edges: sim_S = 1, equal weights, GS = 1 -> VSI = 2 * sim_A, sim_A = 1 - 0.25 for every pair
    assert np.isclose(r.gs, 1.0) and np.isclose(r.rd, 0.75) and np.isclose(r.vsi, 1.5)


def test_get_config_and_overrides():
    assert get_config("C3") == VSIConfig(use_global=False)
    with pytest.raises(ValueError, match="valid: C1, C2, C3, C4"):
        get_config("C5")


@pytest.mark.parametrize(
    "plain, enc, match",
    [
        (np.zeros((40, 40)), np.zeros((40, 41)), "differs"),
        (np.zeros((40, 40)), np.full((40, 40), np.nan), "NaN"),
        (np.zeros((40, 40)), np.full((40, 40), 2.0), "within"),
        (np.zeros((40,)), np.zeros((40,)), "expected shape"),
        (np.zeros((0, 0)), np.zeros((0, 0)), "empty"),
    ],
)
def test_vsi_bad_input(plain, enc, match):
    with pytest.raises(ValueError, match=match):
        vsi(plain, enc)


def test_vsi_bad_types_and_too_small():
    with pytest.raises(TypeError, match="plain"):
        vsi("a.png", np.zeros((4, 4)))
    with pytest.raises(ValueError, match="smaller than one 50x50 block"):
        vsi(np.zeros((40, 40)), np.zeros((40, 40)), VSIConfig(block_size=50))
    with pytest.raises(ValueError, match="1-pixel blocks"):
        vsi(np.zeros((9, 9)), np.zeros((9, 9)))
    with pytest.raises(ValueError, match="alpha"):
        VSIConfig(alpha=-1)
    with pytest.raises(ValueError, match="pooling"):
        VSIConfig(pooling="sum")
    with pytest.raises(ValueError, match="energy"):
        EdgeConfig(n_harmonics=None, energy=0)
