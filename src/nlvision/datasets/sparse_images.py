"""Very sparse synthetic images: a few filters activated at random positions.

Seed 003, "Global Optimization vs Partial Aggregation ... synthetic and very sparse images"
("Results under extreme sparsity"): images that *are* exactly sparse in a convolutional
dictionary, ``y = offset + sum_m d_m * x_m`` with only a few non-zero coefficients.

References
----------
Seed 003, "Global Optimization vs Aggregation of Partial Estimates". D. Carrera, G. Boracchi,
A. Foi, B. Wohlberg, "Sparse overcomplete denoising: aggregation versus global optimization",
IEEE Signal Processing Letters 24(10), 2017.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SparseImage", "sparse_image"]


@dataclass
class SparseImage:
    """A synthetic image that is exactly sparse in a filter bank.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        ``offset + sum_m d_m * x_m`` (not clipped).
    maps : ndarray, shape (M, H, W)
        The coefficient maps ``x_m`` (circular convention of
        :func:`nlvision.restoration.csc.reconstruct` on the generating canvas, cropped).
    n_active : int
        Number of non-zero coefficients that were drawn (on the larger generating canvas).

    See Also
    --------
    sparse_image : Draws one.

    References
    ----------
    Seed 003, "Results under extreme sparsity"; D. Carrera, G. Boracchi, A. Foi, B. Wohlberg,
    "Sparse overcomplete denoising: aggregation versus global optimization", IEEE Signal
    Processing Letters 24(10), 2017.

    Examples
    --------
    With a centred delta filter the image is the offset plus the delta's coefficient map:

    >>> f = np.zeros((2, 3, 3)); f[0, 1, 1] = 1.0; f[1] = 1.0 / 3
    >>> s = sparse_image((16, 16), f, density=0.05, rng=0)
    >>> s.image.shape, s.maps.shape
    ((16, 16), (2, 16, 16))
    >>> bool(np.allclose(s.image - 0.5, s.maps[0])), int(np.count_nonzero(s.maps[1]))  # DC filter excluded
    (True, 0)
    """

    image: np.ndarray
    maps: np.ndarray
    n_active: int


def sparse_image(
    shape: tuple[int, int],
    filters: np.ndarray,
    density: float = 0.002,
    *,
    amplitude: float = 0.5,
    offset: float = 0.5,
    include_dc: bool = False,
    rng: np.random.Generator | int | None = 0,
) -> SparseImage:
    """Draw an image with ``density * H * W`` active filters at uniformly random positions.

    Coefficients are ``amplitude * s * u`` with a random sign ``s`` and ``u ~ U[0.5, 1]``; the
    active filter of each coefficient is uniform among the filters (the constant filter is
    excluded unless ``include_dc``). The image is synthesised on a canvas padded by the filter
    size and cropped, so it has no wrap-around and every border is like the interior.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.
    filters : ndarray, shape (M, K, K)
        Filter bank (e.g. :func:`nlvision.restoration.csc_denoise.dct_filters`).
    density : float, default 0.002
        Non-zero coefficients per pixel (the sparsity level, in (0, 1]).
    amplitude : float, default 0.5
        Largest coefficient magnitude.
    offset : float, default 0.5
        Constant added to the image.
    include_dc : bool, default False
        Whether constant filters may be activated.
    rng : Generator or int or None, default 0
        Random source (same seed, same image).

    Returns
    -------
    SparseImage
        The image, its coefficient maps and the number of active coefficients.

    Raises
    ------
    TypeError, ValueError
        Bad shape, density outside (0, 1], or filters larger than the image.

    References
    ----------
    Seed 003, "Results under extreme sparsity".

    Examples
    --------
    >>> f = np.zeros((2, 3, 3)); f[0, 1, 1] = 1.0; f[1] = 1.0 / 3
    >>> s = sparse_image((16, 16), f, density=0.01, rng=0)
    >>> s.image.shape, int((s.maps != 0).sum()) <= s.n_active
    ((16, 16), True)
    """
    from nlvision.restoration.csc import reconstruct

    if not isinstance(filters, np.ndarray) or filters.ndim != 3 or filters.shape[1] != filters.shape[2]:
        raise ValueError(f"filters must be an array of shape (M, K, K), got {getattr(filters, 'shape', type(filters).__name__)}")
    if len(shape) != 2 or min(int(v) for v in shape) < 1:
        raise ValueError(f"shape must be (H, W) with positive sizes, got {shape}")
    H, W = (int(v) for v in shape)
    M, K, _ = filters.shape
    if K > min(H, W):
        raise ValueError(f"filters of size {K}x{K} are larger than the image shape {shape}")
    if not (isinstance(density, (int, float)) and 0 < density <= 1 and math.isfinite(density)):
        raise ValueError(f"density must be in (0, 1], got {density}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    flat = filters.reshape(M, -1)
    const = np.ptp(flat, axis=1) <= 1e-12 * np.maximum(np.abs(flat).max(axis=1), 1e-300)
    allowed = np.arange(M) if include_dc else np.flatnonzero(~const)
    if allowed.size == 0:
        raise ValueError("filters: no non-constant filter to activate")
    Hc, Wc = H + 2 * K, W + 2 * K
    n = max(1, int(round(density * Hc * Wc)))
    maps = np.zeros((M, Hc, Wc))
    pos = gen.choice(Hc * Wc, size=n, replace=False)
    which = gen.choice(allowed, size=n)
    vals = amplitude * gen.choice([-1.0, 1.0], size=n) * gen.uniform(0.5, 1.0, size=n)
    maps[which, pos // Wc, pos % Wc] = vals
    img = offset + reconstruct(maps, filters.astype(np.float64))
    return SparseImage(image=img[K:-K, K:-K].copy(), maps=maps[:, K:-K, K:-K].copy(), n_active=n)
