"""Random erasing augmentations: channel-level random erasing (CRE), plain random erasing (RE)
and random grayscale (the GGPR defense baseline).

All functions work on a batch of images ``(B, C, H, W)`` with values in [0, 1], are vectorised
over the batch (no per-pixel Python loop) and take a ``torch.Generator`` so that the same seed
gives the same result. Each has a thin ``nn.Module`` wrapper that is active only in training
mode.

Rectangle sampling (seed, eqs. 1–7)
-----------------------------------
For an image of area ``S = W × H`` (eq. 1) a target area ``S_e`` with ``S_l < S_e / S < S_h``
(eq. 2) and an aspect ratio ``r_1 < r_e < r_2`` (eq. 3) are drawn; the rectangle has
``H_e = sqrt(S_e r_e)`` (eq. 4) and ``W_e = sqrt(S_e / r_e)`` (eq. 5) and its top-left corner
``(x_e, y_e)`` must satisfy ``x_e + W_e <= W`` (eq. 6) and ``y_e + H_e <= H`` (eq. 7). When the
rectangle does not fit, the draw is repeated (up to ``max_attempts`` times, vectorised: all
attempts are drawn at once and the first one that fits is kept; if none fits the image is left
unchanged, as in Zhong et al.).

CRE draws one rectangle *per channel independently* (R, G and B get different rectangles),
plain RE one rectangle shared by all channels.

Fill value
----------
The seed describes two fills: random values in [0, 255] (i.e. uniform in [0, 1] here) for the
generic random-erasing procedure, and, for CRE, "each pixel of the erased region in each
channel is assigned a predetermined value α computed as the mean of that channel". The default
of :func:`channel_random_erasing` is ``fill="mean"`` because that is the value the seed gives
for the channel-level variant (the last, CRE-specific paragraph of section 2.2), and because a
mean fill does not inject high-frequency noise into the training distribution (the random fill
is available as ``fill="random"``). Plain RE defaults to ``fill="random"`` as in Zhong et al.

References
----------
Seed 000, section 2.2, eqs. 1–7. Zhong, Zheng, Kang, Li, Yang, "Random Erasing Data
Augmentation", AAAI 2020 (defaults p = 0.5, s_l = 0.02, s_h = 0.4, r_1 = 0.3).
Gong, Zeng, Chen, Luo, Weng, Zhou, Huang, "A person re-identification data augmentation method
with adversarial defense effect", arXiv:2101.08783 (random grayscale / local grayscale patch
replacement, GGPR).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = [
    "ErasingConfig",
    "sample_rectangles",
    "channel_random_erasing",
    "random_erasing",
    "random_grayscale",
    "ChannelRandomErasing",
    "RandomErasing",
    "RandomGrayscale",
    "FILLS",
]

#: valid fill names
FILLS = ("mean", "random")


@dataclass
class ErasingConfig:
    """Hyper-parameters of (channel-level) random erasing (Zhong et al. defaults).

    The values are checked when a module (:class:`ChannelRandomErasing`, :class:`RandomErasing`)
    is built from the configuration, not by the dataclass itself.

    Parameters
    ----------
    probability : float, default 0.5
        Probability ``P`` that an image is erased (seed §2.2).
    area : tuple of float, default (0.02, 0.4)
        ``(S_l, S_h)``: bounds of the erased fraction ``S_e / S`` (eq. 2).
    aspect : tuple of float, default (0.3, 1/0.3)
        ``(r_1, r_2)``: bounds of the aspect ratio ``r_e`` (eq. 3).
    fill : {"mean", "random"}, default "mean"
        Fill of the erased pixels: the channel mean ``α`` or uniform values in [0, 1] (see the
        module docstring).
    max_attempts : int, default 100
        Rectangle draws before giving up on an image (it is then left unchanged).

    References
    ----------
    Seed 000, section 2.2, eqs. 1–7. Zhong, Zheng, Kang, Li, Yang, "Random Erasing Data
    Augmentation", AAAI 2020 (p = 0.5, s_l = 0.02, s_h = 0.4, r_1 = 0.3).

    Examples
    --------
    >>> c = ErasingConfig(probability=1.0, fill="random")
    >>> c.probability, c.area, c.fill, c.max_attempts
    (1.0, (0.02, 0.4), 'random', 100)
    >>> round(c.aspect[0] * c.aspect[1], 12)   # r_2 = 1 / r_1
    1.0
    """

    probability: float = 0.5
    area: tuple[float, float] = (0.02, 0.4)
    aspect: tuple[float, float] = (0.3, 1 / 0.3)
    fill: str = "mean"
    max_attempts: int = 100


def _check_images(images: object, name: str = "images") -> Tensor:
    if not isinstance(images, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor (B, C, H, W), got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{name}: expected shape (B, C, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor with values in [0, 1], got dtype {images.dtype}")
    return images


def _check_params(probability: float, area: tuple[float, float], aspect: tuple[float, float], max_attempts: int) -> None:
    if not isinstance(probability, (int, float)) or not 0.0 <= float(probability) <= 1.0:
        raise ValueError(f"probability: expected a number in [0, 1], got {probability!r}")
    if len(tuple(area)) != 2 or not 0.0 < area[0] <= area[1] <= 1.0:
        raise ValueError(f"area: expected (S_l, S_h) with 0 < S_l <= S_h <= 1, got {area!r}")
    if len(tuple(aspect)) != 2 or not 0.0 < aspect[0] <= aspect[1]:
        raise ValueError(f"aspect: expected (r_1, r_2) with 0 < r_1 <= r_2, got {aspect!r}")
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError(f"max_attempts: expected a positive int, got {max_attempts!r}")


def sample_rectangles(
    n: int,
    height: int,
    width: int,
    *,
    area: tuple[float, float] = (0.02, 0.4),
    aspect: tuple[float, float] = (0.3, 1 / 0.3),
    max_attempts: int = 100,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw ``n`` erasing rectangles per eqs. 2–7 and return them as boolean masks.

    Parameters
    ----------
    n : int
        Number of rectangles.
    height, width : int
        Image size ``H``, ``W`` (eq. 1).
    area : (float, float)
        ``(S_l, S_h)``: bounds of ``S_e / S`` (eq. 2).
    aspect : (float, float)
        ``(r_1, r_2)``: bounds of ``r_e = H_e / W_e`` (eq. 3); drawn log-uniformly so that
        ``r`` and ``1/r`` are equally likely (as in Zhong et al.'s reference code).
    max_attempts : int
        Draws per rectangle; the first one that fits (eqs. 6–7) is kept.
    generator : torch.Generator, optional
        Source of randomness.
    device : torch device, optional
        Where the masks live.

    Returns
    -------
    masks : Tensor of bool, shape (n, H, W)
        True inside the rectangle.
    found : Tensor of bool, shape (n,)
        False where no draw fitted (the mask is then empty).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> m, ok = sample_rectangles(4, 32, 16, generator=g)
    >>> m.shape, bool(ok.all())
    (torch.Size([4, 32, 16]), True)
    >>> bool(((m.float().mean((1, 2)) >= 0.0) & (m.float().mean((1, 2)) <= 0.45)).all())
    True
    """
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n: expected a non-negative int, got {n!r}")
    if not isinstance(height, int) or not isinstance(width, int) or height < 1 or width < 1:
        raise ValueError(f"height, width: expected positive ints, got {height!r}, {width!r}")
    _check_params(0.5, area, aspect, max_attempts)
    s = float(height * width)  # eq. 1
    shape = (n, max_attempts)
    u = torch.rand(shape, generator=generator)
    s_e = s * (area[0] + (area[1] - area[0]) * u)  # eq. 2
    log_r = torch.log(torch.tensor(aspect[0])) + (torch.log(torch.tensor(aspect[1])) - torch.log(torch.tensor(aspect[0]))) * torch.rand(shape, generator=generator)
    r_e = torch.exp(log_r)  # eq. 3
    h_e = torch.round(torch.sqrt(s_e * r_e)).long()  # eq. 4
    w_e = torch.round(torch.sqrt(s_e / r_e)).long()  # eq. 5
    fits = (h_e >= 1) & (w_e >= 1) & (h_e < height) & (w_e < width)
    found = fits.any(dim=1)
    first = torch.argmax(fits.to(torch.int8), dim=1)
    idx = torch.arange(n)
    h_e, w_e = h_e[idx, first], w_e[idx, first]
    # top-left corner uniformly among positions satisfying eqs. 6-7
    ux, uy = torch.rand(n, generator=generator), torch.rand(n, generator=generator)
    x_e = torch.floor(ux * (width - w_e + 1).clamp(min=1)).long()
    y_e = torch.floor(uy * (height - h_e + 1).clamp(min=1)).long()
    ys = torch.arange(height).view(1, height, 1)
    xs = torch.arange(width).view(1, 1, width)
    masks = (
        (ys >= y_e.view(n, 1, 1)) & (ys < (y_e + h_e).view(n, 1, 1))
        & (xs >= x_e.view(n, 1, 1)) & (xs < (x_e + w_e).view(n, 1, 1))
        & found.view(n, 1, 1)
    )
    return masks.to(device) if device is not None else masks, found.to(device) if device is not None else found


