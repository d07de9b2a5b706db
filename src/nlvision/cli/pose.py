"""``nlvision pose train|evaluate|predict|score``: stacked hourglass / ACNN pose estimation (seed 002).

Every coordinate printed or written is a 0-based pixel index of the source image (x = column,
y = row), except the MPII ``pred.mat`` (``pos_pred_src``, 1-based, the MPII evaluation layout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from nlvision.cli._common import (
    ACCELERATOR,
    DEVICES,
    LIMIT_BATCHES,
    NUM_NODES,
    PRECISION,
    PROGRESS,
    STRATEGY,
    check_training_inputs,
    emit,
    trainer_config,
)

COORDS_NOTE = "coordinates: 0-based pixels of the source image (x = column, y = row); pred.mat: MPII layout, 1-based"


def _run_folder(checkpoint: Path) -> Path:
    return checkpoint if checkpoint.is_dir() else checkpoint.parent


def _run_data(checkpoint: Path) -> str | None:
    cfg = _run_folder(checkpoint) / "pose_run.json"
    if not cfg.is_file():
        return None
    try:
        data = json.loads(cfg.read_text()).get("data")
        return data if isinstance(data, str) and data != "loaders" else None
    except (ValueError, OSError, AttributeError):
        return None


def _table_text(results: dict) -> str:
    return "\n".join(r.format("PCKh") for r in results.values())


def _metric_lines(metrics: dict) -> str:
    return "\n".join(f"PCKh@{k[5:]}: " + "  ".join(f"{n} {v:.2f}" for n, v in m["table"].items()) for k, m in metrics.items())


def _mask_lines(masks: dict | None) -> str:
    if not masks:
        return ""
    lines = []
    for st in masks["stages"]:
        line = f"M({st['stage']}): discards {100 * st['discarded']:.1f} % of cells (mean mask {st['mean_mask']:.3f})"
        if "discarded_figure" in st:
            line += f"; figure {100 * st['discarded_figure']:.1f} %, background {100 * st['discarded_background']:.1f} %"
        lines.append(line)
    lines.append(f"PCKh@0.5 with masks forced to 1: {masks['pckh@0.5 masks off']:.2f} (masks on {masks['pckh@0.5 masks on']:.2f})")
    return "\n" + "\n".join(lines)


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


def train(
    data: str = typer.Option("synthetic", "--data", help="synthetic | mpii:PATH (PATH/annot/{train,valid}.json or annot/mpii_annotations.json, PATH/images/)."),
    stacks: int = typer.Option(4, "--stacks", min=1, help="Number of hourglass stages (seed: 4)."),
    channels: int = typer.Option(256, "--channels", min=2, help="Feature width (seed: 256)."),
    input_size: int = typer.Option(256, "--input-size", min=32, help="Crop side (seed: 256; heatmaps are ÷4)."),
    attention: bool = typer.Option(True, "--attention/--no-attention", help="ACNN masks or the plain stacked hourglass."),
    mask_mode: Optional[str] = typer.Option(None, "--mask-mode", help="binary (seed: hard threshold, straight-through gradient) | soft. Default: PoseModelConfig's."),
    mask_penalty: Optional[float] = typer.Option(None, "--mask-penalty", help="Weight of the mask-area penalty in phases B and C (0: the seed's loss). Default: PoseTrainConfig's."),
    penalty_mode: Optional[str] = typer.Option(None, "--penalty-mode", help="area | background (spare cells where the stage already sees a joint). Default: PoseTrainConfig's."),
    train_masks_in_c: bool = typer.Option(True, "--train-masks-in-c/--freeze-masks-in-c", help="Phase C trains the masks too (seed) or keeps phase B's."),
    phase: str = typer.Option("all", "--phase", help="A (heatmaps, masks = 1) | B (masks only) | C (joint) | all."),
    epoch_scale: float = typer.Option(1.0, "--epoch-scale", help="Multiplies the seed's 200/200/100 epochs and milestones."),
    lr_scale: float = typer.Option(1.0, "--lr-scale", help="Multiplies the seed's learning rates 5e-4 / 2.5e-4 / 2.5e-4."),
    batch_size: int = typer.Option(12, "--batch-size", min=1, help="Seed: 12."),
    n_train: Optional[int] = typer.Option(None, "--n-train", help="Synthetic training set size (2000) or a cap on MPII people."),
    n_valid: Optional[int] = typer.Option(None, "--n-valid", help="Synthetic validation set size (300) or a cap."),
    workers: int = typer.Option(0, "--workers", min=0, help="DataLoader worker processes."),
    flip_test: bool = typer.Option(False, "--flip-test/--no-flip-test", help="Flip test in the final evaluation."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Start from this pose checkpoint (same architecture)."),
    devices: str = DEVICES,
    accelerator: str = ACCELERATOR,
    strategy: str = STRATEGY,
    num_nodes: int = NUM_NODES,
    precision: str = PRECISION,
    limit_batches: float = LIMIT_BATCHES,
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="Skip finished phases, continue the interrupted one."),
    progress: bool = PROGRESS,
    out: Path = typer.Option(Path("runs/pose"), "--out", "-o", help="Run folder (new or empty unless --resume)."),
    as_json: bool = typer.Option(False, "--json"),
) -> int:
    """Train with the seed's three-phase schedule (A → B → C) and report PCKh on the validation split."""
    check_training_inputs("pose train", out, weights)
    from nlvision.pose import PoseModelConfig, PoseTrainConfig, train_pose

    masks = {} if mask_mode is None else {"mask_mode": mask_mode}
    penalty = {k: v for k, v in (("mask_penalty", mask_penalty), ("penalty_mode", penalty_mode)) if v is not None}
    model_cfg = PoseModelConfig(num_stacks=stacks, channels=channels, input_size=input_size, attention=attention, **masks).validate()
    cfg = PoseTrainConfig(
        phase=phase.upper() if phase.lower() != "all" else "all", epoch_scale=epoch_scale, lr_scale=lr_scale, batch_size=batch_size,
        n_train=n_train, n_valid=n_valid, workers=workers, flip_test=flip_test, seed=seed, train_masks_in_c=train_masks_in_c,
        **penalty,
    ).validate()
    trainer = trainer_config(devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes, precision=precision,
                             seed=seed, progress=progress, limit_batches=limit_batches)
    result = train_pose(data, out, model_config=model_cfg, train_config=cfg, trainer_config=trainer, weights=weights, resume=resume)
    label = " (SYNTHETIC data)" if result["synthetic"] else ""
    phases = ", ".join(f"{p['phase']}: {p['epochs']} ep" for p in result["phases"])
    model_name = f"ACNN ({model_cfg.mask_mode} masks, penalty {cfg.mask_penalty:g} {cfg.penalty_mode})" if attention else "stacked hourglass"
    notes = "".join(f"{split} annotations: {line}\n" for split, line in result["annotations"].items())
    text = (f"{model_name}, {stacks} stacks, width {channels}, phases {phases}{label}\n" + notes + _metric_lines(result["metrics"])
            + _mask_lines(result["masks"]) + f"\nrun folder: {out} (model.safetensors, phase_*/checkpoints/last.ckpt, metrics.json)")
    emit(result, as_json, text)
    return 0


