"""PCKh evaluation (standard MPII protocol) and heatmap decoding (seed eq. 5).

PCKh follows the standard MPII evaluation script exactly:

* head size = 0.6 × the diagonal of the head box (``SC_BIAS = 0.6``);
* a joint is correct when ``‖pred − gt‖ / head size ≤ threshold`` (0.5 for PCKh@0.5);
* only annotated joints are counted;
* the table reports Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle (left/right averaged) and
  Mean — the average over the 14 joints other than pelvis and thorax, weighted by the number
  of annotated instances of each joint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nlvision.pose.data import (
    GroundTruth,
    collate,
    flip_permutation,
    make_dataset,
    person_crop,
    read_gt_valid_mat,
)

SC_BIAS = 0.6
#: Table columns and the MPII joints averaged in each.
TABLE_PARTS = {
    "Head": (9,),
    "Shoulder": (12, 13),
    "Elbow": (11, 14),
    "Wrist": (10, 15),
    "Hip": (2, 3),
    "Knee": (1, 4),
    "Ankle": (0, 5),
}
_EXCLUDED = (6, 7)  # pelvis, thorax


@dataclass
class PCKhResult:
    """PCKh of a set of predictions.

    Attributes
    ----------
    threshold : float
    per_joint : ndarray (16,)
        PCKh in percent per MPII joint (NaN for a joint never annotated).
    counts : ndarray (16,)
        Number of annotated instances per joint.
    table : dict
        Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle, Mean (percent).
    """

    threshold: float
    per_joint: np.ndarray
    counts: np.ndarray
    table: dict[str, float] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        """The Mean column."""
        return self.table["Mean"]



    def format(self, label: str = "PCKh") -> str:
        """One header line and one row, like the standard evaluation script prints."""
        head = f"{label:<12}" + "".join(f"{k:>9}" for k in self.table)
        row = f"{'@' + format(self.threshold, 'g'):<12}" + "".join(f"{v:9.2f}" for v in self.table.values())
        return head + "\n" + row

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"threshold": self.threshold, "table": self.table, "per_joint": self.per_joint.tolist(), "counts": self.counts.tolist()}


def _check_points(name: str, a: np.ndarray, n: int | None = None) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 3 or a.shape[1:] != (16, 2) or (n is not None and a.shape[0] != n):
        want = f"({n if n is not None else 'N'}, 16, 2)"
        raise ValueError(f"{name}: expected shape {want}, got {a.shape}")
    return a


def pckh(
    predictions: np.ndarray,
    joints: np.ndarray,
    visible: np.ndarray,
    headboxes: np.ndarray,
    threshold: float = 0.5,
) -> PCKhResult:
    """PCKh@``threshold`` with the standard MPII protocol.

    Parameters
    ----------
    predictions, joints : ndarray (N, 16, 2)
        Predicted and ground-truth joints (same pixel convention).
    visible : ndarray (N, 16)
        True for annotated joints (``1 - jnt_missing``).
    headboxes : ndarray (N, 2, 2)
        ``[[x1, y1], [x2, y2]]`` per person.
    threshold : float
        Fraction of the head size (0.5 → PCKh@0.5, 0.1 → PCKh@0.1).

    Returns
    -------
    PCKhResult
        Per-joint PCKh, counts and the standard table.

    Raises
    ------
    ValueError
        On shape mismatches, non-finite head boxes of annotated people, or a threshold ≤ 0.

    References
    ----------
    Andriluka et al., CVPR 2014 (PCKh); seed section 4.

    Examples
    --------
    >>> gt = np.zeros((1, 16, 2)); hb = np.array([[[0, 0], [10, 0]]])  # head size 6
    >>> pred = gt.copy(); pred[0, 9] = [3.0, 0]; pred[0, 0] = [3.1, 0]
    >>> r = pckh(pred, gt, np.ones((1, 16), bool), hb)
    >>> float(r.per_joint[9]), float(r.per_joint[0]), r.table["Ankle"]
    (100.0, 0.0, 50.0)
    """
    joints = _check_points("joints", joints)
    n = joints.shape[0]
    predictions = _check_points("predictions", predictions, n)
    visible = np.asarray(visible).astype(bool)
    headboxes = np.asarray(headboxes, dtype=np.float64)
    if visible.shape != (n, 16):
        raise ValueError(f"visible: expected shape ({n}, 16), got {visible.shape}")
    if headboxes.shape != (n, 2, 2):
        raise ValueError(f"headboxes: expected shape ({n}, 2, 2), got {headboxes.shape}")
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold: expected a positive number, got {threshold!r}")
    used = visible.any(axis=1)
    if not np.isfinite(headboxes[used]).all():
        raise ValueError("headboxes: non-finite head box for an annotated person (PCKh needs head boxes)")
    head = SC_BIAS * np.linalg.norm(headboxes[:, 1] - headboxes[:, 0], axis=-1)  # (N,)
    err = np.linalg.norm(predictions - joints, axis=-1)  # (N, 16)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = err / head[:, None]
    correct = (scaled <= threshold) & visible
    counts = visible.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_joint = 100.0 * correct.sum(axis=0) / counts
    table = {name: float(np.mean(per_joint[list(idx)])) for name, idx in TABLE_PARTS.items()}
    keep = np.ones(16, bool)
    keep[list(_EXCLUDED)] = False
    w = counts[keep] / counts[keep].sum() if counts[keep].sum() else np.full(keep.sum(), np.nan)
    table["Mean"] = float(np.nansum(per_joint[keep] * w)) if counts[keep].sum() else float("nan")
    return PCKhResult(float(threshold), per_joint, counts, table)


def decode_heatmaps(heatmaps, refine: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions as the argmax of each heatmap (eq. 5), with quarter-pixel refinement.

    Parameters
    ----------
    heatmaps : ndarray or Tensor (B, K, h, w)
    refine : bool
        Move each argmax by 0.25 pixel towards the higher neighbour in x and in y (the usual
        hourglass post-processing).

    Returns
    -------
    coords : ndarray (B, K, 2)
        (x, y) in heatmap pixel indices.
    maxvals : ndarray (B, K)

    Examples
    --------
    >>> h = np.zeros((1, 1, 5, 5)); h[0, 0, 2, 3] = 1.0; h[0, 0, 2, 4] = 0.5
    >>> decode_heatmaps(h)[0][0, 0].tolist()
    [3.25, 2.0]
    """
    hm = heatmaps.detach().float().cpu().numpy() if hasattr(heatmaps, "detach") else np.asarray(heatmaps)
    if hm.ndim != 4:
        raise ValueError(f"heatmaps: expected (B, K, h, w), got shape {hm.shape}")
    b, k, h, w = hm.shape
    flat = hm.reshape(b, k, -1)
    idx = flat.argmax(-1)
    maxvals = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    y, x = np.divmod(idx, w)
    coords = np.stack([x, y], -1).astype(np.float64)
    if refine:
        bi, ki = np.meshgrid(np.arange(b), np.arange(k), indexing="ij")
        xr, xl = np.minimum(x + 1, w - 1), np.maximum(x - 1, 0)
        yd, yu = np.minimum(y + 1, h - 1), np.maximum(y - 1, 0)
        dx = hm[bi, ki, y, xr] - hm[bi, ki, y, xl]
        dy = hm[bi, ki, yd, x] - hm[bi, ki, yu, x]
        inner_x = (x > 0) & (x < w - 1)
        inner_y = (y > 0) & (y < h - 1)
        coords[..., 0] += 0.25 * np.sign(dx) * inner_x
        coords[..., 1] += 0.25 * np.sign(dy) * inner_y
    return coords, maxvals


