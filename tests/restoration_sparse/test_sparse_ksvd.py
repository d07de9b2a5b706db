import numpy as np
import pytest

from nlvision.restoration import KSVDConfig, dct_dictionary, ksvd


def _planted(n=20, k=40, m=1500, s=3, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    D0 = rng.standard_normal((n, k))
    D0 /= np.linalg.norm(D0, axis=0)
    C = np.zeros((m, k))
    for j in range(s):
        C[np.arange(m), rng.integers(0, k, m)] = rng.standard_normal(m)
    X = C @ D0.T + noise * rng.standard_normal((m, n))
    return D0, X


def test_ksvd_recovers_planted_dictionary():
    # Aharon et al. 2006 synthetic experiment (smaller): atoms count as recovered when
    # 1 - |<d, d0>| < 0.01.
    D0, X = _planted()
    res = ksvd(X, 40, KSVDConfig(n_iter=30, n_nonzero=3, seed=1))
    match = np.abs(res.dictionary.T @ D0).max(axis=0)
    assert np.mean(1 - match < 0.01) >= 0.85
    assert res.rmse_history[-1] < 0.5 * res.rmse_history[0]


def test_ksvd_dc_atom_fixed_unit_norm_and_seeded():
    _, X = _planted(m=400, seed=2)
    cfg = KSVDConfig(n_iter=3, n_nonzero=2, dc_atom=True, seed=3)
    a = ksvd(X, 25, cfg)
    b = ksvd(X, 25, cfg)
    np.testing.assert_allclose(a.dictionary[:, 0], 1 / np.sqrt(20))
    np.testing.assert_allclose(np.linalg.norm(a.dictionary, axis=0), 1.0)
    np.testing.assert_array_equal(a.dictionary, b.dictionary)


def test_ksvd_replaces_dead_and_duplicate_atoms():
    _, X = _planted(m=500, seed=4)
    init = np.random.default_rng(0).standard_normal((20, 30))
    init[:, 1] = init[:, 0]  # duplicate
    res = ksvd(X, 30, KSVDConfig(n_iter=1, n_nonzero=2), init_dictionary=init)
    G = np.abs(res.dictionary.T @ res.dictionary) - np.eye(30)
    assert res.n_replaced >= 1
    assert G.max() < 0.99 + 1e-9


def test_dct_dictionary_properties():
    D = dct_dictionary(8, 256)
    assert D.shape == (64, 256)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0)
    np.testing.assert_allclose(D[:, 0], 1 / 8)
    # non-DC atoms are zero-mean
    np.testing.assert_allclose(D[:, 1:].mean(axis=0)[:15], 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.zeros((10, 4)), 20), {}, "at least n_atoms"),
        ((np.zeros((50, 4)), 0), {}, "n_atoms"),
        ((np.zeros((50, 4)), 5), {"config": KSVDConfig(init="pca")}, "init"),
        ((np.zeros((50, 4)), 5), {"config": KSVDConfig(n_nonzero=9)}, "larger than n_atoms"),
        ((np.zeros((50, 4)), 5), {"config": KSVDConfig(n_nonzero=2), "init_dictionary": np.ones((3, 5))}, "init_dictionary"),
    ],
)
def test_ksvd_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ksvd(*args, **kwargs)
