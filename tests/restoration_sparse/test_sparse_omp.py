import numpy as np
import pytest
from sklearn.linear_model import orthogonal_mp, orthogonal_mp_gram

from nlvision.restoration import SparseCodes, omp, omp_codes, omp_masked


def _problem(n=32, k=80, m=300, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n, k))
    D /= np.linalg.norm(D, axis=0)
    X = rng.standard_normal((m, n))
    return D, X


def test_omp_matches_sklearn_sparsity():
    D, X = _problem()
    ref = orthogonal_mp_gram(D.T @ D, D.T @ X.T, n_nonzero_coefs=6).T
    ours = omp(D, X, n_nonzero=6, chunk_size=64)
    np.testing.assert_array_equal(ours != 0, ref != 0)
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_omp_matches_sklearn_per_signal_tolerance():
    D, X = _problem(seed=1)
    rng = np.random.default_rng(5)
    tol = rng.uniform(2.0, 20.0, X.shape[0])  # squared residual norms, one per signal
    ours = omp(D, X, tol=tol)
    for i in range(0, X.shape[0], 7):
        ref = orthogonal_mp(D, X[i], tol=tol[i])
        np.testing.assert_array_equal(ours[i] != 0, ref != 0)
        np.testing.assert_allclose(ours[i], ref, atol=1e-10)
        assert np.sum((X[i] - D @ ours[i]) ** 2) <= tol[i] + 1e-9


def test_signal_within_tolerance_gets_no_atom_and_1d_input():
    D, X = _problem(m=2)
    x = omp(D, X[0], tol=float(X[0] @ X[0]) + 1.0)
    assert x.shape == (D.shape[1],) and not x.any()


def test_exact_recovery_of_sparse_signal_and_premature_stop():
    # orthonormal dictionary: a 2-sparse signal is recovered exactly, then OMP stops early
    D = np.eye(6)
    s = np.array([0.0, 3.0, 0.0, -2.0, 0.0, 0.0])
    x = omp(D, s[None], n_nonzero=4)[0]
    np.testing.assert_allclose(x, s)


def test_sparse_codes_helpers():
    D, X = _problem(m=50)
    codes = omp_codes(D, X, n_nonzero=3)
    assert isinstance(codes, SparseCodes)
    dense = codes.to_dense()
    assert (np.count_nonzero(dense, axis=1) == 3).all()
    np.testing.assert_allclose(codes.reconstruct(D), dense @ D.T, atol=1e-12)
    np.testing.assert_array_equal(codes.n_nonzero, 3)


def test_masked_matches_sklearn_on_normalised_masked_dictionary():
    D, X = _problem(n=36, k=60, m=60, seed=3)
    rng = np.random.default_rng(4)
    mask = rng.random(X.shape) > 0.4
    ours = omp_masked(D, X, mask, n_nonzero=5)
    for i in range(X.shape[0]):
        Dm = D[mask[i]]
        nrm = np.linalg.norm(Dm, axis=0)
        ref = orthogonal_mp(Dm / nrm, X[i][mask[i]], n_nonzero_coefs=5) / nrm
        np.testing.assert_array_equal(ours[i] != 0, ref != 0)
        np.testing.assert_allclose(ours[i], ref, atol=1e-9)


def test_masked_with_per_signal_tol_and_full_mask_equals_plain():
    D, X = _problem(seed=6)
    full = np.ones_like(X, dtype=bool)
    np.testing.assert_allclose(omp_masked(D, X, full, n_nonzero=4), omp(D, X, n_nonzero=4), atol=1e-10)
    rng = np.random.default_rng(0)
    mask = rng.random(X.shape) > 0.5
    tol = np.full(X.shape[0], 3.0)
    codes = omp_masked(D, X, mask, tol=tol)
    res = ((X - codes @ D.T) * mask) ** 2
    assert np.all(res.sum(axis=1) <= 3.0 + 1e-9)


def test_masked_ignores_values_at_missing_entries():
    D, X = _problem(m=20, seed=7)
    mask = np.random.default_rng(1).random(X.shape) > 0.3
    X2 = np.where(mask, X, 1e3)
    np.testing.assert_allclose(omp_masked(D, X, mask, 4), omp_masked(D, X2, mask, 4))



def test_more_than_eight_atoms_grows_storage_and_matches_sklearn():
    # k > 8 exercises the growth of the per-signal storage; chunk_size=16 several chunks
    D, X = _problem(n=32, k=80, m=40, seed=8)
    ref = orthogonal_mp_gram(D.T @ D, D.T @ X.T, n_nonzero_coefs=20).T
    ours = omp(D, X, n_nonzero=20, chunk_size=16)
    np.testing.assert_array_equal(ours != 0, ref != 0)
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    full = np.ones_like(X, dtype=bool)
    np.testing.assert_allclose(omp_masked(D, X, full, n_nonzero=20, chunk_size=16), ours, atol=1e-10)


def test_tol_and_n_nonzero_stop_at_whichever_comes_first():
    # OMP is greedy, so the (tol, k) run is the tol run truncated to its first k atoms
    D, X = _problem(seed=9, m=60)
    tol = np.random.default_rng(2).uniform(1.0, 15.0, X.shape[0])
    ours = omp(D, X, n_nonzero=5, tol=tol, chunk_size=16)
    G = D.T @ D
    for i in range(X.shape[0]):
        by_tol = orthogonal_mp_gram(G, D.T @ X[i], tol=tol[i], norms_squared=np.array([X[i] @ X[i]]))
        ref = by_tol if np.count_nonzero(by_tol) <= 5 else orthogonal_mp_gram(G, D.T @ X[i], n_nonzero_coefs=5)
        np.testing.assert_array_equal(ours[i] != 0, ref != 0)
        np.testing.assert_allclose(ours[i], ref, atol=1e-10)


