"""Claim: ``predict_pose`` costs ≤ 1.1× one forward pass of the network (≤ 2.2× with the flip
test): crops, decoding and the masks read from the same pass add almost nothing.

Anchor: ``model(x)`` on the same, already-cropped batch, in the same run. Images are given as
decoded arrays (file decoding is I/O, not prediction). Default: the seed's 4-stack, 256-wide
model at 256×256, a batch of 4 images of 480×640.

    python benchmarks/pose_predict_cost.py [--quick] [--threads 2] [--iters 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 stacks, 32 channels, 64 px (smoke run)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()

    import numpy as np
    import torch

    from nlvision.pose import PoseModelConfig, build_pose_model, predict_pose
    from nlvision.pose.data import IMAGENET_MEAN, crop_image, crop_transform

    torch.set_num_threads(args.threads)
    cfg = PoseModelConfig(num_stacks=2, channels=32, input_size=64) if args.quick else PoseModelConfig()
    torch.manual_seed(0)
    model = build_pose_model(cfg).eval()
    rng = np.random.default_rng(0)
    images = [rng.random((480, 640, 3)).astype(np.float32) for _ in range(args.batch)]
    s = cfg.input_size
    crops = [crop_image(im, crop_transform([319.5, 239.5], 640 / 200, s), s) for im in images]
    x = torch.from_numpy(np.ascontiguousarray((np.stack(crops) - IMAGENET_MEAN).transpose(0, 3, 1, 2)))
    print("machine:", platform.machine(), os.cpu_count(), "cores; torch threads", args.threads, "; load average:", os.getloadavg())
    print(f"model: {cfg.num_stacks} stacks, {cfg.channels} channels, {s} px; batch {args.batch} images of 480×640")

    def timed(fn):
        fn()  # warm-up
        best = float("inf")
        for _ in range(args.iters):
            t0 = time.process_time()
            fn()
            best = min(best, time.process_time() - t0)
        return best

    with torch.no_grad():
        fwd = timed(lambda: model(x))
    pred = timed(lambda: predict_pose(model, images, batch_size=args.batch))
    flip = timed(lambda: predict_pose(model, images, batch_size=args.batch, flip=True))
    print(f"one forward pass: {fwd:.3f} CPU s; predict_pose: {pred:.3f} CPU s; predict_pose --flip: {flip:.3f} CPU s "
          f"(best of {args.iters}, process CPU time)")
    print(f"ratio predict / forward: {pred / fwd:.3f} (target ≤ 1.1); with flip: {flip / fwd:.3f} (target ≤ 2.2)")
    print("load average at end:", os.getloadavg())


if __name__ == "__main__":
    main()
