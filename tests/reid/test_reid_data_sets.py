"""Market-1501 reader, generic reader, synthetic persons, PK sampler, transforms."""

from __future__ import annotations

import numpy as np
import pytest

from nlvision.datasets.synthetic_persons import make_synthetic_persons
from nlvision.imageio import save_image
from nlvision.reid.data import (
    PKSampler,
    ReIDImageDataset,
    ReIDSplit,
    load_reid_data,
    parse_reid_name,
    read_market1501,
    read_reid_folder,
)

TINY = dict(num_train_ids=3, num_test_ids=3, num_cameras=2, images_per_camera=2, num_distractors=2, height=32, width=16)


def _write(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        save_image(folder / n, np.full((8, 4, 3), 0.5))


def test_market_reader(tmp_path):
    _write(tmp_path / "bounding_box_train", ["0002_c1s1_000451_03.jpg", "0002_c2s1_000001_01.jpg", "0007_c3s2_000101_02.jpg",
                                             "-1_c1s1_000001_01.jpg"])
    _write(tmp_path / "query", ["0005_c1s1_000001_01.jpg"])
    _write(tmp_path / "bounding_box_test", ["0005_c2s1_000002_01.jpg", "0000_c1s1_000003_01.jpg", "-1_c2s1_000004_01.jpg",
                                            "0005_c1s1_000005_01.jpg"])
    d = read_market1501(tmp_path)
    assert d.train.pids.tolist() == [2, 2, 7] and d.train.labels.tolist() == [0, 0, 1]  # junk dropped, relabelled
    assert d.train.camids.tolist() == [0, 1, 2]
    assert sorted(d.gallery.pids.tolist()) == [0, 5, 5]  # distractor kept, junk dropped
    assert d.num_classes == 2 and not d.synthetic


def test_name_errors():
    assert parse_reid_name("0001_c2_f0046182.jpg") == (1, 1)  # DukeMTMC style
    with pytest.raises(ValueError, match="pattern"):
        parse_reid_name("person1.jpg")
    with pytest.raises(ValueError, match="camera"):
        parse_reid_name("0001_c0s1_000001_01.jpg")


def test_reader_errors(tmp_path):
    with pytest.raises(ValueError, match="no such"):
        read_market1501(tmp_path / "missing")
    with pytest.raises(ValueError, match="missing sub-folder"):
        read_market1501(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image"):
        read_reid_folder(tmp_path / "empty")
    _write(tmp_path / "bad", ["hello.jpg"])
    with pytest.raises(ValueError, match="hello.jpg"):
        read_reid_folder(tmp_path / "bad")
    # no valid query: the only query id is absent from other cameras of the gallery
    root = tmp_path / "m"
    _write(root / "bounding_box_train", ["0001_c1s1_000001_01.jpg"])
    _write(root / "query", ["0002_c1s1_000001_01.jpg"])
    _write(root / "bounding_box_test", ["0002_c1s1_000002_01.jpg"])
    with pytest.raises(ValueError, match="no valid query"):
        read_market1501(root)
    with pytest.raises(ValueError, match="synthetic"):
        load_reid_data("duke")


def test_synthetic_structure_determinism_and_roundtrip(tmp_path):
    a, b = make_synthetic_persons(**TINY), make_synthetic_persons(**TINY)
    assert np.array_equal(a.train.images, b.train.images)
    c = make_synthetic_persons(**{**TINY, "seed": 1})
    assert not np.array_equal(a.train.images, c.train.images)
    assert len(a.train) == 3 * 2 * 2 and len(a.query) == 3 * 2 and len(a.gallery) == 3 * 2 + 2
    assert set(a.train.pids) == {1, 2, 3} and set(a.query.pids) == {4, 5, 6}  # disjoint identities
    assert (a.gallery.pids == 0).sum() == 2
    assert a.train.images.min() >= 0 and a.train.images.max() <= 1
    # within one camera, the same identity looks more alike than different identities (clothing);
    # across cameras the camera dominates the pixels (illumination, cast, background) by design
    x = a.train.images.reshape(len(a.train), -1)
    d = ((x[:, None] - x[None]) ** 2).mean(-1)
    same = a.train.pids[:, None] == a.train.pids[None]
    cam = a.train.camids[:, None] == a.train.camids[None]
    assert d[same & cam & ~np.eye(len(x), dtype=bool)].mean() < d[~same & cam].mean()
    assert d[~cam].mean() > d[same & cam & ~np.eye(len(x), dtype=bool)].mean()
    a.write_market(tmp_path, ext=".png")
    r = read_market1501(tmp_path)
    assert sorted(r.query.pids.tolist()) == sorted(a.query.pids.tolist())
    assert sorted(r.gallery.camids.tolist()) == sorted(a.gallery.camids.tolist())
    np.testing.assert_allclose(r.train.load(0), a.train.images[np.lexsort((a.train.frames, a.train.camids, a.train.pids))][0], atol=1 / 255)


def test_synthetic_bad_options():
    with pytest.raises(ValueError, match="valid"):
        make_synthetic_persons(num_ids=3)
    with pytest.raises(ValueError, match="images_per_camera"):
        make_synthetic_persons(images_per_camera=1)
    with pytest.raises(ValueError, match="num_cameras"):
        make_synthetic_persons(num_cameras=1)


def test_pk_sampler():
    labels = np.repeat(np.arange(6), [5, 4, 4, 2, 8, 4])
    s = PKSampler(labels, p=3, k=4, seed=0)
    batches = list(s)
    assert len(batches) >= 2
    for b in batches:
        assert len(b) == 12
        ids, counts = np.unique(labels[b], return_counts=True)
        assert len(ids) == 3 and (counts == 4).all()
    assert [list(x) for x in PKSampler(labels, 3, 4, seed=0)] == batches  # deterministic
    with pytest.raises(ValueError, match="only 6"):
        PKSampler(labels, p=7)
    with pytest.raises(ValueError, match="k"):
        PKSampler(labels, p=2, k=0)


def test_dataset_transforms():
    img = np.zeros((20, 10, 3), np.float32)
    img[:, :5] = 1.0  # left half white
    s = ReIDSplit(np.array([3]), np.array([1]), images=img[None], labels=np.array([0]))
    ds = ReIDImageDataset(s, (40, 20), train=False)
    x, label, cam, _ = ds[0]
    assert tuple(x.shape) == (3, 40, 20) and label == 0 and cam == 1
    assert x[:, :, :9].min() > 0.99 and x[:, :, 11:].max() < 0.01  # no flip / crop in eval mode
    flips = 0
    tr = ReIDImageDataset(s, (40, 20), train=True, pad=0, flip=0.5, seed=0)
    for _ in range(40):
        y = tr[0][0]
        flips += bool(y[:, :, 15:].mean() > 0.9)
    assert 8 < flips < 32
    padded = ReIDImageDataset(s, (40, 20), train=True, pad=4, flip=0.0, seed=1)
    assert tuple(padded[0][0].shape) == (3, 40, 20)
    with pytest.raises(ValueError, match="size"):
        ReIDImageDataset(s, (4, 4))
    with pytest.raises(TypeError):
        ReIDImageDataset(img, (40, 20))