def test_dependent_atoms_stop_prematurely_like_sklearn():
    # atoms that are combinations of others, more requested atoms than features: textbook
    # OMP stops once the residual vanishes or the next atom is dependent on the selected ones
    # (exactly duplicated atoms are left out: their tie is broken by rounding, differently
    # from one BLAS kernel to another)
    rng = np.random.default_rng(10)
    D = rng.standard_normal((6, 9))
    D = np.concatenate([D, D[:, :4] @ rng.standard_normal((4, 4))], axis=1)
    D /= np.linalg.norm(D, axis=0)
    X = rng.standard_normal((25, 6))
    X[3] = 0.0  # nothing to explain: no atom
    X[4] = 2.0 * D[:, 2]  # exactly one atom
    with pytest.warns(RuntimeWarning):
        ref = orthogonal_mp_gram(D.T @ D, D.T @ X.T, n_nonzero_coefs=9).T
    ours = omp(D, X, n_nonzero=9, chunk_size=8)
    np.testing.assert_array_equal(ours != 0, ref != 0)
    np.testing.assert_allclose(ours, ref, atol=1e-8)
    assert not ours[3].any() and np.count_nonzero(ours[4]) == 1
    full = np.ones_like(X, dtype=bool)
    np.testing.assert_allclose(omp_masked(D, X, full, n_nonzero=9, chunk_size=8), ours, atol=1e-8)


def test_masked_per_signal_tol_matches_sklearn_on_normalised_masked_dictionary():
    D, X = _problem(n=36, k=60, m=40, seed=11)
    rng = np.random.default_rng(12)
    mask = rng.random(X.shape) > 0.4
    tol = rng.uniform(1.0, 10.0, X.shape[0])
    ours = omp_masked(D, X, mask, tol=tol, chunk_size=16)
    for i in range(X.shape[0]):
        Dm = D[mask[i]]
        nrm = np.linalg.norm(Dm, axis=0)
        ref = orthogonal_mp(Dm / nrm, X[i][mask[i]], tol=tol[i]) / nrm
        np.testing.assert_array_equal(ours[i] != 0, ref != 0)
        np.testing.assert_allclose(ours[i], ref, atol=1e-9)


@pytest.mark.parametrize("gram_until", [0, 4, 100])
@pytest.mark.parametrize("use_tol", [False, True])
def test_gram_and_residual_updates_agree_with_sklearn(gram_until, use_tol):
    # plain OMP updates the correlations from the stored Gram rows for small j and by the
    # residual GEMM afterwards; 0 = residual GEMM throughout, 100 = Gram rows throughout
    from nlvision.restoration.sparse import _omp_chunk

    D, X = _problem(n=24, k=70, m=50, seed=13)
    G = D.T @ D
    tol = np.random.default_rng(3).uniform(0.5, 6.0, X.shape[0]) if use_tol else None
    idx, val = _omp_chunk(D, np.ascontiguousarray(D.T), G, X, None, 14, tol, gram_until=gram_until)
    ours = SparseCodes(idx, val, D.shape[1]).to_dense()
    if use_tol:
        for i in range(X.shape[0]):
            by_tol = orthogonal_mp_gram(G, D.T @ X[i], tol=tol[i], norms_squared=np.array([X[i] @ X[i]]))
            ref = by_tol if np.count_nonzero(by_tol) <= 14 else orthogonal_mp_gram(G, D.T @ X[i], n_nonzero_coefs=14)
            np.testing.assert_array_equal(ours[i] != 0, ref != 0)
            np.testing.assert_allclose(ours[i], ref, atol=1e-10)
    else:
        ref = orthogonal_mp_gram(G, D.T @ X.T, n_nonzero_coefs=14).T
        np.testing.assert_array_equal(ours != 0, ref != 0)
        np.testing.assert_allclose(ours, ref, atol=1e-10)

@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_nonzero": 81}, ValueError, "larger than the number of atoms"),
        ({"n_nonzero": 0}, ValueError, "n_nonzero"),
        ({"n_nonzero": 2.5}, TypeError, "n_nonzero"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"tol": np.ones(3)}, ValueError, "tol"),
    ],
)
def test_omp_bad_arguments(kwargs, exc, match):
    D, X = _problem(m=10)
    with pytest.raises(exc, match=match):
        omp(D, X, **kwargs)


def test_omp_bad_arrays():
    D, X = _problem(m=10)
    bad = D.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        omp(bad, X, 2)
    with pytest.raises(ValueError, match="shape"):
        omp(D, X[:, :5], 2)
    with pytest.raises(TypeError):
        omp(D.tolist(), X, 2)
    with pytest.raises(ValueError, match="mask"):
        omp_masked(D, X, np.ones((10, 5), dtype=bool), 2)
    with pytest.raises(ValueError, match="mask"):
        omp_masked(D, X, np.full(X.shape, 2), 2)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(4, 16),
    k_extra=st.integers(0, 20),
    m=st.integers(1, 30),
    nnz=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_omp_equals_sklearn_random_problems(n, k_extra, m, nnz, seed):
    rng = np.random.default_rng(seed)
    K = n + k_extra
    D = rng.standard_normal((n, K))
    D /= np.linalg.norm(D, axis=0)
    X = rng.standard_normal((m, n))
    nnz = min(nnz, n)
    ref = orthogonal_mp_gram(D.T @ D, D.T @ X.T, n_nonzero_coefs=nnz).T.reshape(m, K)
    ours = omp(D, X, n_nonzero=nnz, chunk_size=7)
    np.testing.assert_array_equal(ours != 0, ref != 0)
    np.testing.assert_allclose(ours, ref, atol=1e-8)
