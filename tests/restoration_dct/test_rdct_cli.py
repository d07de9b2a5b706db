"""``nlvision denoise`` and ``nlvision noise estimate|add``, run in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nlvision.cli import main


def _png(path, array):
    Image.fromarray(np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def images(tmp_path):
    i = np.arange(64)
    clean = 0.2 + 0.6 * ((i[:, None] // 16 + i[None, :] // 16) % 2)
    noisy = clean + np.random.default_rng(0).normal(0, 20 / 255, clean.shape)
    return _png(tmp_path / "clean.png", clean), _png(tmp_path / "noisy.png", noisy)


def test_denoise_with_reference_json(images, tmp_path, capsys):
    clean, noisy = images
    out = tmp_path / "out.png"
    rc = main(["denoise", str(noisy), "-o", str(out), "--sigma", "20", "--reference", str(clean), "--json"])
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sigma"] == pytest.approx(20.0)
    assert info["psnr"] > info["psnr_noisy"] + 5
    from skimage.metrics import peak_signal_noise_ratio

    ref = np.asarray(Image.open(clean), dtype=float) / 255
    res = np.asarray(Image.open(out), dtype=float) / 255
    assert peak_signal_noise_ratio(ref, res, data_range=1.0) == pytest.approx(info["psnr"], abs=0.2)  # 8-bit rounding


def test_denoise_auto_sigma_text(images, tmp_path, capsys):
    _, noisy = images
    rc = main(["denoise", str(noisy), "-o", str(tmp_path / "o.png"), "--aggregation", "sparsity", "--threshold", "universal", "--workers", "2"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "estimated" in text and "sigma" in text


def test_noise_add_and_estimate(images, tmp_path, capsys):
    clean, _ = images
    out = tmp_path / "n.png"
    assert main(["noise", "add", str(clean), "-o", str(out), "--sigma", "10", "--seed", "3"]) == 0
    first = np.asarray(Image.open(out))
    assert main(["noise", "add", str(clean), "-o", str(tmp_path / "m.png"), "--sigma", "10", "--seed", "3"]) == 0
    np.testing.assert_array_equal(first, np.asarray(Image.open(tmp_path / "m.png")))
    capsys.readouterr()
    assert main(["noise", "estimate", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    est = report["sigma"]
    assert est == pytest.approx(10.0, rel=0.15)
    assert report["confidence"] in ("high", "low") and "fallback" in report and report["method"]
    assert main(["noise", "estimate", str(out), "--method", "mad"]) == 0


def test_batch_skips_bad_file(images, tmp_path, capsys):
    clean, noisy = images
    folder = tmp_path / "in"
    folder.mkdir()
    _png(folder / "a.png", np.asarray(Image.open(noisy), dtype=float) / 255)
    (folder / "b.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    rc = main(["denoise", str(folder), "-o", str(out), "--sigma", "20"])
    assert rc == 1
    assert (out / "a.png").is_file() and not (out / "b.png").exists()
    assert "b.png" in capsys.readouterr().err
    assert main(["noise", "estimate", str(folder)]) == 1


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--sigma", "0"], "--sigma"),
        (["--sigma", "-5"], "--sigma"),
        (["--sigma", "abc"], "--sigma"),
        (["--patch", "1"], "--patch"),
        (["--threshold", "huge"], "--threshold"),
        (["--threshold", "-3"], "--threshold"),
        (["--aggregation", "median"], "uniform, sparsity, none"),
        (["--method", "bm3d"], "dct, ksvd"),
        (["--patch", "100"], "smaller than the 100x100 patch"),
        (["--workers", "0"], "--workers"),
        (["--sigma", "1e308"], "--sigma"),
        (["--sigma", "inf"], "--sigma"),
        (["--threshold", "1e308"], "--threshold"),
        (["--noise", "poisson"], "gaussian, poisson-gaussian"),
        (["--noise", "poisson-gaussian", "--sigma", "2"], "--gain"),
        (["--gain", "3"], "--gain"),
        (["--bit-depth", "12"], "--bit-depth"),
        (["--device", "tpu"], "--device"),
    ],
)
def test_denoise_bad_options(images, tmp_path, capsys, extra, message):
    _, noisy = images
    out = tmp_path / "x.png"
    rc = main(["denoise", str(noisy), "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("content", [b"", b"garbage bytes", None])
def test_bad_files_exit_2_nothing_written(tmp_path, capsys, images, content):
    bad = tmp_path / "bad.png"
    if content is None:  # truncated PNG
        _, noisy = images
        bad.write_bytes(noisy.read_bytes()[:200])
    else:
        bad.write_bytes(content)
    for argv in (["denoise", str(bad), "-o", str(tmp_path / "o.png")], ["noise", "add", str(bad), "-o", str(tmp_path / "o.png"), "--sigma", "5"], ["noise", "estimate", str(bad)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "bad.png" in err
    assert not (tmp_path / "o.png").exists()


def test_noise_bad_options(images, tmp_path, capsys):
    clean, _ = images
    assert main(["noise", "add", str(clean), "-o", str(tmp_path / "o.png"), "--sigma", "0"]) == 2
    assert main(["noise", "estimate", str(clean), "--method", "wavelet"]) == 2
    assert "pca, mad" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    assert main(["noise", "estimate", str(tmp_path / "missing.png")]) == 2


def test_ksvd_method_follows_the_contract(images, tmp_path, capsys, monkeypatch):
    """--method ksvd calls denoise_ksvd(image, sigma, dictionary=, patch_size=, aggregation=,
    channel_axis=) and load_dictionary(path) (the sparse-coding area's interface)."""
    sd = dic = pytest.importorskip("nlvision.restoration")
    calls = {}
    atoms = np.random.default_rng(0).normal(size=(16, 20))

    def fake_denoise(image, sigma, *, dictionary=None, patch_size=8, aggregation="uniform", channel_axis=None):
        calls.update(sigma=sigma, dictionary=dictionary, patch_size=patch_size, aggregation=aggregation, channel_axis=channel_axis)
        return image

    monkeypatch.setattr(sd, "denoise_ksvd", fake_denoise)
    monkeypatch.setattr(dic, "load_dictionary", lambda path: atoms)
    _, noisy = images
    rc = main(["denoise", str(noisy), "-o", str(tmp_path / "k.png"), "--method", "ksvd", "--dictionary", str(tmp_path / "d.npz"), "--sigma", "10", "--patch", "4"])
    assert rc == 0
    assert calls["sigma"] == pytest.approx(10 / 255) and calls["patch_size"] == 4 and calls["channel_axis"] is None
    assert calls["dictionary"] is atoms
    assert main(["denoise", str(noisy), "-o", str(tmp_path / "k2.png"), "--dictionary", "d.npz"]) == 2  # dct has no dictionary


def test_denoise_refuses_output_equal_to_input(images, capsys):
    _, noisy = images
    before = noisy.read_bytes()
    assert main(["denoise", str(noisy), "-o", str(noisy), "--sigma", "20"]) == 2
    assert "also an input" in capsys.readouterr().err and noisy.read_bytes() == before


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_in_16bit_out_json_psnr_is_the_files(tmp_path, capsys, channels, ext):
    """uint16 in -> uint16 out (gray and RGB, PNG and TIFF); the JSON PSNR is the written file's,
    within 0.1 dB of the in-memory result (independent check: scikit-image on the re-read file)."""
    import tifffile
    from skimage.metrics import peak_signal_noise_ratio

    from nlvision.imageio import save_image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48] / 48.0
    clean = 0.3 + 0.4 * np.sin(4 * xx + 2 * yy)
    if channels == 3:
        clean = np.stack([clean, clean ** 2, 1 - clean], axis=-1)
    noisy = clean + rng.normal(0, 2 / 255, clean.shape)
    save_image(tmp_path / f"clean{ext}", clean, bit_depth=16)
    save_image(tmp_path / f"noisy{ext}", noisy, bit_depth=16)
    out = tmp_path / f"out{ext}"
    assert main(["denoise", str(tmp_path / f"noisy{ext}"), "-o", str(out), "--sigma", "2",
                 "--reference", str(tmp_path / f"clean{ext}"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    raw = tifffile.imread(out) if ext == ".tif" else None
    if raw is None:
        import cv2

        raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and info["bit_depth"] == 16
    ref = tifffile.imread(tmp_path / f"clean{ext}") if ext == ".tif" else cv2.imread(str(tmp_path / f"clean{ext}"), cv2.IMREAD_UNCHANGED)
    expected = peak_signal_noise_ratio(ref.astype(float) / 65535, raw.astype(float) / 65535, data_range=1)
    assert info["psnr"] == pytest.approx(expected, abs=1e-6)
    assert abs(info["psnr"] - info["psnr_in_memory"]) <= 0.1
    # a format that cannot hold 16 bits: one line, exit 2, nothing written
    assert main(["denoise", str(tmp_path / f"noisy{ext}"), "-o", str(tmp_path / "o.jpg"), "--sigma", "2"]) == 2
    assert "cannot hold 16-bit" in capsys.readouterr().err and not (tmp_path / "o.jpg").exists()


def test_float_tiff_stays_float_and_poisson_gaussian(tmp_path, capsys):
    import tifffile

    rng = np.random.default_rng(1)
    clean = np.tile(np.linspace(0.1, 0.9, 40), (40, 1))
    tifffile.imwrite(tmp_path / "f.tif", (clean + rng.normal(0, 0.02, clean.shape)).astype(np.float32))
    assert main(["denoise", str(tmp_path / "f.tif"), "-o", str(tmp_path / "g.tif"), "--sigma", "5", "--json"]) == 0
    assert tifffile.imread(tmp_path / "g.tif").dtype == np.float32
    capsys.readouterr()
    # Poisson-Gaussian: noise add then denoise through the generalised Anscombe transform
    from nlvision.imageio import save_image

    save_image(tmp_path / "c.png", clean)
    assert main(["noise", "add", str(tmp_path / "c.png"), "-o", str(tmp_path / "pg.png"), "--noise", "poisson-gaussian",
                 "--gain", "1", "--sigma", "2", "--seed", "0"]) == 0
    capsys.readouterr()
    assert main(["denoise", str(tmp_path / "pg.png"), "-o", str(tmp_path / "d.png"), "--noise", "poisson-gaussian",
                 "--gain", "1", "--sigma", "2", "--reference", str(tmp_path / "c.png"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["psnr"] > info["psnr_noisy"] + 3
