"""Sliding-DCT image denoising (seed 003, "Sliding DCT Denoising"; Yu & Sapiro, IPOL 2011).

Every p x p patch of the noisy image ``z`` (all sliding positions) is transformed with the
orthonormal 2-D DCT-II, its coefficients are hard-thresholded (the DC coefficient never is),
the patch is reconstructed and the overlapping estimates of every pixel are averaged with
aggregation weights: uniform ``w = 1`` or sparsity-aware ``w = 1 / ||x_hat||_0`` (with
``||x_hat||_0 >= 1``). ``aggregation="none"`` denoises non-overlapping tiles instead (the
lecture's experiment that shows why aggregation is needed).

Implementation: the p^2 DCT coefficients of all sliding patches are separable correlations of
the image with the DCT basis, so they are computed with one 2-D convolution per block of patch
positions; the reconstruction *and* the overlap-add aggregation are the transposed (full)
convolutions with the same basis (two separable 1-D passes). Blocks of ~32k patch positions keep
the coefficient tensor small (~8 MiB) and the memory bounded (a 4096 x 4096 image needs two image-sized
float32 accumulators plus a few MiB). :func:`denoise_dct_dask` runs the same function through
``dask.array.map_overlap`` with an overlap of ``p - 1`` pixels, which gives the same result.

Colour images are decorrelated with the fixed orthonormal opponent transform of the IPOL paper
(:func:`rgb_to_opponent`) and each channel is denoised with the same sigma (the transform is
orthonormal, so white noise keeps its standard deviation).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Union

import numpy as np

from nlvision.imageio import validate_image
from nlvision.restoration.noise import estimate_noise

__all__ = [
    "AGGREGATIONS",
    "aggregation_weights",
    "auto_sigma",
    "dct_matrix",
    "denoise_dct",
    "denoise_dct_dask",
    "opponent_to_rgb",
    "resolve_threshold",
    "rgb_to_opponent",
]

#: Estimates below this level (image units) are halved by :func:`auto_sigma`.
LOW_SIGMA = 2.0 / 255.0
#: Valid ``aggregation`` names.
AGGREGATIONS = ("uniform", "sparsity", "none")
#: Named thresholds (``"<k>sigma"`` strings such as ``"2.5sigma"`` are accepted too).
THRESHOLDS = ("3sigma", "universal")

Threshold = Union[str, float]

# Orthonormal opponent colour transform of the IPOL DCT denoising code (a 3-point DCT-like
# decorrelation): rows are Y = (R+G+B)/sqrt3, U = (R-B)/sqrt2, V = (R-2G+B)/sqrt6.
_OPPONENT = np.array(
    [
        [1 / math.sqrt(3), 1 / math.sqrt(3), 1 / math.sqrt(3)],
        [1 / math.sqrt(2), 0.0, -1 / math.sqrt(2)],
        [1 / math.sqrt(6), -2 / math.sqrt(6), 1 / math.sqrt(6)],
    ]
)


def dct_matrix(p: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``D`` with ``D[k, a]`` the k-th basis vector at sample a.

    The 2-D DCT of a patch ``P`` is ``D @ P @ D.T`` (same as ``scipy.fft.dctn(P, norm="ortho")``).
    This is the project's one DCT matrix (the sliding-DCT denoiser and the refinement of the
    inpainting use it).

    Parameters
    ----------
    p : int
        Size (>= 2).

    Returns
    -------
    ndarray, shape (p, p)
        Orthonormal DCT-II matrix (rows are the basis vectors), float64.

    Raises
    ------
    ValueError
        If ``p < 2``.

    References
    ----------
    Seed 003, "Sliding DCT" (the 2-D DCT of each patch); N. Ahmed, T. Natarajan, K. R. Rao,
    "Discrete cosine transform", IEEE Trans. Computers C-23, 1974.

    Examples
    --------
    >>> D = dct_matrix(4)
    >>> bool(np.allclose(D @ D.T, np.eye(4)))
    True
    """
    p = _check_patch_size(p)
    k = np.arange(p)[:, None]
    a = np.arange(p)[None, :]
    D = np.cos(np.pi * (2 * a + 1) * k / (2 * p)) * math.sqrt(2.0 / p)
    D[0] /= math.sqrt(2.0)
    return D


