"""Evaluation of a detector on labelled test images, and on MVTec AD categories.

Reports, per defect type and overall (each defect type is evaluated together with all normal
test images, as in Bergmann et al. 2021): image AUROC, pixel AUROC, AUPRO to FPR 0.3, the pixel
FPR obtained at the target (on every normal pixel of the test set), the image-level FPR obtained on
the normal test images, and the fraction of defective images detected.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from nlvision.restoration.anomaly.calibration import check_fpr
from nlvision.restoration.anomaly.metrics import aupro, fpr_at_threshold, image_auroc, pixel_auroc
from nlvision.restoration.anomaly.readers import MVTecCategory

__all__ = ["evaluate_predictions", "evaluate_mvtec"]


def _group_metrics(preds, tests, idx, fpr_limit):
    maps = [preds[i].anomaly_map for i in idx]
    masks = [tests[i].mask for i in idx]
    labels = [int(bool(tests[i].mask.any()) or any(k != "good" for k in tests[i].kinds)) for i in idx]
    scores = [preds[i].image_score for i in idx]
    out = {"n_images": len(idx), "n_anomalous": int(sum(labels))}
    has_both = 0 < sum(labels) < len(labels)
    out["image_auroc"] = image_auroc(scores, labels) if has_both else None
    pix = np.concatenate([m.ravel() for m in masks])
    out["pixel_auroc"] = pixel_auroc(maps, masks) if 0 < pix.sum() < pix.size else None
    out["aupro"] = aupro(maps, masks, fpr_limit) if pix.any() and not pix.all() else None
    gamma = preds[idx[0]].pixel_threshold
    out["pixel_fpr"] = fpr_at_threshold(maps, masks, gamma) if not pix.all() else None
    normal = [preds[i].anomalous for i, lab in zip(idx, labels) if not lab]
    bad = [preds[i].anomalous for i, lab in zip(idx, labels) if lab]
    out["image_fpr"] = float(np.mean(normal)) if normal else None
    out["image_tpr"] = float(np.mean(bad)) if bad else None
    return out


def evaluate_predictions(preds: Sequence, tests: Sequence, *, fpr_limit: float = 0.3) -> dict:
    """Metrics of predictions against labelled test images, overall and per defect type.

    Parameters
    ----------
    preds : sequence of AnomalyPrediction
        One per test image (same order), all made at the same target FPRs.
    tests : sequence of AnomalyImage
        Test images with masks; ``kinds[0]`` names the defect type (``"good"`` for normal
        images, which may also simply have an empty mask and no kinds).
    fpr_limit : float, default 0.3
        Integration limit of AUPRO.

    Returns
    -------
    dict
        ``overall`` and ``per_defect`` (defect -> the same keys): ``image_auroc``,
        ``pixel_auroc``, ``aupro``, ``pixel_fpr``, ``image_fpr``, ``image_tpr``, counts;
        ``None`` where a metric is undefined (e.g. no normal image).

    Raises
    ------
    ValueError
        Different numbers of predictions and test images, or none.

    References
    ----------
    P. Bergmann et al., "The MVTec Anomaly Detection Dataset", IJCV 129(4), 2021 (per-category
    and per-defect evaluation, AUPRO to FPR 0.3).

    Examples
    --------
    >>> from nlvision.datasets.textures import AnomalyImage
    >>> from nlvision.restoration.anomaly.calibration import AnomalyPrediction
    >>> m1 = np.zeros((8, 8), bool); m1[2:4, 2:4] = True
    >>> tests = [AnomalyImage(np.zeros((8, 8)), m1, kinds=["hole"]),
    ...          AnomalyImage(np.zeros((8, 8)), np.zeros((8, 8), bool), kinds=["good"])]
    >>> preds = [AnomalyPrediction(m1 * 3.0, m1, 3.0, True, 2.0, 2.5),
    ...          AnomalyPrediction(np.zeros((8, 8)), np.zeros((8, 8), bool), 0.0, False, 2.0, 2.5)]
    >>> r = evaluate_predictions(preds, tests)
    >>> r["overall"]["pixel_auroc"], r["overall"]["aupro"], r["per_defect"]["hole"]["image_fpr"]
    (1.0, 1.0, 0.0)
    """
    if len(preds) != len(tests) or not len(tests):
        raise ValueError(f"preds and tests: need one prediction per test image, got {len(preds)} and {len(tests)}")
    check_fpr(fpr_limit if fpr_limit < 1 else 0.5, "fpr_limit")
    kinds = [(t.kinds[0] if t.kinds else ("defect" if t.mask.any() else "good")) for t in tests]
    everything = list(range(len(tests)))
    out = {"overall": _group_metrics(preds, tests, everything, fpr_limit), "per_defect": {}}
    good = [i for i, k in enumerate(kinds) if k == "good"]
    for d in sorted({k for k in kinds if k != "good"}):
        idx = good + [i for i, k in enumerate(kinds) if k == d]
        out["per_defect"][d] = _group_metrics(preds, tests, idx, fpr_limit)
    return out


def evaluate_mvtec(
    categories: Sequence[MVTecCategory],
    make_model: Callable[[], object],
    *,
    fpr: float = 0.01,
    image_fpr: float = 0.05,
    size: int | None = 256,
    val_fraction: float = 0.2,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Fit a fresh model per MVTec category on ``train/good`` and evaluate it on ``test/``.

    Parameters
    ----------
    categories : sequence of MVTecCategory
        From :func:`~nlvision.restoration.anomaly.readers.scan_mvtec`.
    make_model : callable
        Returns an unfitted detector with ``fit(train, val_images=...)`` (or a baseline's
        ``fit(train, val)``) and ``predict(image, fpr, image_fpr)``.
    fpr, image_fpr : float
        Target pixel and image FPRs.
    size : int or None, default 256
        Longer side of the images after resizing (``None``: native size).
    val_fraction : float, default 0.2
        Fraction of ``train/good`` (the last images in name order) kept for calibration.
    progress : callable(str), optional
        Receives one line per category.

    Returns
    -------
    dict
        ``categories``: name -> :func:`evaluate_predictions` result (plus ``n_train``,
        ``n_val``), and ``mean`` of the overall metrics over the categories.

    Raises
    ------
    ValueError
        Bad targets or a category with fewer than two training images.

    References
    ----------
    P. Bergmann et al., IJCV 129(4), 2021.

    Examples
    --------
    >>> evaluate_mvtec([], lambda: None)["mean"]
    {}
    """
    check_fpr(fpr)
    check_fpr(image_fpr, "image_fpr")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    res = {"categories": {}, "mean": {}}
    for cat in categories:
        if len(cat.train) < 2:
            raise ValueError(f"{cat.root}: need at least two train/good images (training and validation)")
        imgs = cat.load_train(size)
        n_val = min(max(1, int(round(val_fraction * len(imgs)))), len(imgs) - 1)
        train, val = imgs[:-n_val], imgs[-n_val:]
        model = make_model()
        model.fit(train, val_images=val)
        tests = cat.load_test(size)
        preds = [model.predict(t.image, fpr, image_fpr) for t in tests]
        r = evaluate_predictions(preds, tests)
        r["n_train"], r["n_val"] = len(train), len(val)
        res["categories"][cat.name] = r
        if progress is not None:
            o = r["overall"]
            progress(f"{cat.name}: image AUROC {o['image_auroc']}, pixel AUROC {o['pixel_auroc']}, AUPRO {o['aupro']}")
    keys = ("image_auroc", "pixel_auroc", "aupro", "pixel_fpr", "image_fpr")
    for k in keys:
        vals = [r["overall"][k] for r in res["categories"].values() if r["overall"][k] is not None]
        if vals:
            res["mean"][k] = float(np.mean(vals))
    return res
