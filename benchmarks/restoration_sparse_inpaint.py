"""Claim: the lecture's masked-dictionary OMP inpainting beats scikit-image's
``inpaint_biharmonic`` and OpenCV's ``cv2.inpaint`` (Telea) in PSNR on random masks (50 %, 80 %
missing) of camera and astronaut (gray); text masks reported too, with times.

Usage: ``python benchmarks/restoration_sparse_inpaint.py [--quick]`` (quick: camera only,
256x256 centre crop). Single-threaded.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def psnr(a: np.ndarray, ref: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(ref, np.clip(a, 0, 1), data_range=1.0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import skimage.data
    from skimage.restoration import inpaint_biharmonic

    from nlvision.imageio import to_float, to_gray
    from nlvision.restoration.inpaint import inpaint, random_mask, text_mask

    try:
        import cv2
    except ImportError:
        cv2 = None
    cv2.setNumThreads(1) if cv2 is not None else None
    images = {"camera": to_float(skimage.data.camera()),
              "astronaut": to_gray(to_float(skimage.data.astronaut()))}
    if args.quick:
        images = {"camera": images["camera"][128:384, 128:384]}
    print(f"{'image':10s} {'mask':9s} {'miss%':>6s} | {'ours dB':>8s} {'s':>6s} | {'biharm dB':>9s} {'s':>6s} | "
          f"{'Telea dB':>8s} {'s':>6s} | ours-best(baseline) dB")
    for name, y in images.items():
        masks = {"random50": random_mask(y.shape, 0.5, seed=0), "random80": random_mask(y.shape, 0.8, seed=0),
                 "text": text_mask(y.shape, 0.15, seed=0)}
        for mname, m in masks.items():
            z = np.where(m, 0.0, y)
            t0 = time.perf_counter()
            ours = inpaint(z, m)
            t_o = time.perf_counter() - t0
            t0 = time.perf_counter()
            bih = inpaint_biharmonic(z, m)
            t_b = time.perf_counter() - t0
            if cv2 is not None:
                z8 = np.round(z * 255).astype(np.uint8)
                t0 = time.perf_counter()
                tel = cv2.inpaint(z8, m.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(float) / 255
                t_t = time.perf_counter() - t0
                p_t = psnr(tel, y)
            else:
                p_t, t_t = float("nan"), float("nan")
            p_o, p_b = psnr(ours, y), psnr(bih, y)
            print(f"{name:10s} {mname:9s} {100 * m.mean():6.1f} | {p_o:8.2f} {t_o:6.1f} | {p_b:9.2f} {t_b:6.1f} | "
                  f"{p_t:8.2f} {t_t:6.2f} | {p_o - np.nanmax([p_b, p_t]):+.2f}", flush=True)


if __name__ == "__main__":
    main()
