"""Stacked hourglass network with ACNN attention masks (seed 002, section 3).

The base network is the stacked hourglass of Newell et al. (ECCV 2016): a 7×7 stride-2
convolution, a residual module and a max-pool bring a 256×256 image down to 64×64 features,
then ``num_stacks`` hourglass modules follow, each with intermediate supervision.

ACNN (Sun, Ye and Wang) adds an attention mask per stage:

* eq. (2): ``M(i) = sigmoid(f_c(X(i) + θ(X(i))))`` — a 1×1 convolution of the stage's
  hourglass features followed by a sigmoid, one channel, replicated over the feature channels;
* eq. (1): the next stage's input features are multiplied by ``M(i)``; the first mask
  ``M(0)`` is all ones;
* eq. (4): the stage prediction is ``P(i) = H(i) + P(i-1) ⊙ (1 - M(i-1))`` where ``H(i)`` is the
  heatmap of stage ``i``; the loss (eq. 3) is the MSE of every ``P(i)``;
* eq. (5): joints are the argmax of the last prediction.

Masks are ``soft`` (the sigmoid itself multiplies the features) or ``binary`` as the seed
says ("these attention masks are binary images", Fig. 3): the forward pass uses
``M = [sigmoid(·) ≥ 0.5]`` and the backward pass the sigmoid's gradient (straight-through
estimator, Bengio et al. 2013), so the mask branch still trains.

``forward`` returns a :class:`PoseOutput` in training and in evaluation alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, NamedTuple

import torch
from torch import nn

__all__ = ["HourglassConfig", "PoseOutput", "Residual", "Hourglass", "StackedHourglass", "combine_predictions", "binary_mask"]

MASK_MODES = ("soft", "binary")


@dataclass
class HourglassConfig:
    """Architecture of the (attention) stacked hourglass.

    Parameters
    ----------
    num_stacks : int, default 4
        Number of hourglass stages (4 in the seed, section 3.1).
    channels : int, default 256
        Feature width of the hourglasses (256 in Newell et al. and the seed, section 3.2).
    num_joints : int, default 16
        Heatmap channels K (16 MPII joints).
    depth : int, default 4
        Number of down-sampling levels of each hourglass (4: 64 → 4).
    num_blocks : int, default 1
        Residual modules per hourglass level.
    attention : bool, default True
        ACNN attention masks (True) or the plain stacked hourglass (False).
    input_size : int, default 256
        Side of the square input image (256); heatmaps are ``input_size // 4``.
    mask_bias_init : float, default 4.0
        Initial bias of the mask convolutions. 4.0 gives sigmoid ≈ 0.98, so a network trained in
        phase A with masks frozen at ones starts phase B from (almost) the same function.
    mask_mode : {"soft", "binary"}, default "soft"
        ``soft``: the sigmoid multiplies the features; ``binary``: the seed's binary masks,
        ``sigmoid ≥ 0.5`` in the forward pass with a straight-through gradient.

    See Also
    --------
    StackedHourglass : The network built from this configuration.

    Notes
    -----
    Construction does not check the values; :meth:`validate` does (``StackedHourglass`` and
    :meth:`from_dict` call it) and raises ``ValueError`` for a bad one.

    References
    ----------
    Seed 002 (Sun, Ye and Wang, "Focus on what's important: self-attention model for human
    pose estimation"), sections 3.1-3.3; A. Newell, K. Yang and J. Deng, "Stacked hourglass
    networks for human pose estimation", ECCV 2016, arXiv:1603.06937.

    Examples
    --------
    >>> cfg = HourglassConfig(num_stacks=2, channels=16, depth=2, input_size=32).validate()
    >>> cfg.heatmap_size  # 32 // 4
    8
    >>> HourglassConfig.from_dict(cfg.to_dict()) == cfg
    True
    >>> HourglassConfig(input_size=100).validate()
    Traceback (most recent call last):
        ...
    ValueError: input_size: expected a multiple of 64 (stem ÷4, then 4 poolings), got 100
    """

    num_stacks: int = 4
    channels: int = 256
    num_joints: int = 16
    depth: int = 4
    num_blocks: int = 1
    attention: bool = True
    input_size: int = 256
    mask_bias_init: float = 4.0
    mask_mode: str = "soft"

    def validate(self) -> "HourglassConfig":
        """Check the values; returns self.

        Raises
        ------
        ValueError
            If a size is not positive, ``channels`` is odd, or ``input_size`` cannot be reduced
            ``depth`` times after the ÷4 stem.
        """
        for name in ("num_stacks", "channels", "num_joints", "depth", "num_blocks", "input_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if self.mask_mode not in MASK_MODES:
            raise ValueError(f"mask_mode: expected one of {list(MASK_MODES)}, got {self.mask_mode!r}")
        if self.channels % 2:
            raise ValueError(f"channels: expected an even number (bottleneck halves it), got {self.channels}")
        if self.input_size % (4 * 2**self.depth):
            raise ValueError(
                f"input_size: expected a multiple of {4 * 2**self.depth} (stem ÷4, then {self.depth} poolings), got {self.input_size}"
            )
        return self

    @property
    def heatmap_size(self) -> int:
        """Side of the output heatmaps (input ÷ 4)."""
        return self.input_size // 4

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HourglassConfig":
        """Rebuild from :meth:`to_dict`; unknown keys raise ``ValueError``."""
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"hourglass config: unknown key(s) {extra}; valid keys are {sorted(known)}")
        return cls(**dict(data)).validate()


class PoseOutput(NamedTuple):
    """Output of :class:`StackedHourglass`: predictions, heatmaps and masks of every stage.

    Parameters
    ----------
    predictions : Tensor (B, S, K, h, w)
        ``P(i)`` of every stage (eq. 4); the last one is the network's answer.
    heatmaps : Tensor (B, S, K, h, w)
        ``H(i)``, the raw heatmap of every stage.
    masks : Tensor (B, S, 1, h, w)
        ``M(i-1)``, the mask applied to the input of stage ``i`` (``masks[:, 0]`` is all ones);
        0/1 values for binary masks.
    mask_probs : Tensor (B, S, 1, h, w)
        The sigmoids behind ``masks`` (equal to ``masks`` for soft masks).

    References
    ----------
    Seed 002, section 3.2: eq. (1)-(2) for the masks, eq. (4) for the stage predictions.

    Examples
    --------
    >>> h = torch.ones(1, 2, 3, 4, 4); m = torch.ones(1, 2, 1, 4, 4)
    >>> out = PoseOutput(combine_predictions(h, m), h, m, m)
    >>> out.predictions.shape, out[1] is out.heatmaps
    (torch.Size([1, 2, 3, 4, 4]), True)
    >>> out.predictions[0, 1, 0, 0, 0].item()  # H(2) + P(1)·(1 - M(1)) = 1 + 1·0
    1.0
    """

    predictions: torch.Tensor
    heatmaps: torch.Tensor
    masks: torch.Tensor
    mask_probs: torch.Tensor


def binary_mask(prob: torch.Tensor) -> torch.Tensor:
    """Hard 0/1 mask ``prob ≥ 0.5`` in the forward pass, gradient of ``prob`` in the backward pass.

    Parameters
    ----------
    prob : Tensor
        Mask probabilities (sigmoid outputs).

    Returns
    -------
    Tensor
        Same shape, values in {0, 1}.

    References
    ----------
    Seed 002, Fig. 3 ("binary images"); straight-through estimator of Bengio, Léonard and
    Courville, arXiv:1308.3432 (2013).

    Examples
    --------
    >>> p = torch.tensor([0.2, 0.7], requires_grad=True)
    >>> m = binary_mask(p); m.sum().backward()
    >>> m.tolist(), p.grad.tolist()
    ([0.0, 1.0], [1.0, 1.0])
    """
    hard = (prob >= 0.5).to(prob.dtype)
    return hard + prob - prob.detach()


def combine_predictions(heatmaps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Stage predictions of eq. (4): ``P(i) = H(i) + P(i-1) ⊙ (1 - M(i-1))``.

    Parameters
    ----------
    heatmaps : Tensor (B, S, K, h, w)
        ``H(1) … H(S)``.
    masks : Tensor (B, S, 1, h, w)
        ``M(0) … M(S-1)`` (``M(0)`` all ones, so ``P(1) = H(1)``).

    Returns
    -------
    Tensor (B, S, K, h, w)
        ``P(1) … P(S)``; ``P(1) = H(1)``.

    Raises
    ------
    ValueError
        If the shapes do not match.

    References
    ----------
    Seed 002, section 3.2, eq. (4).

    Examples
    --------
    >>> h = torch.ones(1, 2, 1, 1, 1); m = torch.tensor([1.0, 0.25]).view(1, 2, 1, 1, 1)
    >>> combine_predictions(h, m).flatten().tolist()
    [1.0, 1.75]
    """
    if heatmaps.ndim != 5 or masks.ndim != 5 or masks.shape[:2] != heatmaps.shape[:2] or masks.shape[2] != 1:
        raise ValueError(
            f"heatmaps/masks: expected (B, S, K, h, w) and (B, S, 1, h, w), got {tuple(heatmaps.shape)} and {tuple(masks.shape)}"
        )
    preds = [heatmaps[:, 0]]  # M(0) = 1 → P(1) = H(1)
    for i in range(1, heatmaps.shape[1]):
        preds.append(heatmaps[:, i] + preds[-1] * (1.0 - masks[:, i]))
    return torch.stack(preds, dim=1)


class Residual(nn.Module):
    """Pre-activation bottleneck residual module of Newell et al.

    BN-ReLU-conv1×1 (C/2) → BN-ReLU-conv3×3 (C/2) → BN-ReLU-conv1×1 (C), plus the identity
    (or a 1×1 projection when the widths differ).

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output; the bottleneck has ``max(out_channels // 2, 1)``.

    References
    ----------
    A. Newell, K. Yang and J. Deng, "Stacked hourglass networks for human pose estimation",
    ECCV 2016, arXiv:1603.06937, section 3.1 and Fig. 4 (left); the residual module of seed 002,
    section 3.1.

    Examples
    --------
    >>> Residual(8, 16)(torch.zeros(1, 8, 4, 4)).shape
    torch.Size([1, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        mid = max(out_channels // 2, 1)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, mid, 1, bias=True)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1, bias=True)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=True) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the module: bottleneck branch plus skip.

        Parameters
        ----------
        x : Tensor (B, in_channels, H, W)
            Input features.

        Returns
        -------
        Tensor (B, out_channels, H, W)
            ``branch(x) + skip(x)``.

        Examples
        --------
        >>> r = Residual(4, 4).eval()
        >>> for conv in (r.conv1, r.conv2, r.conv3):  # zero branch: the module is the identity
        ...     _ = nn.init.zeros_(conv.weight), nn.init.zeros_(conv.bias)
        >>> x = torch.randn(1, 4, 3, 3)
        >>> bool(torch.equal(r(x), x))
        True
        """
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + self.skip(x)


class Hourglass(nn.Module):
    """One hourglass: recursive bottom-up (max-pool) / top-down (nearest up-sampling) with skips.

    Parameters
    ----------
    depth : int
        Number of 2×2 max-poolings (and nearest up-samplings); the input side must be divisible
        by ``2**depth``.
    channels : int
        Feature width, the same at every level (even: the residual bottleneck halves it).
    num_blocks : int, default 1
        Residual modules per level and branch.

    Raises
    ------
    ValueError
        If ``depth < 1``.

    References
    ----------
    A. Newell, K. Yang and J. Deng, "Stacked hourglass networks for human pose estimation",
    ECCV 2016, arXiv:1603.06937, section 3.1 and Fig. 3; seed 002, section 3.1.

    Examples
    --------
    >>> hg = Hourglass(depth=2, channels=8)
    >>> hg(torch.zeros(1, 8, 8, 8)).shape
    torch.Size([1, 8, 8, 8])
    >>> isinstance(hg.low2, Hourglass), isinstance(hg.low2.low2, Hourglass)  # depth 2: one nested
    (True, False)
    >>> Hourglass(depth=0, channels=8)
    Traceback (most recent call last):
        ...
    ValueError: depth: expected ≥ 1, got 0
    """

    def __init__(self, depth: int, channels: int, num_blocks: int = 1):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth: expected ≥ 1, got {depth}")
        self.depth = depth

        def blocks() -> nn.Sequential:
            return nn.Sequential(*[Residual(channels, channels) for _ in range(num_blocks)])

        self.up1 = blocks()
        self.pool = nn.MaxPool2d(2, 2)
        self.low1 = blocks()
        self.low2 = Hourglass(depth - 1, channels, num_blocks) if depth > 1 else blocks()
        self.low3 = blocks()
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the hourglass: ``up1(x) + upsample(low3(low2(low1(pool(x)))))``.

        Parameters
        ----------
        x : Tensor (B, channels, H, W)
            Input features; ``H`` and ``W`` divisible by ``2**depth``.

        Returns
        -------
        Tensor (B, channels, H, W)
            Output features, same shape as ``x``.

        Examples
        --------
        >>> Hourglass(depth=3, channels=4)(torch.zeros(2, 4, 16, 8)).shape
        torch.Size([2, 4, 16, 8])
        """
        up1 = self.up1(x)
        low = self.low3(self.low2(self.low1(self.pool(x))))
        return up1 + self.upsample(low)


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class StackedHourglass(nn.Module):
    """Stacked hourglass with intermediate supervision and (optional) ACNN attention masks.

    Parameters
    ----------
    config : HourglassConfig, optional
        Architecture; the seed's defaults (4 stacks, 256 channels, 16 joints, attention on).

    Attributes
    ----------
    attention_active : bool
        When False the masks are all ones (training phase A of section 3.3, or a plain
        hourglass); set by the trainer, defaults to ``config.attention``.

    Examples
    --------
    >>> cfg = HourglassConfig(num_stacks=2, channels=16, depth=2, input_size=32)
    >>> out = StackedHourglass(cfg).eval()(torch.zeros(1, 3, 32, 32))
    >>> tuple(out.predictions.shape), tuple(out.masks.shape)
    ((1, 2, 16, 8, 8), (1, 2, 1, 8, 8))
    """

    def __init__(self, config: HourglassConfig | None = None):
        super().__init__()
        cfg = (config or HourglassConfig()).validate()
        self.config = cfg
        c, k = cfg.channels, cfg.num_joints
        # 256 → 128 (7×7 stride 2) → residual → max-pool 128 → 64.
        # Stem widths c/4 and c/2: Newell's 64 and 128 at the default width 256.
        c4, c2 = max(c // 4, 2), max(c // 2, 2)
        self.stem = nn.Sequential(
            nn.Conv2d(3, c4, 7, stride=2, padding=3),
            nn.BatchNorm2d(c4),
            nn.ReLU(inplace=True),
            Residual(c4, c2),
            nn.MaxPool2d(2, 2),
            Residual(c2, c2),
            Residual(c2, c),
        )
        s = cfg.num_stacks
        self.hourglasses = nn.ModuleList([Hourglass(cfg.depth, c, cfg.num_blocks) for _ in range(s)])
        self.features = nn.ModuleList(
            [nn.Sequential(*[Residual(c, c) for _ in range(cfg.num_blocks)]) for _ in range(s)]
        )
        self.fc = nn.ModuleList([_conv_bn_relu(c, c) for _ in range(s)])  # f(·) of eq. (1)
        self.score = nn.ModuleList([nn.Conv2d(c, k, 1) for _ in range(s)])  # H(i), no BN/ReLU
        self.fc_ = nn.ModuleList([nn.Conv2d(c, c, 1) for _ in range(s - 1)])
        self.score_ = nn.ModuleList([nn.Conv2d(k, c, 1) for _ in range(s - 1)])
        if cfg.attention:
            # f_c of eq. (2): 1×1 convolution, sigmoid; one mask for each stage that has a successor.
            self.mask = nn.ModuleList([nn.Conv2d(c, 1, 1) for _ in range(s - 1)])
            for conv in self.mask:
                nn.init.normal_(conv.weight, std=1e-3)
                nn.init.constant_(conv.bias, cfg.mask_bias_init)
        else:
            self.mask = nn.ModuleList()
        self.attention_active = cfg.attention

    def mask_parameters(self) -> list[nn.Parameter]:
        """Parameters of the attention branch (task B of section 3.3)."""
        return list(self.mask.parameters())

    def heatmap_parameters(self) -> list[nn.Parameter]:
        """Every other parameter (task A of section 3.3)."""
        ids = {id(p) for p in self.mask_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def mask_modules(self) -> list[nn.Module]:
        """Modules of the attention branch."""
        return [self.mask]

    def forward(self, x: torch.Tensor) -> PoseOutput:
        """Run the network.

        Parameters
        ----------
        x : Tensor (B, 3, S, S)
            Normalised images, ``S = config.input_size``.

        Returns
        -------
        PoseOutput

        Raises
        ------
        ValueError
            If ``x`` does not have the expected shape.
        """
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != cfg.input_size or x.shape[3] != cfg.input_size:
            raise ValueError(f"x: expected a (B, 3, {cfg.input_size}, {cfg.input_size}) tensor, got {tuple(x.shape)}")
        x = self.stem(x)
        b, _, h, w = x.shape
        ones = x.new_ones(b, 1, h, w)
        masks = [ones]
        probs = [ones]
        heatmaps = []
        use_masks = cfg.attention and self.attention_active
        for i in range(cfg.num_stacks):
            feat = self.features[i](self.hourglasses[i](x))  # X(i) + θ(X(i))
            y = self.fc[i](feat)
            heat = self.score[i](y)
            heatmaps.append(heat)
            if i < cfg.num_stacks - 1:
                p = torch.sigmoid(self.mask[i](feat)) if use_masks else ones
                m = binary_mask(p) if use_masks and cfg.mask_mode == "binary" else p
                masks.append(m)
                probs.append(p)
                # eq. (1): next input = f(...) ⊙ M(i), the mask replicated over the channels.
                x = (x + self.fc_[i](y) + self.score_[i](heat)) * m
        heat_t = torch.stack(heatmaps, dim=1)
        mask_t = torch.stack(masks, dim=1)
        return PoseOutput(combine_predictions(heat_t, mask_t), heat_t, mask_t, torch.stack(probs, dim=1))
