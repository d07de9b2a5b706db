"""Image quality metrics on [0, 1] images."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["mse", "psnr", "ssim"]


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    from nlvision.imageio import validate_image

    x = validate_image(a, name="a")
    y = validate_image(b, name="b")
    if x.shape != y.shape:
        raise ValueError(f"b: shape {y.shape} differs from a's shape {x.shape}")
    return x, y


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error between two images of the same shape.

    Examples
    --------
    >>> mse(np.zeros((2, 2)), np.full((2, 2), 0.5))
    0.25
    """
    x, y = _pair(a, b)
    return float(np.mean((x - y) ** 2))


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio, PSNR = 10 log10(data_range^2 / MSE(a, b)) in dB.

    Seed 003, "Assess Denoising Performance": the peak is 1 for images in [0, 1].

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape (the order does not matter).
    data_range : float
        Peak value (1 for [0, 1] images, 255 for 8-bit values).

    Returns
    -------
    float
        PSNR in dB; ``inf`` for identical images.

    Raises
    ------
    ValueError
        Different shapes, empty or non-finite arrays, data_range <= 0.

    Examples
    --------
    >>> psnr(np.zeros((4, 4)), np.full((4, 4), 0.1))
    20.0
    """
    if isinstance(data_range, bool) or not isinstance(data_range, numbers.Real) or not data_range > 0:
        raise ValueError(f"data_range: expected a positive number, got {data_range!r}")
    err = mse(a, b)
    if err == 0:
        return math.inf
    return float(10.0 * np.log10(float(data_range) ** 2 / err))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0, channel_axis: int | None = None) -> float:
    """Structural similarity (scikit-image's ``structural_similarity``, Gaussian-free defaults).

    Examples
    --------
    >>> ssim(np.eye(8), np.eye(8))
    1.0
    """
    from skimage.metrics import structural_similarity

    x, y = _pair(a, b)
    if isinstance(data_range, bool) or not isinstance(data_range, numbers.Real) or not data_range > 0:
        raise ValueError(f"data_range: expected a positive number, got {data_range!r}")
    if x.ndim == 3 and channel_axis is None:
        raise ValueError(f"a: got a 3-D array of shape {x.shape} with channel_axis=None; pass channel_axis=-1")
    return float(structural_similarity(x, y, data_range=float(data_range), channel_axis=channel_axis))
