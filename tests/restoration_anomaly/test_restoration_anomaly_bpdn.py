"""BPDN by ADMM: agreement with scikit-learn's Lasso/LassoLars, group prox, dictionary learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso, LassoLars

from nlvision.restoration.bpdn import (
    ADMMConfig,
    DictionaryLearningConfig,
    bpdn,
    bpdn_objective,
    learn_dictionary,
    sparse_group_shrink,
)

TIGHT = ADMMConfig(max_iter=5000, rel_tol=1e-7)


def _problem(m=30, n=50, N=12, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.normal(size=(m, n))
    D /= np.linalg.norm(D, axis=0)
    S = rng.normal(size=(N, m))
    return D, S


@pytest.mark.parametrize("lam", [0.05, 0.5])
def test_objective_matches_sklearn_lasso(lam):
    D, S = _problem()
    m = D.shape[0]
    x = bpdn(D, S, lam, config=TIGHT).x
    # sklearn minimises 1/(2m)||s - Dw||^2 + alpha ||w||_1  ->  alpha = lam / m
    ref = np.array([Lasso(alpha=lam / m, fit_intercept=False, tol=1e-12, max_iter=200000).fit(D, s).coef_ for s in S])
    ours, theirs = bpdn_objective(D, S, x, lam), bpdn_objective(D, S, ref, lam)
    assert np.all(np.abs(ours - theirs) / theirs < 1e-4)


def test_objective_matches_sklearn_lassolars():
    D, S = _problem(m=20, n=40, N=6, seed=1)
    lam = 0.2
    x = bpdn(D, S, lam, config=TIGHT).x
    ref = np.array([LassoLars(alpha=lam / D.shape[0], fit_intercept=False).fit(D, s).coef_ for s in S])
    ours, theirs = bpdn_objective(D, S, x, lam), bpdn_objective(D, S, ref, lam)
    assert np.all(np.abs(ours - theirs) / theirs < 1e-4)


def test_identity_dictionary_is_soft_threshold():
    s = np.array([[2.0, 0.5, -3.0, -0.2]])
    x = bpdn(np.eye(4), s, 1.0, config=TIGHT).x
    np.testing.assert_allclose(x, [[1.0, 0.0, -2.0, 0.0]], atol=1e-6)


def test_group_prox_hand_worked():
    # lam = 0, mu = 1, one group [3, 4]: x = s (1 - 1/5)
    z = sparse_group_shrink(torch.tensor([[3.0, 4.0]], dtype=torch.float64), 0.0, 1.0, torch.tensor([0, 0]))
    np.testing.assert_allclose(z.numpy(), [[2.4, 3.2]])
    # sparse-group: soft threshold by 1 -> [2, 3], then scale 1 - 1/sqrt(13)
    z = sparse_group_shrink(torch.tensor([[3.0, 4.0, 0.5]], dtype=torch.float64), 1.0, 1.0, torch.tensor([0, 0, 1]))
    np.testing.assert_allclose(z.numpy(), [[2 * (1 - 1 / np.sqrt(13)), 3 * (1 - 1 / np.sqrt(13)), 0.0]])


def _fista(D, S, lam, mu, groups, n_iter=4000):
    """Independent accelerated proximal-gradient solver (numpy) of the sparse-group problem."""
    L = np.linalg.norm(D, 2) ** 2
    G = (groups[:, None] == np.unique(groups)[None, :]).astype(float)  # (n, n_groups)
    x = y = np.zeros((S.shape[0], D.shape[1]))
    t = 1.0
    for _ in range(n_iter):
        v = y - (y @ D.T - S) @ D / L
        v = np.sign(v) * np.maximum(np.abs(v) - lam / L, 0)
        norms = np.sqrt((v * v) @ G) @ G.T
        v = v * np.maximum(0.0, 1 - (mu / L) / np.maximum(norms, 1e-300))
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = v + (t - 1) / t_new * (v - x)
        x, t = v, t_new
    return x


def test_group_sparse_matches_independent_ista():
    D, S = _problem(m=15, n=24, N=3, seed=2)
    groups = np.repeat(np.arange(4), 6)
    x = bpdn(D, S, 0.1, mu=0.3, groups=groups, config=TIGHT).x
    ref = _fista(D, S, 0.1, 0.3, groups)
    ours = bpdn_objective(D, S, x, 0.1, 0.3, groups)
    theirs = bpdn_objective(D, S, ref, 0.1, 0.3, groups)
    assert np.all(np.abs(ours - theirs) / theirs < 1e-4)


def test_float32_batched_and_tensor_input():
    D, S = _problem(N=40)
    a = bpdn(D, S, 0.2, config=TIGHT).x
    b = bpdn(D, S, 0.2, config=ADMMConfig(max_iter=500, rel_tol=1e-5), dtype=np.float32, batch_size=7).x
    fa, fb = bpdn_objective(D, S, a, 0.2), bpdn_objective(D, S, b, 0.2)
    assert np.all(np.abs(fa - fb) / fa < 1e-4)
    t = bpdn(torch.as_tensor(D), torch.as_tensor(S), 0.2).x
    assert isinstance(t, torch.Tensor) and t.shape == (40, 50)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(D=np.ones(5), S=np.ones((2, 5)), lam=0.1), ValueError),
        (dict(D=np.ones((5, 3)), S=np.ones((2, 4)), lam=0.1), ValueError),
        (dict(D=np.ones((5, 3)), S=np.ones((2, 5)), lam=-1.0), ValueError),
        (dict(D=np.ones((5, 3)), S=np.ones((2, 5)), lam="a"), TypeError),
        (dict(D=np.ones((5, 3)), S=np.ones((2, 5)), lam=0.1, mu=0.5), ValueError),
        (dict(D=np.ones((5, 3)), S=np.full((2, 5), np.nan), lam=0.1), ValueError),
        (dict(D="x", S=np.ones((2, 5)), lam=0.1), TypeError),
        (dict(D=np.ones((5, 3)), S=np.ones((2, 5)), lam=0.1, mu=0.1, groups=[0, 1]), ValueError),
    ],
)
def test_bpdn_bad_input(kwargs, exc):
    with pytest.raises(exc):
        bpdn(**kwargs)


def test_admm_config_bad():
    with pytest.raises(ValueError, match="relax"):
        bpdn(np.eye(2), np.ones((1, 2)), 0.1, config=ADMMConfig(relax=2.5))


def test_learned_dictionary_beats_random():
    from skimage.data import brick

    from nlvision.restoration.patches import extract_patches

    img = brick()[:128, :128] / 255.0
    P = extract_patches(img, 8, 2)
    P = P - P.mean(1, keepdims=True)
    D = learn_dictionary(P, DictionaryLearningConfig(n_atoms=32, lam=0.05, n_iter=5, n_samples=1500), rng=0)
    assert D.shape == (64, 32)
    assert np.all(np.linalg.norm(D, axis=0) <= 1 + 1e-6)
    rng = np.random.default_rng(1)
    R = rng.normal(size=(64, 32))
    R /= np.linalg.norm(R, axis=0)
    test = P[::7][:300]
    cfg = ADMMConfig(max_iter=300)
    f_learned = bpdn_objective(D, test, bpdn(D, test, 0.05, config=cfg).x, 0.05).mean()
    f_random = bpdn_objective(R, test, bpdn(R, test, 0.05, config=cfg).x, 0.05).mean()
    assert f_learned < 0.8 * f_random


def test_learn_dictionary_too_few_patches():
    with pytest.raises(ValueError, match="too few"):
        learn_dictionary(np.ones((5, 16)), DictionaryLearningConfig(n_atoms=8))
    with pytest.raises(TypeError):
        learn_dictionary([[1.0]], DictionaryLearningConfig(n_atoms=1))


def test_non_convergence_is_reported():
    rng = np.random.default_rng(5)
    D = rng.normal(size=(20, 40))
    S = rng.normal(size=(30, 20))
    with pytest.warns(RuntimeWarning, match="did not reach"):
        res = bpdn(D, S, 0.05, config=ADMMConfig(max_iter=3))
    assert not res.converged and res.n_iter == 3
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = bpdn(D, S, 0.05, config=ADMMConfig(max_iter=3, warn=False))
        ok = bpdn(D, S, 0.05)  # the default (1000 iterations, rel_tol 1e-4) converges here
    assert not quiet.converged and ok.converged
