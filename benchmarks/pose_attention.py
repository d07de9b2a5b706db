"""Claim: ACNN's attention masks select regions — what each variant's final masks discard on the
figure and on the background, and what they are worth (PCKh with the masks forced to 1), beside
the plain stacked hourglass (same A/B/C schedule) and the mean-pose floor, over several seeds.

Variants (SYNTHETIC figures, same data / schedule / seeds):

* ``hourglass``        plain stacked hourglass, A/B/C (every phase trains everything);
* ``soft``             ACNN, soft sigmoid masks, the seed's loss (the previous default);
* ``binary``           ACNN, the seed's binary masks (hard threshold, straight-through gradient);
* ``binary-area``      binary masks + mask-area penalty (``--penalty``) in phases B and C;
* ``binary-bg``        binary masks + the area penalty sparing what the stage already locates
  (``penalty_mode="background"``);
* ``soft-bg``          soft masks + the same penalty;
* ``binary-bg-freeze`` binary + background penalty, mask branch frozen in phase C.

Phase A is computed once per seed and shared: with the masks frozen at 1 it is the same
computation for every variant and for the plain hourglass (same initialisation of the heatmap
branch — the mask convolutions are created last —, same data order). Each (variant, seed) run
then trains phases B and C from it and appends one JSON line to ``OUT/runs.jsonl`` (skipped when present, so
the script can be interrupted and rerun); ``--summary`` prints the table with 95 % t-intervals.

    python benchmarks/pose_attention.py --seeds 0 1 2 [--variants soft binary-pen] [--threads 1]
    python benchmarks/pose_attention.py --summary
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

VARIANTS = {
    "hourglass": dict(attention=False, mask_mode="soft", penalty=None, train_masks_in_c=True),
    "soft": dict(attention=True, mask_mode="soft", penalty=None, train_masks_in_c=True),
    "binary": dict(attention=True, mask_mode="binary", penalty=None, train_masks_in_c=True),
    "binary-area": dict(attention=True, mask_mode="binary", penalty="area", train_masks_in_c=True),
    "binary-bg": dict(attention=True, mask_mode="binary", penalty="background", train_masks_in_c=True),
    "soft-bg": dict(attention=True, mask_mode="soft", penalty="background", train_masks_in_c=True),
    "binary-bg-freeze": dict(attention=True, mask_mode="binary", penalty="background", train_masks_in_c=False),
}
#: Reduced size for a shared 2-core CPU: 3 stacks (two learned masks), width 32, 64×64 crops
#: (16×16 masks), 600 training / 150 validation figures, seed's learning rates × 4. Phase A
#: (shared by all variants, see above) gets 12 epochs (epoch_scale 0.06, ÷10 at 7 and 10);
#: phases B / C get 4 / 2 epochs (epoch_scale 0.02).
SMALL = dict(num_stacks=3, channels=32, input_size=64, depth=3)
TRAIN = dict(epoch_scale=0.02, lr_scale=4.0, batch_size=12, n_train=600, n_valid=150)
PHASE_A_EPOCH_SCALE = 0.06
FULL_NOTE = "full run: --size full (4 stacks, 256 channels, 256 px, 2000/300 figures, epoch-scale 1, lr-scale 1)"


def _t95(n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")


def _configs(variant: str, seed: int, penalty: float, size: str, phase: str):
    from nlvision.pose import PoseModelConfig, PoseTrainConfig

    v = VARIANTS[variant]
    arch = {} if size == "full" else SMALL
    train = {} if size == "full" else TRAIN
    mcfg = PoseModelConfig(attention=v["attention"], mask_mode=v["mask_mode"], **arch)
    if phase == "A" and size != "full":
        train = {**train, "epoch_scale": PHASE_A_EPOCH_SCALE}
    tcfg = PoseTrainConfig(seed=seed, phase=phase, mask_penalty=penalty if v["penalty"] else 0.0, penalty_mode=v["penalty"] or "area",
                           train_masks_in_c=v["train_masks_in_c"], **train)
    return mcfg, tcfg


def _trainer(seed: int):
    from nlvision.engine import TrainerConfig

    return TrainerConfig(progress=False, accelerator="cpu", devices="1", log_every_n_steps=10, seed=seed)


def phase_a(seed: int, out: Path, size: str, loaders) -> Path:
    """Phase A once per seed: it is the same computation for every variant (masks frozen at 1,
    same initialisation of the heatmap branch, same data order) and for the plain hourglass."""
    from nlvision.pose import train_pose

    run = out / f"phaseA-s{seed}"
    if (run / "model.safetensors").is_file():
        return run / "model.safetensors"
    mcfg, tcfg = _configs("soft", seed, 0.0, size, "A")
    shutil.rmtree(run, ignore_errors=True)
    train_pose(loaders, run, model_config=mcfg, train_config=tcfg, trainer_config=_trainer(seed))
    return run / "model.safetensors"


def run_one(variant: str, seed: int, out: Path, penalty: float, size: str, loaders) -> dict:
    from nlvision.nn.weights import save_checkpoint
    from nlvision.pose import build_pose_model, load_pose_model, mean_pose_baseline, pckh, train_pose

    v = VARIANTS[variant]
    t0, c0 = time.perf_counter(), time.process_time()
    ck_a = phase_a(seed, out, size, loaders)
    tag = f"{variant}-s{seed}-l{penalty if v['penalty'] else 0:g}"
    for d in (out / f"{tag}-B", out / f"{tag}-C"):
        shutil.rmtree(d, ignore_errors=True)
    mcfg, tcfg_b = _configs(variant, seed, penalty, size, "B")
    _, tcfg_c = _configs(variant, seed, penalty, size, "C")
    model = build_pose_model(mcfg)
    state = {k: val for k, val in load_pose_model(ck_a).state_dict().items() if v["attention"] or not k.startswith("mask.")}
    model.load_state_dict(state)
    init = out / f"{tag}-init.safetensors"
    save_checkpoint(init, model, task="pose", config=mcfg.to_dict())
    train_pose(loaders, out / f"{tag}-B", model_config=mcfg, train_config=tcfg_b, trainer_config=_trainer(seed), weights=init)
    res = train_pose(loaders, out / f"{tag}-C", model_config=mcfg, train_config=tcfg_c, trainer_config=_trainer(seed),
                     weights=out / f"{tag}-B" / "model.safetensors")
    tr, va = loaders[0].dataset.annotations, loaders[1].dataset.annotations
    floor = pckh(mean_pose_baseline(tr, va), [a.joints for a in va], [a.visible for a in va], [a.headbox for a in va], 0.5).mean
    return {"variant": variant, "seed": seed, "penalty": penalty if v["penalty"] else 0.0, "size": size,
            "pckh": res["metrics"]["pckh@0.5"]["table"]["Mean"], "pckh01": res["metrics"]["pckh@0.1"]["table"]["Mean"],
            "masks": res["masks"], "floor": floor, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "load": os.getloadavg()}


def summary(out: Path) -> None:
    import numpy as np

    rows = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines() if line.strip()]
    by: dict[str, list] = {}
    for r in rows:
        by.setdefault(f"{r['variant']} (λ={r['penalty']:g})" if r["penalty"] else r["variant"], []).append(r)

    def ci(xs):
        xs = np.asarray(xs, float)
        h = _t95(len(xs)) * xs.std(ddof=1) / np.sqrt(len(xs)) if len(xs) > 1 else float("nan")
        return f"{xs.mean():.2f} ± {h:.2f}"

    hg = {r["seed"]: r["pckh"] for r in by.get("hourglass", [])}

    def vs_hg(rs):
        d = [r["pckh"] - hg[r["seed"]] for r in rs if r["seed"] in hg]
        return ci(d) if len(d) > 1 else "—"

    print("| variant | seeds | PCKh@0.5 (masks on) | − hourglass (paired) | masks forced to 1 | on − off | mean-pose floor | "
          "M(1) discards fig / bg % | M(2) discards fig / bg % | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, rs in by.items():
        on = [r["pckh"] for r in rs]
        seeds = ",".join(str(r["seed"]) for r in rs)
        floor = ci([r["floor"] for r in rs])
        if rs[0]["masks"]:
            off = [r["masks"]["pckh@0.5 masks off"] for r in rs]
            diff = [a - b for a, b in zip(on, off)]
            st = []
            for k in range(len(rs[0]["masks"]["stages"])):
                f = [100 * r["masks"]["stages"][k]["discarded_figure"] for r in rs]
                b = [100 * r["masks"]["stages"][k]["discarded_background"] for r in rs]
                st.append(f"{np.mean(f):.1f} / {np.mean(b):.1f}")
            st += ["—"] * (2 - len(st))
            print(f"| {name} | {seeds} | {ci(on)} | {vs_hg(rs)} | {ci(off)} | {ci(diff)} | {floor} | {st[0]} | {st[1]} | "
                  f"{np.mean([r['wall_s'] for r in rs]):.0f} |")
        else:
            print(f"| {name} | {seeds} | {ci(on)} | — | — | — | {floor} | — | — | {np.mean([r['wall_s'] for r in rs]):.0f} |")
    print("95 % t-intervals over seeds (n = 3: t = 4.30); per-seed values in OUT/runs.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--penalty", type=float, default=1e-3, help="mask-area penalty weight of the *-pen variants")
    ap.add_argument("--size", choices=["small", "full"], default="small", help=FULL_NOTE)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_pose_attention"))
    ap.add_argument("--summary", action="store_true", help="only print the table of OUT/runs.jsonl")
    args = ap.parse_args()
    if args.summary:
        summary(args.out)
        return
    import torch

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    done = set()
    if log.is_file():
        for line in log.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done.add((r["variant"], r["seed"], r["penalty"], r.get("size", "small")))
    print("machine:", platform.machine(), os.cpu_count(), "cores; load average:", os.getloadavg(), "| settings:", SMALL, TRAIN)
    from nlvision.pose.train import make_loaders

    loaders = {}
    for seed in args.seeds:  # every seed's phase A first (shared by all variants)
        mcfg, tcfg = _configs("soft", seed, 0.0, args.size, "A")
        loaders[seed] = make_loaders("synthetic", mcfg, tcfg)
        phase_a(seed, args.out, args.size, loaders[seed])
    for seed in args.seeds:
        for variant in args.variants:
            pen = args.penalty if VARIANTS[variant]["penalty"] else 0.0
            if (variant, seed, pen, args.size) in done:
                continue
            r = run_one(variant, seed, args.out, args.penalty, args.size, loaders[seed])
            with open(log, "a") as f:
                f.write(json.dumps(r) + "\n")
            m = r["masks"]["stages"] if r["masks"] else []
            print(f"{variant:>18} seed {seed}: PCKh {r['pckh']:.2f}"
                  + (f" | masks off {r['masks']['pckh@0.5 masks off']:.2f} | " + "; ".join(
                      f"M({s['stage']}) fig {100 * s['discarded_figure']:.1f}% bg {100 * s['discarded_background']:.1f}%" for s in m) if m else "")
                  + f" | floor {r['floor']:.2f} | {r['wall_s']:.0f} s", flush=True)
    summary(args.out)


if __name__ == "__main__":
    main()
