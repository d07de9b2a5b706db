"""Claim (issue #15): ``denoise --sigma auto`` never makes an image worse than its input, and the
noise estimate is accurate, on textured, dark, document and binary images.

For every image and sigma in {1, 2, 3, 5, 10, 20, 50}/255 (8-bit quantised, clipped noise, seed 1):
sigma_hat / sigma of nlvision's robust estimator (:func:`nlvision.restoration.estimate_noise`) and
of the anchor ``skimage.restoration.estimate_sigma`` (wavelet MAD), and the PSNR change of
``denoise_dct(z, sigma=None)`` over the noisy input. Targets: PSNR change >= -0.1 dB everywhere;
sigma_hat within 10 % for sigma >= 5 on non-binary images; within 1.5x on binary images at 1-5.

Tuned on: camera, astronaut, brick, hubble (dark), text (document), horse (binary),
astronaut_dark. Held out: coffee, moon, coins, grass, gravel, retina (dark background), page,
binary_blobs, checkerboard, coffee_dark, chelsea_dark. Images are centre crops (``--size``,
default 256) of scikit-image's bundled images; ``<name>_dark`` is the gray image scaled by 0.15
(an under-exposed photograph: at high sigma most of it is clipped at 0).

hubble_deep_field's "clean" image carries sensor noise of its own (sigma_0 = 3.3/255 by the
anchor, skimage's wavelet estimator, on the clean crop), so the noise in z is
sqrt(sigma^2 + sigma_0^2), not sigma: its row also prints sigma_hat / sqrt(sigma^2 + sigma_0^2)
(``tot``), and the 10 % target is checked on that ratio for this image.

Usage: ``python benchmarks/restoration_dct_sigma_auto.py [--size 256] [--images a,b]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

TUNED = ["camera", "astronaut", "brick", "hubble_deep_field", "text", "horse", "astronaut_dark"]
HELD_OUT = ["coffee", "moon", "coins", "grass", "gravel", "retina", "page", "binary_blobs", "checkerboard",
            "coffee_dark", "chelsea_dark"]
#: Images whose clean reference carries noise of its own (sigma_0 measured by the anchor).
NOISY_REFERENCE = ["hubble_deep_field"]
DARK_SCALE = 0.15
CLASS = {"brick": "textured", "grass": "textured", "gravel": "textured", "hubble_deep_field": "dark",
         "retina": "dark", "coffee_dark": "dark", "chelsea_dark": "dark", "astronaut_dark": "dark",
         "text": "document", "page": "document", "horse": "binary",
         "binary_blobs": "binary", "checkerboard": "binary"}
SIGMAS = [1, 2, 3, 5, 10, 20, 50]


def load(name: str, size: int) -> np.ndarray:
    import skimage.data as data
    from skimage.color import rgb2gray

    if name.endswith("_dark"):
        return DARK_SCALE * load(name[: -len("_dark")], size)
    a = data.binary_blobs(rng=0) if name == "binary_blobs" else getattr(data, name)()  # seeded: random by default
    if name == "retina":
        a = a[50:350, 500:900]  # dark background around the fundus
    a = a.astype(np.float64) if a.dtype == bool else (a / 255.0 if a.dtype == np.uint8 else a.astype(np.float64))
    if a.ndim == 3:
        a = rgb2gray(a[..., :3])
    h, w = a.shape
    if size and min(h, w) > size:
        a = a[(h - size) // 2 : (h - size) // 2 + size, (w - size) // 2 : (w - size) // 2 + size]
    return a


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--images", default=",".join(TUNED + HELD_OUT))
    args = ap.parse_args()
    from skimage.restoration import estimate_sigma as sk_sigma

    from nlvision.metrics import psnr
    from nlvision.restoration import add_noise, denoise_dct, estimate_noise

    print(f"load {os.getloadavg()[0]:.1f}; size {args.size}; cells: sigma_hat/sigma (skimage) dPSNR")
    worst, fails = {}, []
    t0 = time.time()
    for name in args.images.split(","):
        y = load(name, args.size)
        kind = CLASS.get(name, "natural")
        cells = []
        sigma0 = float(sk_sigma(y)) * 255 if name in NOISY_REFERENCE else 0.0
        for s in SIGMAS:
            z = add_noise(y, s / 255, rng=1, quantize=255)
            est = estimate_noise(z)
            r = est.sigma * 255 / s
            rs = float(sk_sigma(z)) * 255 / s
            gain = psnr(denoise_dct(z), y) - psnr(z, y)
            cells.append(f"{r:4.2f}({rs:4.2f}){gain:+5.1f}{'L' if est.confidence == 'low' else ''}")
            if sigma0:
                r = est.sigma * 255 / (s**2 + sigma0**2) ** 0.5
                cells[-1] += f" tot {r:4.2f}"
            worst[name] = min(worst.get(name, 99), gain)
            ok_r = (abs(r - 1) <= 0.10 if s >= 5 and kind != "binary" else True) and (
                1 / 1.5 <= r <= 1.5 if kind == "binary" and s <= 5 else True)
            if gain < -0.1 or not ok_r:
                fails.append(f"{name}@{s}: ratio {r:.2f}, dPSNR {gain:+.2f}")
        tag = "tuned" if name in TUNED else "held-out"
        head = f"{name:18s} {kind:9s} {tag:8s} " + (f"sigma_0 {sigma0:.2f}/255 " if sigma0 else "")
        print(head + " ".join(cells), flush=True)
    print(f"misses ({len(fails)}): " + "; ".join(fails))
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
