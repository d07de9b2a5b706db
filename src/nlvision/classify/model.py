"""The seed-001 classifier: upsampling → ImageNet normalisation → ResNet → GlobalMaxPool → BN → Dropout → Linear.

References
----------
Seed 001, section 3-3 (the Keras model summary): ``UpSampling2D`` ×3 (32 → 64 → 128 → 256),
the ResNet50 pre-processing, the ResNet50 backbone (frozen), ``GlobalMaxPooling2D``,
``BatchNormalization``, ``Dropout(0.3)`` and a ``Dense(10, softmax)`` classifier. With a
2048-channel backbone and 10 classes the trainable head has 2·2048 + 2048·10 + 10 = 24,586
parameters, the number in the summary.
"""

from __future__ import annotations

import os
from pathlib import Path
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from nlvision.nn.resnet import RESNET_SPECS, ResNet, build_resnet

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "TASK", "ClassifierModelConfig", "ResNetClassifier", "load_backbone_weights",
           "load_classifier_model", "to_tensor_images"]

#: Task name stored in classification checkpoints.
TASK = "classify"

#: ImageNet channel statistics of torchvision's pretrained ResNets (RGB, images in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ClassifierModelConfig:
    """Architecture of :class:`ResNetClassifier` (saved in every checkpoint).

    Parameters
    ----------
    backbone : str
        ``resnet18`` .. ``resnet152`` (seed: ``resnet50``).
    num_classes : int
        Classes of the ``Dense`` head (seed: 10).
    classes : list of str
        Class names (for reports and ``predict``); defaults to ``"0"``, ``"1"``, ...
    image_size : int
        Side of the input images before upsampling (seed: 32).
    upsample_steps : int
        Number of ×2 nearest-neighbour upsamplings (seed: 3, 32 → 256).
    dropout : float
        Dropout rate before the classifier (seed: 0.3).
    freeze_backbone : bool
        Keep the backbone's weights and BN statistics fixed (seed: True); only the head's BN and
        ``Dense`` layer train. False is the ``--finetune`` mode.
    width : int
        Stem width of the backbone (64 in every standard ResNet; smaller values give cheaper
        backbones for CPU runs from scratch).
    bn_eps, bn_momentum : float
        Head BatchNorm settings; Keras' defaults (epsilon 1e-3, moving-average momentum 0.99,
        i.e. PyTorch ``momentum=0.01``).

    Raises
    ------
    ValueError
        Naming the field, for an unknown backbone or an out-of-range value.

    References
    ----------
    Seed 001, section 3-3 (the Keras model summary).

    Examples
    --------
    >>> ClassifierModelConfig("resnet18", num_classes=3).classes
    ['0', '1', '2']
    """

    backbone: str = "resnet50"
    num_classes: int = 10
    classes: list[str] = field(default_factory=list)
    image_size: int = 32
    upsample_steps: int = 3
    dropout: float = 0.3
    freeze_backbone: bool = True
    width: int = 64
    bn_eps: float = 1e-3
    bn_momentum: float = 0.01

    def __post_init__(self) -> None:
        if self.backbone not in RESNET_SPECS:
            raise ValueError(f"backbone: unknown backbone {self.backbone!r}; valid: {list(RESNET_SPECS)}")
        for name in ("num_classes", "image_size", "width"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes: expected at least 2, got {self.num_classes}")
        if not isinstance(self.upsample_steps, int) or not (0 <= self.upsample_steps <= 5):
            raise ValueError(f"upsample_steps: expected an int in [0, 5], got {self.upsample_steps!r}")
        if not (0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout: expected a value in [0, 1), got {self.dropout!r}")
        self.classes = [str(c) for c in self.classes] or [str(i) for i in range(self.num_classes)]
        if len(self.classes) != self.num_classes:
            raise ValueError(f"classes: expected {self.num_classes} names, got {len(self.classes)}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClassifierModelConfig":
        """Rebuild from :meth:`to_dict` output; unknown keys are an error.

        Parameters
        ----------
        d : mapping
            Field values.

        Returns
        -------
        ClassifierModelConfig
            The configuration.

        Raises
        ------
        ValueError
            For unknown keys or bad values.
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"config: expected a mapping of classifier settings, got {type(d).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"config: unknown classifier keys {unknown}; valid: {sorted(known)}")
        return cls(**dict(d))

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict.

        Returns
        -------
        dict
            Field name → value.
        """
        return asdict(self)


class ResNetClassifier(nn.Module):
    """Seed 001's transfer-learning classifier (PyTorch version of its Keras model).

    ``forward`` takes (B, 3, H, W) RGB images in [0, 1] and returns logits (B, num_classes);
    :meth:`predict_proba` applies the softmax of the seed's ``Dense`` layer (the loss works on
    logits for numerical stability: softmax + categorical cross-entropy in one op).

    Parameters
    ----------
    config : ClassifierModelConfig
        Architecture.

    References
    ----------
    Seed 001, section 3-3; He et al., "Deep residual learning for image recognition", CVPR 2016.

    Examples
    --------
    >>> m = ResNetClassifier(ClassifierModelConfig("resnet18", num_classes=3, width=8, upsample_steps=1)).eval()
    >>> m(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 3])
    """

    def __init__(self, config: ClassifierModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ClassifierModelConfig()
        c = self.config
        self.backbone: ResNet = build_resnet(c.backbone, with_fc=False, width=c.width)
        self.pool = nn.AdaptiveMaxPool2d(1)
        feat = self.backbone.out_channels
        self.bn = nn.BatchNorm1d(feat, eps=c.bn_eps, momentum=c.bn_momentum)
        self.dropout = nn.Dropout(c.dropout)
        self.fc = nn.Linear(feat, c.num_classes)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.set_backbone_frozen(c.freeze_backbone)

    def set_backbone_frozen(self, frozen: bool) -> None:
        """Freeze (weights fixed, BN in inference mode, like Keras ``trainable=False``) or unfreeze."""
        self.config.freeze_backbone = bool(frozen)
        for p in self.backbone.parameters():
            p.requires_grad_(not frozen)
        self.backbone.train(self.training and not frozen)

    def train(self, mode: bool = True) -> "ResNetClassifier":
        super().train(mode)
        if self.config.freeze_backbone:
            self.backbone.eval()
        return self

    def preprocess(self, x: Tensor) -> Tensor:
        """Upsample ×2 ``upsample_steps`` times (nearest) and normalise with ImageNet statistics."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected shape (B, 3, H, W) with RGB values in [0, 1], got {tuple(x.shape)}")
        for _ in range(self.config.upsample_steps):
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def features(self, x: Tensor) -> Tensor:
        """Globally max-pooled backbone features (B, C)."""
        return torch.flatten(self.pool(self.backbone.forward_features(self.preprocess(x))), 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.bn(self.features(x))))

    @torch.no_grad()
    def predict_proba(self, x: Tensor) -> Tensor:
        """Class probabilities (softmax of the logits), in evaluation mode."""
        was = self.training
        self.eval()
        try:
            return torch.softmax(self.forward(x).float(), dim=1)
        finally:
            self.train(was)

    def trainable_parameters(self) -> int:
        """Number of parameters that receive gradients."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def load_backbone_weights(model: ResNetClassifier, path: str | os.PathLike) -> ResNetClassifier:
    """Load a torchvision-layout ResNet state dict (e.g. ImageNet weights) into ``model.backbone``.

    Any packaging :func:`nlvision.nn.weights.read_state_dict` accepts works (safetensors, plain
    state dicts, ``{"model": ...}``, ``{"state_dict": ...}``, ``module.`` prefixes). The ``fc.*``
    entries (the ImageNet head) are dropped; every other key must match the backbone exactly
    (strict), so a checkpoint of another architecture fails with the list of missing and
    unexpected keys. Files saved from a whole classifier (keys ``backbone.*``) or a classify
    Lightning checkpoint (``model.backbone.*``) work too.

    Parameters
    ----------
    model : ResNetClassifier
        Target classifier.
    path : path-like
        Weights file.

    Returns
    -------
    ResNetClassifier
        ``model``, with the backbone loaded.

    Raises
    ------
    ValueError
        For an unreadable file or mismatching keys/shapes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nlvision.nn.resnet import resnet18
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r18.pth"
    >>> torch.save({"model": resnet18(width=4).state_dict()}, p)  # torchvision training-script layout
    >>> m = load_backbone_weights(ResNetClassifier(ClassifierModelConfig("resnet18", width=4)), p)
    """
    from nlvision.nn.weights import load_weights, read_state_dict

    state = read_state_dict(path)
    for prefix in ("model.backbone.", "backbone."):
        if any(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            break
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        load_weights(model.backbone, state, strict=True)
    except ValueError as exc:
        raise ValueError(f"{path}: not {model.config.backbone} weights: {exc}") from None
    return model


def to_tensor_images(x: Tensor) -> Tensor:
    """(B, H, W, 3) ``uint8`` → (B, 3, H, W) float in [0, 1], on the input's device.

    Parameters
    ----------
    x : torch.Tensor
        ``uint8`` batch, channels last.

    Returns
    -------
    torch.Tensor
        Float batch, channels first.

    Raises
    ------
    ValueError
        For another dtype or shape.

    Examples
    --------
    >>> to_tensor_images(torch.full((1, 2, 2, 3), 255, dtype=torch.uint8)).shape
    torch.Size([1, 3, 2, 2])
    """
    if not isinstance(x, Tensor) or x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"x: expected a (B, H, W, 3) uint8 tensor, got {getattr(x, 'dtype', type(x).__name__)} "
                         f"{tuple(getattr(x, 'shape', ()))}")
    return x.permute(0, 3, 1, 2).float().div_(255.0)


def load_classifier_model(path: str | os.PathLike) -> ResNetClassifier:
    """Rebuild a trained :class:`ResNetClassifier` from a checkpoint, in eval mode.

    Parameters
    ----------
    path : path-like
        A run folder (its ``model.safetensors`` is used) or a ``.safetensors`` file written by
        ``classify train`` (:func:`nlvision.nn.weights.save_checkpoint` with task ``classify``).

    Returns
    -------
    ResNetClassifier
        The model, on the CPU, in eval mode.

    Raises
    ------
    ValueError
        For a missing file, a checkpoint of another task, bad metadata, or weights that do not
        match the architecture recorded in the checkpoint (missing/unexpected keys listed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nlvision.nn.weights import save_checkpoint
    >>> cfg = ClassifierModelConfig("resnet18", num_classes=2, width=4, upsample_steps=0)
    >>> p = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "m.safetensors", ResNetClassifier(cfg),
    ...                     task=TASK, config=cfg.to_dict())
    >>> load_classifier_model(p).config.backbone
    'resnet18'
    """
    from nlvision.nn.weights import load_checkpoint, load_weights

    p = Path(path)
    if p.is_dir():
        p = p / "model.safetensors"
    state, cfg = load_checkpoint(p, task=TASK)
    try:
        config = ClassifierModelConfig.from_dict(cfg)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{p}: bad classifier configuration: {exc}") from None
    model = ResNetClassifier(config)
    try:
        load_weights(model, state, strict=True)
    except ValueError as exc:
        raise ValueError(f"{p}: checkpoint does not match architecture {config.backbone}: {exc}") from None
    return model.eval()
