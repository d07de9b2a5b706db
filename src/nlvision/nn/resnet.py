"""ResNet-18/34/50/101/152 in plain PyTorch with torchvision-compatible parameter names.

The layout (``conv1``, ``bn1``, ``layer1`` .. ``layer4`` made of ``BasicBlock`` /
``Bottleneck`` blocks with ``conv1/bn1/conv2/bn2(/conv3/bn3)`` and ``downsample.0/.1``,
``fc``) matches torchvision's ``resnet*`` models, so a state dict saved from torchvision loads
with strict key checking (:func:`nlvision.nn.weights.load_weights`). Nothing downloads weights.

Options used by the recognition tasks:

* ``last_stride`` — stride of the first block of ``layer4`` (1 for re-identification, giving a
  16×8 map for a 256×128 person crop instead of 8×4).
* ``num_classes`` / ``with_fc=False`` — replace or remove the classifier head.
* :meth:`ResNet.forward_features` — the last feature map (B, C, H/32, W/32).
* :meth:`ResNet.forward_stages` — the four stage maps.

References
----------
He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016 (Table 1).
Seed 001 (chapter 3): the Keras ResNet50 summary — 23,587,712 backbone parameters in Keras'
layout (which has conv biases); the torchvision layout used here has 23,508,032 without ``fc``
and 25,557,032 with the 1000-way ``fc``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "RESNET_SPECS",
    "build_resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with an identity (or 1×1 projection) shortcut (ResNet-18/34).

    Parameters
    ----------
    inplanes, planes : int
        Input and output channels.
    stride : int
        Stride of the first convolution.
    downsample : nn.Module or None
        Projection of the shortcut when the shape changes.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 → 3×3 → 1×1 bottleneck block, stride on the 3×3 (torchvision's "ResNet v1.5").

    Parameters
    ----------
    inplanes, planes : int
        Input channels and bottleneck width; the block outputs ``4 * planes`` channels.
    stride : int
        Stride of the 3×3 convolution.
    downsample : nn.Module or None
        Projection of the shortcut when the shape changes.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


#: name -> (block type, blocks per stage) — He et al. 2016, Table 1.
RESNET_SPECS: dict[str, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
    "resnet101": (Bottleneck, (3, 4, 23, 3)),
    "resnet152": (Bottleneck, (3, 8, 36, 3)),
}

_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """A residual network with torchvision's parameter names.

    Parameters
    ----------
    block : {"basic", "bottleneck"} or BasicBlock / Bottleneck class
        Residual block type.
    layers : sequence of 4 ints
        Number of blocks in ``layer1`` .. ``layer4``.
    num_classes : int
        Outputs of the ``fc`` head (1000 as in ImageNet by default).
    with_fc : bool
        If False the model has no ``fc`` and :meth:`forward` returns the globally average-pooled
        features (B, ``out_channels``).
    last_stride : {1, 2}
        Stride of the first block of ``layer4``; 1 keeps a twice larger last map (re-id).
    in_channels : int
        Input channels (3 for RGB).
    width : int
        Channels of the stem and ``layer1`` (64 in the paper); smaller values give tiny
        configurations for tests.
    zero_init_residual : bool
        Initialise the last BN of each block to zero (Goyal et al. 2017); off by default as in
        torchvision.

    Raises
    ------
    ValueError
        For an unknown block name, a wrong number of stages, non-positive sizes or a
        ``last_stride`` other than 1 or 2.

    Examples
    --------
    >>> m = ResNet("basic", (1, 1, 1, 1), num_classes=3, width=4).eval()
    >>> m(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 3])
    >>> [tuple(s.shape[1:]) for s in m.forward_stages(torch.zeros(1, 3, 32, 32))]
    [(4, 8, 8), (8, 4, 4), (16, 2, 2), (32, 1, 1)]
    """

    def __init__(
        self,
        block: str | type[nn.Module],
        layers: tuple[int, int, int, int] | list[int],
        *,
        num_classes: int = 1000,
        with_fc: bool = True,
        last_stride: int = 2,
        in_channels: int = 3,
        width: int = 64,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(block, str):
            if block not in _BLOCKS:
                raise ValueError(f"block: unknown block {block!r}; valid: {sorted(_BLOCKS)}")
            block = _BLOCKS[block]
        if block not in (BasicBlock, Bottleneck):
            raise TypeError(f"block: expected 'basic', 'bottleneck', BasicBlock or Bottleneck, got {block!r}")
        layers = tuple(layers)
        if len(layers) != 4 or not all(isinstance(n, int) and n >= 1 for n in layers):
            raise ValueError(f"layers: expected 4 positive ints, got {layers!r}")
        for name, val in (("num_classes", num_classes), ("in_channels", in_channels), ("width", width)):
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"{name}: expected a positive int, got {val!r}")
        if last_stride not in (1, 2):
            raise ValueError(f"last_stride: expected 1 or 2, got {last_stride!r}")
        self.block = block
        self.layers_spec = layers
        self.last_stride = last_stride
        self.with_fc = bool(with_fc)
        self.inplanes = width
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=last_stride)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        #: channels of the last feature map (512 for ResNet-18/34, 2048 for ResNet-50+)
        self.out_channels = width * 8 * block.expansion
        #: channels of each stage map
        self.stage_channels = tuple(width * m * block.expansion for m in (1, 2, 4, 8))
        self.fc = nn.Linear(self.out_channels, num_classes) if with_fc else None

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: type[nn.Module], planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        expansion = block.expansion  # type: ignore[attr-defined]
        if stride != 1 or self.inplanes != planes * expansion:
            downsample = nn.Sequential(_conv1x1(self.inplanes, planes * expansion, stride), nn.BatchNorm2d(planes * expansion))
        mods = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * expansion
        mods += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def _check_input(self, x: Any) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.conv1.in_channels:
            raise ValueError(f"x: expected shape (B, {self.conv1.in_channels}, H, W), got {tuple(x.shape)}")

    def stem(self, x: Tensor) -> Tensor:
        """conv1 → bn1 → relu → maxpool (stride 4 overall)."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """Return the outputs of ``layer1`` .. ``layer4`` (strides 4, 8, 16, 32 or 16)."""
        self._check_input(x)
        x = self.stem(x)
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs

    def forward_features(self, x: Tensor) -> Tensor:
        """Return the last feature map (B, ``out_channels``, H', W')."""
        self._check_input(x)
        x = self.stem(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, num_classes), or pooled features (B, ``out_channels``) without ``fc``."""
        x = torch.flatten(self.avgpool(self.forward_features(x)), 1)
        return self.fc(x) if self.fc is not None else x

    def reset_classifier(self, num_classes: int | None) -> None:
        """Replace the head by a fresh ``Linear(out_channels, num_classes)``; ``None`` removes it."""
        if num_classes is None:
            self.fc = None
            self.with_fc = False
            return
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"num_classes: expected a positive int or None, got {num_classes!r}")
        self.fc = nn.Linear(self.out_channels, num_classes).to(self.conv1.weight.device)
        self.with_fc = True


