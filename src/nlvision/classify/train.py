"""Training of the seed-001 classifier with PyTorch Lightning (through :func:`nlvision.engine.fit`).

References
----------
Seed 001, section 3-4: frozen ImageNet backbone, only BatchNorm and the Dense layer train;
SGD with learning rate 0.01, batch size 64, categorical cross-entropy.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nlvision.atomic import write_json_atomic
from nlvision.classify.data import AugmentConfig, ClassificationData, augment_batch, load_data
from nlvision.classify.evaluate import evaluate_classifier, plot_confusion
from nlvision.classify.model import TASK, ClassifierModelConfig, ResNetClassifier, load_backbone_weights, to_tensor_images
from nlvision.engine import EpochSampler, TrainerConfig, epoch_seed, fit, is_rank_zero
from nlvision.nn.weights import weights_record

try:
    import pytorch_lightning as pl

    _Base = pl.LightningModule
except ImportError:  # Lightning is the [train] extra; train_classifier checks for it
    _Base = torch.nn.Module

__all__ = ["ClassifierModule", "ClassifierTrainConfig", "digits_recipe", "make_loaders", "train_classifier"]


@dataclass
class ClassifierTrainConfig:
    """Optimisation settings (seed 001, section 3-4).

    Parameters
    ----------
    lr : float
        SGD learning rate (seed: 0.01).
    momentum : float
        SGD momentum (Keras' default 0.0; the digits-from-scratch recipe uses 0.9).
    weight_decay : float
        L2 penalty (0.0 as in the seed).
    batch_size : int
        Mini-batch size per process (seed: 64).
    augment : bool
        Apply :func:`nlvision.classify.data.augment_batch` to training batches.
    augment_config : AugmentConfig
        Ranges of the augmentation.
    label_smoothing : float
        0.0: plain categorical cross-entropy as in the seed.
    cosine : bool
        Cosine learning-rate decay over the run, per step (off in the seed; on in the digits recipe).

    Raises
    ------
    ValueError
        Naming the field, for a non-positive learning rate or batch size, or a value out of range.

    References
    ----------
    Seed 001, section 3-4.

    Examples
    --------
    >>> ClassifierTrainConfig().lr, ClassifierTrainConfig().batch_size
    (0.01, 64)
    """

    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 64
    augment: bool = True
    augment_config: AugmentConfig = field(default_factory=AugmentConfig)
    label_smoothing: float = 0.0
    cosine: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.augment_config, dict):
            self.augment_config = AugmentConfig(**self.augment_config)
        for name in ("lr", "momentum", "weight_decay", "label_smoothing"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ValueError(f"{name}: expected a finite number, got {v!r}")
        if not (self.lr > 0):
            raise ValueError(f"lr: expected a positive learning rate, got {self.lr!r}")
        if not (0.0 <= self.momentum < 1.0):
            raise ValueError(f"momentum: expected a value in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: expected >= 0, got {self.weight_decay!r}")
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {self.batch_size!r}")
        if not (0.0 <= self.label_smoothing < 1.0):
            raise ValueError(f"label_smoothing: expected a value in [0, 1), got {self.label_smoothing!r}")


class ClassifierModule(_Base):
    """LightningModule training a :class:`~nlvision.classify.model.ResNetClassifier` with SGD and cross-entropy.

    Batches are ``(uint8 images (B, H, W, 3), int64 labels)``; augmentation runs on the batch,
    on the training device, from a generator re-seeded every batch from (seed, epoch, rank, batch) so a
    resumed run replays the same augmentation. Exposes ``model``, ``task`` and ``model_config``
    for :func:`nlvision.engine.fit`.

    Parameters
    ----------
    model_config : ClassifierModelConfig
        Architecture.
    train_config : ClassifierTrainConfig, optional
        Optimisation settings.
    seed : int
        The run's seed.

    Examples
    --------
    >>> m = ClassifierModule(ClassifierModelConfig("resnet18", width=4, upsample_steps=0))
    >>> m.task, m.model_config["backbone"]
    ('classify', 'resnet18')
    """

    def __init__(self, model_config: ClassifierModelConfig, train_config: ClassifierTrainConfig | None = None, seed: int = 0) -> None:
        super().__init__()
        self.model = ResNetClassifier(model_config)
        self.train_config = train_config or ClassifierTrainConfig()
        self.task = TASK
        self.seed = int(seed)
        self._gen: torch.Generator | None = None

    @property
    def model_config(self) -> dict[str, Any]:
        """The architecture as a dict (saved in checkpoints)."""
        return self.model.config.to_dict()

    def _generator(self, device: torch.device, batch_idx: int) -> torch.Generator:
        """The augmentation generator, seeded from (seed, epoch, rank, batch): a resumed run replays it."""
        if self._gen is None or self._gen.device != device:
            self._gen = torch.Generator(device=device)
        self._gen.manual_seed(epoch_seed(self.seed + 1, self.current_epoch, int(getattr(self, "global_rank", 0)), batch_idx))
        return self._gen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of (B, 3, H, W) images in [0, 1]."""
        return self.model(x)

    def training_step(self, batch, batch_idx: int):
        """Cross-entropy on an augmented batch; logs ``train_loss`` and ``train_acc``."""
        x, y = batch
        x = to_tensor_images(x)
        if self.train_config.augment:
            x = augment_batch(x, self.train_config.augment_config, self._generator(x.device, batch_idx))
        logits = self.model(x)
        loss = torch.nn.functional.cross_entropy(logits, y, label_smoothing=self.train_config.label_smoothing)
        acc = (logits.argmax(1) == y).float().mean()
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, sync_dist=True)
        self.log("train_acc", acc, prog_bar=True, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx: int):
        """Loss and accuracy on the validation (test) split: ``val_loss``, ``val_acc``."""
        x, y = batch
        logits = self.model(to_tensor_images(x))
        loss = torch.nn.functional.cross_entropy(logits, y)
        self.log("val_loss", loss, prog_bar=True, sync_dist=True)
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True, sync_dist=True)

    def configure_optimizers(self):
        """SGD on the trainable parameters, with optional per-step cosine decay."""
        tc = self.train_config
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=tc.lr, momentum=tc.momentum, weight_decay=tc.weight_decay)
        if not tc.cosine:
            return opt
        total = max(1, int(self.trainer.estimated_stepping_batches))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def make_loaders(data: ClassificationData, batch_size: int, seed: int = 0):
    """Training and test DataLoaders over ``uint8`` tensors.

    The training order comes from :class:`nlvision.engine.EpochSampler` (a function of seed and
    epoch only, so a resumed run sees the same batches).

    Parameters
    ----------
    data : ClassificationData
        The split.
    batch_size : int
        Training batch size (the test loader uses at least 256).
    seed : int
        The run's seed.

    Returns
    -------
    (train_loader, test_loader)
        DataLoaders yielding ``(uint8 (B, H, W, 3), int64 (B,))``.

    Examples
    --------
    >>> from nlvision.classify.data import load_digits
    >>> tr, te = make_loaders(load_digits(image_size=8), 64)
    >>> next(iter(tr))[0].shape
    torch.Size([64, 8, 8, 3])
    """
    from torch.utils.data import DataLoader, TensorDataset

    train = TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
    test = TensorDataset(torch.from_numpy(data.x_test), torch.from_numpy(data.y_test))
    # drop_last avoids a 1-sample batch in the head's BatchNorm
    drop = len(train) > batch_size
    return (
        DataLoader(train, batch_size=batch_size, sampler=EpochSampler(train, seed=seed), drop_last=drop),
        DataLoader(test, batch_size=max(batch_size, 256), shuffle=False),
    )


