"""nlvision.limits: one size policy, header checks before allocation, npz/npy/safetensors/JSON checks.

Declared sizes are compared with independent readers (Pillow's ``Image.open().size``, tifffile's
page shape, safetensors' own loader), and the bombs are real (tests/hostile_files.py): decoded
without the check they would allocate gigabytes. Memory is bounded with RLIMIT_AS in a child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files as hf  # noqa: E402
from nlvision import limits
from nlvision.imageio import load_image

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(autouse=True)
def _reset_limit(monkeypatch):
    monkeypatch.delenv(limits.ENV_MAX_PIXELS, raising=False)
    limits.set_max_pixels(None)
    yield
    limits.set_max_pixels(None)


def test_default_env_and_override(monkeypatch):
    assert limits.max_pixels() == 8192 * 8192 == limits.DEFAULT_MAX_PIXELS
    assert limits.max_elements() == 4 * limits.max_pixels()
    monkeypatch.setenv(limits.ENV_MAX_PIXELS, "1e8")
    assert limits.max_pixels() == 100_000_000
    limits.set_max_pixels(500)
    assert limits.max_pixels() == 500  # the option wins over the environment
    with limits.pixel_limit(7):
        assert limits.max_pixels() == 7
    assert limits.max_pixels() == 500
    monkeypatch.setenv(limits.ENV_MAX_PIXELS, "lots")
    limits.set_max_pixels(None)
    with pytest.raises(ValueError, match="NLVISION_MAX_PIXELS"):
        limits.max_pixels()
    for bad in ("0", "-3", "nan", "inf", "1.5", "x"):
        with pytest.raises(ValueError, match="--max-pixels"):
            limits.set_max_pixels(bad)


@pytest.mark.parametrize(
    "fmt,save",
    [
        ("png", dict(format="PNG")),
        ("jpeg", dict(format="JPEG")),
        ("jpeg", dict(format="JPEG", progressive=True)),
        ("bmp", dict(format="BMP")),
        ("pnm", dict(format="PPM")),
        ("tiff", dict(format="TIFF")),
    ],
)
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_header_sizes_match_pillow(tmp_path, fmt, save, mode):
    arr = np.zeros((37, 53) + ((3,) if mode == "RGB" else ()), np.uint8)
    path = tmp_path / f"x.{fmt}"
    Image.fromarray(arr, mode).save(path, **save)
    header = limits.read_image_header(path)
    with Image.open(path) as im:
        width, height = im.size
        bands = len(im.getbands())
    assert (header.format, header.height, header.width) == (fmt, height, width)
    assert header.channels == bands


def test_pam_and_plain_pnm_headers(tmp_path):
    (tmp_path / "a.pam").write_bytes(b"P7\nWIDTH 5\nHEIGHT 3\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n" + bytes(15))
    (tmp_path / "b.pgm").write_bytes(b"P2\n# comment\n4 2\n255\n" + b"0 " * 8)
    assert (limits.read_image_header(tmp_path / "a.pam").height, limits.read_image_header(tmp_path / "a.pam").width) == (3, 5)
    h = limits.read_image_header(tmp_path / "b.pgm")
    with Image.open(tmp_path / "b.pgm") as im:
        assert (h.width, h.height) == im.size


def test_16bit_rgb_png_bomb_refused_before_decoding(tmp_path):
    """The issue's case: a 16-bit RGB PNG goes to OpenCV, which checked no limit."""
    bomb = hf.png_bomb(tmp_path / "bomb.png", 20000, 20000, bits=16, channels=3)
    assert bomb.stat().st_size < 3 * 2**20  # ~2.3 MB on disk, 2.4 GB of pixels
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"bomb\.png: declares 20000x20000 = 400,000,000 pixels, above the limit"):
        load_image(bomb)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("bits,channels", [(8, 1), (8, 3), (16, 1), (16, 4), (8, 2)])
def test_every_png_kind_uses_the_limit_and_it_can_be_raised(tmp_path, bits, channels):
    path = hf.png_bomb(tmp_path / "p.png", 40, 50, bits=bits, channels=channels)
    with limits.pixel_limit(1999):
        with pytest.raises(ValueError, match="2,000 pixels, above the limit of 1,999"):
            load_image(path)
    with limits.pixel_limit(2000):
        image = load_image(path, keep_alpha=True)
    assert image.shape[:2] == (40, 50) and not image.any()  # the bomb decodes to zeros: a valid PNG


