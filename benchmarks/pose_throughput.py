"""Claim: inference throughput (images/s) of the 4-stack, 256-wide ACNN at 256×256 on CPU, with
the plain 4-stack hourglass (Newell et al.) as the anchor in the same run.

    python benchmarks/pose_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def measure(model, x, iters: int) -> tuple[float, float]:
    """(images per wall second, images per process-CPU second); the second is less sensitive
    to other processes sharing the cores."""
    import torch

    with torch.no_grad():
        model(x)  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            model(x)
        n = iters * x.shape[0]
        return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()

    import torch

    from nlvision.nn.hourglass import HourglassConfig, StackedHourglass

    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    batch, iters = (1, 1) if args.quick else (args.batch, args.iters)
    print("machine:", platform.machine(), os.cpu_count(), "cores,", f"torch threads {args.threads}, device {device}")
    print("load average at start:", os.getloadavg())
    x = torch.randn(batch, 3, 256, 256, device=device)
    rates = {}
    for name, attention in (("hourglass", False), ("acnn", True)):
        torch.manual_seed(0)
        model = StackedHourglass(HourglassConfig(num_stacks=4, channels=256, attention=attention)).to(device).eval()
        params = sum(p.numel() for p in model.parameters())
        rates[name] = measure(model, x, iters)
        wall, cpu = rates[name]
        print(f"{name:<10} 4 stacks, 256 channels, {params / 1e6:.2f} M parameters: {wall:.3f} images/s wall, "
              f"{cpu:.3f} images per CPU-second (batch {batch}, {iters} iterations)")
    print(f"ratio ACNN / hourglass throughput: wall {rates['acnn'][0] / rates['hourglass'][0]:.3f}, "
          f"CPU time {rates['acnn'][1] / rates['hourglass'][1]:.3f}")
    print("load average at end:", os.getloadavg())


if __name__ == "__main__":
    main()