def _fill_values(images: Tensor, masks: Tensor, fill: str, generator: torch.Generator | None) -> Tensor:
    """Per-pixel fill tensor shaped like ``images``."""
    if fill == "mean":
        # alpha: mean of each channel of each image (seed §2.2, last paragraph)
        return images.mean(dim=(2, 3), keepdim=True).expand_as(images)
    values = torch.rand(images.shape, generator=generator, dtype=torch.float32)
    return values.to(device=images.device, dtype=images.dtype)


def _erase(images: Tensor, probability: float, area, aspect, fill: str, max_attempts: int,
           generator: torch.Generator | None, per_channel: bool) -> Tensor:
    images = _check_images(images)
    _check_params(probability, area, aspect, max_attempts)
    if fill not in FILLS:
        raise ValueError(f"fill: unknown fill {fill!r}; valid: {list(FILLS)}")
    b, c, h, w = images.shape
    selected = torch.rand(b, generator=generator) < probability
    n = b * c if per_channel else b
    masks, _ = sample_rectangles(n, h, w, area=area, aspect=aspect, max_attempts=max_attempts, generator=generator)
    masks = masks.view(b, c, h, w) if per_channel else masks.view(b, 1, h, w).expand(b, c, h, w)
    masks = (masks & selected.view(b, 1, 1, 1)).to(images.device)
    values = _fill_values(images, masks, fill, generator)
    return torch.where(masks, values, images)


