"""Evaluation metrics of anomaly detection: pixel / image AUROC, AUPRO, obtained FPR.

AUROCs are scikit-learn's ``roc_auc_score``. AUPRO is the area under the per-region-overlap
curve up to a false-positive rate of 0.3, normalised by 0.3, as defined by Bergmann et al.
(IJCV 2021, sec. 5.2) and computed by anomalib's ``AUPRO`` and MVTec's evaluation script: the
ground-truth masks are split into connected components (8-connectivity); at every threshold the
PRO is the mean over all components (of all images) of the fraction of the component detected,
the FPR is the fraction of all normal pixels (of all images) detected; the curve is integrated
with the trapezoid rule and linearly interpolated at the FPR limit.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["pixel_auroc", "image_auroc", "aupro", "fpr_at_threshold"]


def _flat(a) -> np.ndarray:
    if isinstance(a, (list, tuple)):
        return np.concatenate([np.ravel(np.asarray(x)) for x in a]) if len(a) else np.zeros(0)
    return np.ravel(np.asarray(a))


def pixel_auroc(scores: np.ndarray | Sequence[np.ndarray], masks: np.ndarray | Sequence[np.ndarray]) -> float:
    """Area under the ROC curve of pixel scores against pixel ground truth.

    Parameters
    ----------
    scores : ndarray or sequence of ndarray
        Anomaly maps (any shape; lists are concatenated).
    masks : ndarray or sequence of ndarray
        Ground truth of the same shapes (non-zero = anomalous).

    Returns
    -------
    float
        AUROC in [0, 1].

    Raises
    ------
    ValueError
        Different numbers of pixels, or masks without both classes.

    References
    ----------
    scikit-learn ``roc_auc_score``; Bergmann et al., IJCV 129(4), 2021 (pixel-level AUROC).

    Examples
    --------
    >>> pixel_auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    from sklearn.metrics import roc_auc_score

    s, y = _flat(scores).astype(np.float64), _flat(masks).astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"scores and masks must have the same number of pixels, got {s.shape} and {y.shape}")
    if y.all() or not y.any():
        raise ValueError("masks: need both anomalous and normal pixels to compute an AUROC")
    return float(roc_auc_score(y, s))


