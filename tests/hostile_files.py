"""Builders of hostile files shared by the robustness tests and benchmarks/bad_input_campaign.py.

Every builder writes a small file (a few KB to a few MB) quickly; the bombs are real: decoded
without nlvision's header check they would allocate gigabytes.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_bomb(path: Path, height: int = 20000, width: int = 20000, *, bits: int = 16, channels: int = 3) -> Path:
    """A valid PNG of all-zero pixels whose zlib stream decompresses to height x rowbytes bytes.

    The deflate stream is one full-flushed block of zero rows repeated (byte-aligned, so the
    repetition is itself valid) and a final empty block; the Adler-32 of n zero bytes is
    ``(n mod 65521) << 16 | 1``. A 20000 x 20000 16-bit RGB bomb is ~2.3 MB on disk, 2.4 GB decoded.
    """
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rowbytes = 1 + width * channels * bits // 8
    rows_per_block = max(1, min(height, (8 << 20) // rowbytes))
    c = zlib.compressobj(9)
    first = c.compress(bytes(rowbytes * rows_per_block)) + c.flush(zlib.Z_FULL_FLUSH)
    header, body = first[:2], first[2:]
    blocks, rest = divmod(height, rows_per_block)
    tail = b""
    if rest:
        c2 = zlib.compressobj(9)
        t = c2.compress(bytes(rowbytes * rest)) + c2.flush(zlib.Z_FULL_FLUSH)
        tail = t[2:]
    total = height * rowbytes
    adler = ((total % 65521) << 16) | 1
    stream = header + body * blocks + tail + b"\x03\x00" + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, bits, ctype, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b""))
    return Path(path)


def tiff_header_only(path: Path, height: int = 20000, width: int = 20000, *, bits: int = 8, samples: int = 1) -> Path:
    """A tiny little-endian TIFF whose first IFD declares height x width but holds 16 data bytes."""
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, bits),
        (259, 3, 1, 1),
        (262, 3, 1, 1 if samples == 1 else 2),
        (273, 4, 1, 8),  # strip offset: right after the header
        (277, 3, 1, samples),
        (278, 4, 1, height),
        (279, 4, 1, 16),
    ]
    ifd_offset = 8 + 16
    out = b"II*\x00" + struct.pack("<I", ifd_offset) + bytes(16)
    out += struct.pack("<H", len(entries))
    for tag, typ, cnt, val in entries:
        fmt = "<HHIHH" if typ == 3 else "<HHII"
        out += struct.pack(fmt, tag, typ, cnt, val, 0) if typ == 3 else struct.pack(fmt, tag, typ, cnt, val)
    out += struct.pack("<I", 0)
    Path(path).write_bytes(out)
    return Path(path)


def small_png(path: Path, shape=(32, 32), seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)).save(path)
    return Path(path)


def float_tiff(path: Path, array: np.ndarray) -> Path:
    import tifffile

    tifffile.imwrite(path, np.asarray(array, dtype=np.float32))
    return Path(path)


def truncated_copy(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: max(1, int(len(data) * fraction))])
    return Path(dst)


def malicious_pickle(path: Path) -> Path:
    """A pickle that would create a marker file when unpickled (via builtins.open)."""

    class Evil:
        def __reduce__(self):
            return (open, (str(Path(path).with_suffix(".PWNED")), "w"))

    Path(path).write_bytes(pickle.dumps(Evil()))
    return Path(path)


def npy_lie(path: Path, shape=(200000, 200000)) -> Path:
    """A .npy header declaring a huge float64 array, followed by 8 bytes."""
    buf = io.BytesIO()
    from numpy.lib import format as npformat

    npformat.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)})
    Path(path).write_bytes(buf.getvalue() + bytes(8))
    return Path(path)


def npz_lie(path: Path, key: str = "dictionary", shape=(200000, 200000)) -> Path:
    """An .npz whose member declares a huge array (the zip holds a few bytes)."""
    import zipfile

    buf = io.BytesIO()
    from numpy.lib import format as npformat

    npformat.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{key}.npy", buf.getvalue() + bytes(8))
    return Path(path)


def npz_object(path: Path, key: str = "dictionary") -> Path:
    """An .npz holding an object array (a pickle inside)."""
    np.savez(path, **{key: np.array([{"a": 1}, None], dtype=object)})
    return Path(path)


def safetensors_lie(path: Path, shape=(1 << 20, 1 << 20)) -> Path:
    """A safetensors header declaring a 4 TiB tensor over 8 bytes of data."""
    import json

    header = json.dumps({"w": {"dtype": "F32", "shape": list(shape), "data_offsets": [0, 4 * shape[0] * shape[1]]}}).encode()
    Path(path).write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    return Path(path)
