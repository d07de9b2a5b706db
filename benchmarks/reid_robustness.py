"""Claim: on the synthetic person data (SYNTHETIC), the DMR attack cuts the undefended
baseline's mAP by at least 80 % of its clean value, and CRE, NFD and CRE+NFD recover part of it
(seed Tables 1 and 3, reduced CPU configuration; the whole table in <= 15 min on 2 CPU cores).

Anchor: the undefended baseline, clean and under attack, trained in the same run. Ratios:
``drop = 1 - attacked/clean`` for the baseline, ``recovery = attacked mAP of the defense /
clean mAP of the baseline`` for each defense.

Usage: python benchmarks/reid_robustness.py [--quick] [--attack dmr-pgd|dmr-gan] [--source baseline|self]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time

import torch

from nlvision.reid.robustness import RobustnessConfig, format_table, run_robustness


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 epochs, rows baseline and +CRE+NFD only")
    ap.add_argument("--attack", default="dmr-pgd")
    ap.add_argument("--source", default="baseline")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="runs/bench_reid_robustness")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = RobustnessConfig(attack=args.attack, source=args.source)
    if args.quick:
        cfg.epochs = 3
        cfg.rows = ("baseline", "+CRE+NFD")
    start = time.perf_counter()
    res = run_robustness(cfg, args.out, log=print)
    total = time.perf_counter() - start
    print(format_table(res))
    clean = res.rows[0]["clean"]["mAP"]
    attacked = res.rows[1]["attacked"]["mAP"]
    drop = 1 - attacked / clean if clean else float("nan")
    print(f"baseline mAP drop under attack: {100 * drop:.1f} % of its clean value (target >= 80 %: {'met' if drop >= 0.8 else 'NOT met'})")
    for r in res.rows[2:]:
        print(f"{r['row']:<20} attacked mAP / clean baseline mAP = {r['attacked']['mAP'] / clean:.2f}   "
              f"(vs undefended under attack: {r['attacked']['mAP'] / max(attacked, 1e-9):.1f}x)")
    load = os.getloadavg()
    print(f"total {total:.0f} s on {platform.machine()} {os.cpu_count()} CPUs ({args.threads} torch threads), "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    try:
        print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    except OSError:
        pass
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({**res.as_dict(), "total_seconds": total}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
