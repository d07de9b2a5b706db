import numpy as np
import pytest
from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d

from nlvision.restoration import aggregate_patches, extract_patches, patch_grid


def test_extract_matches_sklearn():
    rng = np.random.default_rng(0)
    img = rng.random((13, 17))
    ours = extract_patches(img, 5)
    ref = extract_patches_2d(img, (5, 5)).reshape(-1, 25)
    np.testing.assert_array_equal(ours, ref)


def test_aggregate_uniform_matches_sklearn():
    rng = np.random.default_rng(1)
    img = rng.random((12, 10))
    pat = rng.random(((12 - 4 + 1) * (10 - 4 + 1), 16))
    ours = aggregate_patches(pat, img.shape, 4)
    ref = reconstruct_from_patches_2d(pat.reshape(-1, 4, 4), img.shape)
    np.testing.assert_allclose(ours, ref)


@pytest.mark.parametrize("step", [1, 2, 3, 8])
def test_roundtrip_with_step_and_weights(step):
    rng = np.random.default_rng(2)
    img = rng.random((19, 23))
    pat = extract_patches(img, 8, step=step)
    w = rng.random(pat.shape[0]) + 0.1
    np.testing.assert_allclose(aggregate_patches(pat, img.shape, 8, step=step, weights=w), img)


def test_weighted_average_hand_case():
    # 1x3 image, patch 1x... use 2x2 patches on a 2x3 image: two patches overlap in column 1
    pat = np.array([[1.0, 1.0, 1.0, 1.0], [4.0, 4.0, 4.0, 4.0]])
    out = aggregate_patches(pat, (2, 3), 2, weights=np.array([1.0, 3.0]))
    np.testing.assert_allclose(out[:, 1], (1 * 1 + 3 * 4) / 4)
    np.testing.assert_allclose(out[:, 0], 1.0)
    np.testing.assert_allclose(out[:, 2], 4.0)


def test_grid_covers_border():
    r, c = patch_grid((10, 10), 4, step=4)
    assert r.tolist() == [0, 4, 6] and c.tolist() == [0, 4, 6]


@pytest.mark.parametrize(
    "args, exc",
    [
        ((np.zeros((3, 3)), 4), ValueError),
        ((np.zeros((8, 8, 3)), 4), ValueError),
        ((np.zeros((8, 8)), 0), ValueError),
        ((np.zeros((8, 8)), 2.5), TypeError),
        (([[1.0]], 1), TypeError),
    ],
)
def test_extract_bad_input(args, exc):
    with pytest.raises(exc):
        extract_patches(*args)


def test_aggregate_bad_input():
    with pytest.raises(ValueError, match="patches must have shape"):
        aggregate_patches(np.zeros((3, 4)), (4, 4), 2)
    with pytest.raises(ValueError, match="weights"):
        aggregate_patches(np.zeros((9, 4)), (4, 4), 2, weights=-np.ones(9))


@pytest.mark.parametrize("step, band", [(1, 7), (1, 1000), (3, 5)])
def test_map_patches_equals_weighted_aggregation(step, band):
    from nlvision.restoration import map_patches

    rng = np.random.default_rng(3)
    img = rng.random((21, 17))
    P = extract_patches(img, 5, step=step)
    est_all = P * 2.0 + 1.0
    w_all = rng.random(P.shape[0]) + 0.5
    calls = []

    def fn(S, rows, cols):
        # the band's patches are the ones extract_patches gives at these positions
        start = sum(calls)
        calls.append(S.shape[0])
        np.testing.assert_array_equal(S, P[start : start + S.shape[0]])
        return S * 2.0 + 1.0, w_all[start : start + S.shape[0]]

    num, den = map_patches(img, 5, fn, step=step, band_patches=band)
    ref = aggregate_patches(est_all, img.shape, 5, step=step, weights=w_all)
    np.testing.assert_allclose(num / den, ref)
    assert max(calls) <= max(band, len(patch_grid(img.shape, 5, step)[1]))


def test_map_patches_bad_fn_output():
    from nlvision.restoration import map_patches

    with pytest.raises(ValueError, match="fn must return"):
        map_patches(np.zeros((8, 8)), 4, lambda S, r, c: (S[:, :2], np.ones(len(S))))
    with pytest.raises(ValueError, match="band_patches"):
        map_patches(np.zeros((8, 8)), 4, lambda S, r, c: (S, np.ones(len(S))), band_patches=0)
