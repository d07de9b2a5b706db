"""Claim: the vectorised VSI scores a 512x512 pair in under 1 s on 2 cores.

Anchor (same run): ``nlvision.security.vsi.vsi_loop``, the straightforward implementation with
Python loops over every (plain block, encrypted block) pair of the paper's grid (``PAPER``;
the default shift-robust search is timed by ``security_vsi_scale.py``) (per-pair scipy DCTs, per-pixel
Minkowski mean, per-block distance transform). Both are checked to give the same VSI.

Usage: ``python benchmarks/security_vsi_speed.py [--quick]`` (quick: 256x256 and fewer repeats).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time


def main(argv: list[str]) -> int:
    import numpy as np
    import skimage.data
    from skimage.transform import resize

    from nlvision.security.encryption import encrypt
    from nlvision.security.vsi import PAPER, vsi, vsi_loop

    quick = "--quick" in argv
    side = 256 if quick else 512
    repeats = 3 if quick else 7
    plain = skimage.data.camera() / 255.0
    if side != 512:
        plain = resize(plain, (side, side), anti_aliasing=True)
    cases = {
        "block_shuffle s=0.5": encrypt(plain, "block_shuffle", 0.5, key=1),
        "msb_xor s=1": encrypt(plain, "msb_xor", 1.0, key=1),
    }
    print(f"VSI speed, {side}x{side} pairs, machine: {platform.machine()} {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"{'case':22s} {'vectorised s':>13s} {'(CPU s)':>8s} {'loop s':>9s} {'(CPU s)':>8s} {'speed-up':>9s} {'VSI':>8s} {'VSI loop':>9s}")
    worst = 0.0
    for name, enc in cases.items():
        vsi(plain, enc, PAPER)  # warm-up (harmonic kernels are cached)
        times, cpu = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            r = vsi(plain, enc, PAPER)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        ref = vsi_loop(plain, enc, PAPER)
        t_loop, c_loop = time.perf_counter() - t, time.process_time() - c
        med = statistics.median(times)
        worst = max(worst, med)
        if not np.isclose(r.vsi, ref, rtol=1e-6):
            print(f"MISMATCH {name}: {r.vsi} vs {ref}")
            return 1
        print(f"{name:22s} {med:13.3f} {statistics.median(cpu):8.3f} {t_loop:9.2f} {c_loop:8.2f} {t_loop / med:8.1f}x {r.vsi:8.4f} {ref:9.4f}")
    print(f"median wall time per {side}x{side} pair (worst case): {worst:.3f} s  (target < 1 s at 512x512);"
          " CPU s = process time summed over threads, independent of other users' load")
    print(f"uptime load average after the run: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
