"""One size policy: declared sizes are checked against one limit before anything is allocated.

Every reader in nlvision asks this module before it decodes pixels or materialises an array:

* **images** — the pixel count ``height x width`` (times the number of frames/planes of a
  stack) declared in the file's header must not exceed :func:`max_pixels`;
* **arrays** (``.npy``/``.npz`` members, safetensors tensors, shapes declared in JSON) — the
  element count must not exceed :func:`max_elements` (4 x the pixel limit, i.e. an RGBA image at
  the limit), and an uncompressed array must fit in the bytes the file really holds;
* **JSON** — the file must not be larger than :func:`max_json_bytes` (the pixel limit in bytes).

The default limit is 2**26 = 67,108,864 pixels (8192 x 8192). A user raises or lowers it with
the environment variable ``NLVISION_MAX_PIXELS`` or the ``--max-pixels`` option of the commands
(which calls :func:`set_max_pixels`); library callers may use :func:`set_max_pixels` or the
:func:`pixel_limit` context manager. Refusals are ``ValueError`` with one line naming the file,
the declared size and the way to raise the limit.

Header parsing is done here, in pure Python, for PNG, JPEG, TIFF (first IFD; tifffile gives the
full series shape when installed), BMP and PNM/PAM — so the same check guards the Pillow, tifffile
and OpenCV readers.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ENV_MAX_PIXELS",
    "ImageHeader",
    "max_pixels",
    "max_elements",
    "max_json_bytes",
    "set_max_pixels",
    "pixel_limit",
    "check_pixels",
    "check_elements",
    "read_image_header",
    "check_image_file",
    "npz_shapes",
    "load_npz",
    "load_npy",
    "safetensors_shapes",
    "load_json",
    "settings",
    "apply_settings",
]

#: Default pixel limit (8192 x 8192).
DEFAULT_MAX_PIXELS = 2**26
#: Environment variable that overrides the default pixel limit.
ENV_MAX_PIXELS = "NLVISION_MAX_PIXELS"

_override: int | None = None


def _parse_limit(value: Any, what: str) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a positive integer number of pixels, got {value!r}") from None
    if not np.isfinite(f) or f < 1 or f != int(f):
        raise ValueError(f"{what}: expected a positive integer number of pixels, got {value!r}")
    return int(f)


def max_pixels() -> int:
    """Current pixel limit: :func:`set_max_pixels` value, else ``$NLVISION_MAX_PIXELS``, else the default.

    Returns
    -------
    int
        Largest ``height x width`` an image may declare.

    Raises
    ------
    ValueError
        If ``NLVISION_MAX_PIXELS`` is set to something other than a positive integer.

    Examples
    --------
    >>> with pixel_limit(1000):
    ...     max_pixels()
    1000
    """
    if _override is not None:
        return _override
    env = os.environ.get(ENV_MAX_PIXELS, "").strip()
    if env:
        return _parse_limit(env, ENV_MAX_PIXELS)
    return DEFAULT_MAX_PIXELS


def max_elements() -> int:
    """Largest element count of an array read from a file: 4 x :func:`max_pixels`.

    Returns
    -------
    int
        Element limit.

    Examples
    --------
    >>> with pixel_limit(1000):
    ...     max_elements()
    4000
    """
    return 4 * max_pixels()


def max_json_bytes() -> int:
    """Largest JSON file read: :func:`max_pixels` bytes (64 MiB by default).

    Returns
    -------
    int
        Byte limit.

    Examples
    --------
    >>> with pixel_limit(1000):
    ...     max_json_bytes()
    1000
    """
    return max_pixels()


def set_max_pixels(limit: int | float | str | None) -> None:
    """Set the process-wide pixel limit (``None`` goes back to the environment/default).

    Parameters
    ----------
    limit : int, float, str or None
        New limit in pixels (a whole positive number, ``1e8`` is accepted).

    Raises
    ------
    ValueError
        If ``limit`` is not a positive whole number.

    Examples
    --------
    >>> set_max_pixels(10**8); max_pixels()
    100000000
    >>> set_max_pixels(None)
    """
    global _override
    _override = None if limit is None else _parse_limit(limit, "--max-pixels")


@contextlib.contextmanager
def pixel_limit(limit: int | float | str | None) -> Iterator[int]:
    """Temporarily set the pixel limit (see :func:`set_max_pixels`).

    Parameters
    ----------
    limit : int, float, str or None
        Limit inside the ``with`` block.

    Yields
    ------
    int
        The limit in force.

    Examples
    --------
    >>> with pixel_limit(64) as n:
    ...     n
    64
    """
    global _override
    previous = _override
    set_max_pixels(limit)
    try:
        yield max_pixels()
    finally:
        _override = previous


def settings() -> dict:
    """Snapshot of the process-wide settings that batch workers must share.

    Returns
    -------
    dict
        ``{"max_pixels": int | None, "value_range": ...}`` (pass to :func:`apply_settings`).

    Examples
    --------
    >>> sorted(settings())
    ['max_pixels', 'value_range']
    """
    from nlvision import imageio

    return {"max_pixels": _override, "value_range": imageio.get_default_range()}


def apply_settings(snapshot: Mapping[str, Any]) -> None:
    """Apply a :func:`settings` snapshot (in a worker process).

    Parameters
    ----------
    snapshot : mapping
        Value returned by :func:`settings`.

    Examples
    --------
    >>> apply_settings(settings())
    """
    from nlvision import imageio

    global _override
    _override = snapshot.get("max_pixels")
    imageio.set_default_range(snapshot.get("value_range"))


def _limit_hint() -> str:
    return f"raise it with --max-pixels or {ENV_MAX_PIXELS}"


def check_pixels(height: int, width: int, name: str = "image", *, frames: int = 1) -> int:
    """Refuse a declared image size above :func:`max_pixels`.

    Parameters
    ----------
    height, width : int
        Declared size.
    name : str
        What to name in the message (usually the file).
    frames : int
        Number of planes/frames that will be decoded together.

    Returns
    -------
    int
        The declared pixel count.

    Raises
    ------
    ValueError
        If a dimension is not positive or the count exceeds the limit.

    Examples
    --------
    >>> check_pixels(100, 200)
    20000
    >>> with pixel_limit(100):
    ...     check_pixels(20, 20, "big.png")
    Traceback (most recent call last):
    ...
    ValueError: big.png: declares 20x20 = 400 pixels, above the limit of 100 pixels (raise it with --max-pixels or NLVISION_MAX_PIXELS)
    """
    h, w, f = int(height), int(width), int(frames)
    if h <= 0 or w <= 0 or f <= 0:
        raise ValueError(f"{name}: declares an empty or negative size {h}x{w}")
    count = h * w * f
    limit = max_pixels()
    if count > limit:
        size = f"{h}x{w}" + (f"x{f} frames" if f > 1 else "")
        raise ValueError(f"{name}: declares {size} = {count:,} pixels, above the limit of {limit:,} pixels ({_limit_hint()})")
    return count


def check_elements(shape: Any, name: str = "array", *, dtype: Any = None, available_bytes: int | None = None) -> int:
    """Refuse a declared array shape above :func:`max_elements` or larger than the bytes that hold it.

    Parameters
    ----------
    shape : int or sequence of int
        Declared shape.
    name : str
        What to name in the message.
    dtype : dtype-like, optional
        Element type (needed with ``available_bytes``).
    available_bytes : int, optional
        Bytes of the (uncompressed) data that should hold the array; a shape asking for more is a lie.

    Returns
    -------
    int
        Element count.

    Raises
    ------
    ValueError
        If the shape is malformed, too large, or bigger than ``available_bytes``.

    Examples
    --------
    >>> check_elements((3, 4))
    12
    >>> check_elements((1000, 1000), "w", dtype="float32", available_bytes=64)
    Traceback (most recent call last):
    ...
    ValueError: w: declares shape (1000, 1000) float32 = 4,000,000 bytes but only 64 bytes hold it
    """
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        dims = tuple(int(d) for d in shape)
        if any(isinstance(d, bool) or (isinstance(d, float) and d != int(d)) for d in shape):
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}: malformed shape {shape!r}; expected a sequence of non-negative integers") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{name}: malformed shape {dims}; dimensions must be >= 0")
    count = 1
    for d in dims:
        count *= d
    limit = max_elements()
    if count > limit:
        raise ValueError(f"{name}: declares shape {dims} = {count:,} elements, above the limit of {limit:,} ({_limit_hint()})")
    if available_bytes is not None and dtype is not None:
        dt = np.dtype(dtype)
        need = count * dt.itemsize
        if need > available_bytes:
            raise ValueError(f"{name}: declares shape {dims} {dt} = {need:,} bytes but only {available_bytes:,} bytes hold it")
    return count


@dataclass(frozen=True)
class ImageHeader:
    """Size of an image as declared by its file header (nothing decoded).

    Parameters
    ----------
    format : str
        ``"png"``, ``"jpeg"``, ``"tiff"``, ``"bmp"``, ``"pnm"`` or ``"unknown"``.
    height, width : int
        Declared size (0 when unknown).
    channels : int
        Samples per pixel (0 when unknown).
    bits : int
        Bits per sample (0 when unknown).
    frames : int
        Planes/pages decoded together (TIFF stacks), else 1.

    Examples
    --------
    >>> ImageHeader("png", 3, 4, 1, 8).pixels
    12
    """

    format: str
    height: int
    width: int
    channels: int = 0
    bits: int = 0
    frames: int = 1

    @property
    def pixels(self) -> int:
        """Declared pixel count (height x width x frames)."""
        return self.height * self.width * self.frames


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def sniff_format(head: bytes) -> str:
    """Format of a file from its first bytes: png, jpeg, tiff, bmp, pnm, gif, webp or unknown.

    Parameters
    ----------
    head : bytes
        The first (at least 12) bytes.

    Returns
    -------
    str
        Format name.

    Examples
    --------
    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n")
    'png'
    """
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head.startswith(b"\xff\xd8"):
        return "jpeg"
    if head[:4] in _TIFF_MAGICS:
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    if len(head) >= 2 and head[:1] == b"P" and head[1:2] in b"1234567":
        return "pnm"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    return "unknown"


def _png_header(fh) -> ImageHeader:
    head = fh.read(33)
    if len(head) < 33 or head[12:16] != b"IHDR":
        raise ValueError("truncated PNG header (no IHDR chunk)")
    width, height, bits, ctype = struct.unpack(">IIBB", head[16:26])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if channels is None:
        raise ValueError(f"invalid PNG colour type {ctype}")
    return ImageHeader("png", height, width, channels, bits)


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_header(fh) -> ImageHeader:
    fh.read(2)
    for _ in range(10000):  # markers before the frame header
        byte = fh.read(1)
        while byte and byte != b"\xff":
            byte = fh.read(1)
        while byte == b"\xff":
            byte = fh.read(1)
        if not byte:
            break
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        if marker == 0xD9 or marker == 0xDA:
            break  # end of image / start of scan before any frame header
        raw = fh.read(2)
        if len(raw) < 2:
            break
        length = struct.unpack(">H", raw)[0]
        if length < 2:
            break
        if marker in _JPEG_SOF:
            data = fh.read(6)
            if len(data) < 6:
                break
            bits, height, width, comps = struct.unpack(">BHHB", data)
            return ImageHeader("jpeg", height, width, comps, bits)
        fh.seek(length - 2, os.SEEK_CUR)
    raise ValueError("truncated or invalid JPEG (no frame header)")


_TIFF_TYPES = {1: ("B", 1), 3: ("H", 2), 4: ("I", 4), 16: ("Q", 8), 8: ("h", 2), 9: ("i", 4), 6: ("b", 1)}


def _tiff_header(fh, size: int) -> ImageHeader:
    head = fh.read(16)
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    if big:
        offset = struct.unpack(order + "Q", head[8:16])[0]
    else:
        offset = struct.unpack(order + "I", head[4:8])[0]
    if offset < 8 or offset >= size:
        raise ValueError("invalid TIFF (first IFD outside the file)")
    fh.seek(offset)
    count_fmt, entry_size = ("Q", 20) if big else ("H", 12)
    raw = fh.read(8 if big else 2)
    if len(raw) < struct.calcsize(count_fmt):
        raise ValueError("truncated TIFF header")
    n = struct.unpack(order + count_fmt, raw)[0]
    if n > 4096:
        raise ValueError(f"invalid TIFF (IFD declares {n} entries)")
    data = fh.read(n * entry_size)
    tags: dict[int, int] = {}
    for i in range(len(data) // entry_size):
        e = data[i * entry_size : (i + 1) * entry_size]
        if big:
            tag, typ, cnt = struct.unpack(order + "HHQ", e[:12])
            val = e[12:20]
        else:
            tag, typ, cnt = struct.unpack(order + "HHI", e[:8])
            val = e[8:12]
        if tag in (256, 257, 258, 277) and typ in _TIFF_TYPES and cnt >= 1:
            fmt, width = _TIFF_TYPES[typ]
            if width <= len(val):
                tags[tag] = struct.unpack(order + fmt, val[:width])[0]
    if 256 not in tags or 257 not in tags:
        raise ValueError("invalid TIFF (no ImageWidth/ImageLength)")
    return ImageHeader("tiff", tags[257], tags[256], tags.get(277, 1), tags.get(258, 1))


def _bmp_header(fh) -> ImageHeader:
    head = fh.read(30)
    if len(head) < 26:
        raise ValueError("truncated BMP header")
    dib = struct.unpack("<I", head[14:18])[0]
    if dib == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", head[18:22])
        bpp = struct.unpack("<H", head[24:26])[0]
    else:
        width, height = struct.unpack("<ii", head[18:26])
        bpp = struct.unpack("<H", head[28:30])[0] if len(head) >= 30 else 0
    return ImageHeader("bmp", abs(height), abs(width) if width > 0 else width, max(1, bpp // 8), bpp)


def _pnm_header(fh) -> ImageHeader:
    data = fh.read(4096)
    kind = data[1:2]
    if kind == b"7":  # PAM: WIDTH/HEIGHT/DEPTH/MAXVAL lines up to ENDHDR
        fields = {}
        for line in data.split(b"\n")[1:]:
            line = line.split(b"#")[0].strip()
            if line == b"ENDHDR":
                break
            parts = line.split()
            if len(parts) >= 2:
                fields[parts[0].upper()] = parts[1]
        try:
            return ImageHeader("pnm", int(fields[b"HEIGHT"]), int(fields[b"WIDTH"]), int(fields.get(b"DEPTH", 1)))
        except (KeyError, ValueError):
            raise ValueError("invalid PAM header") from None
    tokens: list[bytes] = []
    for line in data[2:].split(b"\n"):
        tokens.extend(line.split(b"#")[0].split())
        if len(tokens) >= 2:
            break
    try:
        width, height = int(tokens[0]), int(tokens[1])
    except (IndexError, ValueError):
        raise ValueError("truncated or invalid PNM header") from None
    return ImageHeader("pnm", height, width, 3 if kind in b"36" else 1)


def read_image_header(path: str | os.PathLike) -> ImageHeader:
    """Declared size of an image file, from its header only (PNG, JPEG, TIFF, BMP, PNM/PAM).

    Parameters
    ----------
    path : path-like
        Image file.

    Returns
    -------
    ImageHeader
        ``format == "unknown"`` (size 0) for formats this parser does not know (the decoder
        then checks the size it reports before decoding).

    Raises
    ------
    ValueError
        If the file is empty, missing, or its header is truncated or malformed.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.fromarray(np.zeros((3, 5), np.uint8)).save(p)
    >>> h = read_image_header(p); (h.format, h.height, h.width, h.channels, h.bits)
    ('png', 3, 5, 1, 8)
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(16)
            if not head:
                raise ValueError(f"{p}: empty file")
            kind = sniff_format(head)
            fh.seek(0)
            try:
                if kind == "png":
                    header = _png_header(fh)
                elif kind == "jpeg":
                    header = _jpeg_header(fh)
                elif kind == "tiff":
                    header = _tiff_header(fh, size)
                elif kind == "bmp":
                    header = _bmp_header(fh)
                elif kind == "pnm":
                    header = _pnm_header(fh)
                else:
                    return ImageHeader("unknown", 0, 0)
            except (struct.error, ValueError) as exc:
                raise ValueError(f"{p}: {exc}" if str(exc) else f"{p}: malformed {kind} header") from None
    except IsADirectoryError:
        raise ValueError(f"{p}: is a folder, expected an image file") from None
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    if header.width <= 0 or header.height <= 0:
        raise ValueError(f"{p}: {header.format} header declares an empty size {header.height}x{header.width}")
    return header


