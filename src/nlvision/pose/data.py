"""Pose data: MPII annotation readers, the standard person crop, Gaussian heatmaps, augmentation.

Annotation layouts read (all with MPII's 1-based pixel coordinates, converted to 0-based):

* the per-person JSON of the public simple-baseline code (Xiao et al., ECCV 2018,
  ``microsoft/human-pose-estimation.pytorch``, ``lib/dataset/mpii.py``): a list of records with
  ``image``, ``joints`` (16 × 2), ``joints_vis`` (16), ``center`` (2), ``scale``;
* the pytorch-pose JSON (W. Yang, ``bearpaw/pytorch-pose``, ``data/mpii/mpii_annotations.json``
  read by ``pose/datasets/mpii.py``): one list holding both splits, records with ``img_paths``,
  ``joint_self`` (16 × 3: x, y, visibility), ``objpos``, ``scale_provided``, ``isValidation``
  (``joints`` 16 × 3 is accepted as well);
* the ``gt_valid.mat`` evaluation layout: ``pos_gt_src`` (16 × 2 × N), ``jnt_missing``
  (16 × N), ``headboxes_src`` (2 × 2 × N), optional ``pos_pred_src``.

Joints on or just outside the image border (MPII annotates some at 1-based coordinate 0, i.e.
−1 once 0-based: 58 joints of 54 people in the 2,958-person validation split) are kept as
annotated joints — the standard evaluation counts every annotated joint — and counted in
:class:`AnnotationSet`. Malformed records are skipped with their reason, never fatal, unless
no record is usable.

**Standard MPII crop** (:func:`person_crop`), identical in training, evaluation and
prediction: centre moved down by ``15 · scale`` pixels, scale × 1.25, a square of side
``200 · scale`` pixels warped to ``input_size`` (256) — the convention of pytorch-pose
(``c[1] = c[1] + 15 * s; s = s * 1.25``) and of the simple-baseline code. Targets are
``input_size / 4`` Gaussian heatmaps (σ = 1 heatmap pixel), augmented by scaling
(×[0.75, 1.25]), rotation (±30°, 60 % of the time) and horizontal flipping with the left/right
joints swapped (seed, section 3.3). All coordinates in this package are 0-based pixel indices
(x = column, y = row), ``(0, 0)`` the centre of the top-left pixel.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from nlvision._paths import resolves_inside
from nlvision.datasets.synthetic_figures import MPII_FLIP_PAIRS, MPII_JOINTS

NUM_JOINTS = len(MPII_JOINTS)
#: Per-channel mean used to centre the network input.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
#: Standard MPII crop: centre shift (× scale, pixels) and scale padding.
CROP_SHIFT = 15.0
CROP_PAD = 1.25


class PersonAnnotation(NamedTuple):
    """One annotated person (0-based pixel coordinates).

    Attributes
    ----------
    image : str
        Image file name (relative to the image folder) or an identifier.
    joints : ndarray (16, 2)
    visible : ndarray (16,) bool
        Whether each joint is annotated.
    center : ndarray (2,)
        MPII person centre (``objpos``), before the standard crop's shift.
    scale : float
        Person height / 200 (MPII convention), before the standard crop's × 1.25.
    headbox : ndarray (2, 2) or None
        Head box ``[[x1, y1], [x2, y2]]`` when known (needed for PCKh).
    """

    image: str
    joints: np.ndarray
    visible: np.ndarray
    center: np.ndarray
    scale: float
    headbox: np.ndarray | None = None


class AnnotationSet(NamedTuple):
    """People read from an annotation file, with what was skipped and kept.

    Attributes
    ----------
    people : list of PersonAnnotation
    skipped : list of (int, str)
        Index and reason of every malformed record that was left out.
    border_joints : int
        Annotated joints on or outside the image border (0-based coordinate < 0, or beyond the
        image size when the record gives it); kept and counted by PCKh.
    indices : list of int
        Position of each kept person among the file's records of the split (skipped records
        included), to align with the split's ``gt_valid.mat``.
    """

    people: list
    skipped: list
    border_joints: int
    indices: list

    def summary(self) -> str:
        """One line: people kept, records skipped (first reason), border joints."""
        text = f"{len(self.people)} people, {self.border_joints} annotated joints on the image border (kept)"
        if self.skipped:
            i, why = self.skipped[0]
            text += f", {len(self.skipped)} malformed record(s) skipped (first: record {i}: {why})"
        return text


def flip_permutation() -> np.ndarray:
    """Joint index permutation of a horizontal flip (left ↔ right).

    Examples
    --------
    >>> flip_permutation()[:6].tolist()
    [5, 4, 3, 2, 1, 0]
    """
    perm = np.arange(NUM_JOINTS)
    for a, b in MPII_FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm


def flip_joints(joints: np.ndarray, visible: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Mirror joints of an image of ``width`` pixels and swap left/right joints.

    Examples
    --------
    >>> j = np.zeros((16, 2)); j[0] = [1, 5]
    >>> fj, _ = flip_joints(j, np.ones(16, bool), 10)
    >>> fj[5].tolist()
    [8.0, 5.0]
    """
    perm = flip_permutation()
    out = np.asarray(joints, dtype=np.float64).copy()
    out[:, 0] = width - 1 - out[:, 0]
    return out[perm], np.asarray(visible)[perm]


