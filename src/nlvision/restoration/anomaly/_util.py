"""Small helpers shared by the anomaly modules (gray conversion, map interpolation, threads, npz)."""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from nlvision.imageio import to_gray, validate_image

#: Default ceiling on the bytes one model array may declare (raise with NLVISION_MAX_MODEL_BYTES).
MAX_MODEL_BYTES = 512 * 2**20


def as_gray(image, name: str, min_size: int) -> np.ndarray:
    """Validated gray float image at least ``min_size`` on each side."""
    arr = to_gray(validate_image(image, name=name))
    if arr.shape[0] < min_size or arr.shape[1] < min_size:
        raise ValueError(f"{name}: image of shape {arr.shape} is smaller than the patch size {min_size}x{min_size}")
    return arr


def interp_matrix(centres: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation weights from values at ``centres`` to pixels 0..length-1 (clamped)."""
    x = np.arange(length, dtype=np.float64)
    c = np.asarray(centres, dtype=np.float64)
    W = np.zeros((length, c.size))
    if c.size == 1:
        W[:, 0] = 1.0
        return W
    j = np.clip(np.searchsorted(c, x, side="right") - 1, 0, c.size - 2)
    t = np.clip((x - c[j]) / (c[j + 1] - c[j]), 0.0, 1.0)
    W[np.arange(length), j] = 1.0 - t
    W[np.arange(length), j + 1] += t
    return W


def grid_to_map(grid: np.ndarray, cy, cx, shape) -> np.ndarray:
    """Bilinear map of values on a grid of centres ``(cy, cx)`` to every pixel of ``shape``."""
    return interp_matrix(cy, shape[0]) @ grid @ interp_matrix(cx, shape[1]).T


def rescale(image: np.ndarray, zoom: float) -> np.ndarray:
    """Cubic rescaling (anti-aliased when shrinking); identity for zoom 1."""
    if zoom == 1.0:
        return image
    from skimage.transform import rescale as _rescale

    return _rescale(image, zoom, order=3, anti_aliasing=zoom < 1, mode="reflect")


def synth_zoom(image: np.ndarray, zoom: float, seed: int = 0, noise_match: bool = True) -> np.ndarray:
    """Image as if acquired at ``zoom``: rescale the denoised content, then add fresh sensor noise.

    Rescaling a noisy image changes its noise (averaged away when shrinking, smoothed into blobs
    when enlarging), whereas a camera or an SEM adds the same white noise at any zoom. With
    ``noise_match`` the noise level ``sigma`` is estimated (wavelet MAD), the image is denoised
    (wavelet BayesShrink), rescaled, and white Gaussian noise of ``sigma`` is added back.
    """
    if zoom == 1.0:
        return image
    if not noise_match:
        return rescale(image, zoom)
    from skimage.restoration import denoise_wavelet, estimate_sigma

    sigma = float(estimate_sigma(image))
    clean = denoise_wavelet(image, sigma=sigma, mode="soft", method="BayesShrink", rescale_sigma=True) if sigma > 0 else image
    out = rescale(clean, zoom)
    rng = np.random.default_rng([int(seed), int(round(1000 * zoom))])
    return out + sigma * rng.standard_normal(out.shape)


def default_threads() -> int:
    """Torch threads for scoring: half the CPUs this process may use, between 1 and 4.

    The scoring path multiplies many small matrices; on a shared or small machine extra threads
    contend (measured 1.4-9x slower with 2 threads on a loaded 2-core VM), so by default only half
    of the available cores are used. ``NLVISION_THREADS`` overrides it.
    """
    env = os.environ.get("NLVISION_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"NLVISION_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"NLVISION_THREADS must be a positive integer, got {env!r}")
        return n
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        ncpu = os.cpu_count() or 1
    return max(1, min(4, ncpu // 2))


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Set torch's intra-op thread count for the block (``None``: :func:`default_threads`)."""
    import torch

    old = torch.get_num_threads()
    want = default_threads() if n is None else int(n)
    if want != old:
        torch.set_num_threads(want)
    try:
        yield want
    finally:
        if want != old:
            torch.set_num_threads(old)


def max_model_bytes() -> int:
    env = os.environ.get("NLVISION_MAX_MODEL_BYTES")
    if env:
        try:
            return int(env)
        except ValueError:
            raise ValueError(f"NLVISION_MAX_MODEL_BYTES must be an integer, got {env!r}") from None
    return MAX_MODEL_BYTES


def load_npz_checked(path: str | Path, what: str = "model") -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` after checking its declared size from the header.

    A member whose header declares more bytes than the member holds, more than
    :func:`max_model_bytes`, or an object dtype is refused *before* anything is allocated.
    """
    path = Path(path)
    limit = max_model_bytes()
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                    if dtype.hasobject:
                        raise ValueError(f"array {info.filename!r} has an object dtype")
                    nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                    if nbytes > limit:
                        raise ValueError(f"array {info.filename!r} declares {nbytes} bytes, above the limit of {limit} "
                                         "(raise NLVISION_MAX_MODEL_BYTES to allow it)")
                    if nbytes > info.file_size:
                        raise ValueError(f"array {info.filename!r} declares {nbytes} bytes but holds {info.file_size}")
                with zf.open(info) as fh:
                    out[info.filename[:-4]] = np.lib.format.read_array(fh, allow_pickle=False)
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid nlvision {what} file ({type(exc).__name__})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not a valid nlvision {what} file ({exc})") from None
    return out


def json_header(arrays: dict, path: Path, what: str = "model") -> dict:
    """Decode the JSON ``header`` array of a model file."""
    try:
        header = json.loads(bytes(np.asarray(arrays["header"]).astype(np.uint8)).decode("utf-8"))
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid nlvision {what} file ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a valid nlvision {what} file (header is not an object)")
    return header
