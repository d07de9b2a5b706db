"""Export a trained classifier to ONNX or ``torch.export`` (``.pt2``), verified against the checkpoint."""

from __future__ import annotations

import os
from typing import Any

import torch

from nlvision.classify.model import load_classifier_model
from nlvision.engine import export_model

__all__ = ["export_classifier"]


def export_classifier(checkpoint: str | os.PathLike, out: str | os.PathLike, *, atol: float = 1e-4) -> dict[str, Any]:
    """Export a classify checkpoint to ``.onnx`` (ONNX Runtime-ready) or ``.pt2`` (``torch.export``).

    The exported graph takes (B, 3, H, W) float RGB images in [0, 1] (H = W = the model's
    ``image_size``; the seed's upsampling and ImageNet normalisation are inside the graph) and
    returns logits; the batch size is dynamic. Outputs are checked against the checkpoint's model
    on two batches within ``atol`` before the file is (atomically) written.

    Parameters
    ----------
    checkpoint : path-like
        Run folder or ``model.safetensors`` written by ``classify train``.
    out : path-like
        ``*.onnx`` or ``*.pt2`` in an existing folder.
    atol : float
        Largest allowed absolute difference of the logits.

    Returns
    -------
    dict
        ``path``, ``format``, ``max_abs_diff``, ``batch_sizes``, ``input_shape``, ``classes``.

    Raises
    ------
    ValueError
        For a checkpoint of another task, a missing output folder, another suffix, an output
        path equal to the checkpoint, or outputs that differ.
    nlvision.engine.MissingExtraError
        For ONNX without onnx/onnxruntime (the ``[export]`` extra).

    Examples
    --------
    Exporting takes seconds (tested in ``tests/classify``), so it is skipped here:

    >>> import tempfile, pathlib
    >>> from nlvision.classify.model import TASK, ClassifierModelConfig, ResNetClassifier
    >>> from nlvision.nn.weights import save_checkpoint
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> cfg = ClassifierModelConfig("resnet18", num_classes=2, width=4, upsample_steps=0, image_size=16)
    >>> _ = save_checkpoint(d / "model.safetensors", ResNetClassifier(cfg), task=TASK, config=cfg.to_dict())
    >>> r = export_classifier(d, d / "model.onnx")  # doctest: +SKIP
    >>> r["format"], r["input_shape"], r["max_abs_diff"] <= 1e-4  # doctest: +SKIP
    ('onnx', [None, 3, 16, 16], True)
    """
    from pathlib import Path

    src = Path(checkpoint)
    dst = Path(out)
    src_file = src / "model.safetensors" if src.is_dir() else src
    if dst.exists() and src_file.exists() and dst.resolve() == src_file.resolve():
        raise ValueError(f"-o/--out: {dst} is the checkpoint itself")
    model = load_classifier_model(checkpoint)
    size = model.config.image_size
    example = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    result = export_model(model, example, dst, atol=atol)
    result.update({"input_shape": [None, 3, size, size], "classes": list(model.config.classes), "checkpoint": str(src_file)})
    return result
