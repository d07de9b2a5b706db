"""``nlvision denoise`` and ``nlvision noise estimate|add`` (restoration, sliding DCT).

Noise levels and numeric thresholds are given in 0-255 units, as users quote them; the
library works in [0, 1] image units.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Optional

import typer

from nlvision.cli._common import emit, run_batch

METHODS = ("dct", "ksvd", "csc", "csc-l0")

noise_app = typer.Typer(help="Noise level estimation and synthetic noise.", no_args_is_help=True)


def _is_batch(spec: str) -> bool:
    p = Path(spec)
    return p.is_dir() or (not p.exists() and any(ch in spec for ch in "*?["))


def _parse_sigma(value: str) -> Optional[float]:
    """'auto' -> None; otherwise a positive number in 0-255 units -> image units."""
    if value.strip().lower() == "auto":
        return None
    try:
        s = float(value)
    except ValueError:
        raise ValueError(f"--sigma: expected 'auto' or a positive number (0-255 units), got {value!r}") from None
    if not math.isfinite(s) or s <= 0:
        raise ValueError(f"--sigma: expected 'auto' or a positive number (0-255 units), got {value!r}")
    return s / 255.0


def _parse_threshold(value: str) -> Any:
    """Names stay names; a number T is in 0-255 units."""
    from nlvision.restoration.dct import resolve_threshold

    v = value.strip()
    try:
        t = float(v)
    except ValueError:
        try:
            resolve_threshold(v, 1.0, 8)
        except ValueError:
            raise ValueError(
                f"--threshold: unknown value {value!r}; expected 3sigma, universal, <k>sigma or a number T >= 0 (0-255 units)"
            ) from None
        return v
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"--threshold: expected a number T >= 0 (0-255 units), got {value!r}")
    return t / 255.0


def _output_paths(inputs: list[Path], out: Path) -> list[Path]:
    if out.exists() and not out.is_dir():
        raise ValueError(f"OUT: {out} is a file; a folder is expected when IN is a folder or a glob")
    resolved = {p.parent.resolve() for p in inputs}
    if out.resolve() in resolved:
        raise ValueError(f"OUT: {out} is the input folder; choose another folder so inputs are not overwritten")
    return [out / p.name for p in inputs]


def _denoise_one(
    src: Path,
    dst: Path,
    *,
    sigma: Optional[float],
    patch: int,
    threshold: Any,
    aggregation: str,
    method: str,
    dictionary: Any,
    reference: Optional[Path],
    workers: int = 1,
) -> dict:
    from nlvision.imageio import load_image, save_image
    from nlvision.metrics import psnr
    from nlvision.restoration.dct import denoise_dct
    from nlvision.restoration.noise import estimate_sigma

    image = load_image(src)
    color = image.ndim == 3
    clean = None
    if reference is not None:
        clean = load_image(reference)
        if clean.shape != image.shape:
            raise ValueError(f"--reference: {reference} has shape {clean.shape}, {src} has {image.shape}")
    import torch  # noqa: F401  (imported before the clock starts: the time is the computation's)

    start = time.perf_counter()
    estimated = sigma is None
    if sigma is None:
        import numpy as np

        sigma = float(np.mean(estimate_sigma(image, channel_axis=-1 if color else None)))
        if sigma <= 0:
            raise ValueError(f"{src}: the estimated noise level is 0; pass --sigma")
    if method == "dct":
        result = denoise_dct(
            image,
            sigma,
            patch_size=patch,
            threshold=threshold,
            aggregation=aggregation,
            channel_axis=-1 if color else None,
            workers=workers,
        )
    elif method in ("csc", "csc-l0"):
        from nlvision.restoration.csc_denoise import denoise_csc

        result = denoise_csc(image, sigma, penalty="l0" if method == "csc-l0" else "l1", channel_axis=-1 if color else None)
    else:
        from nlvision.restoration.sparse_denoise import denoise_ksvd

        result = denoise_ksvd(
            image, sigma, dictionary=dictionary, patch_size=patch, aggregation=aggregation, channel_axis=-1 if color else None
        )
    seconds = time.perf_counter() - start
    save_image(dst, result)
    info = {
        "input": str(src),
        "output": str(dst),
        "method": method,
        "sigma": sigma * 255.0,
        "sigma_estimated": estimated,
        "seconds": seconds,
    }
    if clean is not None:
        info["psnr_noisy"] = psnr(image, clean)
        info["psnr"] = psnr(result, clean)
    return info


def _describe(info: dict) -> str:
    text = (
        f"{info['input']} -> {info['output']}: sigma {info['sigma']:.2f}/255"
        f"{' (estimated)' if info['sigma_estimated'] else ''}, {info['seconds']:.2f} s"
    )
    if "psnr" in info:
        text += f", PSNR {info['psnr_noisy']:.2f} -> {info['psnr']:.2f} dB"
    return text


def denoise(
    inp: str = typer.Argument(..., metavar="IN", help="Noisy image, folder or glob pattern."),
    out: Path = typer.Argument(..., metavar="OUT", help="Output image (a folder when IN is a folder/glob)."),
    sigma: str = typer.Option("auto", "--sigma", help="Noise std in 0-255 units, or 'auto' to estimate it."),
    patch: Optional[int] = typer.Option(
        None, "--patch", help="Patch side p (>= 2); default 8, or the dictionary's patch side with --dictionary."
    ),
    threshold: str = typer.Option("3sigma", "--threshold", help="3sigma | universal | <k>sigma | T (0-255 units)."),
    aggregation: str = typer.Option("uniform", "--aggregation", help="uniform | sparsity | none."),
    method: str = typer.Option("dct", "--method", help="dct (sliding DCT) | ksvd (learned dictionary) | csc | csc-l0 (global convolutional sparse coding, 8x8 DCT filters)."),
    dictionary: Optional[Path] = typer.Option(None, "--dictionary", help="Dictionary file for --method ksvd."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Clean image (or folder of same-named files) for PSNR."),
    workers: int = typer.Option(1, "--workers", help="Threads for the sliding DCT (same result for any value)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Denoise images by sliding-DCT hard thresholding (or K-SVD); prints sigma, time and PSNR."""
    from nlvision.restoration.dct import _check_aggregation, _check_patch_size
    from nlvision.imageio import list_images

    sig = _parse_sigma(sigma)
    thr = _parse_threshold(threshold)
    dico = None
    if dictionary is not None and method.strip().lower() == "ksvd":
        from nlvision.restoration.dictionary import load_dictionary

        dico = load_dictionary(dictionary)
        if patch is None:
            patch = int(round(math.sqrt(dico.shape[0])))
    patch = 8 if patch is None else patch
    try:
        _check_patch_size(patch)
    except (TypeError, ValueError):
        raise ValueError(f"--patch: expected an integer >= 2, got {patch}") from None
    try:
        agg = _check_aggregation(aggregation)
    except ValueError:
        raise ValueError(f"--aggregation: unknown value {aggregation!r}; expected one of uniform, sparsity, none") from None
    if workers < 1:
        raise ValueError(f"--workers: expected an integer >= 1, got {workers}")
    m = method.strip().lower()
    if m not in METHODS:
        raise ValueError(f"--method: unknown value {method!r}; expected one of {', '.join(METHODS)}")
    if m == "dct" and dictionary is not None:
        raise ValueError("--dictionary: only used with --method ksvd")
    if m == "ksvd":
        try:
            from nlvision.restoration import sparse_denoise  # noqa: F401
        except ModuleNotFoundError as exc:
            raise ValueError(f"--method ksvd: not available in this build ({exc.name} is missing)") from None
    kwargs = dict(sigma=sig, patch=patch, threshold=thr, aggregation=agg, method=m, dictionary=dico, workers=workers)
    if not _is_batch(inp):
        from nlvision.imageio import IMAGE_EXTENSIONS

        if out.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ValueError(f"OUT: unknown image extension {out.suffix!r} in {out}; expected one of {', '.join(IMAGE_EXTENSIONS)}")
        src = Path(inp)
        if reference is not None and reference.is_dir():
            reference = reference / src.name
        info = _denoise_one(src, out, reference=reference, **kwargs)
        emit(info, as_json, _describe(info))
        return 0
    inputs = list_images(inp)
    outputs = _output_paths(inputs, out)
    if reference is not None and not reference.is_dir():
        raise ValueError(f"--reference: expected a folder of clean images named like the inputs, got {reference}")

    def process(pair: tuple[Path, Path]) -> dict:
        src, dst = pair
        return _denoise_one(src, dst, reference=None if reference is None else reference / src.name, **kwargs)

    done, failed = run_batch(list(zip(inputs, outputs)), process, label="denoise")
    infos = [info for _, info in done]
    summary = {"done": len(done), "failed": [{"input": str(i[0]), "error": msg} for i, msg in failed], "results": infos}
    emit(summary, as_json, "\n".join([_describe(i) for i in infos] + [f"{len(done)} denoised, {len(failed)} failed"]))
    return 1 if failed else 0


