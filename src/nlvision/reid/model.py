"""Re-identification networks of the seed: the BoT baseline (StrongReID) and AlignedReID++,
both with the NFD defense's two pluggable parts (CRE input augmentation, non-local blocks).

* Backbone: ResNet (:mod:`nlvision.nn.resnet`, torchvision parameter names) with the last
  spatial down-sampling removed (``last_stride=1``) and without its pooling / classifier.
* NFD: one non-local feature-denoising block (:class:`nlvision.nn.non_local.NonLocalBlock`)
  after the last residual block of each of res2–res5 (``layer1`` .. ``layer4``), ``nfd=True``.
* ``arch="bot"`` (StrongReID, Luo et al. 2019): global average pooling → ``f_t`` (triplet
  loss) → BatchNorm "neck" (bias frozen at 0) → ``f_i`` → linear classifier without bias
  (cross-entropy). Retrieval uses ``f_i`` (``test_feature="after"``), L2-normalised
  (``normalize_features=True``) — BoT's evaluation convention; both can be switched off.
* ``arch="aligned"`` (AlignedReID++, Luo et al. 2019, public code ``models/ResNet.py``): the
  same backbone; global branch = global average pooling → linear classifier (with bias); local
  branch = BN → ReLU → horizontal max pooling (one stripe per feature-map row) → 1×1 conv to
  ``local_dim`` (128) → L2 normalisation per stripe. Training uses the dynamically matched
  local distance (:func:`nlvision.nn.losses.local_distance`). Difference from the public code:
  there the evaluation-mode local feature skips the BN/ReLU/1×1 conv (it pools the raw map);
  here the same branch runs in both modes (DESIGN: ``forward`` returns the same thing in
  training and evaluation). Retrieval uses the global feature (the public code's
  ``--test_distance global`` default).
* Training-time input augmentation (``augment``): ``"cre"`` (channel-level random erasing,
  the seed's defense), ``"re"`` (plain random erasing), ``"grayscale"`` (GGPR baseline) or
  ``"none"``; it is a module of the network that is active in training mode only.
* ImageNet normalisation is the first layer, so the network takes [0, 1] RGB images.

References
----------
Seed 000, sections 2.1–2.3, Fig. 1, Tables 1–3. Luo et al., "Bag of Tricks and a Strong
Baseline for Deep Person Re-identification", CVPRW 2019. Luo et al., "AlignedReID++:
Dynamically matching local information for person re-identification", Pattern Recognition 94,
2019 (github.com/michuanhaohao/AlignedReID).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
from torch import Tensor, nn

from nlvision.nn.erasing import ChannelRandomErasing, ErasingConfig, RandomErasing, RandomGrayscale
from nlvision.nn.non_local import NonLocalBlock
from nlvision.nn.resnet import RESNET_SPECS, build_resnet

__all__ = ["ReidModelConfig", "ReidOutput", "ReidNet", "build_reid_model", "load_reid_model",
           "ARCHS", "AUGMENTS", "TASK", "IMAGENET_MEAN", "IMAGENET_STD"]

TASK = "reid"
#: target architectures: BoT baseline (StrongReID) and AlignedReID++
ARCHS = ("bot", "aligned")
#: training-time input augmentations
AUGMENTS = ("none", "re", "cre", "grayscale")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ReidModelConfig:
    """Architecture of the re-identification network (seed / BoT defaults).

    Parameters
    ----------
    num_classes : int
        Training identities (751 on Market-1501).
    arch : {"bot", "aligned"}
        BoT baseline (StrongReID) or AlignedReID++ (global + local stripe branch).
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
        BoT retrieval feature: after (BoT) or before the BNNeck (``aligned`` has no neck).
    normalize_features : bool
        L2-normalise the retrieval feature (BoT's evaluation convention; True).
    local_dim : int
        Channels of AlignedReID++'s local stripe features (128).
    aligned_neck : bool
        Give AlignedReID++ BoT's BNNeck before its classifier (False = the published head). Trained
        from scratch (the reduced CPU study), the published neck-less head collapses: the global
        triplet drives the features to a point and the cross-entropy stays at ``ln C`` (measured:
        mAP at chance after 15 epochs at three learning rates); with ImageNet weights (the Market
        recipe) the published head is used.
    height, width_px : int
        Input size the model was trained at (256 × 128).
    seed : int
        Seed of the augmentation's generator.

    Examples
    --------
    >>> ReidModelConfig(num_classes=10, arch="aligned").local_dim
    128
    """

    num_classes: int = 751
    arch: str = "bot"
    backbone: str = "resnet50"
    width: int = 64
    last_stride: int = 1
    nfd: bool = True
    augment: str = "cre"
    erase_probability: float = 0.5
    erase_fill: str = "mean"
    test_feature: str = "after"
    normalize_features: bool = True
    local_dim: int = 128
    aligned_neck: bool = False
    height: int = 256
    width_px: int = 128
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` for invalid values, naming the field."""
        if not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ValueError(f"num_classes: expected an int >= 2, got {self.num_classes!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch: unknown architecture {self.arch!r}; valid: {list(ARCHS)}")
        if self.backbone not in RESNET_SPECS:
            raise ValueError(f"backbone: unknown backbone {self.backbone!r}; valid: {list(RESNET_SPECS)}")
        if self.augment not in AUGMENTS:
            raise ValueError(f"augment: unknown augmentation {self.augment!r}; valid: {list(AUGMENTS)}")
        if self.test_feature not in ("after", "before"):
            raise ValueError(f"test_feature: expected 'after' or 'before', got {self.test_feature!r}")
        if self.last_stride not in (1, 2):
            raise ValueError(f"last_stride: expected 1 or 2, got {self.last_stride!r}")
        p = self.erase_probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"erase_probability: expected a number in [0, 1], got {p!r}")
        if self.erase_fill not in ("mean", "random"):
            raise ValueError(f"erase_fill: expected 'mean' or 'random', got {self.erase_fill!r}")
        for name in ("width", "local_dim"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if self.height < 32 or self.width_px < 16:
            raise ValueError(f"height, width_px: expected at least 32 x 16, got {self.height} x {self.width_px}")

    @classmethod
    def from_dict(cls, d: dict) -> "ReidModelConfig":
        """Build from a dict (e.g. a checkpoint's config), ignoring unknown keys."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class ReidOutput(NamedTuple):
    """Outputs of :class:`ReidNet` (the same in training and evaluation mode).

    Parameters
    ----------
    features : Tensor (B, D)
        Pooled global feature (triplet loss; BoT: before the BNNeck).
    bn_features : Tensor (B, D)
        After the BNNeck (BoT) or ``features`` again (AlignedReID++).
    logits : Tensor (B, num_classes)
        Identity scores.
    local : Tensor (B, S, d) or None
        AlignedReID++'s L2-normalised stripe features (``None`` for BoT).

    Examples
    --------
    >>> o = ReidOutput(torch.ones(1, 2), torch.zeros(1, 2), torch.zeros(1, 3), None)
    >>> o.retrieval("before").tolist()
    [[1.0, 1.0]]
    """

    features: Tensor
    bn_features: Tensor
    logits: Tensor
    local: Tensor | None = None

    def retrieval(self, which: str = "after") -> Tensor:
        """The feature used for ranking (not normalised; see :meth:`ReidNet.embed`)."""
        return self.bn_features if which == "after" else self.features


class ReidNet(nn.Module):
    """Re-identification network: BoT or AlignedReID++ with optional CRE and NFD blocks.

    Parameters
    ----------
    config : ReidModelConfig, optional
        Architecture (see the module docstring).

    Examples
    --------
    >>> cfg = ReidModelConfig(num_classes=3, backbone="resnet18", width=4, height=64, width_px=32)
    >>> m = ReidNet(cfg).eval()
    >>> out = m(torch.rand(2, 3, 64, 32))
    >>> tuple(out.bn_features.shape), tuple(out.logits.shape)
    ((2, 32), (2, 3))
    """

    def __init__(self, config: ReidModelConfig | None = None) -> None:
        super().__init__()
        config = config or ReidModelConfig()
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
        if config.arch == "bot" or config.aligned_neck:
            self.bottleneck = nn.BatchNorm1d(dim)
            self.bottleneck.bias.requires_grad_(False)  # BoT: no shift in the neck
            self.classifier = nn.Linear(dim, config.num_classes, bias=False)
            nn.init.normal_(self.classifier.weight, std=0.001)
        else:  # AlignedReID++ (public code: classifier with bias on the pooled feature)
            self.bottleneck = None
            self.classifier = nn.Linear(dim, config.num_classes)
        self.local_branch = None
        if config.arch == "aligned":  # public code: bn -> relu -> horizontal max pool -> 1x1 conv
            self.local_branch = nn.ModuleDict({"bn": nn.BatchNorm2d(dim), "conv": nn.Conv2d(dim, config.local_dim, 1)})

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

    def forward(self, x: Tensor) -> ReidOutput:
        """Features, neck features, logits and (AlignedReID++) stripe features of ``x``."""
        fmap = self.feature_maps(x)[-1]
        feat = fmap.mean(dim=(2, 3))
        if self.local_branch is None:
            bn = self.bottleneck(feat)
            return ReidOutput(feat, bn, self.classifier(bn), None)
        lf = torch.relu(self.local_branch["bn"](fmap)).amax(dim=3, keepdim=True)  # (B, C, S, 1)
        lf = self.local_branch["conv"](lf).squeeze(3).transpose(1, 2)  # (B, S, d)
        lf = lf / lf.pow(2).sum(-1, keepdim=True).clamp(min=1e-12).sqrt()
        bn = self.bottleneck(feat) if self.bottleneck is not None else feat
        return ReidOutput(feat, bn, self.classifier(bn), lf)

    def embed(self, x: Tensor) -> Tensor:
        """Retrieval feature: after/before the neck (``test_feature``), L2-normalised if configured."""
        out = self.forward(x)
        f = out.retrieval(self.config.test_feature if self.bottleneck is not None else "before")
        if self.config.normalize_features:
            f = torch.nn.functional.normalize(f, dim=1)
        return f

    def load_backbone(self, path: str | os.PathLike) -> "ReidNet":
        """Load ImageNet (torchvision-layout) weights into the backbone; ``fc.*`` keys are ignored."""
        from nlvision.nn.weights import load_weights, read_state_dict

        state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("fc.")}
        load_weights(self.backbone, state, strict=True)
        return self

    def model_config(self) -> dict:
        """Configuration dict that rebuilds this model (stored in checkpoints)."""
        return asdict(self.config)


def build_reid_model(config: ReidModelConfig | dict | None = None, weights: str | os.PathLike | None = None) -> ReidNet:
    """Build a :class:`ReidNet`, optionally loading ImageNet backbone weights.

    Parameters
    ----------
    config : ReidModelConfig or dict, optional
        Architecture (defaults: BoT, ResNet-50, NFD, CRE).
    weights : path-like, optional
        ImageNet backbone weights in torchvision layout (``.safetensors`` or ``.pth``).

    Returns
    -------
    ReidNet

    Raises
    ------
    ValueError
        For invalid configurations or weights that do not fit the backbone.

    Examples
    --------
    >>> m = build_reid_model({"num_classes": 4, "backbone": "resnet18", "width": 4, "arch": "aligned"})
    >>> m.config.arch
    'aligned'
    """
    if isinstance(config, dict):
        config = ReidModelConfig.from_dict(config)
    model = ReidNet(config)
    if weights is not None:
        model.load_backbone(weights)
    return model


def load_reid_model(path: str | os.PathLike) -> ReidNet:
    """Rebuild a trained model from an nlvision ``reid`` checkpoint (``model.safetensors``).

    Parameters
    ----------
    path : path-like
        ``model.safetensors`` written by :func:`nlvision.reid.train_reid`.

    Returns
    -------
    ReidNet
        In evaluation mode.

    Raises
    ------
    ValueError
        For a missing file, another task's checkpoint or mismatching weights.

    References
    ----------
    Seed 000, Fig. 1.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nlvision.nn.weights import save_checkpoint
    >>> m = build_reid_model({"num_classes": 3, "backbone": "resnet18", "width": 4, "height": 64, "width_px": 32})
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
    >>> _ = save_checkpoint(p, m, task="reid", config=m.model_config())
    >>> load_reid_model(p).config.num_classes
    3
    """
    from nlvision.nn.weights import load_checkpoint, load_weights

    state, cfg = load_checkpoint(path, task=TASK)
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: checkpoint configuration is not a re-id model configuration")
    try:
        model = ReidNet(ReidModelConfig.from_dict(cfg))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: checkpoint configuration is not a re-id model ({exc})") from None
    load_weights(model, state, strict=True)
    return model.eval()
