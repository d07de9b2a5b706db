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


# ---------------------------------------------------------------- float-range rule, odd modes, hostile files


def test_float_tiff_0_255_is_an_error_not_white(tmp_path):
    import tifffile

    raw = RNG.random((8, 9)).astype(np.float32) * 255
    raw[0, 0], raw[0, 1] = 0, 255
    path = tmp_path / "f.tif"
    tifffile.imwrite(path, raw)
    with pytest.raises(ValueError, match=r"f\.tif: float image spans \[0, 255\], outside \[0, 1\]; pass --range 0,255"):
        load_image(path)
    np.testing.assert_allclose(load_image(path, value_range=(0, 255)), raw.astype(np.float64) / 255)
    np.testing.assert_allclose(load_image(path, value_range="0,255"), raw.astype(np.float64) / 255)


def test_signed_float_tiff_keeps_every_pixel_with_range(tmp_path):
    import tifffile

    raw = (RNG.random((10, 10)) * 2 - 1).astype(np.float32)  # [-1, 1]: 'clip to [0, 1]' would lose half
    path = tmp_path / "s.tif"
    tifffile.imwrite(path, raw)
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        load_image(path)
    image = load_image(path, value_range=(-1, 1))
    np.testing.assert_allclose(image, (raw.astype(np.float64) + 1) / 2)
    auto = load_image(path, value_range="auto")
    np.testing.assert_allclose(auto, (raw - raw.min()) / (raw.max() - raw.min()), rtol=1e-6)
    with pytest.raises(ValueError, match="outside --range 0,1"):
        load_image(path, value_range=(0, 1))  # an explicit range is checked, never clipped


def test_float_rule_tolerance_and_default_range(tmp_path):
    import tifffile

    from nlvision.imageio import get_default_range, set_default_range

    raw = np.array([[0.0, 0.5], [1.0 + 1e-7, -1e-8]], dtype=np.float64)
    path = tmp_path / "r.tif"
    tifffile.imwrite(path, raw)
    np.testing.assert_allclose(load_image(path), np.clip(raw, 0, 1))  # float writers' rounding noise only
    tifffile.imwrite(path, raw * 255)
    set_default_range("0,255")
    try:
        assert get_default_range() == (0.0, 255.0)
        np.testing.assert_allclose(load_image(path), np.clip(raw, 0, 1), atol=1e-9)
    finally:
        set_default_range(None)
    for bad in ("1,0", "0", "a,b", "0,inf", "nan,1"):
        with pytest.raises(ValueError, match="--range"):
            load_image(path, value_range=bad)


def test_integer_range_option_maps_12_bit_data(tmp_path):
    import tifffile

    raw = RNG.integers(0, 4096, size=(6, 6)).astype(np.uint16)
    path = tmp_path / "12bit.tif"
    tifffile.imwrite(path, raw)
    np.testing.assert_allclose(load_image(path, value_range=(0, 4095)), raw / 4095)
    np.testing.assert_allclose(load_image(path), raw / 65535)


def test_nan_float_tiff_is_refused(tmp_path):
    import tifffile

    raw = np.zeros((4, 4), np.float32)
    raw[1, 2] = np.nan
    tifffile.imwrite(tmp_path / "n.tif", raw)
    with pytest.raises(ValueError, match="n.tif: contains 1 NaN"):
        load_image(tmp_path / "n.tif")


def test_content_not_extension_decides_the_reader(tmp_path):
    import tifffile

    raw = RNG.integers(0, 65536, size=(5, 7)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "really_tiff.png", raw)
    np.testing.assert_allclose(load_image(tmp_path / "really_tiff.png"), raw / 65535)
    Image.fromarray((raw >> 8).astype(np.uint8)).save(tmp_path / "really_png.tif", format="PNG")
    np.testing.assert_allclose(load_image(tmp_path / "really_png.tif"), (raw >> 8) / 255)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "I;16", "F", "La", "RGBa"])
def test_odd_pillow_modes_load_like_pillow_converts_them(tmp_path, mode):
    base = Image.fromarray(RNG.integers(0, 256, size=(6, 5, 4), dtype=np.uint8), "RGBA")
    if mode in ("I", "I;16", "F"):
        im = Image.fromarray(RNG.integers(0, 256, size=(6, 5), dtype=np.uint8)).convert(mode)
    elif mode == "PA":
        im = base.convert("P").convert("PA")
    else:
        im = base.convert(mode) if mode not in ("1",) else base.convert("L").convert("1")
    path = tmp_path / "m.tif"
    try:
        im.save(path, format="TIFF")
        reread_mode = Image.open(path).mode
    except (OSError, ValueError, KeyError):
        path = tmp_path / "m.png"
        try:
            im.save(path, format="PNG")
        except (OSError, ValueError, KeyError):
            pytest.skip(f"Pillow cannot save mode {mode}")
        reread_mode = Image.open(path).mode
    if reread_mode == "F":  # float samples 0-255: the float rule asks for --range
        with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
            load_image(path)
        image = load_image(path, value_range=(0, 255))
    else:
        image = load_image(path, keep_alpha=True)
    assert image.dtype == np.float64 and image.shape[:2] == (6, 5)
    assert 0.0 <= image.min() and image.max() <= 1.0, reread_mode


def test_palette_with_transparency_and_16bit_pnm(tmp_path):
    im = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4), "L").convert("P")
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    assert load_image(tmp_path / "p.png", keep_alpha=True).shape == (3, 4, 4)
    raw = RNG.integers(0, 65536, size=(3, 4)).astype(">u2")
    (tmp_path / "a.pgm").write_bytes(b"P5\n4 3\n65535\n" + raw.tobytes())
    np.testing.assert_allclose(load_image(tmp_path / "a.pgm"), raw.astype(np.float64) / 65535)


def test_memory_error_is_the_files_failure(tmp_path, monkeypatch):
    import nlvision.imageio as imageio

    path = save_image(tmp_path / "a.png", RNG.random((8, 8)))

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(imageio, "_read_with_pillow", boom)
    with pytest.raises(ValueError, match=r"a\.png: out of memory decoding a 8x8 image"):
        load_image(path)


def test_folder_and_hidden_files(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        load_image(tmp_path)
    save_image(tmp_path / "a.png", RNG.random((8, 8)))
    (tmp_path / ".nlvision-tmp-1-x-b.png").write_bytes(b"half")
    (tmp_path / "._a.png").write_bytes(b"\x00\x05\x16\x07")
    assert [p.name for p in list_images(tmp_path)] == ["a.png"]
    weird = tmp_path / "we[i]rd.png"
    save_image(weird, RNG.random((8, 8)))
    assert list_images(str(weird)) == [weird]  # an existing name with glob characters is a file
