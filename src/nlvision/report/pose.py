"""Demo report section: a short synthetic run of the plain stacked hourglass vs ACNN."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

#: Settings of the quick (``make demo``) and full runs. Quick fits the 90 s budget on a
#: loaded 2-core CPU; both are far shorter than the seed's 500 epochs.
QUICK = dict(model=dict(num_stacks=3, channels=16, input_size=64, depth=3),
             train=dict(epoch_scale=0.005, lr_scale=4.0, batch_size=12, n_train=240, n_valid=60))
FULL = dict(model=dict(num_stacks=3, channels=32, input_size=64, depth=3),
            train=dict(epoch_scale=0.03, lr_scale=4.0, batch_size=12, n_train=600, n_valid=150))
#: ACNN is shown with the library's default masks and loss (PoseModelConfig / PoseTrainConfig).
ACNN: dict = {}
ACNN_TRAIN: dict = {}


def build(out_dir: Path, quick: bool):
    """Train both models on synthetic figures and report PCKh, predictions and attention masks."""
    import torch

    from nlvision.engine import TrainerConfig
    from nlvision.pose import PoseModelConfig, PoseTrainConfig, load_pose_model, mean_pose_baseline, pckh, train_pose
    from nlvision.pose.data import IMAGENET_MEAN, collate, make_dataset
    from nlvision.pose.evaluate import TABLE_PARTS, predict_batch
    from nlvision.pose.train import make_loaders
    from nlvision.pose.visualise import attention_figure, heatmaps_figure, skeleton_figure
    from nlvision.report.base import Section, figure_html, html_table

    out = Path(out_dir)
    settings = QUICK if quick else FULL
    rows, models, summary, mask_rows, masks_text = [], {}, {}, [], ""
    base_m, base_t = PoseModelConfig(**settings["model"]), PoseTrainConfig(seed=0, **settings["train"])
    loaders = make_loaders("synthetic", base_m, base_t)
    trainer = TrainerConfig(progress=False, accelerator="cpu", devices="1", log_every_n_steps=5)
    tr, va = loaders[0].dataset.annotations, loaders[1].dataset.annotations
    floor = pckh(mean_pose_baseline(tr, va), [a.joints for a in va], [a.visible for a in va], [a.headbox for a in va], 0.5).mean
    rows.append(["Mean training pose in the person box (floor)", *[""] * len(TABLE_PARTS), f"{floor:.2f}", "", ""])
    for name, attention in (("Stacked hourglass", False), ("ACNN", True)):
        mcfg = PoseModelConfig(attention=attention, **(ACNN if attention else {}), **settings["model"])
        tcfg = PoseTrainConfig(seed=0, **(ACNN_TRAIN if attention else {}), **settings["train"])
        run = out / "pose_runs" / ("acnn" if attention else "hourglass")
        shutil.rmtree(run, ignore_errors=True)
        start = time.perf_counter()
        res = train_pose(loaders, run, model_config=mcfg, train_config=tcfg, trainer_config=trainer)
        seconds = time.perf_counter() - start
        t5 = res["metrics"]["pckh@0.5"]["table"]
        t1 = res["metrics"]["pckh@0.1"]["table"]
        rows.append([name, *[f"{t5[k]:.2f}" for k in TABLE_PARTS], f"{t5['Mean']:.2f}", f"{t1['Mean']:.2f}", f"{seconds:.0f}"])
        summary[f"{name} PCKh@0.5"] = round(t5["Mean"], 2)
        if res["masks"]:
            for st in res["masks"]["stages"]:
                mask_rows.append([f"M({st['stage']})", f"{100 * st['discarded_figure']:.1f}", f"{100 * st['discarded_background']:.1f}",
                                  f"{st['mean_mask']:.3f}"])
            masks_text = (f"<p>ACNN PCKh@0.5 with its masks: {res['masks']['pckh@0.5 masks on']:.2f}; with every mask "
                          f"forced to 1: {res['masks']['pckh@0.5 masks off']:.2f}.</p>")
            summary["ACNN PCKh@0.5 masks forced to 1"] = round(res["masks"]["pckh@0.5 masks off"], 2)
        models[name] = load_pose_model(run)
    summary["mean-pose floor PCKh@0.5"] = round(floor, 2)

    valid = make_dataset("synthetic", "valid", input_size=settings["model"]["input_size"], n=4, seed=0)
    batch = collate([valid[i] for i in range(4)])
    crops = [np.clip(batch["image"][i].numpy().transpose(1, 2, 0) + IMAGENET_MEAN, 0, 1) for i in range(4)]
    acnn = models["ACNN"]
    with torch.no_grad():
        masks = acnn(batch["image"]).masks[:, 1:, 0].numpy()
    figs = []
    attention_figure(crops[:3], masks[:3], out / "pose_attention.png")
    figs.append(("pose_attention.png", "ACNN attention masks per stage on synthetic figures (seed Fig. 6): discarded regions in black."))
    joints, _, hm, _ = predict_batch(acnn, batch["image"], batch["matrix"])
    img0 = valid.load(valid.annotations[0], 0)
    skeleton_figure(img0, joints[0], out / "pose_skeleton.png", title="ACNN prediction (synthetic)")
    figs.append(("pose_skeleton.png", "Predicted skeleton (ACNN) on a synthetic validation figure."))
    heatmaps_figure(crops[0], hm[0].numpy(), out / "pose_heatmaps.png")
    figs.append(("pose_heatmaps.png", "Per-joint heatmaps P of the last stage (seed Fig. 1)."))
    cfg_text = ", ".join(f"{k}={v}" for k, v in {**settings["model"], **settings["train"]}.items())
    body = (
        "<p><b>SYNTHETIC data</b> (nlvision's articulated figures with 16 MPII joints, cluttered backgrounds and "
        f"distractor limbs). Both models trained with the seed's three-phase schedule scaled down ({cfg_text}); "
        "far shorter than the seed's 500 epochs, so the numbers show the pipeline, not the paper's accuracy. "
        f"PCKh with the standard MPII protocol. ACNN: {PoseModelConfig().mask_mode} masks, mask penalty "
        f"{PoseTrainConfig().mask_penalty:g} ({PoseTrainConfig().penalty_mode}) — the library defaults. The floor places the mean training pose in each person's box.</p>"
        + html_table(["model", *TABLE_PARTS, "Mean@0.5", "Mean@0.1", "train s"], rows)
        + "<p>What ACNN's final masks discard (share of heatmap cells with M &lt; 0.5, on the figure's silhouette and on "
        "the background) and PCKh with every mask forced to 1:</p>"
        + html_table(["mask", "figure % discarded", "background % discarded", "mean M"], mask_rows)
        + masks_text
        + "".join(figure_html(f, c) for f, c in figs)
    )
    return Section("Pose estimation (ACNN)", body, [f for f, _ in figs], summary)
