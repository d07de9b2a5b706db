"""Training through the engine: crash + --resume, CLI train/evaluate/predict, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nlvision.classify import ClassifierModelConfig, ClassifierTrainConfig, train_classifier
from nlvision.classify import train as train_mod
from nlvision.cli import main
from nlvision.engine import TrainerConfig

TINY = ["--backbone", "resnet18", "--width", "4", "--upsample-steps", "0", "--image-size", "8", "--finetune",
        "--batch-size", "32", "--limit-batches", "2", "--no-progress", "--accelerator", "cpu", "--devices", "1"]


def test_crash_then_resume_continues_from_last_checkpoint(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    original = train_mod.ClassifierModule.training_step
    calls = []

    def crashing(self, batch, batch_idx):
        calls.append((self.current_epoch, batch_idx))
        if self.current_epoch == 1 and batch_idx == 1:
            raise RuntimeError("simulated crash")
        return original(self, batch, batch_idx)

    monkeypatch.setattr(train_mod.ClassifierModule, "training_step", crashing)
    mc = ClassifierModelConfig("resnet18", width=4, upsample_steps=0, image_size=8, freeze_backbone=False)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_classifier("digits", out, model_config=mc, train_config=ClassifierTrainConfig(batch_size=32),
                         trainer_config=TrainerConfig(epochs=3, progress=False, limit_train_batches=2, accelerator="cpu", devices="1"))
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    assert ckpt["global_step"] == 2  # epoch 0 finished; the crashed epoch 1 is lost
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()

    calls.clear()
    monkeypatch.setattr(train_mod.ClassifierModule, "training_step", lambda self, b, i: (calls.append((self.current_epoch, i)), original(self, b, i))[1])
    rc = main(["classify", "train", "--data", "digits", *TINY, "--epochs", "3", "--resume", "--out", str(out), "--json"])
    assert rc == 0
    assert calls == [(1, 0), (1, 1), (2, 0), (2, 1)]  # continued at epoch 1, did not redo epoch 0
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    assert ckpt["global_step"] == 6 and ckpt["epoch"] == 2
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 450 and 0.0 <= summary["accuracy"] <= 1.0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["task"] == "classify" and cfg["model"]["backbone"] == "resnet18" and cfg["run"]["data"] == "digits"
    assert cfg["trainer"]["epochs"] == 3
    metrics = json.loads((out / "metrics.json").read_text())
    cm = np.array(metrics["confusion"])
    np.testing.assert_allclose(cm.sum(1), 1.0)  # every digit class is in the test split
    assert abs(np.diag(np.array(metrics["counts"])).sum() / 450 - metrics["accuracy"]) < 1e-9
    assert (out / "confusion.png").is_file()

    # resuming with another architecture or learning rate is refused in one line, nothing written
    before = (out / "config.json").read_text()
    rc = main(["classify", "train", "--data", "digits", *TINY, "--width", "8", "--epochs", "4", "--resume", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--resume: the run was started with model.width=4 (now 8)" in err[0]
    rc = main(["classify", "train", "--data", "digits", *TINY, "--lr", "0.02", "--epochs", "4", "--resume", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "run.train.lr=0.01 (now 0.02)" in err[0]
    assert (out / "config.json").read_text() == before

    # evaluate: the run's data by default, same numbers as training's final evaluation
    rc = main(["classify", "evaluate", str(out), "--json"])
    assert rc == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["accuracy"] == pytest.approx(metrics["accuracy"])
    assert (out / "eval" / "confusion.png").is_file()

    # predict: one good image, one that fails to decode -> reported, exit 1
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    rc = main(["classify", "predict", str(out / "model.safetensors"), str(tmp_path / "ok.png"), str(tmp_path / "bad.png"),
               "--top-k", "3", "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    res = json.loads(captured.out)
    assert len(res["predictions"]) == 1 and len(res["predictions"][0]["top_k"]) == 3
    probs = [t["probability"] for t in res["predictions"][0]["top_k"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    assert "bad.png" in res["failed"][0]["image"] and "bad.png" in captured.err
    # a folder and a glob work too (batched)
    rc = main(["classify", "predict", str(out), str(tmp_path / "*.png"), "--json", "--no-progress"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 1 and [p["image"] for p in res["predictions"]] == [str(tmp_path / "ok.png")]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--data", "mnist"], "unknown data set 'mnist'"),
        (["--data", "cifar10:/nonexistent/cifar"], "not a folder"),
        (["--backbone", "resnet20"], "unknown backbone 'resnet20'"),
        (["--weights", "/nonexistent/w.pth"], "--weights: no such file"),
        (["--resume"], "--resume: no checkpoint"),
        (["--lr", "-1"], "lr: expected a positive"),
        (["--data", "folder:/nonexistent"], "not a folder"),
        (["--devices", "0"], "--devices: expected"),
        (["--limit-batches", "-1"], "--limit-batches: expected"),
        (["--accelerator", "tpu7"], "--accelerator: expected one of"),
        (["--precision", "fp8"], "--precision: expected one of"),
        (["--devices", "0,1"], "list of device ids"),
    ],
)
def test_train_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    rc = main(["classify", "train", *TINY, "--epochs", "1", "--out", str(out), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and message in err[0] and err[0].startswith("error:")
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_train_gpu_without_gpu_exits_2_before_writing(tmp_path, capsys):
    out = tmp_path / "out"
    for cmd in (["train", *TINY, "--out", str(out)], ["evaluate", str(out)], ["predict", str(out), str(tmp_path)]):
        rc = main(["classify", *cmd, "--accelerator", "gpu"])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and "--accelerator: 'gpu' requested but no CUDA GPU is available" in err[0]
    assert not out.exists()


def test_missing_lightning_one_line(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pytorch_lightning", None)
    for cmd in (["train", *TINY, "--out", str(tmp_path / "o")], ["evaluate", str(tmp_path)], ["predict", str(tmp_path), "x.png"]):
        rc = main(["classify", *cmd])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1
        assert f"classify {cmd[0]} needs the [train] extra: pip install 'nlvision[train]'" in err[0]
    assert not (tmp_path / "o").exists()


def test_evaluate_predict_bad_input(tmp_path, capsys):
    (tmp_path / "x.safetensors").write_bytes(b"junk")
    assert main(["classify", "evaluate", str(tmp_path / "x.safetensors")]) == 2
    assert "not a safetensors checkpoint" in capsys.readouterr().err
    assert main(["classify", "predict", str(tmp_path / "none"), str(tmp_path / "a.png")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_digits_from_scratch_reaches_98_percent(tmp_path):
    """The issue's target: digits from scratch, >= 98 % test accuracy (about 2 minutes on 2 cores)."""
    mc, tc = train_mod.digits_recipe()
    r = train_classifier("digits", tmp_path / "d", model_config=mc, train_config=tc,
                         trainer_config=TrainerConfig(epochs=20, progress=False, accelerator="cpu", devices="1"))
    assert r["accuracy"] >= 0.98


