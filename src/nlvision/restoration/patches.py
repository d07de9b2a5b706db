"""Sliding-window patch extraction and aggregation (vectorised).

The lecture's sliding-window methods (DCT denoising, sparse-coding denoising, inpainting,
anomaly detection) all share two steps: cut every ``p x p`` patch of an image into the rows of
a matrix, process the rows, and put the processed patches back, averaging the overlapping
estimates of each pixel ("aggregation"). These two functions do exactly that with strided
views and ``np.add.at``-free scatter sums (no per-pixel Python loops).
"""

from __future__ import annotations

import numpy as np

__all__ = ["extract_patches", "aggregate_patches", "patch_grid", "map_patches"]


def _check_patch_args(image_shape: tuple[int, ...], patch_size: int, step: int) -> None:
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)):
        raise TypeError(f"patch_size must be an int, got {type(patch_size).__name__} {patch_size!r}")
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"step must be an int, got {type(step).__name__} {step!r}")
    if patch_size < 1:
        raise ValueError(f"patch_size must be >= 1, got {patch_size}")
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    if len(image_shape) != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {tuple(image_shape)}")
    h, w = image_shape
    if h < patch_size or w < patch_size:
        raise ValueError(
            f"image of shape {tuple(image_shape)} is smaller than patch_size={patch_size}"
        )


def _positions(length: int, patch_size: int, step: int) -> np.ndarray:
    """Top-left positions along one axis; the last patch always touches the border."""
    pos = np.arange(0, length - patch_size + 1, step)
    if pos[-1] != length - patch_size:
        pos = np.append(pos, length - patch_size)
    return pos


