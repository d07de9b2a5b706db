"""Data loaders and augmentation of the classification task."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from nlvision.classify.data import (
    AugmentConfig,
    augment_batch,
    load_cifar10,
    load_cifar_batch,
    load_data,
    load_digits,
    load_image_folder,
    one_hot,
    parse_data_spec,
    prepare_image,
)

NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _write_batch(path, n, seed, *, key_type=bytes, extra=None):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    k = (lambda s: s.encode()) if key_type is bytes else (lambda s: s)
    d = {k("batch_label"): k("training batch"), k("labels"): labels, k("data"): data, k("filenames"): [k(f"img{i}.png") for i in range(n)]}
    if extra:
        d.update(extra)
    with open(path, "wb") as f:
        pickle.dump(d, f, protocol=2)
    return data, labels


def _write_cifar(root, n=6):
    root.mkdir(parents=True, exist_ok=True)
    batches = [_write_batch(root / f"data_batch_{i}", n, i) for i in range(1, 6)]
    test = _write_batch(root / "test_batch", n, 99)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [s.encode() for s in NAMES], b"num_cases_per_batch": n, b"num_vis": 3072}, f, protocol=2)
    return batches, test


def test_cifar10_reader_layout(tmp_path):
    batches, (test_data, test_labels) = _write_cifar(tmp_path / "cifar")
    d = load_cifar10(tmp_path / "cifar")
    assert d.classes == NAMES
    assert d.x_train.shape == (30, 32, 32, 3) and d.x_train.dtype == np.uint8
    assert d.x_test.shape == (6, 32, 32, 3)
    # the CIFAR row layout: 1024 red, then 1024 green, then 1024 blue values, row-major 32x32
    data3, labels3 = batches[2]
    n, r, c = 4, 7, 19
    for ch in range(3):
        assert d.x_train[2 * 6 + n, r, c, ch] == data3[n, ch * 1024 + r * 32 + c]
    assert d.y_train[12:18].tolist() == labels3
    assert d.y_test.tolist() == test_labels
    assert one_hot(d.y_test, 10).argmax(1).tolist() == test_labels


def test_cifar_batch_with_str_keys(tmp_path):
    data, labels = _write_batch(tmp_path / "b", 3, 0, key_type=str)
    x, y = load_cifar_batch(tmp_path / "b")
    assert x[1, 0, 0, 2] == data[1, 2048] and y.tolist() == labels


def test_cifar_bad_files_name_the_file(tmp_path):
    root = tmp_path / "c"
    _write_cifar(root)
    # wrong keys
    with open(root / "data_batch_3", "wb") as f:
        pickle.dump({b"pixels": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    with pytest.raises(ValueError, match=r"data_batch_3.*no 'data' key"):
        load_cifar10(root)
    # wrong shape
    with open(root / "data_batch_3", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    with pytest.raises(ValueError, match=r"data_batch_3.*\(N, 3072\)"):
        load_cifar10(root)
    # label count mismatch
    with open(root / "data_batch_3", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, f, protocol=2)
    with pytest.raises(ValueError, match=r"data_batch_3.*2 entries"):
        load_cifar10(root)
    # out-of-range label
    with open(root / "data_batch_3", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, f, protocol=2)
    with pytest.raises(ValueError, match=r"data_batch_3.*\[0, 10\)"):
        load_cifar10(root)
    # missing file
    (root / "data_batch_3").unlink()
    with pytest.raises(ValueError, match=r"data_batch_3: missing"):
        load_cifar10(root)
    # not a pickle
    (root / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="test_batch"):
        load_cifar_batch(root / "test_batch")
    with pytest.raises(ValueError, match="not a folder"):
        load_cifar10(tmp_path / "nowhere")


class _Evil:
    def __reduce__(self):
        import os

        return (os.getcwd, ())


def test_cifar_unpickler_refuses_code(tmp_path):
    p = tmp_path / "data_batch_1"
    with open(p, "wb") as f:
        pickle.dump({b"data": _Evil(), b"labels": []}, f, protocol=2)
    with pytest.raises(ValueError, match=r"data_batch_1.*not allowed"):
        load_cifar_batch(p)


def _png(path, value, size=(10, 12)):
    arr = np.full(size + (3,), value, dtype=np.uint8)
    Image.fromarray(arr).save(path)


def test_image_folder_split_and_layout(tmp_path):
    root = tmp_path / "imgs"
    for ci, cls in enumerate(["cat", "dog", "ant"]):
        (root / cls).mkdir(parents=True)
        for i in range(5):
            _png(root / cls / f"{i}.png", 40 * ci + i)
    d = load_image_folder(root, image_size=8, test_fraction=0.2, seed=0)
    assert d.classes == ["ant", "cat", "dog"]
    assert d.x_train.shape == (12, 8, 8, 3) and d.x_test.shape == (3, 8, 8, 3)
    assert np.bincount(d.y_test).tolist() == [1, 1, 1]
    # constant images keep their value; class index follows the sorted names (ant=0 has values 80..84)
    assert set(np.unique(d.x_train[d.y_train == 0])) <= set(range(80, 85))
    assert load_image_folder(root, image_size=8, seed=0).y_test.tolist() == d.y_test.tolist()


def test_image_folder_train_test_layout_and_errors(tmp_path):
    root = tmp_path / "split"
    for part in ("train", "test"):
        for cls in ("a", "b"):
            (root / part / cls).mkdir(parents=True)
            _png(root / part / cls / "x.png", 10)
    d = load_image_folder(root, image_size=4)
    assert len(d.y_train) == 2 and len(d.y_test) == 2
    (root / "test" / "c").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*test/c holds no image files"):
        load_image_folder(root)
    (root / "test" / "c").rmdir()
    (root / "train" / "b" / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="bad.png"):
        load_image_folder(root)
    with pytest.raises(ValueError, match="not a folder"):
        load_image_folder(tmp_path / "missing")


def test_digits_default_matches_sklearn():
    from sklearn.datasets import load_digits as sk

    d = load_digits(image_size=8)
    assert d.x_train.shape == (1347, 8, 8, 3) and d.x_test.shape == (450, 8, 8, 3)
    bunch = sk()
    ref = np.rint(bunch.images / 16 * 255).astype(np.uint8)
    # every test image is one of sklearn's images, with its label
    flat = ref.reshape(len(ref), -1)
    idx = [int(np.flatnonzero((flat == x[..., 0].ravel()).all(1))[0]) for x in d.x_test[:20]]
    assert bunch.target[idx].tolist() == d.y_test[:20].tolist()
    # stratified: each class keeps a quarter of its images in the test split
    assert np.abs(np.bincount(d.y_test) - 0.25 * np.bincount(bunch.target)).max() <= 1


def test_data_spec_errors():
    assert parse_data_spec("digits") == ("digits", None)
    assert parse_data_spec("folder:/x")[0] == "folder"
    with pytest.raises(ValueError, match=r"unknown data set 'mnist'.*digits.*cifar10:PATH.*folder:PATH"):
        load_data("mnist")
    with pytest.raises(ValueError, match="needs a path"):
        parse_data_spec("cifar10:")
    with pytest.raises(ValueError, match="image_size"):
        load_digits(image_size=4)
    with pytest.raises(ValueError, match="labels"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="image"):
        prepare_image(np.zeros((4, 4, 2)), 4)


def test_one_hot_matches_eye():
    y = np.array([3, 1, 0])
    assert np.array_equal(one_hot(y, 4), np.eye(4)[y])


def test_augment_components():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 5, 6, generator=g)
    # flip only: every image is itself or its mirror, and both occur
    y = augment_batch(x, AugmentConfig(flip=True, saturation=(1, 1), contrast=(1, 1), brightness=0.0), torch.Generator().manual_seed(1))
    same = [torch.allclose(a, b) for a, b in zip(y, x)]
    mirrored = [torch.allclose(a, b.flip(-1)) for a, b in zip(y, x)]
    assert all(s or m for s, m in zip(same, mirrored)) and any(same) and any(mirrored)
    # saturation 0: gray images with ITU-R 601 luma
    y = augment_batch(x, AugmentConfig(flip=False, saturation=(0, 0), contrast=(1, 1), brightness=0.0))
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    for c in range(3):
        torch.testing.assert_close(y[:, c], luma)
    # contrast 0: each channel becomes its mean
    y = augment_batch(x, AugmentConfig(flip=False, saturation=(1, 1), contrast=(0, 0), brightness=0.0))
    torch.testing.assert_close(y, x.mean(dim=(2, 3), keepdim=True).expand_as(x))
    # brightness: a constant shift per image, within the bound
    half = torch.full((64, 3, 2, 2), 0.5)
    y = augment_batch(half, AugmentConfig(flip=False, saturation=(1, 1), contrast=(1, 1), brightness=0.2), torch.Generator().manual_seed(2))
    d = (y - 0.5).flatten(1)
    assert torch.allclose(d, d[:, :1].expand_as(d)) and d.abs().max() <= 0.2 + 1e-6 and d.std() > 0.05
    # same generator seed, same result; output clipped to [0, 1]
    a = augment_batch(x, None, torch.Generator().manual_seed(5))
    b = augment_batch(x, None, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1


def test_augment_bad_input():
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        augment_batch(np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 3, H, W\)"):
        augment_batch(torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="saturation"):
        AugmentConfig(saturation=(1.2, 0.8))
    with pytest.raises(ValueError, match="brightness"):
        AugmentConfig(brightness=2.0)


def test_cifar_batch_with_legacy_numpy_core_reference(tmp_path):
    # the distributed CIFAR-10 files were pickled by Python 2 / numpy 1: arrays reference numpy.core
    raw = pickle.dumps({b"data": np.arange(2 * 3072, dtype=np.uint32).astype(np.uint8).reshape(2, 3072), b"labels": [4, 2]}, protocol=2)
    raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in raw
    (tmp_path / "data_batch_1").write_bytes(raw)
    x, y = load_cifar_batch(tmp_path / "data_batch_1")
    assert y.tolist() == [4, 2] and x[1, 0, 1, 1] == (3072 + 1024 + 1) % 256


class _DeclaredArray:
    """Pickles as a call that allocates an array of a declared shape (no data in the file)."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("how", ["ndarray", "_reconstruct"])
def test_cifar_batch_declaring_huge_array_is_refused_before_allocating(tmp_path, how):
    """Issue #14: an 88-byte batch declaring 400,000 rows loaded as 1.2 GiB. The declared size is checked
    against the file size first; tracemalloc shows nothing near the declared size is allocated."""
    import tracemalloc

    if how == "ndarray":
        bomb = _DeclaredArray(np.ndarray, ((400_000, 3072), "u1"))
    else:
        from numpy._core.multiarray import _reconstruct

        bomb = _DeclaredArray(_reconstruct, (np.ndarray, (400_000, 3072), b"B"))
    raw = pickle.dumps({b"data": bomb, b"labels": [0]}, protocol=2)
    assert len(raw) < 200
    (tmp_path / "test_batch").write_bytes(raw)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"test_batch: not a CIFAR-10 python batch .*declares an array of 1,228,800,000 bytes"):
            load_cifar_batch(tmp_path / "test_batch")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000
