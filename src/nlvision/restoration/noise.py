"""Noise-level estimation and synthetic noise (seed 003, "Noise Estimation").

Two estimators of the standard deviation sigma of additive white Gaussian noise:

``method="mad"``
    The seed's estimator, exactly: filter with [-1, 1] (horizontal first differences), which
    brings flat areas around zero and turns the noise into N(0, 2 sigma^2), then the robust
    Median of Absolute Deviation: sigma_hat = MAD{z (*) [-1, 1]} / (0.67449 sqrt(2)).
    Image structure (edges, texture) survives the filter, so it is biased upward at low sigma.

``method="pca"`` (default)
    Patch-PCA noise level estimation after Chen, Zhu & Heng (ICCV 2015): the covariance of the
    image's p x p patches has its clean-image energy in a few principal directions; the
    remaining ("redundant") eigenvalues all equal sigma^2. Sorting the eigenvalues, the largest
    trailing set whose mean equals its median is taken as the noise eigenvalues and sigma^2 is
    their mean. Real files are clipped to [0, 1] and quantised: clipping removes noise in
    saturated areas, so patches that touch the range limits are excluded, and the exclusion is
    refined once with the first estimate (patches whose local mean lies within 2 sigma_hat of 0
    or 1 are left out as well).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from nlvision.imageio import validate_image

__all__ = ["METHODS", "add_noise", "estimate_sigma", "sigma_mad", "sigma_pca"]

#: Valid ``method`` names of :func:`estimate_sigma`.
METHODS = ("pca", "mad")

_MAD_TO_SIGMA = 0.67449  # Phi^{-1}(3/4): MAD of N(0, 1)
_MARGIN = 2.0  # refinement: patches whose mean is within _MARGIN sigma_hat of 0 or 1 are left out


def sigma_mad(image: np.ndarray) -> float:
    """The seed's estimator on one 2-D channel: MAD{z (*) [-1, 1]} / (0.67449 sqrt(2)).

    Parameters
    ----------
    image : ndarray, shape (H, W), W >= 2
        Noisy gray image.

    Returns
    -------
    float
        sigma_hat in image units.

    Raises
    ------
    ValueError
        Empty, non-finite, not 2-D, or narrower than 2 pixels.

    Examples
    --------
    >>> z = np.array([[0.0, 1.0, 0.0, 1.0, 0.0]])  # differences +-1: MAD = 0
    >>> sigma_mad(z)
    0.0
    """
    z = validate_image(image, allow_color=False)
    if z.shape[1] < 2:
        raise ValueError(f"image: expected a width >= 2 for the [-1, 1] filter, got shape {z.shape}")
    d = z[:, 1:] - z[:, :-1]  # z (*) [-1, 1], 'valid' part
    mad = np.median(np.abs(d - np.median(d)))
    return float(mad / (_MAD_TO_SIGMA * math.sqrt(2.0)))


def _patch_covariance(z: np.ndarray, p: int, keep: np.ndarray) -> tuple[np.ndarray, int]:
    """Covariance of the p x p patches whose top-left corner is selected by ``keep``."""
    from numpy.lib.stride_tricks import sliding_window_view

    win = sliding_window_view(z, (p, p))  # (h, w, p, p) view
    X = win[keep].reshape(-1, p * p)
    n = X.shape[0]
    X = X - X.mean(axis=0)
    return (X.T @ X) / max(n - 1, 1), n


def _noise_eigen_level(eig: np.ndarray) -> float:
    """Chen et al.'s rule: with eigenvalues sorted descending, the first i such that the mean of
    lambda_i..lambda_r is (not above) their median; returns that mean (sigma^2)."""
    lam = np.sort(np.clip(eig, 0.0, None))[::-1]
    r = lam.size
    tail_sum = np.cumsum(lam[::-1])[::-1]  # sum of lam[i:]
    counts = np.arange(r, 0, -1)
    means = tail_sum / counts
    for i in range(r):  # r <= p^2 eigenvalues: a loop over eigenvalues, not pixels
        tail = lam[i:]
        above = np.count_nonzero(tail > means[i])
        below = np.count_nonzero(tail < means[i])
        if above >= below:
            return float(means[i])
    return float(lam[-1])


def sigma_pca(image: np.ndarray, patch_size: int = 7, *, stride: int = 1) -> float:
    """Patch-PCA noise level of one 2-D channel (Chen, Zhu & Heng, ICCV 2015), robust to clipping.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Noisy gray image in [0, 1].
    patch_size : int
        Patch side p (default 7, r = 49 eigenvalues).
    stride : int
        Step between patch corners (1 = all patches; larger is faster on big images).

    Returns
    -------
    float
        sigma_hat in image units.

    Raises
    ------
    ValueError
        Empty or non-finite image, image smaller than the patch, patch_size < 2, stride < 1.

    References
    ----------
    G. Chen, F. Zhu, P. A. Heng, "An Efficient Statistical Method for Image Noise Level
    Estimation", ICCV 2015 (Algorithm 1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = 0.5 + rng.normal(0, 0.05, (64, 64))
    >>> round(sigma_pca(z), 2)
    0.05
    """
    z = validate_image(image, allow_color=False)
    p = _check_int(patch_size, "patch_size", 2)
    stride = _check_int(stride, "stride", 1)
    if z.shape[0] < p or z.shape[1] < p:
        raise ValueError(f"image: shape {z.shape} is smaller than the {p}x{p} patch (patch_size={p})")
    from scipy.ndimage import maximum_filter, minimum_filter, uniform_filter

    h, w = z.shape[0] - p + 1, z.shape[1] - p + 1
    # patch min / max / mean, indexed by the patch's top-left corner
    pmin = _corner_filter(minimum_filter, z, p)
    pmax = _corner_filter(maximum_filter, z, p)
    grid = np.zeros((h, w), dtype=bool)
    grid[::stride, ::stride] = True
    eps = 0.5 / 255  # one half 8-bit level: "saturated" pixels are those at the range limits
    unclipped = grid & (pmin > eps) & (pmax < 1 - eps)
    keep = unclipped if np.count_nonzero(unclipped) >= 4 * p * p else grid
    sigma = math.sqrt(_noise_eigen_level(np.linalg.eigvalsh(_patch_covariance(z, p, keep)[0])))
    if keep is unclipped and sigma > 0:
        # refine: leave out patches whose true intensities may reach 0 or 1 (clipping shrinks
        # the noise there); local means are smooth so the estimate barely depends on sigma_hat
        mean = _corner_filter(uniform_filter, z, p)
        margin = _MARGIN * sigma
        refined = unclipped & (mean > margin) & (mean < 1 - margin)
        if np.count_nonzero(refined) >= 4 * p * p:
            sigma = math.sqrt(_noise_eigen_level(np.linalg.eigvalsh(_patch_covariance(z, p, refined)[0])))
    return sigma


def _corner_filter(filt: Any, z: np.ndarray, p: int) -> np.ndarray:
    """Apply a p x p sliding filter and index the result by the window's top-left corner."""
    out = filt(z, size=p, mode="nearest")
    c = p // 2  # scipy centres a size-p window at offset p // 2
    h, w = z.shape[0] - p + 1, z.shape[1] - p + 1
    return out[c : c + h, c : c + w]


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def estimate_sigma(
    image: np.ndarray,
    method: str = "pca",
    channel_axis: int | None = None,
    *,
    patch_size: int = 7,
) -> float | np.ndarray:
    """Estimate the standard deviation of additive white Gaussian noise.

    Parameters
    ----------
    image : ndarray
        Noisy image in [0, 1], (H, W), or (H, W, C) with ``channel_axis`` set.
    method : {"pca", "mad"}
        ``"pca"`` (default): patch-PCA estimator (Chen, Zhu & Heng, ICCV 2015), robust to image
        structure and to clipping. ``"mad"``: the seed's estimator
        sigma_hat = MAD{z (*) [-1, 1]} / (0.67449 sqrt(2)).
    channel_axis : int, optional
        Channel axis of a colour image; each channel is estimated separately.
    patch_size : int
        Patch side of the PCA estimator.

    Returns
    -------
    float or ndarray
        sigma_hat (image units) for a gray image; an array of one value per channel otherwise.

    Raises
    ------
    ValueError
        Unknown method (the valid ones are listed), empty / non-finite image, image smaller than
        the patch, 3-D input without ``channel_axis``.

    References
    ----------
    Seed 003, "Noise Estimation by Filtering + Robust Statistics"; Chen, Zhu & Heng (2015).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = 0.5 + rng.normal(0, 0.1, (64, 64))
    >>> round(estimate_sigma(z), 2), round(estimate_sigma(z, method="mad"), 2)
    (0.1, 0.1)
    """
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method: unknown value {method!r}; expected one of {', '.join(METHODS)}")
    method = method.lower()
    arr = np.asarray(image) if not isinstance(image, (str, bytes)) else image
    if channel_axis is not None:
        if isinstance(channel_axis, bool) or not isinstance(channel_axis, numbers.Integral):
            raise TypeError(f"channel_axis: expected an integer or None, got {channel_axis!r}")
        if np.ndim(arr) != 3 or not -3 <= channel_axis < 3:
            raise ValueError(f"channel_axis: {channel_axis!r} is invalid for an image of shape {np.shape(arr)}")
        arr = validate_image(np.moveaxis(np.asarray(arr), int(channel_axis), -1))
        return np.array([estimate_sigma(arr[..., c], method, patch_size=patch_size) for c in range(arr.shape[-1])])
    z = validate_image(arr, allow_color=True)
    if z.ndim == 3:
        raise ValueError(
            f"image: got a 3-D array of shape {z.shape} with channel_axis=None; pass channel_axis=-1 for colour images"
        )
    if method == "mad":
        return sigma_mad(z)
    return sigma_pca(z, patch_size)


