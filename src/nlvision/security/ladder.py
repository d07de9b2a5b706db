"""Embedded security ladder: an offline stand-in for a subjective visual-security database.

Every bundled gray test image of scikit-image is encrypted by every scheme of
:mod:`nlvision.security.encryption` at 6 strengths (1/6, 2/6, ..., 1). A stronger encryption of
the same image is (by construction of the schemes) less recognisable, so a good visual security
index should *decrease* with the strength. For every index we report the Spearman rank
correlation between strength and ``-score`` — **a proxy for agreement with human scores, not a
human study** — per scheme (mean over images of the per-image correlation across the 6
strengths) and overall (mean over schemes), plus the pooled correlation over all pairs. The
four VSI configurations C1–C4 give the Table 3-style ablation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LADDER_IMAGES", "STRENGTHS", "INDICES", "JIGSAW_REFERENCES", "score_pair", "bundled_gray_images", "LadderResult", "run_ladder"]

#: scikit-image's bundled 8-bit gray test images (offline, shipped with the package).
LADDER_IMAGES = (
    "camera", "moon", "coins", "page", "text", "brick", "grass", "gravel", "clock", "cell", "checkerboard", "microaneurysms",
)
#: The 6 strengths of the ladder.
STRENGTHS = tuple(float(k) / 6 for k in range(1, 7))
#: Indices scored on every pair, in report order (VSI configurations first).
INDICES = ("C4", "C3", "C2", "C1", "psnr", "ssim", "lss", "ess", "edge_texture")


def bundled_gray_images(names: tuple[str, ...] | list[str] | None = None, max_side: int | None = 256) -> dict[str, np.ndarray]:
    """Load scikit-image's bundled gray images as float [0, 1] arrays.

    Parameters
    ----------
    names : sequence of str, optional
        Subset of :data:`LADDER_IMAGES` (default: all).
    max_side : int or None
        Downscale (anti-aliased) so the longer side is at most this; ``None`` or 0 keeps the
        original size.

    Returns
    -------
    dict
        ``{name: (H, W) float64 array in [0, 1]}``.

    Raises
    ------
    ValueError
        Unknown image names (the valid ones are listed) or a ``max_side`` below 32.

    Examples
    --------
    >>> bundled_gray_images(["camera"], max_side=64)["camera"].shape
    (64, 64)
    """
    import skimage.data
    from skimage.transform import rescale

    names = list(LADDER_IMAGES if names is None else names)
    bad = [n for n in names if n not in LADDER_IMAGES]
    if bad:
        raise ValueError(f"images: unknown image(s) {', '.join(map(repr, bad))}; valid: {', '.join(LADDER_IMAGES)}")
    if max_side is not None and max_side != 0 and max_side < 32:
        raise ValueError(f"max_side: expected 0/None or an integer >= 32, got {max_side}")
    out = {}
    for name in names:
        img = np.asarray(getattr(skimage.data, name)(), dtype=np.float64) / 255.0
        if max_side and max(img.shape) > max_side:
            img = np.clip(rescale(img, max_side / max(img.shape), anti_aliasing=True), 0, 1)
        out[name] = img
    return out


@dataclass
class LadderResult:
    """Scores and rank correlations of the security ladder.

    Parameters
    ----------
    rows : list of dict
        One row per (image, scheme, strength) with every index's score.
    per_scheme : dict
        ``{scheme: {index: mean per-image SROCC(strength, -score)}}``.
    overall : dict
        ``{index: mean over schemes}``.
    pooled : dict
        ``{index: SROCC over all pairs of one scheme pooled over images, averaged over schemes}``.
    jigsaw : dict
        ``{index: fraction of (image, reference) cases ordered correctly}``: the weakest block
        shuffle (a coarse jigsaw, plainly recognisable) must score *less* secure than the
        unrecognisable :data:`JIGSAW_REFERENCES` (noise, a 2-px shuffle, a flat gray image). Position-based indices (PSNR,
        SSIM, LSS) compare co-located pixels and cannot see the moved content; the non-local VSI
        can. Empty when ``block_shuffle`` is not run.
    images : list of str
        Image names.
    schemes : list of str
        Scheme names.
    strengths : list of float
        Encryption strengths.
    seconds : float
        Wall time of the run.
    note : str
        The proxy disclaimer.

    Examples
    --------
    >>> r = LadderResult([], {}, {}, {}, {}, [], [], [], 0.0)
    >>> r.to_dict()["note"].startswith("rank correlation")
    True
    """

    rows: list[dict]
    per_scheme: dict
    overall: dict
    pooled: dict
    jigsaw: dict
    images: list[str]
    schemes: list[str]
    strengths: list[float]
    seconds: float
    note: str = field(default="rank correlation with encryption strength: a proxy for human scores, not a subjective study")

    def to_dict(self, with_rows: bool = False) -> dict:
        """JSON-friendly form (rows optional, they are long)."""
        d = {
            "note": self.note,
            "images": self.images,
            "schemes": self.schemes,
            "strengths": self.strengths,
            "per_scheme": self.per_scheme,
            "overall": self.overall,
            "pooled": self.pooled,
            "jigsaw": self.jigsaw,
            "seconds": self.seconds,
        }
        if with_rows:
            d["rows"] = self.rows
        return d

    def table(self) -> str:
        """Plain-text table: one row per scheme, one column per index."""
        head = f"{'scheme':18s}" + "".join(f"{i:>13s}" for i in INDICES)
        lines = [self.note, head]
        for s in self.schemes:
            lines.append(f"{s:18s}" + "".join(f"{self.per_scheme[s][i]:13.3f}" for i in INDICES))
        lines.append(f"{'mean':18s}" + "".join(f"{self.overall[i]:13.3f}" for i in INDICES))
        lines.append(f"{'pooled':18s}" + "".join(f"{self.pooled[i]:13.3f}" for i in INDICES))
        if self.jigsaw:
            lines.append(f"{'jigsaw check':18s}" + "".join(f"{self.jigsaw[i]:13.3f}" for i in INDICES))
        return "\n".join(lines)


def _srocc(strength: np.ndarray, score: np.ndarray) -> float:
    from scipy.stats import spearmanr

    s = np.asarray(score, dtype=np.float64)
    s = np.where(np.isposinf(s), np.finfo(float).max, s)
    if np.ptp(s) == 0:
        return 0.0  # a constant index cannot order anything
    return float(spearmanr(strength, -s)[0])


def score_pair(plain: np.ndarray, encrypted: np.ndarray, config=None) -> dict[str, float]:
    """Every index of :data:`INDICES` for one pair (VSI C1–C4 share their work).

    Examples
    --------
    >>> x = np.random.default_rng(0).random((40, 40))
    >>> sorted(score_pair(x, x)) == sorted(INDICES)
    True
    """
    from nlvision.security.baselines import BASELINES
    from nlvision.security.vsi import vsi_ablation

    out = dict(vsi_ablation(plain, encrypted, config))
    for name, fn in BASELINES.items():
        out[name] = float(fn(plain, encrypted))
    return out


#: Unrecognisable encryptions (scheme, strength) that a coarse jigsaw must be judged less secure
#: than: MSB-XOR noise, a 2-pixel shuffle and full wavelet truncation (a flat gray image).
JIGSAW_REFERENCES = (("msb_xor", 1.0), ("block_shuffle", 1.0), ("wavelet_truncate", 1.0))


def _jigsaw_check(images, rows, strengths, key) -> dict:
    from nlvision.security.encryption import encrypt

    weakest = min(strengths)
    hits = {i: [] for i in INDICES}
    for name, img in images.items():
        jig = next(r for r in rows if r["image"] == name and r["scheme"] == "block_shuffle" and r["strength"] == weakest)
        for scheme, strength in JIGSAW_REFERENCES:
            ref = next((r for r in rows if r["image"] == name and r["scheme"] == scheme and r["strength"] == strength), None)
            if ref is None:
                ref = score_pair(img, encrypt(img, scheme, strength, key=key))
            for i in INDICES:
                hits[i].append(float(jig[i] > ref[i]))
    return {i: float(np.mean(v)) for i, v in hits.items()}


def run_ladder(
    images: dict[str, np.ndarray] | None = None,
    schemes: list[str] | None = None,
    strengths: tuple[float, ...] = STRENGTHS,
    key: int = 0,
    max_side: int | None = 256,
    progress: bool = False,
) -> LadderResult:
    """Run the security ladder.

    Parameters
    ----------
    images : dict name -> gray image, optional
        Default: :func:`bundled_gray_images` at ``max_side``.
    schemes : list of str, optional
        Default: every scheme.
    strengths : tuple of float
        At least 3 strengths in (0, 1].
    key : int
        Encryption key (each image/scheme uses ``key``; results are deterministic).
    max_side : int or None
        Passed to :func:`bundled_gray_images` when ``images`` is None.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    LadderResult
        Scores, per-scheme and pooled rank correlations, the jigsaw check.

    Raises
    ------
    ValueError
        Unknown scheme, fewer than 3 strengths, strengths outside (0, 1].

    Examples
    --------
    >>> img = {"tiny": bundled_gray_images(["camera"], max_side=48)["camera"]}
    >>> r = run_ladder(img, ["block_shuffle"], strengths=(0.2, 0.6, 1.0))
    >>> sorted(r.per_scheme)
    ['block_shuffle']
    """
    from tqdm import tqdm

    from nlvision.security.encryption import SCHEMES, encrypt

    start = time.perf_counter()
    schemes = list(SCHEMES if schemes is None else schemes)
    bad = [s for s in schemes if s not in SCHEMES]
    if bad:
        raise ValueError(f"schemes: unknown scheme(s) {', '.join(map(repr, bad))}; valid: {', '.join(SCHEMES)}")
    strengths = tuple(float(s) for s in strengths)
    if len(strengths) < 3 or not all(0 < s <= 1 for s in strengths):
        raise ValueError(f"strengths: expected at least 3 values in (0, 1], got {strengths}")
    if images is None:
        images = bundled_gray_images(max_side=max_side)
    rows = []
    jobs = [(n, s, t) for n in images for s in schemes for t in strengths]
    for name, scheme, strength in tqdm(jobs, disable=not progress, desc="ladder"):
        enc = encrypt(images[name], scheme, strength, key=key)
        rows.append({"image": name, "scheme": scheme, "strength": strength, **score_pair(images[name], enc)})
    per_scheme, pooled_s = {}, {}
    for scheme in schemes:
        per_scheme[scheme] = {}
        pooled_s[scheme] = {}
        sel = [r for r in rows if r["scheme"] == scheme]
        for index in INDICES:
            vals = []
            for name in images:
                rr = [r for r in sel if r["image"] == name]
                vals.append(_srocc(np.array([r["strength"] for r in rr]), np.array([r[index] for r in rr])))
            per_scheme[scheme][index] = float(np.mean(vals))
            pooled_s[scheme][index] = _srocc(np.array([r["strength"] for r in sel]), np.array([r[index] for r in sel]))
    jigsaw = _jigsaw_check(images, rows, strengths, key) if "block_shuffle" in schemes else {}
    overall = {i: float(np.mean([per_scheme[s][i] for s in schemes])) for i in INDICES}
    pooled = {i: float(np.mean([pooled_s[s][i] for s in schemes])) for i in INDICES}
    return LadderResult(
        rows=rows,
        per_scheme=per_scheme,
        overall=overall,
        pooled=pooled,
        jigsaw=jigsaw,
        images=list(images),
        schemes=schemes,
        strengths=list(strengths),
        seconds=time.perf_counter() - start,
    )
