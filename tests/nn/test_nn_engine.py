"""The Lightning training engine: run folder layout, checkpoints every epoch, resume, logs."""

from __future__ import annotations

import json

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
