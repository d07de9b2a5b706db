"""Training and inference throughput (images/s) of ResNet-18 and ResNet-50 at 32x32 and 224x224.

Usage: ``python benchmarks/classify_throughput.py [--quick] [--threads N]``

On the CPU the anchor is the same model in the default (contiguous) memory format, compared in
the same run with channels-last. On a CUDA machine the anchor is plain fp32, compared with
channels-last + bf16 autocast (the issue's GPU protocol). A training step is forward + cross-
entropy + backward + SGD step on a full (unfrozen) network; inference is forward under no_grad
in eval mode. Ratios printed: channels-last(/bf16) over the anchor, and 224x224 over 32x32 cost.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from nlvision.nn.resnet import build_resnet


def _bench(model, x, y, *, train: bool, iters: int, autocast_dtype=None) -> float:
    dev = x.device
    opt = torch.optim.SGD(model.parameters(), lr=0.01) if train else None
    model.train(train)

    def step():
        ctx = torch.autocast(dev.type, dtype=autocast_dtype) if autocast_dtype is not None else torch.autocast(dev.type, enabled=False)
        if train:
            opt.zero_grad(set_to_none=True)
            with ctx:
                loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad(), ctx:
                model(x)

    step()  # warm-up (allocations, kernel selection)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return x.shape[0] * iters / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if cuda else "cpu")
    print(f"device {dev} ({torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine()}), "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if cuda:
        batches = {32: 256, 224: 64}
        iters = 5 if args.quick else 20
    else:
        batches = {32: 32, 224: 4} if args.quick else {32: 64, 224: 8}
        iters = 2 if args.quick else 3
    variants = [("fp32", False, None), ("channels-last+bf16" if cuda else "channels-last", True, torch.bfloat16 if cuda else None)]
    rows = []
    for name in ("resnet18", "resnet50"):
        for size in (32, 224):
            b = batches[size]
            g = torch.Generator().manual_seed(0)
            x0 = torch.randn(b, 3, size, size, generator=g)
            y = torch.randint(0, 10, (b,), generator=g).to(dev)
            for mode in ("train", "infer"):
                res = {}
                for vname, cl, dt in variants:
                    torch.manual_seed(0)
                    model = build_resnet(name, num_classes=10).to(dev)
                    x = x0.to(dev)
                    if cl:
                        model = model.to(memory_format=torch.channels_last)
                        x = x.contiguous(memory_format=torch.channels_last)
                    res[vname] = _bench(model, x, y, train=mode == "train", iters=iters, autocast_dtype=dt)
                a, bname = variants[0][0], variants[1][0]
                rows.append((name, size, mode, b, res[a], res[bname], res[bname] / res[a]))
                print(f"{name:9s} {size:4d}px {mode:5s} batch {b:3d}: {a} {res[a]:8.1f} img/s | {bname} {res[bname]:8.1f} img/s "
                      f"| ratio {res[bname] / res[a]:.2f}", flush=True)
    print("\n| model | input | mode | batch | " + variants[0][0] + " img/s | " + variants[1][0] + " img/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]}x{r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]:.1f} | {r[6]:.2f} |")
    best = {(r[0], r[1], r[2]): max(r[4], r[5]) for r in rows}
    for name in ("resnet18", "resnet50"):
        for mode in ("train", "infer"):
            print(f"{name} {mode}: 224x224 is {best[(name, 32, mode)] / best[(name, 224, mode)]:.1f}x slower than 32x32 "
                  f"(FLOP ratio 49x)")
    for size in (32, 224):
        for mode in ("train", "infer"):
            print(f"{size}x{size} {mode}: resnet50 is {best[('resnet18', size, mode)] / best[('resnet50', size, mode)]:.1f}x "
                  f"slower than resnet18 (FLOP ratio 2.3x)")


if __name__ == "__main__":
    main()
