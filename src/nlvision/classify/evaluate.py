"""Evaluation of a classifier: accuracy, per-class accuracy, row-normalised confusion matrix.

References
----------
Seed 001, section 3-4 and figure 3-3: test accuracy and the row-normalised confusion matrix
(each row, a true class, sums to 1; the diagonal is the per-class accuracy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nlvision.classify.predict import predict_proba
from nlvision.engine import TrainerConfig

__all__ = ["classification_metrics", "confusion_matrix", "evaluate_classifier", "plot_confusion"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, *, normalize: bool = True) -> np.ndarray:
    """Confusion matrix ``C[i, j]`` = (fraction of) images of true class i predicted as j.

    Computed by :func:`sklearn.metrics.confusion_matrix`; rows of classes absent from
    ``y_true`` stay zero when normalised (scikit-learn would divide by zero).

    Parameters
    ----------
    y_true, y_pred : array of int
        True and predicted class indices, same length.
    num_classes : int
        Size of the matrix.
    normalize : bool
        Divide each row by its count.

    Returns
    -------
    np.ndarray
        (num_classes, num_classes): float rows summing to 1 (``normalize``) or int counts.

    Raises
    ------
    ValueError
        For different lengths or labels outside ``[0, num_classes)``.

    References
    ----------
    Seed 001, figure 3-3.

    Examples
    --------
    >>> confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    from sklearn.metrics import confusion_matrix as _sk_confusion

    y_true = np.asarray(y_true).astype(np.int64, copy=False).ravel()
    y_pred = np.asarray(y_pred).astype(np.int64, copy=False).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_pred: expected {y_true.shape[0]} predictions (as y_true), got {y_pred.shape[0]}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes: expected a positive int, got {num_classes!r}")
    for name, v in (("y_true", y_true), ("y_pred", y_pred)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"{name}: labels must lie in [0, {num_classes}), got range [{v.min()}, {v.max()}]")
    if y_true.size == 0:
        counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    else:
        counts = _sk_confusion(y_true, y_pred, labels=np.arange(num_classes)).astype(np.int64)
    if not normalize:
        return counts
    rows = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, rows, out=np.zeros(counts.shape, dtype=np.float64), where=rows > 0)


def classification_metrics(probs: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class accuracy and confusion matrices from predicted probabilities.

    Parameters
    ----------
    probs : np.ndarray
        (N, K) probabilities or scores.
    labels : np.ndarray
        (N,) true class indices.
    classes : sequence of str
        The K class names.

    Returns
    -------
    dict
        ``accuracy`` (float), ``per_class_accuracy`` (name → float), ``confusion`` ((K, K)
        row-normalised), ``counts`` ((K, K) int), ``n`` (int).

    Raises
    ------
    ValueError
        For mismatching shapes.

    Examples
    --------
    >>> r = classification_metrics(np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([0, 1]), ["a", "b"])
    >>> r["accuracy"], r["per_class_accuracy"]
    (0.5, {'a': 1.0, 'b': 0.0})
    """
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    k = len(classes)
    if probs.ndim != 2 or probs.shape[1] != k:
        raise ValueError(f"probs: expected shape (N, {k}), got {probs.shape}")
    if labels.shape != (probs.shape[0],):
        raise ValueError(f"labels: expected {probs.shape[0]} labels (one per image), got shape {labels.shape}")
    pred = probs.argmax(1)
    counts = confusion_matrix(labels, pred, k, normalize=False)
    cm = confusion_matrix(labels, pred, k)
    return {
        "accuracy": float((pred == labels).mean()) if len(labels) else float("nan"),
        "per_class_accuracy": {str(c): float(cm[i, i]) for i, c in enumerate(classes)},
        "confusion": cm,
        "counts": counts,
        "n": int(len(labels)),
    }


def evaluate_classifier(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    classes: Sequence[str] | None = None,
    batch_size: int = 256,
    trainer_config: TrainerConfig | None = None,
    trainer=None,
) -> dict[str, Any] | None:
    """Accuracy, per-class accuracy and the row-normalised confusion matrix on a test set.

    Inference runs batched on the configured accelerator and devices
    (:func:`nlvision.engine.run_inference`).

    Parameters
    ----------
    model : ResNetClassifier
        The classifier.
    images : np.ndarray
        ``uint8`` (N, H, W, 3) test images.
    labels : np.ndarray
        (N,) true class indices.
    classes : sequence of str, optional
        Class names (default: ``model.config.classes``).
    batch_size : int
        Images per batch and device.
    trainer_config : nlvision.engine.TrainerConfig, optional
        Accelerator, devices, precision, progress (default: one CPU process).
    trainer : pytorch_lightning.Trainer, optional
        Evaluate on this trainer's devices (the test pass after training).

    Returns
    -------
    dict or None
        See :func:`classification_metrics`; None on ranks other than zero.

    Raises
    ------
    ValueError
        For images that are not (N, H, W, 3) ``uint8`` or a label count that differs.

    References
    ----------
    Seed 001, section 3-4 (test accuracy) and figure 3-3 (confusion matrix).

    Examples
    --------
    >>> from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier
    >>> m = ResNetClassifier(ClassifierModelConfig("resnet18", num_classes=2, width=4, upsample_steps=0))
    >>> r = evaluate_classifier(m, np.zeros((4, 8, 8, 3), np.uint8), np.array([0, 1, 0, 1]))
    >>> r["n"], r["confusion"].shape
    (4, (2, 2))
    """
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected {len(images)} labels (one per image), got shape {labels.shape}")
    probs = predict_proba(model, images, batch_size=batch_size, trainer_config=trainer_config, trainer=trainer)
    if probs is None:
        return None
    return classification_metrics(probs, labels, list(classes) if classes is not None else model.config.classes)


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: str | os.PathLike, *, title: str = "") -> Path:
    """Save the row-normalised confusion matrix with class names as a PNG (seed figure 3-3).

    Parameters
    ----------
    cm : np.ndarray
        (K, K) row-normalised confusion matrix.
    classes : sequence of str
        The K class names.
    path : path-like
        PNG file (written atomically; its folder is created).
    title : str
        Figure title.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If ``cm`` is not (K, K) with K = len(classes).

    References
    ----------
    Seed 001, figure 3-3.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> plot_confusion(np.eye(2), ["a", "b"], pathlib.Path(tempfile.mkdtemp()) / "cm.png").name
    'cm.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlvision.atomic import savefig_atomic

    cm = np.asarray(cm, dtype=float)
    k = len(classes)
    if cm.shape != (k, k):
        raise ValueError(f"cm: expected shape ({k}, {k}) for {k} classes, got {cm.shape}")
    size = max(4.0, 0.55 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), labels=list(classes), rotation=45, ha="right")
    ax.set_yticks(range(k), labels=list(classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{cm[i, j]:.2f}", ha="center", va="center", fontsize=7, color="white" if cm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    p = Path(path)
    savefig_atomic(fig, p, dpi=110, format="png")
    plt.close(fig)
    return p
