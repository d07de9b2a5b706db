"""Noise-level estimation and synthetic noise (seed 003, "Noise Estimation").

Estimators of the standard deviation sigma of additive white Gaussian noise:

``method="mad"``
    The seed's estimator, exactly: filter with [-1, 1] (horizontal first differences), which
    brings flat areas around zero and turns the noise into N(0, 2 sigma^2), then the robust
    Median of Absolute Deviation: sigma_hat = MAD{z (*) [-1, 1]} / (0.67449 sqrt(2)).
    Image structure (edges, texture) survives the filter, so it is biased upward at low sigma.

``method="pca"``
    Patch-PCA noise level estimation after Chen, Zhu & Heng (ICCV 2015): the covariance of the
    image's p x p patches has its clean-image energy in a few principal directions; the
    remaining ("redundant") eigenvalues all equal sigma^2. Sorting the eigenvalues, the largest
    trailing set whose mean equals its median is taken as the noise eigenvalues and sigma^2 is
    their mean. Real files are clipped to [0, 1] and quantised: clipping removes noise in
    saturated areas, so patches that touch the range limits are excluded at first, then patches
    whose mean lies within 2.5 sigma_hat of 0 or 1. Only weak-texture patches enter the PCA
    (Liu, Tanaka & Okutomi, TIP 2013), which removes the upward bias of structure at low sigma.

``method="censored"``
    Binary and saturated images: quantiles of the clipped noise in flat areas that sit at 0 or 1.

``method="auto"`` (default, :func:`estimate_noise`)
    Chooses among the censored estimator, the clip-aware fit of local means and variances
    (:func:`sigma_clipped`, Foi et al. 2008: dark or bright images at high noise levels), patch
    PCA, and a conservative white-noise floor, and reports which one and its confidence.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

from dataclasses import dataclass, field

import numpy as np

from nlvision.imageio import validate_image

__all__ = [
    "METHODS",
    "NoiseEstimate",
    "add_noise",
    "clipped_noise_variance",
    "estimate_noise",
    "estimate_sigma",
    "sigma_censored",
    "sigma_clipped",
    "sigma_mad",
    "sigma_pca",
]

#: Valid ``method`` names of :func:`estimate_sigma`.
METHODS = ("auto", "pca", "mad", "censored")

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
        The estimate sigma_hat in image units.

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
        The estimate sigma_hat in image units.

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
    return _pca_details(z, p, max_iter)["sigma"]


def _pca_details(z: np.ndarray, p: int, max_iter: int = 10) -> dict:
    """sigma_pca's computation, with the support it had: selected / total patches, whether the
    unclipped selection had to fall back to all patches, and the white-noise floor (smallest
    eigenvalue of the selected patches' covariance, Marchenko-Pastur corrected)."""
    from scipy.ndimage import maximum_filter, minimum_filter, uniform_filter
    from scipy.special import gammaincinv

    n_min = 2 * p * p
    pmin = _corner_filter(minimum_filter, z, p)
    pmax = _corner_filter(maximum_filter, z, p)
    mean = _corner_filter(uniform_filter, z, p)
    eps = 0.5 / 255
    lo = 0.0 if z.min() >= 0.0 else -np.inf
    hi = 1.0 if z.max() <= 1.0 else np.inf
    unclipped = (pmin > lo + eps) & (pmax < hi - eps)
    fell_back = np.count_nonzero(unclipped) < n_min
    if fell_back:
        unclipped = np.ones_like(unclipped)
    h, w = pmin.shape
    xi = _texture_energy(z, p)
    shape, scale = _texture_law(p)
    quantile = scale * gammaincinv(shape, 0.99)
    sigma, floor, n_sel = _eigen_sigma(z, p, unclipped, details=True)
    for _ in range(max_iter):
        if sigma <= 0:
            break
        margin = _MARGIN * sigma
        keep = (xi < quantile * sigma**2) & (mean > lo + margin) & (mean < hi - margin)
        if np.count_nonzero(keep) < n_min:
            break
        new, floor, n_sel = _eigen_sigma(z, p, keep, details=True)
        converged = abs(new - sigma) <= 1e-3 * sigma
        sigma = new
        if converged:
            break
    near = (mean < lo + _MARGIN * sigma) | (mean > hi - _MARGIN * sigma)
    return {"sigma": sigma, "floor": floor, "n_selected": n_sel, "n_patches": h * w, "fell_back": fell_back,
            "near_limits": float(np.mean(near)), "limits": (lo, hi), "texture": xi, "mean": mean}


def _texture_energy(z: np.ndarray, p: int) -> np.ndarray:
    """xi = ||D_h x||^2 + ||D_v x||^2 of every p x p patch x (indexed by its top-left corner)."""
    h, w = z.shape[0] - p + 1, z.shape[1] - p + 1
    return _window_sum(np.diff(z, axis=1) ** 2, p, p - 1)[:h, :w] + _window_sum(np.diff(z, axis=0) ** 2, p - 1, p)[:h, :w]


def _texture_law(p: int) -> tuple[float, float]:
    """Shape and scale of the Gamma law of xi / sigma^2 for a pure-noise p x p patch (Liu et al.
    2013): shape N/2, scale 2 tr(D_h'D_h + D_v'D_v) / N with N = p^2, tr = 4 p (p - 1)."""
    return p * p / 2.0, 2.0 * (4.0 * p * (p - 1)) / (p * p)


def _window_sum(a: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Sums of ``a`` over all ph x pw windows, indexed by the window's top-left corner."""
    c = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    np.cumsum(np.cumsum(a, axis=0), axis=1, out=c[1:, 1:])
    return c[ph:, pw:] - c[:-ph, pw:] - c[ph:, :-pw] + c[:-ph, :-pw]


def _eigen_sigma(z: np.ndarray, p: int, keep: np.ndarray, max_patches: int = 200_000, details: bool = False):
    idx = np.flatnonzero(keep)
    if idx.size > max_patches:  # deterministic thinning bounds the cost on huge images
        idx = idx[:: int(math.ceil(idx.size / max_patches))]
    sel = np.zeros(keep.size, dtype=bool)
    sel[idx] = True
    cov, n = _patch_covariance(z, p, sel.reshape(keep.shape))
    eig = np.linalg.eigvalsh(cov)
    sigma = math.sqrt(_noise_eigen_level(eig))
    if not details:
        return sigma
    # Marchenko-Pastur: the smallest sample eigenvalue of white noise is ~ sigma^2 (1 - sqrt(d/n))^2
    mp = (1.0 - math.sqrt(p * p / max(n, 1))) ** 2 if n > p * p else 0.0
    floor = math.sqrt(max(float(eig[0]), 0.0) / mp) if mp > 0 else 0.0
    return sigma, floor, int(n)


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


def _quantization_step(z: np.ndarray) -> float:
    """1/255 or 1/65535 when every value is a multiple of it (8/16-bit files), else 0."""
    sample = z.ravel()[:: max(1, z.size // 20000)]
    for levels in (255, 65535):
        if np.allclose(sample * levels, np.round(sample * levels), atol=1e-6 * levels):
            return 1.0 / levels
    return 0.0


def sigma_censored(image: np.ndarray) -> tuple[float, float]:
    """Noise level from the flat areas that sit at a range limit (binary and saturated images).

    Where the clean image is exactly at 0 (or 1), the stored value is the clipped, quantised
    noise ``v = round(max(0, n) / q) q``. Pixels whose 5 x 5 neighbourhood has its median at the
    limit are taken; with the empirical CDF ``F`` of their distance to the limit, each level
    ``k`` with 0.55 < F_k < 0.98 gives ``sigma_k = (k + 1/2) q / Phi^{-1}(F_k)`` (q the
    quantisation step; for unquantised data the 60-90 % quantiles divided by the normal ones);
    sigma_hat is the median of the sigma_k. Edge pixels that fall in the region lie in the
    upper tail, which the 98 % cut leaves out.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Noisy gray image in [0, 1].

    Returns
    -------
    sigma : float
        The estimate (0 when no flat area sits at a limit).
    support : float
        Fraction of the pixels it used.

    Raises
    ------
    ValueError
        Empty or non-finite image.

    References
    ----------
    Censored-normal quantile matching (A. C. Cohen, "Truncated and Censored Samples", 1991);
    issue #15 (binary images: every patch touches 0 or 1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.zeros((64, 64)); y[:, 32:] = 1.0
    >>> z = add_noise(y, 3 / 255, rng=rng, quantize=255)
    >>> s, support = sigma_censored(z)
    >>> bool(abs(s * 255 - 3) < 0.6), bool(support > 0.5)
    (True, True)
    """
    from scipy.ndimage import median_filter
    from scipy.special import ndtri

    z = validate_image(image, allow_color=False)
    q = _quantization_step(z)
    estimates, used = [], 0
    for limit in (0.0, 1.0):
        at = np.abs(z - limit) <= 1e-9
        if at.mean() < 0.02:
            continue
        med = median_filter(z, size=5, mode="nearest")
        region = np.abs(med - limit) <= 1e-9
        d = np.abs(z[region] - limit)
        if d.size < 200:
            continue
        used += d.size
        if q > 0:
            k = np.arange(0, 64)
            F = np.searchsorted(np.sort(d), (k + 0.5) * q, side="right") / d.size
            ok = (F > 0.55) & (F < 0.98)
            estimates.extend(((k[ok] + 0.5) * q / ndtri(F[ok])).tolist())
        else:
            u = np.array([0.6, 0.7, 0.8, 0.9])
            estimates.extend((np.quantile(d, u) / ndtri(u)).tolist())
    if not estimates:
        return 0.0, 0.0
    return float(np.median(estimates)), used / z.size


#: Patches entering the clip-aware fit at most (evenly thinned beyond).
_MAX_FIT_PATCHES = 200_000
#: Weak-texture quantile of the clip-aware fit (chosen on hubble_deep_field and a darkened astronaut).
_CLIPPED_QUANTILE = 0.9


@functools.lru_cache(maxsize=1)
def _clipped_moment_table() -> tuple[np.ndarray, np.ndarray]:
    """E[max(0, X)] / sigma and Var[max(0, X)] / sigma^2 for X ~ N(t sigma, sigma^2), on a grid
    of t (the first is increasing in t, so it can be inverted by interpolation)."""
    from scipy.special import ndtr

    t = np.linspace(-8.0, 60.0, 20001)
    pdf = np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    cdf = ndtr(t)
    mean = t * cdf + pdf
    var = (t * t + 1.0) * cdf + t * pdf - mean * mean
    return mean, np.clip(var, 0.0, None)


def clipped_noise_variance(clipped_mean: np.ndarray, sigma: float) -> np.ndarray:
    """Variance of ``max(0, mu + n)``, n ~ N(0, sigma^2), given its mean (not mu).

    The mean and the variance of a normal variable clipped at 0 are
    ``E = sigma g(t)`` with ``g(t) = t Phi(t) + phi(t)`` and
    ``V = sigma^2 [(t^2 + 1) Phi(t) + t phi(t) - g(t)^2]``, ``t = mu / sigma`` (Foi et al. 2008,
    eqs. 11-12). ``g`` is increasing, so the observed mean fixes ``t`` and hence ``V``.

    Parameters
    ----------
    clipped_mean : ndarray
        Means of the clipped variable (distance of a flat area's mean from the limit), >= 0.
    sigma : float
        Standard deviation of the noise before clipping (> 0).

    Returns
    -------
    ndarray
        The variances; ``sigma^2`` far from the limit, tending to 0 at it.

    References
    ----------
    A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical Poissonian-Gaussian noise
    modeling and fitting for single-image raw-data", IEEE TIP 17(10), 2008, section III.

    Examples
    --------
    >>> round(float(clipped_noise_variance(np.array([1.0]), 0.01)[0] / 1e-4), 6)  # far from 0
    1.0
    >>> v = clipped_noise_variance(np.array([0.1 / np.sqrt(2 * np.pi)]), 0.1)  # mu = 0
    >>> round(float(v[0] / 0.01), 4)  # 1/2 - 1/(2 pi)
    0.3408
    """
    mean_table, var_table = _clipped_moment_table()
    ratio = np.asarray(clipped_mean, dtype=np.float64) / sigma
    return sigma * sigma * np.interp(ratio, mean_table, var_table, left=0.0, right=1.0)


def sigma_clipped(image: np.ndarray, patch_size: int = 7, *, initial: float | None = None,
                  quantile: float = _CLIPPED_QUANTILE, max_iter: int = 10) -> tuple[float, int]:
    """Noise level of a clipped image from its local means and first differences.

    Dark (or bright) images at high noise levels are clipped at 0 (or 1) over most of their
    area: the stored value is ``max(0, y + n)``, whose spread is smaller than sigma, and the
    patch-PCA estimator, which leaves out patches near the limits, has too few left. Here
    every p x p patch contributes its mean ``m`` (distance to the nearer limit) and its
    texture energy ``xi`` = sum of its squared horizontal and vertical first differences. In
    a flat patch the pixels are i.i.d. clipped normals, so ``E[xi] = 2 n_d V(m; sigma)`` with
    ``n_d = 2 p (p - 1)`` differences and ``V`` the clipped variance
    (:func:`clipped_noise_variance`). sigma solves ``sum xi = c 2 n_d sum V(m; sigma)`` over the
    weak-texture patches ``xi < Q_q V(m; sigma)`` (Q_q the ``quantile`` of the Gamma law of a
    pure-noise ``xi``, as in :func:`sigma_pca`; ``c`` the mean of that law truncated at Q_q);
    selection and fit are iterated from ``initial``. Patches whose mean is below 0.2 sigma
    (almost all pixels at the limit: no information) are left out; every second patch is
    used in each direction, at most 200,000 in all.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Noisy gray image in [0, 1].
    patch_size : int
        Patch side p (default 7).
    initial : float, optional
        Starting value (default: the differences' median level).
    quantile : float
        Weak-texture quantile Q (0.9; chosen on hubble_deep_field and a darkened astronaut).
    max_iter : int
        Maximum number of selection / fit rounds.

    Returns
    -------
    sigma : float
        The estimate in image units (0 when fewer than 50 patches qualify).
    n_patches : int
        Number of weak-texture patches of the last fit.

    Raises
    ------
    ValueError
        Empty or non-finite image, image smaller than the patch, quantile outside (0, 1).

    References
    ----------
    Foi et al., IEEE TIP 17(10), 2008 (clipped-noise model); Liu, Tanaka & Okutomi, IEEE TIP
    22(12), 2013 (weak-texture selection); issue #15 (dark images at high noise levels).

    Examples
    --------
    >>> y = np.tile(np.linspace(0.0, 0.1, 128), (128, 1))     # a dark ramp
    >>> z = add_noise(y, 50 / 255, rng=0, clip=True)           # clipped at 0 almost everywhere
    >>> s, n = sigma_clipped(z)
    >>> bool(abs(s * 255 - 50) < 3), bool(float(z.std()) * 255 < 40)
    (True, True)
    """
    from scipy.ndimage import uniform_filter

    z = validate_image(image, allow_color=False)
    p = _check_int(patch_size, "patch_size", 2)
    max_iter = _check_int(max_iter, "max_iter", 1)
    if not 0.0 < float(quantile) < 1.0:
        raise ValueError(f"quantile: expected a number in (0, 1), got {quantile}")
    if z.shape[0] < p or z.shape[1] < p:
        raise ValueError(f"image: shape {z.shape} is smaller than the {p}x{p} patch (patch_size={p})")
    return _clipped_fit(_texture_energy(z, p), _corner_filter(uniform_filter, z, p), p, initial, quantile, max_iter)


def _clipped_fit(xi: np.ndarray, mean: np.ndarray, p: int, initial: float | None, quantile: float,
                 max_iter: int) -> tuple[float, int]:
    """:func:`sigma_clipped` from the patches' texture energies and means (corner-indexed maps)."""
    from scipy.optimize import brentq
    from scipy.special import gammainc, gammaincinv

    mean = np.minimum(mean, 1.0 - mean)  # distance to the nearer limit (the law is symmetric)
    xi, mean = xi[::2, ::2].ravel(), mean[::2, ::2].ravel()
    if xi.size > _MAX_FIT_PATCHES:  # deterministic thinning bounds the cost on huge images
        step = int(math.ceil(xi.size / _MAX_FIT_PATCHES))
        xi, mean = xi[::step], mean[::step]
    n_d = 2 * p * (p - 1)
    shape, scale = _texture_law(p)  # xi / V ~ Gamma(shape, scale)
    cut = gammaincinv(shape, quantile)
    trunc = gammainc(shape + 1.0, cut) / quantile  # E[X | X < cut] / E[X]
    sigma = float(initial) if initial else math.sqrt(float(np.median(xi)) / (2 * n_d))
    n_used = 0
    for _ in range(max_iter):
        if not sigma > 0:
            return 0.0, 0
        keep = (xi < cut * scale * clipped_noise_variance(mean, sigma)) & (mean > 0.2 * sigma)
        n_used = int(np.count_nonzero(keep))
        if n_used < 50:
            return 0.0, n_used
        x_sum, m_kept = float(xi[keep].sum()), mean[keep]

        def excess(s: float) -> float:
            return x_sum - trunc * 2 * n_d * float(clipped_noise_variance(m_kept, s).sum())

        if excess(1e-6) <= 0 or excess(4.0) >= 0:
            return 0.0, n_used
        new = brentq(excess, 1e-6, 4.0, xtol=1e-9)
        converged = abs(new - sigma) <= 1e-3 * sigma
        sigma = new
        if converged:
            break
    return float(sigma), n_used


@dataclass
class NoiseEstimate:
    """Result of :func:`estimate_noise`: the estimate, the estimator used and its reliability.

    Parameters
    ----------
    sigma : float
        Estimate for the whole image (mean over channels), image units.
    sigma_per_channel : list of float
        One estimate per channel (one value for gray images).
    method : str
        Estimator that produced ``sigma``: ``"pca"``, ``"censored"``, ``"clipped"``, ``"floor"``
        or ``"mad"``.
    confidence : str
        ``"high"`` or ``"low"``.
    fallback : str or None
        Why a fallback estimator was used (None when the primary one was trusted).
    details : dict
        Per-channel diagnostics (selected weak-texture patches, saturated fraction, the PCA
        estimate and the white-noise floor).

    References
    ----------
    Issue #15 ("a noise estimate that never hurts").

    Examples
    --------
    >>> est = estimate_noise(0.5 + np.random.default_rng(0).normal(0, 0.05, (64, 64)))
    >>> round(est.sigma, 2), est.method, est.confidence
    (0.05, 'pca', 'high')
    """

    sigma: float
    sigma_per_channel: list
    method: str
    confidence: str
    fallback: str | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self, scale: float = 1.0) -> dict:
        """Return the fields as a JSON-ready dict with sigmas multiplied by ``scale``.

        Parameters
        ----------
        scale : float, optional
            Multiplier of the sigmas (255 for the CLI's full-scale/255 units).

        Returns
        -------
        dict
            ``sigma, sigma_per_channel, method, confidence, fallback, details`` (the noise
            levels in ``details`` scaled too).
        """
        levels = ("pca", "floor", "censored", "clipped")
        details = {k: ([{n: (v * scale if n in levels else v) for n, v in c.items()} for c in vals]
                       if k == "channels" else vals) for k, vals in self.details.items()}
        return {"sigma": self.sigma * scale, "sigma_per_channel": [v * scale for v in self.sigma_per_channel],
                "method": self.method, "confidence": self.confidence, "fallback": self.fallback, "details": details}


#: Weak-texture patches below which the PCA estimate is not trusted (fraction of all patches).
_MIN_SUPPORT = 0.01
#: Floor / PCA ratio below which the "noise" is not white (inherent grain, texture).
_FLOOR_RATIO = 0.8
#: The floor test is made only below this PCA level (at high sigma clipping bends the spectrum).
_FLOOR_MAX_SIGMA = 8.0 / 255.0
#: Fraction of pixels in flat areas at a range limit above which the censored estimator is used.
_CENSORED_SUPPORT = 0.25
#: Share of patches whose mean lies within 2.5 sigma_hat of 0 or 1 above which the clip-aware
#: fit (:func:`sigma_clipped`) replaces patch PCA (dark or bright images at high noise).
_CLIPPED_SHARE = 0.5
#: Censored estimates from this level up are refined by the clipped-noise fit (it models the
#: clipping of flat areas off the limit too, but not the quantisation that dominates below).
_CLIPPED_MIN_SIGMA = 4.0 / 255.0


def _robust_channel(z: np.ndarray, p: int) -> tuple[float, str, str | None, dict]:
    cens, support = sigma_censored(z)
    info = {"saturated_fraction": round(support, 4)}
    if support >= _CENSORED_SUPPORT and cens > 0:
        info["censored"] = cens
        why = f"{100 * support:.0f} % of the pixels lie in flat areas at 0 or 1 (clipped)"
        if cens >= _CLIPPED_MIN_SIGMA:  # quantisation no longer dominates: the clipped-noise fit
            clipped, n_clip = sigma_clipped(z, p, initial=cens)
            info.update(clipped=clipped, clipped_patches=n_clip)
            if clipped > 0:
                return clipped, "clipped", why, info
        return cens, "censored", why, info
    d = _pca_details(z, p)
    info.update(pca=d["sigma"], floor=d["floor"], weak_texture_patches=d["n_selected"], patches=d["n_patches"],
                near_limits_fraction=round(d["near_limits"], 4))
    if d["near_limits"] >= _CLIPPED_SHARE and d["limits"] == (0.0, 1.0):
        clipped, n_clip = _clipped_fit(d["texture"], d["mean"], p, d["sigma"] or None, _CLIPPED_QUANTILE, 10)
        info.update(clipped=clipped, clipped_patches=n_clip)
        if clipped > 0:
            return clipped, "clipped", None, info
    scarce = d["fell_back"] or d["n_selected"] < max(_MIN_SUPPORT * d["n_patches"], 4 * p * p)
    coloured = (d["floor"] > 0 and d["floor"] < _FLOOR_RATIO * d["sigma"] and d["n_selected"] >= 20 * p * p
                and d["sigma"] <= _FLOOR_MAX_SIGMA)
    if scarce or coloured:
        why = (f"only {d['n_selected']} weak-texture patches of {d['n_patches']}" if scarce else
               f"the white-noise floor ({255 * d['floor']:.2f}/255) is far below the PCA level "
               f"({255 * d['sigma']:.2f}/255): structured or correlated content")
        if d["floor"] > 0:
            return min(d["floor"], d["sigma"]), "floor", why, info
        return d["sigma"], "pca", why, info
    return d["sigma"], "pca", None, info


def estimate_noise(image: np.ndarray, channel_axis: int | None = None, *, patch_size: int = 7) -> NoiseEstimate:
    """Estimate white Gaussian noise robustly, with the estimator used and a confidence.

    Per channel: (1) when >= 25 % of the pixels lie in flat areas at 0 or 1 (binary, saturated
    images), :func:`sigma_censored`, refined by :func:`sigma_clipped` when it is >= 4/255; (2) when the means of >= 50 % of the patches lie within
    2.5 sigma_hat of 0 or 1 (dark or bright images at high noise, where clipping shrinks the
    noise), the clip-aware fit :func:`sigma_clipped`; (3) otherwise the patch-PCA estimate (:func:`sigma_pca`)
    when it had enough weak-texture patches (>= 1 % of the patches) and its trailing
    eigenvalues are white (smallest eigenvalue, Marchenko-Pastur corrected, >= 0.8 x the PCA
    level, tested below 8/255); (4) otherwise the smaller of the PCA level and that white-noise floor, with
    ``confidence="low"``: an under-estimate leaves some noise, an over-estimate removes
    image content, so the fallback errs low. (:func:`nlvision.restoration.denoise_dct` with
    ``sigma=None`` halves a low-confidence estimate for the same reason.)

    Parameters
    ----------
    image : ndarray
        Noisy image in [0, 1], (H, W), or (H, W, C) with ``channel_axis``.
    channel_axis : int, optional
        Channel axis of a colour image.
    patch_size : int, optional
        Patch side of the PCA estimator (default 7).

    Returns
    -------
    NoiseEstimate
        Estimate, estimator, confidence, fallback reason and diagnostics.

    Raises
    ------
    ValueError
        Empty / non-finite image, image smaller than the patch, bad channel axis.

    References
    ----------
    Seed 003, "Noise Estimation"; Chen, Zhu & Heng (ICCV 2015); Liu, Tanaka & Okutomi (TIP
    2013); Marchenko & Pastur (1967) for the smallest-eigenvalue correction.

    Examples
    --------
    >>> y = np.zeros((64, 64)); y[16:48, 16:48] = 1.0          # a binary image
    >>> est = estimate_noise(add_noise(y, 2 / 255, rng=0, quantize=255))
    >>> est.method, bool(1.3 < est.sigma * 255 < 3)
    ('censored', True)
    """
    arr = np.asarray(image) if not isinstance(image, (str, bytes)) else image
    p = _check_int(patch_size, "patch_size", 2)
    if channel_axis is not None:
        if isinstance(channel_axis, bool) or not isinstance(channel_axis, numbers.Integral):
            raise TypeError(f"channel_axis: expected an integer or None, got {channel_axis!r}")
        if np.ndim(arr) != 3 or not -3 <= channel_axis < 3:
            raise ValueError(f"channel_axis: {channel_axis!r} is invalid for an image of shape {np.shape(arr)}")
        z = validate_image(np.moveaxis(np.asarray(arr), int(channel_axis), -1))
        chans = [z[..., c] for c in range(z.shape[-1])]
    else:
        z = validate_image(arr, allow_color=True)
        if z.ndim == 3:
            raise ValueError(
                f"image: got a 3-D array of shape {z.shape} with channel_axis=None; pass channel_axis=-1 for colour images"
            )
        chans = [z]
    if chans[0].shape[0] < p or chans[0].shape[1] < p:
        raise ValueError(f"image: shape {chans[0].shape} is smaller than the {p}x{p} patch (patch_size={p})")
    results = [_robust_channel(c, p) for c in chans]
    sig = [r[0] for r in results]
    methods = {r[1] for r in results}
    reasons = [r[2] for r in results if r[2]]
    low = any(r[1] == "floor" or (r[1] == "pca" and r[2]) for r in results)
    return NoiseEstimate(
        sigma=float(np.mean(sig)),
        sigma_per_channel=[float(v) for v in sig],
        method="/".join(sorted(methods)),
        confidence="low" if low else "high",
        fallback=reasons[0] if reasons else None,
        details={"channels": [r[3] for r in results]},
    )


def estimate_sigma(
    image: np.ndarray,
    method: str = "auto",
    channel_axis: int | None = None,
    *,
    patch_size: int = 7,
) -> float | np.ndarray:
    """Estimate the standard deviation of additive white Gaussian noise.

    Parameters
    ----------
    image : ndarray
        Noisy image in [0, 1], (H, W), or (H, W, C) with ``channel_axis`` set.
    method : {"auto", "pca", "mad", "censored"}
        ``"auto"`` (default): :func:`estimate_noise` (censored estimator on binary / saturated
        images, patch PCA otherwise, the white-noise floor when the PCA estimate is not
        trusted). ``"pca"``: patch-PCA estimator (Chen, Zhu & Heng, ICCV 2015), robust to image
        structure and to clipping. ``"censored"``: :func:`sigma_censored`. ``"mad"``: the seed's estimator
        sigma_hat = MAD{z (*) [-1, 1]} / (0.67449 sqrt(2)).
    channel_axis : int, optional
        Channel axis of a colour image; each channel is estimated separately.
    patch_size : int
        Patch side of the PCA estimator.

    Returns
    -------
    float or ndarray
        The estimate sigma_hat (image units) for a gray image; one value per channel otherwise.

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
    if method == "censored":
        return sigma_censored(z)[0]
    if method == "auto":
        return estimate_noise(z, patch_size=patch_size).sigma
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