def _border_count(joints: np.ndarray, visible: np.ndarray, size: tuple[float, float] | None = None) -> int:
    j = np.asarray(joints)[np.asarray(visible, bool)]
    out = (j < 0).any(axis=-1)
    if size is not None:
        out |= (j[:, 0] > size[0] - 1) | (j[:, 1] > size[1] - 1)
    return int(out.sum())


def _parse_record(rec: Any, shift: float) -> tuple[PersonAnnotation, int, None]:
    """One JSON record (either layout) → (person, border joints, None)."""
    if not isinstance(rec, dict):
        raise ValueError(f"expected an object, got {type(rec).__name__}")
    pytorch_pose = "joint_self" in rec or "img_paths" in rec or "objpos" in rec
    if pytorch_pose:
        keys = ("img_paths", "joint_self" if "joint_self" in rec else "joints", "objpos", "scale_provided")
        required = keys
    else:
        keys = ("image", "joints", "center", "scale")
        required = ("image", "joints", "joints_vis", "center", "scale")
    missing = [k for k in required if k not in rec]
    if missing:
        raise ValueError(f"missing field(s) {missing}")
    image = rec[keys[0]]
    try:
        raw = np.asarray(rec[keys[1]], dtype=np.float64)
        center = np.asarray(rec[keys[2]], dtype=np.float64)
        scale = float(rec[keys[3]])
        headbox = np.asarray(rec["headbox"], dtype=np.float64) - shift if rec.get("headbox") is not None else None
        if pytorch_pose:
            if raw.shape != (NUM_JOINTS, 3):
                raise ValueError(f"{keys[1]}: expected shape (16, 3) (x, y, visibility), got {raw.shape}")
            joints, vis = raw[:, :2], raw[:, 2]
            size = (float(rec["img_width"]), float(rec["img_height"])) if "img_width" in rec and "img_height" in rec else None
        else:
            if raw.ndim == 2 and raw.shape[1] == 3:
                raw = raw[:, :2]
            if raw.shape != (NUM_JOINTS, 2):
                raise ValueError(f"joints: expected shape (16, 2), got {raw.shape}")
            joints = raw
            vis = np.asarray(rec["joints_vis"], dtype=np.float64)
            size = None
    except (TypeError, ValueError) as exc:
        if "expected shape" in str(exc):
            raise
        raise ValueError(f"non-numeric value ({exc})") from None
    if vis.shape != (NUM_JOINTS,):
        raise ValueError(f"joints_vis: expected 16 values, got shape {vis.shape}")
    if center.shape != (2,):
        raise ValueError(f"center: expected 2 values, got shape {center.shape}")
    if headbox is not None and headbox.shape != (2, 2):
        raise ValueError(f"headbox: expected shape (2, 2), got {headbox.shape}")
    if not (np.isfinite(joints).all() and np.isfinite(center).all() and np.isfinite(scale)) or scale <= 0:
        raise ValueError(f"expected finite joints/center and a positive scale, got scale={scale}")
    if not isinstance(image, str) or not image:
        raise ValueError(f"image: expected a file name, got {image!r}")
    visible = vis > 0
    if pytorch_pose:
        # pytorch-pose marks unannotated joints with visibility 0 *and* coordinates (0, 0);
        # annotated-but-occluded joints keep visibility 0 with real coordinates: both are
        # "not visible" there; an annotated joint is one with non-zero coordinates.
        visible = visible | (np.abs(joints).sum(axis=1) > 0)
    person = PersonAnnotation(image, joints - shift, visible, center - shift, scale, headbox)
    return person, _border_count(person.joints, visible, size), None


