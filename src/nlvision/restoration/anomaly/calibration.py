"""Decision rule: calibrated anomaly scores, pixel and image thresholds for a target FPR.

Seed 003 sets ``gamma`` so that the false-positive rate on normal data is controlled. Here every
detector (the sparse ones and the baselines) turns its raw score ``A`` (e.g. ``-log phi0(f)``) into
a **calibrated score**: ``-log10`` of the fraction of normal validation pixels that score higher,

    c(s) = -log10 P_V(A > s),

empirical up to the validation 99th percentile and an exponential tail beyond it (the
peaks-over-threshold model with zero shape, fitted to the mean excess), so that

* the pixel threshold for a target FPR ``f`` is simply ``c > -log10 f`` (2 for 1 %);
* maps of different models, or of the same model calibrated at different scales, are comparable.

The **image score** is the maximum of the calibrated map smoothed by a Gaussian of
``image_sigma`` pixels. Its threshold for a target image-level FPR comes from the image scores of
the validation images: a Gumbel law (the extreme-value law of maxima) fitted by moments, moved to
the area of the test image (the maximum over ``a_t / a_v`` times the area is Gumbel with its
location shifted by ``beta log(a_t / a_v)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["check_fpr", "ScoreCalibration", "AnomalyPrediction"]

_TAIL = 0.01  # empirical survival above this probability, exponential tail below
_N_QUANTILES = 4001


def check_fpr(fpr, name: str = "fpr") -> float:
    """Validate a target false-positive rate (a number in the open interval (0, 1)).

    Parameters
    ----------
    fpr : float
        Target rate.
    name : str, default "fpr"
        Name used in the error message.

    Returns
    -------
    float
        ``fpr`` as a float.

    Raises
    ------
    TypeError
        Not a number.
    ValueError
        Outside (0, 1) or not finite.

    Examples
    --------
    >>> check_fpr(0.01)
    0.01
    """
    if isinstance(fpr, bool) or not isinstance(fpr, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in (0, 1), got {type(fpr).__name__} {fpr!r}")
    if not (0.0 < float(fpr) < 1.0):
        raise ValueError(f"{name} must be in (0, 1), got {fpr}")
    return float(fpr)


def smooth_max(cmap: np.ndarray, sigma: float) -> float:
    """Maximum of a map smoothed by a Gaussian of ``sigma`` pixels (the image score)."""
    if sigma > 0:
        from scipy.ndimage import gaussian_filter

        cmap = gaussian_filter(np.asarray(cmap, dtype=np.float64), sigma, mode="nearest")
    return float(np.max(cmap))


@dataclass
class ScoreCalibration:
    """Calibration of raw anomaly scores on normal validation data.

    Parameters
    ----------
    quantiles : ndarray, shape (n,)
        Raw validation pixel scores at the probabilities ``linspace(0, 1, n)``.
    tail_scale : float
        Mean excess of the raw validation scores above their 99th percentile (scale of the
        exponential tail).
    image_scores : ndarray, shape (m,)
        Image scores of the validation images (or of their quadrants when fewer than 8 images).
    image_area : float
        Mean area in pixels of the images behind ``image_scores``.
    image_sigma : float
        Smoothing (pixels) of the calibrated map before its maximum is taken.

    References
    ----------
    Seed 003, "Anomaly detection" (control the false-positive rate with gamma); A. Balkema,
    L. de Haan (1974) and J. Pickands (1975) for the exponential excess tail; E. J. Gumbel,
    "Statistics of Extremes", 1958, for the image-level maximum.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cal = ScoreCalibration.from_maps([rng.normal(size=(64, 64)) for _ in range(8)], image_sigma=0.0)
    >>> round(float(np.mean(cal.transform(rng.normal(size=(64, 64))) > 2.0)), 2)
    0.01
    >>> float(cal.pixel_threshold(0.01))
    2.0
    """

    quantiles: np.ndarray
    tail_scale: float
    image_scores: np.ndarray
    image_area: float
    image_sigma: float = 4.0

    @classmethod
    def from_maps(cls, maps, image_sigma: float = 4.0) -> "ScoreCalibration":
        """Calibrate from raw score maps of normal validation images.

        Parameters
        ----------
        maps : sequence of ndarray
            Raw anomaly maps of normal images (not used to fit the model, ideally).
        image_sigma : float, default 4
            Smoothing of the calibrated map for the image score.

        Returns
        -------
        ScoreCalibration

        Raises
        ------
        ValueError
            No maps, or non-finite scores.
        """
        maps = [np.asarray(m, dtype=np.float64) for m in maps]
        if not maps:
            raise ValueError("maps: need at least one validation map to calibrate")
        v = np.concatenate([m.ravel() for m in maps])
        if not np.all(np.isfinite(v)):
            raise ValueError("maps: validation scores must be finite")
        q = np.quantile(v, np.linspace(0.0, 1.0, _N_QUANTILES))
        t = float(np.quantile(v, 1 - _TAIL))
        exc = v[v > t] - t
        beta = float(exc.mean()) if exc.size else 0.0
        beta = max(beta, 1e-6 * max(float(np.std(v)), 1e-12))
        cal = cls(q, beta, np.zeros(0), 1.0, float(image_sigma))
        tiles = []
        for m in maps:
            if len(maps) >= 8 or min(m.shape) < 16:
                tiles.append(m)
            else:  # quadrants: more (smaller) maxima for the Gumbel fit
                h2, w2 = m.shape[0] // 2, m.shape[1] // 2
                tiles += [m[:h2, :w2], m[:h2, w2:], m[h2:, :w2], m[h2:, w2:]]
        cal.image_scores = np.array([smooth_max(cal.transform(t_), cal.image_sigma) for t_ in tiles])
        cal.image_area = float(np.mean([t_.size for t_ in tiles]))
        return cal

    def survival(self, scores: np.ndarray) -> np.ndarray:
        """Fraction of normal validation pixels scoring above each raw score (tail extrapolated).

        Parameters
        ----------
        scores : ndarray
            Raw scores.

        Returns
        -------
        ndarray
            Same shape, values in (0, 1].
        """
        s = np.asarray(scores, dtype=np.float64)
        q = self.quantiles
        p = np.linspace(0.0, 1.0, q.size)
        t = float(np.interp(1 - _TAIL, p, q))
        out = 1.0 - np.interp(s, q, p)
        hi = s > t
        out[hi] = _TAIL * np.exp(-(s[hi] - t) / self.tail_scale)
        return np.clip(out, 1e-300, 1.0)

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated score ``-log10 survival(scores)`` (0 for the most normal pixels).

        Parameters
        ----------
        scores : ndarray
            Raw scores.

        Returns
        -------
        ndarray
        """
        return -np.log10(self.survival(scores))

    @staticmethod
    def pixel_threshold(fpr: float) -> float:
        """Threshold of the calibrated map for a target pixel FPR: ``-log10 fpr``.

        Parameters
        ----------
        fpr : float

        Returns
        -------
        float
        """
        return float(-math.log10(check_fpr(fpr)))

    def image_threshold(self, fpr: float, area: float | None = None) -> float:
        """Threshold of the image score for a target image-level FPR on images of ``area`` pixels.

        Parameters
        ----------
        fpr : float
            Target fraction of normal images called anomalous.
        area : float, optional
            Pixels of the image to decide on (default: the validation images' area).

        Returns
        -------
        float
        """
        f = check_fpr(fpr, "image_fpr")
        m = self.image_scores
        if m.size < 2:
            raise ValueError("calibration holds fewer than two validation image scores")
        beta = max(float(np.std(m, ddof=1)) * math.sqrt(6) / math.pi, 1e-9)
        mu = float(np.mean(m)) - 0.5772156649 * beta
        if area is not None and area > 0:
            mu += beta * math.log(float(area) / self.image_area)
        return mu - beta * math.log(-math.log1p(-f))

    @staticmethod
    def interpolate(a: "ScoreCalibration", b: "ScoreCalibration", w: float) -> "ScoreCalibration":
        """Calibration between two others: quantile functions averaged with weight ``w`` on ``b``.

        Averaging quantile functions is the Wasserstein barycentre of the two score laws (the law
        "between" them); used for an image whose estimated zoom lies between two calibration scales.
        """
        if w <= 0:
            return a
        if w >= 1:
            return b
        q = (1 - w) * a.quantiles + w * b.quantiles
        ia, ib = np.sort(a.image_scores), np.sort(b.image_scores)
        m = (1 - w) * ia + w * ib if ia.size == ib.size else (ia if w < 0.5 else ib)
        return ScoreCalibration(q, (1 - w) * a.tail_scale + w * b.tail_scale, m,
                                (1 - w) * a.image_area + w * b.image_area, a.image_sigma)

    def to_arrays(self, prefix: str) -> dict:
        """Arrays for a model file (used by ``save``)."""
        return {f"{prefix}quantiles": self.quantiles, f"{prefix}image_scores": self.image_scores,
                f"{prefix}scalars": np.array([self.tail_scale, self.image_area, self.image_sigma])}

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> "ScoreCalibration":
        """Inverse of :meth:`to_arrays` (validates shapes and values)."""
        q = np.asarray(arrays[f"{prefix}quantiles"], dtype=np.float64)
        m = np.asarray(arrays[f"{prefix}image_scores"], dtype=np.float64)
        sc = np.asarray(arrays[f"{prefix}scalars"], dtype=np.float64)
        if q.ndim != 1 or q.size < 2 or m.ndim != 1 or sc.shape != (3,):
            raise ValueError("calibration arrays have wrong shapes")
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(m)) and np.all(np.isfinite(sc))):
            raise ValueError("calibration arrays hold non-finite values")
        if np.any(np.diff(q) < 0) or sc[0] <= 0 or sc[1] <= 0 or sc[2] < 0:
            raise ValueError("calibration arrays are inconsistent")
        return cls(q, float(sc[0]), m, float(sc[1]), float(sc[2]))


