"""Image file input/output and validation — the only module that touches files of pixels.

Images are float arrays in [0, 1] of shape (H, W) or (H, W, C), ``channel_axis=-1``, like
scikit-image. Integer files are converted once, here, with their dtype's range (8-bit / 255,
16-bit / 65535).

Reading is defensive (see docs/robustness.md): the format is recognised from the content, the
size declared in the header is checked against :mod:`nlvision.limits` before any decoder
allocates (the same check guards Pillow, tifffile and OpenCV), decoder failures of any kind
become one ``ValueError`` naming the file, and float files follow one rule — they must lie in
[0, 1] unless ``value_range`` / ``--range`` says how to map them; nothing is clipped silently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nlvision.atomic import atomic_path

__all__ = [
    "IMAGE_EXTENSIONS",
    "load_image",
    "list_images",
    "expand_images",
    "save_image",
    "check_bit_depth",
    "image_bit_depth",
    "FORMAT_BIT_DEPTHS",
    "validate_image",
    "to_float",
    "to_gray",
    "apply_range",
    "parse_range",
    "set_default_range",
    "get_default_range",
]

#: File extensions read and written by :func:`load_image` / :func:`save_image`.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".pgm", ".ppm", ".pnm")
_TIFF = (".tif", ".tiff")


def to_float(image: np.ndarray) -> np.ndarray:
    """Convert an integer or boolean array to float64 in [0, 1] using its dtype's range.

    Float arrays are returned as float64 unchanged (no rescaling).

    Parameters
    ----------
    image : array_like
        Integer, boolean or float array.

    Returns
    -------
    numpy.ndarray
        Float64 array (signed integers map their full range onto [0, 1]).

    Raises
    ------
    TypeError
        If the dtype is not integer, bool or float.

    Examples
    --------
    >>> to_float(np.array([0, 255], dtype=np.uint8)).tolist()
    [0.0, 1.0]
    >>> to_float(np.array([65535], dtype=np.uint16)).tolist()
    [1.0]
    """
    image = np.asarray(image)
    if image.dtype == bool:
        return image.astype(np.float64)
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        if info.min < 0:
            return (image.astype(np.float64) - info.min) / (info.max - info.min)
        return image.astype(np.float64) / info.max
    if np.issubdtype(image.dtype, np.floating):
        return image.astype(np.float64, copy=False)
    raise TypeError(f"image: unsupported dtype {image.dtype}; expected an integer, bool or float array")


def validate_image(
    image: np.ndarray,
    name: str = "image",
    *,
    min_size: int = 1,
    allow_color: bool = True,
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Check that ``image`` is a finite 2-D (gray) or 3-D (H, W, C) array and return it as float64.

    Parameters
    ----------
    image : array_like
        Candidate image.
    name : str
        Argument name used in error messages.
    min_size : int
        Smallest allowed height and width.
    allow_color : bool
        Whether (H, W, C) arrays with C in {1, 2, 3, 4} are accepted.
    value_range : (float, float), optional
        If given, values outside it raise ``ValueError``.

    Returns
    -------
    numpy.ndarray
        Float64 view/copy of the input.

    Raises
    ------
    TypeError
        If ``image`` is not array-like of a numeric dtype.
    ValueError
        If it is empty, has the wrong number of dimensions, is smaller than ``min_size``,
        or contains NaN/inf or out-of-range values.

    Examples
    --------
    >>> validate_image(np.zeros((4, 4))).shape
    (4, 4)
    >>> validate_image(np.zeros((2, 2)), min_size=8)
    Traceback (most recent call last):
    ...
    ValueError: image: shape (2, 2) is smaller than 8x8
    """
    if isinstance(image, (str, bytes, os.PathLike)):
        raise TypeError(f"{name}: expected an array, got a path {image!r}; use nlvision.imageio.load_image")
    try:
        arr = np.asarray(image)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name}: cannot convert {type(image).__name__} to an array") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty array of shape {arr.shape}")
    if arr.ndim == 3 and not allow_color:
        raise ValueError(f"{name}: expected a 2-D gray image, got shape {arr.shape}")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(f"{name}: expected shape (H, W) or (H, W, C) with C <= 4, got {arr.shape}")
    if arr.shape[0] < min_size or arr.shape[1] < min_size:
        raise ValueError(f"{name}: shape {arr.shape} is smaller than {min_size}x{min_size}")
    arr = to_float(arr)
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    if value_range is not None:
        lo, hi = value_range
        amin, amax = float(arr.min()), float(arr.max())
        if amin < lo or amax > hi:
            raise ValueError(f"{name}: values span [{amin:.4g}, {amax:.4g}], expected within [{lo}, {hi}]")
    return arr


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance of an RGB(A) image (scikit-image's ``rgb2gray``, ITU-R BT.709 weights).

    Gray images are returned unchanged; gray+alpha keeps the gray channel.

    Parameters
    ----------
    image : array_like
        (H, W) or (H, W, C) image in [0, 1].

    Returns
    -------
    numpy.ndarray
        (H, W) float64 luminance.

    Examples
    --------
    >>> to_gray(np.ones((2, 2, 3))).shape
    (2, 2)
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return image
    if image.shape[-1] == 1:
        return image[..., 0]
    if image.shape[-1] == 2:  # gray + alpha
        return image[..., 0]
    from skimage.color import rgb2gray

    return rgb2gray(image[..., :3])


#: Process-wide default of ``value_range`` for :func:`load_image` (set by the ``--range`` option).
_default_range: Any = None

#: Tolerance of the float rule: values within this distance of [0, 1] are rounding, not range.
FLOAT_TOLERANCE = 1e-6


def parse_range(value: Any) -> Any:
    """Parse a ``--range`` value: ``None``/``""``, ``"auto"`` or ``"LO,HI"`` (LO < HI, finite).

    Parameters
    ----------
    value : str, tuple or None
        Text from the command line, a ``(lo, hi)`` pair, ``"auto"`` or ``None``.

    Returns
    -------
    None, str or tuple of float
        ``None``, ``"auto"`` or ``(lo, hi)``.

    Raises
    ------
    ValueError
        If the value is not one of these forms.

    Examples
    --------
    >>> parse_range("0,255")
    (0.0, 255.0)
    >>> parse_range("auto")
    'auto'
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "none"):
            return None
        if text == "auto":
            return "auto"
        parts = text.replace(":", ",").split(",")
    else:
        parts = list(value) if isinstance(value, (tuple, list)) else [value]
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        raise ValueError(f"--range: expected 'auto' or LO,HI (e.g. 0,255), got {value!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise ValueError(f"--range: expected finite LO < HI, got {value!r}")
    return (lo, hi)


def set_default_range(value: Any) -> None:
    """Set the ``value_range`` that :func:`load_image` uses when none is passed (``--range``).

    Parameters
    ----------
    value : str, tuple or None
        As accepted by :func:`parse_range`.

    Raises
    ------
    ValueError
        If the value cannot be parsed.

    Examples
    --------
    >>> set_default_range("0,255"); get_default_range()
    (0.0, 255.0)
    >>> set_default_range(None)
    """
    global _default_range
    _default_range = parse_range(value)


def get_default_range() -> Any:
    """The process-wide default ``value_range`` of :func:`load_image` (``None`` unless ``--range`` was given).

    Returns
    -------
    None, str or tuple of float
        Current default.

    Examples
    --------
    >>> get_default_range() is None
    True
    """
    return _default_range


def apply_range(raw: np.ndarray, value_range: Any, name: str = "image") -> np.ndarray:
    """Map raw sample values to float64 in [0, 1] following the float-range rule.

    * ``value_range=None``: integer/bool arrays use their dtype's range (8-bit / 255, 16-bit /
      65535); float arrays must already lie in [0, 1] (within 1e-6) — otherwise ``ValueError``
      that suggests ``--range``. Nothing is ever clipped silently.
    * ``(lo, hi)``: ``(x - lo) / (hi - lo)``; a value outside [lo, hi] (beyond the same relative
      tolerance) raises ``ValueError``.
    * ``"auto"``: the array's own minimum and maximum map to 0 and 1 (a constant array maps to 0).

    Parameters
    ----------
    raw : numpy.ndarray
        Decoded samples (finite).
    value_range : None, "auto" or (float, float)
        The rule to apply.
    name : str
        What to name in error messages.

    Returns
    -------
    numpy.ndarray
        Float64 array in [0, 1].

    Raises
    ------
    ValueError
        If values fall outside the range the rule expects.

    Examples
    --------
    >>> apply_range(np.array([0.0, 127.5, 255.0]), (0, 255)).tolist()
    [0.0, 0.5, 1.0]
    >>> apply_range(np.array([0.0, 255.0]), None, "f.tif")
    Traceback (most recent call last):
    ...
    ValueError: f.tif: float image spans [0, 255], outside [0, 1]; pass --range 0,255 (value_range=(0, 255)) or --range auto to map it
    """
    value_range = parse_range(value_range)
    raw = np.asarray(raw)
    if value_range is None:
        if not np.issubdtype(raw.dtype, np.floating):
            return to_float(raw)
        image = raw.astype(np.float64, copy=False)
        lo, hi = float(image.min()), float(image.max())
        if lo < -FLOAT_TOLERANCE or hi > 1.0 + FLOAT_TOLERANCE:
            a, b = _nice(lo), _nice(hi)
            raise ValueError(
                f"{name}: float image spans [{a}, {b}], outside [0, 1]; "
                f"pass --range {a},{b} (value_range=({a}, {b})) or --range auto to map it"
            )
        if lo < 0.0 or hi > 1.0:  # rounding noise of float writers only
            image = np.clip(image, 0.0, 1.0)
        return image
    image = raw.astype(np.float64)
    if value_range == "auto":
        lo, hi = float(image.min()), float(image.max())
        if hi <= lo:
            return np.zeros_like(image)
        return (image - lo) / (hi - lo)
    lo, hi = value_range
    amin, amax = float(image.min()), float(image.max())
    slack = FLOAT_TOLERANCE * (hi - lo)
    if amin < lo - slack or amax > hi + slack:
        raise ValueError(f"{name}: values span [{amin:.6g}, {amax:.6g}], outside --range {lo:g},{hi:g}")
    image -= lo
    image /= hi - lo
    if amin < lo or amax > hi:  # rounding noise within the tolerance
        np.clip(image, 0.0, 1.0, out=image)
    return image


def _nice(v: float) -> str:
    """Round a range end outwards to a readable number (0, 1, 255, 65535, or 4 significant digits)."""
    for cand in (0.0, 1.0, -1.0, 255.0, 65535.0):
        if abs(v - cand) <= 1e-6 * max(1.0, abs(cand)):
            return f"{cand:g}"
    return f"{v:.4g}"


def load_image(
    path: str | os.PathLike,
    *,
    as_gray: bool = False,
    keep_alpha: bool = False,
    value_range: Any = None,
) -> np.ndarray:
    """Read a PNG, JPEG, TIFF, BMP or PNM file as a float64 array in [0, 1].

    8- and 16-bit files, gray, gray+alpha, RGB and RGBA are supported (and float TIFFs, see
    ``value_range``). The alpha channel is dropped unless ``keep_alpha`` is true. The format is
    recognised from the file's content, not its extension. The size declared in the header is
    checked against :func:`nlvision.limits.max_pixels` before anything is decoded.

    Parameters
    ----------
    path : path-like
        Image file.
    as_gray : bool
        Return the luminance of colour images.
    keep_alpha : bool
        Keep a 4th (alpha) channel.
    value_range : None, "auto" or (float, float)
        How raw samples map to [0, 1] (see :func:`apply_range`); defaults to the process-wide
        value set by ``--range`` (:func:`set_default_range`), normally ``None``: integer files
        use their dtype's range and float files must already lie in [0, 1].

    Returns
    -------
    numpy.ndarray
        (H, W) or (H, W, C) float64 in [0, 1].

    Raises
    ------
    ValueError
        If the file does not exist, cannot be decoded, is truncated, declares more pixels than
        the limit, holds NaN/inf, or holds float values outside [0, 1] without ``value_range``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.fromarray(np.array([[0, 255]], np.uint8)).save(p)
    >>> load_image(p).tolist()
    [[0.0, 1.0]]
    """
    from nlvision import limits

    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{p}: is a folder, expected an image file")
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    rng = _default_range if value_range is None else parse_range(value_range)
    header = limits.check_image_file(p)  # refuses bombs before any decoder allocates
    try:
        if header.format == "tiff":
            raw = _read_tiff(p)
        else:
            raw = _read_with_pillow(p, header)
    except MemoryError:
        raise ValueError(f"{p}: out of memory decoding a {header.height}x{header.width} image") from None
    except ValueError as exc:
        if str(exc).startswith(str(p)):
            raise
        raise ValueError(f"{p}: cannot decode image ({_one_line(exc)})") from None
    except Exception as exc:  # decoders raise many types on corrupt data: name the file, one line
        raise ValueError(f"{p}: cannot decode image ({type(exc).__name__}: {_one_line(exc)})") from None
    try:
        raw = np.asarray(raw)
        if raw.ndim == 3 and raw.shape[0] in (3, 4) and raw.shape[2] not in (1, 2, 3, 4):
            raw = np.moveaxis(raw, 0, -1)  # planar TIFF
        _check_raw(raw, str(p))
        image = apply_range(raw, rng, str(p))
        if image.ndim == 3:
            if image.shape[2] in (2, 4) and not keep_alpha:
                image = image[..., :-1]
            if image.shape[2] == 1:
                image = image[..., 0]
        if as_gray:
            image = to_gray(image)
    except MemoryError:
        raise ValueError(f"{p}: out of memory converting a {header.height}x{header.width} image") from None
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return image


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_raw(raw: np.ndarray, name: str) -> None:
    """Shape/dtype/finiteness checks of decoded samples (validate_image without the float copy)."""
    if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise ValueError(f"{name}: unsupported sample type {raw.dtype}")
    if np.issubdtype(raw.dtype, np.complexfloating):
        raise ValueError(f"{name}: complex samples are not an image")
    if raw.size == 0:
        raise ValueError(f"{name}: empty image of shape {raw.shape}")
    if raw.ndim not in (2, 3) or (raw.ndim == 3 and raw.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(f"{name}: expected shape (H, W) or (H, W, C) with C <= 4, got {raw.shape}")
    if np.issubdtype(raw.dtype, np.floating) and not np.all(np.isfinite(raw)):
        bad = int(np.count_nonzero(~np.isfinite(raw)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")


def _read_tiff(p: Path) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(p) as tf:
        return tf.series[0].asarray()


def _png_is_16bit_color(p: Path) -> bool:
    """True for 16-bit RGB / RGBA PNG files (IHDR bit depth 16, colour type 2 or 6)."""
    with open(p, "rb") as fh:
        head = fh.read(26)
    return len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 6)


def _read_png16_color(p: Path) -> np.ndarray | None:
    """Pillow reduces 16-bit colour PNGs to 8 bits; OpenCV (if installed) keeps all 16.

    The caller has checked the PNG header against the pixel limit (OpenCV's own limit,
    ``CV_IO_MAX_IMAGE_PIXELS``, is 2**30 and would let a bomb through).
    """
    try:
        import cv2
    except ImportError:
        return None
    raw = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError("OpenCV could not decode the file")
    if raw.ndim == 3 and raw.shape[2] == 3:
        raw = raw[..., ::-1]
    elif raw.ndim == 3 and raw.shape[2] == 4:
        raw = raw[..., [2, 1, 0, 3]]
    return np.ascontiguousarray(raw)


_PIL_KEEP = ("L", "LA", "RGB", "RGBA")


def _read_with_pillow(p: Path, header: Any = None) -> np.ndarray:
    from PIL import Image

    from nlvision import limits

    if header is not None and header.format == "png" and header.bits == 16 and header.channels in (3, 4):
        raw = _read_png16_color(p)
        if raw is not None:
            return raw

    limit = limits.max_pixels()
    Image.MAX_IMAGE_PIXELS = limit  # our check below is the binding one; Pillow's would error at 2x
    with Image.open(p) as im:
        limits.check_pixels(im.size[1], im.size[0], str(p))  # formats the header parser does not know
        im.load()  # raises on truncated data
        mode = im.mode
        if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
            return np.asarray(im, dtype=np.uint16)
        if mode == "I":
            arr = np.asarray(im)
            return arr.astype(np.uint16) if arr.max() <= 65535 and arr.min() >= 0 else arr.astype(np.float64)
        if mode == "F":
            return np.asarray(im, dtype=np.float64)
        if mode.endswith(";16") or mode.endswith(";16B"):
            return np.asarray(im)
        if mode == "1":
            im = im.convert("L")
        elif mode == "La":
            im = im.convert("LA")
        elif mode not in _PIL_KEEP:  # P, PA, RGBa, RGBX, CMYK, YCbCr, LAB, HSV, ...
            has_alpha = "A" in mode or "a" in mode or "transparency" in im.info
            im = im.convert("RGBA" if has_alpha else "RGB")
        return np.asarray(im)


#: Bit depths :func:`save_image` can write, per extension (32 = float32 samples).
FORMAT_BIT_DEPTHS = {
    ".png": (8, 16),
    ".tif": (8, 16, 32),
    ".tiff": (8, 16, 32),
    ".jpg": (8,),
    ".jpeg": (8,),
    ".bmp": (8,),
    ".pgm": (8, 16),
    ".ppm": (8,),
    ".pnm": (8,),
}


def check_bit_depth(path: str | os.PathLike, bit_depth: int, channels: int = 1) -> int:
    """Check that the file format of ``path`` can hold ``bit_depth``-bit samples.

    Parameters
    ----------
    path : path-like
        Output file; its extension selects the format.
    bit_depth : int
        8, 16 (unsigned integer samples) or 32 (float32 samples).
    channels : int, optional
        Number of channels (PGM holds gray only).

    Returns
    -------
    int
        ``bit_depth``, validated.

    Raises
    ------
    ValueError
        Unknown extension, or a bit depth the format cannot hold (one line naming both).

    Examples
    --------
    >>> check_bit_depth("a.png", 16)
    16
    >>> check_bit_depth("a.jpg", 16)
    Traceback (most recent call last):
    ...
    ValueError: a.jpg: a .jpg file cannot hold 16-bit samples (it holds 8); use .png or .tif, or ask for 8 bits
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise ValueError(f"{p}: unknown image extension {ext!r}; expected one of {', '.join(IMAGE_EXTENSIONS)}")
    if isinstance(bit_depth, bool) or bit_depth not in (8, 16, 32):
        raise ValueError(f"bit_depth: expected 8, 16 or 32 (float), got {bit_depth!r}")
    allowed = FORMAT_BIT_DEPTHS[ext]
    if ext == ".pgm" and channels > 1:
        allowed = (8,)
    if bit_depth not in allowed:
        kind = "float32" if bit_depth == 32 else f"{bit_depth}-bit"
        better = ".tif" if bit_depth == 32 else ".png or .tif"
        raise ValueError(
            f"{p}: a {ext} file cannot hold {kind} samples (it holds {'/'.join(map(str, allowed))}); "
            f"use {better}, or ask for 8 bits"
        )
    return int(bit_depth)