def build_resnet(name: str, **kwargs: Any) -> ResNet:
    """Build a ResNet by name (``resnet18``, ``resnet34``, ``resnet50``, ``resnet101``, ``resnet152``).

    Keyword arguments go to :class:`ResNet` (``num_classes``, ``with_fc``, ``last_stride``,
    ``in_channels``, ``width``, ``zero_init_residual``).

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.

    Examples
    --------
    >>> sum(p.numel() for p in build_resnet("resnet18", with_fc=False).parameters())
    11176512
    """
    if not isinstance(name, str) or name.lower() not in RESNET_SPECS:
        raise ValueError(f"name: unknown ResNet {name!r}; valid: {list(RESNET_SPECS)}")
    block, layers = RESNET_SPECS[name.lower()]
    return ResNet(block, layers, **kwargs)


def _factory(name: str) -> Callable[..., ResNet]:
    def make(**kwargs: Any) -> ResNet:
        return build_resnet(name, **kwargs)

    make.__name__ = name
    make.__qualname__ = name
    make.__doc__ = f"Build {name} (see :func:`build_resnet` for the keyword arguments)."
    return make


resnet18 = _factory("resnet18")
resnet34 = _factory("resnet34")
resnet50 = _factory("resnet50")
resnet101 = _factory("resnet101")
resnet152 = _factory("resnet152")
