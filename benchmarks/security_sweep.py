"""The seed's parameter study (sec. 3.4, Fig. 3) on the embedded ladder, and the eq. 6 reading.

1. α from 0.05 to 0.25 in steps of 0.05 at β = 40, and β from 10 to 60 at α = 0.1: mean over
   schemes of the per-image SROCC(strength, -VSI) on held-out ladder images (the same numbers
   ``nlvision vsi evaluate --sweep`` gives on a database with subjective scores).
2. Eq. 6 as printed (``pooling="literal"``) vs the normalised weighted Minkowski mean (default),
   same images: the measured case for the reading documented in docs/security.md.

Usage: ``python benchmarks/security_sweep.py [--side 128] [--images text,brick,clock]``
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

import numpy as np


def ladder_srocc(imgs, encs, cfg):
    from scipy.stats import spearmanr

    from nlvision.security.encryption import SCHEMES
    from nlvision.security.ladder import STRENGTHS
    from nlvision.security.vsi import vsi

    per = {}
    for sc in SCHEMES:
        vals = []
        for name, img in imgs.items():
            v = [vsi(img, encs[(name, sc, s)], cfg).vsi for s in STRENGTHS]
            vals.append(0.0 if np.ptp(v) == 0 else spearmanr(STRENGTHS, -np.array(v))[0])
        per[sc] = float(np.mean(vals))
    return float(np.mean(list(per.values()))), per


def main(argv):
    from nlvision.security.databases import SWEEP_ALPHAS, SWEEP_BETAS
    from nlvision.security.encryption import SCHEMES, encrypt
    from nlvision.security.ladder import STRENGTHS, bundled_gray_images
    from nlvision.security.vsi import VSIConfig

    side = int(argv[argv.index("--side") + 1]) if "--side" in argv else 128
    names = argv[argv.index("--images") + 1].split(",") if "--images" in argv else ["text", "brick", "clock"]
    imgs = bundled_gray_images(names, max_side=side)
    encs = {(n, sc, s): encrypt(img, sc, s, key=0) for n, img in imgs.items() for sc in SCHEMES for s in STRENGTHS}
    print(f"parameter study on the ladder: {', '.join(names)} at {side} px (held out), {len(encs)} pairs per setting; load {os.getloadavg()}")
    base = VSIConfig()
    t = time.process_time()
    for which, grid in (("alpha", SWEEP_ALPHAS), ("beta", SWEEP_BETAS)):
        for v in grid:
            cfg = replace(base, alpha=v, beta=40.0) if which == "alpha" else replace(base, alpha=0.1, beta=v)
            mean, _ = ladder_srocc(imgs, encs, cfg)
            print(f"  {which} {v:5g} ({'beta 40' if which == 'alpha' else 'alpha 0.1'}): mean SROCC {mean:.3f}", flush=True)
    print(f"  ({time.process_time() - t:.0f} CPU-s)")
    print("\neq. 6 reading (per-scheme mean SROCC; positive = orders encryption strength correctly)")
    for name, cfg in (("normalised (default)", base), ("literal as printed", replace(base, pooling="literal"))):
        mean, per = ladder_srocc(imgs, encs, cfg)
        print(f"  {name:22s} mean {mean:+.3f}  " + " ".join(f"{k}={v:+.2f}" for k, v in per.items()), flush=True)
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