def check_image_file(path: str | os.PathLike) -> ImageHeader:
    """Read the header of an image file and refuse it if it declares more than :func:`max_pixels`.

    For TIFF files the whole first series is counted (a stack of pages is decoded together).

    Parameters
    ----------
    path : path-like
        Image file.

    Returns
    -------
    ImageHeader
        The declared size.

    Raises
    ------
    ValueError
        If the header is unreadable or the declared size is above the limit.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.fromarray(np.zeros((30, 30), np.uint8)).save(p)
    >>> with pixel_limit(100):
    ...     check_image_file(p)
    Traceback (most recent call last):
    ...
    ValueError: ...a.png: declares 30x30 = 900 pixels, above the limit of 100 pixels (raise it with --max-pixels or NLVISION_MAX_PIXELS)
    """
    p = Path(path)
    header = read_image_header(p)
    if header.format == "unknown":
        return header
    check_pixels(header.height, header.width, str(p))
    if header.format == "tiff":
        header = _tiff_series_header(p, header)
        check_pixels(header.height, header.width, str(p), frames=header.frames)
    return header


def _tiff_series_header(p: Path, first: ImageHeader) -> ImageHeader:
    """Shape of the first series as tifffile will decode it (pages stacked), without decoding."""
    try:
        import tifffile
    except ImportError:  # pragma: no cover - tifffile is a core dependency
        return first
    try:
        with tifffile.TiffFile(p) as tf:
            series = tf.series[0]
            shape = tuple(int(d) for d in series.shape)
            axes = series.axes
    except Exception as exc:  # tifffile raises many types on malformed files
        raise ValueError(f"{p}: cannot read TIFF structure ({type(exc).__name__}: {exc})") from None
    height = shape[axes.index("Y")] if "Y" in axes else first.height
    width = shape[axes.index("X")] if "X" in axes else first.width
    channels = shape[axes.index("S")] if "S" in axes else 1
    total = 1
    for d in shape:
        total *= d
    frames = max(1, total // max(1, height * width * channels))
    return ImageHeader("tiff", height, width, channels, first.bits, frames)


# ---------------------------------------------------------------- arrays: npy / npz / safetensors / JSON


def _npy_header(fh, name: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header bytes) of a .npy stream, refusing object dtypes (pickles)."""
    from numpy.lib import format as npformat

    start = fh.tell() if hasattr(fh, "tell") else 0
    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = npformat.read_array_header_1_0(fh, max_header_size=10000)
        elif version in ((2, 0), (3, 0)):
            shape, _fortran, dtype = npformat.read_array_header_2_0(fh, max_header_size=10000)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except ValueError as exc:
        raise ValueError(f"{name}: not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"{name}: holds Python objects (a pickle); refusing to load it")
    end = fh.tell() if hasattr(fh, "tell") else 0
    return tuple(int(d) for d in shape), dtype, end - start


def npz_shapes(path: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Declared shape and dtype of every array in an ``.npz`` file, checked, nothing decoded.

    Each member's declared ``shape x itemsize`` must fit in the member's declared uncompressed
    size, and its element count must be within :func:`max_elements`; object arrays (pickles)
    are refused.

    Parameters
    ----------
    path : path-like
        ``.npz`` file.

    Returns
    -------
    dict
        ``{key: (shape, dtype)}`` (keys without the ``.npy`` suffix).

    Raises
    ------
    ValueError
        If the file is not a zip of ``.npy`` arrays, or a member is too large, lies about its
        size or holds objects.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
    >>> np.savez(p, d=np.zeros((4, 3)))
    >>> npz_shapes(p)
    {'d': ((4, 3), dtype('float64'))}
    """
    p = Path(path)
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            if len(infos) > 10000:
                raise ValueError(f"{p}: holds {len(infos)} members; not an nlvision array file")
            for info in infos:
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as fh:
                    shape, dtype, header = _npy_header(fh, f"{p}[{key}]")
                check_elements(shape, f"{p}[{key}]", dtype=dtype, available_bytes=max(0, info.file_size - header))
                out[key] = (shape, dtype)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{p}: not a valid .npz file ({exc})") from None
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{p}: is a folder, expected an .npz file") from None
    except (EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise ValueError(f"{p}: cannot read .npz file ({type(exc).__name__}: {exc})") from None
    return out


def load_npz(path: str | os.PathLike, keys: Any = None) -> dict[str, np.ndarray]:
    """Load an ``.npz`` file after :func:`npz_shapes` has checked every member (no pickles).

    Parameters
    ----------
    path : path-like
        ``.npz`` file.
    keys : sequence of str, optional
        Members that must be present (a clear error names the missing ones).

    Returns
    -------
    dict
        ``{key: numpy.ndarray}``.

    Raises
    ------
    ValueError
        As :func:`npz_shapes`, or when a required key is missing or the data are corrupt.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
    >>> np.savez(p, d=np.arange(3))
    >>> load_npz(p, keys=["d"])["d"].tolist()
    [0, 1, 2]
    """
    p = Path(path)
    shapes = npz_shapes(p)
    if keys is not None:
        missing = [k for k in keys if k not in shapes]
        if missing:
            raise ValueError(f"{p}: missing array(s) {', '.join(missing)}; found {', '.join(shapes) or 'none'}")
    try:
        with np.load(p, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except MemoryError:
        raise ValueError(f"{p}: out of memory while loading") from None
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, zlib_error()) as exc:
        raise ValueError(f"{p}: corrupt .npz data ({type(exc).__name__}: {exc})") from None


def zlib_error() -> type:
    import zlib

    return zlib.error


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """Load a ``.npy`` file after checking its declared shape against the limit and the file size.

    Parameters
    ----------
    path : path-like
        ``.npy`` file.

    Returns
    -------
    numpy.ndarray
        The array.

    Raises
    ------
    ValueError
        If the file is not a ``.npy`` array, holds objects, or declares more than it holds.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.npy"
    >>> np.save(p, np.ones(2))
    >>> load_npy(p).tolist()
    [1.0, 1.0]
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            shape, dtype, header = _npy_header(fh, str(p))
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{p}: is a folder, expected an .npy file") from None
    check_elements(shape, str(p), dtype=dtype, available_bytes=size - header)
    try:
        return np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{p}: corrupt .npy data ({exc})") from None


_ST_DTYPES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
    "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "C64": 8,
}


def safetensors_shapes(path: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], str]]:
    """Declared tensors of a safetensors file, checked against the limit and the file size.

    The header (8-byte length + JSON) is parsed here, without the safetensors library, so a file
    declaring a huge header or tensors larger than the file is refused before anything is read.

    Parameters
    ----------
    path : path-like
        ``.safetensors`` file.

    Returns
    -------
    dict
        ``{name: (shape, dtype string)}`` (the ``__metadata__`` entry is skipped).

    Raises
    ------
    ValueError
        If the header is malformed, or a tensor's shape, dtype or offsets do not match the file.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from safetensors.numpy import save_file
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.safetensors"
    >>> save_file({"w": np.zeros((2, 3), np.float32)}, str(p))
    >>> safetensors_shapes(p)
    {'w': ((2, 3), 'F32')}
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise ValueError(f"{p}: not a safetensors file (shorter than its 8-byte header length)")
            n = struct.unpack("<Q", raw)[0]
            if n > min(size - 8, 100 * 2**20):
                raise ValueError(f"{p}: not a safetensors file (declares a {n:,}-byte header in a {size:,}-byte file)")
            text = fh.read(n)
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{p}: is a folder, expected a safetensors file") from None
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError(f"{p}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise ValueError(f"{p}: not a safetensors file (header is not a JSON object)")
    data_bytes = size - 8 - n
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        name = f"{p}[{key}]"
        if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
            raise ValueError(f"{name}: malformed tensor entry; expected dtype, shape and data_offsets")
        dtype = entry["dtype"]
        if dtype not in _ST_DTYPES:
            raise ValueError(f"{name}: unknown dtype {dtype!r}")
        if not isinstance(entry["shape"], list):
            raise ValueError(f"{name}: malformed shape {entry['shape']!r}")
        count = check_elements(entry["shape"], name)
        offsets = entry["data_offsets"]
        if (
            not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_bytes
        ):
            raise ValueError(f"{name}: data offsets {offsets!r} outside the file's {data_bytes:,} data bytes")
        if offsets[1] - offsets[0] != count * _ST_DTYPES[dtype]:
            raise ValueError(
                f"{name}: declares shape {tuple(entry['shape'])} {dtype} = {count * _ST_DTYPES[dtype]:,} bytes "
                f"but its data span {offsets[1] - offsets[0]:,} bytes"
            )
        out[key] = (tuple(int(d) for d in entry["shape"]), dtype)
    return out


def load_json(path: str | os.PathLike, *, max_bytes: int | None = None) -> Any:
    """Parse a JSON file no larger than :func:`max_json_bytes` (or ``max_bytes``).

    NaN/Infinity literals are refused (they are not JSON).

    Parameters
    ----------
    path : path-like
        JSON file.
    max_bytes : int, optional
        Byte limit (defaults to :func:`max_json_bytes`).

    Returns
    -------
    object
        The parsed document.

    Raises
    ------
    ValueError
        If the file is missing, too large, not UTF-8 or not valid JSON.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text('{"a": [1, 2]}')
    >>> load_json(p)
    {'a': [1, 2]}
    """
    p = Path(path)
    limit = max_json_bytes() if max_bytes is None else int(max_bytes)
    try:
        size = p.stat().st_size
        if size > limit:
            raise ValueError(f"{p}: JSON file of {size:,} bytes is above the limit of {limit:,} bytes ({_limit_hint()})")
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{p}: is a folder, expected a JSON file") from None
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not a UTF-8 text file") from None

    def _no_constants(token: str) -> Any:
        raise ValueError(f"{p}: invalid JSON value {token}")

    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"{p}: JSON nested too deeply") from None