def train_classifier(
    data: str | ClassificationData,
    out_dir: str | os.PathLike,
    *,
    model_config: ClassifierModelConfig | None = None,
    train_config: ClassifierTrainConfig | None = None,
    trainer_config: TrainerConfig | None = None,
    weights: str | os.PathLike | None = None,
    resume: bool = False,
) -> dict[str, Any] | None:
    """Train a classifier and evaluate it on the test split, on the training devices.

    Writes ``OUT/config.json`` (what ran: resolved devices and precision, absolute ``--weights``
    path and SHA-256), ``OUT/checkpoints/last.ckpt``, ``OUT/model.safetensors``, ``OUT/logs/``
    (CSV with learning rate and hyper-parameters), ``OUT/metrics.json`` and ``OUT/confusion.png``.
    In a multi-process run (``strategy="ddp"``) only rank zero writes and returns the result.

    Parameters
    ----------
    data : str or ClassificationData
        A data specification (``digits``, ``cifar10:PATH``, ``folder:PATH``) or loaded data.
    out_dir : path-like
        Run folder.
    model_config : ClassifierModelConfig
        Architecture; ``num_classes``/``classes``/``image_size`` are taken from the data.
    train_config : ClassifierTrainConfig
        Optimisation settings.
    trainer_config : nlvision.engine.TrainerConfig
        Epochs, devices, strategy, precision, seed.
    weights : path-like, optional
        Backbone weights (e.g. ImageNet) in any packaging
        :func:`~nlvision.classify.model.load_backbone_weights` accepts, loaded before training.
    resume : bool
        Continue an interrupted run exactly from ``OUT/checkpoints/last.ckpt``; every option but
        ``epochs`` and the device options must be the run's (else ValueError).

    Returns
    -------
    dict or None
        Test metrics (see :func:`~nlvision.classify.evaluate.classification_metrics`) plus
        ``train_seconds``, ``epochs``, ``backbone``, ``data``, ``trainable_parameters``, ``out``,
        ``devices`` (resolved); None on ranks other than zero.

    Raises
    ------
    ValueError
        For bad data, options that do not fit this machine, missing weights, or a resume that
        changes the run's settings. Nothing is written before these checks.
    nlvision.engine.MissingExtraError
        Without Lightning (the ``[train]`` extra).

    References
    ----------
    Seed 001, sections 3-2 to 3-4.

    Examples
    --------
    A one-epoch run takes seconds (tested in ``tests/classify``), so it is skipped here:

    >>> import tempfile
    >>> from nlvision.classify.data import load_digits
    >>> d = load_digits(image_size=8)
    >>> d.x_test, d.y_test = d.x_test[:40], d.y_test[:40]
    >>> r = train_classifier(d, tempfile.mkdtemp(),  # doctest: +SKIP
    ...     model_config=ClassifierModelConfig("resnet18", width=4, upsample_steps=0, freeze_backbone=False),
    ...     train_config=ClassifierTrainConfig(batch_size=32),
    ...     trainer_config=TrainerConfig(epochs=1, limit_train_batches=2, accelerator="cpu", devices="1", progress=False))
    >>> r["n"], 0.0 <= r["accuracy"] <= 1.0  # doctest: +SKIP
    (40, True)
    """
    from nlvision.engine import require_lightning

    require_lightning("classify train")
    tcfg = trainer_config or TrainerConfig()
    trc = train_config or ClassifierTrainConfig()
    mc = model_config or ClassifierModelConfig()
    resolved = tcfg.resolve()
    if weights is not None and not Path(weights).is_file():
        raise ValueError(f"--weights: no such file {weights}")
    if isinstance(data, str):
        data = load_data(data, image_size=mc.image_size, seed=0)
    if not isinstance(data, ClassificationData):
        raise TypeError(f"data: expected a data specification or ClassificationData, got {type(data).__name__}")
    mc = ClassifierModelConfig(**{**mc.to_dict(), "num_classes": data.num_classes, "classes": list(data.classes),
                                  "image_size": data.image_size[0]})
    torch.manual_seed(tcfg.seed)  # the initial weights depend on the seed only
    module = ClassifierModule(mc, trc, seed=tcfg.seed)
    if weights is not None:
        load_backbone_weights(module.model, weights)
    train_loader, test_loader = make_loaders(data, trc.batch_size, seed=tcfg.seed)
    run_config: dict[str, Any] = {"data": data.name, "n_train": int(len(data.y_train)), "n_test": int(len(data.y_test)),
                                  "train": asdict(trc)}
    if weights is not None or not resume:
        run_config["weights"] = weights_record(weights)
    t0 = time.perf_counter()
    trainer = fit(module, train_loader, test_loader, config=tcfg, out_dir=out_dir, run_config=run_config, resume=resume)
    seconds = time.perf_counter() - t0
    model = module.model
    # the test pass runs through Lightning on the training devices; rank zero gets every prediction
    result = evaluate_classifier(model, data.x_test, data.y_test, classes=data.classes, batch_size=max(trc.batch_size, 256),
                                 trainer=trainer)
    if result is None or not is_rank_zero(trainer):
        return None
    out = Path(out_dir)
    plot_confusion(result["confusion"], data.classes, out / "confusion.png", title=f"{mc.backbone} on {data.name}")
    result.update({"train_seconds": seconds, "epochs": tcfg.epochs, "backbone": mc.backbone, "data": data.name,
                   "trainable_parameters": model.trainable_parameters(), "out": str(out),
                   "devices": {k: resolved[k] for k in ("accelerator", "devices", "world_size", "strategy", "precision")}})
    for logger in trainer.loggers:  # TensorBoard's hparams view: the run's test accuracy
        logger.log_metrics({"hp_metric": result["accuracy"], "test_acc": result["accuracy"]}, step=trainer.global_step)
        logger.save()
    write_json_atomic(out / "metrics.json", {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()})
    return result


