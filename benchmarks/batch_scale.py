"""Speed-up of ``denoise --jobs 2`` over the serial run on a 200-image batch (issue #14).

Anchor: the serial run (``--jobs 1``) of the same command on the same files, in the same process,
alternating the order of the two engines over several repetitions. Besides wall time it records the
CPU seconds of each run (this process + its finished workers): their ratio is the parallel
overhead, independent of how loaded the shared machine is. Outputs are compared byte for
byte (the speed-up must not change a single pixel). Prints per-repetition times, the speed-up's
mean and 95 % CI (t distribution), and the machine's load average.

Images: 200 crops (``--size`` px, default 128) of scikit-image's bundled ``camera``, ``astronaut``
(gray), ``brick``, ``grass``, ``gravel`` images, with Gaussian noise sigma 20/255, seed i.

    PYTHONPATH=src nice -n 10 /work/venv/bin/python benchmarks/batch_scale.py --reps 3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def make_images(folder: Path, n: int, size: int) -> None:
    from PIL import Image
    from skimage import color, data

    sources = [data.camera(), color.rgb2gray(data.astronaut()), data.brick(), data.grass(), data.gravel()]
    sources = [np.asarray(s, dtype=np.float64) / (255.0 if s.dtype == np.uint8 else 1.0) for s in sources]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng(i)
        src = sources[i % len(sources)]
        y = rng.integers(0, src.shape[0] - size)
        x = rng.integers(0, src.shape[1] - size)
        crop = src[y : y + size, x : x + size] + rng.normal(0, 20 / 255, (size, size))
        Image.fromarray(np.round(np.clip(crop, 0, 1) * 255).astype(np.uint8)).save(folder / f"img{i:03d}.png")


def _out_args(out: str) -> list[str]:
    """``-o OUT`` once denoise follows issue #13's convention, the positional OUT before."""
    import typer

    from nlvision.cli import build_app

    params = typer.main.get_command(build_app()).commands["denoise"].params
    takes_option = any("-o" in getattr(p, "opts", ()) for p in params if p.param_type_name == "option")
    return ["-o", out] if takes_option else [out]


def _cpu() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(src: Path, out: Path, jobs: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its finished workers)."""
    from nlvision.cli import main

    if out.exists():
        shutil.rmtree(out)
    buf_out, buf_err = io.StringIO(), io.StringIO()
    cpu0 = _cpu()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        rc = main(["denoise", str(src), *_out_args(str(out)), "--sigma", "20", "--jobs", str(jobs), "--json"])
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu0
    if rc != 0:
        raise SystemExit(f"denoise --jobs {jobs} exited {rc}: {buf_err.getvalue()[-500:]}")
    return seconds, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)  # one thread per process: the comparison is of processes
    work = Path(tempfile.mkdtemp(prefix="batch_scale_"))
    try:
        src = work / "in"
        make_images(src, args.n, args.size)
        run(src, work / "warm", 1)  # imports, caches
        serial, parallel, ratios, cpu_ratios = [], [], [], []
        for rep in range(args.reps):
            order = [(1, "serial"), (args.jobs, "parallel")]
            if rep % 2:
                order.reverse()
            times, cpus = {}, {}
            for jobs, name in order:
                times[name], cpus[name] = run(src, work / name, jobs)
            serial.append(times["serial"])
            parallel.append(times["parallel"])
            ratios.append(times["serial"] / times["parallel"])
            cpu_ratios.append(cpus["parallel"] / cpus["serial"])
            print(f"rep {rep}: serial {times['serial']:.2f} s ({cpus['serial']:.2f} CPU-s), --jobs {args.jobs} "
                  f"{times['parallel']:.2f} s ({cpus['parallel']:.2f} CPU-s), speed-up {ratios[-1]:.2f}x  "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
        same = all((work / "serial" / p.name).read_bytes() == p.read_bytes() for p in (work / "parallel").iterdir())
        same = same and len(list((work / "parallel").iterdir())) == args.n
        mean = statistics.mean(ratios)
        if len(ratios) > 1:
            from scipy import stats

            half = stats.t.ppf(0.975, len(ratios) - 1) * statistics.stdev(ratios) / math.sqrt(len(ratios))
        else:
            half = float("nan")
        summary = {
            "images": args.n, "size": args.size, "jobs": args.jobs, "reps": args.reps,
            "serial_s_median": statistics.median(serial), "parallel_s_median": statistics.median(parallel),
            "speedup_mean": mean, "speedup_ci95": [mean - half, mean + half], "outputs_identical": same,
            "cpu_parallel_over_serial_mean": statistics.mean(cpu_ratios),
            "ideal_speedup_on_idle_cores": args.jobs / statistics.mean(cpu_ratios),
            "cpus": os.cpu_count(), "load_avg_1min_end": os.getloadavg()[0], "machine": platform.platform(),
        }
        print(json.dumps(summary, indent=2))
        print(f"speed-up of {args.jobs} workers vs serial: {mean:.2f}x (95% CI {mean - half:.2f}-{mean + half:.2f}), "
              f"outputs identical: {same}; CPU of the parallel run / serial: {statistics.mean(cpu_ratios):.2f} "
              f"(speed-up on {args.jobs} idle cores at most {args.jobs / statistics.mean(cpu_ratios):.2f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
