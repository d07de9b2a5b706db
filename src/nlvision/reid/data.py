"""Re-identification data: Market-1501 reader, generic same-layout reader, synthetic default,
PK sampler and the 256×128 transforms (flip, pad + crop).

Layout (Market-1501; DukeMTMC-reID and user data sets in the same layout work too)::

    ROOT/bounding_box_train/0002_c1s1_000451_03.jpg   person 0002, camera 1
    ROOT/query/...
    ROOT/bounding_box_test/...                        gallery; id 0000 = distractor, -1 = junk

File names must start with ``<person id>_c<camera>`` (Market: ``0002_c1s1_000451_03.jpg``,
Duke: ``0001_c2_f0046182.jpg``). Junk images (id −1) are dropped; distractors (id 0) are kept
in the gallery. Cameras are returned 0-based. Training identities are relabelled to
``0 .. num_classes-1``.

Normalisation by the ImageNet mean / std is part of the model (:mod:`nlvision.reid.model`), so
images travel as [0, 1] tensors and the attack's L∞ budget is in pixel units.

References
----------
Zheng et al., ICCV 2015 (Market-1501). Luo et al., "Bag of Tricks and a Strong Baseline for Deep
Person Re-identification", CVPRW 2019 (PK sampling P=16, K=4; 256×128; flip; pad 10 + crop).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from nlvision.imageio import IMAGE_EXTENSIONS, load_image

__all__ = [
    "NAME_PATTERN",
    "parse_reid_name",
    "ReIDSplit",
    "ReIDData",
    "read_reid_folder",
    "read_market1501",
    "synthetic_reid_data",
    "load_reid_data",
    "ReIDImageDataset",
    "PKSampler",
    "resize_batch",
    "DATA_KINDS",
    "SYNTHETIC_DEFAULTS",
]

#: ``<pid>_c<cam>`` at the start of a file name (Market-1501, DukeMTMC-reID)
NAME_PATTERN = re.compile(r"^(-?\d+)_c(\d+)")
#: the embedded synthetic data set (SYNTHETIC) used by ``load_reid_data("synthetic")``, ``reid
#: train/evaluate/predict`` and the robustness study alike: 32 training identities, 160 test
#: identities seen by 6 cameras (960 queries, 1,920 gallery images + 100 distractors) at 64 × 32.
#: 960 queries bound the per-query sampling error of a row's mAP to about ±2 points (95 %).
SYNTHETIC_DEFAULTS = {"num_train_ids": 32, "num_test_ids": 160, "num_cameras": 6, "images_per_camera": 3,
                      "height": 64, "width": 32, "num_distractors": 100}
#: data specifications accepted by :func:`load_reid_data`
DATA_KINDS = ("synthetic", "market1501:PATH", "folder:PATH")
MARKET_FOLDERS = ("bounding_box_train", "query", "bounding_box_test")


def parse_reid_name(name: str) -> tuple[int, int]:
    """Person id and 0-based camera of a Market/Duke-style file name.

    Raises
    ------
    ValueError
        When the name does not start with ``<id>_c<camera>``.

    Examples
    --------
    >>> parse_reid_name("0002_c1s1_000451_03.jpg")
    (2, 0)
    >>> parse_reid_name("-1_c3s2_000101_02.jpg")
    (-1, 2)
    """
    m = NAME_PATTERN.match(Path(name).name)
    if m is None:
        raise ValueError(f"{name}: file name does not follow the '<person id>_c<camera>...' pattern (e.g. 0002_c1s1_000451_03.jpg)")
    cam = int(m.group(2))
    if cam < 1:
        raise ValueError(f"{name}: camera numbers start at 1, got c{cam}")
    return int(m.group(1)), cam - 1


@dataclass
class ReIDSplit:
    """Images of one split: file paths *or* an in-memory array, with ids and cameras.

    Attributes
    ----------
    pids, camids : ndarray of int
        Person ids (original numbering) and 0-based cameras.
    paths : list of Path, optional
        Image files (real data).
    images : ndarray (N, H, W, 3), optional
        Images in [0, 1] (synthetic data).
    labels : ndarray of int, optional
        Training labels ``0 .. C-1`` (train split only).
    """

    pids: np.ndarray
    camids: np.ndarray
    paths: list[Path] | None = None
    images: np.ndarray | None = None
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return int(len(self.pids))

    def load(self, index: int) -> np.ndarray:
        """Image ``index`` as an (H, W, 3) float array in [0, 1]."""
        if self.images is not None:
            return self.images[index]
        img = load_image(self.paths[index])
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        return img[..., :3]


@dataclass
class ReIDData:
    """Train / query / gallery splits.

    Attributes
    ----------
    name : str
        ``"synthetic"``, ``"market1501"`` or ``"folder"``.
    spec : str
        The specification it was loaded from (recorded in run folders).
    synthetic : bool
        True for the embedded synthetic data set (results must be labelled as such).
    num_classes : int
        Training identities.
    """

    train: ReIDSplit
    query: ReIDSplit
    gallery: ReIDSplit
    name: str
    synthetic: bool = False
    spec: str = ""

    @property
    def num_classes(self) -> int:
        return int(len(np.unique(self.train.pids)))

    def summary(self) -> dict:
        """Counts of images and identities per split."""
        return {
            "data": self.name + (" (SYNTHETIC)" if self.synthetic else ""),
            "train_images": len(self.train), "train_ids": self.num_classes,
            "query_images": len(self.query), "query_ids": int(len(np.unique(self.query.pids))),
            "gallery_images": len(self.gallery), "gallery_ids": int(len(np.unique(self.gallery.pids))),
        }


def _relabel(pids: np.ndarray) -> np.ndarray:
    _, labels = np.unique(pids, return_inverse=True)
    return labels.astype(np.int64)


def read_reid_folder(folder: str | os.PathLike, *, relabel: bool = False, drop_distractors: bool = False) -> ReIDSplit:
    """Read one folder of ``<pid>_c<cam>...`` images.

    Parameters
    ----------
    folder : path-like
        Folder of images.
    relabel : bool
        Add ``labels`` 0..C-1 (training split).
    drop_distractors : bool
        Also drop id 0 (for training / query folders).

    Raises
    ------
    ValueError
        If the folder is missing, holds no image, or a file name does not follow the pattern.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "0003_c2s1_000001_01.jpg").write_bytes(b"")
    >>> split = read_reid_folder(d)
    >>> split.pids.tolist(), split.camids.tolist()
    ([3], [1])
    """
    p = Path(folder)
    if not p.is_dir():
        raise ValueError(f"{p}: no such data folder")
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(f"{p}: folder holds no image ({', '.join(IMAGE_EXTENSIONS[:3])}, ...)")
    parsed = [parse_reid_name(f.name) for f in files]
    pids = np.array([a for a, _ in parsed], dtype=np.int64)
    cams = np.array([b for _, b in parsed], dtype=np.int64)
    keep = pids >= (1 if drop_distractors else 0)  # junk (-1) dropped
    if not keep.any():
        raise ValueError(f"{p}: no valid image (all are junk, id -1{' or distractors, id 0' if drop_distractors else ''})")
    files = [f for f, k in zip(files, keep) if k]
    split = ReIDSplit(pids=pids[keep], camids=cams[keep], paths=files)
    if relabel:
        split.labels = _relabel(split.pids)
    return split


def read_market1501(root: str | os.PathLike, name: str = "market1501") -> ReIDData:
    """Read a Market-1501-layout data set (``bounding_box_train``, ``query``, ``bounding_box_test``).

    Raises
    ------
    ValueError
        For a missing root or sub-folder, empty folders, malformed names, or when no query
        identity appears in the gallery under another camera.
    """
    r = Path(root)
    if not r.is_dir():
        raise ValueError(f"{r}: no such data folder")
    missing = [f for f in MARKET_FOLDERS if not (r / f).is_dir()]
    if missing:
        raise ValueError(f"{r}: missing sub-folder(s) {missing}; a Market-1501 layout has {list(MARKET_FOLDERS)}")
    train = read_reid_folder(r / "bounding_box_train", relabel=True, drop_distractors=True)
    query = read_reid_folder(r / "query", drop_distractors=True)
    gallery = read_reid_folder(r / "bounding_box_test")
    _check_queries(query, gallery, r)
    return ReIDData(train, query, gallery, name=name)


def _check_queries(query: ReIDSplit, gallery: ReIDSplit, where: object) -> None:
    g = set(zip(gallery.pids.tolist(), gallery.camids.tolist()))
    gids = {}
    for pid, cam in g:
        gids.setdefault(pid, set()).add(cam)
    ok = any(pid in gids and (gids[pid] - {cam}) for pid, cam in zip(query.pids.tolist(), query.camids.tolist()))
    if not ok:
        raise ValueError(f"{where}: no valid query — no query identity appears in the gallery under another camera")


def synthetic_reid_data(**options) -> ReIDData:
    """The synthetic multi-camera person data set (SYNTHETIC) as :class:`ReIDData`.

    Keyword options go to :class:`nlvision.datasets.synthetic_persons.SyntheticPersonsConfig`;
    unspecified ones take :data:`SYNTHETIC_DEFAULTS` (the study's data).
    The generated arrays are cached per configuration within the process (the generator is
    deterministic), so repeated calls do not render the images again.
    """
    options = {**SYNTHETIC_DEFAULTS, **options}
    d = _synthetic_cached(tuple(sorted(options.items())))
    train = ReIDSplit(d.train.pids, d.train.camids, images=d.train.images, labels=_relabel(d.train.pids))
    query = ReIDSplit(d.query.pids, d.query.camids, images=d.query.images)
    gallery = ReIDSplit(d.gallery.pids, d.gallery.camids, images=d.gallery.images)
    spec = "synthetic" if options == SYNTHETIC_DEFAULTS else "synthetic:" + ",".join(f"{k}={v}" for k, v in sorted(options.items()))
    return ReIDData(train, query, gallery, name="synthetic", synthetic=True, spec=spec)


@functools.lru_cache(maxsize=4)
def _synthetic_cached(options: tuple):
    from nlvision.datasets.synthetic_persons import make_synthetic_persons

    return make_synthetic_persons(**dict(options))


def load_reid_data(spec: str, **synthetic_options) -> ReIDData:
    """Load data from a specification: ``synthetic``, ``market1501:PATH`` or ``folder:PATH``.

    ``folder:PATH`` reads any data set in the Market layout (DukeMTMC-reID, your own).
    ``synthetic`` is the embedded generator with :data:`SYNTHETIC_DEFAULTS` — the data of every
    reid command and of the study; ``synthetic:name=value,...`` changes single options.

    Parameters
    ----------
    spec : str
        Data specification.
    **synthetic_options
        Overrides of the synthetic generator's options (synthetic data only).

    Returns
    -------
    ReIDData
        Train / query / gallery splits.

    Raises
    ------
    ValueError
        For an unknown kind (listing the valid ones) or unreadable data.

    References
    ----------
    Zheng et al., ICCV 2015 (Market-1501 layout).

    Examples
    --------
    >>> d = load_reid_data("synthetic:num_train_ids=2,num_test_ids=2,num_cameras=2,num_distractors=0")
    >>> d.summary()["query_images"], d.spec
    (4, 'synthetic:height=64,images_per_camera=3,num_cameras=2,num_distractors=0,num_test_ids=2,num_train_ids=2,width=32')
    """
    if not isinstance(spec, str):
        raise TypeError(f"data: expected a string like {DATA_KINDS}, got {type(spec).__name__}")
    if spec == "synthetic":
        return synthetic_reid_data(**synthetic_options)
    kind, _, path = spec.partition(":")
    if kind == "synthetic" and path:  # synthetic:num_test_ids=32,height=64 (as recorded by train_reid)
        opts = {}
        for item in path.split(","):
            key, eq, value = item.partition("=")
            try:
                opts[key.strip()] = float(value) if "." in value else int(value)
            except ValueError:
                raise ValueError(f"data: expected synthetic:NAME=NUMBER,..., got {spec!r}") from None
            if not eq:
                raise ValueError(f"data: expected synthetic:NAME=NUMBER,..., got {spec!r}")
        return synthetic_reid_data(**{**opts, **synthetic_options})
    if kind in ("market1501", "folder") and path:
        data = read_market1501(path, name=kind)
        data.spec = spec
        return data
    raise ValueError(f"data: unknown data specification {spec!r}; valid: {list(DATA_KINDS)}")


def resize_batch(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (B, C, H, W) images to ``size`` = (H, W) (bilinear, antialiased when shrinking)."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    shrink = images.shape[-2] > size[0] or images.shape[-1] > size[1]
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=shrink).clamp(0, 1)


class ReIDImageDataset(Dataset):
    """Torch data set over a :class:`ReIDSplit`: returns ``(image, label, camid, index)``.

    Images are resized to ``size`` (256×128 by default); in training mode they are flipped
    horizontally with probability ``flip`` and padded by ``pad`` pixels (zeros) then randomly
    cropped back (BoT). ``label`` is the training label (train split) or the person id.

    Parameters
    ----------
    split : ReIDSplit
    size : (int, int)
        Output (H, W).
    train : bool
        Enable the random transforms.
    flip : float
        Flip probability (0.5).
    pad : int
        Padding before the random crop (10).
    seed : int
        Seed of the random transforms.

    Examples
    --------
    >>> s = ReIDSplit(np.array([1]), np.array([0]), images=np.zeros((1, 32, 16, 3), np.float32))
    >>> img, label, cam, idx = ReIDImageDataset(s, size=(64, 32))[0]
    >>> tuple(img.shape), int(label), int(cam)
    ((3, 64, 32), 1, 0)
    """

    def __init__(self, split: ReIDSplit, size: tuple[int, int] = (256, 128), *, train: bool = False,
                 flip: float = 0.5, pad: int = 10, seed: int = 0) -> None:
        if not isinstance(split, ReIDSplit):
            raise TypeError(f"split: expected a ReIDSplit, got {type(split).__name__}")
        if len(size) != 2 or min(size) < 8:
            raise ValueError(f"size: expected (H, W) with both >= 8, got {size!r}")
        if not 0.0 <= flip <= 1.0:
            raise ValueError(f"flip: expected a probability in [0, 1], got {flip!r}")
        if not isinstance(pad, int) or pad < 0:
            raise ValueError(f"pad: expected a non-negative int, got {pad!r}")
        self.split = split
        self.size = (int(size[0]), int(size[1]))
        self.train = train
        self.flip = flip
        self.pad = pad
        self.generator = torch.Generator().manual_seed(int(seed))
        self._cache: Tensor | None = None
        if split.images is not None:  # in-memory data: resize everything once
            imgs = torch.from_numpy(np.ascontiguousarray(split.images, dtype=np.float32)).permute(0, 3, 1, 2)
            self._cache = torch.cat([resize_batch(imgs[i:i + 256], self.size) for i in range(0, len(imgs), 256)]) if len(imgs) else imgs

    def __len__(self) -> int:
        return len(self.split)

    def image(self, index: int) -> Tensor:
        """Resized (3, H, W) image without random transforms."""
        if self._cache is not None:
            return self._cache[index]
        img = torch.from_numpy(np.ascontiguousarray(self.split.load(index), dtype=np.float32)).permute(2, 0, 1)
        return resize_batch(img[None], self.size)[0]

    def __getitem__(self, index: int):
        img = self.image(index)
        if self.train:
            if torch.rand(1, generator=self.generator).item() < self.flip:
                img = img.flip(-1)
            if self.pad:
                h, w = self.size
                padded = F.pad(img, (self.pad,) * 4)
                dy, dx = (int(v) for v in torch.randint(0, 2 * self.pad + 1, (2,), generator=self.generator))
                img = padded[:, dy:dy + h, dx:dx + w]
        labels = self.split.labels if self.split.labels is not None else self.split.pids
        return img, int(labels[index]), int(self.split.camids[index]), index


class PKSampler(Sampler[list[int]]):
    """Batch sampler of P identities × K images (BoT's random identity sampler).

    Each epoch, every identity's images are shuffled and cut into groups of K (identities with
    fewer than K images are sampled with replacement); batches take P groups of distinct
    identities at random until fewer than P identities have groups left.

    Parameters
    ----------
    labels : sequence of int
        Identity of every training image.
    p, k : int
        Identities per batch (16) and images per identity (4).
    seed : int
        Seed; epoch ``e`` uses ``seed + e``.

    Raises
    ------
    ValueError
        If fewer than ``p`` identities exist or p / k are not positive.

    Examples
    --------
    >>> s = PKSampler([0, 0, 1, 1, 2, 2], p=2, k=2, seed=0)
    >>> batch = next(iter(s)); len(batch), len({[0, 0, 1, 1, 2, 2][i] for i in batch})
    (4, 2)
    """

    def __init__(self, labels: Sequence[int], p: int = 16, k: int = 4, seed: int = 0) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise ValueError(f"labels: expected a non-empty 1-D sequence, got shape {labels.shape}")
        for name, v in (("p", p), ("k", k)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        ids = np.unique(labels)
        if len(ids) < p:
            raise ValueError(f"p: {p} identities per batch requested but the data has only {len(ids)}")
        self.labels, self.p, self.k, self.seed = labels, p, k, int(seed)
        self.index = {int(i): np.flatnonzero(labels == i) for i in ids}
        self.epoch = 0

    def _batches(self, rng: np.random.Generator) -> list[list[int]]:
        groups: dict[int, list[np.ndarray]] = {}
        for pid, idx in self.index.items():
            idx = rng.choice(idx, size=self.k, replace=True) if len(idx) < self.k else rng.permutation(idx)
            n = len(idx) // self.k
            groups[pid] = [idx[j * self.k:(j + 1) * self.k] for j in range(n)]
        batches = []
        avail = [pid for pid in groups if groups[pid]]
        while len(avail) >= self.p:
            chosen = rng.choice(len(avail), size=self.p, replace=False)
            batch = []
            for c in chosen:
                batch.extend(int(i) for i in groups[avail[c]].pop())
            batches.append(batch)
            avail = [pid for pid in avail if groups[pid]]
        return batches

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches ``__iter__`` yields next (exact resume).

        Parameters
        ----------
        epoch : int
            Zero-based epoch.
        """
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1  # plain loops get a new order per pass; trainers call set_epoch
        yield from self._batches(rng)

    def __len__(self) -> int:
        return len(self._batches(np.random.default_rng(self.seed + self.epoch)))