@dataclass
class AnomalyPrediction:
    """Verdict of a detector on one image.

    Parameters
    ----------
    anomaly_map : ndarray, shape (H, W)
        Calibrated anomaly score per pixel (``-log10`` of the validation tail probability).
    mask : ndarray of bool, shape (H, W)
        Pixels above ``pixel_threshold`` (post-processed).
    image_score : float
        Maximum of the smoothed calibrated map.
    anomalous : bool
        ``image_score > image_threshold``: the image verdict.
    pixel_threshold : float
        ``-log10`` of the target pixel FPR.
    image_threshold : float
        Threshold of the image score for the target image FPR.
    scale : float or None
        Calibration scale selected for the image (multiscale detector), else ``None``.
    info : dict
        Extra facts (e.g. whether sparse coding converged).

    Examples
    --------
    >>> p = AnomalyPrediction(np.zeros((2, 2)), np.zeros((2, 2), bool), 0.5, False, 2.0, 3.1, None)
    >>> p.anomalous, p.anomalous_fraction
    (False, 0.0)
    """

    anomaly_map: np.ndarray
    mask: np.ndarray
    image_score: float
    anomalous: bool
    pixel_threshold: float
    image_threshold: float
    scale: float | None = None
    info: dict = field(default_factory=dict)

    @property
    def anomalous_fraction(self) -> float:
        """Fraction of pixels in the mask."""
        return float(np.mean(self.mask))


