"""PCKh (standard MPII protocol) and heatmap decoding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nlvision.pose.data import read_gt_valid_mat
from nlvision.pose.evaluate import decode_heatmaps, heatmap_to_crop, pckh

NAMES = ["rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor", "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri"]


def _reference_pckh(pred, gt, missing, headboxes, threshold):
    """Straightforward per-person, per-joint loop over the raw .mat arrays (16×2×N layout)."""
    n = gt.shape[2]
    hits = [0] * 16
    count = [0] * 16
    for i in range(n):
        (x1, y1), (x2, y2) = headboxes[0, :, i], headboxes[1, :, i]
        head = 0.6 * math.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2)
        for j in range(16):
            if missing[j, i]:
                continue
            count[j] += 1
            d = math.sqrt((pred[j, 0, i] - gt[j, 0, i]) ** 2 + (pred[j, 1, i] - gt[j, 1, i]) ** 2)
            if d / head <= threshold:
                hits[j] += 1
    pck = {NAMES[j]: 100.0 * hits[j] / count[j] for j in range(16)}
    table = {
        "Head": pck["head"],
        "Shoulder": (pck["lsho"] + pck["rsho"]) / 2,
        "Elbow": (pck["lelb"] + pck["relb"]) / 2,
        "Wrist": (pck["lwri"] + pck["rwri"]) / 2,
        "Hip": (pck["lhip"] + pck["rhip"]) / 2,
        "Knee": (pck["lkne"] + pck["rkne"]) / 2,
        "Ankle": (pck["lank"] + pck["rank"]) / 2,
    }
    used = [j for j in range(16) if NAMES[j] not in ("pelv", "thor")]
    total = sum(count[j] for j in used)
    table["Mean"] = sum(pck[NAMES[j]] * count[j] / total for j in used)
    return table


@pytest.fixture
def mpii_mat(shared_dir):
    import os
    from pathlib import Path

    path = Path(os.environ.get("NLVISION_SHARED", shared_dir)) / "data" / "mpii" / "detections_our_format.mat"
    if not path.is_file():
        pytest.skip(f"MPII evaluation fixture not found at {path} (../shared/data/mpii/detections_our_format.mat)")
    return path


@pytest.mark.parametrize("threshold", [0.5, 0.1])
def test_reproduces_standard_evaluation_on_mpii_validation(mpii_mat, threshold):
    from scipy.io import loadmat

    raw = loadmat(str(mpii_mat))
    names = [str(np.asarray(x).ravel()[0]) for x in raw["dataset_joints"].ravel()]
    assert names == NAMES  # the file's own joint list is MPII order
    ref = _reference_pckh(raw["pos_pred_src"], raw["pos_gt_src"], raw["jnt_missing"], raw["headboxes_src"], threshold)
    gt = read_gt_valid_mat(mpii_mat)
    assert gt.joints.shape == (2958, 16, 2)
    res = pckh(gt.predictions, gt.joints, gt.visible, gt.headboxes, threshold)
    for k, v in ref.items():
        assert res.table[k] == pytest.approx(v, abs=1e-9), k
    if threshold == 0.5:
        # Tompson et al. (CVPR'15): 82.0 Mean PCKh@0.5 on the MPII *test* set (seed Table 1); the
        # validation split must be in the same range.
        assert abs(res.mean - 82.0) < 2.0


def test_hand_worked_case_threshold_inclusive_and_missing_joints():
    gt = np.zeros((2, 16, 2))
    hb = np.array([[[0, 0], [6, 8]], [[0, 0], [3, 4]]], dtype=float)  # diag 10 and 5 → head 6 and 3
    pred = gt.copy()
    pred[0, :, 0] = 3.0  # exactly 0.5 × 6 → correct (≤)
    pred[1, :, 0] = 1.6  # 1.6 / 3 > 0.5 → wrong
    vis = np.ones((2, 16), bool)
    vis[1, 9] = False  # the head of person 2 is not annotated
    r = pckh(pred, gt, vis, hb, 0.5)
    assert r.per_joint[9] == 100.0 and r.counts[9] == 1
    assert r.per_joint[0] == 50.0
    # Mean: 14 joints; head 1/1 (weight 1), 13 others 1/2 (weight 2 each) → (100 + 13·2·50) / 27
    assert r.mean == pytest.approx((100 + 13 * 2 * 50) / 27)
    r1 = pckh(pred, gt, vis, hb, 0.1)
    assert r1.mean == 0.0


def test_pckh_bad_input():
    gt = np.zeros((3, 16, 2))
    hb = np.ones((3, 2, 2))
    vis = np.ones((3, 16), bool)
    with pytest.raises(ValueError, match="predictions: expected shape"):
        pckh(np.zeros((2, 16, 2)), gt, vis, hb)
    with pytest.raises(ValueError, match="joints: expected shape"):
        pckh(gt, np.zeros((3, 14, 2)), vis, hb)
    with pytest.raises(ValueError, match="visible"):
        pckh(gt, gt, vis[:, :3], hb)
    with pytest.raises(ValueError, match="headboxes"):
        pckh(gt, gt, vis, np.ones((3, 4)))
    with pytest.raises(ValueError, match="threshold"):
        pckh(gt, gt, vis, hb, threshold=0)
    with pytest.raises(ValueError, match="non-finite head box"):
        pckh(gt, gt, vis, np.full((3, 2, 2), np.nan))


def test_decode_heatmaps_argmax_and_quarter_offset():
    hm = np.zeros((2, 3, 8, 8))
    hm[0, 0, 5, 2] = 1.0  # isolated peak → no shift
    hm[0, 1, 3, 4] = 1.0
    hm[0, 1, 3, 3] = 0.5  # left neighbour higher → x − 0.25
    hm[0, 1, 4, 4] = 0.2  # lower neighbour higher → y + 0.25
    hm[1, 2, 0, 7] = 1.0  # border → no refinement
    hm[1, 2, 0, 6] = 0.9
    coords, vals = decode_heatmaps(hm)
    assert coords[0, 0].tolist() == [2.0, 5.0]
    assert coords[0, 1].tolist() == [3.75, 3.25]
    assert coords[1, 2].tolist() == [7.0, 0.0]
    assert vals[0, 0] == 1.0
    raw, _ = decode_heatmaps(hm, refine=False)
    assert raw[0, 1].tolist() == [4.0, 3.0]
    with pytest.raises(ValueError, match="heatmaps"):
        decode_heatmaps(np.zeros((8, 8)))


def test_heatmap_to_crop_centres():
    # Heatmap pixel k covers crop pixels 4k … 4k+3, whose centre is 4k + 1.5.
    assert heatmap_to_crop(np.array([[0.0, 63.0]]), 64, 256).tolist() == [[1.5, 253.5]]
