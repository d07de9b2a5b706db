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

    ``y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``; the block outputs ``planes``
    channels (``expansion = 1``).

    Parameters
    ----------
    inplanes, planes : int
        Input and output channels.
    stride : int
        Stride of the first convolution.
    downsample : nn.Module or None
        Projection of the shortcut when the shape changes (``stride != 1`` or
        ``inplanes != planes``); None keeps the identity shortcut.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Fig. 2 and Table 1 (the "building block" of the 18/34-layer nets). Seed 001, sections
    2-2-1 and 2-2-2 (residual block with a skip connection).

    Examples
    --------
    Two 3×3 convolutions of 4 → 4 channels (4·4·9 = 144 weights each, no bias) and two batch
    norms (4 weights + 4 biases each): 2·144 + 2·8 = 304 parameters.

    >>> block = BasicBlock(4, 4).eval()
    >>> sum(p.numel() for p in block.parameters())
    304
    >>> block(torch.zeros(1, 4, 8, 8)).shape
    torch.Size([1, 4, 8, 8])
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
        """Apply the block.

        Parameters
        ----------
        x : torch.Tensor
            Input (B, ``inplanes``, H, W).

        Returns
        -------
        torch.Tensor
            Output (B, ``planes``, H / ``stride``, W / ``stride``) (sizes rounded up).

        Examples
        --------
        >>> BasicBlock(2, 2).eval()(torch.ones(1, 2, 3, 3)).shape
        torch.Size([1, 2, 3, 3])
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 → 3×3 → 1×1 bottleneck block, stride on the 3×3 (torchvision's "ResNet v1.5").

    Parameters
    ----------
    inplanes, planes : int
        Input channels and bottleneck width; the block outputs ``4 * planes`` channels
        (``expansion = 4``).
    stride : int
        Stride of the 3×3 convolution (the original paper puts it on the first 1×1).
    downsample : nn.Module or None
        Projection of the shortcut when the shape changes (``stride != 1`` or
        ``inplanes != 4 * planes``); None keeps the identity shortcut.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Fig. 5 (right) and Table 1 (the "bottleneck" block of the 50/101/152-layer nets). Seed 001,
    section 2-2-3 (ResNet architecture) and section 3-3 (ResNet50).

    Examples
    --------
    16 → 4 → 4 → 16 channels: 1×1 conv 16·4 = 64, 3×3 conv 4·4·9 = 144, 1×1 conv 4·16 = 64
    weights, batch norms 2·4 + 2·4 + 2·16 = 48: 320 parameters.

    >>> block = Bottleneck(16, 4).eval()
    >>> sum(p.numel() for p in block.parameters())
    320
    >>> block(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
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
        """Apply the block.

        Parameters
        ----------
        x : torch.Tensor
            Input (B, ``inplanes``, H, W).

        Returns
        -------
        torch.Tensor
            Output (B, ``4 * planes``, H / ``stride``, W / ``stride``) (sizes rounded up).

        Examples
        --------
        >>> down = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
        >>> Bottleneck(4, 2, stride=2, downsample=down).eval()(torch.ones(1, 4, 5, 5)).shape
        torch.Size([1, 8, 3, 3])
        """
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
    TypeError
        If ``block`` is neither a block name nor :class:`BasicBlock` / :class:`Bottleneck`.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Table 1 (stem, four stages, global average pooling, ``fc``). Seed 000, section 2.1
    (ResNet50 backbone with the last spatial down-sampling removed, i.e. ``last_stride=1``,
    and no pooling/``fc``, i.e. ``with_fc=False`` / :meth:`forward_features`). Seed 001,
    section 3-3 (ResNet50 backbone, 23,587,712 parameters in Keras' layout).

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
        """Apply conv1 → bn1 → relu → maxpool (stride 4 overall).

        Parameters
        ----------
        x : torch.Tensor
            Images (B, ``in_channels``, H, W).

        Returns
        -------
        torch.Tensor
            The stem's output (B, ``width``, H/4, W/4) (sizes rounded up).

        Examples
        --------
        >>> m = ResNet("basic", (1, 1, 1, 1), width=4).eval()
        >>> m.stem(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 4, 8, 8])
        """
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """Return the outputs of ``layer1`` .. ``layer4`` (strides 4, 8, 16, 32 or 16).

        Parameters
        ----------
        x : torch.Tensor
            Images (B, ``in_channels``, H, W).

        Returns
        -------
        list of torch.Tensor
            Four maps with ``stage_channels`` channels; the last has stride 16 when
            ``last_stride=1``.

        Raises
        ------
        TypeError
            If ``x`` is not a tensor.
        ValueError
            If ``x`` is not 4-D with ``in_channels`` channels.

        Examples
        --------
        >>> m = ResNet("bottleneck", (1, 1, 1, 1), width=2, last_stride=1).eval()
        >>> [tuple(s.shape[1:]) for s in m.forward_stages(torch.zeros(1, 3, 64, 32))]
        [(8, 16, 8), (16, 8, 4), (32, 4, 2), (64, 4, 2)]
        """
        self._check_input(x)
        x = self.stem(x)
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs

    def forward_features(self, x: Tensor) -> Tensor:
        """Return the last feature map (B, ``out_channels``, H', W').

        Parameters
        ----------
        x : torch.Tensor
            Images (B, ``in_channels``, H, W).

        Returns
        -------
        torch.Tensor
            The output of ``layer4``: H' = H/32, W' = W/32 (H/16, W/16 with ``last_stride=1``).

        Raises
        ------
        TypeError
            If ``x`` is not a tensor.
        ValueError
            If ``x`` is not 4-D with ``in_channels`` channels.

        References
        ----------
        Seed 000, section 2.1: the last spatial down-sampling of ResNet50 is removed
        (``last_stride=1``) so that the backbone yields a larger feature map.

        Examples
        --------
        >>> m = ResNet("basic", (1, 1, 1, 1), width=4, last_stride=1, with_fc=False).eval()
        >>> m.forward_features(torch.zeros(1, 3, 256, 128)).shape
        torch.Size([1, 32, 16, 8])
        """
        self._check_input(x)
        x = self.stem(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: Tensor) -> Tensor:
        """Return logits (B, num_classes), or pooled features (B, ``out_channels``) without ``fc``.

        Parameters
        ----------
        x : torch.Tensor
            Images (B, ``in_channels``, H, W).

        Returns
        -------
        torch.Tensor
            ``fc`` applied to the globally average-pooled last map, or the pooled map itself
            when the model has no ``fc``.

        Raises
        ------
        TypeError
            If ``x`` is not a tensor.
        ValueError
            If ``x`` is not 4-D with ``in_channels`` channels.

        Examples
        --------
        >>> m = ResNet("basic", (1, 1, 1, 1), width=4, with_fc=False).eval()
        >>> m(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 32])
        """
        x = torch.flatten(self.avgpool(self.forward_features(x)), 1)
        return self.fc(x) if self.fc is not None else x

    def reset_classifier(self, num_classes: int | None) -> None:
        """Replace the head by a fresh ``Linear(out_channels, num_classes)``; ``None`` removes it.

        The new head is placed on the device of the model's weights.

        Parameters
        ----------
        num_classes : int or None
            Outputs of the new head, or None for no head (``with_fc`` becomes False).

        Raises
        ------
        ValueError
            If ``num_classes`` is neither None nor a positive int.

        Examples
        --------
        >>> m = ResNet("basic", (1, 1, 1, 1), num_classes=3, width=4).eval()
        >>> m.reset_classifier(7)
        >>> m(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 7])
        >>> m.reset_classifier(None)
        >>> m.fc is None, m(torch.zeros(1, 3, 32, 32)).shape
        (True, torch.Size([1, 32]))
        """
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

    The block type and the number of blocks per stage come from :data:`RESNET_SPECS`; the
    weights are freshly initialised (Kaiming normal convolutions, unit batch norms), nothing is
    downloaded — load weights with :func:`nlvision.nn.weights.load_weights`.

    Parameters
    ----------
    name : str
        Architecture name, case-insensitive; one of the keys of :data:`RESNET_SPECS`.
    **kwargs
        Keyword arguments of :class:`ResNet` (``num_classes``, ``with_fc``, ``last_stride``,
        ``in_channels``, ``width``, ``zero_init_residual``).

    Returns
    -------
    ResNet
        The model, in training mode, on the default device.

    Raises
    ------
    ValueError
        For an unknown name (listing the valid ones), or an invalid keyword value (see
        :class:`ResNet`).
    TypeError
        For an unknown keyword argument.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Table 1 (blocks per stage of the 18/34/50/101/152-layer nets).

    Examples
    --------
    ResNet-18 without its head: 11,689,512 parameters less the 512·1000 + 1000 of ``fc``.

    >>> sum(p.numel() for p in build_resnet("resnet18", with_fc=False).parameters())
    11176512
    >>> m = build_resnet("ResNet50", width=8, num_classes=10).eval()
    >>> m.out_channels, m(torch.zeros(1, 3, 64, 64)).shape
    (256, torch.Size([1, 10]))
    """
    if not isinstance(name, str) or name.lower() not in RESNET_SPECS:
        raise ValueError(f"name: unknown ResNet {name!r}; valid: {list(RESNET_SPECS)}")
    block, layers = RESNET_SPECS[name.lower()]
    return ResNet(block, layers, **kwargs)


