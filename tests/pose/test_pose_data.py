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
    person_crop,
    read_gt_valid_mat,
    read_mpii_json,
    resolve_image,
    transform_points,
)


def _record(**kw):
    rec = {"image": "a.jpg", "joints": [[10 + j, 20 + j] for j in range(16)], "joints_vis": [1] * 15 + [0], "center": [30, 40], "scale": 1.5}
    rec.update(kw)
    return rec


def test_read_mpii_json_converts_one_based(tmp_path):
    p = tmp_path / "valid.json"
    p.write_text(json.dumps([_record(), _record(image="b.jpg", headbox=[[1, 1], [11, 11]])]))
    anns = read_mpii_json(p).people
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
def test_read_mpii_json_bad_records_are_skipped_and_counted(tmp_path, rec, match):
    r = _record(**rec)
    if rec.get("joints_vis", 0) is None:
        del r["joints_vis"]
        match = r"missing field\(s\) \['joints_vis'\]"
    p = tmp_path / "x.json"
    p.write_text(json.dumps([_record(), r, _record()]))
    s = read_mpii_json(p)
    assert len(s.people) == 2 and len(s.skipped) == 1 and s.skipped[0][0] == 1 and s.indices == [0, 2]
    import re

    assert re.search(match, s.skipped[0][1])
    assert "1 malformed record(s) skipped" in s.summary()
    # A file with only malformed records is an error naming the first reason.
    p.write_text(json.dumps([r]))
    with pytest.raises(ValueError, match="no usable person records"):
        read_mpii_json(p)


