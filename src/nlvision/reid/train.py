"""Training of the re-identification networks with the BoT recipe, on PyTorch Lightning.

Loss: ``L_sum = L_tri-hard + L_lsr`` (seed eq. 15; margin 0.3, ε = 0.1) for the BoT baseline;
for AlignedReID++ the global batch-hard triplet plus the triplet on the aligned local distance
(DMLI) of the same mined pairs, plus the label-smoothed cross-entropy
(:class:`nlvision.nn.losses.AlignedReIDLoss`). Optimiser: Adam, learning rate 3.5e-4, weight
decay 5e-4, linear warm-up over the first 10 epochs from ``warmup_factor × lr``, then ×0.1 at
epochs 40 and 70 (120 epochs) — BoT's schedule. For short runs :meth:`ReidTrainConfig.scaled`
and :meth:`ReidTrainConfig.short` shrink the schedule.

Batches are P × K (16 × 4) identities × images from :class:`nlvision.reid.data.PKSampler`.

References
----------
Seed 000, eqs. 11–15. Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person
Re-identification", CVPRW 2019. Luo et al., "AlignedReID++", Pattern Recognition 2019.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from nlvision.nn.losses import AlignedReIDLoss, ReIDLoss
from nlvision.reid.data import PKSampler, ReIDData, ReIDImageDataset, ReIDSplit
from nlvision.reid.model import TASK, ReidModelConfig, ReidNet, build_reid_model

try:
    import pytorch_lightning as pl

    _Base = pl.LightningModule
except ImportError:  # pragma: no cover
    _Base = torch.nn.Module

__all__ = ["ReidTrainConfig", "ReidModule", "extract_features", "train_reid", "lr_factor"]


@dataclass
class ReidTrainConfig:
    """Training hyper-parameters (BoT defaults).

    Parameters
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

    Examples
    --------
    >>> c = ReidTrainConfig(margin=float("nan"))
    >>> try:
    ...     c.validate()
    ... except ValueError as e:
    ...     print(e)
    margin: expected a finite non-negative number, got nan
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

    def scaled(self, epochs: int, reference: int = 120) -> "ReidTrainConfig":
        """The same schedule compressed from ``reference`` (120) to ``epochs`` epochs."""
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
        f = epochs / reference
        d = asdict(self)
        d["warmup_epochs"] = max(1, round(self.warmup_epochs * f)) if self.warmup_epochs else 0
        d["milestones"] = tuple(max(1, round(m * f)) for m in self.milestones)
        return ReidTrainConfig(**d)

    def short(self, epochs: int) -> "ReidTrainConfig":
        """Schedule for short runs from scratch: warm-up over 10 % of ``epochs``, one ×0.1 decay at 70 %.

        (BoT's 40/70-of-120 milestones, compressed to a few epochs, decay the rate before a
        randomly initialised network has learned anything.)

        Examples
        --------
        >>> c = ReidTrainConfig().short(20)
        >>> c.warmup_epochs, c.milestones
        (2, (14,))
        """
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
        d = asdict(self)
        d["warmup_epochs"] = max(1, epochs // 10)
        d["milestones"] = (max(1, int(0.7 * epochs)),)
        return ReidTrainConfig(**d)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field (non-finite numbers included)."""
        for name in ("p", "k"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if self.k < 2:
            raise ValueError(f"k: the triplet loss needs at least 2 images per identity, got {self.k}")

        def num(name: str, lo: float, hi: float = math.inf, lo_open: bool = False) -> None:
            v = getattr(self, name)
            ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
            if not ok:
                raise ValueError(f"{name}: expected a finite number {'>' if lo_open else '>='} {lo:g}"
                                 + (f" and <= {hi:g}" if hi != math.inf else "") + f", got {v!r}")

        num("lr", 0.0, lo_open=True)
        num("weight_decay", 0.0)
        num("warmup_factor", 0.0, 1.0)
        num("gamma", 0.0, 1.0, lo_open=True)
        if isinstance(self.margin, bool) or not isinstance(self.margin, (int, float)) or not math.isfinite(self.margin) or self.margin < 0:
            raise ValueError(f"margin: expected a finite non-negative number, got {self.margin!r}")
        num("epsilon", 0.0, 1.0)
        if not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs: expected a non-negative int, got {self.warmup_epochs!r}")
        if not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise ValueError(f"num_workers: expected a non-negative int, got {self.num_workers!r}")


def lr_factor(epoch: int, config: ReidTrainConfig) -> float:
    """Multiplier of the base learning rate at ``epoch`` (warm-up then step decay).

    Examples
    --------
    >>> c = ReidTrainConfig()
    >>> [round(lr_factor(e, c), 3) for e in (0, 5, 10, 39, 40, 70)]
    [0.01, 0.505, 1.0, 1.0, 0.1, 0.01]
    """
    if epoch < config.warmup_epochs:
        alpha = epoch / config.warmup_epochs
        warm = config.warmup_factor * (1 - alpha) + alpha
    else:
        warm = 1.0
    return warm * config.gamma ** sum(epoch >= m for m in config.milestones)


class ReidModule(_Base):
    """LightningModule: re-id network + its loss + Adam with warm-up and step decay.

    Exposes ``model`` (the plain :class:`ReidNet`), ``task`` ("reid") and ``model_config``,
    as :func:`nlvision.engine.fit` requires.

    Parameters
    ----------
    model : ReidNet
        Network to train (BoT or AlignedReID++).
    config : ReidTrainConfig, optional
        Hyper-parameters.

    Examples
    --------
    >>> from nlvision.reid.model import ReidModelConfig, ReidNet
    >>> m = ReidNet(ReidModelConfig(num_classes=2, backbone="resnet18", width=4, height=64, width_px=32))
    >>> type(ReidModule(m).loss).__name__
    'ReIDLoss'
    """

    task = TASK

    def __init__(self, model: ReidNet, config: ReidTrainConfig | None = None) -> None:
        super().__init__()
        if not isinstance(model, ReidNet):
            raise TypeError(f"model: expected an ReidNet, got {type(model).__name__}")
        self.model = model
        self.train_config = config or ReidTrainConfig()
        self.train_config.validate()
        c = self.train_config
        self.loss = ReIDLoss(c.margin, c.epsilon) if model.config.arch == "bot" else AlignedReIDLoss(c.margin, c.epsilon)
        self.model_config = model.model_config()

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        images, labels, _, _ = batch
        out = self.model(images)
        if out.local is None:
            losses = self.loss(out.features, out.logits, labels)
        else:
            losses = self.loss(out.features, out.logits, labels, out.local)
        acc = (out.logits.argmax(1) == labels).float().mean()
        self.log_dict({f"train/{k}": v for k, v in losses.items()} | {"train/acc": acc},
                      prog_bar=True, on_step=True, on_epoch=True, batch_size=len(labels))
        return losses["loss"]

    def configure_optimizers(self):
        c = self.train_config
        opt = torch.optim.Adam(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: lr_factor(e, c))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


@torch.no_grad()
def extract_features(model: ReidNet, split: ReIDSplit | ReIDImageDataset | torch.Tensor, *, batch_size: int = 128,
                     size: tuple[int, int] | None = None) -> torch.Tensor:
    """Retrieval features of every image of a split (eval mode), as a (N, D) tensor.

    Parameters
    ----------
    model : ReidNet
        Trained model (its :meth:`~ReidNet.embed`: BoT features after the neck, L2-normalised).
    split : ReIDSplit, ReIDImageDataset or Tensor (N, 3, H, W)
        Images; a tensor must already be at the model's input size.
    batch_size : int
        Images per forward pass (128).
    size : (int, int), optional
        Input size (default: the model's).

    Returns
    -------
    Tensor (N, D)

    Examples
    --------
    >>> from nlvision.reid.model import ReidModelConfig, ReidNet
    >>> m = ReidNet(ReidModelConfig(num_classes=2, backbone="resnet18", width=4, height=64, width_px=32))
    >>> tuple(extract_features(m, torch.rand(3, 3, 64, 32)).shape)
    (3, 32)
    """
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    if isinstance(split, torch.Tensor):
        images = split
        feats = [model.embed(images[i:i + batch_size].to(dev)).cpu() for i in range(0, len(images), batch_size)]
    else:
        ds = split if isinstance(split, ReIDImageDataset) else ReIDImageDataset(split, size or (model.config.height, model.config.width_px))
        loader = DataLoader(ds, batch_size=batch_size, shuffle=False)
        feats = [model.embed(imgs.to(dev)).cpu() for imgs, *_ in loader]
    model.train(was_training)
    return torch.cat(feats) if feats else torch.zeros(0, model.feature_dim)


def _seed_worker_augmentation(worker_id: int) -> None:
    """Give each DataLoader worker its own flip/crop stream (a copied generator would make every
    worker replay the same transforms); torch's per-worker seed derives from the run's seed."""
    info = torch.utils.data.get_worker_info()
    if info is not None and isinstance(info.dataset, ReIDImageDataset):
        info.dataset.generator.manual_seed(info.seed % (1 << 63))


def make_train_loader(split: ReIDSplit, size: tuple[int, int], config: ReidTrainConfig) -> DataLoader:
    """P×K DataLoader over the training split with flip + pad/crop.

    In-process (``num_workers=0``, the default) the transforms come from one generator seeded by
    ``config.seed``, which the engine saves in every checkpoint (exact resume); worker processes
    each reseed their copy from torch's per-worker seed.
    """
    if split.labels is None:
        raise ValueError("split: the training split has no labels")
    ds = ReIDImageDataset(split, size, train=True, seed=config.seed)
    sampler = PKSampler(split.labels, p=config.p, k=config.k, seed=config.seed)
    workers = config.num_workers
    return DataLoader(ds, batch_sampler=sampler, num_workers=workers, persistent_workers=workers > 0,
                      worker_init_fn=_seed_worker_augmentation if workers > 0 else None)


def train_reid(
    data: ReIDData,
    out_dir: str | os.PathLike,
    *,
    model_config: ReidModelConfig,
    train_config: ReidTrainConfig,
    trainer_config,
    weights: str | os.PathLike | None = None,
    resume: bool = False,
) -> ReidNet:
    """Train a re-id model on ``data.train`` with :func:`nlvision.engine.fit`.

    ``out_dir`` receives config.json, checkpoints/last.ckpt, model.safetensors and logs/. The
    weight initialisation, the sampler, the transforms and the augmentation are all seeded
    (``trainer_config.seed`` and ``train_config.seed``): the same call gives the same weights on
    CPU.

    Parameters
    ----------
    data : ReIDData
        Splits (see :func:`nlvision.reid.data.load_reid_data`).
    out_dir : path-like
        Run folder.
    model_config : ReidModelConfig
        Architecture (``num_classes`` is set from the data).
    train_config : ReidTrainConfig
        Hyper-parameters.
    trainer_config : nlvision.engine.TrainerConfig
        Lightning trainer options (epochs, devices, precision, seed, ...).
    weights : path-like, optional
        ImageNet backbone weights (torchvision layout).
    resume : bool
        Continue from ``out_dir/checkpoints/last.ckpt``.

    Returns
    -------
    ReidNet
        The trained model in evaluation mode.

    Raises
    ------
    ValueError
        For inconsistent configurations (e.g. fewer identities than ``p``) or a missing
        checkpoint with ``resume``.

    References
    ----------
    Seed 000, eqs. 11–15; BoT (Luo et al. 2019).

    Examples
    --------
    >>> import tempfile
    >>> from nlvision.engine import TrainerConfig
    >>> from nlvision.reid.data import synthetic_reid_data
    >>> data = synthetic_reid_data(num_train_ids=4, num_test_ids=2, num_cameras=2, height=32, width=16)
    >>> m = train_reid(data, tempfile.mkdtemp(), model_config=ReidModelConfig(backbone="resnet18", width=4,
    ...                height=32, width_px=16), train_config=ReidTrainConfig(p=2, k=2),
    ...                trainer_config=TrainerConfig(epochs=1, progress=False, accelerator="cpu",
    ...                devices="1", limit_train_batches=1))
    >>> m.config.num_classes
    4
    """
    from nlvision.engine import fit

    if not isinstance(model_config, ReidModelConfig):
        raise TypeError(f"model_config: expected a ReidModelConfig, got {type(model_config).__name__}")
    if not isinstance(train_config, ReidTrainConfig):
        raise TypeError(f"train_config: expected a ReidTrainConfig, got {type(train_config).__name__}")
    train_config.validate()
    if data.num_classes < train_config.p:
        raise ValueError(f"p: {train_config.p} identities per batch but the training split has {data.num_classes}")
    if model_config.num_classes != data.num_classes:
        model_config = ReidModelConfig(**{**asdict(model_config), "num_classes": data.num_classes})
    model_config.validate()
    torch.manual_seed(trainer_config.seed)  # the weight initialisation is part of the seeded run
    model = build_reid_model(model_config, weights)
    module = ReidModule(model, train_config)
    loader = make_train_loader(data.train, (model_config.height, model_config.width_px), train_config)
    run = {"data": data.summary(), "data_spec": data.spec, "train": asdict(train_config),
           "weights": str(Path(weights).resolve()) if weights is not None else None}
    fit(module, loader, None, config=trainer_config, out_dir=Path(out_dir), run_config=run, resume=resume)
    return model.eval()
