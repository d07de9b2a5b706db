"""`nlvision reid` commands, in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nlvision.cli import main
from nlvision.imageio import save_image
from nlvision.nn.weights import save_checkpoint

#: the study's synthetic data with fewer test identities (fast); the default "synthetic" has 960 queries
DATA = "synthetic:num_test_ids=16,num_distractors=10"
TINY_TRAIN = ["--backbone", "resnet18", "--width", "4", "--height", "64", "--input-width", "32", "--epochs", "1",
              "--p", "8", "--k", "4", "--accelerator", "cpu", "--devices", "1", "--lr", "3e-3", "--limit-batches", "3",
              "--no-progress"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("reid_run")
    rc = main(["reid", "train", "--data", DATA, "-o", str(out), *TINY_TRAIN, "--json"])
    assert rc == 0
    return out


def test_train_writes_run_folder(trained):
    assert (trained / "model.safetensors").is_file()
    assert (trained / "checkpoints" / "last.ckpt").is_file()
    cfg = json.loads((trained / "config.json").read_text())
    assert cfg["task"] == "reid" and cfg["model"]["nfd"] is True and cfg["model"]["augment"] == "cre"
    assert cfg["model"]["num_classes"] == 32 and cfg["run"]["data"]["data"] == "synthetic (SYNTHETIC)"
    assert cfg["run"]["data_spec"].startswith("synthetic:") and "num_test_ids=16" in cfg["run"]["data_spec"]
    assert cfg["trainer"]["limit_train_batches"] == 3


def test_evaluate_data_is_the_study_data():
    from nlvision.reid.data import SYNTHETIC_DEFAULTS, load_reid_data
    from nlvision.reid.study import StudyConfig

    a, b = load_reid_data("synthetic"), load_reid_data(StudyConfig().data, **StudyConfig().synthetic)
    assert a.summary() == b.summary() and a.summary()["query_images"] == 960 and SYNTHETIC_DEFAULTS["num_cameras"] == 6
    np.testing.assert_array_equal(a.query.images, b.query.images)  # the same pixels


def test_evaluate_reports_minp(trained, tmp_path, capsys):
    ckpt = str(trained / "model.safetensors")
    capsys.readouterr()
    assert main(["reid", "evaluate", ckpt, "--data", DATA, "--json"]) == 0
    clean = json.loads(capsys.readouterr().out)
    assert 0 <= clean["mAP"] <= 1 and clean["num_valid_queries"] == 96 and clean["attack"] == "none"
    assert 0 < clean["mINP"] <= clean["mAP"] + 1e-9
    out = tmp_path / "m.json"
    assert main(["reid", "evaluate", ckpt, "--data", DATA, "--attack", "dmr-pgd", "--steps", "1", "--epsilon", "8",
                 "--json", "-o", str(out)]) == 0
    att = json.loads(capsys.readouterr().out)
    assert att["attack"] == "dmr-pgd" and att["epsilon"] == "8/255"
    saved = json.loads(out.read_text())
    assert len(saved["cmc"]) == 50 and saved["mAP"] == pytest.approx(att["mAP"])


def test_predict_ranks_the_whole_query_set(trained, tmp_path, capsys):
    out = tmp_path / "ranks.json"
    assert main(["reid", "predict", str(trained / "model.safetensors"), "--data", DATA, "--top", "5", "-o", str(out),
                 "--json"]) == 0
    res = json.loads(out.read_text())
    assert res["queries"] == 96 and all(len(r["ranked"]) == 5 for r in res["ranked"])
    r0 = res["ranked"][0]
    assert all(not (e["pid"] == r0["pid"] and e["camera"] == r0["camera"]) for e in r0["ranked"])  # junk left out
    assert all(e["match"] == (e["pid"] == r0["pid"]) for e in r0["ranked"])
    d = [e["distance"] for e in r0["ranked"]]
    assert d == sorted(d)


def test_extract_and_rank_on_a_folder(trained, tmp_path, capsys):
    from nlvision.reid import extract_reid_features, load_reid_model
    from nlvision.reid.data import synthetic_reid_data

    data = synthetic_reid_data(num_test_ids=16, num_distractors=10)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(5):
        save_image(folder / f"{int(data.query.pids[i]):04d}_c{int(data.query.camids[i]) + 1}s1_{i:06d}_01.png", data.query.images[i])
    out = tmp_path / "f.npz"
    assert main(["reid", "extract", str(trained / "model.safetensors"), str(folder), "-o", str(out), "--json"]) == 0
    z = np.load(out)
    assert z["features"].shape == (5, 32) and len(z["names"]) == 5
    ref, _ = extract_reid_features(load_reid_model(trained / "model.safetensors"), folder)
    np.testing.assert_allclose(z["features"], ref, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-5)  # BoT: L2-normalised
    fig = tmp_path / "rank.png"
    q = sorted(folder.iterdir())[0]
    capsys.readouterr()
    assert main(["reid", "rank", str(trained / "model.safetensors"), str(q), "--data", DATA, "-o", str(fig), "--top", "5",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert fig.is_file() and len(res["ranked"]) == 5


def test_cli_bad_input(trained, tmp_path, capsys):
    ckpt = str(trained / "model.safetensors")
    out = tmp_path / "o"
    capsys.readouterr()
    assert main(["reid", "evaluate", ckpt, "--epsilon", "0.0627", "-o", str(out / "m.json")]) == 2
    assert "1/255" in capsys.readouterr().err
    assert main(["reid", "evaluate", ckpt, "--epsilon", "300"]) == 2
    assert main(["reid", "evaluate", ckpt, "--attack", "fgsm"]) == 2
    assert main(["reid", "evaluate", ckpt, "--attack", "dmr-gan", "--gan-epochs", "0"]) == 2
    other = tmp_path / "cls.safetensors"
    save_checkpoint(other, torch.nn.Linear(2, 2), task="classify", config={})
    assert main(["reid", "evaluate", str(other)]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["reid", "evaluate", ckpt, "--data", f"market1501:{tmp_path / 'empty'}"]) == 2
    assert main(["reid", "evaluate", ckpt, "--data", "duke"]) == 2
    assert main(["reid", "train", "--data", f"market1501:{tmp_path / 'nope'}", "-o", str(out)]) == 2
    assert main(["reid", "train", "--augment", "mixup", "-o", str(out)]) == 2
    for opt, val in (("--margin", "nan"), ("--lr", "inf"), ("--label-smoothing", "nan"), ("--margin", "-1")):
        assert main(["reid", "train", opt, val, "-o", str(out), *TINY_TRAIN[:10]]) == 2, opt
    assert main(["reid", "study", "--rows", "baseline,+bogus", "-o", str(out)]) == 2
    assert main(["reid", "study", "--epsilons", "0.5,8", "-o", str(out)]) == 2
    assert main(["reid", "study", "--epsilons", "256", "-o", str(out)]) == 2
    assert main(["reid", "study", "--seeds", "0", "-o", str(out)]) == 2
    assert main(["reid", "study", "--target", "aligned", "--source-checkpoint", ckpt, "-o", str(out)]) == 2
    assert main(["reid", "study", "--source-checkpoint", str(other), "-o", str(out)]) == 2
    assert main(["reid", "rank", ckpt, str(tmp_path / "missing.png"), "-o", str(tmp_path / "r.png")]) == 2
    assert main(["reid", "extract", ckpt, str(tmp_path / "empty"), "-o", str(tmp_path / "f.npz")]) == 2
    assert main(["reid", "predict", ckpt, "--query", str(tmp_path)]) == 2
    assert not out.exists() and not (tmp_path / "r.png").exists() and not (tmp_path / "f.npz").exists()
    err = capsys.readouterr().err
    assert "epsilon" in err and "dmr-pgd" in err and "task" in err and "n_seeds" in err and "margin" in err
    assert "Traceback" not in err
    assert all(line.startswith("error:") for line in err.strip().splitlines())


@pytest.mark.slow
def test_study_tiny_cli(tmp_path, capsys):
    rc = main(["reid", "study", "--epochs", "1", "--steps", "1", "--rows", "baseline,+CRE+NFD", "--width", "4",
               "--seeds", "2", "--epsilons", "4,8", "--white-box-epsilons", "8", "-o", str(tmp_path), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["row"] for r in res["grey_box"]] == ["baseline", "+CRE+NFD"]
    assert "gain" in res["grey_box"][1]["eps=8"] and (tmp_path / "results.json").is_file() and res["data_is_synthetic"]