def image_bit_depth(path: str | os.PathLike) -> int:
    """Bit depth of the samples stored in an image file: 8, 16 or 32 (float).

    Reads only the header. 1/2/4-bit and palette files count as 8-bit; integer TIFF samples
    wider than 16 bits and float TIFF/"F"-mode files as 32 (float).

    Parameters
    ----------
    path : path-like
        Image file.

    Returns
    -------
    int
        8, 16 or 32.

    Raises
    ------
    ValueError
        If the file does not exist or its header cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> _ = save_image(f, np.zeros((4, 4, 3)), bit_depth=16)
    >>> image_bit_depth(f)
    16
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    try:
        if p.suffix.lower() in _TIFF:
            import tifffile

            with tifffile.TiffFile(p) as tf:
                dt = np.dtype(tf.series[0].dtype)
            if np.issubdtype(dt, np.floating) or dt.itemsize > 2:
                return 32
            return 16 if dt.itemsize == 2 else 8
        with open(p, "rb") as fh:
            head = fh.read(26)
        if len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n":
            return 16 if head[24] == 16 else 8
        from PIL import Image

        with Image.open(p) as im:
            mode = im.mode
        if mode.startswith("I;16") or mode.endswith(";16") or mode == "I":
            return 16
        return 32 if mode == "F" else 8
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"{p}: cannot read the image header ({type(exc).__name__})") from None


def save_image(path: str | os.PathLike, image: np.ndarray, *, bit_depth: int = 8) -> Path:
    """Write a float [0, 1] image atomically (temporary file, then rename).

    Values are clipped to [0, 1] and stored with ``bit_depth`` bits: 8 or 16 (rounded to
    unsigned integers, full scale 255 / 65535) or 32 (float32 samples, TIFF only). 16-bit is
    written for gray and colour PNG (colour through OpenCV), PGM (gray) and TIFF. The format
    comes from the extension; nothing is written when the image, the extension or the bit
    depth is invalid.

    Parameters
    ----------
    path : path-like
        Output file.
    image : ndarray
        (H, W) or (H, W, C) image in [0, 1].
    bit_depth : int, optional
        8 (default), 16 or 32 (float).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the image is invalid, the extension unknown, or the format cannot hold the bit depth.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.tif"
    >>> _ = save_image(f, np.full((2, 2), 0.25), bit_depth=32)
    >>> float(load_image(f)[0, 0])
    0.25
    """
    p = Path(path)
    image = validate_image(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    ext = p.suffix.lower()
    check_bit_depth(p, bit_depth, 1 if image.ndim == 2 else image.shape[2])
    clipped = np.clip(image, 0.0, 1.0)
    if bit_depth == 32:
        data = clipped.astype(np.float32)
    else:
        scale = 255 if bit_depth == 8 else 65535
        data = np.round(clipped * scale).astype(np.uint8 if bit_depth == 8 else np.uint16)
    with atomic_path(p) as tmp:
        if ext in _TIFF:
            import tifffile

            tifffile.imwrite(tmp, data, photometric="rgb" if data.ndim == 3 and data.shape[2] in (3, 4) else None)
        elif bit_depth == 16 and data.ndim == 3:
            import cv2  # Pillow cannot write 16-bit colour PNG; OpenCV can (BGR order)

            bgr = data[..., [2, 1, 0, 3][: data.shape[2]]] if data.shape[2] in (3, 4) else data
            ok, buf = cv2.imencode(".png", np.ascontiguousarray(bgr))
            if not ok:
                raise ValueError(f"{p}: OpenCV could not encode a 16-bit colour PNG")
            tmp.write_bytes(buf.tobytes())
        else:
            from PIL import Image

            if bit_depth == 16:
                im = Image.fromarray(data.astype(np.uint16))
                if ext == ".pgm":
                    im = Image.fromarray(data.astype(np.int32), mode="I")
                im.save(tmp, format=_PIL_FORMATS[ext])
            else:
                Image.fromarray(data).save(tmp, format=_PIL_FORMATS[ext])
    return p


_PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".pgm": "PPM", ".ppm": "PPM", ".pnm": "PPM"}


def list_images(spec: str | os.PathLike) -> list[Path]:
    """Expand a file, a folder (its image files, sorted) or a glob pattern into image paths.

    Hidden files (names starting with ``.``: the temporary files of :mod:`nlvision.atomic`,
    macOS ``._*`` resource forks) are skipped in folders and globs.

    Parameters
    ----------
    spec : str or path-like
        A file, a folder or a glob pattern.

    Returns
    -------
    list of pathlib.Path
        Sorted image paths (the file itself for a file).

    Raises
    ------
    ValueError
        If nothing matches.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("b.png", "a.tif", ".a.png", "notes.txt"):
    ...     _ = (d / n).write_bytes(b"")
    >>> [p.name for p in list_images(d)]
    ['a.tif', 'b.png']
    """
    import glob

    s = str(spec)
    p = Path(s)
    if p.is_dir():
        files = sorted(
            f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith(".") and f.is_file()
        )
    elif any(ch in s for ch in "*?[") and not p.exists():
        files = sorted(Path(f) for f in glob.glob(s) if Path(f).is_file() and not Path(f).name.startswith("."))
    else:
        files = [p]
    if not files:
        raise ValueError(f"{s}: no image files found")
    return files


def expand_images(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Expand several files, folders and glob patterns into one list of image paths.

    Each input goes through :func:`list_images`; the results are concatenated in input order.
    This is how every command that takes many images (``classify predict``, ``pose predict``,
    ...) reads its arguments.

    Parameters
    ----------
    inputs : sequence of str or path-like
        Image files, folders (their images, sorted) or patterns such as ``"imgs/*.png"``.

    Returns
    -------
    list of pathlib.Path
        The image paths, input by input.

    Raises
    ------
    ValueError
        If an input names no existing file, folder or matching pattern, or nothing is given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("b.png", "a.png"):
    ...     _ = (d / n).write_bytes(b"")
    >>> [p.name for p in expand_images([d, d / "b.png"])]
    ['a.png', 'b.png', 'b.png']
    >>> expand_images([d / "missing.png"])
    Traceback (most recent call last):
    ...
    ValueError: ...missing.png: no such image, folder or pattern
    """
    files: list[Path] = []
    for item in inputs:
        found = list_images(item)
        if len(found) == 1 and not found[0].exists():
            raise ValueError(f"{item}: no such image, folder or pattern")
        files += found
    if not files:
        raise ValueError("inputs: expected at least one image")
    return files
