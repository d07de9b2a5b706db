"""Pose data: MPII annotation readers, person crops, Gaussian heatmaps, augmentation.

Two MPII annotation layouts are read:

* the per-person JSON used by public hourglass / simple-baseline code: a list of records with
  ``image``, ``joints`` (16 × 2), ``joints_vis`` (16), ``center`` (2) and ``scale``
  (person height / 200); MPII's 1-based pixel coordinates are converted to 0-based;
* the ``gt_valid.mat`` evaluation layout: ``pos_gt_src`` (16 × 2 × N), ``jnt_missing``
  (16 × N), ``headboxes_src`` (2 × 2 × N), also 1-based.

Training samples are person crops (Newell et al.): the square of side ``200 · scale`` around
the centre is warped to ``input_size`` (256), targets are ``input_size / 4`` (64) Gaussian
heatmaps (σ = 1 heatmap pixel), augmented by scaling (×[0.75, 1.25]), rotation (±30°, 60 % of
the time) and horizontal flipping with the left/right joints swapped (seed, section 3.3).
All coordinates in this package are 0-based pixel indices (x = column, y = row).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from nlvision.datasets.synthetic_figures import MPII_FLIP_PAIRS, MPII_JOINTS

__all__ = [
    "PersonAnnotation",
    "AugmentConfig",
    "read_mpii_json",
    "read_gt_valid_mat",
    "crop_transform",
    "crop_image",
    "transform_points",
    "gaussian_heatmaps",
    "flip_joints",
    "flip_permutation",
    "PoseDataset",
    "make_dataset",
    "parse_data_spec",
    "IMAGENET_MEAN",
]

NUM_JOINTS = len(MPII_JOINTS)
#: Per-channel mean used to centre the network input.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)


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
    scale : float
        Person height / 200 (MPII convention).
    headbox : ndarray (2, 2) or None
        Head box ``[[x1, y1], [x2, y2]]`` when known (needed for PCKh).
    """

    image: str
    joints: np.ndarray
    visible: np.ndarray
    center: np.ndarray
    scale: float
    headbox: np.ndarray | None = None


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


def _record_error(path: Path, i: int, message: str) -> ValueError:
    return ValueError(f"{path}: record {i}: {message}")