def add_noise(
    image: np.ndarray,
    sigma: float,
    rng: np.random.Generator | int | None = None,
    *,
    clip: bool = False,
    quantize: int | None = None,
) -> np.ndarray:
    """Additive white Gaussian noise z = y + eta, eta ~ N(0, sigma^2) i.i.d. (seed's model).

    Parameters
    ----------
    image : ndarray
        Clean image y in [0, 1] (any shape accepted by :func:`nlvision.imageio.validate_image`).
    sigma : float
        Noise standard deviation in image units (e.g. 20/255); 0 returns a copy.
    rng : numpy.random.Generator or int, optional
        Random generator or seed (same seed, same noise).
    clip : bool
        Clip z to [0, 1], as real files are.
    quantize : int, optional
        Round to this many levels minus one (255 for 8-bit files); implies ``clip``.

    Returns
    -------
    ndarray
        Noisy image, float64.

    Raises
    ------
    ValueError
        Negative / non-finite sigma, invalid image, quantize < 1.

    Examples
    --------
    >>> z = add_noise(np.full((100, 100), 0.5), 0.1, rng=0)
    >>> round(float(z.std()), 2)
    0.1
    >>> bool(np.array_equal(z, add_noise(np.full((100, 100), 0.5), 0.1, rng=0)))
    True
    """
    y = validate_image(image)
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise TypeError(f"sigma: expected a number >= 0, got {sigma!r}")
    if not math.isfinite(float(sigma)) or sigma < 0:
        raise ValueError(f"sigma: expected a finite number >= 0 (image units), got {sigma}")
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        rng = np.random.default_rng(rng)
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, an integer seed or None, got {type(rng).__name__}")
    z = y + rng.normal(0.0, float(sigma), size=y.shape) if sigma > 0 else y.copy()
    if quantize is not None:
        q = _check_int(quantize, "quantize", 1)
        return np.round(np.clip(z, 0.0, 1.0) * q) / q
    return np.clip(z, 0.0, 1.0) if clip else z
