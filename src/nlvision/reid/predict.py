"""Ranked lists for a whole query set, and features of a folder of images.

:func:`predict_reid` ranks the gallery for every query at once (one distance matrix, as the
evaluation does) and returns the top entries of each ranked list; with identities and cameras
known (Market names or the synthetic data) the Market protocol's junk images (same identity,
same camera) are left out and true matches are flagged. :func:`extract_reid_features` computes
the retrieval features of image files (a file, a folder or a glob), batched.

References
----------
Seed 000, section 3.2; Zheng et al., ICCV 2015 (junk images of the Market-1501 protocol).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np

from nlvision.imageio import IMAGE_EXTENSIONS, load_image
from nlvision.reid.data import NAME_PATTERN, ReIDSplit, parse_reid_name
from nlvision.reid.evaluate import feature_distance

__all__ = ["predict_reid", "extract_reid_features", "image_files", "split_from_files"]


def image_files(spec: str | os.PathLike) -> list[Path]:
    """Image files named by a file, a folder (its images, sorted) or a glob pattern.

    Parameters
    ----------
    spec : str or path-like
        ``img.jpg``, ``folder/`` or ``"folder/*.png"``.

    Returns
    -------
    list of Path

    Raises
    ------
    ValueError
        When nothing matches.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "0001_c1s1_000001_01.png").write_bytes(b"")
    >>> [p.name for p in image_files(d)]
    ['0001_c1s1_000001_01.png']
    """
    p = Path(spec)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
    elif p.is_file():
        files = [p]
    else:
        files = sorted(Path(f) for f in glob.glob(str(spec)) if Path(f).is_file() and Path(f).suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(f"{spec}: no image file ({', '.join(IMAGE_EXTENSIONS[:3])}, ...) found")
    return files


def split_from_files(files: list[Path]) -> ReIDSplit:
    """A split over image files; identities and cameras come from Market names when all have them (else -1).

    Parameters
    ----------
    files : list of Path
        Image files.

    Returns
    -------
    ReIDSplit

    Examples
    --------
    >>> split_from_files([Path("0007_c2s1_000001_01.jpg")]).pids.tolist()
    [7]
    """
    named = all(NAME_PATTERN.match(f.name) for f in files)
    if named:
        parsed = [parse_reid_name(f.name) for f in files]
        pids = np.array([a for a, _ in parsed], np.int64)
        cams = np.array([b for _, b in parsed], np.int64)
    else:
        pids = np.full(len(files), -1, np.int64)
        cams = np.full(len(files), -1, np.int64)
    return ReIDSplit(pids=pids, camids=cams, paths=list(files))


def extract_reid_features(model, images, *, batch_size: int = 128) -> tuple[np.ndarray, list[str]]:
    """Retrieval features of image files, batched.

    Parameters
    ----------
    model : nlvision.reid.model.ReidNet
        Trained model (:func:`nlvision.reid.load_reid_model`).
    images : str, path-like or ReIDSplit
        A file, folder or glob (see :func:`image_files`), or a split.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    (ndarray (N, D) float32, list of str)
        Features and the file names (or indices for in-memory splits).

    Raises
    ------
    ValueError
        When no image is found or a file cannot be read.

    Examples
    --------
    >>> from nlvision.reid.data import synthetic_reid_data
    >>> from nlvision.reid.model import ReidModelConfig, ReidNet
    >>> data = synthetic_reid_data(num_train_ids=2, num_test_ids=2, num_cameras=2, height=32, width=16)
    >>> m = ReidNet(ReidModelConfig(num_classes=2, backbone="resnet18", width=4, height=32, width_px=16))
    >>> f, names = extract_reid_features(m, data.query)
    >>> f.shape
    (4, 32)
    """
    from nlvision.reid.train import extract_features

    split = images if isinstance(images, ReIDSplit) else split_from_files(image_files(images))
    feats = extract_features(model, split, batch_size=batch_size).numpy().astype(np.float32)
    names = [str(p) for p in split.paths] if split.paths is not None else [str(i) for i in range(len(split))]
    return feats, names


def predict_reid(model, query, gallery, *, top: int = 10, batch_size: int = 128) -> list[dict]:
    """Ranked gallery lists for every query.

    Parameters
    ----------
    model : nlvision.reid.model.ReidNet
        Trained model.
    query, gallery : str, path-like or ReIDSplit
        Images (file, folder, glob) or splits.
    top : int
        Entries kept per ranked list (10).
    batch_size : int
        Images per forward pass.

    Returns
    -------
    list of dict
        One per query: ``{"query", "pid", "camera", "ranked": [{"index", "name", "pid",
        "camera", "distance", "match"}, ...]}`` (cameras 1-based; ``pid`` -1 when unknown;
        ``match`` None when unknown).

    Raises
    ------
    ValueError
        For ``top < 1`` or unreadable images.

    Examples
    --------
    >>> from nlvision.reid.data import synthetic_reid_data
    >>> from nlvision.reid.model import ReidModelConfig, ReidNet
    >>> data = synthetic_reid_data(num_train_ids=2, num_test_ids=2, num_cameras=2, height=32, width=16)
    >>> m = ReidNet(ReidModelConfig(num_classes=2, backbone="resnet18", width=4, height=32, width_px=16)).eval()
    >>> ranks = predict_reid(m, data.query, data.gallery, top=3)
    >>> len(ranks), len(ranks[0]["ranked"])
    (4, 3)
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top: expected a positive int, got {top!r}")
    q = query if isinstance(query, ReIDSplit) else split_from_files(image_files(query))
    g = gallery if isinstance(gallery, ReIDSplit) else split_from_files(image_files(gallery))
    qf, qnames = extract_reid_features(model, q, batch_size=batch_size)
    gf, gnames = extract_reid_features(model, g, batch_size=batch_size)
    dist = feature_distance(qf, gf)
    known = bool((q.pids >= 0).all() and (g.pids >= -1).all() and (q.camids >= 0).all())
    if known:  # Market protocol: same identity seen by the same camera is junk
        junk = (q.pids[:, None] == g.pids[None, :]) & (q.camids[:, None] == g.camids[None, :])
        dist = np.where(junk, np.inf, dist)
    k = min(top, dist.shape[1])
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    out = []
    for i in range(len(qf)):
        ranked = []
        for j in order[i]:
            if not np.isfinite(dist[i, j]):
                break
            ranked.append({"index": int(j), "name": gnames[j], "pid": int(g.pids[j]), "camera": int(g.camids[j]) + 1,
                           "distance": float(dist[i, j]), "match": bool(g.pids[j] == q.pids[i]) if known else None})
        out.append({"query": qnames[i], "pid": int(q.pids[i]), "camera": int(q.camids[i]) + 1, "ranked": ranked})
    return out
