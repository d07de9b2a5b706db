"""File-level restoration steps behind the ``nlvision`` commands (read, validate, compute, write).

Every function validates all its inputs and outputs (paths, extensions, bit depths, sizes)
before writing anything, writes through :func:`nlvision.imageio.save_image` (atomic), keeps
the input's bit depth unless told otherwise (8-bit stays 8-bit, 16-bit stays 16-bit, float
TIFF stays float) and reports PSNRs of the file actually written. Noise levels here are in
image units; the CLI converts its full-scale/255 units.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nlvision.imageio import check_bit_depth, image_bit_depth, list_images, load_image, save_image
from nlvision.metrics import psnr
from nlvision.restoration.dct import auto_sigma
from nlvision.restoration.dictionary import save_dictionary
from nlvision.restoration.inpaint import InpaintConfig, auto_iterations, inpaint
from nlvision.restoration.masks import MASK_KINDS, make_mask
from nlvision.restoration.noise import add_noise, estimate_noise
from nlvision.restoration.patches import extract_patches
from nlvision.restoration.sparse import KSVDConfig, ksvd
from nlvision.restoration.vst import add_poisson_gaussian_noise, generalized_anscombe, inverse_generalized_anscombe

NOISE_MODELS = ("gaussian", "poisson-gaussian")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_output(out: Path, inputs: list[Path], channels: int, bit_depth: int, name: str = "-o/--out") -> None:
    """Refuse an output equal to an input, an unknown extension or a bit depth it cannot hold."""
    out = Path(out)
    for src in inputs:
        if src is not None and _same_file(out, Path(src)):
            raise ValueError(f"{name}: {out} is also an input; choose another output file")
    check_bit_depth(out, bit_depth, channels)


def _channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else image.shape[2]


def _resolve_depth(bit_depth: int | None, src: Path) -> int:
    return image_bit_depth(src) if bit_depth is None else int(bit_depth)


def _load_reference(reference: Path | None, shape: tuple) -> np.ndarray | None:
    if reference is None:
        return None
    ref = load_image(reference)
    if ref.shape != shape:
        raise ValueError(f"--reference: {reference} has shape {ref.shape}, the image has {shape}")
    return ref


def denoise_file(
    src: Path,
    dst: Path,
    denoiser: Callable[..., np.ndarray],
    *,
    sigma: float | None = None,
    noise: str = "gaussian",
    gain: float | None = None,
    bit_depth: int | None = None,
    reference: Path | None = None,
    method: str = "dct",
) -> dict:
    """Denoise one file: ``denoiser(image, sigma, channel_axis=...)`` on Gaussian noise, or on the
    generalised-Anscombe-transformed image (unit noise) for Poisson-Gaussian noise, followed by
    the exact unbiased inverse. Returns the facts printed by ``nlvision denoise``."""
    src, dst = Path(src), Path(dst)
    if noise not in NOISE_MODELS:
        raise ValueError(f"--noise: unknown model {noise!r}; expected one of {', '.join(NOISE_MODELS)}")
    image = load_image(src)
    depth = _resolve_depth(bit_depth, src)
    check_output(dst, [src] + ([reference] if reference is not None else []), _channels(image), depth)
    clean = _load_reference(reference, image.shape)
    ca = -1 if image.ndim == 3 else None
    start = time.perf_counter()
    info: dict[str, Any] = {"input": str(src), "output": str(dst), "method": method, "noise": noise, "bit_depth": depth}
    if noise == "poisson-gaussian":
        if gain is None or sigma is None:
            raise ValueError("--noise poisson-gaussian: needs --gain G and a numeric --sigma S (read noise)")
        t = generalized_anscombe(image, gain, sigma)
        result = inverse_generalized_anscombe(denoiser(t, 1.0, channel_axis=ca), gain, sigma)
        info.update(gain=gain * 255.0, sigma=sigma * 255.0, sigma_estimated=False)
    else:
        estimated = sigma is None
        if estimated:
            est = estimate_noise(image, ca)
            sigma = auto_sigma(image, ca, estimate=est)
            info["estimate"] = est.to_dict(255.0)
            if not sigma > 0:
                raise ValueError(f"{src}: the estimated noise level is 0 (a noise-free image?); pass --sigma")
        result = denoiser(image, sigma, channel_axis=ca)
        info.update(sigma=sigma * 255.0, sigma_estimated=estimated)
    info["seconds"] = time.perf_counter() - start
    save_image(dst, result, bit_depth=depth)
    if clean is not None:
        written = load_image(dst)
        info["psnr_noisy"] = psnr(image, clean)
        info["psnr"] = psnr(written, clean)
        info["psnr_in_memory"] = psnr(np.clip(result, 0, 1), clean)
    return info


def estimate_noise_file(src: Path) -> dict:
    """``nlvision noise estimate`` for one file (sigmas in full-scale/255 units)."""
    image = load_image(src)
    est = estimate_noise(image, -1 if image.ndim == 3 else None)
    return {"input": str(src), **est.to_dict(255.0)}


def add_noise_file(
    src: Path,
    dst: Path,
    sigma: float,
    *,
    seed: int = 0,
    clip: bool = True,
    noise: str = "gaussian",
    gain: float | None = None,
    bit_depth: int | None = None,
) -> dict:
    """``nlvision noise add`` for one file (sigma and gain in image units)."""
    src, dst = Path(src), Path(dst)
    if noise not in NOISE_MODELS:
        raise ValueError(f"--noise: unknown model {noise!r}; expected one of {', '.join(NOISE_MODELS)}")
    image = load_image(src)
    depth = _resolve_depth(bit_depth, src)
    check_output(dst, [src], _channels(image), depth)
    if noise == "poisson-gaussian":
        if gain is None:
            raise ValueError("--noise poisson-gaussian: needs --gain G")
        noisy = add_poisson_gaussian_noise(image, gain, sigma, rng=seed)
    else:
        noisy = add_noise(image, sigma, rng=seed, clip=clip)
    save_image(dst, noisy, bit_depth=depth)
    return {"input": str(src), "output": str(dst), "noise": noise, "sigma": sigma, "gain": gain, "seed": seed,
            "bit_depth": depth}


def load_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A mask file (non-zero = missing) of the image's size, with something observed."""
    m = load_image(path, as_gray=True)
    if m.shape != tuple(shape):
        raise ValueError(f"--mask: {path} has size {m.shape}, the image has size {tuple(shape)}")
    m = m != 0
    if m.all():
        raise ValueError(f"--mask: {path} marks every pixel as missing; nothing to inpaint from")
    return m


