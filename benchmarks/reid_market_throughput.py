"""Throughput of the seed's full-size re-id model (256 × 128, ResNet-50, four NFD blocks, BNNeck):
training steps (forward + backward + Adam) per second in images/s, fp32 and bf16 autocast in the
same run (ratio printed), on the chosen device. Part of the Market-1501 GPU recipe
(``benchmarks/reid_market_gpu.sh``); on CPU use a few iterations only.

Usage: python benchmarks/reid_market_throughput.py [--device cuda|cpu] [--batch 64] [--iters 50] [--arch bot|aligned]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from nlvision.nn.losses import AlignedReIDLoss, ReIDLoss
from nlvision.reid.model import ReidModelConfig, ReidNet


def step_rate(model, loss_fn, x, y, iters: int, autocast: bool) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=3.5e-4)
    dev = x.device.type

    def step():
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=autocast):
            out = model(x)
            args = (out.features, out.logits, y) + ((out.local,) if out.local is not None else ())
            loss = loss_fn(*args)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    if dev == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if dev == "cuda":
        torch.cuda.synchronize()
    return iters * len(x) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--arch", default="bot", choices=["bot", "aligned"])
    a = ap.parse_args()
    torch.manual_seed(0)
    model = ReidNet(ReidModelConfig(num_classes=751, arch=a.arch)).to(a.device).train()
    loss_fn = ReIDLoss() if a.arch == "bot" else AlignedReIDLoss()
    x = torch.rand(a.batch, 3, 256, 128, device=a.device)
    y = torch.arange(a.batch, device=a.device) // 4  # P x K = (batch / 4) x 4
    fp32 = step_rate(model, loss_fn, x, y, a.iters, autocast=False)
    bf16 = step_rate(model, loss_fn, x, y, a.iters, autocast=True)
    print(json.dumps({"arch": a.arch, "device": a.device, "batch": a.batch, "iters": a.iters,
                      "fp32_images_per_s": round(fp32, 1), "bf16_images_per_s": round(bf16, 1),
                      "bf16_over_fp32": round(bf16 / fp32, 2),
                      "market_epoch_s_fp32": round(12936 / fp32, 1)}))


if __name__ == "__main__":
    main()