def test_tiff_20000_squared_header_refused_without_allocating(tmp_path):
    path = hf.tiff_header_only(tmp_path / "big.tif", 20000, 20000)
    assert path.stat().st_size < 1000
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from nlvision.imageio import load_image\n"
        "try:\n"
        f"    load_image({str(path)!r})\n"
        "except ValueError as e:\n"
        "    print('REFUSED', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.pop(limits.ENV_MAX_PIXELS, None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert "REFUSED" in out.stdout and "20000x20000" in out.stdout, out.stderr[-2000:]
    import tifffile

    with tifffile.TiffFile(path) as tf:  # the independent reader agrees on the declared shape
        assert tf.pages[0].shape == (20000, 20000)


def test_tiff_stack_counts_every_page(tmp_path):
    import tifffile

    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.zeros((6, 20, 30), np.uint8))
    header = limits.check_image_file(path)
    assert (header.height, header.width, header.frames) == (20, 30, 6)
    with limits.pixel_limit(20 * 30 * 5):
        with pytest.raises(ValueError, match="x6 frames"):
            limits.check_image_file(path)


@pytest.mark.parametrize(
    "content,match",
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "truncated PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"II*\x00\xff\xff\xff\x00", "TIFF"),
        (b"P5\n", "PNM"),
        (b"BM" + bytes(30), "empty size"),
    ],
)
def test_malformed_headers(tmp_path, content, match):
    path = tmp_path / "bad.img"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        limits.read_image_header(path)


def test_check_elements_and_array_lies():
    assert limits.check_elements((2, 3), dtype="f8", available_bytes=48) == 6
    with pytest.raises(ValueError, match="only 47 bytes"):
        limits.check_elements((2, 3), dtype="f8", available_bytes=47)
    with pytest.raises(ValueError, match="above the limit"):
        limits.check_elements((1 << 20, 1 << 20))
    for bad in ((-1, 2), ("a",), (1.5,), None, (True, 2)):
        with pytest.raises(ValueError, match="malformed shape"):
            limits.check_elements(bad)


def test_npz_and_npy(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, dictionary=np.eye(4), meta=np.arange(3, dtype=np.int16))
    shapes = limits.npz_shapes(good)
    assert shapes == {"dictionary": ((4, 4), np.dtype("f8")), "meta": ((3,), np.dtype("i2"))}
    loaded = limits.load_npz(good, keys=["dictionary"])
    np.testing.assert_array_equal(loaded["dictionary"], np.eye(4))
    with pytest.raises(ValueError, match="missing array\\(s\\) atoms"):
        limits.load_npz(good, keys=["atoms"])
    with pytest.raises(ValueError, match="above the limit"):
        limits.load_npz(hf.npz_lie(tmp_path / "lie.npz"))
    small_lie = hf.npz_lie(tmp_path / "small.npz", shape=(100, 100))
    with pytest.raises(ValueError, match="80,000 bytes but only 8 bytes"):
        limits.npz_shapes(small_lie)
    with pytest.raises(ValueError, match="pickle"):
        limits.load_npz(hf.npz_object(tmp_path / "obj.npz"))
    assert not list(tmp_path.glob("*.PWNED"))
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a valid .npz"):
        limits.npz_shapes(tmp_path / "text.npz")
    np.save(tmp_path / "a.npy", np.arange(5.0))
    np.testing.assert_array_equal(limits.load_npy(tmp_path / "a.npy"), np.arange(5.0))
    with pytest.raises(ValueError, match="above the limit"):
        limits.load_npy(hf.npy_lie(tmp_path / "lie.npy"))
    with pytest.raises(ValueError, match="only 8 bytes"):
        limits.load_npy(hf.npy_lie(tmp_path / "lie2.npy", shape=(10, 10)))


