"""Claim: denoise_dct on a 4096 x 4096 image runs with bounded memory (peak below 1 GiB),
with no NaN; the dask path (map_overlap) gives the same result.

Peak memory is the process's maximum resident set size (getrusage), measured in a fresh
subprocess per variant, minus the resident size after imports and after building the input
(so it is what the denoising itself adds); the total is printed too.

Usage: python benchmarks/restoration_dct_memory.py [--quick]   (--quick: no dask run)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
from nlvision.restoration import denoise_dct, denoise_dct_dask
n, variant = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
i = np.arange(n, dtype=np.float32)
clean = (0.5 + 0.25 * np.sin(i[:, None] / 37.0) * np.cos(i[None, :] / 53.0)).astype(np.float64)
noisy = clean + rng.normal(0, 20 / 255, clean.shape)
del clean
def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
base = rss()
t = time.perf_counter()
if variant == "numpy":
    out = denoise_dct(noisy, 20 / 255)
else:
    import dask
    dask.config.set(scheduler="threads", num_workers=2)
    out = denoise_dct_dask(noisy, 20 / 255, chunks=1024)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak": peak, "base": base, "nan": int(np.isnan(out).sum()), "checksum": float(out[::97, ::89].sum())}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--size", type=int, default=4096)
    args = ap.parse_args()
    variants = ["numpy"] if args.quick else ["numpy", "dask"]
    results = {}
    for v in variants:
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.size), v], capture_output=True, text=True, check=True)
        results[v] = json.loads(out.stdout.strip().splitlines()[-1])
    gib = 1024**3
    print(f"{args.size}x{args.size} float64 input, sigma = 20/255, 8x8, 3 sigma, uniform aggregation")
    print(f"{'variant':8s} {'time s':>8s} {'peak RSS GiB':>13s} {'added by denoising GiB':>23s} {'NaN':>5s}")
    for v, r in results.items():
        print(f"{v:8s} {r['seconds']:8.2f} {r['peak'] / gib:13.3f} {(r['peak'] - r['base']) / gib:23.3f} {r['nan']:5d}")
    r = results["numpy"]
    print()
    print(f"peak added by denoise_dct: {(r['peak'] - r['base']) / gib:.3f} GiB (target < 1 GiB; the input alone is {args.size**2 * 8 / gib:.3f} GiB)")
    if "dask" in results:
        print(f"dask / numpy checksum difference: {abs(results['dask']['checksum'] - r['checksum']):.2e}; time ratio {results['dask']['seconds'] / r['seconds']:.2f}")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
