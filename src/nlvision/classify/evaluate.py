"""Evaluation of a classifier: accuracy, per-class accuracy, row-normalised confusion matrix, top-k.

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
import torch

__all__ = [
    "confusion_matrix",
    "evaluate_model",
    "load_classifier",
    "plot_confusion",
    "predict_images",
    "predict_proba",
    "top_k",
]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, *, normalize: bool = True) -> np.ndarray:
    """Confusion matrix ``C[i, j]`` = (fraction of) images of true class i predicted as j.

    Parameters
    ----------
    y_true, y_pred : array of int
        True and predicted class indices, same length.
    num_classes : int
        Size of the matrix.
    normalize : bool
        Divide each row by its count (rows of absent classes stay zero).

    Raises
    ------
    ValueError
        For different lengths or labels outside ``[0, num_classes)``.

    Examples
    --------
    >>> confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    y_true = np.asarray(y_true).astype(np.int64, copy=False).ravel()
    y_pred = np.asarray(y_pred).astype(np.int64, copy=False).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_pred: expected {y_true.shape[0]} predictions (as y_true), got {y_pred.shape[0]}")
    for name, v in (("y_true", y_true), ("y_pred", y_pred)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"{name}: labels must lie in [0, {num_classes}), got range [{v.min()}, {v.max()}]")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    if not normalize:
        return counts
    rows = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, rows, out=np.zeros(counts.shape, dtype=np.float64), where=rows > 0)


@torch.no_grad()
def predict_proba(model, images: np.ndarray, *, batch_size: int = 256, device: str | torch.device | None = None) -> np.ndarray:
    """Class probabilities of ``uint8`` (N, H, W, 3) images, batch by batch.

    Raises
    ------
    ValueError
        If ``images`` is not an (N, H, W, 3) ``uint8`` array.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images: expected an (N, H, W, 3) uint8 array, got {images.dtype} {images.shape}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(dev).eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(images[i:i + batch_size]).to(dev).permute(0, 3, 1, 2).float().div_(255.0)
        out.append(torch.softmax(model(x).float(), dim=1).cpu().numpy())
    n_cls = model.config.num_classes if hasattr(model, "config") else 0
    return np.concatenate(out) if out else np.zeros((0, n_cls), dtype=np.float32)


def evaluate_model(model, images: np.ndarray, labels: np.ndarray, *, classes: Sequence[str], batch_size: int = 256) -> dict[str, Any]:
    """Accuracy, per-class accuracy and the row-normalised confusion matrix on a test set.

    Returns
    -------
    dict
        ``accuracy`` (float), ``per_class_accuracy`` (dict name → float), ``confusion``
        ((K, K) row-normalised array), ``counts`` ((K, K) int array), ``n`` (int).
    """
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected {len(images)} labels (one per image), got shape {labels.shape}")
    probs = predict_proba(model, images, batch_size=batch_size)
    pred = probs.argmax(1)
    k = len(classes)
    counts = confusion_matrix(labels, pred, k, normalize=False)
    cm = confusion_matrix(labels, pred, k)
    return {
        "accuracy": float((pred == labels).mean()) if len(labels) else float("nan"),
        "per_class_accuracy": {str(c): float(cm[i, i]) for i, c in enumerate(classes)},
        "confusion": cm,
        "counts": counts,
        "n": int(len(labels)),
    }


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: str | os.PathLike, *, title: str = "") -> Path:
    """Save the row-normalised confusion matrix with class names as a PNG (seed figure 3-3).

    Raises
    ------
    ValueError
        If ``cm`` is not (K, K) with K = len(classes).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlvision.atomic import atomic_path

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
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return p


def top_k(probs: np.ndarray, k: int, classes: Sequence[str]) -> list[list[dict[str, Any]]]:
    """The ``k`` most probable classes of each row of ``probs``, with their probabilities.

    Examples
    --------
    >>> top_k(np.array([[0.1, 0.7, 0.2]]), 2, ["a", "b", "c"])
    [[{'class': 'b', 'index': 1, 'probability': 0.7}, {'class': 'c', 'index': 2, 'probability': 0.2}]]
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise ValueError(f"probs: expected shape (N, {len(classes)}), got {probs.shape}")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k: expected a positive int, got {k!r}")
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[{"class": str(classes[j]), "index": int(j), "probability": float(row[j])} for j in idx] for row, idx in zip(probs, order)]


def load_classifier(path: str | os.PathLike):
    """Rebuild a trained :class:`~nlvision.classify.model.ResNetClassifier` from a checkpoint.

    ``path`` is a run folder (its ``model.safetensors`` is used) or a ``.safetensors`` file
    written by ``classify train``.

    Raises
    ------
    ValueError
        For a missing file, a checkpoint of another task, or weights that do not match the
        architecture recorded in the checkpoint (missing/unexpected keys listed).
    """
    from nlvision.classify.model import ClassifierConfig, ResNetClassifier
    from nlvision.classify.train import TASK
    from nlvision.nn.weights import load_checkpoint, load_weights

    p = Path(path)
    if p.is_dir():
        p = p / "model.safetensors"
    state, cfg = load_checkpoint(p, task=TASK)
    try:
        config = ClassifierConfig.from_dict(cfg)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{p}: bad classifier configuration: {exc}") from None
    model = ResNetClassifier(config)
    try:
        load_weights(model, state, strict=True)
    except ValueError as exc:
        raise ValueError(f"{p}: checkpoint does not match architecture {config.backbone}: {exc}") from None
    return model.eval()


def predict_images(model, paths: Sequence[str | os.PathLike], *, k: int = 5) -> list[dict[str, Any]]:
    """Load images, resize them to the model's input size and return their top-k classes.

    Raises
    ------
    ValueError
        Naming the first image that fails to decode.
    """
    from nlvision.classify.data import prepare_image
    from nlvision.imageio import load_image

    size = model.config.image_size
    batch = np.stack([prepare_image(load_image(p), size) for p in paths])
    probs = predict_proba(model, batch)
    return [{"image": str(p), "top_k": t} for p, t in zip(paths, top_k(probs, k, model.config.classes))]
