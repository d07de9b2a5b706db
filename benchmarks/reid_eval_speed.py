"""Claim: the vectorised Market-1501 evaluation handles a Market-size problem (3,368 queries ×
15,913 gallery images) in under 3 s on 2 cores, against the widely used per-query Python loop.

Both are run in the same process on the same random distance matrix (ids and cameras drawn like
Market's: 750 test identities + distractors, 6 cameras). The anchor is a per-query loop written
here in the style of the common ``eval_market1501`` function (full-matrix argsort, then for each
query: remove same id + same camera, cumulative sums, AP). ``--quick`` times the loop on a
subset of queries and extrapolates linearly (the loop's cost is linear in the number of
queries); the vectorised code always runs on the full problem. Results must agree.

Usage: python benchmarks/reid_eval_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time

import numpy as np

from nlvision.reid.evaluate import evaluate_ranking


def per_query_loop(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """The classic per-query loop (anchor)."""
    indices = np.argsort(distmat, axis=1)
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc, all_ap = [], []
    for i in range(distmat.shape[0]):
        order = indices[i]
        remove = (g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i])
        raw = matches[i][~remove]
        if not raw.any():
            continue
        cmc = raw.cumsum()
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank])
        n_rel = raw.sum()
        tmp = raw.cumsum() / (np.arange(len(raw)) + 1.0)
        all_ap.append((tmp * raw).sum() / n_rel)
    return float(np.mean(all_ap)), np.asarray(all_cmc, dtype=np.float64).mean(0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="time the loop on 400 queries and extrapolate")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    nq, ng = 3368, 15913
    q_pids = rng.integers(1, 751, nq)
    g_pids = rng.integers(0, 751, ng)
    q_cam, g_cam = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    dist = (rng.random((nq, ng), dtype=np.float32) + 0.35 * (q_pids[:, None] != g_pids[None])).astype(np.float32)

    t = time.perf_counter()
    m = evaluate_ranking(dist, q_pids, g_pids, q_cam, g_cam, workers=2)
    t_vec = time.perf_counter() - t

    sub = 400 if args.quick else nq
    t = time.perf_counter()
    loop_map, loop_cmc = per_query_loop(dist[:sub], q_pids[:sub], g_pids, q_cam[:sub], g_cam)
    t_loop = (time.perf_counter() - t) * nq / sub
    ref = evaluate_ranking(dist[:sub], q_pids[:sub], g_pids, q_cam[:sub], g_cam, workers=2)
    agree = abs(ref.mAP - loop_map) < 1e-9 and np.allclose(ref.cmc, loop_cmc)

    load = os.getloadavg()
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"problem: {nq} queries x {ng} gallery (random distances, Market-like ids/cameras)")
    print(f"vectorised evaluate_ranking: {t_vec:.2f} s  (mAP {m.mAP:.4f}, R1 {m.rank(1):.4f})")
    print(f"per-query loop{' (extrapolated from %d queries)' % sub if sub < nq else ''}: {t_loop:.2f} s")
    print(f"speed-up (loop / vectorised): {t_loop / t_vec:.1f}x   results agree: {agree}")
    print(f"target < 3 s: {'met' if t_vec < 3 else 'NOT met'}")
    try:
        print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    except OSError:
        pass


if __name__ == "__main__":
    main()
