"""Claim: the VSI runs in bounded memory and time on large and elongated images (#17, #14).

Each case runs in its own subprocess so its peak RSS (``ru_maxrss``) is its own: the pair is
built in memory (camera tiled/resized, encrypted by ``block_shuffle`` 0.5), then scored with
the default configuration (shift-robust search, fine edge scale). Anchor in the same run:
today's code (commit 520ec9c, ``--old PATH`` to its ``src``), paper grid only.
Targets: 2048² < 1 GB and < 5 CPU-s; 512² < 1 s.

Usage: ``python benchmarks/security_vsi_scale.py --old /tmp/oldcode/src [--big]`` (--big adds
8000x8000, default code only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
import skimage.data
from skimage.transform import resize
h, w = int(sys.argv[1]), int(sys.argv[2])
cam = skimage.data.camera() / 255.0
reps = (-(-h // 512), -(-w // 512))
plain = np.tile(cam, reps)[:h, :w] if max(h, w) > 512 else resize(cam, (h, w), anti_aliasing=True)
from nlvision.security.encryption import encrypt
from nlvision.security.vsi import vsi
enc = encrypt(plain, "block_shuffle", 0.5, key=1)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, c = time.perf_counter(), time.process_time()
r = vsi(plain, enc)
out = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c, "vsi": r.vsi,
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mb": base / 1024}
print(json.dumps(out))
"""


def run(src: str, h: int, w: int, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1")
    try:
        p = subprocess.run([sys.executable, "-c", CHILD, str(h), str(w)], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1][:80]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    old = argv[argv.index("--old") + 1] if "--old" in argv else None
    new = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    cases = [(512, 512), (2048, 2048), (256, 4096)] + ([(8000, 8000)] if "--big" in argv else [])
    print(f"VSI scale benchmark; load {os.getloadavg()}; {os.cpu_count()} CPUs; OMP_NUM_THREADS=1")
    print(f"{'case':>11s} {'code':>16s} {'wall s':>8s} {'CPU s':>7s} {'peak RSS MB':>12s} {'VSI':>7s}")
    for h, w in cases:
        rows = [("default (new)", run(new, h, w, 1200))]
        if old and h * w <= 2048 * 2048:
            rows.append(("today 520ec9c", run(old, h, w, 600)))
        for name, r in rows:
            if "error" in r:
                print(f"{h}x{w:<6d} {name:>16s} {r['error']}")
            else:
                print(f"{h}x{w:<6d} {name:>16s} {r['wall_s']:8.2f} {r['cpu_s']:7.2f} {r['peak_rss_mb']:12.0f} {r['vsi']:7.3f}")
        if len(rows) == 2 and "error" not in rows[0][1] and "error" not in rows[1][1]:
            a, b = rows[0][1], rows[1][1]
            print(f"{'':11s} {'ratio new/today':>16s} {a['wall_s'] / b['wall_s']:8.2f} {a['cpu_s'] / b['cpu_s']:7.2f} {a['peak_rss_mb'] / b['peak_rss_mb']:12.2f}")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