def digits_recipe() -> tuple[ClassifierModelConfig, ClassifierTrainConfig]:
    """The CPU recipe for scikit-learn's digits trained from scratch (demo and benchmark).

    ResNet-18 layout with a 16-channel stem (0.70 M parameters), 32×32 inputs without the
    seed's upsampling, all layers trained (nothing pretrained to freeze), SGD lr 0.05 with
    momentum 0.9, weight decay 5e-4 and cosine decay, batch 64, no horizontal flip (a flipped
    digit is another glyph). Reaches ≥ 98 % test accuracy in 20 epochs (see docs/classify.md).

    Returns
    -------
    (ClassifierModelConfig, ClassifierTrainConfig)
        Architecture and optimisation settings.

    Examples
    --------
    >>> mc, tc = digits_recipe()
    >>> mc.backbone, mc.width, mc.upsample_steps, tc.lr, tc.augment_config.flip
    ('resnet18', 16, 0, 0.05, False)
    """
    mc = ClassifierModelConfig("resnet18", image_size=32, upsample_steps=0, width=16, freeze_backbone=False)
    tc = ClassifierTrainConfig(lr=0.05, momentum=0.9, weight_decay=5e-4, cosine=True, batch_size=64,
                     augment_config=AugmentConfig(flip=False))
    return mc, tc
