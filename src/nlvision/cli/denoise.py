"""``nlvision denoise`` and ``nlvision noise estimate|add`` (restoration, sliding DCT).

Noise levels, gains and numeric thresholds are given in full-scale/255 units for every bit
depth (``--sigma 2`` is 2/255 of the full scale of an 8-bit, 16-bit or float image), as users
quote them; the library works in [0, 1] image units. The output keeps the input's bit depth
unless ``--bit-depth`` says otherwise.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from nlvision.cli._common import (
    JOBS,
    MAX_PIXELS,
    RANGE,
    SCHEDULER,
    check_batch_output_folder,
    emit,
    is_batch_spec,
    run_batch,
)

#: Denoising methods of ``nlvision denoise --method``.
METHODS = ("dct", "ksvd", "csc", "csc-l0")
BIT_DEPTHS = {"auto": None, "8": 8, "16": 16, "32": 32, "float": 32}


def _positive(value: float, name: str, allow_zero: bool = False) -> float:
    """A finite number in (0, 1e6] (or [0, ...]) full-scale/255 units -> image units."""
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero) or value > 1e6:
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} number up to 1e6 "
                         f"(full-scale/255 units), got {value}")
    return value / 255.0


def _parse_sigma(value: str) -> Optional[float]:
    """'auto' -> None; otherwise a positive number in full-scale/255 units -> image units."""
    if value.strip().lower() == "auto":
        return None
    try:
        s = float(value)
    except ValueError:
        raise ValueError(f"--sigma: expected 'auto' or a positive number (full-scale/255 units), got {value!r}") from None
    return _positive(s, "--sigma")


def _parse_threshold(value: str) -> Any:
    """Names stay names; a number T is in full-scale/255 units."""
    from nlvision.restoration import resolve_threshold

    v = value.strip()
    try:
        t = float(v)
    except ValueError:
        try:
            resolve_threshold(v, 1.0, 8)
        except ValueError:
            raise ValueError(
                f"--threshold: unknown value {value!r}; expected 3sigma, universal, <k>sigma or a number T >= 0 (full-scale/255)"
            ) from None
        return v
    return _positive(t, "--threshold", allow_zero=True)


def _parse_bit_depth(value: str) -> Optional[int]:
    v = value.strip().lower()
    if v not in BIT_DEPTHS:
        raise ValueError(f"--bit-depth: expected one of {', '.join(BIT_DEPTHS)}, got {value!r}")
    return BIT_DEPTHS[v]


def _output_paths(inputs: list[Path], out: Path) -> list[Path]:
    check_batch_output_folder(out, inputs)
    return [out / p.name for p in inputs]


def _describe(info: dict) -> str:
    sig = f"sigma {info['sigma']:.2f}/255" + (" (estimated)" if info.get("sigma_estimated") else "")
    if info.get("noise") == "poisson-gaussian":
        sig = f"Poisson-Gaussian, gain {info['gain']:.3g}/255, read noise {info['sigma']:.3g}/255"
    text = f"{info['input']} -> {info['output']}: {sig}, {info['bit_depth']}-bit, {info['seconds']:.2f} s"
    if "psnr" in info:
        text += f", PSNR {info['psnr_noisy']:.2f} -> {info['psnr']:.2f} dB"
    return text


def _denoiser(method: str, *, patch: int, threshold: Any, aggregation: str, dictionary: Any, workers: int,
              device: Optional[str]) -> Callable[..., Any]:
    """The library function of ``--method`` with its options bound: ``f(image, sigma, channel_axis=...)``."""
    from nlvision.restoration import denoise_csc, denoise_dct, denoise_ksvd

    if method == "dct":
        return functools.partial(denoise_dct, patch_size=patch, threshold=threshold, aggregation=aggregation,
                                 workers=workers, device=device)
    if method == "ksvd":
        return functools.partial(denoise_ksvd, dictionary=dictionary, patch_size=patch, aggregation=aggregation)
    if method in ("csc", "csc-l0"):
        return functools.partial(denoise_csc, penalty="l0" if method == "csc-l0" else "l1")
    raise ValueError(f"--method: unknown value {method!r}; expected one of {', '.join(METHODS)}")


def denoise(
    inp: str = typer.Argument(..., metavar="IN", help="Noisy image, folder or glob pattern."),
    out: Path = typer.Option(..., "-o", "--out", help="Output image (a folder when IN is a folder/glob)."),
    sigma: str = typer.Option("auto", "--sigma", help="Noise std in full-scale/255 units (any bit depth), or 'auto'. "
                              "With --noise poisson-gaussian: the read-noise std."),
    noise: str = typer.Option("gaussian", "--noise", help="gaussian | poisson-gaussian (generalised Anscombe + exact "
                              "unbiased inverse)."),
    gain: Optional[float] = typer.Option(None, "--gain", help="Poisson gain: one count = G/255 of full scale."),
    patch: Optional[int] = typer.Option(
        None, "--patch", help="Patch side p (>= 2); default 8, or the dictionary's patch side with --dictionary."
    ),
    threshold: str = typer.Option("3sigma", "--threshold", help="3sigma | universal | <k>sigma | T (full-scale/255)."),
    aggregation: str = typer.Option("uniform", "--aggregation", help="uniform | sparsity | none."),
    method: str = typer.Option("dct", "--method", help="dct (sliding DCT) | ksvd (learned dictionary) | csc | csc-l0 (global convolutional sparse coding, 8x8 DCT filters)."),
    dictionary: Optional[Path] = typer.Option(None, "--dictionary", help="Dictionary file for --method ksvd."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Clean image (or folder of same-named files) for PSNR."),
    workers: int = typer.Option(1, "--workers", help="Threads for the sliding DCT (same result for any value)."),
    jobs: int = JOBS, scheduler: Optional[str] = SCHEDULER, max_pixels: Optional[str] = MAX_PIXELS, value_range: Optional[str] = RANGE,
    device: Optional[str] = typer.Option(None, "--device", help="Torch device of the sliding DCT (cpu, cuda, cuda:N)."),
    bit_depth: str = typer.Option("auto", "--bit-depth", help="auto (the input's) | 8 | 16 | float (TIFF)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Denoise images by sliding-DCT hard thresholding (or K-SVD); prints sigma, time and PSNR."""
    from nlvision.imageio import IMAGE_EXTENSIONS, list_images
    from nlvision.restoration import load_dictionary
    from nlvision.restoration.dct import _check_aggregation, _check_device, _check_patch_size
    from nlvision.restoration.workflow import NOISE_MODELS, denoise_file

    sig = _parse_sigma(sigma)
    thr = _parse_threshold(threshold)
    depth = _parse_bit_depth(bit_depth)
    nz = noise.strip().lower()
    if nz not in NOISE_MODELS:
        raise ValueError(f"--noise: unknown model {noise!r}; expected one of {', '.join(NOISE_MODELS)}")
    g = None
    if nz == "poisson-gaussian":
        if gain is None or sig is None:
            raise ValueError("--noise poisson-gaussian: needs --gain G and a numeric --sigma S (read noise, full-scale/255)")
        g = _positive(gain, "--gain")
    elif gain is not None:
        raise ValueError("--gain: only used with --noise poisson-gaussian")
    m = method.strip().lower()
    if m not in METHODS:
        raise ValueError(f"--method: unknown value {method!r}; expected one of {', '.join(METHODS)}")
    if m == "dct" and dictionary is not None:
        raise ValueError("--dictionary: only used with --method ksvd")
    dico = load_dictionary(dictionary) if dictionary is not None else None
    if patch is None:
        patch = int(round(math.sqrt(dico.shape[0]))) if dico is not None else 8
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
    try:
        _check_device(device)
    except ValueError as exc:
        raise ValueError(f"--device: {exc}") from None
    den = _denoiser(m, patch=patch, threshold=thr, aggregation=agg, dictionary=dico, workers=workers, device=device)
    kwargs = dict(sigma=sig, noise=nz, gain=g, bit_depth=depth, method=m)
    if not is_batch_spec(inp):
        if out.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ValueError(f"-o/--out: unknown image extension {out.suffix!r} in {out}; expected one of {', '.join(IMAGE_EXTENSIONS)}")
        src = Path(inp)
        if reference is not None and reference.is_dir():
            reference = reference / src.name
        info = denoise_file(src, out, den, reference=reference, **kwargs)
        emit(info, as_json, _describe(info))
        return 0
    inputs = list_images(inp)
    outputs = _output_paths(inputs, out)
    if reference is not None and not reference.is_dir():
        raise ValueError(f"--reference: expected a folder of clean images named like the inputs, got {reference}")

    def process(pair: tuple[Path, Path]) -> dict:
        src, dst = pair
        return denoise_file(src, dst, den, reference=None if reference is None else reference / src.name, **kwargs)

    done, failed = run_batch(list(zip(inputs, outputs)), process, label="denoise", jobs=jobs, scheduler=scheduler)
    infos = [info for _, info in done]
    summary = {"done": len(done), "failed": [{"input": str(i[0]), "error": msg} for i, msg in failed], "results": infos}
    emit(summary, as_json, "\n".join([_describe(i) for i in infos] + [f"{len(done)} denoised, {len(failed)} failed"]))
    return 1 if failed else 0


