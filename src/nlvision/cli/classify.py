"""``nlvision classify train|evaluate|predict``: ResNet image classification (seed 001)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import ACCELERATOR, DEVICES, LIMIT_BATCHES, NUM_NODES, PRECISION, PROGRESS, STRATEGY, trainer_config


def _run_data_spec(checkpoint: Path) -> str | None:
    """The ``--data`` a run was trained on, from the run folder's config.json."""
    folder = checkpoint if checkpoint.is_dir() else checkpoint.parent
    cfg = folder / "config.json"
    if not cfg.is_file():
        return None
    try:
        return json.loads(cfg.read_text()).get("run", {}).get("data")
    except (ValueError, OSError, AttributeError):
        return None


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="ResNet image classification (CIFAR-10, ImageFolder, digits).", no_args_is_help=True)
    app.add_typer(sub, name="classify")

    @sub.command("train")
    def train(
        data: str = typer.Option("digits", "--data", help="digits | cifar10:PATH | folder:PATH"),
        backbone: str = typer.Option("resnet50", "--backbone", help="resnet18 | resnet34 | resnet50 | resnet101 | resnet152"),
        weights: Optional[Path] = typer.Option(None, "--weights", help="torchvision-layout backbone weights (.safetensors/.pth), e.g. ImageNet."),
        freeze_backbone: bool = typer.Option(True, "--freeze-backbone/--finetune", help="Train only the head (seed) or everything."),
        epochs: int = typer.Option(10, "--epochs", min=1),
        batch_size: int = typer.Option(64, "--batch-size", min=1),
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
        seed: int = typer.Option(0, "--seed"),
        resume: bool = typer.Option(False, "--resume", help="Continue OUT/checkpoints/last.ckpt."),
        progress: bool = PROGRESS,
        out: Path = typer.Option(Path("runs/classify"), "--out", "-o", help="Run folder."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> int:
        """Train a ResNet classifier (seed 001 protocol by default) and evaluate it on the test split."""
        from nlvision.cli._common import emit
        from nlvision.classify.data import AugmentConfig, load_data
        from nlvision.classify.model import ClassifierConfig
        from nlvision.classify.train import TrainConfig, train_classifier

        mc = ClassifierConfig(backbone=backbone, image_size=image_size, upsample_steps=upsample_steps, width=width,
                              freeze_backbone=freeze_backbone)
        tc = TrainConfig(lr=lr, momentum=momentum, weight_decay=weight_decay, batch_size=batch_size, augment=augment,
                         augment_config=AugmentConfig(flip=flip), cosine=cosine)
        if weights is not None and not weights.is_file():
            raise ValueError(f"--weights: no such file {weights}")
        if resume and not (out / "checkpoints" / "last.ckpt").is_file():
            raise ValueError(f"--resume: no checkpoint at {out / 'checkpoints' / 'last.ckpt'}")
        dataset = load_data(data, image_size=image_size, seed=0)  # bad data fails here, before any output
        if freeze_backbone and weights is None:
            typer.echo("warning: the backbone is frozen at its random initialisation; pass --weights PATH "
                       "(e.g. ImageNet weights) or --finetune (docs/classify.md has a CPU recipe for digits from scratch)", err=True)
        trainer = trainer_config(epochs=epochs, devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes,
                                 precision=precision, seed=seed, progress=progress, limit_batches=limit_batches)
        result = train_classifier(dataset, out, model_config=mc, train_config=tc, trainer_config=trainer, weights=weights, resume=resume)
        summary = {k: result[k] for k in ("accuracy", "per_class_accuracy", "n", "train_seconds", "epochs", "backbone", "data",
                                          "trainable_parameters", "out")}
        text = (f"test accuracy {result['accuracy']:.4f} on {result['n']} images ({result['data']}, {result['backbone']}, "
                f"{result['epochs']} epochs, {result['train_seconds']:.0f} s)\nper class: "
                + ", ".join(f"{k} {v:.3f}" for k, v in result["per_class_accuracy"].items())
                + f"\nrun folder: {out} (model.safetensors, checkpoints/last.ckpt, confusion.png, metrics.json)")
        emit(summary, as_json, text)
        return 0

    @sub.command("evaluate")
    def evaluate(
        checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `classify train`."),
        data: Optional[str] = typer.Option(None, "--data", help="digits | cifar10:PATH | folder:PATH (default: the run's data)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for metrics.json and confusion.png (default: RUN/eval)."),
        batch_size: int = typer.Option(256, "--batch-size", min=1),
        as_json: bool = typer.Option(False, "--json"),
    ) -> int:
        """Accuracy, per-class accuracy and the row-normalised confusion matrix on a test split."""
        import numpy as np

        from nlvision.atomic import write_json_atomic
        from nlvision.classify.data import load_data
        from nlvision.classify.evaluate import evaluate_model, load_classifier, plot_confusion
        from nlvision.cli._common import emit

        model = load_classifier(checkpoint)
        spec = data or _run_data_spec(checkpoint)
        if spec is None:
            raise ValueError(f"--data: {checkpoint} has no run config.json naming its data; pass --data")
        ds = load_data(spec, image_size=model.config.image_size)
        if ds.image_size != (model.config.image_size,) * 2:
            raise ValueError(f"--data: images are {ds.image_size}, the model expects {model.config.image_size}x{model.config.image_size}")
        if ds.num_classes != model.config.num_classes:
            raise ValueError(f"--data: {spec} has {ds.num_classes} classes, the model {model.config.num_classes}")
        result = evaluate_model(model, ds.x_test, ds.y_test, classes=model.config.classes, batch_size=batch_size)
        folder = out or ((checkpoint if checkpoint.is_dir() else checkpoint.parent) / "eval")
        plot_confusion(result["confusion"], model.config.classes, folder / "confusion.png", title=f"{model.config.backbone} on {ds.name}")
        record = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
        record.update({"checkpoint": str(checkpoint), "data": ds.name})
        write_json_atomic(folder / "metrics.json", record)
        text = (f"accuracy {result['accuracy']:.4f} on {result['n']} test images of {ds.name}\nper class: "
                + ", ".join(f"{k} {v:.3f}" for k, v in result["per_class_accuracy"].items())
                + f"\nconfusion matrix: {folder / 'confusion.png'}")
        emit(record, as_json, text)
        return 0

    @sub.command("predict")
    def predict(
        checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `classify train`."),
        images: list[Path] = typer.Argument(..., help="Image files."),
        k: int = typer.Option(5, "--top-k", "-k", min=1, help="Number of classes to report."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> int:
        """Top-k classes with probabilities for each image (bad images are reported and skipped)."""
        from nlvision.classify.evaluate import load_classifier, predict_images
        from nlvision.cli._common import emit, run_batch

        model = load_classifier(checkpoint)
        done, failed = run_batch(images, lambda p: predict_images(model, [p], k=k)[0], label="predict")
        records = [r for _, r in done]
        text = "\n".join(
            f"{r['image']}: " + ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top_k"]) for r in records
        )
        emit({"predictions": records, "failed": [{"image": str(i), "error": m} for i, m in failed]} if as_json else records,
             as_json, text)
        if failed:
            print(f"{len(failed)} of {len(images)} image(s) failed", file=sys.stderr)
            return 1
        return 0
