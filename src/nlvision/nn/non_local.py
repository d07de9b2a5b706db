"""Non-local feature-denoising block (embedded-Gaussian non-local mean + 1×1 conv + BN + residual).

For a feature map ``x`` the block computes (seed eqs. 8–10)

    y_i = 1/C(x) Σ_j f(x_i, x_j) g(x_j),   f(x_i, x_j) = exp(θ(x_i)ᵀ φ(x_j) / d),
    C(x) = Σ_j f(x_i, x_j)

i.e. ``y = softmax(θᵀφ / d) g`` over all H·W positions, with θ, φ, g 1×1 convolutions to
``d = inter_channels`` channels. The denoised map goes through a 1×1 convolution back to ``C``
channels and a BatchNorm whose scale is initialised to zero, and is added to the input (residual),
so a freshly built block is exactly the identity and can be inserted into a pretrained network.

The attention is computed with :func:`torch.nn.functional.scaled_dot_product_attention`, whose
fused / memory-efficient kernels do not materialise the (H·W)² matrix when they are available;
the math fallback on CPU still works for any size.

Note on the temperature: the seed's eq. 9 divides by ``d`` (the number of embedding channels);
Xie et al. divide by √d. The default follows the seed (``scale=None`` → ``1/d``); pass
``scale=d**-0.5`` for Xie et al.'s variant.

References
----------
Seed 000, section 2.3, eqs. 8–10 and Fig. 2. Wang, Girshick, Gupta, He, "Non-local Neural
Networks", CVPR 2018. Xie, Wu, van der Maaten, Yuille, He, "Feature Denoising for Improving
Adversarial Robustness", CVPR 2019.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["non_local_mean", "NonLocalBlock"]


def non_local_mean(theta: Tensor, phi: Tensor, g: Tensor, scale: float | None = None) -> Tensor:
    """Embedded-Gaussian non-local mean ``softmax(θᵀφ · scale) g`` over all positions (eqs. 8–10).

    Parameters
    ----------
    theta, phi : Tensor (B, d, H, W)
        Query and key embeddings.
    g : Tensor (B, c, H, W)
        Values.
    scale : float, optional
        Multiplier of θᵀφ inside the exponential; ``None`` means ``1/d`` (eq. 9).

    Returns
    -------
    Tensor (B, c, H, W)
        ``y_i = Σ_j softmax_j(scale · θ_iᵀ φ_j) g_j``: at every position, the similarity-weighted
        average of ``g`` over all ``H·W`` positions.

    Raises
    ------
    TypeError
        For a non-tensor ``theta``, ``phi`` or ``g``.
    ValueError
        For inputs that are not 4-D, ``phi`` shaped unlike ``theta``, or ``g`` with another
        batch or spatial size than ``theta``.

    References
    ----------
    Seed 000, section 2.3, eqs. 8–10. Wang, Girshick, Gupta, He, "Non-local Neural Networks",
    CVPR 2018 (embedded-Gaussian non-local operation).

    Examples
    --------
    >>> t = torch.zeros(1, 2, 2, 2)   # equal similarities -> plain average of g
    >>> g = torch.arange(4.0).view(1, 1, 2, 2)
    >>> non_local_mean(t, t, g).flatten().tolist()
    [1.5, 1.5, 1.5, 1.5]

    Two positions, ``d = 1``, ``θ = φ = (0, √log 3)``, ``g = (0, 4)``, scale 1: position 0 sees
    logits (0, 0) → weights (1/2, 1/2) → 2; position 1 sees (0, log 3) → (1/4, 3/4) → 3.

    >>> import math
    >>> t = torch.tensor([0.0, math.sqrt(math.log(3))]).view(1, 1, 1, 2)
    >>> y = non_local_mean(t, t, torch.tensor([0.0, 4.0]).view(1, 1, 1, 2), scale=1.0)
    >>> y.shape, [round(v, 4) for v in y.flatten().tolist()]
    (torch.Size([1, 1, 1, 2]), [2.0, 3.0])
    """
    for name, t in (("theta", theta), ("phi", phi), ("g", g)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 4:
            raise ValueError(f"{name}: expected shape (B, C, H, W), got {tuple(t.shape)}")
    if theta.shape != phi.shape:
        raise ValueError(f"phi: expected the shape of theta {tuple(theta.shape)}, got {tuple(phi.shape)}")
    if g.shape[0] != theta.shape[0] or g.shape[2:] != theta.shape[2:]:
        raise ValueError(f"g: expected batch and spatial size of theta {tuple(theta.shape)}, got {tuple(g.shape)}")
    b, d, h, w = theta.shape
    c = g.shape[1]
    scale = 1.0 / d if scale is None else float(scale)
    q = theta.flatten(2).transpose(1, 2).unsqueeze(1)  # (B, 1, HW, d)
    k = phi.flatten(2).transpose(1, 2).unsqueeze(1)
    v = g.flatten(2).transpose(1, 2).unsqueeze(1)  # (B, 1, HW, c)
    y = F.scaled_dot_product_attention(q, k, v, scale=scale)
    return y.squeeze(1).transpose(1, 2).reshape(b, c, h, w)


class NonLocalBlock(nn.Module):
    """Non-local feature-denoising block of the NFD network (seed Fig. 2).

    ``z = x + BN(W_z * nonlocal_mean(θ(x), φ(x), g(x)))`` with ``BN.weight`` initialised to 0,
    so the block starts as the identity.

    Parameters
    ----------
    channels : int
        Input (and output) channels ``C``.
    inter_channels : int, optional
        Embedding channels ``d`` (``C // 2`` as in Wang et al., at least 1).
    scale : float, optional
        Softmax temperature multiplier; ``None`` = ``1/d`` (seed eq. 9).

    Raises
    ------
    ValueError
        For non-positive channel counts.

    Examples
    --------
    >>> blk = NonLocalBlock(8).eval()
    >>> x = torch.randn(2, 8, 4, 3)
    >>> bool(torch.equal(blk(x), x))
    True
    """

    def __init__(self, channels: int, inter_channels: int | None = None, scale: float | None = None) -> None:
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ValueError(f"channels: expected a positive int, got {channels!r}")
        if inter_channels is None:
            inter_channels = max(1, channels // 2)
        if not isinstance(inter_channels, int) or inter_channels < 1:
            raise ValueError(f"inter_channels: expected a positive int, got {inter_channels!r}")
        self.channels = channels
        self.inter_channels = inter_channels
        self.scale = scale
        self.theta = nn.Conv2d(channels, inter_channels, 1)
        self.phi = nn.Conv2d(channels, inter_channels, 1)
        self.g = nn.Conv2d(channels, inter_channels, 1)
        self.out = nn.Conv2d(inter_channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"x: expected shape (B, {self.channels}, H, W), got {tuple(x.shape)}")
        y = non_local_mean(self.theta(x), self.phi(x), self.g(x), self.scale)
        return x + self.bn(self.out(y))
