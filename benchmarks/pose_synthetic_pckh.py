"""Claim: a 2-stack hourglass at reduced width reaches PCKh@0.5 ≥ 80 on the synthetic figures
within a 10-minute CPU budget; ACNN vs the plain stacked hourglass under the same budget.

Both models use the seed's three-phase schedule (section 3.3) scaled by --epoch-scale, the same
data, seed and number of epochs. Prints the PCKh tables and the ACNN / hourglass ratio.

    python benchmarks/pose_synthetic_pckh.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny settings (smoke run, a few seconds)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epoch-scale", type=float, default=None)
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_pose"))
    ap.add_argument("--only", choices=["hourglass", "acnn"], default=None)
    ap.add_argument("--cpu-budget", type=float, default=None, help="process CPU seconds per model (1200 = 10 min × 2 cores)")
    ap.add_argument("--wall-budget", type=float, default=None, help="wall seconds per model (safety cap)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from nlvision.engine import TrainerConfig
    from nlvision.pose.evaluate import TABLE_PARTS
    from nlvision.pose.train import PoseTrainConfig, make_loaders, train_pose

    if args.quick:
        settings = dict(num_stacks=2, channels=16, input_size=64, epoch_scale=0.005, batch_size=12, n_train=48, n_valid=24)
    else:
        settings = dict(num_stacks=2, channels=32, input_size=128, epoch_scale=0.03, batch_size=12, n_train=2000, n_valid=300)
    if args.epoch_scale is not None:
        settings["epoch_scale"] = args.epoch_scale
    if args.n_train is not None:
        settings["n_train"] = args.n_train
    print("settings:", settings, f"threads={args.threads}", "data=synthetic (SYNTHETIC)")
    print("machine:", platform.machine(), os.cpu_count(), "cores; load average at start:", os.getloadavg())
    base = PoseTrainConfig(data="synthetic", seed=0, **settings)
    loaders = make_loaders(base)
    trainer = TrainerConfig(progress=False, accelerator="cpu", devices="1", log_every_n_steps=10)
    rows = {}
    for name, attention in (("hourglass", False), ("acnn", True)):
        if args.only and args.only != name:
            continue
        cfg = PoseTrainConfig(data="synthetic", seed=0, attention=attention, **settings)
        t0 = time.perf_counter()
        c0 = time.process_time()
        res = train_pose(cfg, trainer, args.out / name, loaders=loaders, cpu_budget_s=args.cpu_budget, wall_budget_s=args.wall_budget)
        cpu = time.process_time() - c0
        sec = time.perf_counter() - t0
        t5, t1 = res["metrics"]["pckh@0.5"]["table"], res["metrics"]["pckh@0.1"]["table"]
        rows[name] = {"seconds": sec, "cpu_seconds": cpu, "pckh@0.5": t5, "pckh@0.1": t1, "phases": res["phases"]}
        print(f"{name}: {sec:.0f} s wall, {cpu:.0f} s process CPU (training + final evaluation), load average now {os.getloadavg()}")
        print("  phases:", res["phases"])
    header = f"{'model':<10}" + "".join(f"{k:>9}" for k in (*TABLE_PARTS, "Mean")) + f"{'@0.1':>8}{'wall s':>8}{'cpu s':>7}"
    print(header)
    for name, r in rows.items():
        print(f"{name:<10}" + "".join(f"{r['pckh@0.5'][k]:9.2f}" for k in (*TABLE_PARTS, "Mean")) + f"{r['pckh@0.1']['Mean']:8.2f}{r['seconds']:8.0f}{r['cpu_seconds']:7.0f}")
    if len(rows) == 2:
        a, h = rows["acnn"]["pckh@0.5"]["Mean"], rows["hourglass"]["pckh@0.5"]["Mean"]
        print(f"ratio ACNN / hourglass PCKh@0.5 Mean: {a / h:.3f}  (target: hourglass or ACNN ≥ 80)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({"settings": settings, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
