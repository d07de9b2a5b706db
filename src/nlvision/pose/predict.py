"""Prediction on image files: batched, one forward pass per batch (two with the flip test).

Coordinate convention of every output: **0-based pixel indices of the source image**, x =
column, y = row, ``(0, 0)`` the centre of the top-left pixel — except the MPII ``pred.mat``,
which follows the MPII evaluation layout (``pos_pred_src``, 16 × 2 × N, **1-based**, MATLAB).
Joints are in MPII order (``nlvision.datasets.synthetic_figures.MPII_JOINTS``).

Crops: with a person centre and scale (MPII ``objpos`` − 1 and ``scale``) the standard MPII crop
of :func:`nlvision.pose.data.person_crop` — the one used in training and evaluation; without
them, the square of side ``max(H, W)`` centred on the image.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nlvision.atomic import atomic_path, write_json_atomic
from nlvision.datasets.synthetic_figures import MPII_JOINTS
from nlvision.imageio import expand_images
from nlvision.pose.data import IMAGENET_MEAN, crop_image, crop_transform, person_crop
from nlvision.pose.evaluate import predict_batch

#: Image suffixes picked up from folders.
COORDINATES = "0-based pixel indices of the source image (x = column, y = row; (0, 0) = centre of the top-left pixel)"


def _crop_matrix(shape: tuple[int, int], size: int, center, scale) -> np.ndarray:
    h, w = shape
    if center is None and scale is None:
        return crop_transform([(w - 1) / 2.0, (h - 1) / 2.0], max(h, w) / 200.0, size)
    if center is None or scale is None:
        raise ValueError("--center/--scale: give both (MPII person centre and scale) or neither")
    c, s = person_crop(center, float(scale))
    return crop_transform(c, s, size)


def predict_pose(
    model,
    images: Sequence[Any],
    *,
    centers: Sequence[Any] | None = None,
    scales: Sequence[float] | None = None,
    flip: bool = False,
    refine: bool = True,
    batch_size: int = 8,
    return_maps: bool = False,
) -> list[dict[str, Any]]:
    """Predict the 16 MPII joints of one person per image, in batches.

    Parameters
    ----------
    model : StackedHourglass or path-like
        A model or a checkpoint / run folder.
    images : sequence of ndarray or path-like
        Images (H, W) or (H, W, 3) in [0, 1], or image files.
    centers : sequence of (x, y), optional
        Person centres (MPII ``objpos`` converted to 0-based); with ``scales``, the standard MPII
        crop is used, as in training and evaluation. Without them, the whole image.
    scales : sequence of float, optional
        MPII scales (person height / 200).
    flip : bool
        Flip test (a second forward pass on the mirrored crops).
    refine : bool
        Quarter-pixel refinement of the argmax.
    batch_size : int
        Images per forward pass.
    return_maps : bool
        Also return ``heatmaps`` (16, h, w), ``masks`` (S-1, h, w) and ``crop`` (S, S, 3).

    Returns
    -------
    list of dict
        Per image: ``joints`` (16, 2) in 0-based source pixels, ``scores`` (16,) (heatmap
        maxima), ``matrix`` (3, 3) crop → source, and the maps when asked.

    Raises
    ------
    ValueError
        Unreadable images, bad shapes, mismatched centre / scale lists, ``batch_size`` < 1.

    References
    ----------
    Seed 002, eq. (5) (argmax of the last prediction); Newell et al., ECCV 2016 (flip test,
    quarter-pixel offset).

    Examples
    --------
    >>> from nlvision.pose.model import PoseModelConfig, build_pose_model
    >>> m = build_pose_model(PoseModelConfig(num_stacks=2, channels=4, depth=1, input_size=16)).eval()
    >>> r = predict_pose(m, [np.zeros((20, 30, 3))] * 3, batch_size=2)
    >>> len(r), r[0]["joints"].shape
    (3, (16, 2))
    """
    import torch

    from nlvision.imageio import load_image

    if not hasattr(model, "config"):
        from nlvision.pose.model import load_pose_model

        model = load_pose_model(model)
    if batch_size < 1:
        raise ValueError(f"--batch-size: expected ≥ 1, got {batch_size}")
    n = len(images)
    if (centers is None) != (scales is None):
        raise ValueError("centers/scales: give both or neither")
    if centers is not None and (len(centers) != n or len(scales) != n):
        raise ValueError(f"centers/scales: expected {n} of each, got {len(centers)} and {len(scales)}")
    size = model.config.input_size
    param = next(model.parameters())
    model.eval()
    results: list[dict[str, Any]] = []
    for lo in range(0, n, batch_size):
        crops, mats = [], []
        for i in range(lo, min(lo + batch_size, n)):
            img = images[i]
            img = load_image(img) if isinstance(img, (str, os.PathLike)) else img
            img = np.asarray(img, dtype=np.float32)
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            if img.ndim != 3 or img.shape[2] not in (3, 4):
                raise ValueError(f"image {i}: expected (H, W) or (H, W, 3), got shape {img.shape}")
            m = _crop_matrix(img.shape[:2], size, None if centers is None else centers[i], None if scales is None else scales[i])
            crops.append(crop_image(img[..., :3], m, size))
            mats.append(m)
        x = torch.from_numpy(np.ascontiguousarray((np.stack(crops) - IMAGENET_MEAN).transpose(0, 3, 1, 2)))
        x = x.to(device=param.device, dtype=param.dtype)
        joints, scores, hm, masks = predict_batch(model, x, np.stack(mats), flip=flip, refine=refine)
        for k in range(len(crops)):
            r = {"joints": joints[k], "scores": scores[k], "matrix": mats[k]}
            if return_maps:
                r.update(heatmaps=hm[k].float().cpu().numpy(), masks=masks[k].float().cpu().numpy(), crop=crops[k])
            results.append(r)
    return results


def predictions_record(names: Sequence[str], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ``--json`` document of ``nlvision pose predict``.

    Parameters
    ----------
    names : sequence of str
        Image names, one per result.
    results : sequence of dict
        :func:`predict_pose` output.

    Returns
    -------
    dict
        ``coordinates`` (the convention), ``joint_names`` and ``people``: per image ``image``
        and ``joints`` {name: {x, y, score}}.

    Examples
    --------
    >>> r = predictions_record(["a.png"], [{"joints": np.zeros((16, 2)), "scores": np.ones(16)}])
    >>> r["people"][0]["joints"]["head_top"]
    {'x': 0.0, 'y': 0.0, 'score': 1.0}
    """
    return {
        "coordinates": COORDINATES,
        "joint_names": list(MPII_JOINTS),
        "people": [
            {"image": str(name), "joints": {j: {"x": float(x), "y": float(y), "score": float(s)}
                                            for j, (x, y), s in zip(MPII_JOINTS, r["joints"], r["scores"])}}
            for name, r in zip(names, results)
        ],
    }


