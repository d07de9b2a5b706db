"""Training of the (attention) stacked hourglass: the three-phase schedule of seed section 3.3.

* Phase A — heatmaps (task A): masks frozen at all ones, RMSProp, lr 5e-4, 200 epochs, ÷10 at
  epochs 120 and 170.
* Phase B — attention (task B): heatmap parameters frozen (BatchNorm statistics included),
  only the mask branch trains, lr 2.5e-4, 200 epochs, ÷10 at 120 and 170.
* Phase C — joint training of both tasks, lr 2.5e-4, 100 epochs, ÷10 at 50 and 70.

Every phase minimises the MSE of every stage's prediction ``P(i)`` (eq. 3, intermediate
supervision). ``epoch_scale`` multiplies every epoch count and milestone (at least one epoch
per phase), so short runs keep the schedule's shape. The plain hourglass baseline
(``attention=False``) follows the same schedule with every phase training the whole network,
so both models see the same number of epochs and learning rates.

Each phase is one :func:`nlvision.engine.fit` run in ``OUT/phase_X/`` (resumable Lightning
checkpoints, ``model.safetensors`` exported every epoch); the next phase starts from the
previous phase's weights and ``OUT/model.safetensors`` is the final model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlvision.atomic import atomic_path, write_json_atomic

__all__ = ["PHASES", "PhaseSchedule", "PoseTrainConfig", "PoseModule", "phase_schedule", "train_pose", "load_pose_model", "make_loaders", "stage_loss"]

TASK = "pose"
PHASES = ("A", "B", "C")


@dataclass(frozen=True)
class PhaseSchedule:
    """Learning-rate schedule of one phase (seed section 3.3)."""

    epochs: int
    lr: float
    milestones: tuple[int, ...]
    gamma: float = 0.1


#: The seed's schedule (section 3.3).
SEED_SCHEDULE = {
    "A": PhaseSchedule(200, 5e-4, (120, 170)),
    "B": PhaseSchedule(200, 2.5e-4, (120, 170)),
    "C": PhaseSchedule(100, 2.5e-4, (50, 70)),
}


def phase_schedule(phase: str, epoch_scale: float = 1.0, lr_scale: float = 1.0) -> PhaseSchedule:
    """The seed's schedule of ``phase`` with every epoch count scaled by ``epoch_scale``.

    ``lr_scale`` multiplies the learning rate: the seed's rates suit 500 epochs of MPII; short
    runs of small models converge much faster with larger ones (the synthetic benchmark uses 4).

    Raises
    ------
    ValueError
        For an unknown phase or a non-positive scale.

    Examples
    --------
    >>> phase_schedule("A", 0.05)
    PhaseSchedule(epochs=10, lr=0.0005, milestones=(6, 8), gamma=0.1)
    >>> phase_schedule("C")
    PhaseSchedule(epochs=100, lr=0.00025, milestones=(50, 70), gamma=0.1)
    >>> phase_schedule("B", 0.05, lr_scale=4).lr
    0.001
    """
    if phase not in SEED_SCHEDULE:
        raise ValueError(f"phase: expected one of {list(PHASES)}, got {phase!r}")
    if not (isinstance(epoch_scale, (int, float)) and math.isfinite(epoch_scale) and epoch_scale > 0):
        raise ValueError(f"epoch_scale: expected a positive number, got {epoch_scale!r}")
    if not (isinstance(lr_scale, (int, float)) and math.isfinite(lr_scale) and lr_scale > 0):
        raise ValueError(f"lr_scale: expected a positive number, got {lr_scale!r}")
    base = SEED_SCHEDULE[phase]
    epochs = max(1, round(base.epochs * epoch_scale))
    miles = tuple(sorted({max(1, round(m * epoch_scale)) for m in base.milestones}))
    return PhaseSchedule(epochs, base.lr * lr_scale, miles, base.gamma)


@dataclass
class PoseTrainConfig:
    """Options of ``nlvision pose train`` (seed defaults).

    Attributes
    ----------
    data : str
        ``synthetic`` or ``mpii:PATH``.
    num_stacks, channels, input_size : int
        Architecture (4 stacks, 256 channels, 256 × 256 input in the seed).
    attention : bool
        ACNN (True) or plain stacked hourglass (False).
    phase : str
        ``A``, ``B``, ``C`` or ``all``.
    epoch_scale : float
        Multiplies the seed's epoch counts and milestones (200/200/100).
    lr_scale : float
        Multiplies the seed's learning rates (5e-4 / 2.5e-4 / 2.5e-4).
    batch_size : int
        12 as in the seed.
    n_train, n_valid : int or None
        Synthetic set sizes (defaults 2000 / 300) or caps on MPII people.
    workers : int
        DataLoader worker processes.
    flip_test : bool
        Flip test in the validation at the end.
    seed : int
        Data, augmentation and initialisation seed.
    init : str or None
        Start from these weights (an nlvision pose checkpoint of the same configuration).
    """

    data: str = "synthetic"
    num_stacks: int = 4
    channels: int = 256
    input_size: int = 256
    attention: bool = True
    phase: str = "all"
    epoch_scale: float = 1.0
    lr_scale: float = 1.0
    batch_size: int = 12
    n_train: int | None = None
    n_valid: int | None = None
    workers: int = 0
    flip_test: bool = False
    seed: int = 0
    init: str | None = None

    def validate(self) -> "PoseTrainConfig":
        """Check the values; returns self."""
        if self.phase not in (*PHASES, "all"):
            raise ValueError(f"--phase: expected one of {[*PHASES, 'all']}, got {self.phase!r}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size: expected ≥ 1, got {self.batch_size}")
        if self.workers < 0:
            raise ValueError(f"--workers: expected ≥ 0, got {self.workers}")
        phase_schedule("A", self.epoch_scale, self.lr_scale)
        for name in ("n_train", "n_valid"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"--{name.replace('_', '-')}: expected ≥ 1, got {v}")
        from nlvision.pose.data import parse_data_spec

        parse_data_spec(self.data)
        self.model_config().validate()
        return self

    def model_config(self):
        """The :class:`~nlvision.nn.hourglass.HourglassConfig` of this run."""
        from nlvision.nn.hourglass import HourglassConfig

        return HourglassConfig(num_stacks=self.num_stacks, channels=self.channels, attention=self.attention, input_size=self.input_size)

    def phases(self) -> tuple[str, ...]:
        """Phases to run, in order."""
        return PHASES if self.phase == "all" else (self.phase,)


def stage_loss(predictions, target):
    """Eq. (3) summed over stages: ``Σ_i mean((P(i) − G)²)`` (intermediate supervision).

    Examples
    --------
    >>> import torch
    >>> float(stage_loss(torch.ones(1, 2, 1, 2, 2), torch.zeros(1, 1, 2, 2)))
    2.0
    """
    diff = predictions - target.unsqueeze(1)
    return diff.pow(2).mean(dim=(0, 2, 3, 4)).sum()


try:
    import pytorch_lightning as _pl

    _Base = _pl.LightningModule
except ImportError:  # pragma: no cover
    _Base = object


class PoseModule(_Base):
    """LightningModule for one training phase.

    Parameters
    ----------
    model : StackedHourglass
    phase : {"A", "B", "C"}
    schedule : PhaseSchedule
    flip_test : bool
        Flip test in validation.
    """

    task = TASK

    def __init__(self, model, phase: str, schedule: PhaseSchedule, *, flip_test: bool = False):
        super().__init__()
        if phase not in PHASES:
            raise ValueError(f"phase: expected one of {list(PHASES)}, got {phase!r}")
        self.model = model
        self.phase = phase
        self.schedule = schedule
        self.flip_test = flip_test
        self.model_config = model.config.to_dict()
        self._val: list[tuple[np.ndarray, ...]] = []
        #: Optional compute budget of this phase: process CPU seconds and a wall-clock deadline
        #: (``time.time()``); training stops after the batch that exceeds either.
        self.cpu_budget_s: float | None = None
        self.wall_deadline: float | None = None
        self._cpu_start = 0.0
        self._configure_phase()

    def _configure_phase(self) -> None:
        m = self.model
        attn = m.config.attention
        m.attention_active = attn and self.phase != "A"
        if attn and self.phase == "B":
            trainable = {id(p) for p in m.mask_parameters()}
        elif attn and self.phase == "A":
            trainable = {id(p) for p in m.heatmap_parameters()}
        else:
            trainable = {id(p) for p in m.parameters()}
        for p in m.parameters():
            p.requires_grad_(id(p) in trainable)

    def trainable_parameters(self) -> list:
        """Parameters updated in this phase."""
        return [p for p in self.model.parameters() if p.requires_grad]

    def on_train_epoch_start(self) -> None:
        self.model.train()
        if self.model.config.attention and self.phase == "B":
            self.model.eval()  # task A frozen: BatchNorm statistics too (the mask convs have no BN)
        loader = self.trainer.train_dataloader
        ds = getattr(loader, "dataset", None)
        if hasattr(ds, "set_epoch"):
            ds.set_epoch(self.current_epoch)

    def on_train_start(self) -> None:
        import time

        self._cpu_start = time.process_time()

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        import time

        over_cpu = self.cpu_budget_s is not None and time.process_time() - self._cpu_start > self.cpu_budget_s
        over_wall = self.wall_deadline is not None and time.time() > self.wall_deadline
        if over_cpu or over_wall:
            self.trainer.should_stop = True
            self.budget_stop = {"epoch": self.current_epoch, "batch": batch_idx, "cpu": bool(over_cpu), "wall": bool(over_wall)}

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        out = self.model(batch["image"])
        loss = stage_loss(out.predictions, batch["target"])
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=batch["image"].shape[0])
        return loss

    def validation_step(self, batch, batch_idx):
        from nlvision.pose.evaluate import predict_batch

        pred, _, _ = predict_batch(self.model, batch["image"], batch["matrix"], flip=self.flip_test)
        self._val.append((pred, batch["joints"].cpu().numpy(), batch["visible"].cpu().numpy(), batch["headbox"].cpu().numpy()))

    def on_validation_epoch_end(self) -> None:
        from nlvision.pose.evaluate import pckh

        if not self._val:
            return
        pred, gt, vis, hb = (np.concatenate(a) for a in zip(*self._val))
        self._val.clear()
        if np.isfinite(hb).all():
            self.log("val_pckh", pckh(pred, gt, vis, hb, 0.5).mean, prog_bar=True)

    def configure_optimizers(self):
        import torch

        params = self.trainable_parameters()
        if not params:
            raise ValueError(f"phase {self.phase}: nothing to train (a plain hourglass has no attention branch)")
        # RMSProp as in Newell et al. / the seed (Torch defaults: alpha 0.99, eps 1e-8).
        opt = torch.optim.RMSprop(params, lr=self.schedule.lr, alpha=0.99, eps=1e-8)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(self.schedule.milestones), gamma=self.schedule.gamma)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


def load_pose_model(path: str | Path):
    """Rebuild a :class:`StackedHourglass` from an nlvision pose checkpoint.

    Raises
    ------
    ValueError
        If the file is not a pose checkpoint, its configuration is invalid, or the weights do
        not match the configuration (missing / unexpected keys, shapes).
    """
    from nlvision.nn.hourglass import HourglassConfig, StackedHourglass
    from nlvision.nn.weights import load_checkpoint, load_weights

    state, cfg = load_checkpoint(path, task=TASK)
    try:
        config = HourglassConfig.from_dict(cfg)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: invalid model configuration ({exc})") from None
    model = StackedHourglass(config)
    try:
        load_weights(model, state)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return model.eval()


def make_loaders(cfg: PoseTrainConfig):
    """(train, valid) DataLoaders of ``cfg.data`` (training augmented, validation not)."""
    from torch.utils.data import DataLoader

    from nlvision.pose.data import collate, make_dataset

    train = make_dataset(cfg.data, "train", input_size=cfg.input_size, train=True, n=cfg.n_train, seed=cfg.seed)
    valid = make_dataset(cfg.data, "valid", input_size=cfg.input_size, train=False, n=cfg.n_valid, seed=cfg.seed)
    kw = dict(num_workers=cfg.workers, collate_fn=collate, persistent_workers=cfg.workers > 0)
    return (
        DataLoader(train, batch_size=cfg.batch_size, shuffle=True, drop_last=len(train) > cfg.batch_size, **kw),
        DataLoader(valid, batch_size=max(cfg.batch_size, 16), shuffle=False, **kw),
    )


def _check_run_dir(out: Path, cfg: PoseTrainConfig, resume: bool) -> None:
    info = out / "pose_run.json"
    if info.is_file():
        old = json.loads(info.read_text()).get("model", {})
        new = cfg.model_config().to_dict()
        diff = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
        if diff and resume:
            detail = ", ".join(f"{k} {a!r} vs {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"--resume: {out} holds a run of another configuration ({detail})")


def train_pose(
    config: PoseTrainConfig,
    trainer,
    out_dir: str | Path,
    *,
    resume: bool = False,
    loaders: tuple[Any, Any] | None = None,
    cpu_budget_s: float | None = None,
    wall_budget_s: float | None = None,
) -> dict[str, Any]:
    """Run the phases of ``config`` and evaluate the final model.

    Parameters
    ----------
    config : PoseTrainConfig
    trainer : nlvision.engine.TrainerConfig
        Lightning options; its ``epochs`` is replaced by each phase's scaled epoch count.
    out_dir : path-like
        Run folder: ``phase_X/`` (one engine run each), ``model.safetensors`` (final),
        ``pose_run.json`` (resolved configuration), ``metrics.json``.
    resume : bool
        Skip finished phases and continue an interrupted one from its last checkpoint.
    loaders : (train, valid), optional
        Data loaders to use instead of building them from ``config.data``.
    cpu_budget_s, wall_budget_s : float, optional
        Compute budget of the whole run (process CPU seconds / wall seconds), shared among the
        phases in proportion to their epochs; a phase that exhausts its share stops early
        (recorded in the result). Used by the fixed-budget benchmark.

    Returns
    -------
    dict
        ``metrics`` (PCKh tables at 0.5 and 0.1) and ``phases`` (epochs per phase).

    Raises
    ------
    ValueError
        Invalid configuration, data, or a resume into a run of another configuration.
    """
    import torch

    from nlvision import engine
    from nlvision.nn.hourglass import StackedHourglass
    from nlvision.nn.weights import load_checkpoint, load_weights
    from nlvision.pose.evaluate import evaluate_model

    cfg = config.validate()
    out = Path(out_dir)
    _check_run_dir(out, cfg, resume)
    train_loader, valid_loader = loaders if loaders is not None else make_loaders(cfg)
    torch.manual_seed(cfg.seed)
    model = StackedHourglass(cfg.model_config())
    if cfg.init:
        init = load_pose_model(cfg.init)
        if init.config.to_dict() != model.config.to_dict():
            raise ValueError(f"--init: {cfg.init} has configuration {init.config.to_dict()}, expected {model.config.to_dict()}")
        model.load_state_dict(init.state_dict())
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "pose_run.json", {"task": TASK, "model": model.config.to_dict(), "train": asdict(cfg), "trainer": asdict(trainer)})
    import time

    done_phases = []
    total_epochs = sum(phase_schedule(p, cfg.epoch_scale, cfg.lr_scale).epochs for p in cfg.phases())
    wall_start = time.time()
    wall_used = 0.0
    for phase in cfg.phases():
        sched = phase_schedule(phase, cfg.epoch_scale, cfg.lr_scale)
        pdir = out / f"phase_{phase}"
        marker = pdir / "done.json"
        if resume and marker.is_file():
            state, _ = load_checkpoint(pdir / "model.safetensors", task=TASK)
            load_weights(model, state)
            done_phases.append({"phase": phase, "epochs": sched.epochs, "skipped": True})
            continue
        model.train()  # Lightning warns when a fit starts with modules in eval mode
        module = PoseModule(model, phase, sched, flip_test=False)
        share = sched.epochs / total_epochs
        if cpu_budget_s is not None:
            module.cpu_budget_s = cpu_budget_s * share
        if wall_budget_s is not None:
            wall_used += wall_budget_s * share
            module.wall_deadline = wall_start + wall_used
        tcfg = dataclasses.replace(trainer, epochs=sched.epochs)
        run_resume = resume and engine.run_dir_checkpoint(pdir).is_file()
        engine.fit(
            module, train_loader, valid_loader, config=tcfg, out_dir=pdir,
            run_config={"phase": phase, "schedule": asdict(sched), "train": asdict(cfg)}, resume=run_resume,
        )
        write_json_atomic(marker, {"phase": phase, "epochs": sched.epochs})
        done_phases.append({"phase": phase, "epochs": sched.epochs, "lr": sched.lr, "milestones": list(sched.milestones),
                            "budget_stop": getattr(module, "budget_stop", None)})
    model.attention_active = model.config.attention
    last = out / f"phase_{cfg.phases()[-1]}" / "model.safetensors"
    with atomic_path(out / "model.safetensors") as tmp:
        shutil.copyfile(last, tmp)
    ev = evaluate_model(model, valid_loader, flip=cfg.flip_test)
    metrics = {f"pckh@{t:g}": r.to_dict() for t, r in ev["results"].items()}
    result = {"metrics": metrics, "phases": done_phases, "data": cfg.data, "synthetic": cfg.data == "synthetic"}
    write_json_atomic(out / "metrics.json", result)
    return result
