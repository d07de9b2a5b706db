"""Convolutional sparse coding: FFT reconstruction, ADMM optimality, region features, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from nlvision.restoration.csc import (
    CDLConfig,
    CSCConfig,
    _csc_circular,
    _group_shrink,
    csc,
    csc_objective,
    highpass,
    learn_filters,
    reconstruct,
)


def test_reconstruct_matches_scipy_circular_convolution():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 14, 17))
    f = rng.normal(size=(3, 5, 5))
    ref = sum(ndimage.convolve(a[i], f[i], mode="wrap") for i in range(3))
    np.testing.assert_allclose(reconstruct(a, f), ref, atol=1e-10)


def test_delta_filter_gives_soft_threshold():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(20, 20))
    delta = np.zeros((1, 3, 3))
    delta[0, 1, 1] = 1.0
    r = csc(s, delta, CSCConfig(lam=0.3, xi=0.0, max_iter=300, rel_tol=1e-8), dtype=np.float64)
    ref = np.sign(s) * np.maximum(np.abs(s) - 0.3, 0)
    np.testing.assert_allclose(r.maps[0], ref, atol=1e-5)


def test_group_shrink_hand_worked():
    v = torch.zeros((1, 2, 2), dtype=torch.float64)
    v[0, 0, 0], v[0, 1, 1] = 3.0, 4.0  # one 2x2 block, norm 5
    z = _group_shrink(v, 0.0, 1.0, 2, torch)
    np.testing.assert_allclose(z.numpy()[0], [[2.4, 0.0], [0.0, 3.2]])


def test_circular_csc_is_a_minimiser():
    rng = np.random.default_rng(2)
    s = rng.normal(size=(16, 16))
    f = rng.normal(size=(3, 5, 5))
    f /= np.linalg.norm(f.reshape(3, -1), axis=1)[:, None, None]
    cfg = CSCConfig(lam=0.2, xi=0.2, group_size=4, max_iter=500)
    maps = _csc_circular(s, f, cfg)
    best = csc_objective(s, f, maps, 0.2, 0.2, 4)
    assert best < csc_objective(s, f, np.zeros_like(maps), 0.2, 0.2, 4)
    for k in range(5):  # no random perturbation improves the objective (convex problem)
        pert = maps + 1e-2 * rng.normal(size=maps.shape)
        assert best <= csc_objective(s, f, pert, 0.2, 0.2, 4) + 1e-6


def test_region_features_match_window_sums():
    from nlvision.restoration.csc import region_features

    rng = np.random.default_rng(3)
    img = rng.random((24, 24))
    f = rng.normal(size=(2, 3, 3)) / 3
    cfg = CSCConfig(lam=0.05, xi=0.02, group_size=5, max_iter=30)
    F = region_features(img, f, cfg, region_size=5)
    _, s = highpass(img)
    r = csc(s, f, cfg)
    resid = r.reconstruction - s
    for (y, x) in [(5, 5), (12, 17), (20, 3)]:
        win = (slice(y - 2, y + 3), slice(x - 2, x + 3))
        e = np.sum(resid[win] ** 2)
        l1 = np.abs(r.maps[:, win[0], win[1]]).sum()
        l2 = sum(np.linalg.norm(r.maps[i][win]) for i in range(2))
        np.testing.assert_allclose(F[y, x], [e, l1, l2], rtol=1e-4, atol=1e-8)


def test_highpass_splits_image():
    img = np.random.default_rng(4).random((30, 40))
    low, high = highpass(img, 5.0)
    np.testing.assert_allclose(low + high, img)
    assert high.std() < img.std()


def test_learn_filters_constraints():
    img = np.random.default_rng(5).random((48, 48))
    f = learn_filters([img], CDLConfig(n_filters=4, filter_size=5, n_iter=2, crop=32, n_crops=2, group_size=8), rng=0)
    assert f.shape == (4, 5, 5)
    assert np.all(np.linalg.norm(f.reshape(4, -1), axis=1) <= 1 + 1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda: csc(np.ones((10, 10)), np.ones((3, 3))),
        lambda: csc(np.ones(10), np.ones((1, 3, 3))),
        lambda: csc(np.full((10, 10), np.nan), np.ones((1, 3, 3))),
        lambda: csc(np.ones((10, 10)), np.ones((1, 3, 3)), CSCConfig(lam=-1)),
        lambda: csc(np.ones((10, 10)), [[1.0]]),
        lambda: learn_filters([], CDLConfig()),
        lambda: learn_filters([np.ones((4, 4))], CDLConfig(filter_size=5)),
        lambda: reconstruct(np.ones((2, 5, 5)), np.ones((3, 3, 3))),
    ],
)
def test_csc_bad_input(call):
    with pytest.raises((ValueError, TypeError)):
        call()