def heatmap_to_crop(coords: np.ndarray, heatmap_size: int, input_size: int) -> np.ndarray:
    """Heatmap pixel indices → crop pixel indices.

    Examples
    --------
    >>> heatmap_to_crop(np.array([[0.0, 0.0]]), 64, 256).tolist()
    [[1.5, 1.5]]
    """
    r = input_size / heatmap_size
    return (np.asarray(coords, dtype=np.float64) + 0.5) * r - 0.5



def predict_heatmaps(model, images, *, flip: bool = False):
    """Final-stage heatmaps ``P(S)`` and the masks of a batch, in one forward pass (two with ``flip``).

    Parameters
    ----------
    model : StackedHourglass
    images : Tensor (B, 3, S, S)
    flip : bool
        Flip test: also run the mirrored images, mirror their heatmaps back and swap left/right.

    Returns
    -------
    heatmaps : Tensor (B, K, h, w)
    masks : Tensor (B, S-1, h, w)
        ``M(1) … M(S-1)`` of the unflipped pass.
    """
    import torch

    with torch.no_grad():
        out = model(images)
        hm = out.predictions[:, -1]
        if flip:
            perm = torch.as_tensor(flip_permutation(), device=hm.device)
            hm_f = model(images.flip(-1)).predictions[:, -1].flip(-1)[:, perm]
            hm = 0.5 * (hm + hm_f)
    return hm, out.masks[:, 1:, 0]