def patch_grid(image_shape: tuple[int, int], patch_size: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Row and column top-left coordinates of the patches used by :func:`extract_patches`.

    Parameters
    ----------
    image_shape : tuple of int
        ``(H, W)``.
    patch_size : int
        Side ``p`` of the square patches.
    step : int, default 1
        Stride between patches. The last row/column of patches is always included so every
        pixel is covered.

    Returns
    -------
    rows, cols : ndarray of int
        Positions along each axis; patches are ordered row-major (``rows`` outer).

    Examples
    --------
    >>> r, c = patch_grid((5, 6), 2, step=2)
    >>> r.tolist(), c.tolist()
    ([0, 2, 3], [0, 2, 4])
    """
    _check_patch_args(tuple(image_shape), patch_size, step)
    return _positions(image_shape[0], patch_size, step), _positions(image_shape[1], patch_size, step)


def extract_patches(image: np.ndarray, patch_size: int, step: int = 1) -> np.ndarray:
    """All ``p x p`` patches of a 2-D image as rows of a matrix.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Gray image (any real dtype; returned rows keep a floating dtype).
    patch_size : int
        Side ``p`` of the square patches.
    step : int, default 1
        Stride. ``step=1`` gives every patch (the sliding window of the lecture); ``step=p``
        non-overlapping tiles. The last patch row/column is always included.

    Returns
    -------
    ndarray, shape (N, p*p)
        Patch ``i`` flattened row-major; patches ordered row-major over their top-left corner.

    Raises
    ------
    TypeError
        If ``image`` is not an array or ``patch_size``/``step`` not ints.
    ValueError
        If ``image`` is not 2-D, not finite, or smaller than the patch.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> extract_patches(x, 2).shape
    (6, 4)
    >>> extract_patches(x, 2)[1].tolist()
    [1.0, 2.0, 5.0, 6.0]
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    _check_patch_args(image.shape, patch_size, step)
    if not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
        raise TypeError(f"image must have a real numeric dtype, got {image.dtype}")
    img = image if np.issubdtype(image.dtype, np.floating) else image.astype(np.float64)
    p = int(patch_size)
    windows = np.lib.stride_tricks.sliding_window_view(img, (p, p))
    rows, cols = patch_grid(img.shape, p, step)
    sel = windows[rows[:, None], cols[None, :]]  # (nr, nc, p, p)
    return np.ascontiguousarray(sel.reshape(-1, p * p))


def aggregate_patches(
    patches: np.ndarray,
    image_shape: tuple[int, int],
    patch_size: int,
    step: int = 1,
    weights: np.ndarray | None = None,
    *,
    return_weights: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Put patches back in place, averaging overlapping estimates (weighted aggregation).

    Each pixel ``x`` receives ``sum_i w_i s_i(x) / sum_i w_i`` over the patches ``i`` covering
    it (the lecture's aggregation; uniform weights ``w_i = 1`` or sparsity-aware weights
    ``w_i = 1/||x_i||_0``).

    Parameters
    ----------
    patches : ndarray, shape (N, p*p)
        Patches in the order of :func:`extract_patches` with the same ``patch_size``/``step``.
    image_shape : tuple of int
        ``(H, W)`` of the image to rebuild.
    patch_size : int
        Side ``p`` of the patches.
    step : int, default 1
        Stride used at extraction.
    weights : ndarray, shape (N,), optional
        Non-negative weight of each patch; ``None`` means uniform.
    return_weights : bool, default False
        Also return the per-pixel sum of weights ``sum_i w_i`` (e.g. to blend in the noisy
        image as in K-SVD denoising).

    Returns
    -------
    ndarray, shape (H, W)
        Aggregated image (float64). Pixels whose total weight is zero are 0.
    ndarray, shape (H, W)
        Only with ``return_weights=True``: the summed weights.

    Raises
    ------
    ValueError
        On a wrong number of patches, patch length, or weights shape / negative weights.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> np.allclose(aggregate_patches(extract_patches(x, 2), x.shape, 2), x)
    True
    """
    if not isinstance(patches, np.ndarray):
        raise TypeError(f"patches must be a numpy array, got {type(patches).__name__}")
    image_shape = tuple(int(s) for s in image_shape)
    _check_patch_args(image_shape, patch_size, step)
    p = int(patch_size)
    rows, cols = patch_grid(image_shape, p, step)
    n = rows.size * cols.size
    if patches.ndim != 2 or patches.shape != (n, p * p):
        raise ValueError(
            f"patches must have shape ({n}, {p * p}) for image_shape={image_shape}, "
            f"patch_size={p}, step={step}; got {patches.shape}"
        )
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"weights must have shape ({n},), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative")
    h, wd = image_shape
    acc = np.zeros(image_shape, dtype=np.float64)
    norm = np.zeros(image_shape, dtype=np.float64)
    blocks = patches.reshape(rows.size, cols.size, p, p).astype(np.float64, copy=False)
    wgrid = w.reshape(rows.size, cols.size)
    weighted = blocks * wgrid[:, :, None, None]
    if step == 1 and rows.size == h - p + 1 and cols.size == wd - p + 1:
        # dense case: p*p shifted slab additions
        for dy in range(p):
            for dx in range(p):
                acc[dy : dy + rows.size, dx : dx + cols.size] += weighted[:, :, dy, dx]
                norm[dy : dy + rows.size, dx : dx + cols.size] += wgrid
    else:
        # general case: flat scatter with bincount (vectorised)
        yy = rows[:, None, None, None] + np.arange(p)[None, None, :, None]
        xx = cols[None, :, None, None] + np.arange(p)[None, None, None, :]
        flat = (yy * wd + xx).reshape(-1)
        acc = np.bincount(flat, weights=weighted.reshape(-1), minlength=h * wd).reshape(h, wd)
        wfull = np.broadcast_to(wgrid[:, :, None, None], blocks.shape).reshape(-1)
        norm = np.bincount(flat, weights=wfull, minlength=h * wd).reshape(h, wd)
    out = np.zeros(image_shape, dtype=np.float64)
    np.divide(acc, norm, out=out, where=norm > 0)
    return (out, norm) if return_weights else out


def map_patches(
    image: np.ndarray,
    patch_size: int,
    fn,
    *,
    step: int = 1,
    band_patches: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """Process all patches of a large image band by band with bounded memory.

    The patch positions of :func:`extract_patches` are split into horizontal bands of at most
    ``band_patches`` patches; ``fn(patches, rows, cols)`` maps the ``(n, p*p)`` patches of a
    band (top-left ``rows`` x ``cols``, row-major) to ``(estimates, weights)``, and the
    weighted estimates are summed into the whole image. The result equals processing all the
    patches at once; only one band of patches lives in memory.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Image.
    patch_size : int
        Patch side p.
    fn : callable
        ``fn(patches, rows, cols) -> (estimates (n, p*p), weights (n,))``.
    step : int, default 1
        Stride between patch positions (the last patch always touches the border).
    band_patches : int, default 65536
        Patches per band (memory bound: about ``band_patches * p² * 8`` bytes per array).

    Returns
    -------
    num, den : ndarray, shape (H, W)
        ``sum_i w_i R_iᵀ s_i`` and ``sum_i w_i`` per pixel; the aggregate is ``num / den``.

    Examples
    --------
    >>> x = np.arange(30.0).reshape(5, 6)
    >>> num, den = map_patches(x, 3, lambda P, r, c: (P, np.ones(len(P))), band_patches=4)
    >>> bool(np.allclose(num / den, x))
    True
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    _check_patch_args(image.shape, patch_size, step)
    if isinstance(band_patches, bool) or not isinstance(band_patches, (int, np.integer)) or band_patches < 1:
        raise ValueError(f"band_patches must be a positive int, got {band_patches!r}")
    p = int(patch_size)
    h, w = image.shape
    img = image if np.issubdtype(image.dtype, np.floating) else image.astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(img, (p, p))
    rows, cols = patch_grid(img.shape, p, step)
    per_band = max(1, int(band_patches) // cols.size)
    num = np.zeros(h * w)
    den = np.zeros(h * w)
    off = (np.arange(p)[:, None] * w + np.arange(p)[None, :]).reshape(-1)
    for i in range(0, rows.size, per_band):
        r = rows[i : i + per_band]
        P = windows[r[:, None], cols[None, :]].reshape(-1, p * p)
        est, wts = fn(np.ascontiguousarray(P), r, cols)
        est = np.asarray(est, dtype=np.float64)
        wts = np.asarray(wts, dtype=np.float64)
        if est.shape != P.shape or wts.shape != (P.shape[0],):
            raise ValueError(f"fn must return estimates of shape {P.shape} and weights of shape ({P.shape[0]},)")
        base = (r[:, None] * w + cols[None, :]).reshape(-1)
        flat = (base[:, None] + off[None, :]).reshape(-1)
        num += np.bincount(flat, weights=(est * wts[:, None]).reshape(-1), minlength=h * w)
        den += np.bincount(flat, weights=np.repeat(wts, p * p), minlength=h * w)
    return num.reshape(h, w), den.reshape(h, w)
