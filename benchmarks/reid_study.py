"""Claim (issue #19): on the synthetic person data (SYNTHETIC), measured with n seeds per row,
95 % confidence intervals and gains paired with the baseline trained with the same seeds, does a
defense (CRE, NFD, CRE+NFD, RE, random grayscale) keep more mAP than the undefended baseline
under DMR — grey-box (queries attacked on a separately seeded source model) and white-box?

Anchor: the undefended baseline of the same target architecture, trained with the same seeds in
the same run; floor: chance mAP (random ranking) on the same split. The conclusion is whatever
the paired CIs say.

Usage:
  python benchmarks/reid_study.py --target bot|aligned [--seeds 3] [--epochs 40]
         [--rows baseline,+CRE,+NFD,+CRE+NFD] [--epsilons 2,4,8,16] [--white-box-epsilons 8]
         [--no-white-box] [--attack dmr-pgd|dmr-gan] [--out DIR]
  python benchmarks/reid_study.py --from-json DIR/results.json   # re-aggregate and print a saved study

Writes DIR/results.json and prints the tables plus the machine and load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from nlvision.atomic import write_json_atomic
from nlvision.reid.study import ROWS, StudyConfig, format_study, run_study, study_result_from_dict


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="bot", choices=["bot", "aligned"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--epsilons", default="2,4,8,16")
    ap.add_argument("--white-box-epsilons", default=None)
    ap.add_argument("--no-white-box", action="store_true", help="grey-box table only (e.g. for dmr-gan: a generator per model and eps otherwise)")
    ap.add_argument("--attack", default="dmr-pgd")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--from-json", default=None, help="print the tables of a saved results.json (no training)")
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            saved = json.load(f)
        print(format_study(study_result_from_dict(saved)))
        print(f"wall {saved['machine']['wall_s']:.0f} s" if "machine" in saved else "")
        return
    torch.set_num_threads(a.threads)
    cfg = StudyConfig(target=a.target, n_seeds=a.seeds, epochs=a.epochs, rows=tuple(a.rows.split(",")), attack=a.attack,
                      white_box=not a.no_white_box,
                      epsilons=tuple(float(e) for e in a.epsilons.split(",")),
                      white_box_epsilons=tuple(float(e) for e in a.white_box_epsilons.split(",")) if a.white_box_epsilons else None)
    out = a.out or f"runs/reid_study_{a.target}"
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    res = run_study(cfg, out, log=lambda s: print(s, flush=True))
    wall = time.perf_counter() - t0
    d = res.as_dict() | {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": a.threads,
                                     "load_before": load0, "load_after": os.getloadavg(), "wall_s": round(wall, 1)}}
    write_json_atomic(os.path.join(out, "results.json"), d)
    print(format_study(res))
    print(f"wall {wall:.0f} s; load average before {load0[0]:.1f}, after {os.getloadavg()[0]:.1f}; results in {out}/results.json")
    print(json.dumps({"target": a.target, "wall_s": round(wall, 1)}))


if __name__ == "__main__":
    main()