def noise_estimate(
    inp: str = typer.Argument(..., metavar="IN", help="Image, folder or glob pattern."),
    method: str = typer.Option("auto", "--method", help="auto (robust, with confidence) | pca | mad | censored."),
    jobs: int = JOBS, scheduler: Optional[str] = SCHEDULER, max_pixels: Optional[str] = MAX_PIXELS, value_range: Optional[str] = RANGE,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Estimate the noise standard deviation (full-scale/255 units), with the estimator's confidence."""
    from nlvision.imageio import list_images, load_image
    from nlvision.restoration import estimate_sigma
    from nlvision.restoration.noise import METHODS as NOISE_METHODS
    from nlvision.restoration.workflow import estimate_noise_file

    m = method.strip().lower()
    if m not in NOISE_METHODS:
        raise ValueError(f"--method: unknown value {method!r}; expected one of {', '.join(NOISE_METHODS)}")

    def process(path: Path) -> dict:
        if m == "auto":
            return estimate_noise_file(path)
        image = load_image(path)
        est = estimate_sigma(image, method=m, channel_axis=-1 if image.ndim == 3 else None)
        values = [float(v) * 255.0 for v in (est if image.ndim == 3 else [est])]
        return {"input": str(path), "method": m, "sigma": sum(values) / len(values), "sigma_per_channel": values,
                "confidence": None, "fallback": None}

    def line(r: dict) -> str:
        per = ", ".join(f"{v:.2f}" for v in r["sigma_per_channel"])
        text = f"{r['input']}: sigma {r['sigma']:.2f}/255 ({r['method']}"
        text += f", confidence {r['confidence']})" if r.get("confidence") else ")"
        if len(r["sigma_per_channel"]) > 1:
            text += f" (channels: {per})"
        return text + (f"; fallback: {r['fallback']}" if r.get("fallback") else "")

    if not is_batch_spec(inp):
        r = process(Path(inp))
        emit(r, as_json, line(r))
        return 0
    done, failed = run_batch(list_images(inp), process, label="noise estimate", jobs=jobs, scheduler=scheduler)
    results = [r for _, r in done]
    summary = {"results": results, "failed": [{"input": str(i), "error": msg} for i, msg in failed]}
    emit(summary, as_json, "\n".join(line(r) for r in results))
    return 1 if failed else 0


def noise_add(
    inp: Path = typer.Argument(..., metavar="IN", help="Clean image."),
    out: Path = typer.Option(..., "-o", "--out", help="Noisy output image."),
    sigma: float = typer.Option(..., "--sigma", help="Noise std in full-scale/255 units (> 0; read noise with "
                                "--noise poisson-gaussian, >= 0)."),
    noise: str = typer.Option("gaussian", "--noise", help="gaussian | poisson-gaussian."),
    gain: Optional[float] = typer.Option(None, "--gain", help="Poisson gain: one count = G/255 of full scale."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same noise)."),
    clip: bool = typer.Option(True, "--clip/--no-clip", help="Clip to [0, 1] (the file format clips anyway)."),
    bit_depth: str = typer.Option("auto", "--bit-depth", help="auto (the input's) | 8 | 16 | float (TIFF)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Add white Gaussian (or Poisson-Gaussian) noise with a fixed seed."""
    from nlvision.restoration.workflow import NOISE_MODELS, add_noise_file

    nz = noise.strip().lower()
    if nz not in NOISE_MODELS:
        raise ValueError(f"--noise: unknown model {noise!r}; expected one of {', '.join(NOISE_MODELS)}")
    s = _positive(sigma, "--sigma", allow_zero=nz == "poisson-gaussian")
    g = None
    if nz == "poisson-gaussian":
        if gain is None:
            raise ValueError("--noise poisson-gaussian: needs --gain G (full-scale/255 per count)")
        g = _positive(gain, "--gain")
    elif gain is not None:
        raise ValueError("--gain: only used with --noise poisson-gaussian")
    info = add_noise_file(inp, out, s, seed=seed, clip=clip, noise=nz, gain=g, bit_depth=_parse_bit_depth(bit_depth))
    text = f"{inp} -> {out}: {nz} noise, sigma {sigma:g}/255" + (f", gain {gain:g}/255" if g else "") + f", seed {seed}"
    emit({**info, "sigma": sigma, "gain": gain}, as_json, text)
    return 0


def register(app: typer.Typer) -> None:
    """Add ``denoise`` and the ``noise`` sub-app (``estimate``, ``add``) to the main app."""
    app.command("denoise")(denoise)
    noise_app = typer.Typer(help="Noise level estimation and synthetic noise.", no_args_is_help=True)
    noise_app.command("estimate")(noise_estimate)
    noise_app.command("add")(noise_add)
    app.add_typer(noise_app, name="noise")
