"""Visual security index (VSI) of a perceptually encrypted image — seed 004, eqs. 1–8.

``VSI(P, E) = RD(P, E) · (1 + GS(P, E))``: a higher VSI means the encrypted image ``E`` leaks
more of the plain image ``P`` (lower visual security).

Steps (all vectorised):

1. Both images are cut into ``M x N`` non-overlapping ``l x l`` blocks, ``l = ⌊αL⌋ + 1`` with ``L``
   the shorter side of ``P`` (the bottom/right remainder smaller than a block is not used).
2. ``sim_A`` (eq. 2): every block is low-pass filtered once in the DCT domain (weights
   ``exp(-r/σ)``, ``r`` the zig-zag rank, ``σ = βl``) with batched matrix products, then the
   Minkowski similarity ``(mean (1 - |b̃_p - b̃_e|)^γ)^(1/γ)`` is computed for **all pairs** of plain
   and encrypted blocks, in chunks so memory stays bounded. Images are in [0, 1], so the
   ``/255`` of eq. 2 is already applied; ``1 - |·|`` is clipped at 0 (the low-pass filter can
   overshoot [0, 1] by a little).
3. ``sim_S`` (eq. 3): edge maps from the Fourier–Argand detector (:mod:`.edges`) binarised at 0.5;
   the weight map ``WEM = 1 - DSM/d`` of each plain block (Euclidean distance transform inside
   the block, ``d`` the block diagonal); the fuzzy Jaccard index for all pairs as matrix
   products. Edge-free blocks: two edge-free blocks have ``sim_S = 1`` (same, empty structure);
   an edge-free block against a block with edges has ``sim_S = 0``.
4. ``sim = sim_A · sim_S^(1 - sim_A)`` (eq. 4); ``RD(b_p) = max_{b_e} sim`` (eq. 1, non-local).
5. Block weights (eq. 5) ``w = (1 - NRD_avg) · std(EM_{b_p})`` with ``NRD_avg`` the mean ``RD`` of
   the existing 4-neighbours (0 for a single block); weighted Minkowski pooling (eq. 6). The
   default form is ``(Σ w·RD(b_p)^γ / Σw)^(1/γ)``; the printed ``((1/Σw) Σ (w·RD(b_p))^γ)^(1/γ)``
   is ``pooling="literal"`` (it scales as ``w^(γ-1)``, so it mostly ranks images by the size of
   their weights). When every weight is 0 (no block of ``P`` has edges, e.g. a constant image,
   or every neighbour fully recognisable, e.g. ``E = P``) equal weights are used.
6. ``GS`` (eq. 7): Bhattacharyya coefficient ``Σ sqrt(h_P h_E)`` of the normalised histograms of
   the two edge maps (``hist_bins`` bins on [0, 1]); 1 means identical distributions.

Constant plain image: it has no edge, so both edge maps are all-zero (:func:`.edges.edge_maps`),
``sim_S = 1`` for every pair, ``sim = sim_A``, the weights fall back to equal weights and
``GS = 1``: ``VSI = 2 · RD`` with RD the plain Minkowski pooling of the appearance similarities.

Ablations of the paper's Table 3 are :data:`CONFIGS` ``C1``–``C4`` (``C4`` = full index).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np

from nlvision.restoration.dct import dct_matrix
from nlvision.security.edges import EdgeConfig, edge_config, edge_maps

__all__ = [
    "VSIConfig",
    "VSIResult",
    "CONFIGS",
    "PAPER",
    "get_config",
    "block_size",
    "zigzag_rank",
    "lowpass_blocks",
    "sim_appearance",
    "sim_structure",
    "combine_similarity",
    "block_weights",
    "pool_rd",
    "bhattacharyya",
    "prepare_pair",
    "vsi",
    "vsi_loop",
    "vsi_ablation",
    "with_overrides",
]


@dataclass(frozen=True)
class VSIConfig:
    """Parameters of the VSI (paper defaults α = 0.1, β = 40, γ = 5).

    Parameters
    ----------
    alpha : float
        Block size ratio: ``l = ⌊αL⌋ + 1``.
    beta : float
        Low-pass bandwidth ratio: ``σ = βl``.
    gamma : float
        Minkowski exponent (eqs. 2 and 6).
    use_structure : bool
        Use ``sim_S`` in eq. 4 (otherwise ``sim = sim_A``).
    use_weights : bool
        Use the block weights of eq. 5 in eq. 6 (otherwise ``w = 1``).
    use_global : bool
        Multiply by ``1 + GS`` (eq. 8; otherwise ``VSI = RD``).
    edge_threshold : float
        Binarisation threshold of the edge maps (0.5 in the paper).
    hist_bins : int
        Histogram bins of eq. 7.
    block_size : int or None
        Override ``l`` (``None``: from ``alpha``).
    pooling : {"normalized", "literal"}
        Eq. 6 form. ``"literal"`` is the printed ``((1/Σw) Σ (w·RD)^γ)^(1/γ)``, which scales as
        ``w^(γ-1)`` and so mostly measures the weights' magnitude; ``"normalized"`` (default) is
        the weighted Minkowski mean ``(Σ w·RD^γ / Σw)^(1/γ)``, which stays in [0, 1] and equals
        the unweighted pooling when all weights are equal (see docs/security.md).
    chunk_elements : int
        Upper bound on the elements of one all-pairs chunk (float32; small chunks stay in cache).
    edges : EdgeConfig
        Edge detector parameters.
    search_stride : float
        Shift-robust search: besides the paper's all-pairs grid search, candidate encrypted
        windows every ``max(1, round(search_stride·l))`` pixels are pre-ranked (8x8 cell means
        of the image and of its edge map), the best ``top_k`` refined to 1 px and scored
        exactly; an off-grid window counts when it holds the block's content moved intact
        (raw mean ``|b_p - b_e| <= 0.005``). Default 0.125 (l/8). ``>= 1`` with ``phases = 1`` is the paper's
        literal eq. 1 (:data:`PAPER`). A documented deviation chosen by measurement
        (docs/security.md): content moved by any amount is found, not only by multiples of l.
    phases : int
        The plain block grid is also tried at ``phases`` origins per axis (0, l/phases, …) —
        on a shifted grid only intact moved content counts — and the grid with the largest
        eq. 6 is kept, so a jigsaw whose tiles straddle the paper's grid is recognised.
        1 = the paper's single grid.
    top_k : int
        Candidates per plain block and per pre-ranking kept for the exact eqs. 2–4.

    Raises
    ------
    ValueError
        A non-positive or non-finite α, β or γ, a threshold outside (0, 1), an unknown pooling
        form or a bad block size / chunk size.

    References
    ----------
    Seed 004 (Shi, Xiong, Qiao), sec. 2 and 3.2 (α = 0.1, β = 40, γ = 5).

    Examples
    --------
    >>> VSIConfig().alpha, VSIConfig(alpha=0.2).beta
    (0.1, 40.0)
    """

    alpha: float = 0.1
    beta: float = 40.0
    gamma: float = 5.0
    use_structure: bool = True
    use_weights: bool = True
    use_global: bool = True
    edge_threshold: float = 0.5
    hist_bins: int = 16
    block_size: int | None = None
    pooling: str = "normalized"
    chunk_elements: int = 1 << 18
    edges: EdgeConfig = field(default_factory=lambda: edge_config("fine"))
    search_stride: float = 0.125
    phases: int = 2
    top_k: int = 4

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v > 0):
                raise ValueError(f"{name}: expected a positive number, got {v!r}")
        if self.alpha > 1:
            raise ValueError(f"alpha: the block size ratio must lie in (0, 1], got {self.alpha!r}")
        if not (0 < self.edge_threshold < 1):
            raise ValueError(f"edge_threshold: expected a value in (0, 1), got {self.edge_threshold!r}")
        if not (isinstance(self.hist_bins, int) and self.hist_bins >= 2):
            raise ValueError(f"hist_bins: expected an integer >= 2, got {self.hist_bins!r}")
        if self.block_size is not None and not (isinstance(self.block_size, int) and self.block_size >= 1):
            raise ValueError(f"block_size: expected a positive integer or None, got {self.block_size!r}")
        if self.pooling not in ("normalized", "literal"):
            raise ValueError(f"pooling: unknown form {self.pooling!r}; valid: normalized, literal")
        if not (isinstance(self.search_stride, (int, float)) and np.isfinite(self.search_stride) and 0 < self.search_stride <= 1):
            raise ValueError(f"search_stride: expected a fraction of the block size in (0, 1], got {self.search_stride!r}")
        if not (isinstance(self.phases, int) and self.phases >= 1):
            raise ValueError(f"phases: expected a positive integer, got {self.phases!r}")
        if not (isinstance(self.top_k, int) and self.top_k >= 1):
            raise ValueError(f"top_k: expected a positive integer, got {self.top_k!r}")
        if not (isinstance(self.chunk_elements, int) and self.chunk_elements >= 1):
            raise ValueError(f"chunk_elements: expected a positive integer, got {self.chunk_elements!r}")

    def to_dict(self) -> dict:
        """Plain-dict form (for JSON output)."""
        return asdict(self)


#: Ablation configurations of Table 3 (C4 is the full index).
CONFIGS: dict[str, VSIConfig] = {
    "C1": VSIConfig(use_structure=False, use_weights=False, use_global=False),
    "C2": VSIConfig(use_structure=True, use_weights=False, use_global=False),
    "C3": VSIConfig(use_structure=True, use_weights=True, use_global=False),
    "C4": VSIConfig(),
}
#: The paper's literal search (one non-overlapping grid, all pairs; eq. 1 as printed).
PAPER = VSIConfig(search_stride=1.0, phases=1, edges=edge_config("paper"))


def get_config(name: str | VSIConfig) -> VSIConfig:
    """Return the named ablation configuration (``"C1"``–``"C4"``) or pass a config through.

    Examples
    --------
    >>> get_config("c1").use_structure
    False
    >>> get_config("C9")
    Traceback (most recent call last):
    ...
    ValueError: config: unknown configuration 'C9'; valid: C1, C2, C3, C4
    """
    if isinstance(name, VSIConfig):
        return name
    if not isinstance(name, str) or name.upper() not in CONFIGS:
        raise ValueError(f"config: unknown configuration {name!r}; valid: {', '.join(CONFIGS)}")
    return CONFIGS[name.upper()]


@dataclass
class VSIResult:
    """Result of :func:`vsi`.

    Parameters
    ----------
    vsi : float
        Eq. 8 (higher = less secure).
    rd : float
        Eq. 6, the pooled recognisable degree.
    gs : float
        Eq. 7 (0 when the configuration does not use it).
    block_rd : ndarray (M, N)
        Non-local recognisable degree ``RD(b_p)`` of every plain block (eq. 1).
    match : ndarray of int (M, N, 2)
        Top-left (row, column) pixel of each plain block's best match in the encrypted image.
    weights : ndarray (M, N)
        Block weights used in eq. 6.
    block : int
        Block side ``l``.
    config : VSIConfig
        Configuration used.
    sim_a : ndarray (M, N), optional
        Appearance similarity (eq. 2) of every block at its match.
    sim_s : ndarray (M, N), optional
        Structural similarity (eq. 3) at the match (1 when the configuration does not use it).
    origin : tuple of int
        (row, column) of the top-left block of the plain grid that was kept.
    edges_plain : ndarray (H, W), optional
        Edge map ``EM_P`` in [0, 1].
    edges_encrypted : ndarray (H, W), optional
        Edge map ``EM_E`` in [0, 1].

    References
    ----------
    Seed 004, eqs. 1 and 5–8.

    Examples
    --------
    >>> r = vsi(np.eye(20), np.eye(20))
    >>> round(r.vsi, 6), r.block_rd.shape
    (2.0, (6, 6))
    """

    vsi: float
    rd: float
    gs: float
    block_rd: np.ndarray
    match: np.ndarray
    weights: np.ndarray
    block: int
    config: VSIConfig
    sim_a: np.ndarray | None = None
    sim_s: np.ndarray | None = None
    origin: tuple = (0, 0)
    edges_plain: np.ndarray | None = None
    edges_encrypted: np.ndarray | None = None

    def summary(self) -> dict:
        """JSON-friendly summary (scores, block size and grid)."""
        return {
            "vsi": float(self.vsi),
            "rd": float(self.rd),
            "gs": float(self.gs),
            "block_size": int(self.block),
            "grid": list(self.block_rd.shape),
            "origin": list(self.origin),
        }


# ----------------------------------------------------------------------------- building blocks


def block_size(shape: tuple[int, ...], alpha: float = 0.1) -> int:
    """Block side ``l = ⌊αL⌋ + 1`` with ``L`` the shorter image side.

    Examples
    --------
    >>> block_size((512, 512)), block_size((300, 400)), block_size((9, 50))
    (52, 31, 1)
    """
    return int(np.floor(alpha * min(shape[0], shape[1]))) + 1


def zigzag_rank(n: int) -> np.ndarray:
    """Rank of every (row, col) of an ``n x n`` DCT block in JPEG zig-zag order (0 = DC).

    Examples
    --------
    >>> zigzag_rank(3)
    array([[0, 1, 5],
           [2, 4, 6],
           [3, 7, 8]])
    """
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    i, j = np.mgrid[0:n, 0:n]
    s = i + j
    # odd anti-diagonals run down (row ascending), even ones run up (row descending)
    key_within = np.where(s % 2 == 1, i, -i)
    order = np.lexsort((key_within.ravel(), s.ravel()))
    rank = np.empty(n * n, dtype=np.int64)
    rank[order] = np.arange(n * n)
    return rank.reshape(n, n)


def _blocks(image: np.ndarray, l: int) -> np.ndarray:
    """(M*N, l, l) non-overlapping blocks, row-major over the block grid."""
    m, n = image.shape[0] // l, image.shape[1] // l
    crop = image[: m * l, : n * l]
    return crop.reshape(m, l, n, l).swapaxes(1, 2).reshape(m * n, l, l)


def lowpass_blocks(blocks: np.ndarray, beta: float = 40.0) -> np.ndarray:
    """Eq. 2 steps 1–3: DCT, weight ``exp(-r/(βl))`` by zig-zag rank ``r``, inverse DCT.

    Parameters
    ----------
    blocks : ndarray (K, l, l)
        Blocks.
    beta : float
        Bandwidth ratio, ``σ = βl``.

    Returns
    -------
    ndarray (K, l, l)

    Examples
    --------
    >>> lowpass_blocks(np.ones((1, 2, 2)), beta=40.0).round(6).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
    """
    b = np.asarray(blocks, dtype=np.float64)
    if b.ndim != 3 or b.shape[1] != b.shape[2]:
        raise ValueError(f"blocks: expected shape (K, l, l), got {b.shape}")
    l = b.shape[1]
    d = dct_matrix(l)
    weight = np.exp(-zigzag_rank(l) / (beta * l))
    coef = d @ b @ d.T
    return d.T @ (coef * weight) @ d


def sim_appearance(
    plain_f: np.ndarray, enc_f: np.ndarray, gamma: float = 5.0, chunk_elements: int = 1 << 18
) -> np.ndarray:
    """All-pairs appearance similarity ``sim_A`` (eq. 2) of low-pass filtered blocks.

    Parameters
    ----------
    plain_f, enc_f : ndarray (Kp, l, l), (Ke, l, l)
        Filtered blocks (values in [0, 1] units; eq. 2's ``/255`` is for 8-bit values).
    gamma : float
        Minkowski exponent.
    chunk_elements : int
        Memory bound on ``chunk x Ke x l²``.

    Returns
    -------
    ndarray (Kp, Ke)

    Examples
    --------
    >>> a = np.zeros((1, 1, 2)); b = np.array([[[0.5, 0.0]]])
    >>> round(float(sim_appearance(a, b, gamma=1.0)[0, 0]), 4)  # mean(0.5, 1.0)
    0.75
    """
    p = np.asarray(plain_f, dtype=np.float64).reshape(len(plain_f), -1)
    e = np.asarray(enc_f, dtype=np.float64).reshape(len(enc_f), -1)
    out = np.empty((p.shape[0], e.shape[0]))
    step = max(1, int(chunk_elements // max(1, e.size)))
    g = float(gamma)
    integer_gamma = g.is_integer() and 1 <= g <= 8
    p32, e32 = p.astype(np.float32), e.astype(np.float32)
    for start in range(0, p.shape[0], step):
        diff = np.abs(p32[start : start + step, None, :] - e32[None, :, :])
        np.subtract(1.0, diff, out=diff)
        np.maximum(diff, 0.0, out=diff)
        if integer_gamma:
            acc = diff.copy()
            for _ in range(int(g) - 1):
                acc *= diff
        else:
            acc = diff**g
        out[start : start + step] = acc.mean(axis=2, dtype=np.float64)
    return out ** (1.0 / g)


def _weight_maps(bem_p: np.ndarray) -> np.ndarray:
    """``WEM = 1 - DSM/d`` per block; all-zero for edge-free blocks."""
    from scipy.ndimage import distance_transform_edt

    k, l, _ = bem_p.shape
    diag = np.sqrt(2.0) * l
    has = bem_p.reshape(k, -1).any(axis=1)
    wem = np.zeros(bem_p.shape)
    for i in np.flatnonzero(has):  # a 2-D transform per block (the distance stays inside it)
        wem[i] = np.clip(1.0 - distance_transform_edt(~bem_p[i]) / diag, 0.0, 1.0)
    return wem


def sim_structure(bem_p: np.ndarray, bem_e: np.ndarray) -> np.ndarray:
    """All-pairs fuzzy Jaccard structural similarity ``sim_S`` (eq. 3).

    ``sim_S = Σ WEM_p·BEM_e / (|BEM_p| + |BEM_e| - |BEM_p·BEM_e|)`` with
    ``WEM_p = 1 - DSM_p/d``; 1 for two edge-free blocks.

    Parameters
    ----------
    bem_p, bem_e : ndarray of bool (Kp, l, l), (Ke, l, l)
        Binary edge maps of the blocks.

    Returns
    -------
    ndarray (Kp, Ke)

    Examples
    --------
    >>> p = np.zeros((1, 2, 2), bool); p[0, 0, 0] = True
    >>> e = np.zeros((1, 2, 2), bool); e[0, 1, 1] = True
    >>> round(float(sim_structure(p, e)[0, 0]), 4)  # (1 - sqrt(2)/(2 sqrt(2))) / 2
    0.25
    """
    bp = np.asarray(bem_p, dtype=bool)
    be = np.asarray(bem_e, dtype=bool)
    if bp.ndim != 3 or be.ndim != 3 or bp.shape[1:] != be.shape[1:]:
        raise ValueError(f"bem_p, bem_e: expected (K, l, l) arrays of equal block size, got {bp.shape} and {be.shape}")
    wem = _weight_maps(bp).reshape(len(bp), -1)
    fp = bp.reshape(len(bp), -1).astype(np.float64)
    fe = be.reshape(len(be), -1).astype(np.float64)
    num = wem @ fe.T
    inter = fp @ fe.T
    den = fp.sum(1)[:, None] + fe.sum(1)[None, :] - inter
    out = np.divide(num, den, out=np.ones_like(num), where=den > 0)
    return out


def combine_similarity(sim_a: np.ndarray, sim_s: np.ndarray | None) -> np.ndarray:
    """Eq. 4: ``sim = sim_A · sim_S^(1 - sim_A)`` (``sim_A`` alone when ``sim_s`` is None).

    Examples
    --------
    >>> float(combine_similarity(np.array(0.5), np.array(0.25)))
    0.25
    """
    if sim_s is None:
        return np.asarray(sim_a, dtype=np.float64)
    return sim_a * np.power(sim_s, 1.0 - sim_a)


def _neighbour_mean(grid: np.ndarray) -> np.ndarray:
    """Mean of the existing 4-neighbours of every cell (0 where a cell has none)."""
    m, n = grid.shape
    pad = np.pad(grid, 1)
    ones = np.pad(np.ones_like(grid), 1)
    s = pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:]
    c = ones[:-2, 1:-1] + ones[2:, 1:-1] + ones[1:-1, :-2] + ones[1:-1, 2:]
    return np.divide(s, c, out=np.zeros_like(s), where=c > 0)


def block_weights(block_rd: np.ndarray, em_blocks: np.ndarray) -> np.ndarray:
    """Eq. 5: ``w = (1 - NRD_avg) · std(EM_{b_p})`` on the (M, N) block grid.

    Parameters
    ----------
    block_rd : ndarray (M, N)
        ``RD(b_p)`` of every block.
    em_blocks : ndarray (M, N, l, l)
        Edge map of every plain block.

    Examples
    --------
    >>> rd = np.array([[0.5, 1.0]])
    >>> em = np.zeros((1, 2, 2, 2)); em[0, 0, 0, 0] = 1.0  # std of (1, 0, 0, 0) = sqrt(3)/4
    >>> block_weights(rd, em).round(4).tolist()  # (1 - 1.0) * sqrt(3)/4, (1 - 0.5) * 0
    [[0.0, 0.0]]
    """
    em = np.asarray(em_blocks, dtype=np.float64)
    mean = em.mean(axis=(2, 3))
    var = np.maximum((em**2).mean(axis=(2, 3)) - mean**2, 0.0)
    return (1.0 - _neighbour_mean(np.asarray(block_rd, dtype=np.float64))) * np.sqrt(var)


def pool_rd(block_rd: np.ndarray, weights: np.ndarray | None, gamma: float = 5.0, form: str = "normalized") -> float:
    """Eq. 6, weighted Minkowski pooling of the block recognisable degrees.

    ``form="literal"``: ``RD = ((1/Σw) Σ (w·RD(b_p))^γ)^(1/γ)`` as printed;
    ``form="normalized"``: ``RD = (Σ w·RD(b_p)^γ / Σw)^(1/γ)``. Equal weights are used when
    ``weights`` is None or sums to 0; with all weights 1 both forms coincide.

    Examples
    --------
    >>> round(pool_rd(np.array([1.0, 0.0]), None, gamma=1.0), 6)
    0.5
    >>> round(pool_rd(np.array([1.0, 1.0]), np.array([0.5, 0.5]), 2.0, "literal"), 6)  # sqrt(0.5/1)
    0.707107
    >>> round(pool_rd(np.array([1.0, 0.0]), np.array([3.0, 1.0]), 2.0), 6)  # sqrt(3/4)
    0.866025
    """
    if form not in ("normalized", "literal"):
        raise ValueError(f"form: unknown pooling {form!r}; valid: normalized, literal")
    rd = np.asarray(block_rd, dtype=np.float64).ravel()
    w = np.ones_like(rd) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != rd.shape:
        raise ValueError(f"weights: expected {rd.size} values, got {w.size}")
    if w.sum() <= 0:
        w = np.ones_like(rd)
    if form == "literal":
        return float((np.sum((w * rd) ** gamma) / w.sum()) ** (1.0 / gamma))
    return float((np.sum(w * rd**gamma) / w.sum()) ** (1.0 / gamma))


def bhattacharyya(em_p: np.ndarray, em_e: np.ndarray, bins: int = 16) -> float:
    """Eq. 7: Bhattacharyya coefficient of the edge-map histograms (``bins`` bins on [0, 1]).

    Examples
    --------
    >>> bhattacharyya(np.zeros((4, 4)), np.ones((4, 4)), bins=4)
    0.0
    """
    hp, _ = np.histogram(np.clip(em_p, 0, 1), bins=bins, range=(0.0, 1.0))
    he, _ = np.histogram(np.clip(em_e, 0, 1), bins=bins, range=(0.0, 1.0))
    hp = hp / max(hp.sum(), 1)
    he = he / max(he.sum(), 1)
    return float(np.sum(np.sqrt(hp * he)))


# ----------------------------------------------------------------------------- the index


def prepare_pair(plain: np.ndarray, encrypted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (plain, encrypted) pair and return their luminance as float64 in [0, 1].

    Raises
    ------
    TypeError
        If an input is not a numeric array.
    ValueError
        If an input is empty, not (H, W) / (H, W, C), contains NaN/inf, lies outside [0, 1], or
        the two sizes differ.
    """
    from nlvision.imageio import to_gray, validate_image

    p = to_gray(validate_image(plain, "plain", value_range=(0.0, 1.0)))
    e = to_gray(validate_image(encrypted, "encrypted", value_range=(0.0, 1.0)))
    if p.shape != e.shape:
        raise ValueError(f"encrypted: size {e.shape[0]}x{e.shape[1]} differs from plain size {p.shape[0]}x{p.shape[1]}")
    return p, e


def _grid_and_block(shape: tuple[int, int], cfg: VSIConfig) -> tuple[int, int, int]:
    l = cfg.block_size if cfg.block_size is not None else block_size(shape, cfg.alpha)
    m, n = shape[0] // l, shape[1] // l
    if m < 1 or n < 1:
        raise ValueError(f"plain: image of {shape[0]}x{shape[1]} pixels is smaller than one {l}x{l} block")
    if l < 2:
        raise ValueError(
            f"plain: image of {shape[0]}x{shape[1]} pixels gives {l}-pixel blocks (l = floor(alpha*L)+1 with "
            f"alpha={cfg.alpha}); blocks need at least 2x2 pixels (shorter side >= {int(np.ceil(1 / cfg.alpha))})"
        )
    return l, m, n


def _similarity_matrix(p: np.ndarray, e: np.ndarray, em_p, em_e, l: int, cfg: VSIConfig) -> np.ndarray:
    sim_a = sim_appearance(
        lowpass_blocks(_blocks(p, l), cfg.beta), lowpass_blocks(_blocks(e, l), cfg.beta), cfg.gamma, cfg.chunk_elements
    )
    if not cfg.use_structure:
        return combine_similarity(sim_a, None)
    sim_s = sim_structure(_blocks(em_p, l) > cfg.edge_threshold, _blocks(em_e, l) > cfg.edge_threshold)
    return combine_similarity(sim_a, sim_s)


def _positions(n: int, l: int, step: int) -> np.ndarray:
    """Candidate top-left coordinates along one axis: every ``step`` pixels plus the l-grid."""
    grid = set(range(0, (n // l) * l - l + 1, l))
    return np.array(sorted(grid | set(range(0, n - l + 1, step))), dtype=np.int64)


def _cell_bounds(l: int, g: int) -> np.ndarray:
    return np.round(np.arange(g + 1) * l / g).astype(np.int64)


def _cell_features(integral: np.ndarray, ys: np.ndarray, xs: np.ndarray, l: int, g: int) -> np.ndarray:
    """Means of a g x g grid of cells of the l x l windows at (ys, xs), from a summed-area table."""
    b = _cell_bounds(l, g)
    yy = ys[:, None] + b[None, :]
    xx = xs[:, None] + b[None, :]
    a = integral[yy[:, :, None], xx[:, None, :]]
    s = a[:, 1:, 1:] - a[:, :-1, 1:] - a[:, 1:, :-1] + a[:, :-1, :-1]
    area = np.diff(b)[:, None] * np.diff(b)[None, :]
    return (s / area).reshape(len(ys), g * g)


def _summed_area(img: np.ndarray, dtype=np.float64) -> np.ndarray:
    out = np.zeros((img.shape[0] + 1, img.shape[1] + 1), dtype=dtype)
    np.cumsum(img, axis=0, out=out[1:, 1:])
    np.cumsum(out[1:, 1:], axis=1, out=out[1:, 1:])
    return out


def _windows(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, l: int) -> np.ndarray:
    """(K, l, l) copies of the windows with top-left corners (ys[k], xs[k])."""
    from numpy.lib.stride_tricks import sliding_window_view

    return sliding_window_view(img, (l, l))[ys, xs]


@lru_cache(maxsize=32)
def _lowpass_weight(l: int, beta: float) -> np.ndarray:
    return np.exp(-zigzag_rank(l) / (beta * l))


@lru_cache(maxsize=32)
def _dct_cached(l: int) -> np.ndarray:
    return dct_matrix(l)


def _lowpass_any(blocks: np.ndarray, beta: float) -> np.ndarray:
    """Eq. 2 low-pass; matrix products for small blocks, scipy's fast DCT for large ones."""
    l = blocks.shape[-1]
    if l <= 64:
        d = _dct_cached(l)
        b = np.asarray(blocks, dtype=np.float64)
        return d.T @ ((d @ b @ d.T) * _lowpass_weight(l, float(beta))) @ d
    from scipy.fft import dctn, idctn

    weight = _lowpass_weight(l, float(beta))
    return idctn(dctn(np.asarray(blocks, dtype=np.float64), axes=(1, 2), norm="ortho", workers=1) * weight, axes=(1, 2), norm="ortho", workers=1)


def _pair_similarity(pf, wem, bem_p, e, bem_e_img, ys, xs, owner, l, cfg):
    """sim_A, sim_S of plain block ``owner[k]`` against the encrypted window at (ys[k], xs[k])."""
    k = len(ys)
    sim_a = np.empty(k)
    sim_s = np.ones(k)
    step = max(1, int(cfg.chunk_elements // (l * l)))
    g = float(cfg.gamma)
    for a in range(0, k, step):
        sl = slice(a, a + step)
        ef = _lowpass_any(_windows(e, ys[sl], xs[sl], l), cfg.beta)
        d = 1.0 - np.abs(pf[owner[sl]] - ef)
        np.maximum(d, 0.0, out=d)
        sim_a[sl] = np.mean(d**g, axis=(1, 2)) ** (1.0 / g)
        if cfg.use_structure:
            be = _windows(bem_e_img, ys[sl], xs[sl], l)
            bp = bem_p[owner[sl]]
            num = np.sum(wem[owner[sl]] * be, axis=(1, 2))
            inter = np.sum(bp & be, axis=(1, 2))
            den = bp.sum(axis=(1, 2)) + be.sum(axis=(1, 2)) - inter
            sim_s[sl] = np.divide(num, den, out=np.ones_like(num, dtype=np.float64), where=den > 0)
    return sim_a, sim_s


#: Weight of the edge-map cell features in the pre-ranking proxy (see :func:`_search_phase`).
_EDGE_PROXY_WEIGHT = 0.5
#: Cells per axis of the pre-ranking features.
_PROXY_CELLS = 8
#: Below this many elements (plain blocks x grid blocks x l²) the grid's all-pairs eq. 1 is
#: evaluated exactly too (always for the usual ~10 x 10 grids up to 1024², bounded beyond).
_EXHAUSTIVE_ELEMENTS = 1 << 26
#: An off-grid window holds a block's content "moved intact" when the raw mean absolute
#: difference is at most this (about 1.3 grey levels of 8 bits).
_INTACT_MAD = 0.005
#: Bound on plain blocks x pre-ranked candidates per grid phase (time on elongated images).
_RANKING_PAIRS = 1 << 22


def _proxy(sats, ys, xs, l, g, edge_weight):
    """Pre-ranking features: g x g cell means of the image and (weighted) of its binary edge map."""
    sat, sat_b = sats
    f = _cell_features(sat, ys, xs, l, g)
    if edge_weight == 0:
        return f
    return np.concatenate([f, edge_weight * _cell_features(sat_b, ys, xs, l, g)], axis=1)


def _rank_and_refine(sat_p, sat_e, py, px, cyy, cxx, l, g, step, top_k, chunk_elements, shape, edge_weight):
    """Top-k candidates of every plain block by proxy distance, each refined to 1 px."""
    h, w = shape
    kp = len(py)
    fp = _proxy(sat_p, py, px, l, g, edge_weight)
    fstep = 1 << 14
    feats_c = np.concatenate([_proxy(sat_e, cyy[a : a + fstep], cxx[a : a + fstep], l, g, edge_weight) for a in range(0, len(cyy), fstep)])
    nc = np.sum(feats_c**2, axis=1)
    best = np.empty((kp, top_k), dtype=np.int64)
    chunk = max(1, int(chunk_elements // max(1, len(cyy))))
    for a in range(0, kp, chunk):
        d = nc[None, :] - 2.0 * fp[a : a + chunk] @ feats_c.T
        best[a : a + chunk] = np.argpartition(d, top_k - 1, axis=1)[:, :top_k] if top_k < d.shape[1] else np.arange(d.shape[1])[None].repeat(len(d), 0)
    owner = np.repeat(np.arange(kp), top_k)
    ys, xs = cyy[best.ravel()].copy(), cxx[best.ravel()].copy()
    fo = fp[owner]
    cur = np.sum((_proxy(sat_e, ys, xs, l, g, edge_weight) - fo) ** 2, axis=1)
    s = step // 2
    offsets = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
    while s >= 1:  # pattern search: halve the step down to 1 px
        for dy, dx in offsets * s:
            ny = np.clip(ys + dy, 0, h - l)
            nx = np.clip(xs + dx, 0, w - l)
            dist = np.sum((_proxy(sat_e, ny, nx, l, g, edge_weight) - fo) ** 2, axis=1)
            better = dist < cur
            ys, xs, cur = np.where(better, ny, ys), np.where(better, nx, xs), np.where(better, dist, cur)
        s //= 2
    return owner, ys, xs


def _raw_mad(p, e, py, px, ys, xs, owner, l, chunk_elements):
    """Mean absolute raw-pixel difference of plain block ``owner[k]`` and window (ys[k], xs[k])."""
    out = np.empty(len(ys))
    step = max(1, int(chunk_elements // (l * l)))
    for a in range(0, len(ys), step):
        sl = slice(a, a + step)
        out[sl] = np.mean(np.abs(_windows(p, py[owner[sl]], px[owner[sl]], l) - _windows(e, ys[sl], xs[sl], l)), axis=(1, 2))
    return out


def _search_phase(p, e, em_p, bem_e_img, sat_p, sat_e, l, oy, ox, cfg):
    """Shift-robust non-local search for the plain grid with origin (oy, ox)."""
    h, w = p.shape
    m, n = (h - oy) // l, (w - ox) // l
    py = (oy + l * np.arange(m))[:, None].repeat(n, 1).ravel()
    px = (ox + l * np.arange(n))[None, :].repeat(m, 0).ravel()
    kp = m * n
    primary = (oy, ox) == (0, 0)
    step = max(1, int(round(cfg.search_stride * l)))
    n_pos = ((h - l) // step + 1) * ((w - l) // step + 1)
    if kp * n_pos > _RANKING_PAIRS:  # bounded pre-ranking: coarser start grid, still refined to 1 px
        step = max(step, int(np.ceil(np.sqrt(kp * n_pos / _RANKING_PAIRS) * step)))
    cy, cx = _positions(h, l, step), _positions(w, l, step)
    cyy, cxx = np.meshgrid(cy, cx, indexing="ij")
    cyy, cxx = cyy.ravel(), cxx.ravel()
    g = min(_PROXY_CELLS, l)
    top_k = min(cfg.top_k, len(cyy))
    # stages 1-2: cheap pre-ranking on cell means, once on the image alone and once with the
    # binary edge maps (a flat plain block then prefers an edge-free window), each candidate
    # refined to 1 px by a pattern search
    found = [_rank_and_refine(sat_p, sat_e, py, px, cyy, cxx, l, g, step, top_k, cfg.chunk_elements, (h, w), wgt)
             for wgt in (0.0, _EDGE_PROXY_WEIGHT)]
    owner = np.concatenate([f[0] for f in found])
    ys = np.concatenate([f[1] for f in found])
    xs = np.concatenate([f[2] for f in found])
    # an off-grid window (and any window for a shifted plain grid) counts only when it holds the
    # block's content moved intact (raw mean |difference| <= _INTACT_MAD): looser matches are
    # chance fits that raise the RD of noise-like encryptions
    keep = _raw_mad(p, e, py, px, ys, xs, owner, l, cfg.chunk_elements) <= _INTACT_MAD
    owner, ys, xs = owner[keep], ys[keep], xs[keep]
    if primary:  # the block's own position, as in a position-based comparison
        owner, ys, xs = np.concatenate([owner, np.arange(kp)]), np.concatenate([ys, py]), np.concatenate([xs, px])
    pf = _lowpass_any(_windows(p, py, px, l), cfg.beta)
    bem_p = _windows(em_p, py, px, l) > cfg.edge_threshold
    wem = _weight_maps(bem_p) if cfg.use_structure else None
    # stage 3: exact eqs. 2-4 on the survivors
    sim_a, sim_s = _pair_similarity(pf, wem, bem_p, e, bem_e_img, ys, xs, owner, l, cfg)
    if primary and kp * kp * l * l <= _EXHAUSTIVE_ELEMENTS:
        # the paper's eq. 1 on its grid, exactly (all pairs): every block keeps at least its
        # grid-search RD, the shift-robust search only adds intact moved content
        ef = _lowpass_any(_windows(e, py, px, l), cfg.beta)
        ga = sim_appearance(pf, ef, cfg.gamma, cfg.chunk_elements)
        gs_ = sim_structure(bem_p, _windows(bem_e_img, py, px, l)) if cfg.use_structure else np.ones_like(ga)
        jg = np.argmax(combine_similarity(ga, gs_ if cfg.use_structure else None), axis=1)
        rows = np.arange(kp)
        owner = np.concatenate([owner, rows])
        ys, xs = np.concatenate([ys, py[jg]]), np.concatenate([xs, px[jg]])
        sim_a, sim_s = np.concatenate([sim_a, ga[rows, jg]]), np.concatenate([sim_s, gs_[rows, jg]])
    sim = combine_similarity(sim_a, sim_s if cfg.use_structure else None)
    best = np.full(kp, -1.0)
    np.maximum.at(best, owner, sim)
    rd = np.maximum(best, 0.0)
    pick = np.full(kp, -1, dtype=np.int64)
    hit = np.flatnonzero(sim >= best[owner])
    pick[owner[hit]] = hit  # one of the maximisers per block
    has = pick >= 0
    sa, ss = np.zeros(kp), np.zeros(kp)
    my, mx = py.copy(), px.copy()
    sa[has], ss[has] = sim_a[pick[has]], sim_s[pick[has]]
    my[has], mx[has] = ys[pick[has]], xs[pick[has]]
    return {
        "block_rd": rd.reshape(m, n),
        "sim_a": sa.reshape(m, n),
        "sim_s": ss.reshape(m, n),
        "match": np.stack([my, mx], axis=-1).reshape(m, n, 2),
        "origin": (int(oy), int(ox)),
        "grid": (m, n),
    }


def _search_grid(p, e, em_p, em_e, l, m, n, cfg):
    """The paper's eq. 1 literally: all pairs of the non-overlapping l-grid blocks (chunked)."""
    pf = lowpass_blocks(_blocks(p, l), cfg.beta)
    ef = lowpass_blocks(_blocks(e, l), cfg.beta)
    sim_a = sim_appearance(pf, ef, cfg.gamma, cfg.chunk_elements)
    if cfg.use_structure:
        sim_s = sim_structure(_blocks(em_p, l) > cfg.edge_threshold, _blocks(em_e, l) > cfg.edge_threshold)
        sim = combine_similarity(sim_a, sim_s)
    else:
        sim_s = np.ones_like(sim_a)
        sim = sim_a
    best = np.argmax(sim, axis=1)
    rows = np.arange(sim.shape[0])
    match = np.stack([l * (best // n), l * (best % n)], axis=-1).reshape(m, n, 2)
    return {
        "block_rd": sim[rows, best].reshape(m, n),
        "sim_a": sim_a[rows, best].reshape(m, n),
        "sim_s": sim_s[rows, best].reshape(m, n),
        "match": match,
        "origin": (0, 0),
        "grid": (m, n),
    }


def _pool_phase(res: dict, em_p: np.ndarray, l: int, cfg: VSIConfig) -> tuple[float, np.ndarray]:
    m, n = res["grid"]
    if cfg.use_weights:
        oy, ox = res["origin"]
        em_blocks = em_p[oy : oy + m * l, ox : ox + n * l].reshape(m, l, n, l).swapaxes(1, 2)
        weights = block_weights(res["block_rd"], em_blocks)
        if weights.sum() <= 0:
            weights = np.ones_like(res["block_rd"])
    else:
        weights = np.ones_like(res["block_rd"])
    return pool_rd(res["block_rd"], weights, cfg.gamma, cfg.pooling), weights


def _phase_origins(shape: tuple[int, int], l: int, phases: int) -> list[tuple[int, int]]:
    offs = sorted({int(round(k * l / phases)) for k in range(phases)})
    return [(oy, ox) for oy in offs for ox in offs if (shape[0] - oy) // l >= 1 and (shape[1] - ox) // l >= 1]


def _match_all(p, e, em_p, em_e, l, m, n, cfg) -> list[tuple[float, np.ndarray, dict]]:
    """(RD, weights, search result) for every plain-grid phase."""
    if cfg.search_stride >= 1.0 and cfg.phases == 1:
        res = _search_grid(p, e, em_p, em_e, l, m, n, cfg)
        return [(*_pool_phase(res, em_p, l, cfg), res)]
    bem_e_img = em_e > cfg.edge_threshold
    sat_p = (_summed_area(p), _summed_area(em_p > cfg.edge_threshold, np.int32))
    sat_e = (_summed_area(e), _summed_area(bem_e_img, np.int32))
    out = []
    for oy, ox in _phase_origins(p.shape, l, cfg.phases):
        res = _search_phase(p, e, em_p, bem_e_img, sat_p, sat_e, l, oy, ox, cfg)
        out.append((*_pool_phase(res, em_p, l, cfg), res))
    return out


def vsi(plain: np.ndarray, encrypted: np.ndarray, config: str | VSIConfig = "C4", *, progress: bool = False) -> VSIResult:
    """Visual security index of ``encrypted`` with respect to ``plain`` (eqs. 1–8).

    With the default configuration the non-local search of eq. 1 is shift-robust: candidate
    encrypted blocks lie every ``search_stride·l`` pixels (refined to 1 px) and the plain grid is
    tried at ``phases²`` origins, the most recognisable one kept (see :class:`VSIConfig`);
    ``VSIConfig(search_stride=1.0, phases=1)`` (:data:`PAPER`) is the paper's literal grid.

    Parameters
    ----------
    plain, encrypted : ndarray
        (H, W) or (H, W, C) images in [0, 1] of the same size; colour is reduced to luminance.
    config : {"C1", "C2", "C3", "C4"} or VSIConfig
        Table 3 ablation name or a full configuration (default: the full index, C4).
    progress : bool
        Progress bars on stderr (edge detection bands of large images).

    Returns
    -------
    VSIResult
        ``vsi`` (higher = less secure), ``rd``, ``gs``, the per-block maps (``block_rd``,
        ``sim_a``, ``sim_s``, ``weights``, ``match``) and the edge maps.

    Raises
    ------
    TypeError, ValueError
        Invalid images (see :func:`prepare_pair`), different sizes, images smaller than one
        block, unknown configuration names.

    References
    ----------
    Seed 004 (Shi, Xiong, Qiao), eqs. 1–8.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.random((40, 40))
    >>> r = vsi(img, img)
    >>> round(r.vsi, 6), r.block
    (2.0, 5)
    """
    cfg = get_config(config)
    p, e = prepare_pair(plain, encrypted)
    l, m, n = _grid_and_block(p.shape, cfg)
    need_edges = cfg.use_structure or cfg.use_weights or cfg.use_global
    if need_edges:
        em_p, em_e, _ = edge_maps(p, e, cfg.edges, progress=progress)
    else:
        em_p = em_e = np.zeros(p.shape, dtype=np.float32)
    phases = _match_all(p, e, em_p, em_e, l, m, n, cfg)
    rd, weights, res = max(phases, key=lambda t: t[0])
    gs = bhattacharyya(em_p, em_e, cfg.hist_bins) if cfg.use_global else 0.0
    return VSIResult(
        vsi=rd * (1.0 + gs), rd=rd, gs=gs, block_rd=res["block_rd"], match=res["match"], weights=weights, block=l,
        config=cfg, sim_a=res["sim_a"], sim_s=res["sim_s"], origin=res["origin"], edges_plain=em_p, edges_encrypted=em_e,
    )


def vsi_loop(plain: np.ndarray, encrypted: np.ndarray, config: str | VSIConfig = "C4") -> float:
    """Straightforward reference: the same index with explicit Python loops over block pairs.

    The paper's literal eq. 1 (one non-overlapping grid; ``search_stride`` and ``phases`` are
    ignored). Used by the benchmark and the tests as the slow, obviously-correct anchor for
    :func:`vsi` with :data:`PAPER`-style configurations (per pair: ``scipy.fft.dctn``/``idctn`` filtering, per-pixel Minkowski mean, per-block
    distance transform and Jaccard sums).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> a, b = rng.random((24, 24)), rng.random((24, 24))
    >>> bool(np.isclose(vsi_loop(a, b, PAPER), vsi(a, b, PAPER).vsi))
    True
    """
    from scipy.fft import dctn, idctn
    from scipy.ndimage import distance_transform_edt

    cfg = get_config(config)
    p, e = prepare_pair(plain, encrypted)
    l, m, n = _grid_and_block(p.shape, cfg)
    em_p, em_e, _ = edge_maps(p, e, cfg.edges)
    weight = np.exp(-zigzag_rank(l) / (cfg.beta * l))

    def filt(b):
        return idctn(dctn(b, norm="ortho") * weight, norm="ortho")

    def blk(img, i, j):
        return img[i * l : (i + 1) * l, j * l : (j + 1) * l]

    rd = np.zeros((m, n))
    for i in range(m):
        for j in range(n):
            bp = filt(blk(p, i, j))
            bem_p = blk(em_p, i, j) > cfg.edge_threshold
            if bem_p.any():
                wem = np.clip(1 - distance_transform_edt(~bem_p) / (np.sqrt(2) * l), 0, 1)
            else:
                wem = np.zeros((l, l))
            best = -np.inf
            for a in range(m):
                for c in range(n):
                    be = filt(blk(e, a, c))
                    sa = np.mean(np.maximum(1 - np.abs(bp - be), 0) ** cfg.gamma) ** (1 / cfg.gamma)
                    s = sa
                    if cfg.use_structure:
                        bem_e = blk(em_e, a, c) > cfg.edge_threshold
                        den = bem_p.sum() + bem_e.sum() - (bem_p & bem_e).sum()
                        ss = (wem * bem_e).sum() / den if den > 0 else 1.0
                        s = sa * ss ** (1 - sa)
                    best = max(best, s)
            rd[i, j] = best
    w = np.ones((m, n))
    if cfg.use_weights:
        for i in range(m):
            for j in range(n):
                nb = [rd[a, c] for a, c in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)) if 0 <= a < m and 0 <= c < n]
                nrd = float(np.mean(nb)) if nb else 0.0
                w[i, j] = (1 - nrd) * np.std(blk(em_p, i, j))
        if w.sum() <= 0:
            w = np.ones((m, n))
    if cfg.pooling == "literal":
        total = sum((w[i, j] * rd[i, j]) ** cfg.gamma for i in range(m) for j in range(n))
    else:
        total = sum(w[i, j] * rd[i, j] ** cfg.gamma for i in range(m) for j in range(n))
    rd_all = (total / w.sum()) ** (1 / cfg.gamma)
    if not cfg.use_global:
        return float(rd_all)
    hp = np.histogram(em_p, bins=cfg.hist_bins, range=(0, 1))[0] / em_p.size
    he = np.histogram(em_e, bins=cfg.hist_bins, range=(0, 1))[0] / em_e.size
    return float(rd_all * (1 + np.sum(np.sqrt(hp * he))))


def with_overrides(config: str | VSIConfig, **overrides) -> VSIConfig:
    """A named configuration with some fields replaced (``None`` values are ignored).

    Examples
    --------
    >>> with_overrides("C4", alpha=0.2).alpha
    0.2
    """
    cfg = get_config(config)
    kept = {k: v for k, v in overrides.items() if v is not None}
    return replace(cfg, **kept) if kept else cfg


def vsi_ablation(plain: np.ndarray, encrypted: np.ndarray, base: VSIConfig | None = None) -> dict[str, float]:
    """VSI under the four Table 3 configurations C1–C4, sharing the edge maps and the search.

    Parameters
    ----------
    plain, encrypted : ndarray
        As for :func:`vsi`.
    base : VSIConfig, optional
        Parameters shared by the four configurations (α, β, γ, edges, pooling, search); its
        ``use_*`` switches are ignored.

    Returns
    -------
    dict
        ``{"C1": ..., "C2": ..., "C3": ..., "C4": ...}``, equal to ``vsi(plain, encrypted, Ck).vsi``.

    References
    ----------
    Seed 004, Table 3.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.random((30, 30)), rng.random((30, 30))
    >>> res = vsi_ablation(a, b)
    >>> bool(np.isclose(res["C2"], vsi(a, b, "C2").vsi))
    True
    """
    cfg = base if base is not None else VSIConfig()
    p, e = prepare_pair(plain, encrypted)
    l, m, n = _grid_and_block(p.shape, cfg)
    em_p, em_e, _ = edge_maps(p, e, cfg.edges)
    c1 = replace(cfg, use_structure=False, use_weights=False, use_global=False)
    c2 = replace(cfg, use_structure=True, use_weights=False, use_global=False)
    c3 = replace(cfg, use_structure=True, use_weights=True, use_global=False)
    rd1 = max(t[0] for t in _match_all(p, e, em_p, em_e, l, m, n, c1))
    phases = _match_all(p, e, em_p, em_e, l, m, n, c2)
    rd2 = max(t[0] for t in phases)
    rd3 = max(_pool_phase(t[2], em_p, l, c3)[0] for t in phases)
    gs = bhattacharyya(em_p, em_e, cfg.hist_bins)
    return {"C1": rd1, "C2": rd2, "C3": rd3, "C4": rd3 * (1.0 + gs)}
