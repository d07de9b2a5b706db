"""``nlvision classify train|evaluate|predict|export``: ResNet image classification (seed 001)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import (
    ACCELERATOR, BATCH_SIZE_EVAL, DEVICES, JSON, LIMIT_BATCHES, NUM_NODES, PRECISION, PROGRESS, RESUME, SEED, STRATEGY, WEIGHTS,
    check_training_inputs, emit, trainer_config,
)


def _run_data_spec(checkpoint: Path) -> str | None:
    """The ``--data`` a run was trained on, from the run folder's config.json."""
    folder = checkpoint if checkpoint.is_dir() else checkpoint.parent
    cfg = folder / "config.json"
    if not cfg.is_file():
        return None
    try:
        spec = json.loads(cfg.read_text()).get("run", {}).get("data")
    except (ValueError, OSError, AttributeError):
        return None
    return spec if isinstance(spec, str) else None


def train(
    data: str = typer.Option("digits", "--data", help="digits | cifar10:PATH | folder:PATH"),
    backbone: str = typer.Option("resnet50", "--backbone", help="resnet18 | resnet34 | resnet50 | resnet101 | resnet152"),
    weights: Optional[Path] = WEIGHTS,
    freeze_backbone: bool = typer.Option(True, "--freeze-backbone/--finetune", help="Train only the head (seed) or everything."),
    epochs: int = typer.Option(10, "--epochs", min=1),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Training batch size per process."),
    lr: float = typer.Option(0.01, "--lr"),
    momentum: float = typer.Option(0.0, "--momentum", help="SGD momentum (Keras default 0)."),
    weight_decay: float = typer.Option(0.0, "--weight-decay"),
    cosine: bool = typer.Option(False, "--cosine/--constant-lr", help="Cosine learning-rate decay."),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Random flip/saturation/contrast/brightness."),
    flip: bool = typer.Option(True, "--flip/--no-flip", help="Random horizontal flip (off for digits)."),
    image_size: int = typer.Option(32, "--image-size", min=8, help="Input side before upsampling (digits, folder)."),
    upsample_steps: int = typer.Option(3, "--upsample-steps", min=0, max=5, help="x2 nearest upsamplings (seed: 3, 32->256)."),
    width: int = typer.Option(64, "--width", min=1, help="Backbone stem width (64 = standard ResNet)."),
    devices: str = DEVICES,
    accelerator: str = ACCELERATOR,
    strategy: str = STRATEGY,
    num_nodes: int = NUM_NODES,
    precision: str = PRECISION,
    limit_batches: float = LIMIT_BATCHES,
    seed: int = SEED,
    resume: bool = RESUME,
    progress: bool = PROGRESS,
    out: Path = typer.Option(Path("runs/classify"), "--out", "-o", help="Run folder."),
    as_json: bool = JSON,
) -> int:
    """Train a ResNet classifier (seed 001 protocol by default) and evaluate it on the test split."""
    from nlvision.classify import ClassifierModelConfig, ClassifierTrainConfig, load_data, train_classifier
    from nlvision.classify.data import AugmentConfig
    from nlvision.engine import is_rank_zero, run_dir_checkpoint

    check_training_inputs("classify train", out)
    trainer = trainer_config(epochs=epochs, devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes,
                             precision=precision, seed=seed, progress=progress, limit_batches=limit_batches)
    mc = ClassifierModelConfig(backbone=backbone, image_size=image_size, upsample_steps=upsample_steps, width=width,
                               freeze_backbone=freeze_backbone)
    tc = ClassifierTrainConfig(lr=lr, momentum=momentum, weight_decay=weight_decay, batch_size=batch_size, augment=augment,
                               augment_config=AugmentConfig(flip=flip), cosine=cosine)
    if weights is not None and not weights.is_file():
        raise ValueError(f"--weights: no such file {weights}")
    if resume and not run_dir_checkpoint(out).is_file():
        raise ValueError(f"--resume: no checkpoint at {run_dir_checkpoint(out)}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    dataset = load_data(data, image_size=image_size, seed=0)  # bad data fails here, before any output
    if freeze_backbone and weights is None and not resume and is_rank_zero():
        typer.echo("warning: the backbone is frozen at its random initialisation; pass --weights PATH "
                   "(e.g. ImageNet weights) or --finetune (docs/classify.md has a CPU recipe for digits from scratch)", err=True)
    result = train_classifier(dataset, out, model_config=mc, train_config=tc, trainer_config=trainer, weights=weights, resume=resume)
    if result is None:  # another process of a multi-process run: rank zero reports
        return 0
    summary = {k: result[k] for k in ("accuracy", "per_class_accuracy", "n", "train_seconds", "epochs", "backbone", "data",
                                      "trainable_parameters", "devices", "out")}
    text = (f"test accuracy {result['accuracy']:.4f} on {result['n']} images ({result['data']}, {result['backbone']}, "
            f"{result['epochs']} epochs, {result['train_seconds']:.0f} s)\nper class: "
            + ", ".join(f"{k} {v:.3f}" for k, v in result["per_class_accuracy"].items())
            + f"\nrun folder: {out} (model.safetensors, checkpoints/last.ckpt, confusion.png, metrics.json, logs/)")
    emit(summary, as_json, text)
    return 0


def evaluate(
    checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `classify train`."),
    data: Optional[str] = typer.Option(None, "--data", help="digits | cifar10:PATH | folder:PATH (default: the run's data)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for metrics.json and confusion.png (default: RUN/eval)."),
    batch_size: int = BATCH_SIZE_EVAL,
    devices: str = DEVICES,
    accelerator: str = ACCELERATOR,
    strategy: str = STRATEGY,
    num_nodes: int = NUM_NODES,
    precision: str = PRECISION,
    limit_batches: float = LIMIT_BATCHES,
    seed: int = SEED,
    progress: bool = PROGRESS,
    as_json: bool = JSON,
) -> int:
    """Accuracy, per-class accuracy and the row-normalised confusion matrix on a test split (batched, on the device)."""
    import numpy as np

    from nlvision.atomic import write_json_atomic
    from nlvision.classify import evaluate_classifier, load_classifier_model, load_data, plot_confusion
    from nlvision.engine import require_lightning

    require_lightning("classify evaluate")
    trainer = trainer_config(devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes,
                             precision=precision, seed=seed, progress=progress, limit_batches=limit_batches)
    model = load_classifier_model(checkpoint)
    spec = data or _run_data_spec(checkpoint)
    if spec is None:
        raise ValueError(f"--data: {checkpoint} has no run config.json naming its data; pass --data")
    folder = out or ((checkpoint if checkpoint.is_dir() else checkpoint.parent) / "eval")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out: {folder} exists and is not a folder")
    ds = load_data(spec, image_size=model.config.image_size)
    if ds.image_size != (model.config.image_size,) * 2:
        raise ValueError(f"--data: images are {ds.image_size}, the model expects {model.config.image_size}x{model.config.image_size}")
    if ds.num_classes != model.config.num_classes:
        raise ValueError(f"--data: {spec} has {ds.num_classes} classes, the model {model.config.num_classes}")
    x, y = ds.x_test, ds.y_test
    if trainer.limit_train_batches != 1.0:  # quick checks: the first batches only
        lim = trainer.limit_train_batches
        n = int(lim * batch_size) if isinstance(lim, int) else int(round(lim * len(y)))
        x, y = x[:max(1, n)], y[:max(1, n)]
    result = evaluate_classifier(model, x, y, classes=model.config.classes, batch_size=batch_size, trainer_config=trainer)
    if result is None:
        return 0
    plot_confusion(result["confusion"], model.config.classes, folder / "confusion.png", title=f"{model.config.backbone} on {ds.name}")
    record = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
    record.update({"checkpoint": str(checkpoint), "data": ds.name, "devices": trainer.resolve()})
    write_json_atomic(folder / "metrics.json", record)
    text = (f"accuracy {result['accuracy']:.4f} on {result['n']} test images of {ds.name}\nper class: "
            + ", ".join(f"{k} {v:.3f}" for k, v in result["per_class_accuracy"].items())
            + f"\nconfusion matrix: {folder / 'confusion.png'}")
    emit(record, as_json, text)
    return 0


def predict(
    checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `classify train`."),
    images: list[str] = typer.Argument(..., help="Image files, folders and glob patterns ('shots/*.png')."),
    k: int = typer.Option(5, "--top-k", "-k", min=1, help="Number of classes to report."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the predictions to this JSON file."),
    batch_size: int = BATCH_SIZE_EVAL,
    workers: int = typer.Option(0, "--workers", min=0, help="DataLoader processes decoding images."),
    devices: str = DEVICES,
    accelerator: str = ACCELERATOR,
    strategy: str = STRATEGY,
    num_nodes: int = NUM_NODES,
    precision: str = PRECISION,
    limit_batches: float = LIMIT_BATCHES,
    seed: int = SEED,
    progress: bool = PROGRESS,
    as_json: bool = JSON,
) -> int:
    """Top-k classes with probabilities for each image, batched on the device (bad images are reported and skipped)."""
    from nlvision.atomic import write_json_atomic
    from nlvision.classify import load_classifier_model, predict_classifier
    from nlvision.engine import require_lightning
    from nlvision.imageio import expand_images

    require_lightning("classify predict")
    trainer = trainer_config(devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes,
                             precision=precision, seed=seed, progress=progress, limit_batches=limit_batches)
    model = load_classifier_model(checkpoint)
    files = expand_images(images)
    if out is not None:
        if out.is_dir() or not out.parent.is_dir():
            raise ValueError(f"--out: expected a file in an existing folder, got {out}")
        if any(out.resolve() == f.resolve() for f in files):
            raise ValueError(f"--out: {out} is one of the input images")
    res = predict_classifier(model, [str(f) for f in files], k=k, batch_size=batch_size, trainer_config=trainer, num_workers=workers)
    if res is None:
        return 0
    records, failed = res
    for f in failed:
        print(f"error: {f['image']}: {f['error']}", file=sys.stderr)
    doc = {"predictions": records, "failed": failed}
    if out is not None:
        write_json_atomic(out, doc)
    text = "\n".join(f"{r['image']}: " + ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top_k"]) for r in records)
    emit(doc, as_json, text)
    if failed:
        print(f"{len(failed)} of {len(files)} image(s) failed", file=sys.stderr)
        return 1
    return 0


def export(
    checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `classify train`."),
    out: Path = typer.Option(..., "--out", "-o", help="model.onnx (ONNX; needs onnx + onnxruntime, the export extra) or model.pt2 (torch.export)."),
    atol: float = typer.Option(1e-4, "--atol", help="Largest allowed difference from the checkpoint's logits."),
    as_json: bool = JSON,
) -> int:
    """Export a checkpoint to ONNX or torch.export, verified against the checkpoint's outputs."""
    from nlvision.classify import export_classifier

    r = export_classifier(checkpoint, out, atol=atol)
    emit(r, as_json, f"{r['format']} model written to {r['path']} (input (B, 3, {r['input_shape'][2]}, {r['input_shape'][3]}) RGB "
                     f"in [0, 1]; max |difference| to the checkpoint {r['max_abs_diff']:.2e} on batches {r['batch_sizes']})")
    return 0


def register(app: typer.Typer) -> None:
    """Add ``classify train|evaluate|predict|export`` to the app."""
    sub = typer.Typer(help="ResNet image classification (CIFAR-10, ImageFolder, digits).", no_args_is_help=True)
    app.add_typer(sub, name="classify")
    sub.command("train")(train)
    sub.command("evaluate")(evaluate)
    sub.command("predict")(predict)
    sub.command("export")(export)
