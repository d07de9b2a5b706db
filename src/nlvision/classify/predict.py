"""Batched prediction: class probabilities of arrays, top-k classes of image files, folders and globs.

Inference runs through :func:`nlvision.engine.run_inference`: on the chosen accelerator and
devices, batched, with a progress bar; in a multi-process run rank zero receives every result.

References
----------
Seed 001, section 3-3: the ``Dense(10, softmax)`` output gives the class probabilities.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from nlvision.classify.data import prepare_image
from nlvision.classify.model import to_tensor_images
from nlvision.engine import TrainerConfig, run_inference
from nlvision.imageio import expand_images

__all__ = ["predict_classifier", "predict_proba", "top_k"]


def _images(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) → float (B, 3, H, W) in channels-last memory (the layout fast convolution kernels want)."""
    return to_tensor_images(x).contiguous(memory_format=torch.channels_last)


def _probs_forward(model, x, *rest):
    return {"probs": torch.softmax(model(_images(x)).float(), dim=1)}


class _ChannelsLast:
    """Run a model in channels-last memory format, restoring its parameters' layout afterwards."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.model.to(memory_format=torch.channels_last)
        return self.model

    def __exit__(self, *exc):
        self.model.to(memory_format=torch.contiguous_format)
        return False


def predict_proba(
    model, images: np.ndarray, *, batch_size: int = 256, trainer_config: TrainerConfig | None = None, trainer=None
) -> np.ndarray | None:
    """Class probabilities of ``uint8`` (N, H, W, 3) images, batched, on the configured device.

    Parameters
    ----------
    model : ResNetClassifier
        The classifier (any module mapping (B, 3, H, W) floats in [0, 1] to logits).
    images : np.ndarray
        ``uint8`` RGB images, shape (N, H, W, 3).
    batch_size : int
        Images per batch and device.
    trainer_config : nlvision.engine.TrainerConfig, optional
        Accelerator, devices, precision, progress (default: one CPU process, no progress bar).
    trainer : pytorch_lightning.Trainer, optional
        Run on this trainer's devices instead (the test pass after training).

    Returns
    -------
    np.ndarray or None
        (N, K) probabilities in data order; None on ranks other than zero.

    Raises
    ------
    ValueError
        If ``images`` is not an (N, H, W, 3) ``uint8`` array or ``batch_size`` is not positive.

    Examples
    --------
    >>> from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier
    >>> m = ResNetClassifier(ClassifierModelConfig("resnet18", num_classes=3, width=4, upsample_steps=0))
    >>> p = predict_proba(m, np.zeros((5, 8, 8, 3), np.uint8), batch_size=2)
    >>> p.shape, bool(np.allclose(p.sum(1), 1))
    ((5, 3), True)
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images: expected an (N, H, W, 3) uint8 array, got {images.dtype} {images.shape}")
    n_cls = int(getattr(getattr(model, "config", None), "num_classes", 0))
    if len(images) == 0:
        return np.zeros((0, n_cls), dtype=np.float32)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(np.ascontiguousarray(images)))
    with _ChannelsLast(model):
        out = run_inference(model, ds, config=trainer_config, trainer=trainer, forward=_probs_forward, batch_size=batch_size)
    return None if out is None else out["probs"]