def evaluate(
    checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `pose train`."),
    data: Optional[str] = typer.Option(None, "--data", help="synthetic | mpii:PATH (default: the run's data)."),
    flip: bool = typer.Option(False, "--flip/--no-flip", help="Flip test."),
    refine: bool = typer.Option(True, "--refine/--no-refine", help="Quarter-pixel refinement of the argmax."),
    n: Optional[int] = typer.Option(None, "--n", help="Number of people (synthetic set size or a cap)."),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    seed: int = typer.Option(0, "--seed", help="Synthetic data seed (validation uses seed + 1000)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for metrics.json and pred.mat (default: RUN/eval)."),
    as_json: bool = typer.Option(False, "--json"),
) -> int:
    """PCKh@0.5 and PCKh@0.1 (standard MPII protocol) on the validation split; writes metrics.json and pred.mat."""
    from nlvision.atomic import write_json_atomic
    from nlvision.pose import evaluate_pose, load_pose_model, write_mpii_pred_mat

    folder = out or (_run_folder(checkpoint) / "eval")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out: {folder} exists and is not a folder")
    model = load_pose_model(checkpoint)
    spec = data or _run_data(checkpoint) or "synthetic"
    res = evaluate_pose(model, spec, flip=flip, refine=refine, n=n, batch_size=batch_size, seed=seed)
    preds = res.pop("predictions")
    record = {"checkpoint": str(checkpoint), **res, "model": model.config.to_dict(),
              "outputs": {"metrics": str(folder / "metrics.json"), "pred.mat": str(folder / "pred.mat")}}
    write_mpii_pred_mat(folder / "pred.mat", preds)
    write_json_atomic(folder / "metrics.json", record)
    label = " (SYNTHETIC data)" if res["synthetic"] else ""
    notes = f"\nannotations: {res['annotations']}" if res["annotations"] else ""
    emit(record, as_json, f"{res['n']} people of {spec}{label}{notes}\n" + _metric_lines(res["metrics"]) + _mask_lines(res["masks"])
         + f"\nwritten: {folder / 'metrics.json'}, {folder / 'pred.mat'} (pos_pred_src, 1-based)")
    return 0


