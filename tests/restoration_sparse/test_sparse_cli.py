import json

import numpy as np
import pytest
import skimage.data
from skimage.metrics import peak_signal_noise_ratio

from nlvision.cli import main
from nlvision.imageio import load_image, save_image


@pytest.fixture()
def files(tmp_path):
    img = skimage.data.camera()[100:164, 180:260].astype(float) / 255
    save_image(tmp_path / "clean.png", img)
    return tmp_path, img


def test_mask_then_inpaint_with_reference(files, capsys):
    d, img = files
    rc = main(["mask", str(d / "clean.png"), "-o", str(d / "m.png"), "--kind", "random", "--rate", "0.5",
               "--seed", "3", "--apply", str(d / "masked.png"), "--json"])
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    m = load_image(d / "m.png") > 0
    assert abs(m.mean() - 0.5) < 1e-3 and abs(info["missing_fraction"] - m.mean()) < 1e-12
    rc = main(["inpaint", str(d / "masked.png"), "--mask", str(d / "m.png"), "-o", str(d / "out.png"),
               "--reference", str(d / "clean.png"), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    ref = load_image(d / "clean.png")
    res = load_image(d / "out.png")
    # the reported PSNR is the one scikit-image computes on the written file (up to 8-bit rounding)
    assert abs(out["psnr"] - peak_signal_noise_ratio(ref, res, data_range=1)) < 0.3
    assert out["psnr"] > peak_signal_noise_ratio(ref, load_image(d / "masked.png"), data_range=1) + 10


def test_inpaint_bad_inputs_exit_2_and_write_nothing(files, capsys):
    d, img = files
    save_image(d / "small.png", np.zeros((10, 10)))
    save_image(d / "all.png", np.ones(img.shape))
    np.savez(d / "nan.npz", dictionary=np.full((64, 10), np.nan))
    save_image(d / "m.png", (np.random.default_rng(0).random(img.shape) > 0.5).astype(float))
    # a .npz that declares a huge array (header only): refused before anything is allocated
    with open(d / "huge.npz", "wb") as fh:
        import zipfile

        with zipfile.ZipFile(fh, "w") as zf:
            header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))
            header["shape"] = (100000, 100000)
            with zf.open("dictionary.npy", "w") as member:
                np.lib.format.write_array_header_1_0(member, header)
    save_image(d / "clean16.png", img, bit_depth=16)
    cases = [
        [str(d / "clean.png"), "--mask", str(d / "small.png"), "-o", str(d / "o1.png")],  # mask of another size
        [str(d / "clean.png"), "--mask", str(d / "all.png"), "-o", str(d / "o2.png")],  # all missing
        [str(d / "clean.png"), "--mask", str(d / "m.png"), "-o", str(d / "o3.png"), "--dictionary", str(d / "nan.npz")],
        [str(d / "clean.png"), "--mask", str(d / "m.png"), "-o", str(d / "o4.png"), "--aggregation", "max"],
        [str(d / "clean.png"), "--mask", str(d / "m.png"), "-o", str(d / "o5.png"), "--sigma", "-3"],
        [str(d / "clean.png"), "--mask", str(d / "m.png"), "-o", str(d / "o6.png"), "--dictionary", str(d / "huge.npz")],
        [str(d / "clean16.png"), "--mask", str(d / "m.png"), "-o", str(d / "o7.jpg")],  # 16-bit into JPEG
        [str(d / "clean.png"), "--mask", str(d / "m.png"), "-o", str(d / "o8.png"), "--bit-depth", "float"],
    ]
    for i, args in enumerate(cases, 1):
        assert main(["inpaint", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and len(err.strip().splitlines()) == 1
        assert not (d / f"o{i}.png").exists() and not (d / f"o{i}.jpg").exists()
    # an output equal to an input is refused
    assert main(["inpaint", str(d / "clean.png"), "--mask", str(d / "m.png"), "-o", str(d / "m.png")]) == 2


def test_mask_bad_kind(files, capsys):
    d, _ = files
    assert main(["mask", str(d / "clean.png"), "-o", str(d / "m.png"), "--kind", "blobs"]) == 2
    assert "random, text, scratches" in capsys.readouterr().err
    assert not (d / "m.png").exists()
    # an unwritable --apply is refused before the mask is written (no half-done output)
    save_image(d / "keep.png", np.zeros((4, 4)))
    before = (d / "keep.png").read_bytes()
    assert main(["mask", str(d / "clean.png"), "-o", str(d / "keep.png"), "--apply", str(d / "bad.xyz")]) == 2
    assert (d / "keep.png").read_bytes() == before and not (d / "bad.xyz").exists()
    assert main(["mask", str(d / "clean.png"), "-o", str(d / "clean.png")]) == 2  # output = input


def test_dictionary_learn(files, capsys):
    d, _ = files
    rc = main(["dictionary", "learn", str(d / "clean.png"), "-o", str(d / "dict.npz"), "--atoms", "36",
               "--patch", "6", "--iterations", "2", "--patches", "1500", "--n-nonzero", "3", "--json"])
    assert rc == 0
    with np.load(d / "dict.npz", allow_pickle=False) as z:
        D = z["dictionary"]
    assert D.shape == (36, 36)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0)
    assert main(["dictionary", "learn", str(d / "clean.png"), "-o", str(d / "bad.npz"),
                 "--atoms", "4", "--n-nonzero", "8"]) == 2
    assert not (d / "bad.npz").exists()


def test_src_evaluate(capsys):
    rc = main(["src", "evaluate", "--solver", "omp", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["train"] + res["test"] == 1797
    assert res["src_accuracy"] > 0.95 and "1nn_accuracy" in res and "linear_svm_accuracy" in res
    assert main(["src", "evaluate", "--data", "mnist"]) == 2
    assert "expected digits or folder:PATH" in capsys.readouterr().err


def test_src_evaluate_image_folder(tmp_path, capsys):
    """--data folder:PATH reads torchvision's ImageFolder layout (root/<class>/<image>): two
    classes of digits written as PNG files; SRC must match 1-NN within a few points."""
    from sklearn.datasets import load_digits

    d = load_digits()
    for label in (0, 1):
        for i, x in enumerate(d.images[d.target == label][:20]):
            save_image(tmp_path / f"class_{label}" / f"{i:03d}.png", x / 16.0)
    assert main(["src", "evaluate", "--data", f"folder:{tmp_path}", "--solver", "omp", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["train"] + res["test"] == 40 and res["src_accuracy"] >= res["1nn_accuracy"] - 0.1
    assert main(["src", "evaluate", "--data", f"folder:{tmp_path / 'class_0'}"]) == 2  # no class folders


def test_dictionary_show(tmp_path, capsys):
    from nlvision.restoration import default_dictionary

    assert main(["dictionary", "show", "-o", str(tmp_path / "atoms.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    D = default_dictionary()
    G = np.abs(D.T @ D) - np.eye(D.shape[1])
    assert res["shape"] == [64, 256] and abs(res["mutual_coherence"] - G.max()) < 1e-9
    assert load_image(tmp_path / "atoms.png").shape == (4 * 145, 4 * 145)  # 16x16 tiles of 8 px + 1 px borders
    np.savez(tmp_path / "bad.npz", dictionary=np.ones((10, 3)))
    assert main(["dictionary", "show", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "b.png")]) == 2
    assert not (tmp_path / "b.png").exists()


def test_inpaint_refine_option_wiring(files, capsys):
    from nlvision.restoration import InpaintConfig, auto_iterations, inpaint, random_mask

    d, img = files
    m = random_mask(img.shape, 0.7, seed=5)
    save_image(d / "m7.png", m.astype(float))
    save_image(d / "masked7.png", np.where(m, 0.0, img))
    masked = load_image(d / "masked7.png")
    psnrs = {}
    for n in (0, 3, None):
        extra = [] if n is None else ["--refine", str(n)]
        rc = main(["inpaint", str(d / "masked7.png"), "--mask", str(d / "m7.png"), "-o", str(d / f"r{n}.png"),
                   "--reference", str(d / "clean.png"), "--json", *extra])
        assert rc == 0
        info = json.loads(capsys.readouterr().out)
        assert info["refine"] == (auto_iterations(m.mean()) if n is None else n)
        psnrs[n] = info["psnr"]
        # the written file is the library's result for the same number of iterations (8-bit PNG)
        expected = np.clip(inpaint(masked, m, refine=n), 0, 1)
        assert np.abs(load_image(d / f"r{n}.png") - expected).max() <= 0.5 / 255 + 1e-9
    # the default (biharmonic + auto refinement) beats the lecture's pass at 70 % missing
    assert psnrs[None] > psnrs[0] + 0.5 and psnrs[3] != psnrs[0]
    # thresholds are in 0-255 units: a 255/255 schedule thresholds everything but the DC
    assert main(["inpaint", str(d / "masked7.png"), "--mask", str(d / "m7.png"), "-o", str(d / "flat.png"), "--refine", "3",
                 "--refine-tau-min", "250", "--refine-tau-max", "255", "--json"]) == 0
    capsys.readouterr()
    cfg = InpaintConfig(refine_tau_min=250 / 255, refine_tau_max=1.0)
    expected = np.clip(inpaint(masked, m, refine=3, config=cfg), 0, 1)
    assert np.abs(load_image(d / "flat.png") - expected).max() <= 0.5 / 255 + 1e-9


def test_inpaint_bad_refine_options_exit_2(files, capsys):
    d, img = files
    save_image(d / "m.png", (np.random.default_rng(0).random(img.shape) > 0.5).astype(float))
    cases = [["--refine", "-1"], ["--refine-tau-min", "0"], ["--refine-tau-min", "60"],
             ["--refine-tau-max", "nan"], ["--refine", "two"]]
    for i, extra in enumerate(cases):
        rc = main(["inpaint", str(d / "clean.png"), "--mask", str(d / "m.png"), "-o", str(d / f"bad{i}.png"), *extra])
        assert rc == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err
        assert not (d / f"bad{i}.png").exists()