def write_mpii_pred_mat(path: str | os.PathLike, joints: np.ndarray) -> Path:
    """Write predictions in the MPII evaluation layout: ``pos_pred_src`` 16 × 2 × N, 1-based.

    Parameters
    ----------
    path : path-like
        ``.mat`` file to write (atomically).
    joints : ndarray (N, 16, 2)
        0-based pixel coordinates (converted to MATLAB's 1-based ones).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        If ``joints`` is not (N, 16, 2).

    References
    ----------
    MPII Human Pose evaluation (``pos_pred_src`` of ``detections_our_format.mat``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from scipy.io import loadmat
    >>> p = write_mpii_pred_mat(pathlib.Path(tempfile.mkdtemp()) / "pred.mat", np.zeros((3, 16, 2)))
    >>> d = loadmat(p); d["pos_pred_src"].shape, float(d["pos_pred_src"][0, 0, 0])
    ((16, 2, 3), 1.0)
    """
    from scipy.io import savemat

    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (16, 2):
        raise ValueError(f"joints: expected shape (N, 16, 2), got {j.shape}")
    p = Path(path)
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as f:
            savemat(f, {"pos_pred_src": np.transpose(j + 1.0, (1, 2, 0)),
                        "coordinates": "pos_pred_src: 16 x 2 x N, 1-based MPII pixels (x = column, y = row), MPII joint order",
                        "dataset_joints": np.array([["rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
                                                      "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri"]], dtype=object)})
    return p


def write_coco_keypoints(path: str | os.PathLike, names: Sequence[str], results: Sequence[dict[str, Any]]) -> Path:
    """Write COCO-style keypoint results: ``[{"image_id", "category_id", "keypoints", "score"}]``.

    ``keypoints`` holds ``x, y, v`` for the 16 MPII joints in MPII order (not COCO's 17
    keypoints), 0-based source pixels, ``v = 1``; ``score`` is the mean heatmap maximum.

    Parameters
    ----------
    path : path-like
        JSON file to write (atomically).
    names : sequence of str
        Image names, used as ``image_id``.
    results : sequence of dict
        :func:`predict_pose` output.

    Returns
    -------
    Path
        The written file.

    References
    ----------
    COCO keypoint results format (https://cocodataset.org/#format-results).

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> p = write_coco_keypoints(pathlib.Path(tempfile.mkdtemp()) / "k.json", ["a.png"],
    ...                          [{"joints": np.ones((16, 2)), "scores": np.ones(16)}])
    >>> len(json.loads(p.read_text())[0]["keypoints"])
    48
    """
    rows = []
    for name, r in zip(names, results):
        kp = np.concatenate([np.asarray(r["joints"], dtype=np.float64), np.ones((16, 1))], axis=1).reshape(-1)
        rows.append({"image_id": str(name), "category_id": 1, "keypoints": [float(v) for v in kp],
                     "score": float(np.mean(r["scores"]))})
    p = Path(path)
    write_json_atomic(p, rows)
    return p
