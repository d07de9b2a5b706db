"""``nlvision anomaly fit|detect|benchmark`` in-process (``evaluate``: test_restoration_anomaly_eval.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlvision.cli import main
from nlvision.datasets.textures import load_texture, plant_defect
from nlvision.imageio import load_image, save_image

FAST = ["--patch-size", "7", "--n-atoms", "16", "--step", "3", "--dl-iter", "3", "--n-train-patches", "500",
        "--admm-iter", "20"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("anomaly")
    img = load_texture("gravel")
    save_image(d / "n1.png", img[:80, :120])
    save_image(d / "n2.png", img[80:160, :120])
    save_image(d / "n3.png", img[160:240, :120])
    test, _ = plant_defect(img[300:380, :120], "blob", np.random.default_rng(0), size=30)
    save_image(d / "t1.png", test)
    (d / "broken.png").write_bytes(b"not an image")
    return d


@pytest.fixture(scope="module")
def model(files):
    out = files / "model.npz"
    rc = main(["anomaly", "fit", str(files / "n1.png"), str(files / "n2.png"), str(files / "n3.png"),
               "-o", str(out), *FAST])
    assert rc == 0 and out.is_file()
    return out


def test_fit_writes_only_the_model(model, files):
    from nlvision.restoration.anomaly import AnomalyDetector

    # no sibling file nobody named (issue #14): the config and info live inside the .npz
    assert not model.with_suffix(".json").exists()
    det = AnomalyDetector.load(model)
    assert det.config.patch_size == 7 and det.info["n_val_images"] == 1


def test_fit_keeps_an_existing_sibling_json(files, tmp_path):
    sibling = tmp_path / "m.json"
    sibling.write_text("precious")
    assert main(["anomaly", "fit", str(files / "n1.png"), str(files / "n2.png"), "-o", str(tmp_path / "m.npz"),
                 *FAST]) == 0
    assert sibling.read_text() == "precious"


def test_detect_json_and_outputs(model, files, tmp_path, capsys):
    capsys.readouterr()
    rc = main(["anomaly", "detect", str(model), str(files / "t1.png"), "-o", str(tmp_path), "--fpr", "0.05", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fpr"] == 0.05 and len(out["images"]) == 1
    mask = load_image(tmp_path / "t1_mask.png")
    assert mask.shape == (80, 120)
    r = out["images"][0]
    assert r["anomalous_fraction"] == pytest.approx(float((mask > 0.5).mean()))
    assert r["anomalous"] == (r["image_score"] > r["image_threshold"])
    assert out["pixel_threshold"] == pytest.approx(-np.log10(0.05))
    assert (tmp_path / "t1_map.png").is_file()


def test_detect_batch_with_bad_file(model, files, capsys):
    rc = main(["anomaly", "detect", str(model), str(files / "t1.png"), str(files / "broken.png")])
    assert rc == 1
    assert "broken.png" in capsys.readouterr().err


@pytest.mark.parametrize("fpr", ["0", "1", "1.5", "-0.1"])
def test_bad_fpr_exit_2(model, files, tmp_path, capsys, fpr):
    rc = main(["anomaly", "detect", str(model), str(files / "t1.png"), "-o", str(tmp_path / "o"), "--fpr", fpr])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fpr" in err
    assert not (tmp_path / "o").exists()
    out = tmp_path / "m.npz"
    assert main(["anomaly", "fit", str(files / "n1.png"), "-o", str(out), "--fpr", fpr]) == 2
    assert not out.exists()


def test_corrupt_and_foreign_model_exit_2(model, files, tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    assert main(["anomaly", "detect", str(bad), str(files / "t1.png")]) == 2
    assert main(["anomaly", "detect", str(model), str(files / "t1.png"), "--method", "csc"]) == 2
    err = capsys.readouterr().err
    assert "not a valid" in err and "expected 'csc'" in err


def test_fit_bad_input_exit_2(files, tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert main(["anomaly", "fit", str(files / "n1.png"), "-o", str(out), "--method", "wavelet"]) == 2
    assert main(["anomaly", "fit", str(files / "n1.png"), "-o", str(out), "--patch-size", "200"]) == 2
    assert main(["anomaly", "fit", str(files / "missing.png"), "-o", str(out)]) == 2
    assert main(["anomaly", "fit", str(files / "n1.png"), "-o", str(tmp_path / "m.txt")]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "valid: patch, multiscale, csc" in err and "smaller than the patch" in err


def test_benchmark_bad_input_exit_2(capsys):
    assert main(["anomaly", "benchmark", "--dataset", "marble"]) == 2
    assert main(["anomaly", "benchmark", "--method", "svm"]) == 2
    assert main(["anomaly", "benchmark", "--fpr", "2"]) == 2
    assert "valid: nanofibre, brick, grass, gravel" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_nanofibre_baseline_runs(capsys, tmp_path):
    rc = main(["anomaly", "benchmark", "--method", "padim", "--zoom", "1.0", "--n-test", "1", "--json",
               "-o", str(tmp_path / "r.json")])
    assert rc == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["method"] == "padim" and 0.5 < row["pixel_auroc"] <= 1.0 and set(row["pixel_fpr"]) == {"0.01", "0.05"}


@pytest.mark.slow
def test_benchmark_quick_runs(capsys, tmp_path):
    rc = main(["anomaly", "benchmark", "--quick", "--dataset", "gravel", "--method", "patch", "--zoom", "1.0",
               "--n-test", "1", "--json", "-o", str(tmp_path / "r.json")])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["method"] == "patch" and 0.5 < rows[0]["pixel_auroc"] <= 1.0


def test_detect_refuses_out_equal_to_input_folder(model, files, capsys):
    before = sorted(p.name for p in files.iterdir())
    assert main(["anomaly", "detect", str(model), str(files), "-o", str(files)]) == 2
    assert "also an input" in capsys.readouterr().err
    assert sorted(p.name for p in files.iterdir()) == before
