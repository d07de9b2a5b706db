"""Shift-robust non-local search, the edge scale, banded edge detection and the result fields."""

from __future__ import annotations

import numpy as np
import pytest

from nlvision.security.edges import EdgeConfig, edge_config, edge_maps, edge_response
from nlvision.security.vsi import PAPER, VSIConfig, block_size, vsi


def _scene(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    img = 0.15 + 0.5 * ((x - 0.4) ** 2 + (y - 0.5) ** 2 < 0.06) + 0.25 * (x > 0.7) * (y < 0.4) + 0.1 * np.sin(9 * x + 4 * y)
    return np.clip(img + 0.02 * rng.standard_normal((n, n)), 0, 1)


def _jigsaw(img, t, off, key=0):
    rng = np.random.default_rng(key)
    out = img.copy()
    pos = [(y, x) for y in range(off, img.shape[0] - t + 1, t) for x in range(off, img.shape[1] - t + 1, t)]
    tiles = [img[y : y + t, x : x + t].copy() for y, x in pos]
    for (y, x), k in zip(pos, rng.permutation(len(pos))):
        out[y : y + t, x : x + t] = tiles[k]
    return out


def test_jigsaw_offset_by_half_a_block_scores_like_the_aligned_one():
    """#17 target: |ΔVSI| <= 0.10 between l-px tiles aligned with the grid and offset by l/2.

    The paper's literal grid search (PAPER) cannot see the offset jigsaw (gap > 0.2 here).
    """
    img = _scene()
    l = block_size(img.shape)
    aligned, offset = _jigsaw(img, l, 0), _jigsaw(img, l, l // 2)
    gap = abs(vsi(img, aligned).vsi - vsi(img, offset).vsi)
    gap_paper = abs(vsi(img, aligned, PAPER).vsi - vsi(img, offset, PAPER).vsi)
    assert gap <= 0.10 < gap_paper


def test_whole_image_shift_is_found_at_one_pixel():
    img = _scene()
    shifted = np.roll(img, (3, 1), axis=(0, 1))
    r = vsi(img, shifted, "C1")
    inner = r.match[1:-1, 1:-1]  # blocks away from the wrapped border moved by exactly (3, 1)
    oy, ox = r.origin
    l = r.block
    m, n = r.block_rd.shape
    grid = np.stack(np.meshgrid(oy + l * np.arange(m), ox + l * np.arange(n), indexing="ij"), axis=-1)[1:-1, 1:-1]
    assert np.array_equal(inner, grid + np.array([3, 1]))
    assert r.vsi > vsi(img, shifted, "C1" if False else VSIConfig(search_stride=1.0, phases=1, use_structure=False,
                                                                   use_weights=False, use_global=False)).vsi


def test_result_exposes_per_block_maps_and_edges():
    img = _scene(64)
    enc = _jigsaw(img, 8, 0)
    r = vsi(img, enc)
    m, n = r.block_rd.shape
    for a in (r.sim_a, r.sim_s, r.weights):
        assert a.shape == (m, n) and np.all((a >= 0) & (a <= 1 + 1e-9))
    assert r.match.shape == (m, n, 2)
    assert r.edges_plain.shape == img.shape and r.edges_encrypted.shape == img.shape
    # eq. 4 at the match, recomputed from the exposed parts
    assert np.allclose(r.block_rd, r.sim_a * r.sim_s ** (1 - r.sim_a))


def test_banded_edge_response_equals_whole_image():
    img = _scene(80, 3)
    whole = edge_response(img, EdgeConfig())
    banded = edge_response(img, EdgeConfig(band_pixels=4096))  # 51-row bands
    assert np.allclose(banded.thinned, whole.thinned, atol=1e-5)
    assert np.allclose(banded.strength, whole.strength, atol=1e-5)


def test_paper_edge_scale_resists_noise():
    """#17 target: edge F-measure >= 0.9 on a noisy step at sigma 0.3 (the default scale)."""
    from scipy.ndimage import binary_dilation

    n = 96
    x = np.mgrid[0:n, 0:n][1]
    clean = 0.25 + 0.5 * (x >= n // 2)
    noisy = clean + 0.3 * np.random.default_rng(0).standard_normal(clean.shape)
    truth = np.zeros((n, n), bool)
    truth[:, n // 2 - 1 : n // 2 + 1] = True

    def f(cfg):
        det = edge_maps(clean, noisy, cfg)[1] > 0.5
        st = np.ones((3, 3), bool)
        prec = (det & binary_dilation(truth, st)).sum() / max(det.sum(), 1)
        rec = (truth & binary_dilation(det, st)).sum() / truth.sum()
        return 2 * prec * rec / max(prec + rec, 1e-12)

    assert f(EdgeConfig()) >= 0.9 > 0.5 > f(edge_config("fine"))


def test_edge_config_presets_and_bad_values():
    assert edge_config("paper") == EdgeConfig()
    with pytest.raises(ValueError, match="valid: paper, fine"):
        edge_config("huge")
    with pytest.raises(ValueError, match="n_harmonics"):
        EdgeConfig(n_harmonics=3)
    with pytest.raises(ValueError, match="search_stride"):
        VSIConfig(search_stride=0)
    with pytest.raises(ValueError, match="phases"):
        VSIConfig(phases=0)
