import numpy as np
import pytest
import skimage.data

from nlvision.restoration import default_dictionary, load_dictionary, save_dictionary
from nlvision.restoration import extract_patches
from nlvision.restoration import omp


def test_roundtrip(tmp_path):
    D = np.random.default_rng(0).standard_normal((16, 20))
    f = save_dictionary(tmp_path / "d", D, iterations=3)
    assert f.name == "d.npz"
    np.testing.assert_array_equal(load_dictionary(f), D)
    with np.load(f, allow_pickle=False) as z:
        assert int(z["iterations"]) == 3 and int(z["patch_size"]) == 4


def test_default_dictionary_is_valid_and_learned():
    D = default_dictionary()
    assert D.shape == (64, 256) and np.all(np.isfinite(D))
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-9)
    # camera was NOT used for training: the learned atoms still code its mean-removed
    # patches better than a random dictionary of the same size (4 atoms per patch)
    img = skimage.data.camera().astype(float) / 255
    P = extract_patches(img[200:264, 200:264], 8, step=2)
    P = P - P.mean(axis=1, keepdims=True)
    R = np.random.default_rng(0).standard_normal((64, 256))
    R /= np.linalg.norm(R, axis=0)
    err = lambda Dx: np.mean((P - omp(Dx, P, 4) @ Dx.T) ** 2)  # noqa: E731
    assert err(D) < 0.6 * err(R)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dictionary(tmp_path / "missing.npz")
    np.savez(tmp_path / "nan.npz", dictionary=np.full((16, 4), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        load_dictionary(tmp_path / "nan.npz")
    np.savez(tmp_path / "shape.npz", dictionary=np.ones((15, 4)))
    with pytest.raises(ValueError, match="shape"):
        load_dictionary(tmp_path / "shape.npz")
    np.savez(tmp_path / "obj.npz", dictionary=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="cannot read"):
        load_dictionary(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read"):
        load_dictionary(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="NaN"):
        save_dictionary(tmp_path / "x.npz", np.full((4, 2), np.nan))
    assert not (tmp_path / "x.npz").exists()
