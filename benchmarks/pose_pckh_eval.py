"""Claim: nlvision's vectorised PCKh reproduces the standard MPII evaluation exactly on the
2,958-person validation split with Tompson et al.'s predictions; the anchor is a plain
per-person / per-joint loop written from the protocol (head size 0.6 × head-box diagonal,
≤ 0.5 × head size, annotated joints only, Mean over 14 joints weighted by count).

    python benchmarks/pose_pckh_eval.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

MAT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mpii" / "detections_our_format.mat"
PARTS = {"Head": (9,), "Shoulder": (12, 13), "Elbow": (11, 14), "Wrist": (10, 15), "Hip": (2, 3), "Knee": (1, 4), "Ankle": (0, 5)}


def loop_reference(raw: dict, threshold: float) -> dict:
    pred, gt, miss, hb = raw["pos_pred_src"], raw["pos_gt_src"], raw["jnt_missing"], raw["headboxes_src"]
    hits, count = [0] * 16, [0] * 16
    for i in range(gt.shape[2]):
        head = 0.6 * math.dist(hb[0, :, i], hb[1, :, i])
        for j in range(16):
            if miss[j, i]:
                continue
            count[j] += 1
            hits[j] += math.dist(pred[j, :, i], gt[j, :, i]) / head <= threshold
    pck = [100.0 * h / c for h, c in zip(hits, count)]
    table = {k: sum(pck[j] for j in v) / len(v) for k, v in PARTS.items()}
    used = [j for j in range(16) if j not in (6, 7)]
    table["Mean"] = sum(pck[j] * count[j] for j in used) / sum(count[j] for j in used)
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mat", type=Path, default=MAT)
    args = ap.parse_args()
    from scipy.io import loadmat

    from nlvision.pose.data import read_gt_valid_mat
    from nlvision.pose.evaluate import pckh

    if not args.mat.is_file():
        raise SystemExit(f"{args.mat}: not found (../shared/data/mpii/detections_our_format.mat)")
    raw = loadmat(str(args.mat))
    gt = read_gt_valid_mat(args.mat)
    reps = 1 if args.quick else 5
    for t in (0.5, 0.1):
        t0 = time.perf_counter()
        for _ in range(reps):
            ref = loop_reference(raw, t)
        t_ref = (time.perf_counter() - t0) / reps
        t0 = time.perf_counter()
        for _ in range(reps):
            ours = pckh(gt.predictions, gt.joints, gt.visible, gt.headboxes, t).table
        t_ours = (time.perf_counter() - t0) / reps
        diff = max(abs(ours[k] - ref[k]) for k in ref)
        print(f"PCKh@{t}: " + "  ".join(f"{k} {v:.2f}" for k, v in ours.items()))
        print(f"  loop reference: " + "  ".join(f"{k} {v:.2f}" for k, v in ref.items()))
        print(f"  max |difference| {diff:.2e}; time {t_ours * 1e3:.1f} ms vs loop {t_ref * 1e3:.1f} ms; speed-up ×{t_ref / t_ours:.1f}")
    from nlvision.pose import score_predictions

    t0 = time.perf_counter()
    end = score_predictions(args.mat, args.mat)  # the `nlvision pose score PRED GT` path: reader + scorer
    print(f"end to end (read_gt_valid_mat → read_predictions → pckh): {end['n']} people, {end['border_joints']} annotated "
          f"border joints kept; Mean@0.5 {end['results'][0.5].mean:.2f}, Mean@0.1 {end['results'][0.1].mean:.2f} "
          f"({(time.perf_counter() - t0) * 1e3:.0f} ms)")
    print("published (seed Table 1, Tompson et al. CVPR'15, MPII *test* set): Head 96.1 Sho 91.9 Elb 83.9 Wri 77.8 Hip 80.9 Knee 72.3 Ank 64.8 Total 82.0")


if __name__ == "__main__":
    main()
