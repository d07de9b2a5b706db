"""The Lightning training engine: run folder layout, checkpoints every epoch, resume, logs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from nlvision.engine import TrainerConfig, _devices, fit, run_dir_checkpoint
from nlvision.nn.weights import load_checkpoint


class _Tiny(pl.LightningModule):
    def __init__(self, fail_at: tuple[int, int] | None = None):
        super().__init__()
        self.model = torch.nn.Linear(2, 1)
        self.task = "toy"
        self.model_config = {"in": 2}
        self.fail_at = fail_at
        self.steps: list[tuple[int, int]] = []

    def training_step(self, batch, i):
        self.steps.append((self.current_epoch, i))
        if self.fail_at == (self.current_epoch, i):
            raise RuntimeError("boom")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.model(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, i):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.model(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g)
    return DataLoader(TensorDataset(x, x @ torch.tensor([[1.0], [-2.0]])), batch_size=8)


def test_fit_crash_resume_and_outputs(tmp_path):
    cfg = TrainerConfig(epochs=3, progress=False, accelerator="cpu", devices="1", log_every_n_steps=1)
    with pytest.raises(RuntimeError, match="boom"):
        fit(_Tiny(fail_at=(2, 1)), _loader(), _loader(), config=cfg, out_dir=tmp_path, run_config={"note": "x"},
            monitor="val_loss", mode="min")
    ck = torch.load(run_dir_checkpoint(tmp_path), weights_only=False)
    assert ck["epoch"] == 1 and ck["global_step"] == 8  # two finished epochs of 4 batches survive the crash
    assert list((tmp_path / "checkpoints").glob("best-epoch=*.ckpt"))
    m = _Tiny()
    fit(m, _loader(), _loader(), config=cfg, out_dir=tmp_path, resume=True, monitor="val_loss", mode="min")
    assert m.steps == [(2, 0), (2, 1), (2, 2), (2, 3)]
    assert torch.load(run_dir_checkpoint(tmp_path), weights_only=False)["global_step"] == 12
    conf = json.loads((tmp_path / "config.json").read_text())
    assert conf["task"] == "toy" and conf["model"] == {"in": 2} and conf["trainer"]["epochs"] == 3
    assert conf["precision"] == "32-true"
    state, mc = load_checkpoint(tmp_path / "model.safetensors", task="toy")
    assert mc == {"in": 2} and torch.equal(state["weight"], m.model.weight.detach())
    # the interrupted run's CSV log is kept beside the resumed one
    assert (tmp_path / "logs" / "metrics.part1.csv").is_file() and (tmp_path / "logs" / "metrics.csv").is_file()
    assert "train_loss" in (tmp_path / "logs" / "metrics.part1.csv").read_text()


def test_resume_without_checkpoint_and_bad_devices(tmp_path):
    with pytest.raises(ValueError, match="--resume: no checkpoint"):
        fit(_Tiny(), _loader(), config=TrainerConfig(epochs=1), out_dir=tmp_path, resume=True)
    assert _devices("auto") == "auto" and _devices("2") == 2 and _devices("0,1") == [0, 1]
    with pytest.raises(ValueError, match="devices: expected 'auto'"):
        _devices("two")
    assert TrainerConfig(precision="16-mixed").resolved_precision() == "16-mixed"
    assert TrainerConfig(accelerator="cpu").resolved_precision() == "32-true"


# --------------------------------------------------------------------------- issue #18


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"devices": "0"}, "--devices: expected"),
        ({"devices": "-3"}, "--devices: expected"),
        ({"devices": "0,0"}, "--devices: expected"),
        ({"devices": "two"}, "--devices: expected"),
        ({"limit_train_batches": -1}, "--limit-batches: expected"),
        ({"limit_train_batches": 2.5}, "--limit-batches: expected"),
        ({"limit_train_batches": float("nan")}, "--limit-batches: expected"),
        ({"accelerator": "tpu9"}, "--accelerator: expected one of"),
        ({"precision": "8-bit"}, "--precision: expected one of"),
        ({"epochs": 0}, "--epochs: expected a positive int"),
        ({"num_nodes": 0}, "--num-nodes: expected a positive int"),
    ],
)
def test_trainer_config_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainerConfig(**kwargs)


def test_resolve_records_what_runs(monkeypatch):
    r = TrainerConfig(accelerator="cpu", devices="2", strategy="auto").resolve()
    assert r == {"accelerator": "cpu", "devices": 2, "num_devices": 2, "num_nodes": 1, "world_size": 2, "strategy": "ddp",
                 "precision": "32-true"}
    assert TrainerConfig(devices="auto", accelerator="auto").resolve()["devices"] in (1, list(range(torch.cuda.device_count())))
    assert TrainerConfig(limit_train_batches=3.0).limit_train_batches == 3
    with pytest.raises(ValueError, match="list of device ids"):
        TrainerConfig(accelerator="cpu", devices="0,1").resolve()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="--accelerator: 'gpu' requested but no CUDA GPU is available"):
        TrainerConfig(accelerator="gpu").resolve()


class _Noisy(pl.LightningModule):
    """Dropout, shuffling, a random augmentation from the global generator, momentum and a step schedule:
    everything a resume has to reproduce."""

    task = "toy"

    def __init__(self, fail_at=None):
        super().__init__()
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 1))
        self.model_config = {"hidden": 16}
        self.fail_at = fail_at

    def training_step(self, batch, i):
        if self.fail_at == (self.current_epoch, i):
            raise RuntimeError("killed")
        x, y = batch
        x = x + 0.1 * torch.randn_like(x)  # augmentation drawn from the global generator
        loss = torch.nn.functional.mse_loss(self.model(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.7)}


def _noisy_loader():
    from nlvision.engine import EpochSampler

    g = torch.Generator().manual_seed(1)
    x = torch.randn(48, 4, generator=g)
    ds = TensorDataset(x, x.sum(1, keepdim=True).sin())
    return DataLoader(ds, batch_size=8, sampler=EpochSampler(ds, seed=5))


def test_killed_and_resumed_equals_uninterrupted(tmp_path):
    """Issue #18 target: killed after epoch k and resumed ends with the uninterrupted run's weights
    (max relative difference <= 1e-5 on the CPU; the old engine restarted shuffling, augmentation and
    dropout from the seed and ended 98 % different)."""
    cfg = TrainerConfig(epochs=4, progress=False, accelerator="cpu", devices="1", seed=5, log_every_n_steps=1)
    ref = _Noisy()
    fit(ref, _noisy_loader(), config=cfg, out_dir=tmp_path / "ref")
    with pytest.raises(RuntimeError, match="killed"):
        fit(_Noisy(fail_at=(2, 3)), _noisy_loader(), config=cfg, out_dir=tmp_path / "run")  # killed in epoch 2
    resumed = _Noisy()
    fit(resumed, _noisy_loader(), config=cfg, out_dir=tmp_path / "run", resume=True)
    for (k, a), (_, b) in zip(ref.model.state_dict().items(), resumed.model.state_dict().items()):
        rel = ((a - b).abs().max() / a.abs().max().clamp_min(1e-12)).item()
        assert rel <= 1e-5, (k, rel)
    # and the run is not trivially reproducible: another seed ends elsewhere
    other = _Noisy()
    fit(other, _noisy_loader(), config=TrainerConfig(**{**cfg.__dict__, "seed": 6}), out_dir=tmp_path / "other")
    assert not torch.allclose(other.model[0].weight, ref.model[0].weight)
    conf = json.loads((tmp_path / "run" / "config.json").read_text())
    assert [h["resume"] for h in conf["history"]] == [False, True]
    assert conf["resolved"]["devices"] == 1 and conf["resolved"]["precision"] == "32-true"


def test_resume_with_changed_hyperparameter_is_refused(tmp_path):
    cfg = TrainerConfig(epochs=1, progress=False, accelerator="cpu", devices="1")
    fit(_Noisy(), _noisy_loader(), config=cfg, out_dir=tmp_path, run_config={"train": {"lr": 0.05}})
    before = (tmp_path / "config.json").read_text()
    with pytest.raises(ValueError, match=r"--resume: the run was started with run.train.lr=0.05 \(now 0.1\)"):
        fit(_Noisy(), _noisy_loader(), config=TrainerConfig(**{**cfg.__dict__, "epochs": 2}), out_dir=tmp_path,
            run_config={"train": {"lr": 0.1}}, resume=True)
    with pytest.raises(ValueError, match=r"trainer.seed=0 \(now 3\)"):
        fit(_Noisy(), _noisy_loader(), config=TrainerConfig(**{**cfg.__dict__, "epochs": 2, "seed": 3}), out_dir=tmp_path,
            run_config={"train": {"lr": 0.05}}, resume=True)
    assert (tmp_path / "config.json").read_text() == before  # nothing written
    # more epochs is allowed, and recorded
    m = _Noisy()
    fit(m, _noisy_loader(), config=TrainerConfig(**{**cfg.__dict__, "epochs": 2}), out_dir=tmp_path,
        run_config={"train": {"lr": 0.05}}, resume=True)
    conf = json.loads((tmp_path / "config.json").read_text())
    assert conf["trainer"]["epochs"] == 2 and [h["epochs"] for h in conf["history"]] == [1, 2]


def test_learning_rate_and_hparams_are_logged(tmp_path):
    import csv

    cfg = TrainerConfig(epochs=3, progress=False, accelerator="cpu", devices="1", log_every_n_steps=1)
    fit(_Noisy(), _noisy_loader(), config=cfg, out_dir=tmp_path, run_config={"train": {"lr": 0.05, "batch_size": 8}})
    rows = list(csv.DictReader(open(tmp_path / "logs" / "metrics.csv")))
    lrs = [float(r["lr-SGD"]) for r in rows if r.get("lr-SGD")]
    assert lrs == pytest.approx([0.05, 0.035, 0.0245])  # StepLR(gamma=0.7), one value per epoch
    hp = (tmp_path / "logs" / "hparams.yaml").read_text()
    assert "run.train.lr: 0.05" in hp and "trainer.seed: 0" in hp and "resolved.precision: 32-true" in hp
    # TensorBoard (optional): the hparams session holds the run's settings (it was empty before), lr is a scalar
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        from tensorboard.plugins.hparams import plugin_data_pb2
    except ImportError:
        return
    (events,) = (tmp_path / "logs" / "tensorboard").glob("events*")
    ea = EventAccumulator(str(events))
    ea.Reload()
    assert "lr-SGD" in ea.Tags()["scalars"]
    start = plugin_data_pb2.HParamsPluginData.FromString(ea.PluginTagToContent("hparams")["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["run.train.lr"].number_value == 0.05 and hparams["resolved.accelerator"].string_value == "cpu"


def test_run_inference_order_and_batches():
    from nlvision.engine import run_inference

    x = torch.arange(11.0)[:, None]
    ds = TensorDataset(x, torch.arange(11))
    seen = []

    def fwd(model, xb, yb):
        seen.append(len(xb))
        return {"double": model(xb) * 2, "label": yb}

    out = run_inference(torch.nn.Identity(), ds, forward=fwd, batch_size=4,
                        config=TrainerConfig(accelerator="cpu", devices="1", progress=False))
    assert seen == [4, 4, 3]
    assert out["index"].tolist() == list(range(11)) and out["label"].tolist() == list(range(11))
    np.testing.assert_array_equal(out["double"].ravel(), 2 * np.arange(11.0))
    with pytest.raises(ValueError, match="--batch-size: expected a positive int"):
        run_inference(torch.nn.Identity(), ds, batch_size=0)


def test_missing_lightning_is_one_line(monkeypatch):
    import sys

    from nlvision.engine import MissingExtraError, require_lightning

    monkeypatch.setitem(sys.modules, "pytorch_lightning", None)
    with pytest.raises(MissingExtraError, match=r"classify train needs the \[train\] extra: pip install 'nlvision\[train\]'"):
        require_lightning("classify train")
    assert issubclass(MissingExtraError, ImportError) and issubclass(MissingExtraError, ValueError)


def test_export_checks_before_writing(tmp_path):
    from nlvision.engine import export_model

    lin = torch.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="folder .* does not exist"):
        export_model(lin, torch.rand(2, 3), tmp_path / "missing" / "m.onnx")
    with pytest.raises(ValueError, match="expected a .onnx or .pt2 file"):
        export_model(lin, torch.rand(2, 3), tmp_path / "m.tflite")
    assert list(tmp_path.iterdir()) == []
    r = export_model(lin, torch.rand(2, 3), tmp_path / "m.onnx")
    import onnxruntime as ort

    x = torch.rand(5, 3)
    got = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, lin(x).detach().numpy(), atol=1e-5)
    assert r["max_abs_diff"] <= 1e-4 and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
