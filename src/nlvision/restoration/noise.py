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
    saturated areas, so patches that touch the range limits are excluded at first, then patches
    whose mean lies within 2.5 sigma_hat of 0 or 1. Only weak-texture patches enter the PCA
    (Liu, Tanaka & Okutomi, TIP 2013), which removes the upward bias of structure at low sigma.
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
_MARGIN = 2.5  # refinement: patches whose mean is within _MARGIN sigma_hat of 0 or 1 are left out


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
    >>> sigma_mad(np.array([[0.0, 0.1, 0.2, 0.3]]))  # a ramp: all differences equal, MAD = 0
    0.0
    >>> round(sigma_mad(np.random.default_rng(0).normal(0, 0.1, (100, 100))), 2)
    0.1
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


def sigma_pca(image: np.ndarray, patch_size: int = 7, *, max_iter: int = 10) -> float:
    """Patch-PCA noise level of one 2-D channel, robust to texture and to clipping.

    Steps: (1) patches that touch the range limits 0 / 1 (saturated by clipping) are left out;
    (2) weak-texture patches are selected as in Liu, Tanaka & Okutomi (TIP 2013): the texture
    strength xi = ||D_h x||^2 + ||D_v x||^2 of a pure-noise patch is sigma^2 times a Gamma
    variable of shape N/2 and scale 2 tr(D_h'D_h + D_v'D_v)/N (N = p^2); patches below its
    99 % quantile at the current sigma_hat are kept; (3) sigma_hat^2 is the noise eigenvalue level
    of their covariance by Chen, Zhu & Heng's rule (ICCV 2015, Algorithm 1: the largest trailing
    set of eigenvalues whose mean equals their median). From the second round on, the
    saturation test of step 1 (which prefers patches whose noise happened not to reach the
    limits, a downward bias at high sigma) is replaced by leaving out patches whose mean lies
    within 2.5 sigma_hat of 0 or 1. Steps 2-3 are iterated until sigma_hat is stable.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Noisy gray image in [0, 1].
    patch_size : int
        Patch side p (default 7).
    max_iter : int
        Maximum number of selection / estimation rounds.

    Returns
    -------
    float
        sigma_hat in image units.

    Raises
    ------
    ValueError
        Empty or non-finite image, image smaller than the patch, patch_size < 2, max_iter < 1.

    References
    ----------
    G. Chen, F. Zhu, P. A. Heng, "An Efficient Statistical Method for Image Noise Level
    Estimation", ICCV 2015; X. Liu, M. Tanaka, M. Okutomi, "Single-Image Noise Level Estimation
    for Blind Denoising", IEEE TIP 22(12), 2013.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = 0.5 + rng.normal(0, 0.05, (64, 64))
    >>> round(sigma_pca(z), 2)
    0.05
    """
    z = validate_image(image, allow_color=False)
    p = _check_int(patch_size, "patch_size", 2)
    max_iter = _check_int(max_iter, "max_iter", 1)
    if z.shape[0] < p or z.shape[1] < p:
        raise ValueError(f"image: shape {z.shape} is smaller than the {p}x{p} patch (patch_size={p})")
    from scipy.ndimage import maximum_filter, minimum_filter, uniform_filter
    from scipy.special import gammaincinv

    n_min = 2 * p * p
    pmin = _corner_filter(minimum_filter, z, p)
    pmax = _corner_filter(maximum_filter, z, p)
    mean = _corner_filter(uniform_filter, z, p)
    eps = 0.5 / 255  # "saturated": within half an 8-bit level of the range limits
    # only ends of the range that look clipped are treated as such (synthetic, unclipped
    # noise may leave [0, 1]: nothing was saturated there)
    lo = 0.0 if z.min() >= 0.0 else -np.inf
    hi = 1.0 if z.max() <= 1.0 else np.inf
    unclipped = (pmin > lo + eps) & (pmax < hi - eps)
    if np.count_nonzero(unclipped) < n_min:
        unclipped = np.ones_like(unclipped)
    # texture strength of every patch: sums of squared horizontal / vertical differences
    h, w = pmin.shape
    gx = np.diff(z, axis=1) ** 2  # (H, W-1)
    gy = np.diff(z, axis=0) ** 2  # (H-1, W)
    xi = _window_sum(gx, p, p - 1)[:h, :w] + _window_sum(gy, p - 1, p)[:h, :w]
    trace = 2.0 * 2.0 * p * (p - 1)  # tr(Dh'Dh + Dv'Dv) for 'valid' differences inside the patch
    N = p * p
    quantile = (2.0 * trace / N) * gammaincinv(N / 2.0, 0.99)  # Gamma(N/2, 2 tr/N) 99 % quantile
    # initial estimate: Chen et al. on all unsaturated patches (biased upward by structure);
    # the texture selection then lowers it to the fixed point (starting low would select only
    # patches whose noise happened to be weak, a downward spiral)
    sigma = _eigen_sigma(z, p, unclipped)
    for _ in range(max_iter):
        if sigma <= 0:
            break
        margin = _MARGIN * sigma
        keep = (xi < quantile * sigma**2) & (mean > lo + margin) & (mean < hi - margin)
        if np.count_nonzero(keep) < n_min:
            break
        new = _eigen_sigma(z, p, keep)
        converged = abs(new - sigma) <= 1e-3 * sigma
        sigma = new
        if converged:
            break
    return sigma


def _window_sum(a: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Sums of ``a`` over all ph x pw windows, indexed by the window's top-left corner."""
    c = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    np.cumsum(np.cumsum(a, axis=0), axis=1, out=c[1:, 1:])
    return c[ph:, pw:] - c[:-ph, pw:] - c[ph:, :-pw] + c[:-ph, :-pw]


def _eigen_sigma(z: np.ndarray, p: int, keep: np.ndarray, max_patches: int = 200_000) -> float:
    idx = np.flatnonzero(keep)
    if idx.size > max_patches:  # deterministic thinning bounds the cost on huge images
        idx = idx[:: int(math.ceil(idx.size / max_patches))]
    sel = np.zeros(keep.size, dtype=bool)
    sel[idx] = True
    cov, _ = _patch_covariance(z, p, sel.reshape(keep.shape))
    return math.sqrt(_noise_eigen_level(np.linalg.eigvalsh(cov)))


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
