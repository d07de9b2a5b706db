"""Image quality metrics on [0, 1] images, computed by scikit-image, and the mean ± 95 % CI.

One copy for the whole project: the areas (denoising, inpainting, encryption) report their
PSNR and SSIM through these functions, which validate the pair and delegate to
:mod:`skimage.metrics`; experiments over several seeds report :func:`mean_ci`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from skimage import metrics as _skm

from nlvision.imageio import validate_image

__all__ = ["mse", "psnr", "ssim", "mean_ci"]


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x = validate_image(a, name="a")
    y = validate_image(b, name="b")
    if x.shape != y.shape:
        raise ValueError(f"b: shape {y.shape} differs from a's shape {x.shape}")
    return x, y


def _check_range(data_range: Any) -> float:
    if isinstance(data_range, bool) or not isinstance(data_range, numbers.Real) or not data_range > 0 or not math.isfinite(data_range):
        raise ValueError(f"data_range: expected a positive finite number, got {data_range!r}")
    return float(data_range)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error between two images of the same shape.

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape, finite values.

    Returns
    -------
    float
        ``mean((a - b) ** 2)``.

    Raises
    ------
    ValueError
        If the shapes differ or an image is empty or not finite.

    References
    ----------
    Seed 003, "Assess Denoising Performance".

    Examples
    --------
    >>> mse(np.zeros((2, 2)), np.full((2, 2), 0.5))
    0.25
    """
    x, y = _pair(a, b)
    return float(_skm.mean_squared_error(x, y))


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio, PSNR = 10 log10(data_range^2 / MSE(a, b)) in dB.

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape (the order does not matter).
    data_range : float, default 1.0
        Peak value (1 for [0, 1] images, 255 for 8-bit values).

    Returns
    -------
    float
        PSNR in dB; ``inf`` for identical images.

    Raises
    ------
    ValueError
        Different shapes, empty or non-finite arrays, ``data_range <= 0``.

    References
    ----------
    Seed 003, "Assess Denoising Performance": the peak is 1 for images in [0, 1].

    Examples
    --------
    >>> round(psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)), 6)
    20.0
    """
    peak = _check_range(data_range)
    x, y = _pair(a, b)
    if np.array_equal(x, y):
        return math.inf
    return float(_skm.peak_signal_noise_ratio(x, y, data_range=peak))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0, channel_axis: int | None = None) -> float:
    """Structural similarity index of two images (scikit-image's ``structural_similarity``).

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape.
    data_range : float, default 1.0
        Dynamic range of the values.
    channel_axis : int, optional
        Axis of the colour channels for (H, W, C) images (``-1``); ``None`` for gray images.

    Returns
    -------
    float
        Mean SSIM in [-1, 1]; 1 for identical images.

    Raises
    ------
    ValueError
        Different shapes, a 3-D image without ``channel_axis``, ``data_range <= 0``.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error
    visibility to structural similarity", IEEE TIP 13(4), 2004.

    Examples
    --------
    >>> ssim(np.eye(8), np.eye(8))
    1.0
    """
    peak = _check_range(data_range)
    x, y = _pair(a, b)
    if x.ndim == 3 and channel_axis is None:
        raise ValueError(f"a: got a 3-D array of shape {x.shape} with channel_axis=None; pass channel_axis=-1")
    return float(_skm.structural_similarity(x, y, data_range=peak, channel_axis=channel_axis))


def mean_ci(values) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student t, ``n − 1`` degrees of freedom).

    Parameters
    ----------
    values : sequence of float
        One value per seed (or per run).

    Returns
    -------
    (float, float)
        Mean and half-width (NaN for a single value).

    Examples
    --------
    >>> m, h = mean_ci([1.0, 2.0, 3.0])
    >>> m, round(h, 3)    # t(0.975, 2) = 4.303, sd = 1, / sqrt(3)
    (2.0, 2.484)
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("values: expected at least one value")
    if v.size == 1:
        return float(v[0]), float("nan")
    return float(v.mean()), float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