def channel_random_erasing(
    images: Tensor,
    probability: float = 0.5,
    *,
    area: tuple[float, float] = (0.02, 0.4),
    aspect: tuple[float, float] = (0.3, 1 / 0.3),
    fill: str = "mean",
    max_attempts: int = 100,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Channel-level random erasing (CRE): one random rectangle per channel, independently.

    With probability ``probability`` an image is selected; then each of its channels gets its
    own rectangle (eqs. 2–7), filled with the channel mean ``α`` (``fill="mean"``, default) or
    uniform random values in [0, 1] (``fill="random"``, the seed's [0, 255] range).

    Parameters
    ----------
    images : Tensor (B, C, H, W), float in [0, 1]
        Batch of images.
    probability : float
        Erasing probability ``P`` (0.5).
    area, aspect : (float, float)
        ``(S_l, S_h)`` (eq. 2) and ``(r_1, r_2)`` (eq. 3).
    fill : {"mean", "random"}
        Fill value (see the module docstring for the choice of default).
    max_attempts : int
        Rectangle draws per channel.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    Tensor
        A new tensor; ``images`` is not modified.

    Raises
    ------
    TypeError, ValueError
        For a non-tensor / non-float input, a wrong shape, out-of-range parameters or an
        unknown fill.

    References
    ----------
    Seed 000, section 2.2, eqs. 1–7.

    Examples
    --------
    >>> x = torch.rand(2, 3, 32, 16, generator=torch.Generator().manual_seed(1))
    >>> y = channel_random_erasing(x, 1.0, generator=torch.Generator().manual_seed(0))
    >>> y.shape == x.shape, bool((y != x).any())
    (True, True)
    """
    return _erase(images, probability, area, aspect, fill, max_attempts, generator, per_channel=True)


def random_erasing(
    images: Tensor,
    probability: float = 0.5,
    *,
    area: tuple[float, float] = (0.02, 0.4),
    aspect: tuple[float, float] = (0.3, 1 / 0.3),
    fill: str = "random",
    max_attempts: int = 100,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Plain random erasing (RE, Zhong et al.): one rectangle shared by all channels.

    With probability ``probability`` an image is selected; one rectangle (eqs. 2–7) is drawn
    for it and erased in every channel. Unlike :func:`channel_random_erasing`, the default fill
    is uniform random values in [0, 1], as in Zhong et al.

    Parameters
    ----------
    images : Tensor (B, C, H, W), float in [0, 1]
        Batch of images.
    probability : float
        Erasing probability ``P`` (0.5).
    area : (float, float)
        ``(S_l, S_h)``: bounds of the erased fraction ``S_e / S`` (eq. 2).
    aspect : (float, float)
        ``(r_1, r_2)``: bounds of the aspect ratio (eq. 3).
    fill : {"mean", "random"}
        Fill value: uniform random values (``"random"``, default) or the channel mean.
    max_attempts : int
        Rectangle draws per image; an image where none fits is left unchanged.
    generator : torch.Generator, optional
        Source of randomness (the same seed gives the same result).

    Returns
    -------
    Tensor (B, C, H, W)
        A new tensor with the erased rectangles filled; ``images`` is not modified.

    Raises
    ------
    TypeError
        For a non-tensor or a non-floating-point input.
    ValueError
        For a shape other than (B, C, H, W), out-of-range ``probability``, ``area``, ``aspect``
        or ``max_attempts``, or an unknown fill.

    References
    ----------
    Zhong, Zheng, Kang, Li, Yang, "Random Erasing Data Augmentation", AAAI 2020. Seed 000,
    section 2.2, eqs. 1–7.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 20, 10)
    >>> y = random_erasing(x, 1.0, fill="random", generator=torch.Generator().manual_seed(0))
    >>> m = y != 0
    >>> bool((m[0, 0] == m[0, 1]).all() and (m[0, 1] == m[0, 2]).all())   # same rectangle in R, G, B
    True
    >>> 0.02 <= m[0, 0].float().mean().item() <= 0.45, bool(torch.equal(x, torch.zeros(1, 3, 20, 10)))
    (True, True)
    >>> bool(torch.equal(random_erasing(x, 0.0), x))   # P = 0: nothing erased
    True
    """
    return _erase(images, probability, area, aspect, fill, max_attempts, generator, per_channel=False)


def random_grayscale(
    images: Tensor,
    probability: float = 0.05,
    *,
    patch_probability: float = 0.4,
    area: tuple[float, float] = (0.02, 0.4),
    aspect: tuple[float, float] = (0.3, 1 / 0.3),
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random grayscale augmentation (GGPR defense baseline, Gong et al. 2021).

    Two steps, as in GGPR: (1) global — with probability ``probability`` the whole image is
    replaced by its grayscale version (ITU-R 601 luma replicated on the 3 channels); (2) local —
    with probability ``patch_probability`` a random rectangle (eqs. 2–7) is replaced by its
    grayscale version.

    Parameters
    ----------
    images : Tensor (B, 3, H, W), float in [0, 1]
        RGB batch.
    probability : float
        Global grayscale probability (0.05).
    patch_probability : float
        Local grayscale patch probability (0.4); 0 disables it.
    area, aspect : (float, float)
        Rectangle bounds of the local step.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    Tensor (B, 3, H, W)
        A new tensor where the selected images / rectangles are replaced by their grayscale
        version; ``images`` is not modified.

    Raises
    ------
    TypeError
        For a non-tensor or a non-floating-point input.
    ValueError
        For a shape other than (B, 3, H, W) or out-of-range ``probability``,
        ``patch_probability``, ``area`` or ``aspect``.

    References
    ----------
    Gong, Zeng, Chen, Luo, Weng, Zhou, Huang, "A person re-identification data augmentation
    method with adversarial defense effect", arXiv:2101.08783, 2021. ITU-R BT.601 luma weights
    (0.299, 0.587, 0.114).

    Examples
    --------
    >>> x = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand(1, 3, 8, 4)   # pure red
    >>> y = random_grayscale(x, 1.0, patch_probability=0.0)
    >>> torch.allclose(y, torch.full_like(x, 0.299))   # luma of red = 0.299 in every channel
    True
    >>> torch.equal(random_grayscale(x, 0.0, patch_probability=0.0), x)
    True
    """
    images = _check_images(images)
    if images.shape[1] != 3:
        raise ValueError(f"images: random grayscale needs 3 channels, got shape {tuple(images.shape)}")
    _check_params(probability, area, aspect, 100)
    if not isinstance(patch_probability, (int, float)) or not 0.0 <= patch_probability <= 1.0:
        raise ValueError(f"patch_probability: expected a number in [0, 1], got {patch_probability!r}")
    b, _, h, w = images.shape
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    gray = (images * weights).sum(1, keepdim=True).expand_as(images)
    glob = (torch.rand(b, generator=generator) < probability).view(b, 1, 1, 1).to(images.device)
    local = (torch.rand(b, generator=generator) < patch_probability).view(b, 1, 1, 1)
    masks, _ = sample_rectangles(b, h, w, area=area, aspect=aspect, generator=generator)
    masks = (masks.view(b, 1, h, w) & local).to(images.device)
    return torch.where(glob | masks, gray, images)


class _Augment(nn.Module):
    """Base class: applies the augmentation in training mode only."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__()
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(int(seed))

    def forward(self, images: Tensor) -> Tensor:  # pragma: no cover - overridden
        raise NotImplementedError


class ChannelRandomErasing(_Augment):
    """Module form of :func:`channel_random_erasing` (identity in eval mode).

    In training mode ``forward(images)`` applies channel-level random erasing with the
    configuration's hyper-parameters and the module's own generator; in eval mode it returns
    ``images`` unchanged.

    Parameters
    ----------
    config : ErasingConfig, optional
        Hyper-parameters; ``None`` means ``ErasingConfig()`` (P = 0.5, mean fill).
    seed : int, optional
        Seed of the module's ``torch.Generator`` (``None``: the generator's default seed).

    Raises
    ------
    ValueError
        For out-of-range values in ``config`` or an unknown fill.

    References
    ----------
    Seed 000, section 2.2, eqs. 1–7 (channel-level random erasing, CRE).

    Examples
    --------
    >>> x = torch.rand(1, 3, 8, 4, generator=torch.Generator().manual_seed(0))
    >>> m = ChannelRandomErasing(ErasingConfig(probability=1.0), seed=0)
    >>> y = m(x)   # training mode: erased
    >>> y.shape, bool((y != x).any())
    (torch.Size([1, 3, 8, 4]), True)
    >>> bool(torch.equal(m.eval()(x), x))   # eval mode: identity
    True
    """

    def __init__(self, config: ErasingConfig | None = None, seed: int | None = None) -> None:
        super().__init__(seed)
        self.config = config or ErasingConfig()
        c = self.config
        _check_params(c.probability, c.area, c.aspect, c.max_attempts)
        if c.fill not in FILLS:
            raise ValueError(f"fill: unknown fill {c.fill!r}; valid: {list(FILLS)}")

    def forward(self, images: Tensor) -> Tensor:
        if not self.training:
            return images
        c = self.config
        return channel_random_erasing(images, c.probability, area=c.area, aspect=c.aspect, fill=c.fill,
                                      max_attempts=c.max_attempts, generator=self.generator)


class RandomErasing(ChannelRandomErasing):
    """Module form of :func:`random_erasing` (identity in eval mode); default fill "random".

    In training mode ``forward(images)`` erases one rectangle shared by all channels; in eval
    mode it returns ``images`` unchanged.

    Parameters
    ----------
    config : ErasingConfig, optional
        Hyper-parameters; ``None`` means ``ErasingConfig(fill="random")`` (Zhong et al.).
    seed : int, optional
        Seed of the module's ``torch.Generator`` (``None``: the generator's default seed).

    Raises
    ------
    ValueError
        For out-of-range values in ``config`` or an unknown fill.

    References
    ----------
    Zhong, Zheng, Kang, Li, Yang, "Random Erasing Data Augmentation", AAAI 2020.

    Examples
    --------
    >>> RandomErasing().config.fill
    'random'
    >>> x = torch.zeros(1, 3, 16, 8)
    >>> m = RandomErasing(ErasingConfig(probability=1.0, fill="random"), seed=0)
    >>> e = m(x) != 0
    >>> bool(e.any() and torch.equal(e[0, 0], e[0, 2]))   # one rectangle, all channels
    True
    >>> bool(torch.equal(m.eval()(x), x))
    True
    """

    def __init__(self, config: ErasingConfig | None = None, seed: int | None = None) -> None:
        super().__init__(config or ErasingConfig(fill="random"), seed)

    def forward(self, images: Tensor) -> Tensor:
        if not self.training:
            return images
        c = self.config
        return random_erasing(images, c.probability, area=c.area, aspect=c.aspect, fill=c.fill,
                              max_attempts=c.max_attempts, generator=self.generator)


class RandomGrayscale(_Augment):
    """Module form of :func:`random_grayscale` (identity in eval mode).

    In training mode ``forward(images)`` applies the global and local grayscale steps with the
    module's own generator; in eval mode it returns ``images`` unchanged.

    Parameters
    ----------
    probability : float, default 0.05
        Probability that a whole image is turned grayscale.
    patch_probability : float, default 0.4
        Probability that a random rectangle of an image is turned grayscale (checked when
        the module is called).
    seed : int, optional
        Seed of the module's ``torch.Generator`` (``None``: the generator's default seed).

    Raises
    ------
    ValueError
        For ``probability`` outside [0, 1].

    References
    ----------
    Gong, Zeng, Chen, Luo, Weng, Zhou, Huang, "A person re-identification data augmentation
    method with adversarial defense effect", arXiv:2101.08783, 2021.

    Examples
    --------
    >>> x = torch.rand(2, 3, 8, 4, generator=torch.Generator().manual_seed(0))
    >>> m = RandomGrayscale(probability=1.0, patch_probability=0.0, seed=0)
    >>> y = m(x)
    >>> torch.allclose(y[:, 0], 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])
    True
    >>> bool(torch.equal(m.eval()(x), x))
    True
    """

    def __init__(self, probability: float = 0.05, patch_probability: float = 0.4, seed: int | None = None) -> None:
        super().__init__(seed)
        _check_params(probability, (0.02, 0.4), (0.3, 1 / 0.3), 1)
        self.probability = float(probability)
        self.patch_probability = float(patch_probability)

    def forward(self, images: Tensor) -> Tensor:
        if not self.training:
            return images
        return random_grayscale(images, self.probability, patch_probability=self.patch_probability, generator=self.generator)
