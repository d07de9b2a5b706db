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

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from nlvision.pose.data import flip_permutation, transform_points

__all__ = [
    "SC_BIAS",
    "TABLE_PARTS",
    "PCKhResult",
    "pckh",
    "decode_heatmaps",
    "heatmap_to_crop",
    "predict_heatmaps",
    "predict_batch",
    "evaluate_model",
    "predict_image",
]

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
    """Final-stage heatmaps ``P(S)`` of a batch, optionally averaged with the flipped image's.

    Parameters
    ----------
    model : StackedHourglass
    images : Tensor (B, 3, S, S)
    flip : bool
        Flip test: also run the mirrored images, mirror their heatmaps back and swap left/right.

    Returns
    -------
    Tensor (B, K, h, w)
    """
    import torch

    with torch.no_grad():
        out = model(images).predictions[:, -1]
        if flip:
            perm = torch.as_tensor(flip_permutation(), device=out.device)
            out_f = model(images.flip(-1)).predictions[:, -1].flip(-1)[:, perm]
            out = 0.5 * (out + out_f)
    return out


def predict_batch(model, images, matrices, *, flip: bool = False, refine: bool = True) -> tuple[np.ndarray, np.ndarray, Any]:
    """Joints in source image coordinates for a batch of crops.

    Returns
    -------
    joints : ndarray (B, 16, 2)
    scores : ndarray (B, 16)
    heatmaps : Tensor (B, K, h, w)
    """
    hm = predict_heatmaps(model, images, flip=flip)
    coords, maxvals = decode_heatmaps(hm, refine=refine)
    crop = heatmap_to_crop(coords, hm.shape[-1], images.shape[-1])
    mats = np.asarray(matrices.cpu().numpy() if hasattr(matrices, "cpu") else matrices, dtype=np.float64)
    src = np.einsum("bij,bkj->bki", mats[:, :2, :2], crop) + mats[:, None, :2, 2]
    return src, maxvals, hm


def evaluate_model(
    model,
    loader: Iterable[dict],
    *,
    flip: bool = False,
    refine: bool = True,
    thresholds: tuple[float, ...] = (0.5, 0.1),
) -> dict[str, Any]:
    """Predict every person of ``loader`` and compute PCKh at each threshold.

    Parameters
    ----------
    model : StackedHourglass
        Put in eval mode here.
    loader : iterable of batches from :func:`nlvision.pose.data.collate`
        Must carry head boxes.

    Returns
    -------
    dict
        ``predictions`` (N, 16, 2), ``results`` {threshold: PCKhResult}.
    """
    model.eval()
    device = next(model.parameters()).device
    preds, gts, vis, hbs = [], [], [], []
    for batch in loader:
        p, _, _ = predict_batch(model, batch["image"].to(device), batch["matrix"], flip=flip, refine=refine)
        preds.append(p)
        gts.append(batch["joints"].numpy())
        vis.append(batch["visible"].numpy())
        hbs.append(batch["headbox"].numpy())
    if not preds:
        raise ValueError("loader: no samples to evaluate")
    pred, gt, v, hb = (np.concatenate(a) for a in (preds, gts, vis, hbs))
    return {"predictions": pred, "results": {t: pckh(pred, gt, v, hb, t) for t in thresholds}}


def predict_image(model, image: np.ndarray, *, center=None, scale: float | None = None, flip: bool = False, refine: bool = True) -> dict[str, Any]:
    """Joints of the person in ``image`` (single-person, like MPII evaluation crops).

    Parameters
    ----------
    model : StackedHourglass
    image : ndarray (H, W) or (H, W, 3) in [0, 1]
    center : (x, y), optional
        Person centre; the image centre by default.
    scale : float, optional
        Person height / 200 (MPII convention); by default the crop covers the whole image.
    flip, refine : bool
        Flip test; quarter-pixel refinement.

    Returns
    -------
    dict
        ``joints`` (16, 2) in image pixels, ``scores`` (16,), ``heatmaps`` (16, h, w),
        ``masks`` (S-1, h, w), ``crop`` (S, S, 3).

    Raises
    ------
    ValueError
        If the image is not 2-D / RGB or the centre / scale are invalid.
    """
    import torch

    from nlvision.pose.data import IMAGENET_MEAN, crop_image, crop_transform

    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"image: expected (H, W) or (H, W, 3), got shape {img.shape}")
    img = img[..., :3]
    h, w = img.shape[:2]
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0]) if center is None else np.asarray(center, dtype=np.float64)
    if c.shape != (2,) or not np.isfinite(c).all():
        raise ValueError(f"center: expected two finite numbers (x, y), got {center!r}")
    sc = max(h, w) / 200.0 if scale is None else float(scale)
    if not np.isfinite(sc) or sc <= 0:
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    size = model.config.input_size
    m = crop_transform(c, sc, size)
    crop = crop_image(img, m, size)
    x = torch.from_numpy(np.ascontiguousarray((crop - IMAGENET_MEAN).transpose(2, 0, 1)))[None]
    param = next(model.parameters())
    x = x.to(device=param.device, dtype=param.dtype)
    model.eval()
    joints, scores, hm = predict_batch(model, x, m[None], flip=flip, refine=refine)
    with torch.no_grad():
        masks = model(x).masks[0, 1:, 0].float().cpu().numpy()
    return {"joints": joints[0], "scores": scores[0], "heatmaps": hm[0].float().cpu().numpy(), "masks": masks, "crop": crop}
