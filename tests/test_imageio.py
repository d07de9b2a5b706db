"""nlvision.imageio: round trips of 8/16-bit gray/RGB/RGBA PNG and TIFF, bad files, validation."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from nlvision.imageio import list_images, load_image, save_image, to_float, to_gray, validate_image

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("channels", [None, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_load_written_by_other_libraries(tmp_path, channels, dtype, ext):
    if dtype == np.uint16 and ext == ".png" and channels is not None:
        pytest.skip("Pillow cannot write 16-bit colour PNG")
    top = np.iinfo(dtype).max
    shape = (9, 7) if channels is None else (9, 7, channels)
    raw = RNG.integers(0, top + 1, size=shape, dtype=np.int64).astype(dtype)
    path = tmp_path / f"img{ext}"
    if ext == ".tif":
        tifffile.imwrite(path, raw)
    else:
        Image.fromarray(raw).save(path)
    image = load_image(path, keep_alpha=True)
    assert image.dtype == np.float64
    np.testing.assert_allclose(image, raw.astype(np.float64) / top)
    if channels == 4:
        np.testing.assert_allclose(load_image(path), raw[..., :3].astype(np.float64) / top)
    if channels == 3:
        from skimage.color import rgb2gray

        np.testing.assert_allclose(load_image(path, as_gray=True), rgb2gray(raw.astype(np.float64) / top))


@pytest.mark.parametrize(
    "ext,bits,channels",
    [(".png", 8, None), (".png", 16, None), (".png", 8, 3), (".png", 8, 4), (".tif", 16, None), (".tif", 16, 3), (".tif", 8, 4)],
)
def test_save_load_round_trip(tmp_path, ext, bits, channels):
    levels = 255 if bits == 8 else 65535
    shape = (6, 5) if channels is None else (6, 5, channels)
    image = np.round(RNG.random(shape) * levels) / levels
    path = save_image(tmp_path / f"out{ext}", image, bit_depth=bits)
    np.testing.assert_allclose(load_image(path, keep_alpha=True), image, atol=1e-12)
    raw = tifffile.imread(path) if ext == ".tif" else np.asarray(Image.open(path))
    assert raw.dtype == (np.uint8 if bits == 8 else np.uint16)


def test_save_clips_and_is_atomic(tmp_path):
    path = save_image(tmp_path / "a.png", np.array([[-0.5, 0.5], [1.5, 1.0]]))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), [[0, 128], [255, 255]])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # no temporary left behind
    with pytest.raises(ValueError, match="NaN"):
        save_image(tmp_path / "b.png", np.array([[np.nan, 0.0]]))
    assert not (tmp_path / "b.png").exists()
    with pytest.raises(ValueError, match="extension"):
        save_image(tmp_path / "c.xyz", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="bit_depth"):
        save_image(tmp_path / "d.png", np.zeros((2, 2)), bit_depth=12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


@pytest.mark.parametrize("ext", [".png", ".tif", ".jpg"])
def test_truncated_and_garbage_files(tmp_path, ext):
    good = tmp_path / f"good{ext}"
    save_image(good, RNG.random((64, 64)))
    truncated = tmp_path / f"trunc{ext}"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    garbage = tmp_path / f"garbage{ext}"
    garbage.write_bytes(b"this is not an image")
    for bad in (truncated, garbage):
        with pytest.raises(ValueError, match=bad.name):
            load_image(bad)
    with pytest.raises(ValueError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_jpeg_loads_close(tmp_path):
    image = np.tile(np.linspace(0, 1, 32), (32, 1))
    path = save_image(tmp_path / "a.jpg", image)
    assert np.abs(load_image(path) - image).max() < 0.05


def test_validate_and_helpers():
    np.testing.assert_array_equal(to_float(np.array([0, 65535], dtype=np.uint16)), [0.0, 1.0])
    np.testing.assert_array_equal(to_float(np.array([-128, 127], dtype=np.int8)), [0.0, 1.0])
    assert to_gray(np.ones((3, 3, 3))).shape == (3, 3)
    with pytest.raises(ValueError, match="empty"):
        validate_image(np.zeros((0, 4)))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        validate_image(np.zeros((2, 2, 5)))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        validate_image(np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        validate_image(np.array([[np.inf]]))
    with pytest.raises(TypeError, match="numeric"):
        validate_image(np.array([["a"]]))
    with pytest.raises(ValueError, match="within"):
        validate_image(np.array([[2.0]]), value_range=(0, 1))


def test_list_images(tmp_path):
    for name in ("b.png", "a.tif", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.tif", "b.png"]
    assert [p.name for p in list_images(str(tmp_path / "*.png"))] == ["b.png"]
    with pytest.raises(ValueError, match="no image files"):
        list_images(str(tmp_path / "*.jpg"))


def _write_png16(path, arr):
    """Minimal independent PNG writer (16-bit RGB/RGBA, filter type 0)."""
    import struct
    import zlib

    h = arr.shape[0]
    ctype = {3: 2, 4: 6}[arr.shape[2]]
    raw = b"".join(b"\x00" + arr[i].astype(">u2").tobytes() for i in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", arr.shape[1], h, 16, ctype, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_color_png_keeps_16_bits(tmp_path, channels):
    raw = RNG.integers(0, 65536, size=(5, 6, channels)).astype(np.uint16)
    path = tmp_path / "c16.png"
    _write_png16(path, raw)
    image = load_image(path, keep_alpha=True)
    try:
        import cv2  # noqa: F401
    except ImportError:  # Pillow alone reads these files with 8-bit precision
        np.testing.assert_allclose(image, raw / 65535, atol=1 / 255)
    else:
        np.testing.assert_allclose(image, raw / 65535, atol=1e-12)
