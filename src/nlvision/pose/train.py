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
previous phase's weights and ``OUT/model.safetensors`` is the final model. A new run is
trained in ``OUT.partial/`` and renamed to ``OUT`` when it succeeds, so a failed run leaves
nothing in ``OUT`` (``--resume`` continues a crashed run from ``OUT.partial/``).

**Why phase C drives soft masks to 1, and the design against it.** Nothing in eq. (3) asks a
mask to discard background: zeroing features (eq. 1) only removes context from the next stage,
and the carry-over ``P(i−1) ⊙ (1 − M)`` of eq. (4) pays only where the previous stage's heatmap
already has the right peaks — on the figure. In the background the mask gradient is a small,
consistent push to keep context, and RMSProp — which normalises gradient magnitudes — moves the
mask biases up at the full learning rate, so masks end ≈ 1 there. Counter-measures: an **area
penalty** ``mask_penalty · Σ_i mean(M(i))`` in phases B and C (a budget on what a mask keeps),
optionally sparing cells where the stage already sees a joint (``penalty_mode="background"``),
**binary masks** (:func:`nlvision.nn.hourglass.binary_mask`, the seed's Fig. 3), and freezing the
masks in phase C (``train_masks_in_c=False``). The default is chosen by measurement
(``benchmarks/pose_attention.py``, ``benchmarks/results/pose.md``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlvision.atomic import atomic_path, write_json_atomic
from nlvision.pose.data import make_dataset, parse_data_spec

from nlvision.pose.model import TASK, PoseModelConfig, build_pose_model, load_pose_model
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
    """Training options of ``nlvision pose train`` (the seed's defaults).

    Parameters
    ----------
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
    mask_penalty : float
        Weight of the mask-area penalty ``Σ_i mean(M(i))`` added to eq. (3) in phases B and C
        (0 = the seed's loss).
    penalty_mode : {"area", "background"}
        ``area``: every cell counts; ``background``: cells where the stage already sees a joint
        are spared (see :func:`mask_area`).
    train_masks_in_c : bool
        Train the mask branch in phase C too (the seed); False freezes it after phase B.

    References
    ----------
    Seed 002, section 3.3 (three-phase schedule, RMSProp, batch 12).

    Examples
    --------
    >>> PoseTrainConfig(phase="A", epoch_scale=0.01).validate().phases()
    ('A',)
    """

    phase: str = "all"
    epoch_scale: float = 1.0
    lr_scale: float = 1.0
    batch_size: int = 12
    n_train: int | None = None
    n_valid: int | None = None
    workers: int = 0
    flip_test: bool = False
    seed: int = 0
    mask_penalty: float = 0.0
    penalty_mode: str = "area"
    train_masks_in_c: bool = True

    def validate(self) -> "PoseTrainConfig":
        """Check the values.

        Returns
        -------
        PoseTrainConfig
            ``self``.

        Raises
        ------
        ValueError
            Naming the option and what was expected.
        """
        if self.phase not in (*PHASES, "all"):
            raise ValueError(f"--phase: expected one of {[*PHASES, 'all']}, got {self.phase!r}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size: expected ≥ 1, got {self.batch_size}")
        if self.workers < 0:
            raise ValueError(f"--workers: expected ≥ 0, got {self.workers}")
        if not (isinstance(self.mask_penalty, (int, float)) and math.isfinite(self.mask_penalty) and self.mask_penalty >= 0):
            raise ValueError(f"--mask-penalty: expected a number ≥ 0, got {self.mask_penalty!r}")
        if self.penalty_mode not in ("area", "background"):
            raise ValueError(f"--penalty-mode: expected 'area' or 'background', got {self.penalty_mode!r}")
        phase_schedule("A", self.epoch_scale, self.lr_scale)
        for name in ("n_train", "n_valid"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"--{name.replace('_', '-')}: expected ≥ 1, got {v}")
        return self

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


def mask_area(mask_probs, predictions=None):
    """``Σ_i mean(w(i) · M(i))`` over the learned masks (stages 1…S−1), the area penalty's term.

    Without ``predictions`` the weight ``w`` is 1 (plain area). With them, the penalty spares what
    the stage already locates: ``w(i) = 1 − clip(maxpool₅(max_k P(i)_k), 0, 1)`` (no gradient),
    so the budget is spent on regions where stage ``i`` sees no joint — the seed's
    "nothing-regions" — without any extra annotation.

    Examples
    --------
    >>> import torch
    >>> float(mask_area(torch.tensor([1.0, 0.25, 0.5]).view(1, 3, 1, 1, 1)))
    0.75
    """
    import torch.nn.functional as F

    m = mask_probs[:, 1:]
    if predictions is None:
        return m.mean(dim=(0, 2, 3, 4)).sum()
    b, s, k, h, w = predictions.shape
    conf = predictions[:, :-1].detach().amax(dim=2).reshape(b * (s - 1), 1, h, w)
    conf = F.max_pool2d(conf, 5, stride=1, padding=2).clamp(0, 1).reshape(b, s - 1, 1, h, w)
    return (m * (1 - conf)).mean(dim=(0, 2, 3, 4)).sum()


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
    mask_penalty : float
        Weight of the mask-area penalty (phases B and C).
    penalty_mode : {"area", "background"}
        See :func:`mask_area`.
    train_masks_in_c : bool
        Whether phase C trains the mask branch.
    """

    task = TASK

    def __init__(self, model, phase: str, schedule: PhaseSchedule, *, flip_test: bool = False, mask_penalty: float = 0.0,
                 penalty_mode: str = "area", train_masks_in_c: bool = True):
        super().__init__()
        if phase not in PHASES:
            raise ValueError(f"phase: expected one of {list(PHASES)}, got {phase!r}")
        self.model = model
        self.phase = phase
        self.schedule = schedule
        self.flip_test = flip_test
        self.mask_penalty = float(mask_penalty)
        self.penalty_mode = penalty_mode
        self.train_masks_in_c = train_masks_in_c
        self.model_config = model.config.to_dict()
        self._val: list[tuple[np.ndarray, ...]] = []
        self._configure_phase()

    def _configure_phase(self) -> None:
        m = self.model
        attn = m.config.attention
        m.attention_active = attn and self.phase != "A"
        if attn and self.phase == "B":
            trainable = {id(p) for p in m.mask_parameters()}
        elif attn and (self.phase == "A" or (self.phase == "C" and not self.train_masks_in_c)):
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

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        out = self.model(batch["image"])
        loss = stage_loss(out.predictions, batch["target"])
        if self.mask_penalty and self.model.attention_active and self.phase != "A":
            area = mask_area(out.mask_probs, out.predictions if self.penalty_mode == "background" else None)
            self.log("mask_area", area, on_step=False, on_epoch=True, batch_size=batch["image"].shape[0])
            loss = loss + self.mask_penalty * area
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=batch["image"].shape[0])
        return loss

    def validation_step(self, batch, batch_idx):
        from nlvision.pose.evaluate import predict_batch

        pred = predict_batch(self.model, batch["image"], batch["matrix"], flip=self.flip_test)[0]
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


def make_loaders(data: str, model_config: PoseModelConfig, train_config: PoseTrainConfig):
    """(train, valid) DataLoaders of ``data`` (training augmented, validation not).

    Parameters
    ----------
    data : str
        ``synthetic`` or ``mpii:PATH``.
    model_config : PoseModelConfig
        Gives the crop size.
    train_config : PoseTrainConfig
        Batch size, set sizes, workers and seed.

    Returns
    -------
    (DataLoader, DataLoader)

    Raises
    ------
    ValueError
        Unknown data spec, missing files, no usable annotation.

    Examples
    --------
    >>> tr, va = make_loaders("synthetic", PoseModelConfig(input_size=64), PoseTrainConfig(n_train=4, n_valid=2))
    >>> len(tr.dataset), len(va.dataset)
    (4, 2)
    """
    from torch.utils.data import DataLoader

    from nlvision.pose.data import collate

    cfg, size = train_config, model_config.input_size
    train = make_dataset(data, "train", input_size=size, train=True, n=cfg.n_train, seed=cfg.seed)
    valid = make_dataset(data, "valid", input_size=size, train=False, n=cfg.n_valid, seed=cfg.seed)
    kw = dict(num_workers=cfg.workers, collate_fn=collate)
    # training workers are not persistent: they copy the data set when an epoch starts, after the module's
    # set_epoch, so each epoch draws new augmentations (persistent workers kept epoch 0's for ever)
    return (
        DataLoader(train, batch_size=cfg.batch_size, shuffle=True, drop_last=len(train) > cfg.batch_size, **kw),
        DataLoader(valid, batch_size=max(cfg.batch_size, 16), shuffle=False, persistent_workers=cfg.workers > 0, **kw),
    )


def _partial_dir(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def _check_run_dir(out: Path, model_config: PoseModelConfig, resume: bool) -> Path:
    """The folder to train in (``OUT`` when resuming it, else ``OUT.partial``)."""
    partial = _partial_dir(out)
    if resume:
        run = out if (out / "pose_run.json").is_file() else partial if (partial / "pose_run.json").is_file() else None
        if run is None:
            raise ValueError(f"--resume: {out} holds no pose run (no pose_run.json)")
        old = json.loads((run / "pose_run.json").read_text()).get("model", {})
        new = model_config.to_dict()
        diff = {k: (old.get(k), v) for k, v in new.items() if old.get(k, v) != v}
        if diff:
            detail = ", ".join(f"{k} {a!r} vs {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"--resume: {out} holds a run of another configuration ({detail})")
        return run
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--out: {out} already exists and is not empty (use --resume or another folder)")
    if partial.exists():
        shutil.rmtree(partial)
    return partial


def train_pose(
    data,
    out_dir: str | Path,
    *,
    model_config: PoseModelConfig | None = None,
    train_config: PoseTrainConfig | None = None,
    trainer_config=None,
    weights: str | Path | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train the pose model with the seed's phases and evaluate it on the validation split.

    Parameters
    ----------
    data : str or (DataLoader, DataLoader)
        ``synthetic``, ``mpii:PATH``, or ready (train, valid) loaders of :func:`make_loaders`.
    out_dir : path-like
        Run folder: ``phase_X/`` (one engine run each), ``model.safetensors`` (final),
        ``pose_run.json`` (resolved configuration), ``metrics.json``. Must be new or empty
        unless ``resume``; trained in ``OUT.partial/`` and renamed when done.
    model_config : PoseModelConfig, optional
        Architecture (the seed's by default).
    train_config : PoseTrainConfig, optional
        Schedule and data options (the seed's by default).
    trainer_config : nlvision.engine.TrainerConfig, optional
        Lightning options; its ``epochs`` is replaced by each phase's scaled epoch count.
    weights : path-like, optional
        Start from this pose checkpoint (same architecture).
    resume : bool
        Skip finished phases and continue an interrupted one from its last checkpoint.

    Returns
    -------
    dict
        ``metrics`` (PCKh tables at 0.5 and 0.1), ``masks`` (per-stage mask statistics and
        PCKh with the masks forced to 1, attention models only), ``phases``, ``data``,
        ``annotations`` (MPII reader summaries: people, border joints, skipped records) and ``out``.

    Raises
    ------
    ValueError
        Invalid configuration or data, an existing non-empty ``out_dir`` without ``resume``,
        weights of another architecture, or a resume into a run of another configuration.

    References
    ----------
    Seed 002, section 3.3; Newell et al., ECCV 2016.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nlvision.engine import TrainerConfig
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> r = train_pose("synthetic", out, model_config=PoseModelConfig(num_stacks=1, channels=4, depth=1, input_size=32),
    ...                train_config=PoseTrainConfig(phase="A", epoch_scale=0.005, n_train=2, n_valid=2),
    ...                trainer_config=TrainerConfig(progress=False, accelerator="cpu", devices="1"))
    >>> sorted(r["metrics"]), (out / "model.safetensors").is_file()
    (['pckh@0.1', 'pckh@0.5'], True)
    """
    import dataclasses as dc

    import torch

    from nlvision import engine
    from nlvision.nn.weights import load_checkpoint, load_weights
    from nlvision.pose.evaluate import evaluate_model

    mcfg = (model_config or PoseModelConfig()).validate()
    cfg = (train_config or PoseTrainConfig()).validate()
    trainer = trainer_config if trainer_config is not None else engine.TrainerConfig()
    out = Path(out_dir)
    if isinstance(data, str):
        parse_data_spec(data)
    if weights is not None and not Path(weights).exists():
        raise ValueError(f"--weights: no such checkpoint {weights}")
    run = _check_run_dir(out, mcfg, resume)
    train_loader, valid_loader = make_loaders(data, mcfg, cfg) if isinstance(data, str) else data
    torch.manual_seed(cfg.seed)
    model = build_pose_model(mcfg)
    if weights is not None:
        init = load_pose_model(weights)
        if init.config.to_dict() != model.config.to_dict():
            raise ValueError(f"--weights: {weights} has configuration {init.config.to_dict()}, expected {model.config.to_dict()}")
        model.load_state_dict(init.state_dict())
    run.mkdir(parents=True, exist_ok=True)
    spec = data if isinstance(data, str) else "loaders"
    write_json_atomic(run / "pose_run.json", {"task": TASK, "data": spec, "model": mcfg.to_dict(), "train": asdict(cfg),
                                              "trainer": asdict(trainer)})
    done_phases = []
    for phase in cfg.phases():
        sched = phase_schedule(phase, cfg.epoch_scale, cfg.lr_scale)
        pdir = run / f"phase_{phase}"
        marker = pdir / "done.json"
        if resume and marker.is_file():
            state, _ = load_checkpoint(pdir / "model.safetensors", task=TASK)
            load_weights(model, state)
            done_phases.append({"phase": phase, "epochs": sched.epochs, "skipped": True})
            continue
        model.train()  # Lightning warns when a fit starts with modules in eval mode
        module = PoseModule(model, phase, sched, flip_test=False, mask_penalty=cfg.mask_penalty,
                            penalty_mode=cfg.penalty_mode, train_masks_in_c=cfg.train_masks_in_c)
        tcfg = dc.replace(trainer, epochs=sched.epochs)
        run_resume = resume and engine.run_dir_checkpoint(pdir).is_file()
        engine.fit(
            module, train_loader, valid_loader, config=tcfg, out_dir=pdir,
            run_config={"phase": phase, "schedule": asdict(sched), "train": asdict(cfg)}, resume=run_resume,
        )
        write_json_atomic(marker, {"phase": phase, "epochs": sched.epochs})
        done_phases.append({"phase": phase, "epochs": sched.epochs, "lr": sched.lr, "milestones": list(sched.milestones)})
    model.attention_active = model.config.attention
    last = run / f"phase_{cfg.phases()[-1]}" / "model.safetensors"
    with atomic_path(run / "model.safetensors") as tmp:
        shutil.copyfile(last, tmp)
    ev = evaluate_model(model, valid_loader, flip=cfg.flip_test, masks_off=True)
    reports = {k: getattr(getattr(l, "dataset", None), "report", None) for k, l in (("train", train_loader), ("valid", valid_loader))}
    result = {"metrics": {f"pckh@{t:g}": r.to_dict() for t, r in ev["results"].items()}, "masks": ev.get("masks"),
              "phases": done_phases, "data": spec, "synthetic": spec == "synthetic",
              "annotations": {k: v for k, v in reports.items() if v}}
    write_json_atomic(run / "metrics.json", result)
    if run != out:
        if out.is_dir():
            out.rmdir()  # empty (checked before training)
        os.replace(run, out)
    return {**result, "out": str(out)}