def test_safetensors(tmp_path):
    from safetensors.numpy import load_file, save_file

    good = tmp_path / "w.safetensors"
    tensors = {"a": np.ones((3, 4), np.float32), "b": np.arange(5, dtype=np.int64)}
    save_file(tensors, str(good), metadata={"k": "v"})
    shapes = limits.safetensors_shapes(good)
    ref = load_file(str(good))
    assert shapes == {k: (ref[k].shape, {"float32": "F32", "int64": "I64"}[str(ref[k].dtype)]) for k in ref}
    with pytest.raises(ValueError, match="above the limit"):
        limits.safetensors_shapes(hf.safetensors_lie(tmp_path / "lie.safetensors"))
    with pytest.raises(ValueError, match="outside the file's 8 data bytes"):
        limits.safetensors_shapes(hf.safetensors_lie(tmp_path / "lie2.safetensors", shape=(10, 10)))
    header = json.dumps({"w": {"dtype": "F32", "shape": [10, 10], "data_offsets": [0, 8]}}).encode()
    (tmp_path / "lie3.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(8))
    with pytest.raises(ValueError, match="400 bytes but its data span 8 bytes"):
        limits.safetensors_shapes(tmp_path / "lie3.safetensors")
    (tmp_path / "huge_header.safetensors").write_bytes((1 << 40).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="header"):
        limits.safetensors_shapes(tmp_path / "huge_header.safetensors")
    (tmp_path / "short.safetensors").write_bytes(b"abc")
    with pytest.raises(ValueError, match="not a safetensors"):
        limits.safetensors_shapes(tmp_path / "short.safetensors")


def test_load_json(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"shape": [2, 3]}))
    assert limits.load_json(path) == {"shape": [2, 3]}
    with pytest.raises(ValueError, match="above the limit of 5 bytes"):
        limits.load_json(path, max_bytes=5)
    path.write_text('{"x": NaN}')
    with pytest.raises(ValueError, match="invalid JSON value NaN"):
        limits.load_json(path)
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ValueError, match="nested too deeply|invalid JSON"):
        limits.load_json(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match="UTF-8"):
        limits.load_json(path)


def test_cli_max_pixels_option_and_environment(tmp_path, capsys, monkeypatch):
    from nlvision.cli import main

    path = hf.png_bomb(tmp_path / "p.png", 60, 50, bits=8, channels=1)
    assert main(["noise", "estimate", str(path), "--max-pixels", "2999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "3,000 pixels, above the limit of 2,999" in err[0]
    assert main(["noise", "estimate", str(path), "--max-pixels", "3000", "--json"]) == 0
    capsys.readouterr()
    monkeypatch.setenv(limits.ENV_MAX_PIXELS, "100")
    assert main(["noise", "estimate", str(path)]) == 2  # the option reset to the environment's limit
    assert "above the limit of 100 pixels" in capsys.readouterr().err
    assert main(["noise", "estimate", str(path), "--max-pixels", "nan"]) == 2
    assert capsys.readouterr().err.strip() == "error: --max-pixels: expected a positive integer number of pixels, got 'nan'"


def test_cli_range_option(tmp_path, capsys):
    from nlvision.cli import main

    rng = np.random.default_rng(3)
    raw = np.clip(100 + rng.normal(0, 20, (40, 40)), 0, 255)
    hf.float_tiff(tmp_path / "f.tif", raw)
    assert main(["noise", "estimate", str(tmp_path / "f.tif"), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "float image spans" in err[0] and "pass --range" in err[0]
    assert main(["noise", "estimate", str(tmp_path / "f.tif"), "--range", "0,255", "--json"]) == 0
    sigma = json.loads(capsys.readouterr().out)["sigma"]
    Image.fromarray(np.round(raw).astype(np.uint8)).save(tmp_path / "i.png")
    assert main(["noise", "estimate", str(tmp_path / "i.png"), "--json"]) == 0
    sigma8 = json.loads(capsys.readouterr().out)["sigma"]
    assert abs(sigma - sigma8) < 1.0  # the same noise (20/255) whether stored as float 0-255 or 8-bit
    assert main(["noise", "estimate", str(tmp_path / "f.tif"), "--range", "2,1"]) == 2
    assert capsys.readouterr().err.startswith("error: --range")