def image_auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve of image scores against image labels (1 = anomalous).

    Parameters
    ----------
    scores : sequence of float
        One score per image.
    labels : sequence of int or bool
        Ground truth per image.

    Returns
    -------
    float
        AUROC in [0, 1].

    Raises
    ------
    ValueError
        Lengths differ, or only one class present.

    References
    ----------
    scikit-learn ``roc_auc_score``; Bergmann et al., IJCV 129(4), 2021 (image-level AUROC).

    Examples
    --------
    >>> image_auroc([0.2, 0.9, 0.4], [0, 1, 1])
    1.0
    """
    from sklearn.metrics import roc_auc_score

    s, y = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(labels).astype(bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels must have the same length, got {s.size} and {y.size}")
    if y.all() or not y.any():
        raise ValueError("labels: need both normal and anomalous images to compute an AUROC")
    return float(roc_auc_score(y, s))


def fpr_at_threshold(scores, masks, gamma: float) -> float:
    """Fraction of normal pixels with ``score > gamma`` (the FPR actually obtained).

    Parameters
    ----------
    scores : ndarray or sequence of ndarray
        Anomaly maps.
    masks : ndarray or sequence of ndarray
        Ground truth (non-zero = anomalous); normal images have all-zero masks.
    gamma : float
        Threshold.

    Returns
    -------
    float
        Obtained false-positive rate.

    Raises
    ------
    ValueError
        No normal pixels.

    Examples
    --------
    >>> fpr_at_threshold(np.array([0.1, 0.5, 0.9]), np.array([0, 0, 1]), 0.3)
    0.5
    """
    s, y = _flat(scores), _flat(masks).astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"scores and masks must have the same number of pixels, got {s.shape} and {y.shape}")
    neg = ~y
    if not neg.any():
        raise ValueError("masks: no normal pixels")
    return float(np.mean(s[neg] > gamma))


def aupro(scores: Sequence[np.ndarray], masks: Sequence[np.ndarray], fpr_limit: float = 0.3) -> float:
    """Normalised area under the per-region-overlap curve up to ``fpr_limit``.

    Parameters
    ----------
    scores : sequence of ndarray, shape (H, W)
        Anomaly maps of the test images (normal images included: they add normal pixels).
    masks : sequence of ndarray, shape (H, W)
        Ground-truth masks (non-zero = anomalous).
    fpr_limit : float, default 0.3
        Upper limit of the integration (0.3 in Bergmann et al.).

    Returns
    -------
    float
        In [0, 1]; 1 when every region is fully detected before any normal pixel.

    Raises
    ------
    ValueError
        Shapes differ, no anomalous region, no normal pixel, or ``fpr_limit`` outside (0, 1].

    References
    ----------
    P. Bergmann, K. Batzner, M. Fauser, D. Sattlegger, C. Steger, "The MVTec Anomaly Detection
    Dataset", IJCV 129(4), 2021, sec. 5.2 (PRO, integrated to FPR 0.3 and normalised);
    anomalib ``anomalib/metrics/aupro.py`` (same definition, 8-connected components).

    Examples
    --------
    >>> m = np.zeros((4, 4), int); m[0, :2] = 1
    >>> s = np.zeros((4, 4)); s[0, 0] = 1.0
    >>> round(aupro([s], [m]), 4)  # (0, 0) -> (0, 0.5) -> (1, 1): 0.3 * (0.5 + 0.65) / 2 / 0.3
    0.575
    """
    from scipy.ndimage import label

    if not (0.0 < float(fpr_limit) <= 1.0):
        raise ValueError(f"fpr_limit must be in (0, 1], got {fpr_limit}")
    if isinstance(scores, np.ndarray) and scores.ndim == 2:
        scores, masks = [scores], [masks]
    if len(scores) != len(masks):
        raise ValueError(f"scores and masks: {len(scores)} maps but {len(masks)} masks")
    all_s, all_w_pro, all_neg = [], [], []
    n_regions = 0
    comps = []
    for i, (s, m) in enumerate(zip(scores, masks)):
        s, m = np.asarray(s, dtype=np.float64), np.asarray(m).astype(bool)
        if s.shape != m.shape:
            raise ValueError(f"scores[{i}] has shape {s.shape} but masks[{i}] has {m.shape}")
        lab, n = label(m, structure=np.ones((3, 3), int))
        comps.append((s, m, lab, n))
        n_regions += n
    if n_regions == 0:
        raise ValueError("masks: no anomalous region to compute a PRO curve")
    n_neg = sum(int((~m).sum()) for _, m, _, _ in comps)
    if n_neg == 0:
        raise ValueError("masks: no normal pixels")
    for s, m, lab, n in comps:
        w = np.zeros(s.shape)
        if n:
            sizes = np.bincount(lab.ravel())
            w[m] = 1.0 / (sizes[lab[m]] * n_regions)
        all_s.append(s.ravel())
        all_w_pro.append(w.ravel())
        all_neg.append((~m).ravel().astype(np.float64) / n_neg)
    s = np.concatenate(all_s)
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    pro = np.cumsum(np.concatenate(all_w_pro)[order])
    fpr = np.cumsum(np.concatenate(all_neg)[order])
    # one point per distinct threshold (the last index of each run of equal scores)
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    fpr = np.r_[0.0, fpr[last]]
    pro = np.r_[0.0, pro[last]]
    lim = float(fpr_limit)
    keep = fpr <= lim
    x, y = fpr[keep], pro[keep]
    if x[-1] < lim:
        j = int(np.searchsorted(fpr, lim))
        if j < fpr.size:
            t = (lim - fpr[j - 1]) / max(fpr[j] - fpr[j - 1], 1e-300)
            x = np.r_[x, lim]
            y = np.r_[y, pro[j - 1] + t * (pro[j] - pro[j - 1])]
    area = float(np.sum(0.5 * (x[1:] - x[:-1]) * (y[1:] + y[:-1])))
    return area / lim
