"""Baseline visual-security scores compared with the VSI (seed 004, Table 1).

Higher always means *more similar* to the plain image (less secure), like the VSI.

* :func:`psnr`, :func:`ssim` — scikit-image's implementations (data range 1).
* :func:`lss`, :func:`ess` — luminance and edge similarity scores of Mao & Wu (ICIP 2004), on
  8x8 blocks. Our reading of the paper: ``LSS = mean f(x_i, y_i)`` over the block means with
  ``f = 1`` if ``|x - y| < α`` else ``-β·round(|x - y|/α)``; ``ESS`` compares each block's dominant
  Sobel edge direction (8 bins over [0, π), magnitude-weighted) with ``|cos(θ_P - θ_E)|``, a block
  with an edge against one without scoring 0 and blocks edge-free in both images skipped.
* :func:`edge_texture_index` — an edge similarity index *in the style of* VSI-Canny (Xiang et al.
  2016): tolerant (3x3) overlap of Canny edge maps averaged with a gradient-magnitude (texture)
  similarity. It is not the published index, whose full weighting we do not reproduce.
"""

from __future__ import annotations

import numpy as np

__all__ = ["psnr", "ssim", "lss", "ess", "edge_texture_index", "BASELINES", "all_scores"]


def _pair(plain: np.ndarray, encrypted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from nlvision.security.vsi import prepare_pair

    return prepare_pair(plain, encrypted)


def psnr(plain: np.ndarray, encrypted: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images), via scikit-image.

    Parameters
    ----------
    plain, encrypted : ndarray
        Images in [0, 1] of the same size (colour is reduced to luminance).

    Returns
    -------
    float
        PSNR in dB (higher = more similar).

    References
    ----------
    Seed 004, Table 1 context (a position-based baseline).

    Examples
    --------
    >>> round(psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)), 3)  # 10 log10(1 / 0.01)
    20.0
    """
    from nlvision import metrics

    return metrics.psnr(*_pair(plain, encrypted))


def ssim(plain: np.ndarray, encrypted: np.ndarray) -> float:
    """Structural similarity (scikit-image defaults, data range 1).

    Parameters
    ----------
    plain, encrypted : ndarray
        Images in [0, 1] of the same size (colour is reduced to luminance).

    Returns
    -------
    float
        SSIM in [-1, 1].

    Raises
    ------
    ValueError
        Images smaller than 7x7.

    References
    ----------
    Z. Wang et al., IEEE TIP 2004; scikit-image ``structural_similarity``.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> ssim(x, x)
    1.0
    """
    from nlvision import metrics

    p, e = _pair(plain, encrypted)
    if min(p.shape) < 7:
        raise ValueError(f"plain: SSIM needs at least 7x7 pixels, got {p.shape}")
    return metrics.ssim(p, e)


def _block_view(x: np.ndarray, b: int) -> np.ndarray:
    m, n = x.shape[0] // b, x.shape[1] // b
    if m < 1 or n < 1:
        raise ValueError(f"plain: image of {x.shape[0]}x{x.shape[1]} pixels is smaller than one {b}x{b} block")
    return x[: m * b, : n * b].reshape(m, b, n, b).swapaxes(1, 2)


def lss(plain: np.ndarray, encrypted: np.ndarray, alpha: float = 0.1, beta: float = 0.1, block: int = 8) -> float:
    """Luminance similarity score (Mao & Wu 2004) on ``block x block`` means.

    Parameters
    ----------
    plain, encrypted : ndarray
        Images in [0, 1] of the same size (colour is reduced to luminance).
    alpha : float
        Luminance tolerance (block means closer than this score 1).
    beta : float
        Penalty factor for larger differences.
    block : int
        Block side.

    Returns
    -------
    float
        Mean block score (1 = identical block means).

    References
    ----------
    Y. Mao, M. Wu, ICIP 2004 (seed 004, ref. [2]).

    Examples
    --------
    >>> p = np.zeros((8, 16)); e = p.copy(); e[:, 8:] = 0.25  # block means 0|0 and 0|0.25
    >>> lss(p, e)  # (1 + (-0.1 * round(2.5))) / 2 with round-half-even
    0.4
    """
    p, e = _pair(plain, encrypted)
    x = _block_view(p, block).mean(axis=(2, 3))
    y = _block_view(e, block).mean(axis=(2, 3))
    d = np.abs(x - y)
    f = np.where(d < alpha, 1.0, -beta * np.round(d / alpha))
    return float(f.mean())


def _dominant_direction(x: np.ndarray, block: int, threshold: float) -> np.ndarray:
    from scipy.ndimage import sobel

    gx, gy = sobel(x, axis=1), sobel(x, axis=0)
    mag = np.hypot(gx, gy)
    theta = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((theta / (np.pi / 8)).astype(int), 7)
    mb = _block_view(mag, block)
    bb = _block_view(bins, block)
    m, n = mb.shape[:2]
    strong = mb > threshold
    hist = np.zeros((m * n, 8))
    idx = np.repeat(np.arange(m * n), block * block).reshape(m, n, block, block)
    np.add.at(hist, (idx[strong], bb[strong]), mb[strong])
    out = np.argmax(hist, axis=1) + 1
    out[hist.sum(axis=1) == 0] = 0  # 0 = no edge
    return out.reshape(m, n)


def ess(plain: np.ndarray, encrypted: np.ndarray, block: int = 8, threshold: float = 0.5) -> float:
    """Edge similarity score (Mao & Wu 2004): agreement of dominant block edge directions.

    Parameters
    ----------
    plain, encrypted : ndarray
        Images in [0, 1] of the same size (colour is reduced to luminance).
    block : int
        Block side.
    threshold : float
        Sobel magnitude (on [0, 1] images) above which a pixel is an edge.

    Returns
    -------
    float
        Mean ``|cos Δθ|`` over blocks with an edge in either image (1 if none has edges).

    References
    ----------
    Y. Mao, M. Wu, ICIP 2004 (seed 004, ref. [2]).

    Examples
    --------
    >>> p = np.zeros((8, 8)); p[:, 4:] = 1.0
    >>> ess(p, p), ess(p, p.T)  # same direction: 1; perpendicular: |cos 90°| = 0
    (1.0, 0.0)
    """
    p, e = _pair(plain, encrypted)
    dp = _dominant_direction(p, block, threshold)
    de = _dominant_direction(e, block, threshold)
    both_none = (dp == 0) & (de == 0)
    one_none = (dp == 0) ^ (de == 0)
    centres = (np.arange(8) + 0.5) * np.pi / 8
    w = np.abs(np.cos(centres[np.maximum(dp, 1) - 1] - centres[np.maximum(de, 1) - 1]))
    w = np.where(one_none, 0.0, w)
    counted = ~both_none
    if not counted.any():
        return 1.0
    return float(np.round(w[counted].sum() / counted.sum(), 12))


def edge_texture_index(plain: np.ndarray, encrypted: np.ndarray, sigma: float = 1.0, c: float = 1e-3) -> float:
    """Edge + texture similarity in the style of VSI-Canny (Xiang et al. 2016).

    Parameters
    ----------
    plain, encrypted : ndarray
        Images in [0, 1] of the same size.
    sigma : float
        Canny smoothing scale.
    c : float
        Stabilising constant of the texture similarity.

    Returns
    -------
    float
        ``0.5 · ES + 0.5 · TS`` in [0, 1].

    Notes
    -----
    ``0.5 · ES + 0.5 · TS`` with ``ES = (|C_P ∧ D(C_E)| + |C_E ∧ D(C_P)|) / (|C_P| + |C_E|)`` for
    Canny maps ``C`` and a 3x3 dilation ``D`` (1 when neither has edges), and ``TS`` the mean of
    ``(2 g_P g_E + c) / (g_P² + g_E² + c)`` over Sobel gradient magnitudes ``g``.

    References
    ----------
    T. Xiang, S. Guo, X. Li, IEEE TIFS 2016 (seed 004, ref. [4]), in spirit.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> edge_texture_index(x, x)
    1.0
    """
    from scipy.ndimage import binary_dilation, sobel
    from skimage.feature import canny

    p, e = _pair(plain, encrypted)
    cp, ce = canny(p, sigma=sigma), canny(e, sigma=sigma)
    st = np.ones((3, 3), bool)
    total = cp.sum() + ce.sum()
    es = 1.0 if total == 0 else float(((cp & binary_dilation(ce, st)).sum() + (ce & binary_dilation(cp, st)).sum()) / total)
    gp = np.hypot(sobel(p, 0), sobel(p, 1))
    ge = np.hypot(sobel(e, 0), sobel(e, 1))
    ts = float(np.mean((2 * gp * ge + c) / (gp**2 + ge**2 + c)))
    return float(np.round(0.5 * es + 0.5 * ts, 12))


#: name -> score function(plain, encrypted) -> float (higher = more similar)
BASELINES = {"psnr": psnr, "ssim": ssim, "lss": lss, "ess": ess, "edge_texture": edge_texture_index}


def all_scores(plain: np.ndarray, encrypted: np.ndarray, config: str = "C4") -> dict[str, float]:
    """VSI (``config``) and every baseline for one pair.

    Parameters
    ----------
    plain, encrypted : ndarray
        Images in [0, 1] of the same size (colour is reduced to luminance).
    config : str or VSIConfig
        VSI configuration.

    Returns
    -------
    dict
        ``{"vsi", "psnr", "ssim", "lss", "ess", "edge_texture"}``.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> sorted(all_scores(x, x))
    ['edge_texture', 'ess', 'lss', 'psnr', 'ssim', 'vsi']
    """
    from nlvision.security.vsi import vsi

    out = {"vsi": vsi(plain, encrypted, config).vsi}
    for name, fn in BASELINES.items():
        out[name] = fn(plain, encrypted)
    return out
