"""Claim: a 2-stack hourglass at reduced width reaches PCKh@0.5 ≥ 80 on the synthetic figures
within 10 minutes on 2 CPU cores; ACNN vs the plain stacked hourglass under the same budget.

Three runs on the same data, seed and wall-clock budget (SYNTHETIC data):

* ``hourglass-A``  plain stacked hourglass trained with the seed's phase-A schedule alone
  (RMSProp, lr ÷10 at 60 % and 85 % of the epochs) — Newell et al.'s single-phase recipe;
* ``hourglass``    plain stacked hourglass with the seed's full A → B → C schedule (every phase
  trains the whole network), i.e. exactly ACNN's schedule without masks;
* ``acnn``         ACNN with the A → B → C schedule of section 3.3.

Each run stops at ``--wall-budget`` seconds (default 600) whatever phase it is in; the epochs
are chosen so that a quiet 2-core machine finishes every phase within it. Prints the PCKh
tables and the ACNN / hourglass ratios.

    python benchmarks/pose_synthetic_pckh.py [--quick] [--only acnn] [--threads 2] [--wall-budget 600]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

#: name → (attention, phase, epoch_scale). 0.075 × 200 = 15 epochs of phase A; 0.03 × (200, 200,
#: 100) = 6 / 6 / 3 epochs of A / B / C (phase B is cheaper: only the 1×1 mask convolutions train).
RUNS = {
    "hourglass-A": (False, "A", 0.075),
    "hourglass": (False, "all", 0.03),
    "acnn": (True, "all", 0.03),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny settings (smoke run, a few seconds)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr-scale", type=float, default=None, help="multiplies the seed's learning rates (default 4)")
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_pose"))
    ap.add_argument("--only", choices=sorted(RUNS), action="append", default=None, help="run only these (repeatable)")
    ap.add_argument("--wall-budget", type=float, default=600.0, help="wall seconds per model (10 min)")
    ap.add_argument("--cpu-budget", type=float, default=None, help="process CPU seconds per model (optional extra cap)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from nlvision.engine import TrainerConfig
    from nlvision.pose.evaluate import TABLE_PARTS
    from nlvision.pose.train import PoseTrainConfig, make_loaders, train_pose

    if args.quick:
        settings = dict(num_stacks=2, channels=16, input_size=64, lr_scale=4.0, batch_size=12, n_train=48, n_valid=24)
        scale = {name: 0.005 for name in RUNS}
    else:
        settings = dict(num_stacks=2, channels=32, input_size=128, lr_scale=4.0, batch_size=12, n_train=2000, n_valid=300)
        scale = {name: s for name, (_, _, s) in RUNS.items()}
    if args.lr_scale is not None:
        settings["lr_scale"] = args.lr_scale
    if args.n_train is not None:
        settings["n_train"] = args.n_train
    print("settings:", settings, f"threads={args.threads}", f"wall budget {args.wall_budget:g} s", "data=synthetic (SYNTHETIC)")
    print("machine:", platform.machine(), os.cpu_count(), "cores; load average at start:", os.getloadavg())
    loaders = make_loaders(PoseTrainConfig(data="synthetic", seed=0, **settings))
    trainer = TrainerConfig(progress=False, accelerator="cpu", devices="1", log_every_n_steps=10)
    rows = {}
    for name, (attention, phase, _) in RUNS.items():
        if args.only and name not in args.only:
            continue
        cfg = PoseTrainConfig(data="synthetic", seed=0, attention=attention, phase=phase, epoch_scale=scale[name], **settings)
        t0, c0 = time.perf_counter(), time.process_time()
        res = train_pose(cfg, trainer, args.out / name, loaders=loaders, cpu_budget_s=args.cpu_budget, wall_budget_s=args.wall_budget)
        cpu, sec = time.process_time() - c0, time.perf_counter() - t0
        t5, t1 = res["metrics"]["pckh@0.5"]["table"], res["metrics"]["pckh@0.1"]["table"]
        rows[name] = {"seconds": sec, "cpu_seconds": cpu, "epoch_scale": scale[name], "phase": phase,
                      "pckh@0.5": t5, "pckh@0.1": t1, "phases": res["phases"]}
        print(f"{name}: {sec:.0f} s wall, {cpu:.0f} s process CPU (training + final evaluation), load average now {os.getloadavg()}")
        print("  phases:", res["phases"])
    print(f"{'model':<12}" + "".join(f"{k:>9}" for k in (*TABLE_PARTS, "Mean")) + f"{'@0.1':>8}{'wall s':>8}{'cpu s':>7}")
    for name, r in rows.items():
        print(f"{name:<12}" + "".join(f"{r['pckh@0.5'][k]:9.2f}" for k in (*TABLE_PARTS, "Mean"))
              + f"{r['pckh@0.1']['Mean']:8.2f}{r['seconds']:8.0f}{r['cpu_seconds']:7.0f}")
    means = {name: r["pckh@0.5"]["Mean"] for name, r in rows.items()}
    for base in ("hourglass", "hourglass-A"):
        if "acnn" in means and base in means:
            print(f"ratio ACNN / {base} PCKh@0.5 Mean: {means['acnn'] / means[base]:.3f}")
    if means:
        best = max(means, key=means.get)
        print(f"best: {best} {means[best]:.2f} (target ≥ 80 within {args.wall_budget:g} s)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({"settings": settings, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