def test_read_mpii_json_bad_files(tmp_path):
    with pytest.raises(ValueError, match="no such annotation file"):
        read_mpii_json(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON file"):
        read_mpii_json(tmp_path / "bad.json")


def test_border_joints_are_kept_and_counted(tmp_path):
    # MPII annotates some joints at 1-based coordinate 0 (−1 once 0-based): kept, counted.
    joints = [[10 + j, 20 + j] for j in range(16)]
    joints[0] = [0, 50]  # r_ankle on the left border
    joints[5] = [30, 0]  # l_ankle on the top border
    p = tmp_path / "valid.json"
    p.write_text(json.dumps([_record(joints=joints), _record()]))
    s = read_mpii_json(p)
    assert len(s.people) == 2 and s.border_joints == 2 and not s.skipped
    assert s.people[0].joints[0].tolist() == [-1.0, 49.0] and s.people[0].visible[0]


def _pytorch_pose_record(valid, **kw):
    # Layout of bearpaw/pytorch-pose data/mpii/mpii_annotations.json (one file, both splits).
    rec = {"dataset": "MPI", "isValidation": float(valid), "img_paths": "015601864.jpg", "img_width": 100.0, "img_height": 80.0,
           "objpos": [50.0, 40.0], "joint_self": [[10.0 + j, 20.0 + j, 1.0] for j in range(16)], "scale_provided": 0.3,
           "annolist_index": 5.0, "people_index": 1.0, "numOtherPeople": 0.0}
    rec.update(kw)
    return rec


def test_read_pytorch_pose_json(tmp_path):
    joints = [[10.0 + j, 20.0 + j, 1.0] for j in range(16)]
    joints[3] = [0.0, 0.0, 0.0]  # not annotated (pytorch-pose writes zeros)
    joints[4] = [40.0, 50.0, 0.0]  # annotated but occluded: still an annotated joint
    joints[5] = [101.0, 30.0, 1.0]  # beyond the 100-px-wide image (1-based 101 → 0-based 100)
    p = tmp_path / "mpii_annotations.json"
    p.write_text(json.dumps([_pytorch_pose_record(0), _pytorch_pose_record(1, joint_self=joints),
                             _pytorch_pose_record(1, joint_self=[[1, 2, 1]] * 15)]))
    v = read_mpii_json(p, split="valid")
    assert len(v.people) == 1 and len(v.skipped) == 1 and "(16, 3)" in v.skipped[0][1]
    a = v.people[0]
    assert a.image == "015601864.jpg" and a.center.tolist() == [49.0, 39.0] and a.scale == 0.3
    assert a.joints[0].tolist() == [9.0, 19.0]
    assert not a.visible[3] and a.visible[4] and a.visible.sum() == 15
    assert v.border_joints == 1
    t = read_mpii_json(p, split="train")
    assert len(t.people) == 1 and not t.skipped


def shipped_mpii(shared_dir):
    """The shipped MPII validation annotations (``../shared``; ``NLVISION_SHARED`` overrides)."""
    import os
    from pathlib import Path

    return Path(os.environ.get("NLVISION_SHARED", shared_dir)) / "data" / "mpii" / "detections_our_format.mat"


def test_shipped_mpii_validation_set_passes_the_reader(shared_dir):
    path = shipped_mpii(shared_dir)
    if not path.is_file():
        pytest.skip(f"shipped MPII annotations not found at {path}")
    gt = read_gt_valid_mat(path)
    assert gt.joints.shape == (2958, 16, 2) and gt.predictions.shape == (2958, 16, 2)
    # 58 annotated joints of 54 people lie on the border (1-based 0): all kept and counted.
    assert gt.border_joints == 58
    on_border = ((gt.joints < 0).any(-1) & gt.visible).any(1)
    assert on_border.sum() == 54


def test_standard_mpii_crop():
    # pytorch-pose / simple-baseline: c[1] += 15 * s; s *= 1.25; crop side 200 * s.
    c, s = person_crop([300.0, 200.0], 2.0)
    assert c.tolist() == [300.0, 230.0] and s == 2.5
    m = crop_transform(c, s, 256)
    corners = transform_points(m, np.array([[-0.5, -0.5], [255.5, 255.5]]))
    assert np.allclose(corners, [[300 - 250, 230 - 250], [300 + 250, 230 + 250]])
    with pytest.raises(ValueError, match="scale"):
        person_crop([1.0, 2.0], 0.0)


def test_image_paths_outside_the_data_root_are_refused(tmp_path):
    (tmp_path / "annot").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    (tmp_path / "annot" / "valid.json").write_text(json.dumps([_record(image="../secret.jpg")]))
    with pytest.raises(ValueError, match="outside the image folder"):
        make_dataset(f"mpii:{tmp_path}", "valid", input_size=64)
    with pytest.raises(ValueError, match="relative"):
        resolve_image(tmp_path / "images", "/etc/passwd")
    (tmp_path / "images" / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    with pytest.raises(ValueError, match="outside"):
        resolve_image(tmp_path / "images", "link.jpg")


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


#: Written by hand from the MPII joint list (0 r_ankle … 15 l_wrist): the joint each index
#: becomes after a horizontal flip.
FLIP_TABLE = {
    "r_ankle": "l_ankle", "r_knee": "l_knee", "r_hip": "l_hip", "l_hip": "r_hip", "l_knee": "r_knee", "l_ankle": "r_ankle",
    "pelvis": "pelvis", "thorax": "thorax", "upper_neck": "upper_neck", "head_top": "head_top",
    "r_wrist": "l_wrist", "r_elbow": "l_elbow", "r_shoulder": "l_shoulder", "l_shoulder": "r_shoulder",
    "l_elbow": "r_elbow", "l_wrist": "r_wrist",
}
FLIP_PERM = [5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10]


def test_flip_map_all_16_joints_against_a_hand_written_table():
    names = list(MPII_JOINTS)
    assert len(FLIP_TABLE) == 16
    assert flip_permutation().tolist() == FLIP_PERM
    assert [names.index(FLIP_TABLE[n]) for n in names] == FLIP_PERM
    j = np.zeros((16, 2))
    j[:, 0] = np.arange(16) * 2.0
    j[:, 1] = np.arange(16) + 100.0
    vis = np.arange(16) % 3 > 0
    fj, fv = flip_joints(j, vis, 100)
    for k, name in enumerate(names):
        src = names.index(FLIP_TABLE[name])  # the joint that lands at index k
        assert fj[k].tolist() == [99 - 2.0 * src, src + 100.0], name
        assert fv[k] == vis[src], name


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
        tol = 0.75 * 4 * np.sqrt(abs(np.linalg.det(s.matrix[:2, :2])))  # 3/4 heatmap pixel, in source pixels
        assert (direct[inside] < tol).all() or (swapped[inside] < tol).all()
        flips.append(bool((swapped[inside] < tol).all()))
    assert any(flips) and not all(flips)  # both cases exercised
    ds2 = PoseDataset([_ann()] * 8, lambda a, i: img, input_size=64, train=True, seed=3)
    assert np.array_equal(ds2[2].image, ds[2].image)  # seeded


def test_dataset_bad_inputs(tmp_path):
    img = np.zeros((64, 64, 3))
    border = _ann(np.full((16, 2), -1.0))  # joints on / outside the border are served, not rejected
    assert PoseDataset([border], lambda a, i: img, input_size=64)[0].target.shape == (16, 16, 16)
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
    with pytest.raises(ValueError, match="expected annot/valid.json or annot/mpii_annotations.json"):
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
        # The silhouette covers the person's joints and is a minority of the scene.
        ji = np.clip(np.round(s.joints).astype(int), 0, 95)
        assert (s.figure[ji[:, 1], ji[:, 0]] > 0.5).mean() >= 0.9 and 0.02 < s.figure.mean() < 0.5


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


def test_pytorch_pose_folder_with_gt_valid_mat(tmp_path):
    """pytorch-pose layout (annot/mpii_annotations.json, both splits) + the split's gt_valid.mat:
    head boxes are attached by position among the split's records, skipped ones included."""
    from scipy.io import savemat

    (tmp_path / "annot").mkdir()
    (tmp_path / "images").mkdir()
    recs = [_pytorch_pose_record(0), _pytorch_pose_record(1), _pytorch_pose_record(1, joint_self=[[1, 2, 1]] * 14),
            _pytorch_pose_record(1, img_paths="b.jpg")]
    (tmp_path / "annot" / "mpii_annotations.json").write_text(json.dumps(recs))
    hb = np.zeros((2, 2, 3))
    hb[1] = [[11.0, 12.0, 13.0], [21.0, 22.0, 23.0]]
    savemat(tmp_path / "annot" / "gt_valid.mat", {"pos_gt_src": np.ones((16, 2, 3)), "jnt_missing": np.zeros((16, 3)), "headboxes_src": hb})
    ds = make_dataset(f"mpii:{tmp_path}", "valid", input_size=64)
    assert [a.image for a in ds.annotations] == ["015601864.jpg", "b.jpg"]
    # 0-based: the third split record (index 2) is b.jpg's box; the malformed one (index 1) is skipped.
    assert ds.annotations[0].headbox.tolist() == [[-1.0, -1.0], [10.0, 20.0]]
    assert ds.annotations[1].headbox.tolist() == [[-1.0, -1.0], [12.0, 22.0]]
    assert "1 malformed record(s) skipped" in ds.report
    assert len(make_dataset(f"mpii:{tmp_path}", "train", input_size=64)) == 1
