import numpy as np
import pytest
import skimage.data
from sklearn.linear_model import Lasso
from sklearn.neighbors import KNeighborsClassifier
from skimage.metrics import peak_signal_noise_ratio

from nlvision.restoration import KSVDDenoiseConfig, denoise_ksvd
from nlvision.restoration import SRCClassifier, SRCConfig, lasso_admm, load_digits_split


@pytest.fixture(scope="module")
def noisy_crop():
    y = skimage.data.camera()[96:192, 160:256].astype(float) / 255
    z = y + np.random.default_rng(0).normal(0, 20 / 255, y.shape)
    return y, z


def test_ksvd_denoise_global_dictionary(noisy_crop):
    y, z = noisy_crop
    out = denoise_ksvd(z, 20 / 255, adapt=False)
    p_noisy = peak_signal_noise_ratio(y, np.clip(z, 0, 1), data_range=1)
    assert peak_signal_noise_ratio(y, np.clip(out, 0, 1), data_range=1) > p_noisy + 6


def test_ksvd_denoise_adaptive_and_aggregations(noisy_crop):
    y, z = noisy_crop
    cfg = KSVDDenoiseConfig(adapt_iterations=2, training_patches=3000)
    base = peak_signal_noise_ratio(y, np.clip(z, 0, 1), data_range=1)
    out = denoise_ksvd(z, 20 / 255, config=cfg)
    assert peak_signal_noise_ratio(y, np.clip(out, 0, 1), data_range=1) > base + 6
    for agg in ("sparsity", "none"):
        o = denoise_ksvd(z, 20 / 255, aggregation=agg, adapt=False)
        assert peak_signal_noise_ratio(y, np.clip(o, 0, 1), data_range=1) > base + 3


def test_ksvd_denoise_colour_shape(noisy_crop):
    y, z = noisy_crop
    rgb = np.stack([z, z, z], axis=0)  # channels first
    out = denoise_ksvd(rgb, 20 / 255, channel_axis=0, adapt=False)
    assert out.shape == rgb.shape
    # a gray image replicated in RGB: the result stays gray and equals the gray result
    np.testing.assert_allclose(out[0], out[1], atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"sigma": 0.0}, ValueError),
        ({"sigma": float("nan")}, ValueError),
        ({"aggregation": "max"}, ValueError),
        ({"dictionary": np.ones((49, 30))}, ValueError),
        ({"dictionary": np.full((64, 30), np.nan)}, ValueError),
        ({"patch_size": 1}, ValueError),
        ({"config": "fast"}, TypeError),
    ],
)
def test_ksvd_denoise_bad_input(kwargs, exc):
    args = {"image": np.random.default_rng(0).random((32, 32)), "sigma": 0.1}
    args.update(kwargs)
    with pytest.raises(exc):
        denoise_ksvd(**args)
    with pytest.raises(ValueError, match="channel_axis"):
        denoise_ksvd(np.zeros((16, 16, 3)), 0.1)


def test_lasso_admm_matches_sklearn_objective():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 60))
    A /= np.linalg.norm(A, axis=0)
    Y = rng.standard_normal((5, 20))
    lam = 0.1
    z = lasso_admm(A, Y, lam, max_iter=3000, tol=1e-10)
    obj = lambda x: 0.5 * np.sum((x @ A.T - Y) ** 2, axis=1) + lam * np.abs(x).sum(axis=1)  # noqa: E731
    ref = np.array([Lasso(alpha=lam / 20, fit_intercept=False, tol=1e-12, max_iter=100000).fit(A, y).coef_ for y in Y])
    np.testing.assert_allclose(obj(z), obj(ref), rtol=1e-6)


def test_src_digits_subset_against_1nn():
    Xtr, Xte, ytr, yte = load_digits_split(seed=1)
    Xtr, ytr, Xte, yte = Xtr[:700], ytr[:700], Xte[:200], yte[:200]
    knn = KNeighborsClassifier(1).fit(Xtr, ytr).score(Xte, yte)
    for cfg in (SRCConfig(), SRCConfig(solver="omp")):
        acc = SRCClassifier(cfg).fit(Xtr, ytr).score(Xte, yte)
        assert acc >= knn - 0.03 and acc > 0.9


def test_src_residual_rule_hand_case():
    # two classes on orthogonal axes: the test sample is reconstructed by class 1 alone
    X = np.array([[1.0, 0, 0], [0.9, 0.1, 0], [0, 0, 1.0], [0, 0.1, 0.9]])
    clf = SRCClassifier(SRCConfig(solver="omp", n_nonzero=2)).fit(X, np.array([7, 7, 3, 3]))
    r = clf.residuals(np.array([[0.0, 0.05, 1.0]]))
    # columns follow the sorted classes [3, 7]
    assert r[0, 0] < 0.1 < 0.9 < r[0, 1]
    assert clf.predict(np.array([[0.0, 0.05, 1.0]])).tolist() == [3]


def test_src_robust_variant_helps_under_occlusion():
    Xtr, Xte, ytr, yte = load_digits_split(seed=0)
    Xtr, ytr, Xte, yte = Xtr[:600], ytr[:600], Xte[:150].copy(), yte[:150]
    Xte[:, :24] = 1.0  # top three rows of every test digit occluded
    plain = SRCClassifier(SRCConfig()).fit(Xtr, ytr).score(Xte, yte)
    robust = SRCClassifier(SRCConfig(robust=True)).fit(Xtr, ytr).score(Xte, yte)
    assert robust > plain + 0.05


def test_src_bad_input():
    with pytest.raises(ValueError, match="valid solvers"):
        SRCClassifier(SRCConfig(solver="lars"))
    with pytest.raises(ValueError, match="not fitted"):
        SRCClassifier().predict(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="2 classes"):
        SRCClassifier().fit(np.ones((3, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="larger than the number of atoms"):
        SRCClassifier(SRCConfig(solver="omp", n_nonzero=50)).fit(np.eye(4), np.array([0, 0, 1, 1]))
    clf = SRCClassifier().fit(np.eye(4), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="shape"):
        clf.predict(np.zeros((2, 5)))
