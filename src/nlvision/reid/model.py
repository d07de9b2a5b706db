"""NFD-ResNet50: the re-identification network of the seed (Fig. 1) with its ablation flags.

* Backbone: ResNet-50 (:mod:`nlvision.nn.resnet`, torchvision parameter names) with the last
  spatial down-sampling removed (``last_stride=1``) and without its pooling / classifier.
* NFD: one non-local feature-denoising block (:class:`nlvision.nn.non_local.NonLocalBlock`)
  after the last residual block of each of res2–res5 (``layer1`` .. ``layer4``), ``nfd=True``.
* Head (BoT): global average pooling → feature ``f_t`` (triplet loss) → BatchNorm "neck"
  (the seed's feature reduction and batch normalisation; bias frozen at 0) → ``f_i`` → linear
  classifier without bias (cross-entropy). Retrieval uses ``f_i`` (``test_feature="after"``).
* Training-time input augmentation (``augment``): ``"cre"`` (channel-level random erasing, the
  seed's defense), ``"re"`` (plain random erasing), ``"grayscale"`` (GGPR baseline) or
  ``"none"``; it is a module of the network that is active in training mode only.
* ImageNet normalisation is the first layer, so the network takes [0, 1] RGB images.

``forward`` returns a :class:`ReIDOutput` (features, bn_features, logits) in both modes.

CPU option: ``backbone="resnet18"`` / ``width=16`` and a smaller input give the reduced
configuration used by the synthetic robustness table (the architecture — last stride 1, four
NFD blocks, BNNeck — is unchanged).

References
----------
Seed 000, sections 2.1–2.3, Fig. 1. Luo et al., "Bag of Tricks and a Strong Baseline for Deep
Person Re-identification", CVPRW 2019.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
from torch import Tensor, nn

from nlvision.nn.erasing import ChannelRandomErasing, ErasingConfig, RandomErasing, RandomGrayscale
from nlvision.nn.non_local import NonLocalBlock
from nlvision.nn.resnet import RESNET_SPECS, build_resnet

__all__ = ["NFDConfig", "ReIDOutput", "NFDReID", "build_reid_model", "load_reid_checkpoint", "AUGMENTS", "TASK", "IMAGENET_MEAN", "IMAGENET_STD"]

TASK = "reid"
#: training-time input augmentations
AUGMENTS = ("none", "re", "cre", "grayscale")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class NFDConfig:
    """Architecture of the re-identification network (seed / BoT defaults).

    Attributes
    ----------
    num_classes : int
        Training identities (751 on Market-1501).
    backbone : str
        ResNet name (``resnet50``).
    width : int
        Stem / ``layer1`` channels of the backbone (64).
    last_stride : int
        Stride of ``layer4`` (1).
    nfd : bool
        Insert the four non-local denoising blocks (True).
    augment : {"none", "re", "cre", "grayscale"}
        Training-time input augmentation ("cre").
    erase_probability : float
        Probability of (channel-level) random erasing (0.5).
    erase_fill : {"mean", "random"}
        Fill of CRE ("mean", see :mod:`nlvision.nn.erasing`).
    test_feature : {"after", "before"}
        Retrieval feature: after (BoT) or before the BNNeck.
    height, width_px : int
        Input size the model was trained at (256 × 128).
    seed : int
        Seed of the augmentation's generator.
    """

    num_classes: int = 751
    backbone: str = "resnet50"
    width: int = 64
    last_stride: int = 1
    nfd: bool = True
    augment: str = "cre"
    erase_probability: float = 0.5
    erase_fill: str = "mean"
    test_feature: str = "after"
    height: int = 256
    width_px: int = 128
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` for invalid values, naming the field."""
        if not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ValueError(f"num_classes: expected an int >= 2, got {self.num_classes!r}")
        if self.backbone not in RESNET_SPECS:
            raise ValueError(f"backbone: unknown backbone {self.backbone!r}; valid: {list(RESNET_SPECS)}")
        if self.augment not in AUGMENTS:
            raise ValueError(f"augment: unknown augmentation {self.augment!r}; valid: {list(AUGMENTS)}")
        if self.test_feature not in ("after", "before"):
            raise ValueError(f"test_feature: expected 'after' or 'before', got {self.test_feature!r}")
        if self.last_stride not in (1, 2):
            raise ValueError(f"last_stride: expected 1 or 2, got {self.last_stride!r}")
        if not 0.0 <= float(self.erase_probability) <= 1.0:
            raise ValueError(f"erase_probability: expected a number in [0, 1], got {self.erase_probability!r}")
        if self.erase_fill not in ("mean", "random"):
            raise ValueError(f"erase_fill: expected 'mean' or 'random', got {self.erase_fill!r}")
        if not isinstance(self.width, int) or self.width < 1:
            raise ValueError(f"width: expected a positive int, got {self.width!r}")
        if self.height < 32 or self.width_px < 16:
            raise ValueError(f"height, width_px: expected at least 32 x 16, got {self.height} x {self.width_px}")

    @classmethod
    def from_dict(cls, d: dict) -> "NFDConfig":
        """Build from a dict (e.g. a checkpoint's config), ignoring unknown keys."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class ReIDOutput(NamedTuple):
    """Outputs of :class:`NFDReID`."""

    features: Tensor  #: pooled feature before the BNNeck (triplet loss), (B, D)
    bn_features: Tensor  #: after the BNNeck, (B, D)
    logits: Tensor  #: identity scores (B, num_classes)

    def retrieval(self, which: str = "after") -> Tensor:
        """The feature used for ranking."""
        return self.bn_features if which == "after" else self.features


class NFDReID(nn.Module):
    """NFD-ResNet re-identification network (see the module docstring).

    Parameters
    ----------
    config : NFDConfig

    Examples
    --------
    >>> m = NFDReID(NFDConfig(num_classes=3, backbone="resnet18", width=4, height=64, width_px=32)).eval()
    >>> out = m(torch.rand(2, 3, 64, 32))
    >>> tuple(out.bn_features.shape), tuple(out.logits.shape)
    ((2, 32), (2, 3))
    """

    def __init__(self, config: NFDConfig | None = None) -> None:
        super().__init__()
        config = config or NFDConfig()
        config.validate()
        self.config = config
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        erase = ErasingConfig(probability=config.erase_probability, fill=config.erase_fill)
        if config.augment == "cre":
            self.augment: nn.Module = ChannelRandomErasing(erase, seed=config.seed)
        elif config.augment == "re":
            self.augment = RandomErasing(ErasingConfig(probability=config.erase_probability, fill="random"), seed=config.seed)
        elif config.augment == "grayscale":
            self.augment = RandomGrayscale(seed=config.seed)
        else:
            self.augment = nn.Identity()
        self.backbone = build_resnet(config.backbone, with_fc=False, last_stride=config.last_stride, width=config.width)
        chans = self.backbone.stage_channels
        self.nfd = nn.ModuleList([NonLocalBlock(c) for c in chans]) if config.nfd else None
        dim = self.backbone.out_channels
        self.feature_dim = dim
        self.bottleneck = nn.BatchNorm1d(dim)
        self.bottleneck.bias.requires_grad_(False)  # BoT: no shift in the neck
        self.classifier = nn.Linear(dim, config.num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def feature_maps(self, x: Tensor) -> list[Tensor]:
        """Stage maps after each (optional) NFD block, from [0, 1] images."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected RGB images of shape (B, 3, H, W) in [0, 1], got {tuple(x.shape)}")
        x = self.augment(x)
        x = (x - self.mean) / self.std
        b = self.backbone
        x = b.stem(x)
        outs = []
        for i, layer in enumerate((b.layer1, b.layer2, b.layer3, b.layer4)):
            x = layer(x)
            if self.nfd is not None:
                x = self.nfd[i](x)
            outs.append(x)
        return outs

    def forward(self, x: Tensor) -> ReIDOutput:
        fmap = self.feature_maps(x)[-1]
        feat = fmap.mean(dim=(2, 3))
        bn = self.bottleneck(feat)
        return ReIDOutput(feat, bn, self.classifier(bn))

    def embed(self, x: Tensor) -> Tensor:
        """Retrieval feature (``config.test_feature``)."""
        return self.forward(x).retrieval(self.config.test_feature)

    def load_backbone(self, path: str | os.PathLike) -> "NFDReID":
        """Load ImageNet (torchvision-layout) weights into the backbone; ``fc.*`` keys are ignored.

        Raises
        ------
        ValueError
            With missing / unexpected keys or shape mismatches (strict).
        """
        from nlvision.nn.weights import load_weights, read_state_dict

        state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("fc.")}
        load_weights(self.backbone, state, strict=True)
        return self

    def model_config(self) -> dict:
        """Configuration dict that rebuilds this model (stored in checkpoints)."""
        return asdict(self.config)


def build_reid_model(config: NFDConfig | dict | None = None, weights: str | os.PathLike | None = None) -> NFDReID:
    """Build :class:`NFDReID`, optionally loading ImageNet backbone weights from ``weights``."""
    if isinstance(config, dict):
        config = NFDConfig.from_dict(config)
    model = NFDReID(config)
    if weights is not None:
        model.load_backbone(weights)
    return model


def load_reid_checkpoint(path: str | os.PathLike) -> NFDReID:
    """Rebuild a trained model from an nlvision ``reid`` checkpoint (``model.safetensors``).

    Raises
    ------
    ValueError
        For a missing file, another task's checkpoint or mismatching weights.
    """
    from nlvision.nn.weights import load_checkpoint, load_weights

    state, cfg = load_checkpoint(path, task=TASK)
    try:
        model = NFDReID(NFDConfig.from_dict(cfg))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: checkpoint configuration is not a re-id model ({exc})") from None
    load_weights(model, state, strict=True)
    return model.eval()
