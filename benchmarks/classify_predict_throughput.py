"""Batched `classify predict` on a folder of 1,000 small images vs the per-image path it replaces (issue #18).

Usage: ``python benchmarks/classify_predict_throughput.py [--n 1000] [--per-image 200] [--threads 1]``

Anchor (same run, same model, same images, same thread count): the previous ``classify predict``,
which ran every file through the model alone (``run_batch`` → ``predict_images(model, [path])``: decode,
resize, one forward pass of batch 1, softmax, top-k). It is timed on the first ``--per-image`` files and
expressed per image. Candidate: :func:`nlvision.classify.predict_classifier` on the whole folder
(decoding in a Dataset, batches of 256 through Lightning on the CPU). Both include image decoding.
Model: the digits recipe's ResNet-18 layout (16-channel stem, 32×32 input, no upsampling, 0.70 M
parameters), random weights (throughput does not depend on them). Images: 1,000 random 32×32 RGB PNGs.
Prints images/s of both and the ratio (target >= 10).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nlvision.classify import ClassifierModelConfig, ResNetClassifier, digits_recipe, predict_classifier, top_k
from nlvision.classify.data import prepare_image
from nlvision.engine import TrainerConfig
from nlvision.imageio import load_image


def _old_per_image(model, path, k=5):
    """The previous per-file path (predict_images(model, [path]) with its batch of one)."""
    batch = np.stack([prepare_image(load_image(path), model.config.image_size)])
    with torch.no_grad():
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)
        probs = torch.softmax(model(x).float(), dim=1).numpy()
    return {"image": str(path), "top_k": top_k(probs, k, model.config.classes)[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--per-image", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="Alternating repeats; the median ratio is reported.")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    mc, _ = digits_recipe()
    torch.manual_seed(0)
    model = ResNetClassifier(ClassifierModelConfig(**{**mc.to_dict(), "num_classes": 10})).eval()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for i in range(args.n):
            Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")
        files = sorted(folder.iterdir())
        print(f"{platform.machine()} {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, torch {torch.__version__}, "
              f"threads {torch.get_num_threads()}, {args.n} images 32x32, model {mc.backbone}/{mc.width}")
        _old_per_image(model, files[0])  # warm-up
        cfg = TrainerConfig(accelerator="cpu", devices="1", progress=False)
        predict_classifier(model, files[:8], batch_size=8, trainer_config=cfg)  # warm-up
        ratios, old_rates, new_rates = [], [], []
        for rep in range(args.repeats):  # alternate, so a change of machine load hits both
            t0 = time.perf_counter()
            old = [_old_per_image(model, p) for p in files[:args.per_image]]
            old_rate = len(old) / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            preds, failed = predict_classifier(model, [folder], batch_size=256, trainer_config=cfg)
            new_rate = len(preds) / (time.perf_counter() - t0)
            assert not failed and len(preds) == args.n
            same = all(a["top_k"][0]["index"] == b["top_k"][0]["index"] for a, b in zip(old, preds))
            ratios.append(new_rate / old_rate)
            old_rates.append(old_rate)
            new_rates.append(new_rate)
            print(f"repeat {rep}: per-image (previous predict) {old_rate:7.1f} images/s (first {len(old)} files); "
                  f"batched folder predict {new_rate:7.1f} images/s ({len(preds)} files, batch 256); "
                  f"ratio {ratios[-1]:.1f}x; same top-1: {same}")
        print(f"ratio batched / per-image: median {float(np.median(ratios)):.1f}x over {len(ratios)} repeats "
              f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x; target >= 10x); load average now {os.getloadavg()[0]:.2f}")
        print(f"best rate of each over the repeats (least disturbed by other load): per-image {max(old_rates):.1f}, "
              f"batched {max(new_rates):.1f} images/s, ratio {max(new_rates) / max(old_rates):.1f}x")

if __name__ == "__main__":
    main()