def read_mpii_json(path: str | os.PathLike, *, one_based: bool = True) -> list[PersonAnnotation]:
    """Read the per-person MPII JSON layout.

    Parameters
    ----------
    path : path-like
        JSON file holding a list of records with ``image``, ``joints`` (16 × 2), ``joints_vis``
        (16), ``center`` (2) and ``scale``; optional ``headbox`` (2 × 2).
    one_based : bool
        The coordinates are MPII's 1-based ones (default) and are converted to 0-based.

    Returns
    -------
    list of PersonAnnotation

    Raises
    ------
    ValueError
        If the file is missing or not JSON, or a record misses a field or has a wrong shape, a
        non-finite value or a non-positive scale (the message names the record and the field).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text(json.dumps([{"image": "x.jpg", "joints": [[2, 3]] * 16,
    ...     "joints_vis": [1] * 16, "center": [5, 5], "scale": 1.0}]))
    >>> read_mpii_json(p)[0].joints[0].tolist()
    [1.0, 2.0]
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such annotation file")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not a JSON file ({exc})") from None
    if isinstance(data, dict):
        data = data.get("annotations", data.get("root"))
    if not isinstance(data, list):
        raise ValueError(f"{p}: expected a list of person records, got {type(data).__name__}")
    shift = 1.0 if one_based else 0.0
    out = []
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise _record_error(p, i, f"expected an object, got {type(rec).__name__}")
        missing = [k for k in ("image", "joints", "joints_vis", "center", "scale") if k not in rec]
        if missing:
            raise _record_error(p, i, f"missing field(s) {missing}")
        try:
            joints = np.asarray(rec["joints"], dtype=np.float64)
            vis = np.asarray(rec["joints_vis"], dtype=np.float64)
            center = np.asarray(rec["center"], dtype=np.float64)
            scale = float(rec["scale"])
            headbox = np.asarray(rec["headbox"], dtype=np.float64) - shift if rec.get("headbox") is not None else None
        except (TypeError, ValueError) as exc:
            raise _record_error(p, i, f"non-numeric value ({exc})") from None
        if joints.shape != (NUM_JOINTS, 2):
            raise _record_error(p, i, f"joints: expected shape (16, 2), got {joints.shape}")
        if vis.shape != (NUM_JOINTS,):
            raise _record_error(p, i, f"joints_vis: expected 16 values, got shape {vis.shape}")
        if center.shape != (2,):
            raise _record_error(p, i, f"center: expected 2 values, got shape {center.shape}")
        if headbox is not None and headbox.shape != (2, 2):
            raise _record_error(p, i, f"headbox: expected shape (2, 2), got {headbox.shape}")
        if not (np.isfinite(joints).all() and np.isfinite(center).all() and np.isfinite(scale)) or scale <= 0:
            raise _record_error(p, i, f"expected finite joints/center and a positive scale, got scale={scale}")
        if not isinstance(rec["image"], str) or not rec["image"]:
            raise _record_error(p, i, f"image: expected a file name, got {rec['image']!r}")
        visible = vis > 0
        out.append(PersonAnnotation(rec["image"], joints - shift, visible, center - shift, scale, headbox))
    if not out:
        raise ValueError(f"{p}: no person records")
    return out


class GroundTruth(NamedTuple):
    """Evaluation ground truth in the ``gt_valid.mat`` layout (0-based).

    Attributes
    ----------
    joints : ndarray (N, 16, 2)
    visible : ndarray (N, 16) bool
    headboxes : ndarray (N, 2, 2)
    predictions : ndarray (N, 16, 2) or None
        ``pos_pred_src`` when the file carries predictions.
    """

    joints: np.ndarray
    visible: np.ndarray
    headboxes: np.ndarray
    predictions: np.ndarray | None


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

    Raises
    ------
    ValueError
        If the file cannot be read, a key is missing, or the shapes disagree.
    """
    from scipy.io import loadmat

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    try:
        d = loadmat(str(p))
    except Exception as exc:
        raise ValueError(f"{p}: not a MATLAB file ({type(exc).__name__}: {exc})") from None
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
    return GroundTruth(np.transpose(gt, (2, 0, 1)) - shift, np.transpose(miss == 0), np.transpose(hb, (2, 0, 1)) - shift, pred)


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


