"""`nlvision reid` commands, in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nlvision.cli import main
from nlvision.imageio import save_image
from nlvision.nn.weights import save_checkpoint

TINY_TRAIN = ["--backbone", "resnet18", "--width", "4", "--height", "64", "--input-width", "32", "--epochs", "1",
              "--p", "8", "--k", "4", "--accelerator", "cpu", "--devices", "1", "--lr", "3e-3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("reid_run")
    rc = main(["reid", "train", "--data", "synthetic", "--out", str(out), *TINY_TRAIN, "--json"])
    assert rc == 0
    return out


def test_train_writes_run_folder(trained, capsys):
    assert (trained / "model.safetensors").is_file()
    assert (trained / "checkpoints" / "last.ckpt").is_file()
    cfg = json.loads((trained / "config.json").read_text())
    assert cfg["task"] == "reid" and cfg["model"]["nfd"] is True and cfg["model"]["augment"] == "cre"
    assert cfg["model"]["num_classes"] == 32 and cfg["run"]["data"]["data"] == "synthetic (SYNTHETIC)"


def test_evaluate_clean_and_attacked(trained, tmp_path, capsys):
    ckpt = str(trained / "model.safetensors")
    capsys.readouterr()
    assert main(["reid", "evaluate", ckpt, "--json"]) == 0
    clean = json.loads(capsys.readouterr().out)
    assert 0 <= clean["mAP"] <= 1 and clean["num_valid_queries"] == 128 and clean["attack"] == "none"
    assert main(["reid", "evaluate", ckpt, "--attack", "dmr-pgd", "--steps", "1", "--epsilon", "8", "--json",
                 "--out", str(tmp_path)]) == 0
    att = json.loads(capsys.readouterr().out)
    assert att["attack"] == "dmr-pgd" and att["epsilon"] == "8/255"
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert len(saved["cmc"]) == 50 and saved["mAP"] == pytest.approx(att["mAP"])


def test_rank_figure(trained, tmp_path, capsys):
    q = tmp_path / "0040_c1s1_000001_01.png"
    from nlvision.datasets.synthetic_persons import make_synthetic_persons

    data = make_synthetic_persons()
    i = int(np.flatnonzero((data.query.pids == 40) & (data.query.camids == 0))[0])
    save_image(q, data.query.images[i])
    fig = tmp_path / "rank.png"
    capsys.readouterr()
    assert main(["reid", "rank", str(trained / "model.safetensors"), str(q), "--out", str(fig), "--top", "5", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert fig.is_file() and len(res["ranked"]) == 5
    assert all(not (r["pid"] == 40 and r["camera"] == 1) for r in res["ranked"])  # same id + camera removed
    assert all(r["match"] == (r["pid"] == 40) for r in res["ranked"])


def test_cli_bad_input(trained, tmp_path, capsys):
    ckpt = str(trained / "model.safetensors")
    out = tmp_path / "o"
    assert main(["reid", "evaluate", ckpt, "--epsilon", "0", "--out", str(out)]) == 2
    assert main(["reid", "evaluate", ckpt, "--epsilon", "300"]) == 2
    assert main(["reid", "evaluate", ckpt, "--attack", "fgsm"]) == 2
    assert not out.exists()
    other = tmp_path / "cls.safetensors"
    save_checkpoint(other, torch.nn.Linear(2, 2), task="classify", config={})
    assert main(["reid", "evaluate", str(other)]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["reid", "evaluate", ckpt, "--data", f"market1501:{tmp_path / 'empty'}"]) == 2
    assert main(["reid", "evaluate", ckpt, "--data", "duke"]) == 2
    assert main(["reid", "train", "--data", f"market1501:{tmp_path / 'nope'}", "--out", str(out)]) == 2
    assert main(["reid", "train", "--augment", "mixup", "--out", str(out)]) == 2
    assert not out.exists()
    assert main(["reid", "robustness", "--rows", "baseline,+bogus", "--out", str(out)]) == 2
    assert main(["reid", "robustness", "--epsilon", "-1", "--out", str(out)]) == 2
    assert main(["reid", "robustness", "--source", "other", "--out", str(out)]) == 2
    assert main(["reid", "rank", ckpt, str(tmp_path / "missing.png"), "--out", str(tmp_path / "r.png")]) == 2
    assert not out.exists() and not (tmp_path / "r.png").exists()
    err = capsys.readouterr().err
    assert "epsilon" in err and "dmr-pgd" in err and "task" in err and "Traceback" not in err


@pytest.mark.slow
def test_robustness_tiny(tmp_path, capsys):
    rc = main(["reid", "robustness", "--epochs", "1", "--steps", "1", "--rows", "baseline,+CRE+NFD", "--width", "4",
               "--out", str(tmp_path), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["row"] for r in res["rows"]] == ["baseline (clean)", "DMR attack", "+CRE+NFD"]
    assert (tmp_path / "results.json").is_file() and res["data_is_synthetic"]
