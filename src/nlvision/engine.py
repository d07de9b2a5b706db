"""Training engine shared by the deep tasks (classify, reid, pose), built on PyTorch Lightning.

Lightning provides the progress bar, checkpoints, resume, mixed precision and multi-GPU /
multi-node DDP; this module only fixes nlvision's conventions around it:

- ``OUT/config.json``: the resolved configuration of the run (task config + trainer config);
- ``OUT/checkpoints/last.ckpt`` (rewritten every epoch; + ``best-epoch=N.ckpt`` when a metric is
  monitored): resumable Lightning checkpoints;
- ``OUT/model.safetensors``: the trained weights with task name and model config
  (:func:`nlvision.nn.weights.save_checkpoint`), rewritten atomically after every epoch;
- ``OUT/logs/``: CSV metrics (and TensorBoard events); a resumed run keeps the earlier CSV as
  ``metrics.partN.csv``.

A LightningModule used here must expose ``model`` (the plain ``nn.Module`` to export),
``task`` (str) and ``model_config`` (dict, enough to rebuild ``model``).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nlvision.atomic import write_json_atomic

# Lightning 2.6 calls a torch.utils._pytree API that torch 2.13 deprecates, once per batch;
# the message is about Lightning's internals, not about anything a user can change.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")


@dataclass
class TrainerConfig:
    """Options of the Lightning trainer, exposed by every ``train`` command.

    Attributes
    ----------
    epochs : int
        Number of epochs.
    devices : str
        ``"auto"``, a count (``"2"``) or a list (``"0,1"``).
    accelerator : str
        ``"auto"``, ``"cpu"``, ``"gpu"``.
    strategy : str
        ``"auto"`` or ``"ddp"`` (multi-GPU / multi-node).
    num_nodes : int
        Number of nodes for DDP.
    precision : str
        ``"auto"`` (bf16 mixed on CUDA, fp32 on CPU) or any Lightning precision string.
    seed : int
        Global seed (``seed_everything``, workers included).
    log_every_n_steps : int
        Logging interval.
    progress : bool
        Show the progress bar.
    limit_train_batches : float
        Fraction (≤ 1.0) or number of batches per epoch, for quick runs.
    """

    epochs: int = 10
    devices: str = "auto"
    accelerator: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "auto"
    seed: int = 0
    log_every_n_steps: int = 10
    progress: bool = True
    limit_train_batches: float = 1.0

    def resolved_precision(self) -> str:
        """The precision actually used."""
        if self.precision != "auto":
            return self.precision
        gpu = torch.cuda.is_available() and self.accelerator in ("auto", "gpu", "cuda")
        return "bf16-mixed" if gpu else "32-true"


def _devices(value: str) -> Any:
    if value == "auto":
        return "auto"
    if "," in value:
        return [int(v) for v in value.split(",") if v.strip()]
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"devices: expected 'auto', a count or a comma-separated list, got {value!r}") from None


def run_dir_checkpoint(out_dir: str | os.PathLike) -> Path:
    """Path of the resumable Lightning checkpoint of a run folder."""
    return Path(out_dir) / "checkpoints" / "last.ckpt"


def make_trainer(config: TrainerConfig, out_dir: str | os.PathLike, *, monitor: str | None = None, mode: str = "max"):
    """Build a Lightning ``Trainer`` writing checkpoints and logs under ``out_dir``."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger

    out = Path(out_dir)
    if not config.progress:  # quiet runs (demo, tests, benchmarks): no GPU/TPU banners and tips
        import logging

        logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    # ``last.ckpt`` is rewritten after every epoch. (Lightning >= 2.5 writes ``save_last`` only when a
    # top-k checkpoint was saved in the same step, so ``save_top_k=0, save_last=True`` would leave no
    # checkpoint before the end of training and a crash would lose the whole run.)
    callbacks: list = [
        ModelCheckpoint(dirpath=out / "checkpoints", filename="last", save_top_k=1, monitor=None,
                        enable_version_counter=False),
        SafetensorsExport(out / "model.safetensors"),
    ]
    if monitor:
        callbacks.insert(1, ModelCheckpoint(dirpath=out / "checkpoints", filename="best-{epoch}", save_top_k=1,
                                            monitor=monitor, mode=mode))
    loggers: list = [CSVLogger(str(out), name="logs", version="")]
    try:
        from pytorch_lightning.loggers import TensorBoardLogger

        import tensorboard  # noqa: F401

        loggers.append(TensorBoardLogger(str(out), name="logs", version="tensorboard"))
    except ImportError:  # pragma: no cover - tensorboard is a dependency
        pass
    return pl.Trainer(
        max_epochs=config.epochs,
        devices=_devices(config.devices),
        accelerator=config.accelerator,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        precision=config.resolved_precision(),
        callbacks=callbacks,
        logger=loggers,
        log_every_n_steps=config.log_every_n_steps,
        enable_progress_bar=config.progress,
        enable_model_summary=False,
        limit_train_batches=config.limit_train_batches,
        default_root_dir=str(out),
    )


def fit(
    module,
    train_loader,
    val_loader=None,
    *,
    config: TrainerConfig,
    out_dir: str | os.PathLike,
    run_config: dict | None = None,
    resume: bool = False,
    monitor: str | None = None,
    mode: str = "max",
):
    """Train ``module`` and export its weights; returns the Lightning ``Trainer``.

    Parameters
    ----------
    module : LightningModule
        With attributes ``model``, ``task`` and ``model_config`` (see module docstring).
    train_loader, val_loader : DataLoader
        Training and (optional) validation data.
    config : TrainerConfig
        Trainer options.
    out_dir : path-like
        Run folder; receives config.json, checkpoints/, model.safetensors, logs/.
    run_config : dict, optional
        Task configuration saved in config.json beside the trainer config.
    resume : bool
        Continue from ``out_dir/checkpoints/last.ckpt``.

    Raises
    ------
    ValueError
        If ``resume`` is set and no checkpoint exists.
    """
    import pytorch_lightning as pl

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir_checkpoint(out)
    if resume and not ckpt.is_file():
        raise ValueError(f"--resume: no checkpoint at {ckpt}")
    if resume:
        _keep_previous_csv_log(out)
    pl.seed_everything(config.seed, workers=True, verbose=False)
    write_json_atomic(
        out / "config.json",
        {"task": module.task, "model": module.model_config, "run": run_config or {}, "trainer": dataclasses.asdict(config),
         "precision": config.resolved_precision()},
    )
    trainer = make_trainer(config, out, monitor=monitor, mode=mode)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*too few batches.*|.*number of training batches.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        trainer.fit(module, train_loader, val_loader, ckpt_path=str(ckpt) if resume else None)
    return trainer


def _keep_previous_csv_log(out: Path) -> None:
    """Lightning's CSVLogger deletes ``logs/metrics.csv`` of the interrupted run when a run resumes;
    move it to ``logs/metrics.partN.csv`` first so no logged epoch is lost."""
    csv = out / "logs" / "metrics.csv"
    if csv.is_file():
        n = 1
        while (out / "logs" / f"metrics.part{n}.csv").exists():
            n += 1
        os.replace(csv, out / "logs" / f"metrics.part{n}.csv")


try:
    from pytorch_lightning.callbacks import Callback as _Callback
except ImportError:  # pragma: no cover
    _Callback = object


class SafetensorsExport(_Callback):
    """Write the module's plain model to a safetensors checkpoint after each epoch and at the end."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _export(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            from nlvision.nn.weights import save_checkpoint

            save_checkpoint(self.path, pl_module.model, task=pl_module.task, config=pl_module.model_config)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._export(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self._export(trainer, pl_module)