def resnet18(**kwargs: Any) -> ResNet:
    """Build ResNet-18 (basic blocks, 2-2-2-2 per stage; 11,689,512 parameters with ``fc``).

    Parameters
    ----------
    **kwargs
        Keyword arguments of :class:`ResNet` (``num_classes``, ``with_fc``, ``last_stride``,
        ``in_channels``, ``width``, ``zero_init_residual``).

    Returns
    -------
    ResNet
        The freshly initialised model (see :func:`build_resnet`).

    Raises
    ------
    ValueError
        For an invalid keyword value (see :class:`ResNet`).
    TypeError
        For an unknown keyword argument.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Table 1 ("18-layer"); parameter count as torchvision's ``resnet18``.

    Examples
    --------
    Backbone 11,176,512 plus the 1000-way ``fc`` (512·1000 weights + 1000 biases).

    >>> sum(p.numel() for p in resnet18().parameters())
    11689512
    >>> resnet18(num_classes=5, width=8).eval()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 5])
    """
    return build_resnet("resnet18", **kwargs)


def resnet34(**kwargs: Any) -> ResNet:
    """Build ResNet-34 (basic blocks, 3-4-6-3 per stage; 21,797,672 parameters with ``fc``).

    Parameters
    ----------
    **kwargs
        Keyword arguments of :class:`ResNet` (``num_classes``, ``with_fc``, ``last_stride``,
        ``in_channels``, ``width``, ``zero_init_residual``).

    Returns
    -------
    ResNet
        The freshly initialised model (see :func:`build_resnet`).

    Raises
    ------
    ValueError
        For an invalid keyword value (see :class:`ResNet`).
    TypeError
        For an unknown keyword argument.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Table 1 ("34-layer"); parameter count as torchvision's ``resnet34``.

    Examples
    --------
    >>> m = resnet34(width=8, with_fc=False).eval()
    >>> [len(m.layer1), len(m.layer2), len(m.layer3), len(m.layer4)], m.out_channels
    ([3, 4, 6, 3], 64)
    >>> m(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 64])
    """
    return build_resnet("resnet34", **kwargs)