def top_k(probs: np.ndarray, k: int, classes: Sequence[str]) -> list[list[dict[str, Any]]]:
    """The ``k`` most probable classes of each row of ``probs``, with their probabilities.

    Parameters
    ----------
    probs : np.ndarray
        (N, K) probabilities.
    k : int
        Number of classes per row (at most K are returned).
    classes : sequence of str
        The K class names.

    Returns
    -------
    list of list of dict
        Per row, ``{"class", "index", "probability"}`` by decreasing probability (ties: lower index first).

    Raises
    ------
    ValueError
        For a shape that does not match ``classes`` or a non-positive ``k``.

    Examples
    --------
    >>> top_k(np.array([[0.1, 0.7, 0.2]]), 2, ["a", "b", "c"])
    [[{'class': 'b', 'index': 1, 'probability': 0.7}, {'class': 'c', 'index': 2, 'probability': 0.2}]]
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise ValueError(f"probs: expected shape (N, {len(classes)}), got {probs.shape}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k: expected a positive int, got {k!r}")
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[{"class": str(classes[j]), "index": int(j), "probability": float(row[j])} for j in idx] for row, idx in zip(probs, order)]


class _ImageFiles(torch.utils.data.Dataset):
    """Decode and resize image files on demand; an undecodable file gives a blank image and ok=False."""

    def __init__(self, files: Sequence[Path], size: int):
        self.files = list(files)
        self.size = int(size)

    def __len__(self) -> int:
        return len(self.files)

    def load(self, i: int) -> np.ndarray:
        from nlvision.imageio import load_image

        fast = self._load_fast(self.files[i])
        return fast if fast is not None else prepare_image(load_image(self.files[i]), self.size)

    def _load_fast(self, path: Path) -> np.ndarray | None:
        """8-bit RGB/gray files already at the model's size: Pillow straight to uint8 (the general path,
        float conversion and resize, gives the same array); anything else takes the general path."""
        from PIL import Image

        try:
            with Image.open(path) as im:  # reads the header only
                if im.size != (self.size, self.size) or im.mode not in ("RGB", "L"):
                    return None
                if im.format == "PNG":  # lossless: OpenCV's decoder gives Pillow's pixels, about 5x faster
                    import cv2

                    a = cv2.imread(str(path), cv2.IMREAD_COLOR)
                    if a is not None and a.shape == (self.size, self.size, 3) and a.dtype == np.uint8:
                        return np.ascontiguousarray(a[..., ::-1])
                return np.array(im.convert("RGB"), dtype=np.uint8)
        except Exception:  # the general path reports the error
            return None

    def __getitem__(self, i: int):
        try:
            return torch.from_numpy(self.load(i)), torch.tensor(True)
        except (ValueError, TypeError, OSError, MemoryError):
            return torch.zeros((self.size, self.size, 3), dtype=torch.uint8), torch.tensor(False)


def _files_forward(model, x, ok):
    return {"probs": torch.softmax(model(_images(x)).float(), dim=1), "ok": ok}


def predict_classifier(
    model,
    inputs: Sequence[str | os.PathLike],
    *,
    k: int = 5,
    batch_size: int = 256,
    trainer_config: TrainerConfig | None = None,
    num_workers: int = 0,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]] | None:
    """Top-k classes of image files, folders and globs, batched on the configured device.

    Each image is loaded (gray, RGB or RGBA; any size), resized to the model's input size
    (bilinear, anti-aliased, :func:`nlvision.classify.data.prepare_image`) and classified. A file
    that fails to decode is reported in ``failed`` and the others are still classified.

    Parameters
    ----------
    model : ResNetClassifier
        The classifier (see :func:`nlvision.classify.load_classifier_model`).
    inputs : sequence of path-like
        Files, folders and glob patterns (:func:`nlvision.imageio.expand_images`).
    k : int
        Classes reported per image.
    batch_size : int
        Images per batch and device.
    trainer_config : nlvision.engine.TrainerConfig, optional
        Accelerator, devices, precision and progress (default: one CPU process).
    num_workers : int
        DataLoader worker processes decoding images.

    Returns
    -------
    (predictions, failed) or None
        ``predictions``: ``{"image": path, "top_k": [...]}`` per decoded image (see :func:`top_k`);
        ``failed``: ``{"image": path, "error": message}``. None on ranks other than zero.

    Raises
    ------
    ValueError
        For inputs that match no file, or bad ``k``/``batch_size``.

    References
    ----------
    Seed 001, section 3-3 (softmax output of the classifier).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (12, 10), (200, 30, 30)).save(d / "red.png")
    >>> m = ResNetClassifier(ClassifierModelConfig("resnet18", num_classes=3, width=4, upsample_steps=0))
    >>> preds, failed = predict_classifier(m, [d], k=2)
    >>> len(preds), len(preds[0]["top_k"]), failed
    (1, 2, [])
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"--top-k: expected a positive int, got {k!r}")
    files = expand_images(inputs)
    ds = _ImageFiles(files, model.config.image_size)
    with _ChannelsLast(model):
        out = run_inference(model, ds, config=trainer_config, forward=_files_forward, batch_size=batch_size,
                            num_workers=num_workers)
    if out is None:
        return None
    ok = out["ok"].astype(bool)
    tops = top_k(out["probs"][ok], k, model.config.classes) if ok.any() else []
    good = [f for f, o in zip(files, ok) if o]
    predictions = [{"image": str(f), "top_k": t} for f, t in zip(good, tops)]
    failed = []
    for f, o, i in zip(files, ok, range(len(files))):
        if not o:
            try:
                ds.load(i)
                message = "failed to decode"
            except Exception as exc:  # the message of the original failure
                message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            failed.append({"image": str(f), "error": message})
    return predictions, failed