def inpaint_file(
    src: Path,
    mask_path: Path,
    dst: Path,
    *,
    bit_depth: int | None = None,
    reference: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> dict:
    """``nlvision inpaint`` for one file; ``options`` go to :func:`nlvision.restoration.inpaint`."""
    src, mask_path, dst = Path(src), Path(mask_path), Path(dst)
    image = load_image(src)
    mask = load_mask(mask_path, image.shape[:2])
    depth = _resolve_depth(bit_depth, src)
    check_output(dst, [src, mask_path] + ([reference] if reference is not None else []), _channels(image), depth)
    clean = _load_reference(reference, image.shape)
    t0 = time.perf_counter()
    res = inpaint(image, mask, channel_axis=-1 if image.ndim == 3 else None, progress=progress, **options)
    seconds = time.perf_counter() - t0
    save_image(dst, np.clip(res, 0.0, 1.0), bit_depth=depth)
    cfg = options.get("config") or InpaintConfig()
    refine = options.get("refine", cfg.refine)
    info = {"input": str(src), "mask": str(mask_path), "output": str(dst), "missing_fraction": float(mask.mean()),
            "refine": auto_iterations(float(mask.mean())) if refine is None else refine,
            "init": options.get("init") or cfg.init,
            "seconds": round(seconds, 3), "bit_depth": depth}
    if clean is not None:
        info["psnr"] = psnr(load_image(dst), clean)
    return info


def make_mask_file(src: Path, dst: Path, kind: str, rate: float, seed: int = 0, apply: Path | None = None) -> dict:
    """``nlvision mask``: a mask the size of ``src`` (255 = missing), optionally the masked image."""
    src, dst = Path(src), Path(dst)
    if kind not in MASK_KINDS:
        raise ValueError(f"--kind: unknown kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and 0.0 <= rate < 1.0):
        raise ValueError(f"--rate: expected a fraction in [0, 1), got {rate}")
    image = load_image(src)
    check_output(dst, [src], 1, 8)
    depth = image_bit_depth(src)
    if apply is not None:
        apply = Path(apply)
        check_output(apply, [src, dst], _channels(image), depth, name="--apply")
        if _same_file(apply, dst):
            raise ValueError("--apply: must differ from -o/--out")
    m = make_mask(kind, image.shape[:2], rate, seed)
    save_image(dst, m.astype(np.float64))
    if apply is not None:
        save_image(apply, np.where(m[..., None] if image.ndim == 3 else m, 0.0, image), bit_depth=depth)
    return {"input": str(src), "output": str(dst), "kind": kind, "missing_fraction": float(m.mean()), "seed": seed,
            "applied": str(apply) if apply is not None else None}


def learn_dictionary_files(
    specs: list[str],
    out: Path,
    *,
    patch: int = 8,
    atoms: int = 256,
    iterations: int = 20,
    n_nonzero: int = 6,
    patches: int = 60000,
    seed: int = 0,
) -> dict:
    """``nlvision dictionary learn``: K-SVD on mean-removed patches drawn evenly from the images."""
    for name, v, lo in (("--patch", patch, 2), ("--atoms", atoms, 1), ("--iterations", iterations, 0),
                        ("--n-nonzero", n_nonzero, 1), ("--patches", patches, 1)):
        if v < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {v}")
    if n_nonzero > atoms:
        raise ValueError(f"--n-nonzero: {n_nonzero} is larger than the number of atoms ({atoms})")
    if Path(out).suffix.lower() != ".npz":
        raise ValueError(f"-o/--out: expected a .npz file, got {out}")
    files: list[Path] = []
    for spec in specs:
        files.extend(list_images(spec))
    if not files:
        raise ValueError(f"IMAGES: no image found in {specs}")
    if any(_same_file(Path(out), f) for f in files):
        raise ValueError(f"-o/--out: {out} is also an input")
    rng = np.random.default_rng(seed)
    per = int(math.ceil(patches / len(files)))
    chunks = []
    for f in files:
        img = load_image(f, as_gray=True)
        if min(img.shape) < patch:
            raise ValueError(f"{f}: image of shape {img.shape} is smaller than --patch {patch}")
        P = extract_patches(img, patch)
        chunks.append(P[rng.choice(P.shape[0], size=min(per, P.shape[0]), replace=False)])
    X = np.concatenate(chunks)
    X = X - X.mean(axis=1, keepdims=True)
    if X.shape[0] < atoms:
        raise ValueError(f"only {X.shape[0]} training patches for --atoms {atoms}; give more images")
    t0 = time.time()
    square = int(math.isqrt(atoms)) ** 2 == atoms and math.isqrt(atoms) >= patch
    res = ksvd(X, atoms, KSVDConfig(n_iter=iterations, n_nonzero=n_nonzero, init="dct" if square else "data", seed=seed))
    path = save_dictionary(out, res.dictionary, iterations=iterations, n_nonzero=n_nonzero, n_patches=X.shape[0], seed=seed)
    return {"output": str(path), "shape": list(res.dictionary.shape), "patches": int(X.shape[0]), "images": len(files),
            "rmse": res.rmse_history[-1] if res.rmse_history else None, "replaced_atoms": res.n_replaced,
            "seconds": round(time.time() - t0, 2)}


def mutual_coherence(D: np.ndarray) -> float:
    """Largest |<d_i, d_j>| between two distinct normalised atoms."""
    Dn = D / np.maximum(np.linalg.norm(D, axis=0), 1e-300)
    G = np.abs(Dn.T @ Dn)
    np.fill_diagonal(G, 0.0)
    return float(G.max())