def read_mpii_json(path: str | os.PathLike, *, split: str | None = None, one_based: bool = True) -> AnnotationSet:
    """Read MPII person annotations in the simple-baseline or the pytorch-pose JSON layout.

    Parameters
    ----------
    path : path-like
        JSON file: a list of records (or ``{"annotations": [...]}`` / ``{"root": [...]}``).
        Simple-baseline layout: ``image``, ``joints`` (16 × 2), ``joints_vis`` (16),
        ``center``, ``scale``, optional ``headbox`` (2 × 2). pytorch-pose layout:
        ``img_paths``, ``joint_self`` (16 × 3 with visibility; ``joints`` accepted),
        ``objpos``, ``scale_provided``, ``isValidation``, optional ``img_width``/``img_height``.
    split : {"train", "valid"}, optional
        Keep only the records of this split when they carry ``isValidation`` (pytorch-pose).
    one_based : bool
        The coordinates are MPII's 1-based ones (default) and are converted to 0-based.

    Returns
    -------
    AnnotationSet
        The people, the skipped malformed records with reasons, the border-joint count.

    Raises
    ------
    ValueError
        If the file is missing or not JSON, is not a list of records, or holds no usable record.

    References
    ----------
    Andriluka et al., CVPR 2014 (MPII Human Pose); layouts of bearpaw/pytorch-pose
    (``data/mpii/mpii_annotations.json``) and microsoft/human-pose-estimation.pytorch
    (``lib/dataset/mpii.py``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> good = {"image": "x.jpg", "joints": [[0, 3]] * 16, "joints_vis": [1] * 16, "center": [5, 5], "scale": 1.0}
    >>> _ = p.write_text(json.dumps([good, {"image": "y.jpg"}]))
    >>> s = read_mpii_json(p)
    >>> s.people[0].joints[0].tolist(), s.border_joints, len(s.skipped)
    ([-1.0, 2.0], 16, 1)
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such annotation file")
    if split not in (None, "train", "valid"):
        raise ValueError(f"split: expected 'train' or 'valid', got {split!r}")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not a JSON file ({exc})") from None
    if isinstance(data, dict):
        data = data.get("annotations", data.get("root"))
    if not isinstance(data, list):
        raise ValueError(f"{p}: expected a list of person records, got {type(data).__name__}")
    shift = 1.0 if one_based else 0.0
    people, skipped, border, indices = [], [], 0, []
    position = 0
    for i, rec in enumerate(data):
        if split is not None and isinstance(rec, dict) and "isValidation" in rec:
            try:
                if bool(float(rec["isValidation"])) != (split == "valid"):
                    continue
            except (TypeError, ValueError):
                pass  # reported below as a malformed record
        try:
            person, nb, _ = _parse_record(rec, shift)
        except ValueError as exc:
            skipped.append((i, str(exc)))
            position += 1
            continue
        people.append(person)
        indices.append(position)
        position += 1
        border += nb
    if not people:
        why = f" ({len(skipped)} malformed: record {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise ValueError(f"{p}: no usable person records{' of split ' + split if split else ''}{why}")
    return AnnotationSet(people, skipped, border, indices)


class GroundTruth(NamedTuple):
    """Evaluation ground truth in the ``gt_valid.mat`` layout (0-based).

    Attributes
    ----------
    joints : ndarray (N, 16, 2)
    visible : ndarray (N, 16) bool
    headboxes : ndarray (N, 2, 2)
    predictions : ndarray (N, 16, 2) or None
        ``pos_pred_src`` when the file carries predictions.
    border_joints : int
        Annotated joints at a 0-based coordinate < 0 (kept and counted).
    """

    joints: np.ndarray
    visible: np.ndarray
    headboxes: np.ndarray
    predictions: np.ndarray | None
    border_joints: int = 0


def _loadmat(p: Path) -> dict:
    from scipy.io import loadmat

    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    try:
        return loadmat(str(p))
    except Exception as exc:
        raise ValueError(f"{p}: not a MATLAB file ({type(exc).__name__}: {exc})") from None


def read_gt_valid_mat(path: str | os.PathLike, *, one_based: bool = True) -> GroundTruth:
    """Read a ``gt_valid.mat`` / ``detections_our_format.mat`` file.

    Parameters
    ----------
    path : path-like
        MATLAB file with ``pos_gt_src`` (16 × 2 × N), ``jnt_missing`` (16 × N),
        ``headboxes_src`` (2 × 2 × N) and optionally ``pos_pred_src`` (16 × 2 × N).
    one_based : bool
        Convert MATLAB's 1-based coordinates to 0-based (PCKh is unaffected: both
        ground truth and predictions are shifted).

    Returns
    -------
    GroundTruth
        Joints, annotation flags, head boxes (0-based), predictions if present, border count.

    Raises
    ------
    ValueError
        If the file cannot be read, a key is missing, or the shapes disagree.

    References
    ----------
    The MPII evaluation data redistributed with pytorch-pose (``evaluation/data/``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from scipy.io import savemat
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "gt.mat"
    >>> savemat(p, {"pos_gt_src": np.ones((16, 2, 1)), "jnt_missing": np.zeros((16, 1)),
    ...             "headboxes_src": np.ones((2, 2, 1))})
    >>> g = read_gt_valid_mat(p)
    >>> g.joints.shape, g.border_joints
    ((1, 16, 2), 0)
    """
    p = Path(path)
    d = _loadmat(p)
    missing = [k for k in ("pos_gt_src", "jnt_missing", "headboxes_src") if k not in d]
    if missing:
        raise ValueError(f"{p}: missing key(s) {missing}; expected the gt_valid.mat layout")
    gt = np.asarray(d["pos_gt_src"], dtype=np.float64)
    miss = np.asarray(d["jnt_missing"])
    hb = np.asarray(d["headboxes_src"], dtype=np.float64)
    if gt.ndim != 3 or gt.shape[:2] != (NUM_JOINTS, 2):
        raise ValueError(f"{p}: pos_gt_src: expected shape (16, 2, N), got {gt.shape}")
    n = gt.shape[2]
    if miss.shape != (NUM_JOINTS, n) or hb.shape != (2, 2, n):
        raise ValueError(f"{p}: jnt_missing/headboxes_src: expected (16, {n}) and (2, 2, {n}), got {miss.shape} and {hb.shape}")
    shift = 1.0 if one_based else 0.0
    pred = None
    if "pos_pred_src" in d:
        pr = np.asarray(d["pos_pred_src"], dtype=np.float64)
        if pr.shape != gt.shape:
            raise ValueError(f"{p}: pos_pred_src: expected shape {gt.shape}, got {pr.shape}")
        pred = np.transpose(pr, (2, 0, 1)) - shift
    joints = np.transpose(gt, (2, 0, 1)) - shift
    visible = np.transpose(miss == 0)
    border = _border_count(joints.reshape(-1, 2), visible.reshape(-1)) if one_based else 0
    return GroundTruth(joints, visible, np.transpose(hb, (2, 0, 1)) - shift, pred, border)


def person_crop(center: Sequence[float], scale: float) -> tuple[np.ndarray, float]:
    """The standard MPII crop box of a person: ``(center + (0, 15·scale), 1.25·scale)``.

    Parameters
    ----------
    center : (x, y)
        MPII person centre (``objpos``), 0-based pixels.
    scale : float
        MPII scale (person height / 200).

    Returns
    -------
    center : ndarray (2,)
        Crop centre (moved down by ``15 · scale`` pixels).
    scale : float
        Crop scale: the crop covers ``200 · scale`` pixels.

    Raises
    ------
    ValueError
        If ``scale`` is not a positive number or ``center`` is not two finite numbers.

    References
    ----------
    bearpaw/pytorch-pose ``pose/datasets/mpii.py`` and microsoft/human-pose-estimation.pytorch
    ``lib/dataset/mpii.py`` ("Adjust center/scale slightly to avoid cropping limbs").

    Examples
    --------
    >>> c, s = person_crop([100.0, 50.0], 2.0)
    >>> c.tolist(), s
    ([100.0, 80.0], 2.5)
    """
    c = np.asarray(center, dtype=np.float64).copy()
    if c.shape != (2,) or not np.isfinite(c).all():
        raise ValueError(f"center: expected two finite numbers (x, y), got {center!r}")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    c[1] += CROP_SHIFT * scale
    return c, float(scale) * CROP_PAD


def crop_transform(center: Sequence[float], scale: float, out_size: int, rotation: float = 0.0) -> np.ndarray:
    """3 × 3 matrix mapping crop pixel indices to source image pixel indices.

    The crop of side ``out_size`` covers the square of side ``200 · scale`` around ``center``,
    rotated by ``rotation`` degrees (counter-clockwise in the image).

    Examples
    --------
    >>> m = crop_transform([50, 50], 0.5, 100)
    >>> (m @ [49.5, 49.5, 1]).round(3).tolist()
    [50.0, 50.0, 1.0]
    """
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    if out_size < 1:
        raise ValueError(f"out_size: expected ≥ 1, got {out_size!r}")
    s = 200.0 * scale / out_size
    r = np.deg2rad(rotation)
    c, sn = np.cos(r), np.sin(r)
    half = (out_size - 1) / 2.0
    a = s * np.array([[c, sn], [-sn, c]])
    m = np.eye(3)
    m[:2, :2] = a
    m[:2, 2] = np.asarray(center, dtype=np.float64) - a @ [half, half]
    return m


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 3 × 3 affine matrix to (..., 2) points.

    Examples
    --------
    >>> transform_points(np.eye(3), np.array([[1.0, 2.0]])).tolist()
    [[1.0, 2.0]]
    """
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrix[:2, :2].T + matrix[:2, 2]


def crop_image(image: np.ndarray, matrix: np.ndarray, out_size: int) -> np.ndarray:
    """Warp ``image`` (H, W, C) into an ``out_size`` crop with ``matrix`` (crop → source), bilinear, zero padding.

    OpenCV's ``warpAffine`` (inverse map; sub-pixel positions quantised to 1/32 pixel): about
    ten times faster than ``scipy.ndimage.affine_transform`` per crop, which matters because
    crops are made on the fly in the training loop.
    """
    import cv2

    if image.ndim != 3:
        raise ValueError(f"image: expected (H, W, C), got shape {image.shape}")
    src = np.ascontiguousarray(image, dtype=np.float32)
    out = np.empty((out_size, out_size, image.shape[2]), dtype=np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    # OpenCV handles at most 4 channels per call; warp in groups of ≤ 4.
    for lo in range(0, image.shape[2], 4):
        part = cv2.warpAffine(
            src[..., lo : lo + 4], np.asarray(matrix, dtype=np.float64)[:2], (out_size, out_size),
            flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
        )
        out[..., lo : lo + 4] = part.reshape(out_size, out_size, -1)
    return out


def gaussian_heatmaps(joints: np.ndarray, visible: np.ndarray, size: int, sigma: float = 1.0) -> np.ndarray:
    """Gaussian target heatmaps (K, size, size), peak 1 at each visible joint inside the map.

    Parameters
    ----------
    joints : ndarray (K, 2)
        Joint positions in heatmap pixel indices.
    visible : ndarray (K,)
        Joints without annotation (or outside the map) get an all-zero heatmap.
    size : int
        Heatmap side.
    sigma : float
        Standard deviation in heatmap pixels (1 as in Newell et al.).

    Examples
    --------
    >>> h = gaussian_heatmaps(np.array([[2.0, 1.0]]), np.array([True]), 4)
    >>> float(h[0, 1, 2]), round(float(h[0, 1, 3]), 4)
    (1.0, 0.6065)
    """
    j = np.asarray(joints, dtype=np.float64)
    v = np.asarray(visible, dtype=bool)
    if j.ndim != 2 or j.shape[1] != 2 or v.shape != (j.shape[0],):
        raise ValueError(f"joints/visible: expected (K, 2) and (K,), got {j.shape} and {v.shape}")
    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, got {sigma}")
    inside = v & (j[:, 0] >= -0.5) & (j[:, 0] <= size - 0.5) & (j[:, 1] >= -0.5) & (j[:, 1] <= size - 0.5)
    g = np.arange(size, dtype=np.float64)
    gx = np.exp(-((g[None, :] - j[:, :1]) ** 2) / (2 * sigma**2))  # (K, size)
    gy = np.exp(-((g[None, :] - j[:, 1:]) ** 2) / (2 * sigma**2))
    hm = gy[:, :, None] * gx[:, None, :]
    hm[~inside] = 0.0
    return hm.astype(np.float32)


@dataclass
class AugmentConfig:
    """Training augmentation (Newell et al., used by the seed's section 3.3).

    Attributes
    ----------
    scale_factor : float
        Scale multiplied by ``clip(1 + N(0, sf), 1 - sf, 1 + sf)`` (0.25 → ×[0.75, 1.25]).
    rotation : float
        Rotation ``clip(N(0, r), -2r, 2r)`` degrees (30), applied with probability ``rotation_prob``.
    rotation_prob : float
        Probability of rotating (0.6).
    flip : bool
        Horizontal flip with probability 0.5, left/right joints swapped.
    color_jitter : float
        Per-channel gain in ``[1 - c, 1 + c]`` (0.2).
    """

    scale_factor: float = 0.25
    rotation: float = 30.0
    rotation_prob: float = 0.6
    flip: bool = True
    color_jitter: float = 0.2


class PoseSample(NamedTuple):
    """A training / evaluation item (numpy arrays; the collate function makes tensors)."""

    image: np.ndarray  # (3, S, S) float32, mean-subtracted
    target: np.ndarray  # (K, S/4, S/4) float32
    joints: np.ndarray  # (K, 2) ground truth in original image coordinates
    visible: np.ndarray  # (K,) bool
    headbox: np.ndarray  # (2, 2), NaN when unknown
    matrix: np.ndarray  # (3, 3) crop → source (before flip)
    figure: np.ndarray  # (S/4, S/4) share of figure pixels per heatmap cell, NaN when unknown


class PoseDataset:
    """Person crops with heatmap targets, from any list of annotations and an image loader.

    Every person is cut out with the standard MPII crop (:func:`person_crop`).

    Parameters
    ----------
    annotations : sequence of PersonAnnotation
        People to serve.
    load : callable
        ``load(annotation, index) -> ndarray (H, W, 3)`` float in [0, 1].
    input_size : int
        Crop side (256); heatmaps are ``input_size // 4``.
    train : bool
        Apply augmentation (random, seeded by ``seed``, epoch and index).
    augment : AugmentConfig, optional
    seed : int
        Seed of the augmentation.
    sigma : float
        Heatmap Gaussian σ.
    load_figure : callable, optional
        ``load_figure(annotation, index) -> ndarray (H, W)`` person silhouette in [0, 1]
        (synthetic data), cropped like the image to heatmap resolution for the mask statistics.
    """

    def __init__(
        self,
        annotations: Sequence[PersonAnnotation],
        load: Callable[[PersonAnnotation, int], np.ndarray],
        *,
        input_size: int = 256,
        train: bool = False,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        sigma: float = 1.0,
        load_figure: Callable[[PersonAnnotation, int], np.ndarray] | None = None,
    ):
        if len(annotations) == 0:
            raise ValueError("annotations: expected at least one person, got an empty list")
        if input_size % 4 or input_size < 16:
            raise ValueError(f"input_size: expected a multiple of 4 ≥ 16, got {input_size}")
        self.annotations = list(annotations)
        self.load = load
        self.load_figure = load_figure
        self.input_size = input_size
        self.train = train
        self.augment = augment or AugmentConfig()
        self.seed = seed
        self.sigma = sigma
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.annotations)

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation stream (called by the trainer every epoch)."""
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> PoseSample:
        ann = self.annotations[index]
        image = self.load(ann, index)
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f"{ann.image}: expected an RGB image, got shape {image.shape}")
        image = image[..., :3]
        vis = np.asarray(ann.visible, dtype=bool)
        center, scale = person_crop(ann.center, ann.scale)
        rot, flip, gain = 0.0, False, np.ones(3, dtype=np.float32)
        if self.train:
            a = self.augment
            rng = np.random.default_rng([self.seed, self.epoch, index])
            scale *= float(np.clip(1 + rng.normal() * a.scale_factor, 1 - a.scale_factor, 1 + a.scale_factor))
            if rng.random() < a.rotation_prob:
                rot = float(np.clip(rng.normal() * a.rotation, -2 * a.rotation, 2 * a.rotation))
            flip = a.flip and rng.random() < 0.5
            gain = rng.uniform(1 - a.color_jitter, 1 + a.color_jitter, size=3).astype(np.float32)
        s = self.input_size
        hm_size = s // 4
        m = crop_transform(center, scale, s, rot)
        crop = crop_image(image, m, s)
        crop = np.clip(crop * gain, 0, 1)
        cj = transform_points(np.linalg.inv(m), ann.joints)
        cvis = vis.copy()
        figure = np.full((hm_size, hm_size), np.nan, dtype=np.float32)
        if self.load_figure is not None:
            sil = crop_image(np.asarray(self.load_figure(ann, index), dtype=np.float32)[..., None], m, s)[..., 0]
            figure = sil.reshape(hm_size, 4, hm_size, 4).mean(axis=(1, 3))
        if flip:
            crop = crop[:, ::-1]
            figure = figure[:, ::-1]
            cj, cvis = flip_joints(cj, cvis, s)
        hj = (cj + 0.5) * (hm_size / s) - 0.5
        target = gaussian_heatmaps(hj, cvis, hm_size, self.sigma)
        headbox = ann.headbox if ann.headbox is not None else np.full((2, 2), np.nan)
        img = np.ascontiguousarray((crop - IMAGENET_MEAN).transpose(2, 0, 1))
        return PoseSample(img, target, ann.joints.astype(np.float64), vis, np.asarray(headbox, dtype=np.float64), m,
                          np.ascontiguousarray(figure))


def collate(batch: list[PoseSample]) -> dict[str, Any]:
    """Stack :class:`PoseSample` items into tensors (for ``DataLoader(collate_fn=collate)``)."""
    import torch

    return {
        "image": torch.from_numpy(np.stack([b.image for b in batch])),
        "target": torch.from_numpy(np.stack([b.target for b in batch])),
        "joints": torch.from_numpy(np.stack([b.joints for b in batch])),
        "visible": torch.from_numpy(np.stack([b.visible for b in batch])),
        "headbox": torch.from_numpy(np.stack([b.headbox for b in batch])),
        "matrix": torch.from_numpy(np.stack([b.matrix for b in batch])),
        "figure": torch.from_numpy(np.stack([b.figure for b in batch])),
    }


class _SyntheticSource:
    """Annotations + in-memory images and silhouettes of a synthetic figure set (generated once)."""

    def __init__(self, n: int, seed: int, image_size: int):
        from nlvision.datasets.synthetic_figures import SyntheticFigureConfig, SyntheticFigures

        ds = SyntheticFigures(n, seed=seed, config=SyntheticFigureConfig(image_size=image_size))
        samples = [ds[i] for i in range(n)]
        self.images = [s.image for s in samples]
        self.figures = [s.figure for s in samples]
        self.annotations = [
            PersonAnnotation(f"synthetic-{seed}-{i}", s.joints, s.visible, s.center, s.scale, s.headbox)
            for i, s in enumerate(samples)
        ]

    def load(self, ann: PersonAnnotation, index: int) -> np.ndarray:
        return self.images[index]

    def load_figure(self, ann: PersonAnnotation, index: int) -> np.ndarray:
        return self.figures[index]


def resolve_image(folder: str | os.PathLike, name: str) -> Path:
    """The path of image ``name`` inside ``folder``, refusing names that resolve outside it.

    Parameters
    ----------
    folder : path-like
        The data set's image folder (the data root).
    name : str
        Relative image name from an annotation record.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If ``name`` is absolute or resolves outside ``folder`` (``..``, symbolic links).

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> resolve_image(root, "a/b.jpg").name
    'b.jpg'
    >>> resolve_image(root, "../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: image '../etc/passwd': resolves outside the image folder
    """
    root = Path(folder).resolve()
    if not isinstance(name, str) or not name or os.path.isabs(name):
        raise ValueError(f"image {name!r}: expected a relative file name inside the image folder")
    path = (root / name).resolve()
    if not resolves_inside(path, root):
        raise ValueError(f"image {name!r}: resolves outside the image folder")
    return path


class _FolderLoader:
    """Load MPII images from a folder (decoding errors become ValueError naming the file)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def __call__(self, ann: PersonAnnotation, index: int) -> np.ndarray:
        from nlvision.imageio import load_image

        img = load_image(resolve_image(self.folder, ann.image))
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        return img


def parse_data_spec(spec: str) -> tuple[str, Path | None]:
    """Split ``synthetic`` / ``mpii:PATH`` into (kind, path).

    Raises
    ------
    ValueError
        For any other value, listing the valid forms.

    Examples
    --------
    >>> parse_data_spec("synthetic")
    ('synthetic', None)
    """
    if spec == "synthetic":
        return "synthetic", None
    if spec.startswith("mpii:") and len(spec) > 5:
        return "mpii", Path(spec[5:])
    raise ValueError(f"--data: expected 'synthetic' or 'mpii:PATH', got {spec!r}")


def _mpii_files(root: Path, split: str) -> tuple[Path, Path]:
    """Annotation file and image folder of an MPII folder.

    ``annot/{split}.json`` or ``{split}.json`` (simple-baseline layout, one file per split), else
    ``annot/mpii_annotations.json`` / ``mpii_annotations.json`` (pytorch-pose, both splits);
    images in ``images/``.
    """
    if not root.is_dir():
        raise ValueError(f"mpii:{root}: no such folder")
    cands = (root / "annot" / f"{split}.json", root / f"{split}.json", root / "annot" / "mpii_annotations.json", root / "mpii_annotations.json")
    for cand in cands:
        if cand.is_file():
            ann = cand
            break
    else:
        raise ValueError(f"mpii:{root}: expected annot/{split}.json or annot/mpii_annotations.json in the folder")
    images = root / "images"
    if not images.is_dir():
        raise ValueError(f"mpii:{root}: expected an images/ folder")
    return ann, images


def load_mpii(root: str | os.PathLike, split: str) -> tuple[AnnotationSet, Path]:
    """Annotations of one split of an MPII folder, with head boxes, and its image folder.

    Parameters
    ----------
    root : path-like
        Folder with ``annot/{train,valid}.json`` (or ``annot/mpii_annotations.json``) and
        ``images/``; head boxes from the records' ``headbox`` or ``annot/gt_{split}.mat``.
    split : {"train", "valid"}
        Which part.

    Returns
    -------
    (AnnotationSet, Path)

    Raises
    ------
    ValueError
        Missing files, no usable record, an image path outside ``images/``, or a
        ``gt_{split}.mat`` that does not list the same people.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "images").mkdir(); (root / "annot").mkdir()
    >>> rec = {"image": "a.jpg", "joints": [[1, 1]] * 16, "joints_vis": [1] * 16, "center": [5, 5], "scale": 1}
    >>> _ = (root / "annot" / "valid.json").write_text(json.dumps([rec]))
    >>> anns, images = load_mpii(root, "valid")
    >>> len(anns.people), images.name
    (1, 'images')
    """
    if split not in ("train", "valid"):
        raise ValueError(f"split: expected 'train' or 'valid', got {split!r}")
    ann_file, images = _mpii_files(Path(root), split)
    anns = read_mpii_json(ann_file, split=split)
    for i, a in enumerate(anns.people):
        try:
            resolve_image(images, a.image)
        except ValueError as exc:
            raise ValueError(f"{ann_file}: person {i}: {exc}") from None
    mat = ann_file.parent / f"gt_{split}.mat"
    if any(a.headbox is None for a in anns.people) and mat.is_file():
        # The per-person JSON has no head boxes; the evaluation .mat lists the split's people in order.
        gt = read_gt_valid_mat(mat)
        total = len(anns.people) + len(anns.skipped)
        if len(gt.headboxes) != total:
            raise ValueError(f"{mat}: {len(gt.headboxes)} people, but {ann_file} has {total} records; cannot attach head boxes")
        anns = anns._replace(people=[a._replace(headbox=gt.headboxes[j]) for a, j in zip(anns.people, anns.indices)])
    return anns, images


def make_dataset(
    spec: str,
    split: str,
    *,
    input_size: int = 256,
    train: bool = False,
    n: int | None = None,
    seed: int = 0,
    augment: AugmentConfig | None = None,
) -> PoseDataset:
    """Build the pose data set named by ``spec`` (``synthetic`` or ``mpii:PATH``).

    Parameters
    ----------
    spec : str
        ``synthetic`` (deterministic synthetic figures, scenes of ``input_size`` pixels) or
        ``mpii:PATH`` (see :func:`load_mpii`).
    split : {"train", "valid"}
        Which part.
    input_size : int
        Crop side.
    train : bool
        Augment.
    n : int, optional
        Number of synthetic samples (train 2000 / valid 300 by default) or a cap on MPII people.
    seed : int
        Synthetic data seed (the validation split uses ``seed + 1000``) and augmentation seed.
    augment : AugmentConfig, optional
        Augmentation settings.

    Returns
    -------
    PoseDataset
        With ``report`` (the :class:`AnnotationSet` summary line, or None for synthetic data).

    Raises
    ------
    ValueError
        Unknown spec or split, missing files, no usable annotation.

    Examples
    --------
    >>> ds = make_dataset("synthetic", "valid", input_size=64, n=2)
    >>> len(ds), ds[0].image.shape, ds[0].target.shape
    (2, (3, 64, 64), (16, 16, 16))
    """
    if split not in ("train", "valid"):
        raise ValueError(f"split: expected 'train' or 'valid', got {split!r}")
    kind, path = parse_data_spec(spec)
    if kind == "synthetic":
        count = n if n is not None else (2000 if split == "train" else 300)
        src = _SyntheticSource(count, seed + (1000 if split == "valid" else 0), input_size)
        ds = PoseDataset(src.annotations, src.load, input_size=input_size, train=train, augment=augment, seed=seed,
                         load_figure=src.load_figure)
        ds.report = None
        return ds
    anns, images = load_mpii(path, split)
    people = anns.people if n is None else anns.people[:n]
    ds = PoseDataset(people, _FolderLoader(images), input_size=input_size, train=train, augment=augment, seed=seed)
    ds.report = anns.summary()
    return ds
