"""MPII readers, crops, heatmaps, augmentation and the synthetic figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlvision.datasets.synthetic_figures import (
    MPII_JOINTS,
    SyntheticFigureConfig,
    SyntheticFigures,
    render_figure,
    sample_pose,
)
from nlvision.pose.data import (
    PersonAnnotation,
    PoseDataset,
    crop_image,
    crop_transform,
    flip_joints,
    flip_permutation,
    gaussian_heatmaps,
    make_dataset,
    parse_data_spec,
    read_gt_valid_mat,
    read_mpii_json,
    transform_points,
)


def _record(**kw):
    rec = {"image": "a.jpg", "joints": [[10 + j, 20 + j] for j in range(16)], "joints_vis": [1] * 15 + [0], "center": [30, 40], "scale": 1.5}
    rec.update(kw)
    return rec


def test_read_mpii_json_converts_one_based(tmp_path):
    p = tmp_path / "valid.json"
    p.write_text(json.dumps([_record(), _record(image="b.jpg", headbox=[[1, 1], [11, 11]])]))
    anns = read_mpii_json(p)
    assert len(anns) == 2
    assert anns[0].joints[3].tolist() == [12.0, 22.0]  # 13, 23 in 1-based MPII pixels
    assert anns[0].center.tolist() == [29.0, 39.0]
    assert anns[0].visible.sum() == 15 and not anns[0].visible[15]
    assert anns[0].headbox is None and anns[1].headbox.tolist() == [[0, 0], [10, 10]]


@pytest.mark.parametrize(
    "rec, match",
    [
        ({"joints_vis": None}, None),
        ({"joints": [[1, 2]] * 14}, "joints: expected shape"),
        ({"center": [1, 2, 3]}, "center"),
        ({"scale": -1}, "positive scale"),
        ({"joints": [["a", "b"]] * 16}, "non-numeric"),
    ],
)
def test_read_mpii_json_bad_records(tmp_path, rec, match):
    r = _record(**rec)
    if rec.get("joints_vis", 0) is None:
        del r["joints_vis"]
        match = r"record 0: missing field\(s\) \['joints_vis'\]"
    p = tmp_path / "x.json"
    p.write_text(json.dumps([r]))
    with pytest.raises(ValueError, match=match):
        read_mpii_json(p)


def test_read_mpii_json_bad_files(tmp_path):
    with pytest.raises(ValueError, match="no such annotation file"):
        read_mpii_json(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON file"):
        read_mpii_json(tmp_path / "bad.json")


def test_read_gt_valid_mat_layout(tmp_path):
    from scipy.io import savemat

    n = 3
    gt = np.arange(16 * 2 * n, dtype=float).reshape(16, 2, n) + 1
    missing = np.zeros((16, n), np.uint8)
    missing[6, 1] = 1
    hb = np.ones((2, 2, n))
    hb[1] += 10
    savemat(tmp_path / "gt_valid.mat", {"pos_gt_src": gt, "jnt_missing": missing, "headboxes_src": hb})
    r = read_gt_valid_mat(tmp_path / "gt_valid.mat")
    assert r.joints.shape == (3, 16, 2) and r.predictions is None
    assert r.joints[2, 5].tolist() == [gt[5, 0, 2] - 1, gt[5, 1, 2] - 1]
    assert not r.visible[1, 6] and r.visible.sum() == 16 * 3 - 1
    assert r.headboxes[0].tolist() == [[0, 0], [10, 10]]
    savemat(tmp_path / "bad.mat", {"pos_gt_src": gt})
    with pytest.raises(ValueError, match=r"missing key\(s\)"):
        read_gt_valid_mat(tmp_path / "bad.mat")
    (tmp_path / "junk.mat").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a MATLAB file"):
        read_gt_valid_mat(tmp_path / "junk.mat")


def test_crop_matches_scikit_image_warp():
    from skimage.transform import AffineTransform, warp

    rng = np.random.default_rng(0)
    img = rng.random((50, 70, 3))
    m = crop_transform([30.0, 22.0], 0.2, 32, rotation=25.0)
    ours = crop_image(img, m, 32)
    ref = warp(img, AffineTransform(matrix=m), output_shape=(32, 32), order=1, mode="constant", cval=0.0)
    inner = (slice(4, -4), slice(4, -4))
    assert np.allclose(ours[inner], ref[inner], atol=1e-5)


def test_crop_and_joint_transform_agree():
    """A bright dot at a joint lands where the joint transform says, for scale, rotation and flip."""
    img = np.zeros((120, 160, 3))
    joint = np.array([100.0, 40.0])
    img[40, 100] = 1.0
    m = crop_transform([80.0, 60.0], 0.6, 120, rotation=-30.0)
    crop = crop_image(img, m, 120)
    expected = transform_points(np.linalg.inv(m), joint[None])[0]
    y, x = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert abs(x - expected[0]) <= 1.0 and abs(y - expected[1]) <= 1.0


def test_flip_joints_swaps_left_and_right():
    j = np.zeros((16, 2))
    j[:, 0] = np.arange(16)
    fj, _ = flip_joints(j, np.ones(16, bool), 100)
    names = list(MPII_JOINTS)
    # new l_wrist is the old r_wrist, mirrored
    assert fj[names.index("l_wrist"), 0] == 99 - names.index("r_wrist")
    assert fj[names.index("pelvis"), 0] == 99 - names.index("pelvis")


def test_gaussian_heatmaps_values():
    hm = gaussian_heatmaps(np.array([[3.0, 2.0], [-5.0, 1.0], [1.0, 1.0]]), np.array([True, True, False]), 8, sigma=2.0)
    assert hm.shape == (3, 8, 8)
    assert hm[0, 2, 3] == pytest.approx(1.0)
    assert hm[0, 2, 5] == pytest.approx(np.exp(-4 / 8))
    assert hm[0, 4, 5] == pytest.approx(np.exp(-8 / 8))
    assert not hm[1].any() and not hm[2].any()  # outside the map / not annotated


def _ann(joints=None):
    j = np.stack([np.linspace(20, 40, 16), np.linspace(10, 50, 16)], 1) if joints is None else joints
    return PersonAnnotation("x", j, np.ones(16, bool), np.array([30.0, 30.0]), 0.3, np.array([[0.0, 0], [6, 8]]))


def test_dataset_targets_peak_at_joints_with_augmentation():
    img = np.random.default_rng(1).random((64, 64, 3))
    ds = PoseDataset([_ann()] * 8, lambda a, i: img, input_size=64, train=True, seed=3)
    flips = []
    for i in range(8):
        s = ds[i]
        assert s.image.shape == (3, 64, 64) and s.target.shape == (16, 16, 16)
        # Recover the joints from the targets: they must match the (augmented) crop transform.
        peaks = np.array([np.unravel_index(t.argmax(), t.shape)[::-1] for t in s.target], float)
        crop_j = (peaks + 0.5) * 4 - 0.5
        inside = s.target.max(axis=(1, 2)) > 0.5
        direct = np.linalg.norm(transform_points(s.matrix, crop_j) - s.joints, axis=-1)
        # Flipped sample: un-mirror the crop and undo the left/right swap.
        unflip = crop_j.copy()
        unflip[:, 0] = 63 - unflip[:, 0]
        swapped = np.linalg.norm(transform_points(s.matrix, unflip) - s.joints[flip_permutation()], axis=-1)
        assert (direct[inside] < 3.5).all() or (swapped[inside] < 3.5).all()
        flips.append(bool((swapped[inside] < 3.5).all()))
    assert any(flips) and not all(flips)  # both cases exercised
    ds2 = PoseDataset([_ann()] * 8, lambda a, i: img, input_size=64, train=True, seed=3)
    assert np.array_equal(ds2[2].image, ds[2].image)  # seeded


def test_dataset_bad_inputs(tmp_path):
    img = np.zeros((64, 64, 3))
    bad = _ann(np.full((16, 2), 70.0))
    with pytest.raises(ValueError, match="outside the 64×64 image"):
        PoseDataset([bad], lambda a, i: img, input_size=64)[0]
    with pytest.raises(ValueError, match="annotations"):
        PoseDataset([], lambda a, i: img)
    with pytest.raises(ValueError, match="input_size"):
        PoseDataset([_ann()], lambda a, i: img, input_size=30)
    # An MPII folder with an image that fails to decode.
    (tmp_path / "annot").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "annot" / "train.json").write_text(json.dumps([_record()]))
    ds = make_dataset(f"mpii:{tmp_path}", "train", input_size=64)
    with pytest.raises(ValueError, match="a.jpg"):
        ds[0]
    with pytest.raises(ValueError, match="expected annot/valid.json"):
        make_dataset(f"mpii:{tmp_path}", "valid")
    with pytest.raises(ValueError, match="'synthetic' or 'mpii:PATH'"):
        parse_data_spec("coco")
    with pytest.raises(ValueError, match="split"):
        make_dataset("synthetic", "test")


def test_synthetic_figures_are_deterministic_and_well_formed():
    cfg = SyntheticFigureConfig(image_size=96)
    a, b = SyntheticFigures(3, seed=7, config=cfg), SyntheticFigures(3, seed=7, config=cfg)
    assert np.array_equal(a[1].image, b[1].image) and np.array_equal(a[1].joints, b[1].joints)
    assert not np.array_equal(a[0].image, SyntheticFigures(3, seed=8, config=cfg)[0].image)
    names = list(MPII_JOINTS)
    for s in (a[0], a[1], a[2]):
        assert s.image.dtype == np.float32 and s.image.min() >= 0 and s.image.max() <= 1
        assert (s.joints >= 0).all() and (s.joints <= 95).all() and s.visible.all()
        (x1, y1), (x2, y2) = s.headbox
        for k in ("head_top", "upper_neck"):
            x, y = s.joints[names.index(k)]
            assert x1 <= x <= x2 and y1 <= y <= y2
        # Frontal figure: the person's right hip/shoulder are on the image's left.
        assert s.joints[names.index("r_hip"), 0] < s.joints[names.index("l_hip"), 0]
        assert s.joints[names.index("r_shoulder"), 0] < s.joints[names.index("l_shoulder"), 0]
        # Limb lengths follow the skeleton: the thorax is above the pelvis.
        assert s.joints[names.index("thorax"), 1] < s.joints[names.index("pelvis"), 1]


def test_synthetic_bad_inputs():
    with pytest.raises(ValueError, match="image_size"):
        SyntheticFigureConfig(image_size=8).validate()
    with pytest.raises(ValueError, match="n: expected"):
        SyntheticFigures(0)
    with pytest.raises(ValueError, match="seed"):
        SyntheticFigures(2, seed=-1)
    with pytest.raises(TypeError, match="rng"):
        render_figure(0)
    with pytest.raises(ValueError, match="height"):
        sample_pose(np.random.default_rng(0), -1.0)
    with pytest.raises(IndexError):
        SyntheticFigures(2)[5]