def resnet50(**kwargs: Any) -> ResNet:
    """Build ResNet-50 (bottleneck blocks, 3-4-6-3 per stage; 25,557,032 parameters with ``fc``).

    Parameters
    ----------
    **kwargs
        Keyword arguments of :class:`ResNet` (``num_classes``, ``with_fc``, ``last_stride``,
        ``in_channels``, ``width``, ``zero_init_residual``).

    Returns
    -------
    ResNet
        The freshly initialised model (see :func:`build_resnet`).

    Raises
    ------
    ValueError
        For an invalid keyword value (see :class:`ResNet`).
    TypeError
        For an unknown keyword argument.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Table 1 ("50-layer"); parameter count as torchvision's ``resnet50``. Seed 000, section 2.1
    (the re-identification backbone, ``last_stride=1``, ``with_fc=False``); seed 001, section
    3-3 (the classification backbone; 23,587,712 parameters in Keras' layout, which adds conv
    biases).

    Examples
    --------
    The 1000-way ``fc`` has 2048·1000 + 1000 = 2,049,000 parameters; without it 23,508,032
    remain.

    >>> m = resnet50()
    >>> sum(p.numel() for p in m.parameters())
    25557032
    >>> m.reset_classifier(None)
    >>> sum(p.numel() for p in m.parameters())
    23508032
    """
    return build_resnet("resnet50", **kwargs)


def resnet101(**kwargs: Any) -> ResNet:
    """Build ResNet-101 (bottleneck blocks, 3-4-23-3 per stage; 44,549,160 parameters with ``fc``).

    Parameters
    ----------
    **kwargs
        Keyword arguments of :class:`ResNet` (``num_classes``, ``with_fc``, ``last_stride``,
        ``in_channels``, ``width``, ``zero_init_residual``).

    Returns
    -------
    ResNet
        The freshly initialised model (see :func:`build_resnet`).

    Raises
    ------
    ValueError
        For an invalid keyword value (see :class:`ResNet`).
    TypeError
        For an unknown keyword argument.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Table 1 ("101-layer"); parameter count as torchvision's ``resnet101``.

    Examples
    --------
    >>> m = resnet101(width=8, with_fc=False)
    >>> [len(m.layer1), len(m.layer2), len(m.layer3), len(m.layer4)], m.out_channels
    ([3, 4, 23, 3], 256)
    """
    return build_resnet("resnet101", **kwargs)


def resnet152(**kwargs: Any) -> ResNet:
    """Build ResNet-152 (bottleneck blocks, 3-8-36-3 per stage; 60,192,808 parameters with ``fc``).

    Parameters
    ----------
    **kwargs
        Keyword arguments of :class:`ResNet` (``num_classes``, ``with_fc``, ``last_stride``,
        ``in_channels``, ``width``, ``zero_init_residual``).

    Returns
    -------
    ResNet
        The freshly initialised model (see :func:`build_resnet`).

    Raises
    ------
    ValueError
        For an invalid keyword value (see :class:`ResNet`).
    TypeError
        For an unknown keyword argument.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun, "Deep residual learning for image recognition", CVPR 2016,
    Table 1 ("152-layer"); parameter count as torchvision's ``resnet152``.

    Examples
    --------
    >>> m = resnet152(width=8, with_fc=False)
    >>> [len(m.layer1), len(m.layer2), len(m.layer3), len(m.layer4)], m.out_channels
    ([3, 8, 36, 3], 256)
    """
    return build_resnet("resnet152", **kwargs)