class CalibratedModel:
    """Mixin: ``predict`` / ``detect`` / thresholds from :class:`ScoreCalibration` objects.

    Subclasses implement ``_raw_maps(image) -> list of raw maps (one per calibration)`` and
    ``_select(image, raw_maps) -> index`` (default 0), hold ``calibrations`` (list) and the
    attributes ``fpr`` / ``image_fpr`` (defaults) and ``postprocess_mask`` (optional).
    """

    calibrations: list

    def _select(self, raw_maps) -> int:
        return 0

    def _check_calibrated(self):
        if not getattr(self, "calibrations", None):
            raise ValueError(f"{type(self).__name__} is not fitted: call fit(...) first")

    def _default_fprs(self):
        return self.fpr, self.image_fpr

    def score_with_scale(self, image):
        """Calibrated map, the calibration used, its scale (or ``None``) and the gray image."""
        self._check_calibrated()
        raws, img = self._raw_maps(image)
        k = self._select(raws)
        return self.calibrations[k].transform(raws[k]), self.calibrations[k], None, img

    def score(self, image: np.ndarray) -> np.ndarray:
        """Calibrated anomaly map (``-log10`` tail probability under normal validation data)."""
        return self.score_with_scale(image)[0]

    def threshold(self, fpr: float | None = None) -> float:
        """Pixel threshold of the calibrated map for a target FPR (``-log10 fpr``)."""
        self._check_calibrated()
        return ScoreCalibration.pixel_threshold(self._default_fprs()[0] if fpr is None else fpr)

    def predict(self, image: np.ndarray, fpr: float | None = None, image_fpr: float | None = None):
        """Anomaly map, pixel mask and image verdict of one image (:class:`AnomalyPrediction`)."""
        f0, fi0 = self._default_fprs()
        f = check_fpr(f0 if fpr is None else fpr)
        fi = check_fpr(fi0 if image_fpr is None else image_fpr, "image_fpr")
        cmap, cal, scale, img = self.score_with_scale(image)
        gamma = cal.pixel_threshold(f)
        mask = cmap > gamma
        post = getattr(self, "postprocess_mask", None)
        if post is not None:
            mask = post(mask)
        s = smooth_max(cmap, cal.image_sigma)
        t = cal.image_threshold(fi, area=float(cmap.size))
        return AnomalyPrediction(cmap, mask, s, bool(s > t), gamma, t, scale,
                                 dict(getattr(self, "last_info", {}) or {}))
