"""Digits trained from scratch on the CPU: time and test accuracy against the issue's target.

Usage: ``python benchmarks/classify_digits.py [--quick] [--threads N] [--epochs E]``

Target (issue 6): >= 98 % test accuracy in <= 5 minutes on 2 CPU cores. Anchor in the same run:
scikit-learn's SVC (RBF kernel, gamma=0.001, C=10) on the raw 8x8 pixels (0..16 scale) of the same
split - the classic digits baseline. Printed ratios: training time / 300 s budget, ResNet accuracy / SVC accuracy.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from nlvision.classify.data import load_digits
from nlvision.classify import digits_recipe, train_classifier
from nlvision.engine import TrainerConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    epochs = args.epochs or (8 if args.quick else 20)

    from sklearn.svm import SVC

    raw = load_digits(image_size=8)
    t0 = time.perf_counter()
    def feats(x):
        return x[..., 0].reshape(len(x), -1) / 255.0 * 16.0  # scikit-learn's original 0..16 pixel scale

    svc = SVC(gamma=0.001, C=10).fit(feats(raw.x_train), raw.y_train)
    svc_acc = float((svc.predict(feats(raw.x_test)) == raw.y_test).mean())
    svc_s = time.perf_counter() - t0

    mc, tc = digits_recipe()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = train_classifier("digits", tmp, model_config=mc, train_config=tc,
                             trainer_config=TrainerConfig(epochs=epochs, progress=False, accelerator="cpu", devices="1", seed=0))
        total = time.perf_counter() - t0
    print(f"settings: resnet18 layout, width {mc.width}, input {mc.image_size}x{mc.image_size}, upsample_steps "
          f"{mc.upsample_steps}, {r['trainable_parameters']:,} parameters, epochs {epochs}, batch {tc.batch_size}, "
          f"SGD lr {tc.lr} momentum {tc.momentum} wd {tc.weight_decay} cosine, flip off, threads {torch.get_num_threads()}")
    print("| method | test accuracy | time (s) |")
    print("|---|---|---|")
    print(f"| ResNet-18/16 from scratch ({epochs} epochs) | {100 * r['accuracy']:.2f} % | {r['train_seconds']:.0f} (fit) / {total:.0f} (total) |")
    print(f"| SVC rbf on raw pixels (anchor) | {100 * svc_acc:.2f} % | {svc_s:.1f} |")
    print(f"time ratio (fit / 300 s budget): {r['train_seconds'] / 300:.2f}  -> target {'met' if r['train_seconds'] <= 300 else 'MISSED'}")
    print(f"accuracy {100 * r['accuracy']:.2f} % vs 98 % target -> {'met' if r['accuracy'] >= 0.98 else 'MISSED'}; "
          f"ratio to SVC anchor {r['accuracy'] / svc_acc:.3f}")
    worst = min(r["per_class_accuracy"].items(), key=lambda kv: kv[1])
    print(f"worst class {worst[0]}: {100 * worst[1]:.1f} %; per class: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in r["per_class_accuracy"].items()))


if __name__ == "__main__":
    main()