def test_same_seed_same_weights(tmp_path):
    from nlvision.classify.data import load_digits
    from nlvision.nn.weights import load_checkpoint

    data = load_digits(image_size=8)
    data.x_test, data.y_test = data.x_test[:20], data.y_test[:20]
    mc = ClassifierModelConfig("resnet18", width=4, upsample_steps=0, image_size=8, freeze_backbone=False)
    states = []
    for run, seed in (("a", 3), ("b", 3)):
        train_classifier(data, tmp_path / run, model_config=mc, train_config=ClassifierTrainConfig(batch_size=32),
                         trainer_config=TrainerConfig(epochs=1, progress=False, limit_train_batches=2, seed=seed,
                                                      accelerator="cpu", devices="1"))
        states.append(load_checkpoint(tmp_path / run / "model.safetensors", task="classify")[0])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    # another seed gives other initial weights
    from nlvision.classify.model import ResNetClassifier

    torch.manual_seed(4)
    other = ResNetClassifier(mc)
    torch.manual_seed(3)
    same = ResNetClassifier(mc)
    assert not torch.equal(other.fc.weight, same.fc.weight)


def test_folder_data_end_to_end(tmp_path, capsys):
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for cls, colour in (("red", 0), ("green", 1), ("blue", 2)):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            a = (rng.random((12, 10, 3)) * 60).astype(np.uint8)
            a[..., colour] += 180
            Image.fromarray(a).save(root / cls / f"{i}.png")
    out = tmp_path / "run"
    rc = main(["classify", "train", "--data", f"folder:{root}", *TINY, "--epochs", "1", "--out", str(out), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 3 and sorted(summary["per_class_accuracy"]) == ["blue", "green", "red"]
    rc = main(["classify", "predict", str(out), str(root / "red" / "0.png"), "--json", "-k", "3", "-o", str(tmp_path / "p.json")])
    doc = json.loads(capsys.readouterr().out)
    pred = doc["predictions"][0]["top_k"]
    assert rc == 0 and sorted(t["class"] for t in pred) == ["blue", "green", "red"]
    assert json.loads((tmp_path / "p.json").read_text()) == doc
    # -o equal to an input image is refused, nothing written
    rc = main(["classify", "predict", str(out), str(root / "red"), "-o", str(root / "red" / "0.png")])
    assert rc == 2 and "is one of the input images" in capsys.readouterr().err
    # evaluating on data with another number of classes is refused
    (root / "extra").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "extra" / "a.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "extra" / "b.png")
    assert main(["classify", "evaluate", str(out)]) == 2
    assert "has 4 classes, the model 3" in capsys.readouterr().err


@pytest.mark.slow
def test_ddp_two_cpu_processes_one_summary(tmp_path):
    """Issue #18: `--devices 2 --strategy ddp` (gloo, CPU) prints one parseable JSON document (rank zero),
    writes one set of files, and the final test pass covers every test image once (about 1 minute on a
    loaded 2-core machine: three Python processes)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "nlvision.cli", "classify", "train", "--data", "digits", *TINY[:-4], "--accelerator", "cpu",
           "--devices", "2", "--strategy", "ddp", "--epochs", "1", "--json", "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)  # exactly one document: json.loads fails on two
    assert doc["devices"]["world_size"] == 2 and doc["devices"]["strategy"] == "ddp"
    assert doc["n"] == 450 and abs(sum(json.loads((out / "metrics.json").read_text())["counts"][i][i] for i in range(10)) / 450
                                   - doc["accuracy"]) < 1e-9
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["resolved"]["world_size"] == 2 and len(cfg["history"]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "config.json", "confusion.png", "logs", "metrics.json",
                                                     "model.safetensors"]


def test_config_records_weights_path_and_sha256(tmp_path, capsys, monkeypatch):
    import hashlib

    from nlvision.nn.resnet import resnet18

    monkeypatch.chdir(tmp_path)
    torch.save({"model": {f"module.{k}": v for k, v in resnet18(width=4).state_dict().items()}}, tmp_path / "tv_ddp.pth")
    rc = main(["classify", "train", "--data", "digits", *TINY, "--epochs", "1", "--weights", "tv_ddp.pth", "-o", "run", "--json"])
    assert rc == 0
    json.loads(capsys.readouterr().out)
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["run"]["weights"] == {"path": str(tmp_path / "tv_ddp.pth"),
                                     "sha256": hashlib.sha256((tmp_path / "tv_ddp.pth").read_bytes()).hexdigest()}
    assert cfg["resolved"] == {"accelerator": "cpu", "devices": 1, "num_devices": 1, "num_nodes": 1, "world_size": 1,
                               "strategy": "auto", "precision": "32-true"}
    assert cfg["trainer"]["devices"] == "1"
    # export: ONNX and torch.export reproduce the checkpoint's logits within 1e-4 (checked here independently)
    import onnxruntime as ort

    from nlvision.classify import load_classifier_model

    model = load_classifier_model(tmp_path / "run")
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = model(x).numpy()
    assert main(["classify", "export", "run", "-o", "m.onnx", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_abs_diff"] <= 1e-4
    got = ort.InferenceSession("m.onnx", providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_export_pt2_matches_checkpoint(tmp_path, capsys):
    """torch.export of a classify checkpoint reproduces its logits within 1e-4 (about 10 s: slow)."""
    from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier
    from nlvision.nn.weights import save_checkpoint

    cfg = ClassifierModelConfig("resnet18", num_classes=3, width=4, upsample_steps=1, image_size=8)
    torch.manual_seed(0)
    m = ResNetClassifier(cfg).eval()
    save_checkpoint(tmp_path / "model.safetensors", m, task="classify", config=cfg.to_dict())
    assert main(["classify", "export", str(tmp_path), "-o", str(tmp_path / "m.pt2"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "pt2"
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        np.testing.assert_allclose(torch.export.load(str(tmp_path / "m.pt2")).module()(x).numpy(), m(x).numpy(), atol=1e-4, rtol=0)


def test_export_bad_input_exits_2_writes_nothing(tmp_path, capsys):
    from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier
    from nlvision.nn.weights import save_checkpoint

    cfg = ClassifierModelConfig("resnet18", num_classes=2, width=4, upsample_steps=0, image_size=8)
    save_checkpoint(tmp_path / "reid.safetensors", ResNetClassifier(cfg), task="reid", config=cfg.to_dict())
    save_checkpoint(tmp_path / "ok.safetensors", ResNetClassifier(cfg), task="classify", config=cfg.to_dict())
    before = sorted(p.name for p in tmp_path.iterdir())
    cases = [
        (["ok.safetensors", "-o", "missing/m.onnx"], "folder"),
        (["reid.safetensors", "-o", "m.onnx"], "checkpoint is for task 'reid', expected 'classify'"),
        (["ok.safetensors", "-o", "m.tflite"], "expected a .onnx or .pt2 file"),
        (["none.safetensors", "-o", "m.pt2"], "no such checkpoint"),
    ]
    for args, message in cases:
        rc = main(["classify", "export", *[str(tmp_path / a) if not a.startswith("-") else a for a in args]])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and message in err[0], (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
