"""Calibration, image-level threshold, AUPRO, MVTec reader, nanofibre generator, model-file bombs."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from nlvision.cli import main
from nlvision.datasets.nanofibres import NANOFIBRE_DEFECTS, make_nanofibre_benchmark, make_nanofibre_image
from nlvision.imageio import save_image
from nlvision.restoration.anomaly import (
    AnomalyConfig,
    AnomalyDetector,
    ScoreCalibration,
    aupro,
    evaluate_predictions,
    image_auroc,
    scan_mvtec,
)


# ----------------------------------------------------------------------------- AUPRO
def test_aupro_hand_worked():
    # image 1: region A = 2 pixels (scores 0.9, 0.4); image 2: region B = 1 pixel (0.7);
    # normal pixels 0.8, 0.5, 0.3, ... Descending thresholds give the PRO curve
    # (0,0) (0,.25) (1/9,.25) (1/9,.75) (2/9,.75) (2/9,1) (3/9,1): area to 0.3 =
    # .25/9 + .75/9 + (0.3 - 2/9) = 0.18889, normalised by 0.3: 17/27.
    m1 = np.array([[1, 1, 0], [0, 0, 0]])
    s1 = np.array([[0.9, 0.4, 0.8], [0.1, 0.2, 0.3]])
    m2 = np.array([[0, 0, 0], [0, 0, 1]])
    s2 = np.array([[0.5, 0.0, 0.0], [0.0, 0.0, 0.7]])
    assert aupro([s1, s2], [m1, m2]) == pytest.approx(17 / 27, abs=1e-12)


def _aupro_bruteforce(scores, masks, lim=0.3):
    """Threshold sweep straight from the definition (Bergmann et al. 2021, sec. 5.2)."""
    from scipy.ndimage import label

    regions, normal = [], []
    for s, m in zip(scores, masks):
        lab, n = label(m, structure=np.ones((3, 3)))
        regions += [s[lab == i] for i in range(1, n + 1)]
        normal.append(s[m == 0])
    normal = np.concatenate(normal)
    ts = np.unique(np.concatenate([np.ravel(s) for s in scores]))[::-1]
    pts = [(0.0, 0.0)] + [(np.mean(normal >= t), np.mean([np.mean(r >= t) for r in regions])) for t in ts]
    x, y = np.array(pts).T
    xi = np.r_[x[x <= lim], lim]
    j = np.searchsorted(x, lim)
    yl = y[j - 1] + (lim - x[j - 1]) / (x[j] - x[j - 1]) * (y[j] - y[j - 1])
    yi = np.r_[y[x <= lim], yl]
    return np.trapezoid(yi, xi) / lim


def test_aupro_matches_threshold_sweep():
    rng = np.random.default_rng(0)
    scores, masks = [], []
    for _ in range(3):
        m = np.zeros((24, 24), int)
        m[rng.integers(0, 18):, rng.integers(0, 18):][:5, :4] = 1
        m[2:4, 2:9] = 1
        s = rng.random((24, 24)) + 0.6 * m
        scores.append(np.round(s, 2))  # ties
        masks.append(m)
    assert aupro(scores, masks) == pytest.approx(_aupro_bruteforce(scores, masks), abs=1e-9)
    perfect = [m * 1.0 for m in masks]
    assert aupro(perfect, masks) == pytest.approx(1.0)


def test_metrics_bad_input():
    with pytest.raises(ValueError, match="no anomalous region"):
        aupro([np.zeros((4, 4))], [np.zeros((4, 4))])
    with pytest.raises(ValueError, match="shape"):
        aupro([np.zeros((4, 4))], [np.zeros((4, 5))])
    with pytest.raises(ValueError, match="both"):
        image_auroc([0.1, 0.2], [1, 1])


# ----------------------------------------------------------------------------- calibration
def test_calibration_tail_and_gumbel():
    from scipy.stats import gumbel_r

    rng = np.random.default_rng(1)
    maps = [rng.normal(size=(40, 40)) for _ in range(10)]
    cal = ScoreCalibration.from_maps(maps, image_sigma=0.0)
    new = rng.normal(size=200000)
    for f in (0.05, 0.01):
        assert np.mean(cal.transform(new) > cal.pixel_threshold(f)) == pytest.approx(f, rel=0.15)
    # beyond the empirical 99 %: exponential tail, monotone and continuous
    s = np.linspace(-3, 6, 500)
    c = cal.transform(s)
    assert np.all(np.diff(c) >= 0)
    # image threshold: Gumbel fitted by moments (scipy's law), moved to another area as F^(a_t/a_v)
    m = cal.image_scores
    beta = np.std(m, ddof=1) * np.sqrt(6) / np.pi
    mu = np.mean(m) - np.euler_gamma * beta
    assert cal.image_threshold(0.05) == pytest.approx(gumbel_r(mu, beta).ppf(0.95), rel=1e-6)
    t4 = cal.image_threshold(0.05, area=4 * cal.image_area)
    assert gumbel_r(mu, beta).cdf(t4) ** 4 == pytest.approx(0.95, rel=1e-6)


@pytest.fixture(scope="module")
def nano():
    return make_nanofibre_benchmark(n_train=2, n_val=4, n_test_normal=6, n_test=2, size=96, seed=5)


@pytest.fixture(scope="module")
def nano_det(nano):
    cfg = AnomalyConfig(patch_size=7, n_atoms=16, dl_iter=3, n_train_patches=800, step=3, fit_step=3, admm_iter=20)
    return AnomalyDetector(cfg).fit(nano["train"], val_images=nano["val"])


def test_image_verdict_and_pixel_mask(nano, nano_det):
    preds = [nano_det.predict(a.image, 0.01, 0.05) for a in nano["test_normal"] + nano["test"]]
    p = preds[0]
    assert p.pixel_threshold == pytest.approx(2.0) and p.mask.shape == (96, 96)
    # the verdict is the image score against the image threshold, not "any pixel above gamma"
    assert all(q.anomalous == (q.image_score > q.image_threshold) for q in preds)
    assert sum(q.anomalous for q in preds[:6]) <= 2
    assert any(q.mask.any() for q in preds[:6])  # pixels above the pixel threshold exist on normal images
    r = evaluate_predictions(preds, nano["test_normal"] + nano["test"])
    assert r["overall"]["n_images"] == 8 and set(r["per_defect"]) <= set(NANOFIBRE_DEFECTS)
    assert r["overall"]["pixel_auroc"] > 0.6


def test_multiscale_selects_scale(nano):
    cfg = AnomalyConfig(method="multiscale", patch_size=7, n_atoms=8, dl_iter=2, n_train_patches=500, step=3,
                        fit_step=3, admm_iter=15, scales=(0.6, 1.0, 1.6), calibration_scales=(0.6, 1.0, 1.6))
    det = AnomalyDetector(cfg).fit(nano["train"], val_images=nano["val"])
    assert det.calibration_scales == [0.6, 1.0, 1.6]
    zoomed = make_nanofibre_image((96, 96), zoom=1.6, seed=77).image
    # estimated zoom (interpolated between calibration scales): near 1 at zoom 1, the top scale at 1.6
    assert 0.8 < det.predict(nano["test_normal"][0].image).scale < 1.25
    assert det.predict(zoomed).scale > 1.3


# ----------------------------------------------------------------------------- nanofibres
def test_nanofibre_deterministic_and_zoom():
    a = make_nanofibre_image((80, 80), zoom=1.0, seed=3, defects=("film", "bead"))
    b = make_nanofibre_image((80, 80), zoom=1.0, seed=3, defects=("film", "bead"))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert 0.005 < a.mask.mean() < 0.3 and 0 <= a.image.min() and a.image.max() <= 1
    # zooming in makes fibres wider: the gradient energy per pixel drops
    g = [np.mean(np.abs(np.diff(make_nanofibre_image((128, 128), zoom=z, seed=1, noise=0).image, axis=1)))
         for z in (0.7, 1.4)]
    assert g[0] > 1.3 * g[1]
    with pytest.raises(ValueError, match="kind"):
        make_nanofibre_image(defects=("crack",))
    with pytest.raises(ValueError, match="zoom"):
        make_nanofibre_image(zoom=0)


# ----------------------------------------------------------------------------- model-file bombs
def test_model_declaring_huge_array_is_refused_before_allocating(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (200000, 200000)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("dictionary.npy", buf.getvalue() + b"\0" * 64)
        zf.writestr("header.npy", buf.getvalue())
    with pytest.raises(ValueError, match="declares"):
        AnomalyDetector.load(path)


# ----------------------------------------------------------------------------- MVTec layout
def _mvtec(root, name="carpet", n_train=4, defects=("hole",), mask_size=None, skip_mask=False):
    rng = np.random.default_rng(0)
    cat = root / name
    tex = make_nanofibre_image((64, 64), seed=1).image
    for i in range(n_train):
        save_image(cat / "train" / "good" / f"{i:03d}.png", np.roll(tex, 7 * i, axis=1))
    save_image(cat / "test" / "good" / "000.png", np.roll(tex, 5, axis=0))
    for d in defects:
        for i in range(2):
            img = np.roll(tex, 9 * i + 3, axis=0).copy()
            m = np.zeros((64, 64))
            m[20:30, 20 + i:34 + i] = 1
            img[m > 0] = 0.9 + 0.1 * rng.random(int(m.sum()))
            save_image(cat / "test" / d / f"{i:03d}.png", img)
            if not (skip_mask and i == 1):
                save_image(cat / "ground_truth" / d / f"{i:03d}_mask.png",
                           m if mask_size is None else np.zeros(mask_size))
    return cat


def test_scan_mvtec_layout(tmp_path):
    _mvtec(tmp_path, "carpet", defects=("hole", "cut"))
    cats, skipped = scan_mvtec(tmp_path)
    assert skipped == [] and [c.name for c in cats] == ["carpet"]
    c = cats[0]
    assert len(c.train) == 4 and c.defects == ["cut", "hole"]
    t = c.load_test(size=32)
    assert len(t) == 5 and t[0].image.shape == (32, 32) and t[0].kinds == ["cut"]
    assert t[0].mask.any() and not [x for x in t if x.kinds == ["good"]][0].mask.any()
    # the category folder itself is accepted as ROOT
    assert scan_mvtec(tmp_path / "carpet")[0][0].name == "carpet"


def test_evaluate_cli_on_mvtec_layout(tmp_path, capsys):
    _mvtec(tmp_path, "carpet")
    out = tmp_path / "r.json"
    rc = main(["anomaly", "evaluate", str(tmp_path), "--category", "carpet", "--method", "padim", "--size", "64",
               "--json", "-o", str(out)])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    o = res["categories"]["carpet"]["overall"]
    assert o["image_auroc"] is not None and 0.6 <= o["pixel_auroc"] <= 1.0 and 0 <= o["aupro"] <= 1
    assert set(res["categories"]["carpet"]["per_defect"]) == {"hole"}
    assert json.loads(out.read_text())["method"] == "padim"


@pytest.mark.parametrize("kind,message", [("missing", "missing mask"), ("size", "mask of size"),
                                          ("empty", "empty category")])
def test_evaluate_bad_mvtec_folder_one_line_exit_2(tmp_path, capsys, kind, message):
    if kind == "missing":
        _mvtec(tmp_path, "carpet", skip_mask=True)
    elif kind == "size":
        _mvtec(tmp_path, "carpet", mask_size=(32, 32))
    else:
        _mvtec(tmp_path, "carpet", n_train=0)
    out = tmp_path / "r.json"
    rc = main(["anomaly", "evaluate", str(tmp_path), "--category", "carpet", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_evaluate_batch_skips_bad_category(tmp_path, capsys):
    _mvtec(tmp_path, "carpet")
    _mvtec(tmp_path, "grid", skip_mask=True)
    rc = main(["anomaly", "evaluate", str(tmp_path), "--method", "padim", "--size", "64", "--json"])
    cap = capsys.readouterr()
    assert rc == 1 and "skipped category grid" in cap.err
    res = json.loads(cap.out)
    assert list(res["categories"]) == ["carpet"] and res["skipped"][0]["category"] == "grid"
