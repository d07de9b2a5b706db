"""Sparse denoising: one global convolutional code versus the aggregation of patch codes.

Seed 003, "Convolutional Sparse Coding — Global Optimization vs Aggregation of Partial
Estimates" (after Carrera, Boracchi, Foi and Wohlberg, SPARS 2017 / IEEE SPL 2017). The same
dictionary is used in two ways:

* **global** (:func:`denoise_csc`): the whole image ``s`` is coded once as
  ``sum_m d_m * x_m`` with sparse coefficient maps ``x_m``::

      l1:  min_x 1/2 ||sum_m d_m * x_m - s||^2 + lam sum_m w_m ||x_m||_1
      l0:  min_x 1/2 ||sum_m d_m * x_m - s||^2 + lam sum_m w_m ||x_m||_0

  The l1 problem is convolutional BPDN solved by ADMM in the Fourier domain (Wohlberg 2016,
  the algorithm of :mod:`nlvision.restoration.csc`, here in float64 with per-filter weights,
  residual balancing and the Boyd et al. stopping rule so it can be run to 1e-4 relative
  objective). The l0 problem is solved by iterative hard thresholding (IHT, Blumensath and
  Davies 2008) warm-started from the l1 solution; with step ``1/L`` (``L`` the largest
  eigenvalue of ``D^T D``, computed per frequency) the objective never increases.
* **aggregation of partial estimates** (:func:`denoise_patch_bpdn`, :func:`denoise_patch_omp`):
  the filters become the columns of a patch dictionary (:func:`filters_to_dictionary`), every
  overlapping ``K x K`` patch is coded on its own (BPDN by :func:`nlvision.restoration.bpdn.bpdn`
  for l1, OMP by :func:`nlvision.restoration.sparse.omp` for l0) and the overlapping patch
  estimates are averaged (:func:`nlvision.restoration.patches.aggregate_patches`).

With the default filters (the ``K x K`` orthonormal 2-D DCT basis, :func:`dct_filters`) the
dictionary is "the translates of an orthonormal basis" of the paper: patch BPDN is then sliding
soft thresholding and patch OMP keeps the largest DCT coefficients of each patch.

Regularisation from ``sigma`` (documented rule; the constants were tuned on the tuning set of
``benchmarks/restoration_csc_denoise.py`` and are reported there)::

    global l1 : lam = LAMBDA_RULE["global_l1"] * sigma         (weight of the l1 norm)
    global l0 : lam = (LAMBDA_RULE["global_l0"] * sigma)^2 / 2 (hard threshold at k sigma)
    patch  l1 : lam = LAMBDA_RULE["patch_l1"] * sigma          (soft threshold for an orthonormal D)
    patch  l0 : OMP until ||residual|| <= LAMBDA_RULE["patch_l0"] * K * sigma  (the seed's 1.15 p sigma)

All filters, the constant (DC) one included, carry the same penalty (leaving the DC filter
unpenalised lets its coefficient maps reproduce the noise: a box filter is invertible at almost
every frequency). The global method subtracts the image mean before coding and adds it back; the
patch methods code the raw patches with the same filters (DC atom included). When the filter bank
has no constant filter, the global method removes the Tikhonov low-pass
(:func:`nlvision.restoration.csc.highpass`) first, as in Wohlberg's examples, and the patch
methods code each patch without its mean.

References
----------
Seed 003, "Global Optimization vs Aggregation of Partial Estimates" (l1 and l0, natural and
synthetic very sparse images). D. Carrera, G. Boracchi, A. Foi, B. Wohlberg, "Sparse overcomplete
denoising: aggregation versus global optimization", IEEE Signal Processing Letters 24(10), 2017
(SPARS 2017). B. Wohlberg, "Efficient algorithms for convolutional sparse representations",
IEEE TIP 25(1), 2016. T. Blumensath, M. E. Davies, "Iterative thresholding for sparse
approximations", J. Fourier Anal. Appl. 14, 2008. S. Boyd et al., "Distributed optimization and
statistical learning via ADMM", 2011 (sec. 3.3-3.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft as sfft

from nlvision.restoration.bpdn import ADMMConfig, bpdn
from nlvision.restoration.csc import highpass
from nlvision.restoration.dct import dct_matrix
from nlvision.restoration.patches import aggregate_patches, extract_patches
from nlvision.restoration.sparse import omp

__all__ = [
    "PENALTIES",
    "LAMBDA_RULE",
    "CSCCodeResult",
    "dct_filters",
    "filters_to_dictionary",
    "csc_lambda",
    "conv_sparse_code",
    "conv_objective",
    "denoise_csc",
    "denoise_patch_bpdn",
    "denoise_patch_omp",
]

#: Regularisation penalties of :func:`denoise_csc` and :func:`conv_sparse_code`.
PENALTIES = ("l1", "l0")

#: Multipliers of ``sigma`` in the regularisation rule (see the module docstring). Chosen on a grid
#: by ``benchmarks/restoration_csc_denoise.py`` on its tuning set only (64x64 camera crop and a
#: synthetic image of density 0.002, seed 0, both at sigma 25/255).
LAMBDA_RULE = {"global_l1": 3.5, "global_l0": 8.0, "patch_l1": 1.4, "patch_l0": 1.15}


@dataclass
class CSCCodeResult:
    """Output of :func:`conv_sparse_code`.

    Parameters
    ----------
    maps : ndarray, shape (M, H, W)
        Coefficient maps (exactly sparse).
    reconstruction : ndarray, shape (H, W)
        ``sum_m d_m * x_m`` (circular convolution).
    objective : float
        Value of the penalised objective at ``maps``.
    n_iter : int
        Iterations performed (ADMM, plus IHT for ``l0``).
    converged : bool
        Whether the stopping rule was met before the iteration limit.
    """

    maps: np.ndarray
    reconstruction: np.ndarray
    objective: float
    n_iter: int
    converged: bool


def dct_filters(size: int = 8) -> np.ndarray:
    """The ``size x size`` orthonormal 2-D DCT basis as a filter bank (DC filter first).

    Parameters
    ----------
    size : int, default 8
        Filter side ``K`` (>= 2).

    Returns
    -------
    ndarray, shape (K*K, K, K)
        Filter ``k1*K + k2`` is the outer product of the 1-D DCT-II vectors ``k1`` and ``k2``.

    Raises
    ------
    ValueError
        If ``size < 2``.

    References
    ----------
    Seed 003, "Sliding DCT"; Carrera et al. 2017 (translates of an orthonormal basis).

    Examples
    --------
    >>> f = dct_filters(4)
    >>> f.shape, bool(np.allclose(f.reshape(16, 16) @ f.reshape(16, 16).T, np.eye(16)))
    ((16, 4, 4), True)
    """
    C = dct_matrix(int(size))
    K = C.shape[0]
    return np.einsum("ia,jb->ijab", C, C).reshape(K * K, K, K)


def _check_filters(filters: Any) -> np.ndarray:
    if not isinstance(filters, np.ndarray):
        raise TypeError(f"filters must be a numpy array of shape (M, K, K), got {type(filters).__name__}")
    if filters.ndim != 3 or filters.shape[0] < 1 or filters.shape[1] < 1 or filters.shape[1] != filters.shape[2]:
        raise ValueError(f"filters must have shape (M, K, K) with square K x K filters, got {filters.shape}")
    if not np.issubdtype(filters.dtype, np.number) or np.iscomplexobj(filters) or not np.all(np.isfinite(filters)):
        raise ValueError("filters must be real and finite")
    return filters.astype(np.float64, copy=False)


def _check_penalty(penalty: Any) -> str:
    p = str(penalty).strip().lower() if isinstance(penalty, str) else None
    if p not in PENALTIES:
        raise ValueError(f"penalty must be one of {', '.join(PENALTIES)}, got {penalty!r}")
    return p


def _check_sigma(sigma: Any) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating, np.integer)):
        raise TypeError(f"sigma must be a number, got {type(sigma).__name__}")
    s = float(sigma)
    if not math.isfinite(s) or s <= 0:
        raise ValueError(f"sigma must be a finite number > 0 (image units), got {sigma}")
    return s


def _check_image(image: Any, filters: np.ndarray, name: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim != 2:
        raise ValueError(f"{name} must be 2-D (H, W), got shape {image.shape}")
    K = filters.shape[1]
    if min(image.shape) < K:
        raise ValueError(f"filters of size {K}x{K} are larger than the {name} of shape {image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return image.astype(np.float64, copy=False)


def _constant_filters(filters: np.ndarray) -> np.ndarray:
    """Boolean mask of the (non-zero) constant filters."""
    flat = filters.reshape(filters.shape[0], -1)
    return (np.ptp(flat, axis=1) <= 1e-12 * np.maximum(np.abs(flat).max(axis=1), 1e-300)) & (np.abs(flat).max(axis=1) > 0)


def filters_to_dictionary(filters: np.ndarray) -> np.ndarray:
    """Turn convolutional filters into a patch dictionary (one flattened filter per column).

    A coefficient at pixel ``q`` of map ``m`` places filter ``d_m`` (not flipped) with its top-left
    tap at ``q - K//2`` (the convention of :func:`nlvision.restoration.csc.reconstruct`), so the
    ``K x K`` patch at that position is column ``m`` of the returned matrix.

    Parameters
    ----------
    filters : ndarray, shape (M, K, K)
        Filter bank.

    Returns
    -------
    ndarray, shape (K*K, M)
        Patch dictionary (columns flattened row-major, like
        :func:`nlvision.restoration.patches.extract_patches`).

    Raises
    ------
    TypeError, ValueError
        If ``filters`` is not a real finite ``(M, K, K)`` array.

    Examples
    --------
    >>> filters_to_dictionary(np.arange(8.0).reshape(2, 2, 2)).tolist()
    [[0.0, 4.0], [1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]
    """
    f = _check_filters(filters)
    return f.reshape(f.shape[0], -1).T.copy()


def csc_lambda(sigma: float, method: str = "global_l1") -> float:
    """Regularisation weight from the noise level (the documented rule of this module).

    Parameters
    ----------
    sigma : float
        Noise standard deviation (image units, > 0).
    method : {"global_l1", "global_l0", "patch_l1", "patch_l0"}
        Which method's rule: ``global_l1``/``patch_l1`` give ``c sigma`` (l1 weight),
        ``global_l0`` gives ``(c sigma)^2 / 2`` (l0 weight, hard threshold ``c sigma``),
        ``patch_l0`` gives the OMP residual-norm multiplier ``c`` (stop at ``c K sigma``).

    Returns
    -------
    float
        The weight (or multiplier for ``patch_l0``).

    Raises
    ------
    ValueError
        Unknown method or invalid ``sigma``.

    References
    ----------
    Seed 003, "Denoising via sparse coding" (``delta = 1.15 p sigma``); constants in
    :data:`LAMBDA_RULE`.

    Examples
    --------
    >>> round(csc_lambda(0.1, "global_l1"), 3)
    0.35
    """
    s = _check_sigma(sigma)
    if method not in LAMBDA_RULE:
        raise ValueError(f"method must be one of {', '.join(LAMBDA_RULE)}, got {method!r}")
    c = LAMBDA_RULE[method]
    if method == "global_l0":
        return 0.5 * (c * s) ** 2
    if method == "patch_l0":
        return c
    return c * s


def _filters_hat(filters: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """rfft2 of the filters zero-padded to ``shape`` with their tap ``(K//2, K//2)`` at the origin."""
    M, K, _ = filters.shape
    f = np.zeros((M,) + tuple(shape))
    f[:, :K, :K] = filters
    f = np.roll(f, shift=(-(K // 2), -(K // 2)), axis=(1, 2))
    return sfft.rfft2(f)


def conv_objective(signal: np.ndarray, filters: np.ndarray, maps: np.ndarray, lam: float,
                   penalty: str = "l1", weights: np.ndarray | None = None) -> float:
    """Objective ``1/2 ||sum d_m * x_m - s||^2 + lam sum_m w_m ||x_m||_p`` (circular convolution).

    Parameters
    ----------
    signal : ndarray, shape (H, W)
        Signal ``s``.
    filters : ndarray, shape (M, K, K)
        Filters ``d_m``.
    maps : ndarray, shape (M, H, W)
        Coefficient maps ``x_m``.
    lam : float
        Regularisation weight.
    penalty : {"l1", "l0"}, default "l1"
        Norm of the penalty.
    weights : ndarray, shape (M,), optional
        Per-filter weights ``w_m`` (default all ones).

    Returns
    -------
    float
        The objective value.

    Raises
    ------
    TypeError, ValueError
        Shapes that do not agree, unknown penalty.

    Examples
    --------
    >>> d = np.ones((1, 1, 1)); s = np.array([[2.0, 0.0]])
    >>> conv_objective(s, d, np.array([[[1.0, 0.0]]]), lam=1.0)
    1.5
    """
    f = _check_filters(filters)
    pen = _check_penalty(penalty)
    s = np.asarray(signal, dtype=np.float64)
    x = np.asarray(maps, dtype=np.float64)
    if s.ndim != 2 or x.shape != (f.shape[0],) + s.shape:
        raise ValueError(f"maps must have shape {(f.shape[0],) + s.shape}, got {x.shape}")
    w = np.ones(f.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    Dh = _filters_hat(f, s.shape)
    rec = sfft.irfft2((Dh * sfft.rfft2(x)).sum(0), s=s.shape)
    r = rec - s
    if pen == "l1":
        reg = float((w * np.abs(x).reshape(f.shape[0], -1).sum(1)).sum())
    else:
        reg = float((w * (x != 0).reshape(f.shape[0], -1).sum(1)).sum())
    return 0.5 * float(np.sum(r * r)) + float(lam) * reg


def conv_sparse_code(
    signal: np.ndarray,
    filters: np.ndarray,
    lam: float,
    *,
    penalty: str = "l1",
    weights: np.ndarray | None = None,
    max_iter: int = 500,
    rel_tol: float = 1e-4,
    rho: float | None = None,
    l0_iter: int = 100,
) -> CSCCodeResult:
    """Global convolutional sparse code of a signal (circular boundary), l1 or l0 penalty.

    ``l1``: ADMM on the splitting ``x = y`` with the ``x``-step solved independently per
    frequency by Sherman-Morrison (Wohlberg 2016), over-relaxation 1.8, ``rho = 50 lam + 1``
    (SPORCO's default) adapted by residual balancing every 10 iterations; stops when the primal
    and dual residuals fall under ``rel_tol`` (Boyd et al. eq. 3.12 with zero absolute
    tolerance) or after ``max_iter`` iterations. ``l0``: an l1 solution is
    refined by iterative hard thresholding (the l1 warm start uses the weight ``sqrt(2 lam) / 2``, half
    the hard threshold) ``x <- H_t(x - D^T(Dx - s) / L)``,
    ``t = sqrt(2 lam w / L)``, which never increases the l0 objective; it stops when the
    support stops changing and the relative change of ``x`` is below ``rel_tol``, or after
    ``l0_iter`` iterations.

    Parameters
    ----------
    signal : ndarray, shape (H, W)
        Signal to code (periodic boundary: pad it first if it is not periodic).
    filters : ndarray, shape (M, K, K)
        Filter bank (``K <= min(H, W)``).
    lam : float
        Regularisation weight (>= 0).
    penalty : {"l1", "l0"}, default "l1"
        Sparsity penalty.
    weights : ndarray, shape (M,), optional
        Per-filter weights (default ones; ``0`` leaves a filter unpenalised).
    max_iter : int, default 500
        ADMM iteration limit.
    rel_tol : float, default 1e-4
        Relative tolerance of the stopping rules.
    rho : float, optional
        Initial ADMM penalty (default ``50 lam + 1``).
    l0_iter : int, default 100
        IHT iteration limit (``l0`` only).

    Returns
    -------
    CSCCodeResult
        Maps, reconstruction, objective, iterations, convergence flag.

    Raises
    ------
    TypeError, ValueError
        Bad shapes, non-finite values, filters larger than the signal, unknown penalty.

    References
    ----------
    Seed 003, "Convolutional sparse coding"; Wohlberg, IEEE TIP 2016 (ADMM, Sherman-Morrison);
    Blumensath and Davies 2008 (IHT).

    Examples
    --------
    >>> s = np.zeros((8, 8)); s[3, 4] = 2.0
    >>> delta = np.ones((1, 1, 1))
    >>> r = conv_sparse_code(s, delta, 0.5)
    >>> round(float(r.maps[0, 3, 4]), 4), int((r.maps != 0).sum())
    (1.5, 1)
    """
    f = _check_filters(filters)
    s = _check_image(signal, f, "signal")
    pen = _check_penalty(penalty)
    lam = float(lam)
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    M = f.shape[0]
    w = np.ones(M) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (M,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be {M} finite numbers >= 0, got shape {w.shape}")
    if int(max_iter) < 1 or int(l0_iter) < 0 or not rel_tol > 0:
        raise ValueError("max_iter must be >= 1, l0_iter >= 0 and rel_tol > 0")
    H, W = s.shape
    Dh = _filters_hat(f, (H, W))
    Sh = sfft.rfft2(s)
    DtS = Dh.conj() * Sh
    dd = (Dh.real**2 + Dh.imag**2).sum(0)
    wt = w[:, None, None]
    # l0: the l1 warm start uses half the hard threshold, lam1 = sqrt(2 lam) / 2
    lam1 = lam if pen == "l1" else 0.5 * math.sqrt(2.0 * lam)
    r_ = float(rho) if rho is not None else 50.0 * lam1 + 1.0
    Y = np.zeros((M, H, W))
    U = np.zeros_like(Y)
    relax = 1.8
    converged = False
    it = 0
    for it in range(1, int(max_iter) + 1):
        Bh = DtS + r_ * sfft.rfft2(Y - U)
        Xh = (Bh - Dh.conj() * ((Dh * Bh).sum(0) / (r_ + dd))) / r_
        X = sfft.irfft2(Xh, s=(H, W))
        Yold = Y
        V = relax * X + (1.0 - relax) * Y + U
        Y = np.sign(V) * np.maximum(np.abs(V) - lam1 * wt / r_, 0.0)
        U = V - Y
        if it % 5 == 0 or it == int(max_iter):
            rp = float(np.linalg.norm(X - Y))
            sd = r_ * float(np.linalg.norm(Y - Yold))
            if rp <= rel_tol * max(float(np.linalg.norm(X)), float(np.linalg.norm(Y)), 1e-300) and \
                    sd <= rel_tol * max(r_ * float(np.linalg.norm(U)), 1e-300):
                converged = True
                break
            if it % 10 == 0 and (rp > 10 * sd or sd > 10 * rp):
                fac = 2.0 if rp > 10 * sd else 0.5
                r_ *= fac
                U = U / fac
    n_iter = it
    if pen == "l0":
        L = float(dd.max())
        t = np.sqrt(2.0 * lam * wt / L)
        Xc = Y.copy()
        support = Xc != 0
        converged = int(l0_iter) == 0
        for _ in range(int(l0_iter)):
            Rh = (Dh * sfft.rfft2(Xc)).sum(0) - Sh
            V = Xc - sfft.irfft2(Dh.conj() * Rh, s=(H, W)) / L
            Xn = np.where(np.abs(V) > t, V, 0.0)
            new_support = Xn != 0
            change = float(np.linalg.norm(Xn - Xc)) / max(float(np.linalg.norm(Xn)), 1e-300)
            same = bool(np.array_equal(new_support, support))
            Xc, support = Xn, new_support
            n_iter += 1
            if same and change < rel_tol:
                converged = True
                break
        Y = Xc
    maps = Y
    rec = sfft.irfft2((Dh * sfft.rfft2(Y)).sum(0), s=(H, W))
    r = rec - s
    if pen == "l1":
        reg = float((w * np.abs(maps).reshape(M, -1).sum(1)).sum())
    else:
        reg = float((w * (maps != 0).reshape(M, -1).sum(1)).sum())
    obj = 0.5 * float(np.sum(r * r)) + lam * reg
    return CSCCodeResult(maps=maps, reconstruction=rec, objective=obj, n_iter=n_iter, converged=converged)


def _per_channel(image: Any, channel_axis: Any, fn: Any) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if channel_axis is None:
        return fn(image)
    if image.ndim != 3:
        raise ValueError(f"image must be 3-D with channel_axis set, got shape {image.shape}")
    x = np.moveaxis(image, channel_axis, -1)
    out = np.stack([fn(np.ascontiguousarray(x[..., c])) for c in range(x.shape[-1])], axis=-1)
    return np.moveaxis(out, -1, channel_axis)


def denoise_csc(
    image: np.ndarray,
    sigma: float,
    filters: np.ndarray | None = None,
    *,
    penalty: str = "l1",
    lam: float | None = None,
    max_iter: int = 300,
    rel_tol: float = 1e-3,
    channel_axis: int | None = None,
) -> np.ndarray:
    """Denoise by one global convolutional sparse code of the whole image (l1 or l0).

    The image mean is subtracted (the Tikhonov low-pass when the filters have no constant
    filter), the rest is reflect-padded by the filter size, coded with :func:`conv_sparse_code`,
    reconstructed, cropped back and the mean added.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Noisy image in [0, 1] (float).
    sigma : float
        Noise standard deviation in image units (> 0).
    filters : ndarray, shape (M, K, K), optional
        Filter bank; default the 8x8 orthonormal DCT basis (:func:`dct_filters`).
    penalty : {"l1", "l0"}, default "l1"
        Sparsity penalty (convolutional BPDN, or l0 by IHT).
    lam : float, optional
        Regularisation weight; default from ``sigma`` by :func:`csc_lambda`.
    max_iter : int, default 300
        ADMM iteration limit.
    rel_tol : float, default 1e-3
        Relative tolerance of the ADMM residuals (denoising does not need more).
    channel_axis : int, optional
        Axis of the colour channels (each channel is denoised separately).

    Returns
    -------
    ndarray
        Denoised image, same shape, float64 (not clipped).

    Raises
    ------
    TypeError, ValueError
        Non-array input, bad ``sigma``, unknown penalty, filters larger than the image.

    References
    ----------
    Seed 003, "Global Optimization vs Aggregation of Partial Estimates"; Carrera et al.,
    IEEE SPL 2017; Wohlberg, IEEE TIP 2016.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.full((16, 16), 0.5); noisy = clean + 0.05 * rng.standard_normal(clean.shape)
    >>> out = denoise_csc(noisy, 0.05, dct_filters(4))
    >>> bool(np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2) / 4)
    True
    """
    sig = _check_sigma(sigma)
    f = _check_filters(dct_filters(8) if filters is None else filters)
    pen = _check_penalty(penalty)
    lam_ = csc_lambda(sig, f"global_{pen}") if lam is None else float(lam)

    def one(z: np.ndarray) -> np.ndarray:
        z = _check_image(z, f)
        K = f.shape[1]
        const = _constant_filters(f)
        if const.any():
            low = np.full_like(z, z.mean())
            z = z - low
        else:
            low, z = highpass(z, 5.0)
        zp = np.pad(z, K, mode="reflect" if min(z.shape) > K else "symmetric")
        res = conv_sparse_code(zp, f, lam_, penalty=pen, max_iter=max_iter, rel_tol=rel_tol)
        return res.reconstruction[K:-K, K:-K] + low

    return _per_channel(image, channel_axis, one)


def _patch_setup(image: np.ndarray, filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Patches without their means, the means, the dictionary of non-constant atoms, K."""
    f = filters
    K = f.shape[1]
    D = filters_to_dictionary(f)
    P = extract_patches(image, K)
    if _constant_filters(f).any():
        return P, np.zeros((P.shape[0], 1)), D, K
    mean = P.mean(axis=1, keepdims=True)
    return P - mean, mean, D, K


def denoise_patch_bpdn(
    image: np.ndarray,
    sigma: float,
    filters: np.ndarray | None = None,
    *,
    lam: float | None = None,
    channel_axis: int | None = None,
) -> np.ndarray:
    """Denoise by BPDN of every overlapping patch with the filters as dictionary, then averaging.

    Each ``K x K`` patch (stride 1) minus its mean is coded by
    ``min_x 1/2 ||D x - p||^2 + lam ||x||_1`` (:func:`nlvision.restoration.bpdn.bpdn`, ADMM),
    ``D`` the non-constant filters as columns (:func:`filters_to_dictionary`); the estimates
    ``D x + mean`` are averaged where they overlap.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Noisy image in [0, 1].
    sigma : float
        Noise standard deviation (image units, > 0).
    filters : ndarray, shape (M, K, K), optional
        Filter bank; default the 8x8 DCT basis.
    lam : float, optional
        The l1 weight; default ``csc_lambda(sigma, "patch_l1")``.
    channel_axis : int, optional
        Axis of the colour channels.

    Returns
    -------
    ndarray
        Denoised image, same shape.

    Raises
    ------
    TypeError, ValueError
        Non-array input, bad ``sigma``, filters larger than the image.

    References
    ----------
    Seed 003, "Global Optimization vs Aggregation of Partial Estimates" (aggregation of partial
    estimates), "Sparse representations as feature extractors" (BPDN by ADMM).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.full((12, 12), 0.5); noisy = clean + 0.05 * rng.standard_normal(clean.shape)
    >>> out = denoise_patch_bpdn(noisy, 0.05, dct_filters(4))
    >>> bool(np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2) / 4)
    True
    """
    sig = _check_sigma(sigma)
    f = _check_filters(dct_filters(8) if filters is None else filters)
    lam_ = csc_lambda(sig, "patch_l1") if lam is None else float(lam)

    def one(z: np.ndarray) -> np.ndarray:
        z = _check_image(z, f)
        P, mean, D, K = _patch_setup(z, f)
        x = bpdn(D, P, lam_, config=ADMMConfig(max_iter=300, rel_tol=1e-4), batch_size=20000).x
        return aggregate_patches(x @ D.T + mean, z.shape, K)

    return _per_channel(image, channel_axis, one)


def denoise_patch_omp(
    image: np.ndarray,
    sigma: float,
    filters: np.ndarray | None = None,
    *,
    k: float | None = None,
    channel_axis: int | None = None,
) -> np.ndarray:
    """Denoise by OMP of every overlapping patch with the filters as dictionary, then averaging.

    Each ``K x K`` patch minus its mean is coded by OMP (:func:`nlvision.restoration.sparse.omp`)
    until its residual norm is at most ``k K sigma`` (the seed's ``delta = 1.15 p sigma``); the
    estimates are averaged where they overlap.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Noisy image in [0, 1].
    sigma : float
        Noise standard deviation (image units, > 0).
    filters : ndarray, shape (M, K, K), optional
        Filter bank; default the 8x8 DCT basis.
    k : float, optional
        Residual multiplier; default ``csc_lambda(sigma, "patch_l0")``.
    channel_axis : int, optional
        Axis of the colour channels.

    Returns
    -------
    ndarray
        Denoised image, same shape.

    Raises
    ------
    TypeError, ValueError
        Non-array input, bad ``sigma``, filters larger than the image.

    References
    ----------
    Seed 003, "Denoising via sparse coding" (OMP with ``delta = 1.15 p sigma``), "Global
    Optimization vs Aggregation of Partial Estimates" (l0).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.full((12, 12), 0.5); noisy = clean + 0.05 * rng.standard_normal(clean.shape)
    >>> out = denoise_patch_omp(noisy, 0.05, dct_filters(4))
    >>> bool(np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2) / 4)
    True
    """
    sig = _check_sigma(sigma)
    f = _check_filters(dct_filters(8) if filters is None else filters)
    c = csc_lambda(sig, "patch_l0") if k is None else float(k)
    if not (math.isfinite(c) and c >= 0):
        raise ValueError(f"k must be a finite number >= 0, got {k}")

    def one(z: np.ndarray) -> np.ndarray:
        z = _check_image(z, f)
        P, mean, D, K = _patch_setup(z, f)
        Dn = D / np.linalg.norm(D, axis=0, keepdims=True)
        x = omp(Dn, P, n_nonzero=Dn.shape[1], tol=(c * K * sig) ** 2)
        return aggregate_patches(x @ Dn.T + mean, z.shape, K)

    return _per_channel(image, channel_axis, one)
