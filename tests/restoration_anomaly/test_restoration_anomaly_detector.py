"""Anomaly detector: density, calibration, FPR control, save/load, bad input, baselines, data sets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.metrics import roc_auc_score

from nlvision.datasets.textures import (
    DEFECT_KINDS,
    load_texture,
    make_texture_benchmark,
    plant_defect,
)
from nlvision.restoration.anomaly import (
    AnomalyConfig,
    AnomalyDetector,
    GaussianDensity,
    PaDiMBaseline,
    PatchCoreBaseline,
    fpr_at_threshold,
    load_anomaly_folder,
    local_descriptors,
    pixel_auroc,
)


def tiny(method="patch", **kw):
    base = dict(method=method, patch_size=7, n_atoms=16, dl_iter=3, n_train_patches=600, step=2, fit_step=3,
                admm_iter=20, n_filters=4, filter_size=5, cdl_iter=1, csc_iter=15, scales=(0.75, 1.0))
    base.update(kw)
    return AnomalyConfig(**base)


@pytest.fixture(scope="module")
def brick():
    img = load_texture("brick")
    return img[:96, :128], img[96:160, :128], img[200:280, :128]


@pytest.fixture(scope="module")
def fitted(brick):
    train, val, _ = brick
    return AnomalyDetector(tiny()).fit([train], val_images=[val])


def test_pixel_auroc_matches_mann_whitney():
    from scipy.stats import rankdata

    rng = np.random.default_rng(0)
    s = rng.normal(size=500)
    y = rng.random(500) < 0.3
    s[y] += 0.7
    s[:20] = 0.0  # ties
    r = rankdata(s)
    ref = (r[y].sum() - y.sum() * (y.sum() + 1) / 2) / (y.sum() * (~y).sum())
    assert pixel_auroc(s, y) == pytest.approx(ref, abs=1e-12)
    assert pixel_auroc([s[:250], s[250:]], [y[:250], y[250:]]) == pytest.approx(ref, abs=1e-12)
    assert fpr_at_threshold(s, y, 0.5) == pytest.approx(np.mean(s[~y] > 0.5))


def test_gaussian_density_matches_scipy():
    rng = np.random.default_rng(1)
    F = rng.normal(size=(400, 3)) @ np.array([[1, 0.3, 0], [0, 1, 0.5], [0, 0, 2.0]])
    d = GaussianDensity.fit(F)
    ref = multivariate_normal(F.mean(0), np.cov(F, rowvar=False)).logpdf(F[:10])
    np.testing.assert_allclose(-d.neg_log_density(F[:10]), ref, rtol=1e-4)


def test_gmm_density_matches_sklearn():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(2)
    F = np.concatenate([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 5])
    d = GaussianDensity.fit(F, "gmm", 2, seed=0)
    gm = GaussianMixture(2, covariance_type="full", random_state=0, reg_covar=float(1e-6 * F.var(0).max())).fit(F)
    np.testing.assert_allclose(-d.neg_log_density(F[:20]), gm.score_samples(F[:20]), rtol=1e-6)


def test_fit_score_detect(fitted, brick):
    _, val, test = brick
    img, mask = plant_defect(test, "blob", np.random.default_rng(0), size=30)
    amap = fitted.score(img)
    assert amap.shape == img.shape
    assert roc_auc_score(mask.ravel(), amap.ravel()) > 0.8
    # gamma: the fraction of validation pixels above it is the target FPR
    vmap = fitted.score(val)
    for f in (0.01, 0.1):
        assert np.mean(vmap > fitted.threshold(f)) == pytest.approx(f, abs=0.01)
    det = fitted.detect(img, 0.05)
    assert det.dtype == bool and det.shape == img.shape
    assert det[mask].mean() > det[~mask].mean()


def test_features_patch_match_hand_computation(fitted, brick):
    from nlvision.restoration.bpdn import ADMMConfig, bpdn

    _, _, test = brick
    F = fitted.features(test)
    p = fitted.config.patch_size
    s = test[0:p, 0:p].ravel()
    if fitted.config.remove_mean:
        s = s - s.mean()
    x = bpdn(fitted.dictionary, s[None], fitted.config.lam, config=ADMMConfig(max_iter=3000, rel_tol=1e-8)).x[0]
    # the detector runs a few float32 ADMM iterations: its features give a BPDN objective
    # 1/2 err + lam ||x||_1 within 2 % of the optimum found by a tight solve
    lam = fitted.config.lam
    optimum = 0.5 * np.sum((fitted.dictionary @ x - s) ** 2) + lam * np.abs(x).sum()
    assert 0.5 * F[0, 0, 0] + lam * F[0, 0, 1] == pytest.approx(optimum, rel=0.02)
    assert F[0, 0, 1] == pytest.approx(np.abs(x).sum(), rel=0.1)


def test_postprocess_removes_isolated_pixels(brick):
    train, val, _ = brick
    det = AnomalyDetector(tiny(postprocess="open", post_size=3))
    m = np.zeros((20, 20), bool)
    m[5, 5] = True
    m[10:16, 10:16] = True
    out = det.postprocess_mask(m)
    assert not out[5, 5] and out[10:16, 10:16].all()


@pytest.mark.parametrize("method", ["multiscale", "csc"])
def test_other_methods_fit_and_save(method, brick, tmp_path):
    train, val, test = brick
    det = AnomalyDetector(tiny(method)).fit([train], val_images=[val])
    assert det.features(test).shape[-1] == 3
    amap = det.score(test)
    path = det.save(tmp_path / "m.npz")
    back = AnomalyDetector.load(path, method=method)
    np.testing.assert_allclose(back.score(test), amap, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expected 'patch'"):
        AnomalyDetector.load(path, method="patch")


def test_ksvd_dictionary_option(brick):
    train, val, test = brick
    det = AnomalyDetector(tiny(dictionary="ksvd")).fit([train], val_images=[val])
    D = det.dictionary
    assert D.shape == (49, 16)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-6)
    assert det.score(test).shape == test.shape
    with pytest.raises(ValueError, match="valid: bpdn, ksvd"):
        AnomalyDetector(tiny(dictionary="mod")).fit([train], val_images=[val])


def test_save_load_roundtrip_and_corrupt(fitted, brick, tmp_path):
    _, _, test = brick
    path = fitted.save(tmp_path / "model.npz")
    back = AnomalyDetector.load(path)
    np.testing.assert_allclose(back.score(test), fitted.score(test), rtol=1e-5, atol=1e-6)
    assert back.threshold(0.02) == pytest.approx(fitted.threshold(0.02))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a valid"):
        AnomalyDetector.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, header=np.frombuffer(json.dumps({"format": "x"}).encode(), np.uint8))
    with pytest.raises(ValueError, match="not an nlvision anomaly model"):
        AnomalyDetector.load(other)
    wrong = tmp_path / "wrong.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["dictionary"] = arrays["dictionary"][:, :3]
    np.savez(wrong, **arrays)
    with pytest.raises(ValueError, match="corrupt"):
        AnomalyDetector.load(wrong)
    with pytest.raises(ValueError, match="no such"):
        AnomalyDetector.load(tmp_path / "missing.npz")


def test_bad_input(fitted, brick):
    train, val, test = brick
    with pytest.raises(ValueError, match="fpr"):
        fitted.threshold(1.5)
    with pytest.raises(ValueError, match="fpr"):
        fitted.detect(test, 0.0)
    with pytest.raises(ValueError, match="smaller than the patch"):
        fitted.score(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="too few normal patches"):
        AnomalyDetector(tiny(n_atoms=500)).fit([train[:20, :20]], val_images=[val])
    with pytest.raises(ValueError, match="method"):
        AnomalyDetector(AnomalyConfig(method="wavelet")).fit([train])
    with pytest.raises(ValueError, match="not fitted"):
        AnomalyDetector(tiny()).score(test)
    with pytest.raises(ValueError, match="at least one"):
        AnomalyDetector(tiny()).fit([])
    with pytest.raises(ValueError, match="NaN"):
        AnomalyDetector(tiny()).fit([np.full((40, 40), np.nan)])
    with pytest.raises(ValueError, match="too small to split"):
        AnomalyDetector(tiny()).fit([train[:10]])
    with pytest.raises(ValueError, match="unknown option"):
        AnomalyConfig.from_dict({"nonsense": 1})


def test_patchcore_matches_bruteforce(brick):
    from sklearn.neighbors import NearestNeighbors

    train, val, test = brick
    b = PatchCoreBaseline(memory=300, step=1).fit([train], [val])
    assert b.bank.shape == (300, 24)
    raw = b._raw_maps(test)[0][0]
    D = (local_descriptors(test) - b.d_mean) / b.d_std
    d, _ = NearestNeighbors(n_neighbors=1).fit(b.bank).kneighbors(D[10:12, 20:22].reshape(-1, 24))
    np.testing.assert_allclose(raw[10:12, 20:22].ravel(), d[:, 0], rtol=1e-4)
    # calibrated map: -log10 of the validation tail probability
    assert np.mean(b.score(val) > b.threshold(0.05)) == pytest.approx(0.05, abs=0.01)
    with pytest.raises(ValueError, match="fpr"):
        b.threshold(2.0)


def test_padim_matches_mahalanobis(brick):
    from scipy.spatial.distance import mahalanobis

    train, val, test = brick
    b = PaDiMBaseline(step=1).fit([train], [val])
    raw = b._raw_maps(test)[0][0]
    D = (local_descriptors(test) - b.d_mean) / b.d_std
    ref = mahalanobis(D[7, 9], b.mean[0, 0], b.precision[0, 0])
    assert raw[7, 9] == pytest.approx(ref, rel=1e-6)
    pp = PaDiMBaseline(per_position=True, cell=32).fit([train[:64], train[32:96]], [val[:64]])
    assert pp.score(test[:64]).shape == (64, 128)


def test_local_descriptors_match_scipy():
    from scipy.ndimage import gaussian_filter, uniform_filter

    img = np.random.default_rng(3).random((40, 40))
    D = local_descriptors(img)
    # component 2*6 + 4: sigma 4, order (1, 1), scaled by sigma^2, then 3x3 mean
    ref = uniform_filter(gaussian_filter(img, 4.0, order=(1, 1), mode="reflect") * 16, 3, mode="reflect")
    np.testing.assert_allclose(D[..., 16], ref)


def test_texture_benchmark_deterministic():
    a = make_texture_benchmark("gravel", n_test=2, seed=3)
    b = make_texture_benchmark("gravel", n_test=2, seed=3)
    for x, y in zip(a.test, b.test):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.mask, y.mask)
        assert 0.002 < x.mask.mean() < 0.2
    # normal pixels of the test images are the untouched test band
    clean = load_texture("gravel")[288:]
    t = a.test[0]
    far = ~__import__("scipy").ndimage.binary_dilation(t.mask, iterations=6)
    np.testing.assert_allclose(t.image[far], clean[far])
    z = make_texture_benchmark("gravel", n_test=1, zoom=0.6)
    assert z.test[0].image.shape == (134, 307)


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_plant_defect_kinds(kind):
    img = np.full((80, 80), 0.5) + 0.1 * np.random.default_rng(0).random((80, 80))
    out, m = plant_defect(img, kind, np.random.default_rng(1), size=30, foreign=np.random.default_rng(2).random((64, 64)))
    assert m.any() and out.shape == img.shape
    assert np.abs(out - img)[m].mean() > np.abs(out - img)[~m].mean()


def test_texture_bad_input():
    with pytest.raises(ValueError, match="valid: brick"):
        load_texture("marble")
    with pytest.raises(ValueError, match="kind"):
        plant_defect(np.zeros((50, 50)), "crack", np.random.default_rng(0))
    with pytest.raises(TypeError):
        plant_defect(np.zeros((50, 50)), "blob", 0)
    with pytest.raises(ValueError, match="foreign"):
        plant_defect(np.zeros((50, 50)), "foreign", np.random.default_rng(0), size=20)
    with pytest.raises(ValueError, match="zoom"):
        make_texture_benchmark("brick", zoom=0)


def test_load_anomaly_folder(tmp_path):
    from nlvision.imageio import save_image

    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    (tmp_path / "ground_truth").mkdir()
    rng = np.random.default_rng(0)
    save_image(tmp_path / "train" / "a.png", rng.random((20, 30)))
    save_image(tmp_path / "test" / "t1.png", rng.random((20, 30)))
    save_image(tmp_path / "test" / "t2.png", rng.random((20, 30)))
    m = np.zeros((20, 30))
    m[5:9, 5:9] = 1
    save_image(tmp_path / "ground_truth" / "t1_mask.png", m)
    normal, tests = load_anomaly_folder(tmp_path)
    assert len(normal) == 1 and [t.name for t in tests] == ["t1", "t2"]
    assert tests[0].mask.sum() == 16 and not tests[1].mask.any()
    save_image(tmp_path / "ground_truth" / "t2.png", np.zeros((10, 10)))
    with pytest.raises(ValueError, match="mask shape"):
        load_anomaly_folder(tmp_path)
    with pytest.raises(ValueError, match="train"):
        load_anomaly_folder(tmp_path / "test")