def predict_batch(model, images, matrices, *, flip: bool = False, refine: bool = True) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """Joints in source image coordinates for a batch of crops.

    Returns
    -------
    joints : ndarray (B, 16, 2)
        0-based source-image pixels.
    scores : ndarray (B, 16)
        Heatmap maxima.
    heatmaps : Tensor (B, K, h, w)
    masks : Tensor (B, S-1, h, w)
    """
    hm, masks = predict_heatmaps(model, images, flip=flip)
    coords, maxvals = decode_heatmaps(hm, refine=refine)
    crop = heatmap_to_crop(coords, hm.shape[-1], images.shape[-1])
    mats = np.asarray(matrices.cpu().numpy() if hasattr(matrices, "cpu") else matrices, dtype=np.float64)
    src = np.einsum("bij,bkj->bki", mats[:, :2, :2], crop) + mats[:, None, :2, 2]
    return src, maxvals, hm, masks


def _mask_stats(masks: np.ndarray, figure: np.ndarray) -> dict[str, Any]:
    """Per-stage share of cells discarded (M < 0.5) on the figure and on the background."""
    disc = masks < 0.5  # (N, S-1, h, w)
    stats = []
    known = np.isfinite(figure).all()
    for i in range(disc.shape[1]):
        d = disc[:, i]
        row = {"stage": i + 1, "discarded": float(d.mean()), "mean_mask": float(masks[:, i].mean())}
        if known:
            fig = figure
            row["discarded_figure"] = float((d * fig).sum() / max(fig.sum(), 1e-9))
            row["discarded_background"] = float((d * (1 - fig)).sum() / max((1 - fig).sum(), 1e-9))
        stats.append(row)
    return {"stages": stats}