def rgb_to_opponent(image: np.ndarray) -> np.ndarray:
    """Orthonormal opponent (YUV-like) colour transform used by Yu & Sapiro for colour images.

    ``Y = (R+G+B)/sqrt(3)``, ``U = (R-B)/sqrt(2)``, ``V = (R-2G+B)/sqrt(6)``. The transform is
    orthonormal, so i.i.d. Gaussian noise of standard deviation sigma in RGB stays i.i.d. with
    the same sigma in each opponent channel. Values are not confined to [0, 1].

    Parameters
    ----------
    image : ndarray, shape (..., 3)
        RGB image (channels last).

    Returns
    -------
    ndarray, shape (..., 3)
        Opponent channels (Y, U, V), float64.

    Raises
    ------
    ValueError
        If the last axis does not have 3 channels or the array is empty / not finite.

    Examples
    --------
    >>> yuv = rgb_to_opponent(np.array([[[1.0, 1.0, 1.0]]]))
    >>> np.round(yuv, 4).tolist()
    [[[1.7321, 0.0, 0.0]]]
    >>> bool(np.allclose(opponent_to_rgb(yuv), 1.0))
    True
    """
    arr = _check_color(image, "image")
    return arr @ _OPPONENT.T


def opponent_to_rgb(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_opponent` (its transpose, the transform being orthonormal).

    Parameters
    ----------
    image : ndarray, shape (..., 3)
        Opponent channels (Y, U, V).

    Returns
    -------
    ndarray, shape (..., 3)
        RGB, float64 (not clipped).

    Raises
    ------
    ValueError
        If the last axis does not have 3 channels or the array is empty / not finite.

    Examples
    --------
    >>> opponent_to_rgb(rgb_to_opponent(np.array([[0.2, 0.5, 0.9]]))).round(6).tolist()
    [[0.2, 0.5, 0.9]]
    """
    arr = _check_color(image, "image")
    return arr @ _OPPONENT


def _check_color(image: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a numeric array, got {type(image).__name__}") from exc
    if arr.size == 0 or arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"{name}: expected a non-empty array with 3 channels on the last axis, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _check_patch_size(patch_size: Any) -> int:
    if isinstance(patch_size, bool) or not isinstance(patch_size, numbers.Integral):
        raise TypeError(f"patch_size: expected an integer >= 2, got {patch_size!r}")
    if patch_size < 2:
        raise ValueError(f"patch_size: expected an integer >= 2, got {patch_size}")
    return int(patch_size)


def _check_sigma(sigma: Any, name: str = "sigma") -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {sigma!r}")
    s = float(sigma)
    if not math.isfinite(s) or s <= 0 or s > 1e6:
        raise ValueError(f"{name}: expected a positive number up to 1e6 (image units, [0, 1] scale), got {sigma}")
    return s


def resolve_threshold(threshold: Threshold, sigma: float, patch_size: int = 8) -> float:
    """Hard threshold tau in image units.

    Parameters
    ----------
    threshold : str or float
        ``"3sigma"`` -> 3 sigma (seed), ``"universal"`` -> sigma sqrt(2 ln p^2) (Donoho &
        Johnstone's universal threshold for the p^2 coefficients of a patch), ``"<k>sigma"`` ->
        k sigma, a number -> that tau (image units, >= 0).
    sigma : float
        Noise standard deviation (image units).
    patch_size : int
        Patch side p.

    Returns
    -------
    float
        The threshold tau (image units).

    Raises
    ------
    ValueError
        For an unknown name, a negative/non-finite tau, or sigma <= 0.

    Examples
    --------
    >>> resolve_threshold("3sigma", 0.1)
    0.30000000000000004
    >>> round(resolve_threshold("universal", 1.0, 8), 3)  # sqrt(2 ln 64)
    2.884
    >>> resolve_threshold("1.5sigma", 2.0)
    3.0
    """
    sigma = _check_sigma(sigma)
    p = _check_patch_size(patch_size)
    if isinstance(threshold, str):
        name = threshold.strip().lower()
        if name == "universal":
            return sigma * math.sqrt(2.0 * math.log(p * p))
        if name.endswith("sigma"):
            try:
                k = float(name[: -len("sigma")] or "1")
            except ValueError:
                k = float("nan")
            if math.isfinite(k) and k >= 0:
                return k * sigma
        raise ValueError(
            f"threshold: unknown value {threshold!r}; expected one of {', '.join(THRESHOLDS)}, "
            "'<k>sigma' (k >= 0) or a number >= 0"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold: expected a name or a number, got {threshold!r}")
    tau = float(threshold)
    if not math.isfinite(tau) or tau < 0 or tau > 1e7:
        raise ValueError(f"threshold: expected a finite number >= 0, got {threshold}")
    return tau


def aggregation_weights(coefficients: np.ndarray, aggregation: str = "uniform") -> np.ndarray:
    """Aggregation weight of each patch from its thresholded DCT coefficients.

    Parameters
    ----------
    coefficients : ndarray, shape (n, p*p) or (n, p, p)
        Thresholded coefficients of n patches.
    aggregation : {"uniform", "sparsity", "none"}
        ``"uniform"``/``"none"``: w = 1; ``"sparsity"``: w = 1 / max(||x_hat||_0, 1).

    Returns
    -------
    ndarray, shape (n,)
        Weights.

    Raises
    ------
    ValueError
        For an unknown aggregation name or an empty array.

    Examples
    --------
    >>> aggregation_weights(np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]), "sparsity").tolist()
    [0.5, 1.0]
    """
    aggregation = _check_aggregation(aggregation)
    c = np.asarray(coefficients)
    if c.ndim < 2 or c.shape[0] == 0:
        raise ValueError(f"coefficients: expected shape (n, p*p) or (n, p, p) with n >= 1, got {c.shape}")
    c = c.reshape(c.shape[0], -1)
    if aggregation == "sparsity":
        return 1.0 / np.maximum(np.count_nonzero(c, axis=1), 1)
    return np.ones(c.shape[0])


def _check_aggregation(aggregation: Any) -> str:
    if not isinstance(aggregation, str) or aggregation.lower() not in AGGREGATIONS:
        raise ValueError(f"aggregation: unknown value {aggregation!r}; expected one of {', '.join(AGGREGATIONS)}")
    return aggregation.lower()


# --------------------------------------------------------------------------------------------
# Gray-level kernels
# --------------------------------------------------------------------------------------------


class _Bases:
    """Torch convolution weights for patch size p (cached)."""

    _cache: dict[Any, "_Bases"] = {}

    def __init__(self, p: int, device: Any = None) -> None:
        import torch

        D = torch.from_numpy(dct_matrix(p).astype(np.float32)).to(device or "cpu")
        self.p = p
        # forward: channel k*p + l holds coefficient (k, l) = sum_ab D[k,a] D[l,b] x[i+a, j+b]
        self.full = torch.einsum("ka,lb->klab", D, D).reshape(p * p, 1, p, p).contiguous()
        # inverse, pass 1 (groups=p): channel group k: sum_l c[k,l] D[l,b], overlap-add along columns
        self.cols = D.reshape(1, p, 1, p).expand(p, p, 1, p).reshape(p * p, 1, 1, p).contiguous()
        # inverse, pass 2: sum_k . D[k,a], overlap-add along rows
        self.rows = D.reshape(p, 1, p, 1).contiguous()
        self.box = torch.ones(1, 1, p, p, device=D.device)

    @classmethod
    def get(cls, p: int, device: Any = None) -> "_Bases":
        key = (p, str(device or "cpu"))
        if key not in cls._cache:
            cls._cache[key] = cls(p, device)
        return cls._cache[key]


def _block_rows(width_positions: int, p: int) -> int:
    # ~32k patch positions per block (64 rows x 512 columns for p = 8): few enough Python-level
    # calls, while the p^2-channel coefficient tensor stays at ~8 MiB
    return max(1, min(256, (32768 * 64 // (p * p)) // max(1, min(width_positions, 512))))


def _accumulate_band(x: Any, r0: int, r1: int, tau: float, p: int, sparsity: bool) -> tuple[Any, Any]:
    """Weighted reconstructions (and weights) of the patches whose top row is in [r0, r1),
    accumulated over image rows [r0, r1 + p - 1)."""
    import torch
    import torch.nn.functional as F

    B = _Bases.get(p, x.device)
    W = x.shape[-1]
    w = W - p + 1
    rows = r1 - r0 + p - 1
    num = torch.zeros(1, 1, rows, W, device=x.device)
    den = torch.zeros(1, 1, rows, W, device=x.device) if sparsity else None
    col_block = 512
    row_block = _block_rows(w, p)
    with torch.no_grad():
        for i0 in range(r0, r1, row_block):
            i1 = min(r1, i0 + row_block)
            a0 = i0 - r0
            for j0 in range(0, w, col_block):
                j1 = min(w, j0 + col_block)
                xs = x[:, :, i0 : i1 + p - 1, j0 : j1 + p - 1]
                c = F.conv2d(xs, B.full)  # (1, p*p, i1-i0, j1-j0): all DCT coefficients
                ct = F.hardshrink(c, tau) if tau > 0 else c
                ct[:, 0] = c[:, 0]  # the DC coefficient is never thresholded
                if sparsity:
                    wgt = 1.0 / torch.count_nonzero(ct, dim=1).clamp_(min=1).to(ct.dtype)  # (1, h', w')
                    ct = ct * wgt[:, None]
                    den[:, :, a0 : a0 + i1 - i0 + p - 1, j0 : j1 + p - 1] += F.conv_transpose2d(wgt[:, None], B.box)
                # inverse DCT + overlap-add = transposed convolutions (two separable passes)
                rec = F.conv_transpose2d(F.conv_transpose2d(ct, B.cols, groups=p), B.rows)
                num[:, :, a0 : a0 + i1 - i0 + p - 1, j0 : j1 + p - 1] += rec
    return num, den


def _denoise_channel_sliding(z: np.ndarray, tau: float, p: int, sparsity: bool, workers: int = 1,
                             device: Any = None) -> np.ndarray:
    """Sliding-window denoising of one 2-D channel (float32 computation, float64 result).

    With ``workers > 1`` the patch rows are split into that many bands processed by threads
    (torch releases the GIL); each band has its own accumulator, summed at the end."""
    import torch

    H, W = z.shape
    h, w = H - p + 1, W - p + 1
    x = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))[None, None]
    if device is not None and str(device) != "cpu":
        x = x.to(device)
        workers = 1
    workers = max(1, min(int(workers), h // 8 or 1))
    if workers == 1:
        num, den = _accumulate_band(x, 0, h, tau, p, sparsity)
    else:
        from concurrent.futures import ThreadPoolExecutor

        edges = np.linspace(0, h, workers + 1).astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda k: _accumulate_band(x, edges[k], edges[k + 1], tau, p, sparsity), range(workers)))
        num = torch.zeros(1, 1, H, W)
        den = torch.zeros(1, 1, H, W) if sparsity else None
        for k, (n_k, d_k) in enumerate(parts):
            r0 = edges[k]
            num[:, :, r0 : r0 + n_k.shape[2]] += n_k
            if sparsity:
                den[:, :, r0 : r0 + d_k.shape[2]] += d_k
        del parts
    del x
    acc = num[0, 0]
    if sparsity:
        acc.div_(den[0, 0])
        del den
    else:
        # uniform: the number of patches covering a pixel is separable (rows x columns);
        # dividing by the two factors in place avoids an image-sized count array
        cr = torch.from_numpy(np.convolve(np.ones(h), np.ones(p)).astype(np.float32)).to(acc.device)
        cc = torch.from_numpy(np.convolve(np.ones(w), np.ones(p)).astype(np.float32)).to(acc.device)
        acc.div_(cr[:, None]).div_(cc[None, :])
    return acc.cpu().numpy().astype(np.float64)


def _tile_starts(n: int, p: int) -> np.ndarray:
    starts = np.arange(0, n - p + 1, p)
    if starts[-1] != n - p:
        starts = np.append(starts, n - p)  # a last tile aligned to the border covers the rest
    return starts


def _denoise_channel_tiles(z: np.ndarray, tau: float, p: int) -> np.ndarray:
    """Non-overlapping p x p tiles (no aggregation). When p does not divide the size, one extra
    row/column of tiles aligned with the border covers the remainder; those overlaps are averaged."""
    D = dct_matrix(p)
    H, W = z.shape
    ri = _tile_starts(H, p)[:, None] + np.arange(p)  # (nr, p)
    ci = _tile_starts(W, p)[:, None] + np.arange(p)  # (nc, p)
    patches = z[ri[:, None, :, None], ci[None, :, None, :]]  # (nr, nc, p, p)
    c = D @ patches @ D.T
    dc = c[..., 0, 0].copy()
    c[np.abs(c) < tau] = 0.0
    c[..., 0, 0] = dc
    rec = D.T @ c @ D
    num = np.zeros((H, W))
    cnt = np.zeros((H, W))
    R = np.broadcast_to(ri[:, None, :, None], rec.shape)
    C = np.broadcast_to(ci[None, :, None, :], rec.shape)
    np.add.at(num, (R, C), rec)
    np.add.at(cnt, (R, C), 1.0)
    return num / cnt


def _denoise_gray(z: np.ndarray, tau: float, p: int, aggregation: str, workers: int = 1, device: Any = None) -> np.ndarray:
    if aggregation == "none":
        return _denoise_channel_tiles(z, tau, p)
    import torch

    # The per-block operations are small: intra-op threads only add synchronisation (and
    # collapse on a loaded machine). Parallelism comes from denoise_dct_dask's chunks instead.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _denoise_channel_sliding(z, tau, p, sparsity=aggregation == "sparsity", workers=workers, device=device)
    finally:
        torch.set_num_threads(previous)


def _prepare(image: Any, patch_size: Any, channel_axis: Any, name: str = "image") -> tuple[np.ndarray, int, bool]:
    p = _check_patch_size(patch_size)
    arr = validate_image(image, name=name) if np.ndim(image) != 3 or channel_axis is None else None
    if arr is None:
        if isinstance(channel_axis, bool) or not isinstance(channel_axis, numbers.Integral) or channel_axis not in (-3, -1, 0, 2):
            raise ValueError(f"channel_axis: expected None, -1, 0 or 2, got {channel_axis!r}")
        moved = np.moveaxis(np.asarray(image), int(channel_axis), -1)
        arr = validate_image(moved, name=name)
    if arr.ndim == 3 and channel_axis is None:
        raise ValueError(
            f"{name}: got a 3-D array of shape {arr.shape} with channel_axis=None; pass channel_axis=-1 for colour images"
        )
    if arr.ndim == 2 and channel_axis is not None:
        raise ValueError(f"channel_axis: got {channel_axis!r} for a 2-D image of shape {arr.shape}; use None")
    if arr.shape[0] < p or arr.shape[1] < p:
        raise ValueError(f"{name}: shape {arr.shape} is smaller than the {p}x{p} patch (patch_size={p})")
    peak = float(np.max(np.abs(arr)))
    if peak > _MAX_MAGNITUDE:  # noisy [0, 1] images stray outside it, but not by orders of magnitude
        raise ValueError(f"{name}: values reach {peak:.3g}; expected a [0, 1]-scale image (|value| <= {_MAX_MAGNITUDE:g})")
    return arr, p, arr.ndim == 3


#: Largest |value| accepted by the DCT denoisers: far beyond any noisy [0, 1] image, far below
#: the float32 range the torch path computes in (sums of 64 squared coefficients stay finite).
_MAX_MAGNITUDE = 1e6


def auto_sigma(image: np.ndarray, channel_axis: int | None = None, *, estimate: Any = None) -> float:
    """Noise level the denoisers use for ``sigma=None``: safe when the estimate is not trusted.

    :func:`nlvision.restoration.estimate_noise`'s estimate, halved when its confidence is
    low (weak-texture scarcity, structured or correlated content) or when it is below 2/255
    (there, film grain and sensor texture of the clean image are as strong as the noise):
    denoising with too small a sigma leaves some noise, with too large a sigma it removes image
    content and can make the result worse than the input (issue #15). Measured in
    ``benchmarks/results/restoration_dct.md`` ("sigma auto").

    Parameters
    ----------
    image : ndarray
        Noisy image in [0, 1], (H, W) or (H, W, C) with ``channel_axis``.
    channel_axis : int, optional
        Channel axis of colour images (the mean over channels is returned).
    estimate : NoiseEstimate, optional
        An estimate of this image already computed (it is then not recomputed).

    Returns
    -------
    float
        Sigma in image units.

    Raises
    ------
    ValueError
        As :func:`nlvision.restoration.estimate_noise`.

    References
    ----------
    Seed 003, "Noise Estimation"; issue #15 ("a noise estimate that never hurts").

    Examples
    --------
    >>> z = 0.5 + np.random.default_rng(0).normal(0, 0.05, (64, 64))
    >>> round(auto_sigma(z), 2)
    0.05
    """
    est = estimate if estimate is not None else estimate_noise(image, channel_axis)
    low = est.confidence == "low" or est.sigma < LOW_SIGMA
    return est.sigma * (0.5 if low else 1.0)


def denoise_dct(
    image: np.ndarray,
    sigma: float | None = None,
    *,
    patch_size: int = 8,
    threshold: Threshold = "3sigma",
    aggregation: str = "uniform",
    channel_axis: int | None = None,
    workers: int = 1,
    device: str | None = None,
) -> np.ndarray:
    """Denoise an image by hard thresholding the DCT coefficients of all its p x p patches.

    Seed 003, "Sliding DCT": for every patch, 2-D DCT, hard threshold at tau (the DC coefficient
    is never thresholded), inverse DCT; each pixel aggregates the p^2 estimates of the patches
    that contain it with weights w = 1 (uniform) or w = 1/||x_hat||_0 (sparsity-aware,
    ||x_hat||_0 >= 1). The PSNR is ``10 log10(1 / MSE)`` on [0, 1] images (:func:`nlvision.metrics.psnr`).

    Parameters
    ----------
    image : ndarray
        Noisy image z in [0, 1] (values outside are accepted), shape (H, W), or (H, W, C)
        with ``channel_axis`` set. Every pixel of the output is estimated (borders included).
    sigma : float, optional
        Noise standard deviation in image units (e.g. 20/255). ``None`` estimates it with
        :func:`auto_sigma` (the robust estimate, halved when its confidence is low).
    patch_size : int
        Patch side p >= 2 (default 8, as in the seed).
    threshold : str or float
        ``"3sigma"`` (default), ``"universal"`` (sigma sqrt(2 ln p^2)), ``"<k>sigma"`` or tau.
    aggregation : {"uniform", "sparsity", "none"}
        Aggregation weights; ``"none"`` uses non-overlapping tiles (no aggregation).
    channel_axis : int, optional
        Axis of the colour channels. 3-channel images are decorrelated with
        :func:`rgb_to_opponent` before per-channel denoising; other channel counts are denoised
        channel by channel.
    workers : int
        Threads working on bands of patch rows (default 1; the result does not depend on it).
    device : str, optional
        Torch device of the computation (``"cuda"``, ``"cuda:1"``, ``"cpu"``; default CPU).
        The result equals the CPU one within float32 rounding (1e-5).

    Returns
    -------
    ndarray
        Denoised image, same shape as ``image`` (not clipped); float32 for float32 input,
        float64 otherwise.

    Raises
    ------
    ValueError
        Empty/non-finite image, image smaller than the patch, sigma <= 0, patch_size < 2,
        unknown threshold or aggregation name, bad channel_axis.
    TypeError
        Non-numeric arguments.

    References
    ----------
    Seed 003 (Boracchi, "Image Denoising"), sections "Sliding DCT" and "Aggregation";
    G. Yu and G. Sapiro, "DCT image denoising: a simple and effective image denoising
    algorithm", IPOL 1 (2011) 292-296. Differences from the IPOL code: the DC coefficient is
    not thresholded and p defaults to 8 (the seed's choice).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.tile(np.linspace(0, 1, 32), (32, 1))
    >>> noisy = clean + rng.normal(0, 0.1, clean.shape)
    >>> out = denoise_dct(noisy, 0.1)
    >>> bool(np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2) / 4)
    True
    """
    arr, p, color = _prepare(image, patch_size, channel_axis)
    aggregation = _check_aggregation(aggregation)
    if sigma is None:
        sigma = auto_sigma(arr, channel_axis=-1 if color else None)
        if sigma <= 0:
            raise ValueError("sigma: the estimated noise level is 0 (a noise-free image?); pass sigma explicitly")
    sigma = _check_sigma(sigma)
    tau = resolve_threshold(threshold, sigma, p)
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
    device = _check_device(device)
    out_dtype = np.float32 if np.asarray(image).dtype == np.float32 else np.float64
    if not color:
        return _denoise_gray(arr, tau, p, aggregation, workers, device).astype(out_dtype, copy=False)
    channels = arr
    n = arr.shape[-1]
    if n >= 3:
        channels = arr.copy()
        channels[..., :3] = rgb_to_opponent(arr[..., :3])
    out = np.stack([_denoise_gray(channels[..., c], tau, p, aggregation, workers, device) for c in range(n)], axis=-1)
    if n >= 3:
        out[..., :3] = opponent_to_rgb(out[..., :3])
    if channel_axis is not None and int(channel_axis) not in (-1, 2):
        out = np.moveaxis(out, -1, int(channel_axis))
    return out.astype(out_dtype, copy=False)


def _check_device(device: Any) -> Any:
    """None / "cpu" -> None (the CPU path); a CUDA device must exist."""
    if device is None or str(device) == "cpu":
        return None
    if not isinstance(device, str) or not device.startswith(("cuda", "mps")):
        raise ValueError(f"device: expected None, 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available")
    return torch.device(device)


def _sample_chunks(darr: Any, max_pixels: int = 2**22) -> np.ndarray:
    """A bounded, deterministic sample of a dask image for noise estimation: evenly spaced
    chunks (at most ``max_pixels`` pixels), tiled side by side into one array. Only those
    chunks are computed."""
    import dask

    grid = [len(c) for c in darr.chunks[:2]]
    ch_h, ch_w = darr.chunksize[0], darr.chunksize[1]
    n_max = max(1, max_pixels // max(1, ch_h * ch_w))
    ids = [(i, j) for i in range(grid[0]) for j in range(grid[1])]
    if len(ids) > n_max:
        ids = [ids[k] for k in np.linspace(0, len(ids) - 1, n_max).round().astype(int)]
    blocks = dask.compute(*[darr.blocks[i, j] for i, j in ids])
    h = min(b.shape[0] for b in blocks)
    return np.concatenate([np.asarray(b[:h], dtype=np.float64) for b in blocks], axis=1)


def denoise_dct_dask(
    image: Any,
    sigma: float | None = None,
    *,
    patch_size: int = 8,
    threshold: Threshold = "3sigma",
    aggregation: str = "uniform",
    channel_axis: int | None = None,
    chunks: int | tuple[int, int] = 1024,
    compute: bool = True,
) -> Any:
    """Run :func:`denoise_dct` chunk by chunk through ``dask.array.map_overlap`` (``[scale]`` extra).

    For images larger than memory or for a cluster.

    Each chunk is extended by ``p - 1`` pixels on each side: every patch that contains a pixel
    of the chunk then lies inside the extended chunk, so the result equals :func:`denoise_dct`
    (up to float32 rounding) for sliding aggregation. sigma is resolved once, globally.

    Parameters
    ----------
    image : ndarray or dask.array.Array
        As for :func:`denoise_dct` (channels last for colour).
    sigma : float, optional
        Noise standard deviation (image units). None estimates it from a bounded, deterministic
        sample of chunks (never the whole array).
    patch_size : int
        As for :func:`denoise_dct`.
    threshold : str or float
        As for :func:`denoise_dct`.
    aggregation : {"uniform", "sparsity"}
        As for :func:`denoise_dct`; ``"none"`` is not supported here.
    channel_axis : int, optional
        -1 for colour images (channels last).
    chunks : int or (int, int)
        Spatial chunk size (ignored when ``image`` is already a dask array).
    compute : bool
        Return a numpy array (True) or the lazy dask array (False).

    Returns
    -------
    ndarray or dask.array.Array
        Denoised image (computed, or lazy with ``compute=False``); float32 for float32 input,
        float64 otherwise.

    Raises
    ------
    ValueError
        As :func:`denoise_dct`; also for ``aggregation="none"`` or chunks smaller than p.
    ImportError
        If dask is not installed (``pip install nlvision[scale]``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> z = rng.random((40, 40))
    >>> a = denoise_dct_dask(z, 0.1, chunks=16)
    >>> bool(np.allclose(a, denoise_dct(z, 0.1), atol=1e-5))
    True
    """
    import dask.array as da

    aggregation = _check_aggregation(aggregation)
    if aggregation == "none":
        raise ValueError("aggregation: 'none' (non-overlapping tiles) is not supported by the dask path; use denoise_dct")
    p = _check_patch_size(patch_size)
    if isinstance(image, da.Array):
        darr = image
        if darr.ndim not in (2, 3) or any(s == 0 for s in darr.shape):
            raise ValueError(f"image: expected a non-empty 2-D or 3-D dask array, got shape {darr.shape}")
        if darr.ndim == 3 and (channel_axis is None or int(channel_axis) not in (-1, 2)):
            raise ValueError(f"channel_axis: dask colour images must have channels last (-1), got {channel_axis!r}")
    else:
        arr, p, color = _prepare(image, p, channel_axis)
        if isinstance(chunks, numbers.Integral):
            chunks = (int(chunks), int(chunks))
        if len(chunks) != 2 or min(chunks) < p:
            raise ValueError(f"chunks: expected spatial chunk sizes >= patch_size={p}, got {chunks!r}")
        darr = da.from_array(arr, chunks=tuple(chunks) + ((arr.shape[2],) if color else ()))
    color = darr.ndim == 3
    if darr.shape[0] < p or darr.shape[1] < p:
        raise ValueError(f"image: shape {darr.shape} is smaller than the {p}x{p} patch (patch_size={p})")
    if sigma is None:
        sigma = auto_sigma(_sample_chunks(darr), channel_axis=-1 if color else None)
    sigma = _check_sigma(sigma)
    tau = resolve_threshold(threshold, sigma, p)
    if min(c for cs in darr.chunks[:2] for c in cs) < p:
        darr = darr.rechunk({0: max(p, darr.chunksize[0]), 1: max(p, darr.chunksize[1])})

    def block(b: np.ndarray) -> np.ndarray:
        b = b.astype(np.float64, copy=False)
        if b.ndim == 2:
            return _denoise_gray(b, tau, p, aggregation)
        ch = b.copy()
        n = b.shape[-1]
        if n >= 3:
            ch[..., :3] = b[..., :3] @ _OPPONENT.T
        out = np.stack([_denoise_gray(ch[..., c], tau, p, aggregation) for c in range(n)], axis=-1)
        if n >= 3:
            out[..., :3] = out[..., :3] @ _OPPONENT
        return out

    depth = {0: p - 1, 1: p - 1} if not color else {0: p - 1, 1: p - 1, 2: 0}
    if color and len(darr.chunks[2]) > 1:
        darr = darr.rechunk({2: -1})
    out_dtype = np.float32 if getattr(image, "dtype", None) == np.float32 else np.float64
    result = darr.astype(np.float64).map_overlap(block, depth=depth, boundary="none", dtype=np.float64).astype(out_dtype)
    return result.compute() if compute else result
