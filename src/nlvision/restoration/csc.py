"""Convolutional sparse coding (CSC) with local group sparsity, by ADMM in the Fourier domain.

Seed 003, "Convolutional sparsity": an image ``s`` is encoded as ``sum_i d_i * alpha_i`` with
few small filters ``d_i`` and sparse coefficient maps ``alpha_i``. For anomaly detection the
seed adds a penalty on the *local group sparsity* (how many filters are active in a region)::

    {alpha} = argmin 1/2 ||sum_i d_i * alpha_i - s||^2 + lam sum_i ||alpha_i||_1
                     + xi sum_c sum_i ||Pi_c alpha_i||_2

and monitors, for every region ``c``, the three-term feature vector::

    x_c = [ ||Pi_c(sum_i d_i * alpha_i - s)||^2,  sum_i ||Pi_c alpha_i||_1,  sum_i ||Pi_c alpha_i||_2 ].

The coding problem is solved by ADMM with the splitting ``alpha = y`` (Wohlberg 2016): the
``alpha``-step is solved independently at every frequency with the Sherman-Morrison formula
(one rank-one system per frequency), the ``y``-step is the proximal operator of the
sparse-group penalty (soft threshold, then block shrinkage over the regions ``Pi_c``, which
tile the image in non-overlapping ``group_size`` blocks). Filters are learned by alternating
coding with a constrained filter update (ADMM, filters supported on ``K x K`` and in the unit
ball; the frequency-domain step is a small ``M x M`` system per frequency).

Convention: the data term carries a ``1/2`` (the seed writes it without); ``lam`` and ``xi`` of
the unscaled form are twice ours. As in Wohlberg's examples, the low frequencies of the image
are removed first by a Tikhonov low-pass filter (``tikhonov``) and only the high-pass part is
coded.

References
----------
Seed 003, "Convolutional sparsity", "Convolutional Sparsity for Anomaly Detection".
B. Wohlberg, "Efficient algorithms for convolutional sparse representations", IEEE TIP 25(1),
2016. D. Carrera, G. Boracchi, A. Foi, B. Wohlberg, "Detecting anomalous structures by
convolutional sparse models", IJCNN 2015.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "CSCConfig",
    "CDLConfig",
    "CSCResult",
    "highpass",
    "csc",
    "csc_objective",
    "reconstruct",
    "learn_filters",
    "region_features",
]


@dataclass
class CSCConfig:
    """Options of :func:`csc`.

    Attributes
    ----------
    lam : float
        l1 weight.
    xi : float
        Local group-sparsity weight (``0`` gives plain convolutional BPDN).
    group_size : int
        Side of the regions ``Pi_c`` of the group penalty.
    max_iter : int
        ADMM iterations.
    rho : float or None
        ADMM penalty; ``None`` uses Wohlberg's ``50 lam + 1``.
    relax : float
        Over-relaxation (1.8 as in SPORCO).
    rel_tol : float
        Relative tolerance of the residual stopping rule.
    """

    lam: float = 0.05
    xi: float = 0.05
    group_size: int = 15
    max_iter: int = 60
    rho: float | None = None
    relax: float = 1.8
    rel_tol: float = 1e-3

    def validate(self) -> "CSCConfig":
        """Raise ``ValueError`` on a bad option."""
        for name in ("lam", "xi"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        for name in ("group_size", "max_iter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.rho is not None and not (self.rho > 0):
            raise ValueError(f"rho must be > 0 or None, got {self.rho}")
        if not 0.0 < self.relax < 2.0:
            raise ValueError(f"relax must be in (0, 2), got {self.relax}")
        return self


@dataclass
class CSCResult:
    """Output of :func:`csc`: coefficient maps ``(M, H, W)``, reconstruction ``(H, W)``."""

    maps: np.ndarray
    reconstruction: np.ndarray
    n_iter: int


def highpass(image: np.ndarray, tikhonov: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Split an image into Tikhonov low-pass and high-pass parts (``low + high = image``).

    ``low = argmin_x ||x - s||^2 + tikhonov ||grad x||^2`` (solved in the Fourier domain on the
    symmetrically padded image).

    Examples
    --------
    >>> low, high = highpass(np.ones((8, 8)))
    >>> bool(np.allclose(low, 1.0)), bool(np.allclose(high, 0.0))
    (True, True)
    """
    s = np.asarray(image, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {s.shape}")
    if not (tikhonov >= 0):
        raise ValueError(f"tikhonov must be >= 0, got {tikhonov}")
    h, w = s.shape
    sp = np.pad(s, ((0, h), (0, w)), mode="symmetric")
    H, W = sp.shape
    fy = 2 - 2 * np.cos(2 * np.pi * np.fft.fftfreq(H))
    fx = 2 - 2 * np.cos(2 * np.pi * np.fft.rfftfreq(W))
    low = np.fft.irfft2(np.fft.rfft2(sp) / (1.0 + tikhonov * (fy[:, None] + fx[None, :])), s=sp.shape)[:h, :w]
    return low, s - low


def _filters_hat(filters, shape, torch, dtype):
    """FFT of the filters zero-padded to ``shape`` with their centre moved to the origin."""
    M, K1, K2 = filters.shape
    H, W = shape
    f = torch.zeros((M, H, W), dtype=dtype)
    f[:, :K1, :K2] = torch.as_tensor(filters, dtype=dtype)
    f = torch.roll(f, shifts=(-(K1 // 2), -(K2 // 2)), dims=(1, 2))
    return torch.fft.rfft2(f)


def reconstruct(maps: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """``sum_i d_i * alpha_i`` with circular boundary (filters centred on their middle tap).

    Parameters
    ----------
    maps : ndarray, shape (M, H, W)
    filters : ndarray, shape (M, K, K)

    Returns
    -------
    ndarray, shape (H, W)

    Examples
    --------
    >>> a = np.zeros((1, 5, 5)); a[0, 2, 2] = 1
    >>> f = np.arange(9.0).reshape(1, 3, 3)
    >>> bool(np.allclose(reconstruct(a, f)[1:4, 1:4], f[0]))
    True
    """
    import torch

    maps = np.asarray(maps, dtype=np.float64)
    filters = np.asarray(filters, dtype=np.float64)
    if maps.ndim != 3 or filters.ndim != 3 or maps.shape[0] != filters.shape[0]:
        raise ValueError(f"maps (M, H, W) and filters (M, K, K) must agree, got {maps.shape} and {filters.shape}")
    Dh = _filters_hat(filters, maps.shape[1:], torch, torch.float64)
    Xh = torch.fft.rfft2(torch.as_tensor(maps))
    return torch.fft.irfft2((Dh * Xh).sum(0), s=maps.shape[1:]).numpy()


def _group_shrink(V, t1, t2, b, torch):
    """Prox of ``t1 ||.||_1 + t2 sum_blocks ||.||_2`` on maps (M, H, W) with H, W multiples of b."""
    Z = torch.nn.functional.softshrink(V, t1) if t1 > 0 else V.clone()
    if t2 > 0:
        M, H, W = Z.shape
        blocks = Z.reshape(M, H // b, b, W // b, b)
        norms = torch.sqrt((blocks * blocks).sum(dim=(2, 4), keepdim=True))
        scale = torch.clamp(1.0 - t2 / torch.clamp(norms, min=1e-30), min=0.0)
        Z = (blocks * scale).reshape(M, H, W)
    return Z


def _check_filters(filters) -> np.ndarray:
    if not isinstance(filters, np.ndarray):
        raise TypeError(f"filters must be a numpy array (M, K, K), got {type(filters).__name__}")
    if filters.ndim != 3 or filters.shape[0] < 1 or filters.shape[1] < 1 or filters.shape[2] < 1:
        raise ValueError(f"filters must have shape (M, K, K), got {filters.shape}")
    if not np.all(np.isfinite(filters)):
        raise ValueError("filters contain NaN or infinite values")
    return filters


def csc(signal: np.ndarray, filters: np.ndarray, config: CSCConfig | None = None, *, dtype=np.float32) -> CSCResult:
    """Convolutional sparse coding of ``signal`` with local group sparsity (ADMM, Fourier domain).

    The signal is reflect-padded by the filter size (and up to a multiple of ``group_size``),
    coded with circular convolutions, and the maps are cropped back.

    Parameters
    ----------
    signal : ndarray, shape (H, W)
        Image to code (typically the high-pass part from :func:`highpass`).
    filters : ndarray, shape (M, K, K)
    config : CSCConfig, optional
    dtype : float32 or float64

    Returns
    -------
    CSCResult

    Raises
    ------
    TypeError, ValueError
        Bad shapes, non-finite values or options.

    Examples
    --------
    >>> s = np.zeros((16, 16)); s[8, 8] = 1.0
    >>> delta = np.zeros((1, 3, 3)); delta[0, 1, 1] = 1.0
    >>> r = csc(s, delta, CSCConfig(lam=0.1, xi=0.0, max_iter=200), dtype=np.float64)
    >>> round(float(r.maps[0, 8, 8]), 3)
    0.9
    """
    import torch

    cfg = (config or CSCConfig()).validate()
    filters = _check_filters(filters)
    s = np.asarray(signal, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"signal must be 2-D (H, W), got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("signal contains NaN or infinite values")
    tdt = torch.float64 if dtype in (np.float64, "float64", torch.float64) else torch.float32
    M, K1, K2 = filters.shape
    h, w = s.shape
    b = int(cfg.group_size)
    pad = max(K1, K2)
    H = int(math.ceil((h + 2 * pad) / b) * b)
    W = int(math.ceil((w + 2 * pad) / b) * b)
    py, px = (H - h) // 2, (W - w) // 2
    sp = np.pad(s, ((py, H - h - py), (px, W - w - px)), mode="reflect" if min(h, w) > pad else "symmetric")
    St = torch.as_tensor(sp, dtype=tdt)
    Dh = _filters_hat(filters, (H, W), torch, tdt)  # (M, H, W//2+1)
    Sh = torch.fft.rfft2(St)
    DtS = Dh.conj() * Sh  # (M, ...)
    dd = (Dh.abs() ** 2).sum(0)
    lam, xi = float(cfg.lam), float(cfg.xi)
    rho = float(cfg.rho) if cfg.rho is not None else 50.0 * lam + 1.0
    alpha = float(cfg.relax)
    Y = torch.zeros((M, H, W), dtype=tdt)
    U = torch.zeros_like(Y)
    it = 0
    for it in range(1, int(cfg.max_iter) + 1):
        Bh = DtS + rho * torch.fft.rfft2(Y - U)
        # Sherman-Morrison: (conj(d) d^T + rho I)^-1 b = (b - conj(d) (d^T b) / (rho + |d|^2)) / rho
        Xh = (Bh - Dh.conj() * ((Dh * Bh).sum(0) / (rho + dd))) / rho
        X = torch.fft.irfft2(Xh, s=(H, W))
        Yold = Y
        Wv = torch.lerp(Y, X, alpha).add_(U)
        Y = _group_shrink(Wv, lam / rho, xi / rho, b, torch)
        U = Wv.sub_(Y)
        if it % 10 == 0:
            r = float(torch.linalg.norm(X - Y))
            sd = rho * float(torch.linalg.norm(Y - Yold))
            if r <= cfg.rel_tol * max(float(torch.linalg.norm(X)), float(torch.linalg.norm(Y)), 1e-12) and \
                    sd <= cfg.rel_tol * max(rho * float(torch.linalg.norm(U)), 1e-12):
                break
    rec = torch.fft.irfft2((Dh * torch.fft.rfft2(Y)).sum(0), s=(H, W))
    maps = Y[:, py : py + h, px : px + w].double().numpy()
    return CSCResult(maps=maps, reconstruction=rec[py : py + h, px : px + w].double().numpy(), n_iter=it)


def csc_objective(signal, filters, maps, lam: float, xi: float = 0.0, group_size: int | None = None) -> float:
    """``1/2 ||sum d_i * a_i - s||^2 + lam sum ||a_i||_1 + xi sum_c sum_i ||Pi_c a_i||_2`` (circular).

    ``group_size`` blocks tile the maps from the top-left corner (incomplete border blocks
    count as smaller groups).

    Examples
    --------
    >>> csc_objective(np.zeros((4, 4)), np.ones((1, 1, 1)), np.zeros((1, 4, 4)), 1.0)
    0.0
    """
    maps = np.asarray(maps, dtype=np.float64)
    r = reconstruct(maps, filters) - np.asarray(signal, dtype=np.float64)
    val = 0.5 * float(np.sum(r * r)) + lam * float(np.abs(maps).sum())
    if xi and group_size:
        b = int(group_size)
        M, H, W = maps.shape
        for y in range(0, H, b):
            for x in range(0, W, b):
                val += xi * float(np.linalg.norm(maps[:, y : y + b, x : x + b].reshape(M, -1), axis=1).sum())
    return val


@dataclass
class CDLConfig:
    """Options of the convolutional dictionary learning (:func:`learn_filters`).

    Attributes
    ----------
    n_filters : int
        Number ``M`` of filters.
    filter_size : int
        Filter side ``K``.
    lam, xi, group_size : coding options (see :class:`CSCConfig`).
    n_iter : int
        Alternations of coding and filter update.
    csc_iter, filter_iter : int
        ADMM iterations of each step.
    crop : int
        Side of the random training crops (bounded cost).
    n_crops : int
        Number of crops.
    tikhonov : float
        Low-pass removed before coding.
    """

    n_filters: int = 16
    filter_size: int = 11
    lam: float = 0.05
    xi: float = 0.05
    group_size: int = 15
    n_iter: int = 10
    csc_iter: int = 30
    filter_iter: int = 20
    crop: int = 96
    n_crops: int = 4
    tikhonov: float = 5.0


def learn_filters(
    images: Sequence[np.ndarray],
    config: CDLConfig | None = None,
    *,
    rng: np.random.Generator | int | None = 0,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Learn convolutional filters from normal images (alternating CSC and filter updates).

    Parameters
    ----------
    images : sequence of ndarray (H, W)
        Normal images; random ``crop x crop`` crops of their high-pass parts are used.
    config : CDLConfig, optional
    rng : Generator or int or None
    progress : callable(i, total), optional

    Returns
    -------
    ndarray, shape (M, K, K)
        Filters with norm <= 1.

    Raises
    ------
    ValueError
        No images, or images smaller than the filter size.

    Examples
    --------
    >>> imgs = [np.random.default_rng(0).random((40, 40))]
    >>> learn_filters(imgs, CDLConfig(n_filters=4, filter_size=5, n_iter=1, crop=32, n_crops=1)).shape
    (4, 5, 5)
    """
    import torch

    cfg = config or CDLConfig()
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if images is None or len(images) == 0:
        raise ValueError("images: expected at least one normal image, got none")
    K, M = int(cfg.filter_size), int(cfg.n_filters)
    if K < 1 or M < 1 or cfg.n_iter < 1 or cfg.crop < 2 or cfg.n_crops < 1:
        raise ValueError(f"CDLConfig: invalid sizes {cfg}")
    highs = []
    for i, im in enumerate(images):
        im = np.asarray(im, dtype=np.float64)
        if im.ndim != 2 or min(im.shape) < K:
            raise ValueError(f"images[{i}]: shape {im.shape} is smaller than the filter size {K}")
        highs.append(highpass(im, cfg.tikhonov)[1])
    c = int(cfg.crop)
    crops = []
    for k in range(int(cfg.n_crops)):
        hi = highs[k % len(highs)]
        ch, cw = min(c, hi.shape[0]), min(c, hi.shape[1])
        y = int(gen.integers(0, hi.shape[0] - ch + 1))
        x = int(gen.integers(0, hi.shape[1] - cw + 1))
        crop = np.zeros((c, c))
        crop[:ch, :cw] = hi[y : y + ch, x : x + cw]
        crops.append(crop)
    S = np.stack(crops)  # (Kc, c, c), coded with circular boundary
    filters = gen.standard_normal((M, K, K))
    filters -= filters.mean(axis=(1, 2), keepdims=True)
    filters /= np.linalg.norm(filters.reshape(M, -1), axis=1)[:, None, None]
    tdt = torch.float64
    support = torch.zeros((M, c, c), dtype=tdt)
    support[:, :K, :K] = 1.0
    support = torch.roll(support, shifts=(-(K // 2), -(K // 2)), dims=(1, 2))
    Sh = torch.fft.rfft2(torch.as_tensor(S, dtype=tdt))  # (Kc, c, c//2+1)
    ccfg = CSCConfig(lam=cfg.lam, xi=cfg.xi, group_size=cfg.group_size, max_iter=cfg.csc_iter)
    sigma = 1.0
    for it in range(int(cfg.n_iter)):
        # coding step (circular, on the crops: pad-free CSC via the same solver on each crop)
        maps = np.stack([_csc_circular(s, filters, ccfg) for s in S])  # (Kc, M, c, c)
        Xh = torch.fft.rfft2(torch.as_tensor(maps, dtype=tdt))  # (Kc, M, f1, f2)
        # filter step: min 1/2 sum_k ||sum_m x_km * d_m - s_k||^2, d in C (support, ||d|| <= 1)
        Xp = Xh.permute(2, 3, 1, 0)  # (f1, f2, M, Kc)
        A = Xp.conj() @ Xp.transpose(-1, -2)  # (f1, f2, M, M)
        A = A + sigma * torch.eye(M, dtype=A.dtype)
        Ainv = torch.linalg.inv(A)
        XtS = (Xp.conj() @ Sh.permute(1, 2, 0).unsqueeze(-1)).squeeze(-1)  # (f1, f2, M)
        G = torch.zeros((M, c, c), dtype=tdt)
        G[:, :K, :K] = torch.as_tensor(filters)
        G = torch.roll(G, shifts=(-(K // 2), -(K // 2)), dims=(1, 2))
        Hd = torch.zeros_like(G)
        for _ in range(int(cfg.filter_iter)):
            rhs = XtS + sigma * torch.fft.rfft2(G - Hd).permute(1, 2, 0)
            Dh = (Ainv @ rhs.unsqueeze(-1)).squeeze(-1).permute(2, 0, 1)
            Dsp = torch.fft.irfft2(Dh, s=(c, c))
            V = Dsp + Hd
            G = V * support
            nrm = torch.sqrt((G * G).sum(dim=(1, 2), keepdim=True))
            G = G / torch.clamp(nrm, min=1.0)
            Hd = V - G
        G = torch.roll(G, shifts=(K // 2, K // 2), dims=(1, 2))
        filters = G[:, :K, :K].numpy().copy()
        # re-initialise dead filters
        dead = np.linalg.norm(filters.reshape(M, -1), axis=1) < 1e-8
        if dead.any():
            fresh = gen.standard_normal((int(dead.sum()), K, K))
            filters[dead] = fresh / np.linalg.norm(fresh.reshape(fresh.shape[0], -1), axis=1)[:, None, None]
        if progress is not None:
            progress(it + 1, int(cfg.n_iter))
    return filters


def _csc_circular(s: np.ndarray, filters: np.ndarray, cfg: CSCConfig) -> np.ndarray:
    """CSC maps of ``s`` with purely circular boundary (no padding): used inside learning."""
    import torch

    tdt = torch.float32
    M = filters.shape[0]
    H, W = s.shape
    b = int(cfg.group_size)
    Dh = _filters_hat(filters, (H, W), torch, tdt)
    DtS = Dh.conj() * torch.fft.rfft2(torch.as_tensor(s, dtype=tdt))
    dd = (Dh.abs() ** 2).sum(0)
    lam, xi = float(cfg.lam), float(cfg.xi)
    rho = float(cfg.rho) if cfg.rho is not None else 50.0 * lam + 1.0
    Y = torch.zeros((M, H, W), dtype=tdt)
    U = torch.zeros_like(Y)
    use_groups = H % b == 0 and W % b == 0
    for _ in range(int(cfg.max_iter)):
        Bh = DtS + rho * torch.fft.rfft2(Y - U)
        Xh = (Bh - Dh.conj() * ((Dh * Bh).sum(0) / (rho + dd))) / rho
        X = torch.fft.irfft2(Xh, s=(H, W))
        Wv = torch.lerp(Y, X, float(cfg.relax)).add_(U)
        Y = _group_shrink(Wv, lam / rho, xi / rho if use_groups else 0.0, b, torch)
        U = Wv.sub_(Y)
    return Y.double().numpy()


def region_features(
    image: np.ndarray,
    filters: np.ndarray,
    config: CSCConfig | None = None,
    *,
    region_size: int = 15,
    tikhonov: float = 5.0,
) -> np.ndarray:
    """The seed's three-term feature vector of every region ``Pi_c`` (a window centred on c).

    ``x_c = [||Pi_c(sum d_i * a_i - s)||^2, sum_i ||Pi_c a_i||_1, sum_i ||Pi_c a_i||_2]`` with
    ``s`` the high-pass part of ``image`` and ``a`` its group-sparse CSC maps.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    filters : ndarray, shape (M, K, K)
    config : CSCConfig, optional
    region_size : int, default 15
        Side of the square regions (odd sizes are centred exactly).
    tikhonov : float, default 5

    Returns
    -------
    ndarray, shape (H, W, 3)

    Examples
    --------
    >>> f = np.zeros((1, 3, 3)); f[0, 1, 1] = 1.0
    >>> region_features(np.random.default_rng(0).random((20, 20)), f, region_size=5).shape
    (20, 20, 3)
    """
    from scipy.ndimage import uniform_filter

    filters = _check_filters(filters)
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    r = int(region_size)
    if r < 1:
        raise ValueError(f"region_size must be >= 1, got {region_size}")
    if min(img.shape) < max(r, filters.shape[1]):
        raise ValueError(f"image of shape {img.shape} is smaller than the region size {r}")
    _, s = highpass(img, tikhonov)
    res = csc(s, filters, config)
    area = float(r * r)
    resid = res.reconstruction - s
    e = uniform_filter(resid * resid, size=r, mode="reflect") * area
    a = res.maps
    l1 = uniform_filter(np.abs(a).sum(0), size=r, mode="reflect") * area
    sq = uniform_filter(a * a, size=(1, r, r), mode="reflect") * area
    l2 = np.sqrt(np.clip(sq, 0, None)).sum(0)
    return np.stack([e, l1, l2], axis=-1)