def evaluate_model(
    model,
    loader: Iterable[dict],
    *,
    flip: bool = False,
    refine: bool = True,
    thresholds: tuple[float, ...] = (0.5, 0.1),
    masks_off: bool = False,
) -> dict[str, Any]:
    """Predict every person of ``loader`` and compute PCKh at each threshold.

    Parameters
    ----------
    model : StackedHourglass
        Put in eval mode here.
    loader : iterable of batches from :func:`nlvision.pose.data.collate`
        Must carry head boxes.
    flip, refine : bool
        Flip test; quarter-pixel refinement.
    thresholds : tuple of float
        PCKh thresholds.
    masks_off : bool
        For attention models, also report the mask statistics and PCKh with every mask forced
        to 1 (``masks`` entry).

    Returns
    -------
    dict
        ``predictions`` (N, 16, 2), ``results`` {threshold: PCKhResult}, and ``masks`` (None
        for a plain hourglass) with ``stages`` (share of cells discarded per stage, on the figure
        and on the background when the data give silhouettes) and ``pckh@0.5 masks off``.
    """
    model.eval()
    device = next(model.parameters()).device
    preds, gts, vis, hbs, mks, figs, off = [], [], [], [], [], [], []
    attention = model.config.attention and model.config.num_stacks > 1
    active = model.attention_active
    for batch in loader:
        x = batch["image"].to(device)
        p, _, _, m = predict_batch(model, x, batch["matrix"], flip=flip, refine=refine)
        preds.append(p)
        gts.append(batch["joints"].numpy())
        vis.append(batch["visible"].numpy())
        hbs.append(batch["headbox"].numpy())
        if attention and masks_off:
            mks.append(m.float().cpu().numpy())
            figs.append(batch["figure"].numpy())
            model.attention_active = False
            try:
                off.append(predict_batch(model, x, batch["matrix"], flip=flip, refine=refine)[0])
            finally:
                model.attention_active = active
    if not preds:
        raise ValueError("loader: no samples to evaluate")
    pred, gt, v, hb = (np.concatenate(a) for a in (preds, gts, vis, hbs))
    out = {"predictions": pred, "results": {t: pckh(pred, gt, v, hb, t) for t in thresholds}, "masks": None}
    if mks:
        stats = _mask_stats(np.concatenate(mks), np.concatenate(figs))
        stats["pckh@0.5 masks off"] = pckh(np.concatenate(off), gt, v, hb, 0.5).mean
        stats["pckh@0.5 masks on"] = out["results"][0.5].mean if 0.5 in out["results"] else pckh(pred, gt, v, hb, 0.5).mean
        out["masks"] = stats
    return out


def evaluate_pose(
    model,
    data: str = "synthetic",
    *,
    flip: bool = False,
    refine: bool = True,
    n: int | None = None,
    batch_size: int = 16,
    seed: int = 0,
) -> dict[str, Any]:
    """PCKh@0.5 and @0.1 (standard MPII protocol) of a pose model on a validation split.

    Parameters
    ----------
    model : StackedHourglass or path-like
        A model, or a checkpoint / run folder for :func:`nlvision.pose.load_pose_model`.
    data : str
        ``synthetic`` or ``mpii:PATH`` (the ``valid`` split, standard MPII crops).
    flip : bool
        Flip test (two forward passes).
    refine : bool
        Quarter-pixel refinement of the argmax.
    n : int, optional
        Number of people (synthetic set size or a cap).
    batch_size : int
        Batch size.
    seed : int
        Synthetic data seed (the validation split uses ``seed + 1000``).

    Returns
    -------
    dict
        ``n``, ``data``, ``synthetic``, ``metrics`` ({"pckh@0.5": table, "pckh@0.1": table}),
        ``masks`` (attention models: per-stage discard shares and PCKh with the masks forced
        to 1), ``annotations`` (reader summary for MPII) and ``predictions`` (N, 16, 2) in
        0-based source-image pixels.

    Raises
    ------
    ValueError
        Bad data spec, no usable annotation, or people without head boxes.

    References
    ----------
    Andriluka et al., CVPR 2014 (PCKh); seed 002, section 4.

    Examples
    --------
    >>> from nlvision.pose.model import PoseModelConfig, build_pose_model
    >>> m = build_pose_model(PoseModelConfig(num_stacks=2, channels=4, depth=1, input_size=32))
    >>> r = evaluate_pose(m, "synthetic", n=2)
    >>> r["n"], sorted(r["metrics"]), len(r["masks"]["stages"])
    (2, ['pckh@0.1', 'pckh@0.5'], 1)
    """
    from torch.utils.data import DataLoader

    if not hasattr(model, "config"):
        from nlvision.pose.model import load_pose_model

        model = load_pose_model(model)
    if batch_size < 1:
        raise ValueError(f"--batch-size: expected ≥ 1, got {batch_size}")
    ds = make_dataset(data, "valid", input_size=model.config.input_size, n=n, seed=seed)
    if any(a.headbox is None for a in ds.annotations):
        raise ValueError(f"--data: {data} has no head boxes (add 'headbox' to the records or annot/gt_valid.mat); PCKh needs them")
    ev = evaluate_model(model, DataLoader(ds, batch_size=batch_size, collate_fn=collate), flip=flip, refine=refine, masks_off=True)
    return {
        "n": len(ds), "data": data, "synthetic": data == "synthetic", "flip": flip, "refine": refine,
        "metrics": {f"pckh@{t:g}": r.to_dict() for t, r in ev["results"].items()}, "masks": ev["masks"],
        "annotations": ds.report, "predictions": ev["predictions"],
        "coordinates": "predictions: 0-based pixel indices (x = column, y = row) of the source images",
    }


