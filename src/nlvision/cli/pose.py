"""``nlvision pose train|evaluate|predict``: stacked hourglass / ACNN pose estimation (seed 002)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import ACCELERATOR, DEVICES, LIMIT_BATCHES, NUM_NODES, PRECISION, PROGRESS, STRATEGY, trainer_config


def _run_folder(checkpoint: Path) -> Path:
    return checkpoint if checkpoint.is_dir() else checkpoint.parent


def _model_file(checkpoint: Path) -> Path:
    return checkpoint / "model.safetensors" if checkpoint.is_dir() else checkpoint


def _run_data(checkpoint: Path) -> str | None:
    cfg = _run_folder(checkpoint) / "pose_run.json"
    if not cfg.is_file():
        return None
    try:
        return json.loads(cfg.read_text()).get("train", {}).get("data")
    except (ValueError, OSError, AttributeError):
        return None


def _table_text(results: dict) -> str:
    return "\n".join(r.format("PCKh") for r in results.values())


def _parse_center(value: Optional[str]):
    if value is None:
        return None
    parts = value.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--center: expected X,Y (two numbers), got {value!r}") from None


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Human pose estimation: stacked hourglass with ACNN attention masks.", no_args_is_help=True)
    app.add_typer(sub, name="pose")

    @sub.command("train")
    def train(
        data: str = typer.Option("synthetic", "--data", help="synthetic | mpii:PATH (PATH/annot/{train,valid}.json, PATH/images/)."),
        stacks: int = typer.Option(4, "--stacks", min=1, help="Number of hourglass stages (seed: 4)."),
        channels: int = typer.Option(256, "--channels", min=2, help="Feature width (seed: 256)."),
        input_size: int = typer.Option(256, "--input-size", min=64, help="Crop side (seed: 256; heatmaps are ÷4)."),
        attention: bool = typer.Option(True, "--attention/--no-attention", help="ACNN masks or the plain stacked hourglass."),
        phase: str = typer.Option("all", "--phase", help="A (heatmaps, masks = 1) | B (masks only) | C (joint) | all."),
        epoch_scale: float = typer.Option(1.0, "--epoch-scale", help="Multiplies the seed's 200/200/100 epochs and milestones."),
        lr_scale: float = typer.Option(1.0, "--lr-scale", help="Multiplies the seed's learning rates 5e-4 / 2.5e-4 / 2.5e-4."),
        batch_size: int = typer.Option(12, "--batch-size", min=1, help="Seed: 12."),
        n_train: Optional[int] = typer.Option(None, "--n-train", help="Synthetic training set size (2000) or a cap on MPII people."),
        n_valid: Optional[int] = typer.Option(None, "--n-valid", help="Synthetic validation set size (300) or a cap."),
        workers: int = typer.Option(0, "--workers", min=0, help="DataLoader worker processes."),
        flip_test: bool = typer.Option(False, "--flip-test/--no-flip-test", help="Flip test in the final evaluation."),
        init: Optional[Path] = typer.Option(None, "--init", help="Start from this pose checkpoint (same configuration)."),
        devices: str = DEVICES,
        accelerator: str = ACCELERATOR,
        strategy: str = STRATEGY,
        num_nodes: int = NUM_NODES,
        precision: str = PRECISION,
        limit_batches: float = LIMIT_BATCHES,
        seed: int = typer.Option(0, "--seed"),
        resume: bool = typer.Option(False, "--resume", help="Skip finished phases, continue the interrupted one."),
        progress: bool = PROGRESS,
        out: Path = typer.Option(Path("runs/pose"), "--out", "-o", help="Run folder."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> int:
        """Train with the seed's three-phase schedule (A → B → C) and report PCKh on the validation split."""
        from nlvision.cli._common import emit
        from nlvision.pose.train import PoseTrainConfig, train_pose

        if init is not None and not init.exists():
            raise ValueError(f"--init: no such checkpoint {init}")
        if resume and not (out / "pose_run.json").is_file():
            raise ValueError(f"--resume: {out} holds no pose run (no pose_run.json)")
        cfg = PoseTrainConfig(
            data=data, num_stacks=stacks, channels=channels, input_size=input_size, attention=attention, phase=phase.upper() if phase.lower() != "all" else "all",
            epoch_scale=epoch_scale, lr_scale=lr_scale, batch_size=batch_size, n_train=n_train, n_valid=n_valid, workers=workers, flip_test=flip_test,
            seed=seed, init=str(_model_file(init)) if init is not None else None,
        ).validate()
        trainer = trainer_config(devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes, precision=precision,
                                 seed=seed, progress=progress, limit_batches=limit_batches)
        result = train_pose(cfg, trainer, out, resume=resume)
        label = " (SYNTHETIC data)" if result["synthetic"] else ""
        phases = ", ".join(f"{p['phase']}: {p['epochs']} ep" for p in result["phases"])
        text = (f"{'ACNN' if attention else 'stacked hourglass'}, {stacks} stacks, width {channels}, phases {phases}{label}\n"
                + "\n".join(f"PCKh@{k[5:]}: " + "  ".join(f"{n} {v:.2f}" for n, v in m["table"].items()) for k, m in result["metrics"].items())
                + f"\nrun folder: {out} (model.safetensors, phase_*/checkpoints/last.ckpt, metrics.json)")
        emit({**result, "out": str(out)}, as_json, text)
        return 0

    @sub.command("evaluate")
    def evaluate(
        checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `pose train`."),
        data: Optional[str] = typer.Option(None, "--data", help="synthetic | mpii:PATH (default: the run's data)."),
        flip: bool = typer.Option(False, "--flip/--no-flip", help="Flip test."),
        refine: bool = typer.Option(True, "--refine/--no-refine", help="Quarter-pixel refinement of the argmax."),
        n: Optional[int] = typer.Option(None, "--n", help="Number of people (synthetic set size or a cap)."),
        batch_size: int = typer.Option(16, "--batch-size", min=1),
        seed: int = typer.Option(0, "--seed", help="Synthetic data seed (validation uses seed + 1000)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for metrics.json (default: RUN/eval)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> int:
        """PCKh@0.5 and PCKh@0.1 (standard MPII protocol) on the validation split."""
        from torch.utils.data import DataLoader

        from nlvision.atomic import write_json_atomic
        from nlvision.cli._common import emit
        from nlvision.pose.data import collate, make_dataset
        from nlvision.pose.evaluate import evaluate_model
        from nlvision.pose.train import load_pose_model

        model = load_pose_model(_model_file(checkpoint))
        spec = data or _run_data(checkpoint) or "synthetic"
        ds = make_dataset(spec, "valid", input_size=model.config.input_size, n=n, seed=seed)
        if any(a.headbox is None for a in ds.annotations):
            raise ValueError(f"--data: {spec} has no head boxes (add 'headbox' to the records or annot/gt_valid.mat); PCKh needs them")
        ev = evaluate_model(model, DataLoader(ds, batch_size=batch_size, collate_fn=collate), flip=flip, refine=refine)
        record = {
            "checkpoint": str(checkpoint), "data": spec, "synthetic": spec == "synthetic", "n": len(ds), "flip": flip, "refine": refine,
            "model": model.config.to_dict(), "metrics": {f"pckh@{t:g}": r.to_dict() for t, r in ev["results"].items()},
        }
        folder = out or (_run_folder(checkpoint) / "eval")
        write_json_atomic(folder / "metrics.json", record)
        label = " (SYNTHETIC data)" if spec == "synthetic" else ""
        emit(record, as_json, f"{len(ds)} people of {spec}{label}\n{_table_text(ev['results'])}\nmetrics: {folder / 'metrics.json'}")
        return 0

    @sub.command("predict")
    def predict(
        checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `pose train`."),
        image: Path = typer.Argument(..., help="Image of one person (centred unless --center/--scale are given)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="PNG with the predicted skeleton."),
        heatmaps: Optional[Path] = typer.Option(None, "--heatmaps", help="PNG with the 16 per-joint heatmaps."),
        masks: Optional[Path] = typer.Option(None, "--masks", help="PNG with every stage's attention mask (ACNN)."),
        center: Optional[str] = typer.Option(None, "--center", help="Person centre X,Y in pixels (default: image centre)."),
        scale: Optional[float] = typer.Option(None, "--scale", help="Person height / 200 (MPII); default: the whole image."),
        flip: bool = typer.Option(False, "--flip/--no-flip", help="Flip test."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> int:
        """Predict the 16 MPII joints of the person in IMAGE."""
        from nlvision.cli._common import emit
        from nlvision.datasets.synthetic_figures import MPII_JOINTS
        from nlvision.imageio import load_image
        from nlvision.pose.evaluate import predict_image
        from nlvision.pose.train import load_pose_model
        from nlvision.pose.visualise import attention_figure, heatmaps_figure, skeleton_figure

        c = _parse_center(center)
        for opt, p in (("--output", output), ("--heatmaps", heatmaps), ("--masks", masks)):
            if p is not None and p.suffix.lower() != ".png":
                raise ValueError(f"{opt}: expected a .png file name, got {p}")
        model = load_pose_model(_model_file(checkpoint))
        if masks is not None and (not model.config.attention or model.config.num_stacks < 2):
            raise ValueError("--masks: this checkpoint has no attention masks (plain hourglass or a single stack)")
        img = load_image(image)
        res = predict_image(model, img, center=c, scale=scale, flip=flip)
        if output is not None:
            skeleton_figure(img, res["joints"], output)
        if heatmaps is not None:
            heatmaps_figure(res["crop"], res["heatmaps"], heatmaps)
        if masks is not None:
            attention_figure([res["crop"]], res["masks"][None], masks)
        record = {
            "image": str(image),
            "joints": {name: {"x": float(x), "y": float(y), "score": float(s)} for name, (x, y), s in zip(MPII_JOINTS, res["joints"], res["scores"])},
            "outputs": [str(p) for p in (output, heatmaps, masks) if p is not None],
        }
        text = "\n".join(f"{name:<11} x {v['x']:7.1f}  y {v['y']:7.1f}  score {v['score']:.3f}" for name, v in record["joints"].items())
        if record["outputs"]:
            text += "\nwritten: " + ", ".join(record["outputs"])
        emit(record, as_json, text)
        return 0
