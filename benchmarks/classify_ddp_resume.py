"""Issue #18 targets on the CPU: DDP on 2 processes vs 1 process, and killed-and-resumed vs uninterrupted.

Usage: ``python benchmarks/classify_ddp_resume.py [--epochs 5] [--seeds 0 1 2] [--skip-ddp] [--skip-resume]``

Both parts run the real command line (``python -m nlvision.cli classify train``) in subprocesses.

1. **DDP**: the digits recipe (ResNet-18 layout, 16-channel stem, 32×32, from scratch, SGD 0.05 +
   momentum 0.9 + cosine, no flip) for ``--epochs`` epochs, once on one process with batch 64 and
   once with ``--devices 2 --strategy ddp`` (gloo) with batch 32 per process (the same effective
   batch of 64), for each seed. Checks that stdout holds exactly one JSON document and prints the
   test accuracies (mean, 95 % t-interval over seeds) and their paired difference. "Same accuracy
   within noise" = the paired difference's interval contains 0 or is within a point.
2. **Resume**: a tiny run (ResNet-18/4 on 8×8 digits, augmentation and dropout on, momentum, cosine
   schedule) of 3 epochs, uninterrupted; the same run SIGKILLed as soon as the checkpoint of epoch
   ``--kill-after`` is on disk, then ``--resume``d. Prints the maximum relative difference of
   every weight tensor of the two final ``model.safetensors`` (target <= 1e-5).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
RECIPE = ["--data", "digits", "--backbone", "resnet18", "--width", "16", "--upsample-steps", "0", "--image-size", "32",
          "--finetune", "--no-flip", "--lr", "0.05", "--momentum", "0.9", "--weight-decay", "5e-4", "--cosine",
          "--accelerator", "cpu", "--no-progress"]
TINY = ["--data", "digits", "--backbone", "resnet18", "--width", "4", "--upsample-steps", "0", "--image-size", "8",
        "--finetune", "--batch-size", "32", "--limit-batches", "6", "--momentum", "0.9", "--cosine", "--accelerator", "cpu",
        "--devices", "1", "--no-progress"]


def _train(args: list[str], out: Path) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "nlvision.cli", "classify", "train", *args, "--json", "-o", str(out)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return json.loads(r.stdout), time.perf_counter() - t0  # one document, else json.loads fails


def _ci(x: np.ndarray) -> str:
    from nlvision.metrics import mean_ci

    m, h = mean_ci(x)
    return f"{m:.4f}" if len(x) < 2 else f"{m:.4f} ± {h:.4f}"


def ddp(epochs: int, seeds: list[int]) -> None:
    one, two = [], []
    with tempfile.TemporaryDirectory() as d:
        for s in seeds:
            r1, t1 = _train([*RECIPE, "--devices", "1", "--batch-size", "64", "--epochs", str(epochs), "--seed", str(s)],
                            Path(d) / f"one{s}")
            r2, t2 = _train([*RECIPE, "--devices", "2", "--strategy", "ddp", "--batch-size", "32", "--epochs", str(epochs),
                             "--seed", str(s)], Path(d) / f"two{s}")
            assert r2["devices"]["world_size"] == 2
            one.append(r1["accuracy"])
            two.append(r2["accuracy"])
            print(f"seed {s}: 1 process {r1['accuracy']:.4f} ({t1:.0f} s wall), DDP 2 processes {r2['accuracy']:.4f} "
                  f"({t2:.0f} s wall); one JSON document each", flush=True)
    one_a, two_a = np.array(one), np.array(two)
    print(f"test accuracy over seeds {seeds} ({epochs} epochs): 1 process {_ci(one_a)}, DDP x2 {_ci(two_a)}, "
          f"paired difference (DDP - 1) {_ci(two_a - one_a)}")


def _epoch_of(ckpt: Path) -> int:
    import torch

    try:
        return int(torch.load(ckpt, map_location="cpu", weights_only=False)["epoch"])
    except Exception:
        return -1


def resume(kill_after: int) -> None:
    from safetensors.torch import load_file

    with tempfile.TemporaryDirectory() as d:
        ref, run = Path(d) / "ref", Path(d) / "run"
        _train([*TINY, "--epochs", "3"], ref)
        cmd = [sys.executable, "-m", "nlvision.cli", "classify", "train", *TINY, "--epochs", "3", "-o", str(run)]
        p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ckpt = run / "checkpoints" / "last.ckpt"
        while p.poll() is None:
            if ckpt.is_file() and _epoch_of(ckpt) >= kill_after:
                p.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        p.wait()
        killed_at = _epoch_of(ckpt)
        if killed_at != kill_after:
            raise SystemExit(f"could not kill after epoch {kill_after} (checkpoint epoch {killed_at}, rc {p.returncode})")
        _train([*TINY, "--epochs", "3", "--resume"], run)
        a, b = load_file(str(ref / "model.safetensors")), load_file(str(run / "model.safetensors"))
        rel = max(float((a[k].double() - b[k].double()).abs().max() / max(float(a[k].double().abs().max()), 1e-12))
                  for k in a if a[k].is_floating_point())
        cfg = json.loads((run / "config.json").read_text())
        print(f"killed (SIGKILL) after epoch {kill_after}, resumed: max relative weight difference to the uninterrupted run "
              f"{rel:.3g} over {len(a)} tensors (target <= 1e-5); history {[h['resume'] for h in cfg['history']]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--kill-after", type=int, default=1, help="Zero-based epoch whose checkpoint triggers the kill.")
    ap.add_argument("--skip-ddp", action="store_true")
    ap.add_argument("--skip-resume", action="store_true")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_resume:
        resume(args.kill_after)
    if not args.skip_ddp:
        ddp(args.epochs, args.seeds)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
