"""Denoising by sparse coding with a learned dictionary (K-SVD denoising).

Seed 003, "Denoising via sparse coding": the sliding-DCT pipeline with the analysis +
thresholding of each patch replaced by OMP w.r.t. a dictionary learned from natural images,
stopped when the residual is at the noise level. The reference is Elad & Aharon's K-SVD
denoising (IEEE TIP 2006): error-constrained OMP ``||s - D x||² <= n (C σ)²`` with C = 1.15,
optional adaptation of the dictionary on the noisy image's own patches (K-SVD), averaging of
the overlapping patch estimates and of the noisy image with weight λ = 30/σ (σ in 0–255 units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlvision.imageio import validate_image
from nlvision.restoration.dct import AGGREGATIONS, auto_sigma, opponent_to_rgb, rgb_to_opponent
from nlvision.restoration.dictionary import resolve_dictionary
from nlvision.restoration.patches import map_patches, patch_grid
from nlvision.restoration.sparse import KSVDConfig, ksvd, omp_codes

__all__ = ["KSVDDenoiseConfig", "denoise_ksvd", "AGGREGATIONS"]


@dataclass
class KSVDDenoiseConfig:
    """K-SVD denoising hyper-parameters (Elad & Aharon 2006 defaults).

    Parameters
    ----------
    gain : float
        C in the OMP stopping rule ``||r||² <= n (C σ)²`` (1.15).
    adapt_iterations : int
        K-SVD iterations on the noisy patches (the paper's J = 10; 0 = global dictionary only).
    training_patches : int
        Cap on the random patches of the noisy image used for the adaptation (KSVD-Box:
        40,000); the number used is ``min(cap, max(n_positions // 4, 4 K))``, so it scales
        with the image.
    lam : float or None
        Weight of the noisy image in the final average; None = 30/σ₂₅₅ (the paper's choice).
    seed : int or None
        Seed of the training-patch draw and of K-SVD.

    References
    ----------
    M. Elad, M. Aharon, IEEE TIP 15(12), 2006.

    Examples
    --------
    >>> KSVDDenoiseConfig(adapt_iterations=0).gain
    1.15
    """

    gain: float = 1.15
    adapt_iterations: int = 10
    training_patches: int = 40000
    lam: float | None = None
    seed: int | None = 0


def _denoise_gray(
    z: np.ndarray, sigma: float, D: np.ndarray, p: int, aggregation: str, cfg: KSVDDenoiseConfig
) -> tuple[np.ndarray, np.ndarray]:
    n = p * p
    tol = n * (cfg.gain * sigma) ** 2
    step = p if aggregation == "none" else 1
    if cfg.adapt_iterations > 0:
        # training patches drawn at random positions (no full patch matrix in memory)
        rng = np.random.default_rng(cfg.seed)
        windows = np.lib.stride_tricks.sliding_window_view(z, (p, p))
        n_pos = windows.shape[0] * windows.shape[1]
        # scales with the image (a quarter of its patch positions, at least 4 per atom): small
        # images train on few patches and are fast; 512x512 reaches the cap (KSVD-Box: 40,000)
        ntr = min(cfg.training_patches, n_pos, max(n_pos // 4, 4 * D.shape[1]))
        pick = rng.choice(n_pos, size=ntr, replace=False)
        T = windows[pick // windows.shape[1], pick % windows.shape[1]].reshape(ntr, n)
        T = T - T.mean(axis=1, keepdims=True)
        if ntr >= D.shape[1]:
            D = ksvd(
                T, D.shape[1],
                KSVDConfig(n_iter=cfg.adapt_iterations, n_nonzero=None, tol=tol, seed=cfg.seed),
                init_dictionary=D,
            ).dictionary

    def code(S: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        means = S.mean(axis=1, keepdims=True)
        codes = omp_codes(D, S - means, tol=tol)  # DC kept exactly, like the DCT denoiser
        w = 1.0 / np.maximum(codes.n_nonzero, 1) if aggregation == "sparsity" else np.ones(S.shape[0])
        return codes.reconstruct(D) + means, w

    num, wsum = map_patches(z, p, code, step=step)
    if aggregation == "sparsity":
        # λ keeps its meaning relative to ~p² unit-weight estimates per pixel
        rows, cols = patch_grid(z.shape, p, step)
        scale = wsum.sum() / (rows.size * cols.size * n)
        num, wsum = num / scale, wsum / scale
    lam = cfg.lam if cfg.lam is not None else 30.0 / (255.0 * sigma)
    if step != 1:
        lam = lam / (p * p)  # one estimate per pixel instead of p²
    # x = (λ z + Σ_i w_i R_iᵀ D x_i) / (λ + Σ_i w_i)   (Elad & Aharon, eq. (12))
    out = (lam * z + num) / (lam + wsum)
    return out, D


def denoise_ksvd(
    image: np.ndarray,
    sigma: float | None = None,
    *,
    dictionary: np.ndarray | None = None,
    patch_size: int = 8,
    aggregation: str = "uniform",
    channel_axis: int | None = None,
    adapt: bool = True,
    config: KSVDDenoiseConfig | None = None,
) -> np.ndarray:
    """Denoise an image by OMP sparse coding of all its patches w.r.t. a learned dictionary.

    Every ``p x p`` patch (mean removed) is coded by OMP until ``||s − D x||² <= p² (1.15 σ)²``,
    re-synthesised, its mean added back, and the overlapping estimates are aggregated
    (uniform, sparsity-aware ``w = 1/||x||_0`` or none), then averaged with the noisy image with
    weight λ = 30/σ (Elad & Aharon). With ``adapt=True`` the dictionary is first refined by
    K-SVD on the noisy image's own patches (the paper's adaptive variant).

    Parameters
    ----------
    image : ndarray
        Noisy image in [0, 1], (H, W) or (H, W, C) with ``channel_axis``.
    sigma : float, optional
        Noise standard deviation (image units, e.g. 20/255); None estimates it with
        :func:`nlvision.restoration.auto_sigma` (safe when the estimate is not trusted).
    dictionary : ndarray, shape (p*p, K), optional
        Starting dictionary; default the shipped 8x8, 256-atom K-SVD dictionary.
    patch_size : int, default 8
        Patch side p (must match the dictionary).
    aggregation : {"uniform", "sparsity", "none"}, default "uniform"
        As the DCT denoiser; ``"none"`` uses non-overlapping tiles.
    channel_axis : int, optional
        Colour images are decorrelated with the orthonormal opponent transform and denoised
        channel by channel (each channel adapts its own dictionary).
    adapt : bool, default True
        Refine the dictionary by K-SVD on the noisy patches.
    config : KSVDDenoiseConfig, optional
        Gain, adaptation iterations, training patches, λ, seed.

    Returns
    -------
    ndarray
        Denoised image, same shape (not clipped); float32 for float32 input, else float64.

    Raises
    ------
    TypeError, ValueError
        Bad image, σ <= 0 (or an estimate of 0), dictionary/patch size mismatch, NaN in the
        dictionary, unknown aggregation.

    References
    ----------
    Seed 003, "Denoising via sparse coding". M. Elad, M. Aharon, "Image denoising via sparse and
    redundant representations over learned dictionaries", IEEE TIP 15(12), 2006.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.tile(np.linspace(0, 1, 24), (24, 1))
    >>> noisy = clean + rng.normal(0, 0.1, clean.shape)
    >>> out = denoise_ksvd(noisy, 0.1, adapt=False)
    >>> bool(np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2) / 4)
    True
    """
    cfg = config if config is not None else KSVDDenoiseConfig()
    if not isinstance(cfg, KSVDDenoiseConfig):
        raise TypeError(f"config must be a KSVDDenoiseConfig, got {type(cfg).__name__}")
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)) or patch_size < 2:
        raise ValueError(f"patch_size must be an int >= 2, got {patch_size!r}")
    p = int(patch_size)
    if not isinstance(aggregation, str) or aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {list(AGGREGATIONS)}, got {aggregation!r}")
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    arr = image
    if channel_axis is not None:
        if image.ndim != 3:
            raise ValueError(f"channel_axis={channel_axis!r} given but image has shape {image.shape}")
        arr = np.moveaxis(image, channel_axis, -1)
    elif image.ndim != 2:
        raise ValueError(f"image must be 2-D, or pass channel_axis for colour; got shape {image.shape}")
    arr = validate_image(arr, name="image")
    if arr.shape[0] < p or arr.shape[1] < p:
        raise ValueError(f"image of shape {arr.shape} is smaller than patch_size={p}")
    color = arr.ndim == 3
    if sigma is None:
        sigma = auto_sigma(arr, channel_axis=-1 if color else None)
        if not sigma > 0:
            raise ValueError("sigma: the estimated noise level is 0 (a noise-free image?); pass sigma explicitly")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating, np.integer)):
        raise TypeError(f"sigma must be a number, got {sigma!r}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be finite and > 0, got {sigma}")
    D = resolve_dictionary(dictionary, p)
    run_cfg = KSVDDenoiseConfig(**vars(cfg))
    if not adapt:
        run_cfg.adapt_iterations = 0
    out_dtype = np.float32 if image.dtype == np.float32 else np.float64
    if not color:
        return _denoise_gray(arr, float(sigma), D, p, aggregation, run_cfg)[0].astype(out_dtype, copy=False)
    ch = arr.copy()
    nc = ch.shape[-1]
    if nc >= 3:
        ch[..., :3] = rgb_to_opponent(arr[..., :3])
    out = np.stack([_denoise_gray(ch[..., c], float(sigma), D, p, aggregation, run_cfg)[0] for c in range(nc)], axis=-1)
    if nc >= 3:
        out[..., :3] = opponent_to_rgb(out[..., :3])
    if channel_axis is not None:
        out = np.moveaxis(out, -1, channel_axis)
    return out.astype(out_dtype, copy=False)
