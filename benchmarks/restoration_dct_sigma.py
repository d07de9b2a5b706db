"""Claim: the default noise estimator (patch PCA on weak-texture, unsaturated patches) has a
worst relative error <= 10 % and a mean absolute relative error at most half of
scikit-image's estimate_sigma on camera, astronaut (gray), coffee (gray), brick and moon at
sigma in {5, 10, 20, 30, 50}/255, noise clipped to [0, 1] and quantised to 8 bits. The seed's
MAD estimator is reported too.

Usage: python benchmarks/restoration_dct_sigma.py [--quick]   (--quick: one noise draw, else 3)
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from skimage import color, data
from skimage.restoration import estimate_sigma as sk_estimate_sigma

from nlvision.restoration import add_noise, estimate_sigma

SIGMAS = (5, 10, 20, 30, 50)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    draws = 1 if args.quick else 3
    images = {
        "camera": data.camera() / 255.0,
        "astronaut (gray)": color.rgb2gray(data.astronaut()),
        "coffee (gray)": color.rgb2gray(data.coffee()),
        "brick": data.brick() / 255.0,
        "moon": data.moon() / 255.0,
    }
    names = ("pca (default)", "mad (seed)", "skimage")
    errors = {n: [] for n in names}
    times = {n: 0.0 for n in names}
    print(f"relative error sigma_hat / sigma - 1 ({draws} noise draw(s) each; 8-bit, clipped)")
    print(f"{'image':18s} {'sigma':>5s} " + " ".join(f"{n:>14s}" for n in names))
    for name, img in images.items():
        for s in SIGMAS:
            for d in range(draws):
                z = add_noise(img, s / 255, rng=1000 * d + s, quantize=255)
                row = []
                for n, fn in zip(
                    names,
                    (lambda z: estimate_sigma(z), lambda z: estimate_sigma(z, method="mad"), lambda z: float(sk_estimate_sigma(z))),
                ):
                    t = time.perf_counter()
                    e = fn(z) * 255 / s - 1
                    times[n] += time.perf_counter() - t
                    errors[n].append(e)
                    row.append(e)
                print(f"{name:18s} {s:5d} " + " ".join(f"{e:+14.3f}" for e in row))
    print()
    print(f"{'estimator':16s} {'worst |rel err|':>16s} {'mean |rel err|':>15s} {'mean signed':>12s} {'time s':>8s}")
    for n in names:
        e = np.asarray(errors[n])
        print(f"{n:16s} {np.abs(e).max():16.3f} {np.abs(e).mean():15.3f} {e.mean():+12.3f} {times[n]:8.2f}")
    ours = np.abs(errors["pca (default)"]).mean()
    sk = np.abs(errors["skimage"]).mean()
    print()
    print(f"worst |rel err| ours           : {np.abs(errors['pca (default)']).max():.3f} (target <= 0.10)")
    print(f"mean |rel err| ours / skimage  : {ours / sk:.3f} (target <= 0.5)")
    print(f"mean |rel err| mad / skimage   : {np.abs(errors['mad (seed)']).mean() / sk:.3f}")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