@noise_app.command("estimate")
def noise_estimate(
    inp: str = typer.Argument(..., metavar="IN", help="Image, folder or glob pattern."),
    method: str = typer.Option("pca", "--method", help="pca (default, patch PCA) | mad (the seed's estimator)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Estimate the noise standard deviation (0-255 units), per channel for colour images."""
    from nlvision.imageio import list_images, load_image
    from nlvision.restoration.noise import METHODS as NOISE_METHODS, estimate_sigma

    m = method.strip().lower()
    if m not in NOISE_METHODS:
        raise ValueError(f"--method: unknown value {method!r}; expected one of {', '.join(NOISE_METHODS)}")

    def process(path: Path) -> dict:
        image = load_image(path)
        est = estimate_sigma(image, method=m, channel_axis=-1 if image.ndim == 3 else None)
        values = [float(v) * 255.0 for v in (est if image.ndim == 3 else [est])]
        return {"input": str(path), "method": m, "sigma": sum(values) / len(values), "sigma_per_channel": values}

    def line(r: dict) -> str:
        per = ", ".join(f"{v:.2f}" for v in r["sigma_per_channel"])
        return f"{r['input']}: sigma {r['sigma']:.2f}/255" + (f" (channels: {per})" if len(r["sigma_per_channel"]) > 1 else "")

    if not _is_batch(inp):
        r = process(Path(inp))
        emit(r, as_json, line(r))
        return 0
    done, failed = run_batch(list_images(inp), process, label="noise estimate")
    results = [r for _, r in done]
    summary = {"results": results, "failed": [{"input": str(i), "error": msg} for i, msg in failed]}
    emit(summary, as_json, "\n".join(line(r) for r in results))
    return 1 if failed else 0


@noise_app.command("add")
def noise_add(
    inp: Path = typer.Argument(..., metavar="IN", help="Clean image."),
    out: Path = typer.Argument(..., metavar="OUT", help="Noisy output image."),
    sigma: float = typer.Option(..., "--sigma", help="Noise std in 0-255 units (> 0)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same noise)."),
    clip: bool = typer.Option(True, "--clip/--no-clip", help="Clip to [0, 1] (the file format clips anyway)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Add white Gaussian noise of std SIGMA/255 with a fixed seed."""
    from nlvision.imageio import load_image, save_image
    from nlvision.restoration.noise import add_noise

    if not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"--sigma: expected a positive number (0-255 units), got {sigma}")
    image = load_image(inp)
    noisy = add_noise(image, sigma / 255.0, rng=seed, clip=clip)
    save_image(out, noisy)
    info = {"input": str(inp), "output": str(out), "sigma": sigma, "seed": seed}
    emit(info, as_json, f"{inp} -> {out}: sigma {sigma:g}/255, seed {seed}")
    return 0


def register(app: typer.Typer) -> None:
    """Add ``denoise`` and the ``noise`` sub-app to the main app."""
    app.command("denoise")(denoise)
    app.add_typer(noise_app, name="noise")
