"""Training of the re-identification network with the BoT recipe, on PyTorch Lightning.

Loss: ``L_sum = L_tri-hard + L_lsr`` (seed eq. 15; margin 0.3, ε = 0.1). Optimiser: Adam,
learning rate 3.5e-4, weight decay 5e-4, linear warm-up over the first 10 epochs from
``warmup_factor × lr``, then ×0.1 at epochs 40 and 70 (120 epochs) — BoT's schedule. For short
runs :meth:`ReIDTrainConfig.scaled` shrinks the schedule proportionally.

Batches are P × K (16 × 4) identities × images from :class:`nlvision.reid.data.PKSampler`.

References
----------
Seed 000, eqs. 11–15. Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person
Re-identification", CVPRW 2019.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from nlvision.nn.losses import ReIDLoss
from nlvision.reid.data import PKSampler, ReIDData, ReIDImageDataset, ReIDSplit
from nlvision.reid.model import TASK, NFDConfig, NFDReID, build_reid_model

try:
    import pytorch_lightning as pl

    _Base = pl.LightningModule
except ImportError:  # pragma: no cover
    _Base = torch.nn.Module

__all__ = ["ReIDTrainConfig", "ReIDModule", "extract_features", "train_reid", "lr_factor"]


@dataclass
class ReIDTrainConfig:
    """Training hyper-parameters (BoT defaults).

    Attributes
    ----------
    p, k : int
        Identities per batch and images per identity (16, 4).
    lr : float
        Base learning rate of Adam (3.5e-4).
    weight_decay : float
        L2 weight decay (5e-4).
    warmup_epochs : int
        Linear warm-up length (10).
    warmup_factor : float
        Starting fraction of the learning rate (0.01).
    milestones : tuple of int
        Epochs where the rate is multiplied by ``gamma`` (40, 70).
    gamma : float
        Decay factor (0.1).
    margin : float
        Triplet margin α (0.3, eq. 11).
    epsilon : float
        Label-smoothing ε (0.1, eq. 14).
    num_workers : int
        DataLoader workers.
    seed : int
        Seed of the sampler and the transforms.
    """

    p: int = 16
    k: int = 4
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    warmup_epochs: int = 10
    warmup_factor: float = 0.01
    milestones: tuple[int, ...] = (40, 70)
    gamma: float = 0.1
    margin: float = 0.3
    epsilon: float = 0.1
    num_workers: int = 0
    seed: int = 0

    def scaled(self, epochs: int, reference: int = 120) -> "ReIDTrainConfig":
        """The same schedule compressed from ``reference`` (120) to ``epochs`` epochs."""
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
        f = epochs / reference
        d = asdict(self)
        d["warmup_epochs"] = max(1, round(self.warmup_epochs * f)) if self.warmup_epochs else 0
        d["milestones"] = tuple(max(1, round(m * f)) for m in self.milestones)
        return ReIDTrainConfig(**d)

    def short(self, epochs: int) -> "ReIDTrainConfig":
        """Schedule for short runs from scratch: warm-up over 10 % of ``epochs``, one ×0.1 decay at 70 %.

        (BoT's 40/70-of-120 milestones, compressed to a few epochs, decay the rate before a
        randomly initialised network has learned anything.)

        Examples
        --------
        >>> c = ReIDTrainConfig().short(20)
        >>> c.warmup_epochs, c.milestones
        (2, (14,))
        """
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
        d = asdict(self)
        d["warmup_epochs"] = max(1, epochs // 10)
        d["milestones"] = (max(1, int(0.7 * epochs)),)
        return ReIDTrainConfig(**d)

    def validate(self) -> None:
        for name in ("p", "k"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if self.k < 2:
            raise ValueError(f"k: the triplet loss needs at least 2 images per identity, got {self.k}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")


def lr_factor(epoch: int, config: ReIDTrainConfig) -> float:
    """Multiplier of the base learning rate at ``epoch`` (warm-up then step decay).

    Examples
    --------
    >>> c = ReIDTrainConfig()
    >>> [round(lr_factor(e, c), 3) for e in (0, 5, 10, 39, 40, 70)]
    [0.01, 0.505, 1.0, 1.0, 0.1, 0.01]
    """
    if epoch < config.warmup_epochs:
        alpha = epoch / config.warmup_epochs
        warm = config.warmup_factor * (1 - alpha) + alpha
    else:
        warm = 1.0
    return warm * config.gamma ** sum(epoch >= m for m in config.milestones)


class ReIDModule(_Base):
    """LightningModule: NFD network + ``L_sum`` + Adam with warm-up and step decay.

    Exposes ``model`` (the plain :class:`NFDReID`), ``task`` ("reid") and ``model_config``,
    as :func:`nlvision.engine.fit` requires.
    """

    task = TASK

    def __init__(self, model: NFDReID, config: ReIDTrainConfig | None = None) -> None:
        super().__init__()
        if not isinstance(model, NFDReID):
            raise TypeError(f"model: expected an NFDReID, got {type(model).__name__}")
        self.model = model
        self.train_config = config or ReIDTrainConfig()
        self.train_config.validate()
        self.loss = ReIDLoss(self.train_config.margin, self.train_config.epsilon)
        self.model_config = model.model_config()

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        images, labels, _, _ = batch
        out = self.model(images)
        losses = self.loss(out.features, out.logits, labels)
        acc = (out.logits.argmax(1) == labels).float().mean()
        self.log_dict({"train/loss": losses["loss"], "train/triplet": losses["triplet"], "train/ce": losses["ce"],
                       "train/acc": acc}, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(labels))
        return losses["loss"]

    def configure_optimizers(self):
        c = self.train_config
        opt = torch.optim.Adam(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: lr_factor(e, c))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


@torch.no_grad()
def extract_features(model: NFDReID, split: ReIDSplit | ReIDImageDataset | torch.Tensor, *, batch_size: int = 128,
                     size: tuple[int, int] | None = None) -> torch.Tensor:
    """Retrieval features of every image of a split (eval mode), as a (N, D) tensor.

    ``split`` may also be a (N, 3, H, W) tensor of images already at the model's size.
    """
    was_training = model.training
    model.eval()
    if isinstance(split, torch.Tensor):
        images = split
        feats = [model.embed(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    else:
        ds = split if isinstance(split, ReIDImageDataset) else ReIDImageDataset(split, size or (model.config.height, model.config.width_px))
        loader = DataLoader(ds, batch_size=batch_size, shuffle=False)
        feats = [model.embed(imgs) for imgs, *_ in loader]
    model.train(was_training)
    return torch.cat(feats) if feats else torch.zeros(0, model.feature_dim)


def make_train_loader(split: ReIDSplit, size: tuple[int, int], config: ReIDTrainConfig) -> DataLoader:
    """P×K DataLoader over the training split with flip + pad/crop."""
    if split.labels is None:
        raise ValueError("split: the training split has no labels")
    ds = ReIDImageDataset(split, size, train=True, seed=config.seed)
    sampler = PKSampler(split.labels, p=config.p, k=config.k, seed=config.seed)
    return DataLoader(ds, batch_sampler=sampler, num_workers=config.num_workers,
                      persistent_workers=config.num_workers > 0)


def train_reid(
    data: ReIDData,
    model_config: NFDConfig,
    train_config: ReIDTrainConfig,
    trainer_config,
    out_dir: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = None,
    resume: bool = False,
    run_config: dict | None = None,
) -> NFDReID:
    """Train a model on ``data.train`` with :func:`nlvision.engine.fit`; returns it in eval mode.

    ``OUT`` receives config.json, checkpoints/last.ckpt, model.safetensors and logs/.

    Raises
    ------
    ValueError
        For inconsistent configurations (e.g. fewer identities than ``p``).
    """
    from nlvision.engine import fit

    if model_config.num_classes != data.num_classes:
        model_config = NFDConfig(**{**asdict(model_config), "num_classes": data.num_classes})
    torch.manual_seed(trainer_config.seed)  # the weight initialisation is part of the seeded run
    model = build_reid_model(model_config, weights)
    module = ReIDModule(model, train_config)
    loader = make_train_loader(data.train, (model_config.height, model_config.width_px), train_config)
    run = {"data": data.summary(), "train": asdict(train_config), **(run_config or {})}
    fit(module, loader, None, config=trainer_config, out_dir=Path(out_dir), run_config=run, resume=resume)
    return model.eval()