def predict(
    checkpoint: Path = typer.Argument(..., help="Run folder or model.safetensors written by `pose train`."),
    inputs: List[str] = typer.Argument(..., help="Images, folders of images, or glob patterns (one person per image)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for predictions.json, pred.mat (MPII) and keypoints.json (COCO-style)."),
    figures: bool = typer.Option(False, "--figures/--no-figures", help="Also write per image a skeleton, heatmaps and masks PNG into --out."),
    center: Optional[str] = typer.Option(None, "--center", help="Person centre X,Y in 0-based pixels (MPII objpos − 1), with --scale."),
    scale: Optional[float] = typer.Option(None, "--scale", help="MPII person scale (height / 200); standard MPII crop. Default: whole image."),
    flip: bool = typer.Option(False, "--flip/--no-flip", help="Flip test (a second forward pass)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Images per forward pass."),
    as_json: bool = typer.Option(False, "--json"),
) -> int:
    """Predict the 16 MPII joints of the person in each image, in one forward pass per batch."""
    from nlvision.atomic import write_json_atomic
    from nlvision.pose import load_pose_model, predict_pose, write_coco_keypoints, write_mpii_pred_mat
    from nlvision.imageio import expand_images
    from nlvision.pose.predict import predictions_record

    c = _parse_center(center)
    if (c is None) != (scale is None):
        raise ValueError("--center/--scale: give both (the standard MPII crop) or neither (the whole image)")
    if scale is not None and not scale > 0:
        raise ValueError(f"--scale: expected a positive number, got {scale}")
    if figures and out is None:
        raise ValueError("--figures: needs -o/--out (the folder to write into)")
    if out is not None and out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    paths = expand_images(inputs)
    if out is not None and any(p.resolve().parent == out.resolve() for p in paths) and figures:
        raise ValueError(f"--out: {out} holds input images; write the figures elsewhere")
    model = load_pose_model(checkpoint)
    from nlvision.imageio import load_image

    images = [load_image(p) for p in paths]  # decode every input before writing anything
    results = predict_pose(model, images, centers=None if c is None else [c] * len(images),
                           scales=None if scale is None else [scale] * len(images), flip=flip, batch_size=batch_size,
                           return_maps=figures)
    names = [str(p) for p in paths]
    record = predictions_record(names, results)
    written = []
    if out is not None:
        import numpy as np

        write_json_atomic(out / "predictions.json", record)
        write_mpii_pred_mat(out / "pred.mat", np.stack([r["joints"] for r in results]))
        write_coco_keypoints(out / "keypoints.json", names, results)
        written = [str(out / n) for n in ("predictions.json", "pred.mat", "keypoints.json")]
        if figures:
            from nlvision.pose.visualise import attention_figure, heatmaps_figure, skeleton_figure

            for i, (p, img, r) in enumerate(zip(paths, images, results)):
                stem = f"{i:04d}_{p.stem}"
                skeleton_figure(img, r["joints"], out / f"{stem}_skeleton.png")
                heatmaps_figure(r["crop"], r["heatmaps"], out / f"{stem}_heatmaps.png")
                written += [str(out / f"{stem}_skeleton.png"), str(out / f"{stem}_heatmaps.png")]
                if r["masks"].shape[0]:
                    attention_figure([r["crop"]], r["masks"][None], out / f"{stem}_masks.png")
                    written.append(str(out / f"{stem}_masks.png"))
    record["outputs"] = written
    lines = []
    for person in record["people"]:
        lines.append(person["image"])
        lines += [f"  {name:<11} x {v['x']:7.1f}  y {v['y']:7.1f}  score {v['score']:.3f}" for name, v in person["joints"].items()]
    text = "\n".join(lines) + f"\n{COORDS_NOTE}"
    if written:
        text += "\nwritten: " + ", ".join(written)
    emit(record, as_json, text)
    return 0


def score(
    predictions: Path = typer.Argument(..., help="pred.mat (pos_pred_src, 16×2×N, 1-based), predictions.json or COCO-style keypoints.json."),
    ground_truth: Path = typer.Argument(..., help="gt_valid.mat / detections_our_format.mat (pos_gt_src, jnt_missing, headboxes_src)."),
    as_json: bool = typer.Option(False, "--json"),
) -> int:
    """Print the PCKh table (standard MPII protocol) of a predictions file against the ground truth."""
    from nlvision.pose import score_predictions

    r = score_predictions(predictions, ground_truth)
    record = {"predictions": str(predictions), "ground_truth": str(ground_truth), "n": r["n"], "border_joints": r["border_joints"],
              "metrics": {f"pckh@{t:g}": res.to_dict() for t, res in r["results"].items()}}
    emit(record, as_json, f"{r['n']} people ({r['border_joints']} annotated joints on the image border, counted)\n{_table_text(r['results'])}")
    return 0


def register(app: typer.Typer) -> None:
    """Add ``nlvision pose train|evaluate|predict|score``."""
    sub = typer.Typer(help="Human pose estimation: stacked hourglass with ACNN attention masks.", no_args_is_help=True)
    app.add_typer(sub, name="pose")
    sub.command("train")(train)
    sub.command("evaluate")(evaluate)
    sub.command("predict")(predict)
    sub.command("score")(score)