class PoseDataset:
    """Person crops with heatmap targets, from any list of annotations and an image loader.

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
    scale_pad : float
        The crop covers ``200 · scale · scale_pad`` pixels (1.25 as in public hourglass code, so
        the limbs are not cut).
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
        scale_pad: float = 1.25,
    ):
        if len(annotations) == 0:
            raise ValueError("annotations: expected at least one person, got an empty list")
        if input_size % 4 or input_size < 16:
            raise ValueError(f"input_size: expected a multiple of 4 ≥ 16, got {input_size}")
        self.annotations = list(annotations)
        self.load = load
        self.input_size = input_size
        self.train = train
        self.augment = augment or AugmentConfig()
        self.seed = seed
        self.sigma = sigma
        self.scale_pad = scale_pad
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
        h, w = image.shape[:2]
        vis = np.asarray(ann.visible, dtype=bool)
        jv = ann.joints[vis]
        if jv.size and ((jv[:, 0] < 0).any() or (jv[:, 1] < 0).any() or (jv[:, 0] > w - 1).any() or (jv[:, 1] > h - 1).any()):
            raise ValueError(f"{ann.image}: annotated joint outside the {w}×{h} image")
        scale = ann.scale * self.scale_pad
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
        m = crop_transform(ann.center, scale, s, rot)
        crop = crop_image(image, m, s)
        crop = np.clip(crop * gain, 0, 1)
        cj = transform_points(np.linalg.inv(m), ann.joints)
        cvis = vis.copy()
        if flip:
            crop = crop[:, ::-1]
            cj, cvis = flip_joints(cj, cvis, s)
        hm_size = s // 4
        hj = (cj + 0.5) * (hm_size / s) - 0.5
        target = gaussian_heatmaps(hj, cvis, hm_size, self.sigma)
        headbox = ann.headbox if ann.headbox is not None else np.full((2, 2), np.nan)
        img = np.ascontiguousarray((crop - IMAGENET_MEAN).transpose(2, 0, 1))
        return PoseSample(img, target, ann.joints.astype(np.float64), vis, np.asarray(headbox, dtype=np.float64), m)


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
    }


class _SyntheticSource:
    """Annotations + in-memory images of a synthetic figure set (generated once)."""

    def __init__(self, n: int, seed: int, image_size: int):
        from nlvision.datasets.synthetic_figures import SyntheticFigureConfig, SyntheticFigures

        ds = SyntheticFigures(n, seed=seed, config=SyntheticFigureConfig(image_size=image_size))
        samples = [ds[i] for i in range(n)]
        self.images = [s.image for s in samples]
        self.annotations = [
            PersonAnnotation(f"synthetic-{seed}-{i}", s.joints, s.visible, s.center, s.scale, s.headbox)
            for i, s in enumerate(samples)
        ]

    def load(self, ann: PersonAnnotation, index: int) -> np.ndarray:
        return self.images[index]


class _FolderLoader:
    """Load MPII images from a folder (decoding errors become ValueError naming the file)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def __call__(self, ann: PersonAnnotation, index: int) -> np.ndarray:
        from nlvision.imageio import load_image

        img = load_image(self.folder / ann.image)
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
    """Annotation file and image folder of an MPII folder (``annot/{split}.json`` + ``images/``)."""
    if not root.is_dir():
        raise ValueError(f"mpii:{root}: no such folder")
    for cand in (root / "annot" / f"{split}.json", root / f"{split}.json"):
        if cand.is_file():
            ann = cand
            break
    else:
        raise ValueError(f"mpii:{root}: expected annot/{split}.json (per-person JSON layout) in the folder")
    images = root / "images"
    if not images.is_dir():
        raise ValueError(f"mpii:{root}: expected an images/ folder")
    return ann, images


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
        ``mpii:PATH`` with ``PATH/annot/{train,valid}.json`` and ``PATH/images/`` (head boxes
        for PCKh from the records' ``headbox`` field or ``PATH/annot/gt_valid.mat``).
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

    Raises
    ------
    ValueError
        Unknown spec or split, missing files, bad annotations.
    """
    if split not in ("train", "valid"):
        raise ValueError(f"split: expected 'train' or 'valid', got {split!r}")
    kind, path = parse_data_spec(spec)
    if kind == "synthetic":
        count = n if n is not None else (2000 if split == "train" else 300)
        src = _SyntheticSource(count, seed + (1000 if split == "valid" else 0), input_size)
        return PoseDataset(src.annotations, src.load, input_size=input_size, train=train, augment=augment, seed=seed)
    ann_file, images = _mpii_files(path, split)
    anns = read_mpii_json(ann_file)
    mat = ann_file.parent / f"gt_{split}.mat"
    if any(a.headbox is None for a in anns) and mat.is_file():
        # The per-person JSON has no head boxes; the evaluation .mat lists the same people in order.
        gt = read_gt_valid_mat(mat)
        if len(gt.headboxes) != len(anns):
            raise ValueError(f"{mat}: {len(gt.headboxes)} people, but {ann_file} has {len(anns)}; cannot attach head boxes")
        anns = [a._replace(headbox=hb) for a, hb in zip(anns, gt.headboxes)]
    if n is not None:
        anns = anns[:n]
    return PoseDataset(anns, _FolderLoader(images), input_size=input_size, train=train, augment=augment, seed=seed)