def mean_pose_baseline(train_people, valid_people) -> np.ndarray:
    """The trivial floor: the mean training pose placed in each validation person's crop box.

    Joints are normalised by the standard MPII crop (:func:`nlvision.pose.data.person_crop`):
    ``(joint − crop centre) / (200 · crop scale)``; their mean over the annotated training joints
    is mapped back through each validation person's crop.

    Parameters
    ----------
    train_people, valid_people : sequence of PersonAnnotation
        Annotations (only centre, scale, joints and visibility are used).

    Returns
    -------
    ndarray (N_valid, 16, 2)
        Predictions in 0-based source pixels.

    Examples
    --------
    >>> from nlvision.pose.data import PersonAnnotation
    >>> a = PersonAnnotation("a", np.full((16, 2), 10.0), np.ones(16, bool), np.array([10.0, 10.0]), 1.0)
    >>> float(mean_pose_baseline([a], [a])[0, 0, 0])
    10.0
    """
    acc, cnt = np.zeros((16, 2)), np.zeros(16)
    for p in train_people:
        c, s = person_crop(p.center, p.scale)
        v = np.asarray(p.visible, bool)
        acc[v] += (np.asarray(p.joints)[v] - c) / (200.0 * s)
        cnt[v] += 1
    mean = acc / np.maximum(cnt, 1)[:, None]
    out = []
    for p in valid_people:
        c, s = person_crop(p.center, p.scale)
        out.append(c + 200.0 * s * mean)
    return np.asarray(out)


