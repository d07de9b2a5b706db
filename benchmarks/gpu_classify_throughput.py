"""GPU throughput of the classify models: channels-last + bf16 autocast vs fp32, and the seed's epoch time.

Usage (on a CUDA machine): ``python benchmarks/gpu_classify_throughput.py [--quick] [--engine]``

Needs a CUDA GPU and exits with code 2 (one line) without one: nothing on the CPU depends on it.

1. ResNet-18 and ResNet-50 at 224×224 (torchvision layout, ``nlvision.nn.resnet``): images/s of
   inference (eval, no_grad) and of a full training step (forward, cross-entropy, backward, SGD),
   anchor fp32 contiguous, candidate channels-last + ``torch.autocast(bfloat16)``, in the same
   run, same batch (256 by default), after warm-up, CUDA-synchronised; ratio candidate / anchor.
2. The seed's CIFAR-10 protocol (seed 001, section 3-4): frozen ResNet-50, 32×32 inputs upsampled
   ×8 to 256×256, GlobalMaxPool → BN → Dropout(0.3) → Dense(10), batch 64, SGD 0.01, augmentation
   on the GPU. Time per training step over ``--steps`` steps, extrapolated to one epoch
   (50,000 images / 64 = 781 steps) and to the 10,000-image test pass, fp32 vs bf16 autocast
   (channels-last). CIFAR-10 is not downloaded: random uint8 images of its shape (time does not
   depend on pixel values).
3. With ``--engine``: the same protocol through ``nlvision.engine.fit`` (Lightning, precision
   ``bf16-mixed``) for ``--steps`` batches, giving the engine's overhead over the bare loop.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

#: Device and sizes; ``--cpu-smoke`` runs every code path on the CPU at toy sizes (a syntax/logic check, no numbers).
DEV = torch.device("cuda")
SIDE = 224


def _sync():
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def _ctx(bf16: bool):
    if bf16:
        return torch.autocast(DEV.type, dtype=torch.bfloat16)
    return torch.autocast(DEV.type, enabled=False)


def _rate(step, batch: int, iters: int) -> float:
    step()
    step()  # warm-up: cudnn autotuning, allocations
    _sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    _sync()
    return batch * iters / (time.perf_counter() - t0)


def backbone_throughput(name: str, batch: int, iters: int) -> list[tuple[str, str, float, float]]:
    from nlvision.nn.resnet import build_resnet

    rows = []
    dev = DEV
    y = torch.randint(0, 1000, (batch,), device=dev)
    for mode in ("inference", "train"):
        rates = {}
        for variant in ("fp32", "channels_last+bf16"):
            torch.manual_seed(0)
            model = build_resnet(name).to(dev)
            x = torch.randn(batch, 3, SIDE, SIDE, device=dev)
            if variant != "fp32":
                model = model.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            bf16 = variant != "fp32"

            def ctx():
                return _ctx(bf16)

            if mode == "inference":
                model.eval()

                def step():
                    with torch.no_grad(), ctx():
                        model(x)
            else:
                model.train()
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

                def step():
                    opt.zero_grad(set_to_none=True)
                    with ctx():
                        loss = torch.nn.functional.cross_entropy(model(x), y)
                    loss.backward()
                    opt.step()
            rates[variant] = _rate(step, batch, iters)
            del model, x
            if DEV.type == "cuda":
                torch.cuda.empty_cache()
        rows.append((name, mode, rates["fp32"], rates["channels_last+bf16"]))
    return rows


def seed_protocol(steps: int) -> dict[str, float]:
    from nlvision.classify import ClassifierModelConfig, ClassifierTrainConfig, ResNetClassifier, augment_batch
    from nlvision.classify.model import to_tensor_images

    dev = DEV
    out = {}
    for variant in ("fp32", "channels_last+bf16"):
        torch.manual_seed(0)
        cfg = ClassifierModelConfig() if SIDE == 224 else ClassifierModelConfig("resnet18", width=8, upsample_steps=1)
        model = ResNetClassifier(cfg).to(dev)  # seed 001: frozen resnet50, 3 upsamplings
        if variant != "fp32":
            model = model.to(memory_format=torch.channels_last)
        model.train()
        tc = ClassifierTrainConfig()
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=tc.lr)
        g = torch.Generator(device=dev).manual_seed(0)
        xb = torch.randint(0, 256, (tc.batch_size, 32, 32, 3), dtype=torch.uint8, device=dev)
        yb = torch.randint(0, 10, (tc.batch_size,), device=dev)
        bf16 = variant != "fp32"

        def ctx():
            return _ctx(bf16)

        def train_step():
            x = augment_batch(to_tensor_images(xb), tc.augment_config, g)
            if variant != "fp32":
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            with ctx():
                loss = torch.nn.functional.cross_entropy(model(x), yb)
            loss.backward()
            opt.step()

        xt = torch.randint(0, 256, (256, 32, 32, 3), dtype=torch.uint8, device=dev)

        def test_step():
            with torch.no_grad(), ctx():
                model.eval()
                model(to_tensor_images(xt))
                model.train()

        train_rate = _rate(train_step, tc.batch_size, steps)
        test_rate = _rate(test_step, 256, max(5, steps // 4))
        out[variant] = {"train_images_s": train_rate, "epoch_s": 781 * tc.batch_size / train_rate,
                        "test_pass_s": 10_000 / test_rate}
        del model
        if DEV.type == "cuda":
            torch.cuda.empty_cache()
    return out


def engine_protocol(steps: int) -> float:
    """Seconds per training step of the seed protocol through nlvision.engine.fit (bf16-mixed)."""
    import tempfile

    import numpy as np
    import pytorch_lightning as pl

    from nlvision.classify import ClassificationData, ClassifierModelConfig, ClassifierTrainConfig
    from nlvision.classify.train import ClassifierModule, make_loaders
    from nlvision.engine import TrainerConfig, fit

    rng = np.random.default_rng(0)
    n = 64 * (steps + 5)
    data = ClassificationData(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n),
                              rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 64),
                              [str(i) for i in range(10)], "synthetic-cifar-shape")
    times = []

    class Clock(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            _sync()
            times.append(time.perf_counter())

    mc = ClassifierModelConfig() if SIDE == 224 else ClassifierModelConfig("resnet18", width=8, upsample_steps=1)
    module = ClassifierModule(mc, ClassifierTrainConfig())
    train_loader, _ = make_loaders(data, 64)
    cfg = TrainerConfig(epochs=1, accelerator="gpu" if DEV.type == "cuda" else "cpu", devices="1", precision="bf16-mixed", progress=False,
                        limit_train_batches=steps + 5)
    trainer_cb = Clock()
    import nlvision.engine as eng

    orig = eng.make_trainer

    def with_clock(*a, **k):
        t = orig(*a, **k)
        t.callbacks.append(trainer_cb)
        return t

    eng.make_trainer = with_clock
    try:
        fit(module, train_loader, None, config=cfg, out_dir=tempfile.mkdtemp())
    finally:
        eng.make_trainer = orig
    d = np.diff(times[5:])
    return float(np.median(d))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="Fewer iterations (a smoke run).")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=50, help="Timed training steps of the seed protocol.")
    ap.add_argument("--engine", action="store_true", help="Also time the seed protocol through nlvision.engine.fit.")
    ap.add_argument("--cpu-smoke", action="store_true", help="Run every code path on the CPU at toy sizes (no numbers).")
    args = ap.parse_args()
    global DEV, SIDE
    if args.cpu_smoke:
        DEV, SIDE = torch.device("cpu"), 32
        args.batch, args.steps, args.quick = 4, 2, True
        print(f"CPU smoke run: {[r[:2] for r in backbone_throughput('resnet18', 4, 1)]}, seed protocol keys "
              f"{sorted(seed_protocol(1))}, engine {engine_protocol(2) > 0}")
        return 0
    if not torch.cuda.is_available():
        print("error: benchmarks/gpu_classify_throughput.py needs a CUDA GPU (none found); run it on a GPU machine", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    iters = 5 if args.quick else 30
    steps = 10 if args.quick else args.steps
    print(f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}, batch {args.batch}, "
          f"{iters} timed iterations")
    print(f"{'model':10s} {'mode':10s} {'fp32 img/s':>12s} {'CL+bf16 img/s':>14s} {'ratio':>7s}")
    for name in ("resnet18", "resnet50"):
        for model, mode, a, b in backbone_throughput(name, args.batch, iters):
            print(f"{model:10s} {mode:10s} {a:12.0f} {b:14.0f} {b / a:6.2f}x")
    seed = seed_protocol(steps)
    print("\nseed 001 protocol (frozen ResNet-50, 32->256 upsampling, batch 64): one CIFAR-10 epoch = 781 steps")
    for variant, r in seed.items():
        print(f"  {variant:20s} {r['train_images_s']:8.0f} train img/s -> epoch {r['epoch_s']:7.1f} s; "
              f"10,000-image test pass {r['test_pass_s']:6.1f} s")
    print(f"  ratio fp32 / channels-last+bf16 epoch time: {seed['fp32']['epoch_s'] / seed['channels_last+bf16']['epoch_s']:.2f}x")
    if args.engine:
        per_step = engine_protocol(steps)
        print(f"  through nlvision.engine.fit (bf16-mixed): {per_step * 1e3:.1f} ms/step -> epoch {781 * per_step:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
