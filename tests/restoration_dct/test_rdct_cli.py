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
    rc = main(["denoise", str(noisy), str(out), "--sigma", "20", "--reference", str(clean), "--json"])
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
    rc = main(["denoise", str(noisy), str(tmp_path / "o.png"), "--aggregation", "sparsity", "--threshold", "universal", "--workers", "2"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "estimated" in text and "sigma" in text


def test_noise_add_and_estimate(images, tmp_path, capsys):
    clean, _ = images
    out = tmp_path / "n.png"
    assert main(["noise", "add", str(clean), str(out), "--sigma", "10", "--seed", "3"]) == 0
    first = np.asarray(Image.open(out))
    assert main(["noise", "add", str(clean), str(tmp_path / "m.png"), "--sigma", "10", "--seed", "3"]) == 0
    np.testing.assert_array_equal(first, np.asarray(Image.open(tmp_path / "m.png")))
    capsys.readouterr()
    assert main(["noise", "estimate", str(out), "--json"]) == 0
    est = json.loads(capsys.readouterr().out)["sigma"]
    assert est == pytest.approx(10.0, rel=0.15)
    assert main(["noise", "estimate", str(out), "--method", "mad"]) == 0


def test_batch_skips_bad_file(images, tmp_path, capsys):
    clean, noisy = images
    folder = tmp_path / "in"
    folder.mkdir()
    _png(folder / "a.png", np.asarray(Image.open(noisy), dtype=float) / 255)
    (folder / "b.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    rc = main(["denoise", str(folder), str(out), "--sigma", "20"])
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
    ],
)
def test_denoise_bad_options(images, tmp_path, capsys, extra, message):
    _, noisy = images
    out = tmp_path / "x.png"
    rc = main(["denoise", str(noisy), str(out), *extra])
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
    for argv in (["denoise", str(bad), str(tmp_path / "o.png")], ["noise", "add", str(bad), str(tmp_path / "o.png"), "--sigma", "5"], ["noise", "estimate", str(bad)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "bad.png" in err
    assert not (tmp_path / "o.png").exists()


def test_noise_bad_options(images, tmp_path, capsys):
    clean, _ = images
    assert main(["noise", "add", str(clean), str(tmp_path / "o.png"), "--sigma", "0"]) == 2
    assert main(["noise", "estimate", str(clean), "--method", "wavelet"]) == 2
    assert "pca, mad" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    assert main(["noise", "estimate", str(tmp_path / "missing.png")]) == 2


def test_ksvd_method_follows_the_contract(images, tmp_path, capsys, monkeypatch):
    """--method ksvd calls denoise_ksvd(image, sigma, dictionary=, patch_size=, aggregation=,
    channel_axis=) and load_dictionary(path) (the sparse-coding area's interface)."""
    sd = pytest.importorskip("nlvision.restoration.sparse_denoise")
    dic = pytest.importorskip("nlvision.restoration.dictionary")
    calls = {}
    atoms = np.random.default_rng(0).normal(size=(16, 20))

    def fake_denoise(image, sigma, *, dictionary=None, patch_size=8, aggregation="uniform", channel_axis=None):
        calls.update(sigma=sigma, dictionary=dictionary, patch_size=patch_size, aggregation=aggregation, channel_axis=channel_axis)
        return image

    monkeypatch.setattr(sd, "denoise_ksvd", fake_denoise)
    monkeypatch.setattr(dic, "load_dictionary", lambda path: atoms)
    _, noisy = images
    rc = main(["denoise", str(noisy), str(tmp_path / "k.png"), "--method", "ksvd", "--dictionary", str(tmp_path / "d.npz"), "--sigma", "10", "--patch", "4"])
    assert rc == 0
    assert calls["sigma"] == pytest.approx(10 / 255) and calls["patch_size"] == 4 and calls["channel_axis"] is None
    assert calls["dictionary"] is atoms
    assert main(["denoise", str(noisy), str(tmp_path / "k2.png"), "--dictionary", "d.npz"]) == 2  # dct has no dictionary