def read_predictions(path: str | Path, n: int | None = None) -> np.ndarray:
    """Read a predictions file: MPII ``pred.mat``, nlvision JSON or COCO-style keypoints JSON.

    Parameters
    ----------
    path : path-like
        ``.mat`` with ``pos_pred_src`` (16 × 2 × N, 1-based, the MPII evaluation layout); or a
        JSON file written by ``nlvision pose predict`` (``people`` with 16 ``joints`` in
        0-based pixels); or a COCO-style list of ``{"keypoints": [x, y, v] × 16}`` (0-based).
    n : int, optional
        Expected number of people (of the ground truth).

    Returns
    -------
    ndarray (N, 16, 2)
        0-based pixel coordinates, in the file's person order.

    Raises
    ------
    ValueError
        Unreadable file, no ``pos_pred_src`` in a ``.mat``, a joint count other than 16, or a
        person count other than ``n``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "p.json"
    >>> _ = p.write_text(json.dumps([{"keypoints": [1.0, 2.0, 1] * 16}]))
    >>> read_predictions(p)[0, 0].tolist()
    [1.0, 2.0]
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such predictions file")
    if p.suffix.lower() == ".mat":
        from nlvision.pose.data import _loadmat

        d = _loadmat(p)
        if "pos_pred_src" not in d:
            raise ValueError(f"{p}: no pos_pred_src (expected the MPII evaluation layout, 16 × 2 × N, 1-based)")
        pr = np.asarray(d["pos_pred_src"], dtype=np.float64)
        if pr.ndim != 3 or pr.shape[1] != 2:
            raise ValueError(f"{p}: pos_pred_src: expected shape (16, 2, N), got {pr.shape}")
        if pr.shape[0] != 16:
            raise ValueError(f"{p}: pos_pred_src: expected 16 joints, got {pr.shape[0]}")
        pred = np.transpose(pr, (2, 0, 1)) - 1.0
    else:
        try:
            data = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{p}: not a JSON or .mat predictions file ({exc})") from None
        people = data.get("people") if isinstance(data, dict) else data
        if not isinstance(people, list) or not people:
            raise ValueError(f"{p}: expected a non-empty list of people (nlvision 'people' or COCO keypoints)")
        rows = []
        for i, rec in enumerate(people):
            if not isinstance(rec, dict):
                raise ValueError(f"{p}: person {i}: expected an object")
            try:
                if "keypoints" in rec:
                    kp = np.asarray(rec["keypoints"], dtype=np.float64).reshape(-1)
                    if kp.size % 3:
                        raise ValueError(f"keypoints: expected x, y, v triples, got {kp.size} values")
                    kp = kp.reshape(-1, 3)[:, :2]
                elif "joints" in rec:
                    j = rec["joints"]
                    kp = np.asarray([[v["x"], v["y"]] for v in j.values()] if isinstance(j, dict) else j, dtype=np.float64)
                else:
                    raise ValueError("expected 'keypoints' or 'joints'")
            except (TypeError, KeyError, ValueError) as exc:
                raise ValueError(f"{p}: person {i}: {exc}") from None
            if kp.shape != (16, 2):
                raise ValueError(f"{p}: person {i}: expected 16 joints, got {kp.shape[0] if kp.ndim == 2 else kp.size}")
            rows.append(kp)
        pred = np.stack(rows)
    if not np.isfinite(pred).all():
        raise ValueError(f"{p}: non-finite prediction")
    if n is not None and len(pred) != n:
        raise ValueError(f"{p}: {len(pred)} people, but the ground truth has {n}")
    return pred


def score_predictions(predictions: str | Path, ground_truth: str | Path, *, thresholds: tuple[float, ...] = (0.5, 0.1)) -> dict[str, Any]:
    """PCKh table of a predictions file against a ``gt_valid.mat``-layout ground truth.

    Parameters
    ----------
    predictions : path-like
        See :func:`read_predictions` (same person order as the ground truth).
    ground_truth : path-like
        ``gt_valid.mat`` / ``detections_our_format.mat`` (``pos_gt_src``, ``jnt_missing``,
        ``headboxes_src``).
    thresholds : tuple of float
        PCKh thresholds.

    Returns
    -------
    dict
        ``n``, ``border_joints`` and ``results`` {threshold: PCKhResult}.

    Raises
    ------
    ValueError
        Unreadable files or mismatched person / joint counts.

    References
    ----------
    Andriluka et al., CVPR 2014; the MPII evaluation script (``evaluation/eval_PCKh.py`` of
    pytorch-pose).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from scipy.io import savemat
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> hb = np.zeros((2, 2, 1)); hb[1] = 10
    >>> savemat(d / "gt.mat", {"pos_gt_src": np.ones((16, 2, 1)), "jnt_missing": np.zeros((16, 1)), "headboxes_src": hb})
    >>> savemat(d / "pred.mat", {"pos_pred_src": np.ones((16, 2, 1))})
    >>> round(score_predictions(d / "pred.mat", d / "gt.mat")["results"][0.5].mean, 6)
    100.0
    """
    gt: GroundTruth = read_gt_valid_mat(ground_truth)
    pred = read_predictions(predictions, n=len(gt.joints))
    return {"n": len(gt.joints), "border_joints": gt.border_joints,
            "results": {t: pckh(pred, gt.joints, gt.visible, gt.headboxes, t) for t in thresholds}}
