"""A deterministic synthetic multi-camera person data set in the Market-1501 split structure.

SYNTHETIC DATA — results obtained on it are labelled as such everywhere.

Identities are defined by what a re-identification model should learn to match across cameras:

* clothing — shirt colour, shirt pattern (solid, horizontal stripes, vertical stripes, checks)
  with its colour and period, trouser colour, shoe colour, an optional bag with its colour;
* body proportions — height, shoulder width, torso/leg ratio, head size, skin and hair tone.

Cameras differ in what a model should become invariant to:

* illumination (a global gain) and colour cast (per-channel gains);
* background (base colour, vertical gradient and a floor/wall texture);
* viewpoint scale (how large the person appears) and a vertical offset;
* partial occlusion (with a camera-specific probability an occluder covers the lower or a side
  part of the person).

Each image also has its own position jitter, walking pose (leg stride and arm swing), mirror
flip and sensor noise. Everything is drawn from ``numpy.random.default_rng`` seeded from the
configuration, so the same configuration always produces the same pixels.

The split follows Market-1501: training identities → ``bounding_box_train``; for each test
identity and each camera one image is a query (``query``) and the others go to the gallery
(``bounding_box_test``), together with distractor images of identity 0 (people who appear in no
query). :meth:`SyntheticPersons.write_market` writes the files with Market names
(``0002_c1s1_000451_03.jpg``), so the Market reader reads them back.

References
----------
Seed 000 (experiments on Market-1501). Zheng et al., "Scalable Person Re-identification: A
Benchmark", ICCV 2015 (split structure and file names).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["SyntheticPersonsConfig", "SyntheticSplit", "SyntheticPersons", "make_synthetic_persons", "PATTERNS"]

#: shirt patterns
PATTERNS = ("solid", "hstripes", "vstripes", "checks")


@dataclass
class SyntheticPersonsConfig:
    """Size and appearance options of the synthetic data set.

    The constructor does not check the values; :meth:`validate` (called by
    :func:`make_synthetic_persons`) raises ``ValueError`` for out-of-range ones.

    Parameters
    ----------
    num_train_ids : int, default 32
        Identities in the training split (ids ``1 .. num_train_ids``).
    num_test_ids : int, default 32
        Identities in the test split (query and gallery; disjoint from the training ones, as in
        Market-1501).
    num_cameras : int, default 4
        Cameras, 2 to 9 (Market has 6; its file names hold one camera digit).
    images_per_camera : int, default 3
        Images of each identity in each camera (≥ 2 so that a gallery image remains after
        taking the query).
    height : int, default 128
        Image height in pixels (Market crops are 128 × 64; at least 16).
    width : int, default 64
        Image width in pixels (at least 8).
    num_distractors : int, default 16
        Gallery images of identity 0 (people unseen elsewhere).
    occlusion : float, default 0.4
        Scale of the cameras' occlusion probabilities in [0, 1] (each camera draws its own in
        ``[0, occlusion]``).
    noise : float, default 0.02
        Standard deviation of the sensor noise, in [0, 0.5].
    seed : int, default 0
        Seed of everything (identities, cameras and images).

    References
    ----------
    Zheng, Shen, Tian, Wang, Wang, Tian, "Scalable Person Re-identification: A Benchmark",
    ICCV 2015 (Market-1501: 6 cameras, 128 × 64 crops). Seed 000 (experiments on Market-1501).

    Examples
    --------
    >>> c = SyntheticPersonsConfig(num_cameras=2, height=32, width=16)
    >>> c.num_cameras, c.images_per_camera, (c.height, c.width)
    (2, 3, (32, 16))
    >>> c.validate()   # valid: returns None
    >>> SyntheticPersonsConfig(images_per_camera=1).validate()
    Traceback (most recent call last):
    ...
    ValueError: images_per_camera: expected an int >= 2, got 1
    """

    num_train_ids: int = 32
    num_test_ids: int = 32
    num_cameras: int = 4
    images_per_camera: int = 3
    height: int = 128
    width: int = 64
    num_distractors: int = 16
    occlusion: float = 0.4
    noise: float = 0.02
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` for out-of-range values."""
        for name in ("num_train_ids", "num_test_ids", "num_cameras", "height", "width"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if not isinstance(self.images_per_camera, int) or self.images_per_camera < 2:
            raise ValueError(f"images_per_camera: expected an int >= 2, got {self.images_per_camera!r}")
        if self.num_cameras < 2:
            raise ValueError(f"num_cameras: expected at least 2 cameras, got {self.num_cameras!r}")
        if self.num_train_ids + self.num_test_ids > 9998:
            raise ValueError("num_train_ids + num_test_ids: at most 9998 identities fit Market's 4-digit ids")
        if self.height < 16 or self.width < 8:
            raise ValueError(f"height, width: expected at least 16 x 8, got {self.height} x {self.width}")
        if not isinstance(self.num_distractors, int) or self.num_distractors < 0:
            raise ValueError(f"num_distractors: expected a non-negative int, got {self.num_distractors!r}")
        if not 0.0 <= float(self.occlusion) <= 1.0:
            raise ValueError(f"occlusion: expected a number in [0, 1], got {self.occlusion!r}")
        if not 0.0 <= float(self.noise) <= 0.5:
            raise ValueError(f"noise: expected a number in [0, 0.5], got {self.noise!r}")
        if self.num_cameras > 9:
            raise ValueError(f"num_cameras: Market names hold one digit, expected at most 9, got {self.num_cameras}")


@dataclass
class SyntheticSplit:
    """One split: images (N, H, W, 3) float32 in [0, 1], person ids and 0-based camera ids.

    ``len(split)`` is the number of images ``N``. The arrays are stored as given (no copy, no
    check).

    Parameters
    ----------
    images : numpy.ndarray (N, H, W, 3), float32 in [0, 1]
        RGB images.
    pids : numpy.ndarray (N,) of int64
        Person ids (0 = distractor, as in Market-1501's ``0000`` files).
    camids : numpy.ndarray (N,) of int64
        0-based camera ids (camera ``c`` is written as ``c{c+1}`` in Market names).
    frames : numpy.ndarray (N,) of int64, optional
        Running frame numbers used in the Market file names (default: empty).

    References
    ----------
    Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015 (Market-1501
    identity / camera / frame naming).

    Examples
    --------
    >>> s = SyntheticSplit(np.zeros((2, 8, 4, 3), np.float32), np.array([1, 2]), np.array([0, 1]))
    >>> len(s), s.images.shape, s.frames.shape
    (2, (2, 8, 4, 3), (0,))
    """

    images: np.ndarray
    pids: np.ndarray
    camids: np.ndarray
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass
class SyntheticPersons:
    """The three Market-1501 splits of the synthetic data set (SYNTHETIC).

    Built by :func:`make_synthetic_persons`; :meth:`write_market` writes it to disk in the
    Market-1501 folder layout.

    Parameters
    ----------
    train : SyntheticSplit
        Training images (``bounding_box_train``), ids ``1 .. num_train_ids``.
    query : SyntheticSplit
        One image per test identity and camera (``query``).
    gallery : SyntheticSplit
        The other test images plus the distractors of id 0 (``bounding_box_test``).
    config : SyntheticPersonsConfig
        The configuration that generated the data.

    References
    ----------
    Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015 (split
    structure). Seed 000 (experiments on Market-1501).

    Examples
    --------
    >>> data = make_synthetic_persons(num_train_ids=2, num_test_ids=2, num_cameras=2,
    ...                               images_per_camera=2, num_distractors=1, height=32, width=16)
    >>> sorted(set(data.train.pids.tolist())), sorted(set(data.query.pids.tolist()))
    ([1, 2], [3, 4])
    >>> sorted(set(data.gallery.pids.tolist())), data.config.num_cameras
    ([0, 3, 4], 2)
    """

    train: SyntheticSplit
    query: SyntheticSplit
    gallery: SyntheticSplit
    config: SyntheticPersonsConfig

    def write_market(self, root: str | os.PathLike, ext: str = ".jpg") -> Path:
        """Write ``root/{bounding_box_train,query,bounding_box_test}`` with Market-1501 names.

        Camera ``c`` (0-based) becomes ``c{c+1}``; the sequence is always ``s1``, the frame a
        running number and the box index ``01``. Files are written atomically.

        Parameters
        ----------
        root : str or os.PathLike
            Folder to write into (created when missing).
        ext : {".jpg", ".png"}
            Image format of the files.

        Returns
        -------
        Path
            ``root``.

        Raises
        ------
        ValueError
            For another ``ext``.
        """
        from nlvision.imageio import save_image

        if ext not in (".jpg", ".png"):
            raise ValueError(f"ext: expected '.jpg' or '.png', got {ext!r}")
        root = Path(root)
        for folder, split in (("bounding_box_train", self.train), ("query", self.query), ("bounding_box_test", self.gallery)):
            d = root / folder
            d.mkdir(parents=True, exist_ok=True)
            for img, pid, cam, frame in zip(split.images, split.pids, split.camids, split.frames):
                save_image(d / f"{int(pid):04d}_c{int(cam) + 1}s1_{int(frame):06d}_01{ext}", img)
        return root


def _identity(rng: np.random.Generator) -> dict:
    """Draw the appearance of one person."""
    def colour() -> np.ndarray:
        # saturated-ish colours from HSV-like sampling
        base = rng.random(3)
        base = 0.15 + 0.8 * (base - base.min()) / max(base.max() - base.min(), 1e-6) * rng.uniform(0.4, 1.0)
        return np.clip(base * rng.uniform(0.5, 1.0), 0.02, 0.98)

    return {
        "shirt": colour(),
        "shirt2": colour(),
        "pattern": int(rng.integers(len(PATTERNS))),
        "period": float(rng.uniform(0.03, 0.08)),
        "trousers": colour() * rng.uniform(0.4, 1.0),
        "shoes": np.full(3, rng.uniform(0.05, 0.5)),
        "skin": np.array([0.95, 0.75, 0.6]) * rng.uniform(0.45, 1.0),
        "hair": np.array([0.3, 0.2, 0.1]) * rng.uniform(0.1, 2.5),
        "bag": bool(rng.random() < 0.4),
        "bag_colour": colour(),
        "height": float(rng.uniform(0.78, 0.96)),
        "shoulder": float(rng.uniform(0.30, 0.46)),
        "torso": float(rng.uniform(0.36, 0.5)),
        "head": float(rng.uniform(0.11, 0.15)),
    }


def _camera(rng: np.random.Generator, occlusion: float) -> dict:
    return {
        "gain": float(rng.uniform(0.65, 1.25)),
        "cast": rng.uniform(0.8, 1.2, size=3),
        "bg": rng.uniform(0.15, 0.85, size=3),
        "bg2": rng.uniform(0.15, 0.85, size=3),
        "texture": float(rng.uniform(0.05, 0.2)),
        "texture_period": float(rng.uniform(0.05, 0.2)),
        "scale": float(rng.uniform(0.78, 1.0)),
        "offset": float(rng.uniform(-0.04, 0.04)),
        "occlusion": float(rng.uniform(0.0, occlusion)),
    }


def _render(person: dict, cam: dict, rng: np.random.Generator, h: int, w: int, noise: float) -> np.ndarray:
    """Render one image (H, W, 3) in [0, 1]; vectorised over pixels."""
    yy, xx = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    # background: vertical gradient between two colours + stripes texture (wall / floor)
    t = yy[..., None]
    img = cam["bg"] * (1 - t) + cam["bg2"] * t
    img = img + cam["texture"] * (np.sin(2 * np.pi * (xx + 0.3 * yy) / cam["texture_period"]) > 0)[..., None] - cam["texture"] / 2
    # geometry of the person in this view
    scale = cam["scale"] * rng.uniform(0.95, 1.05)
    ph = person["height"] * scale
    top = 0.5 - ph / 2 + cam["offset"] + rng.uniform(-0.03, 0.03)
    cx = 0.5 + rng.uniform(-0.06, 0.06)
    half = person["shoulder"] * scale / 2
    head_h = person["head"] * ph / person["height"] * 0.9
    neck = top + head_h
    torso_end = neck + person["torso"] * (ph - head_h)
    bottom = top + ph
    stride = rng.uniform(-0.5, 0.5)  # walking pose
    flip = rng.random() < 0.5
    xr = (xx - cx) * (-1 if flip else 1)  # mirrored view
    # legs (two, with stride), shoes
    leg_w = half * 0.42
    for side in (-1, 1):
        lx = side * half * 0.45 + side * stride * half * 0.3 * (yy - torso_end) / max(bottom - torso_end, 1e-3)
        leg = (yy >= torso_end) & (yy < bottom) & (np.abs(xr - lx) < leg_w)
        img[leg] = person["trousers"]
        shoe = leg & (yy > bottom - 0.03)
        img[shoe] = person["shoes"]
    # torso with pattern
    taper = 1.0 - 0.15 * (yy - neck) / max(torso_end - neck, 1e-3)
    torso = (yy >= neck) & (yy < torso_end) & (np.abs(xr) < half * taper)
    u = (yy - neck) / person["period"]
    v = xr / person["period"]
    pattern = PATTERNS[person["pattern"]]
    if pattern == "solid":
        alt = np.zeros_like(yy, dtype=bool)
    elif pattern == "hstripes":
        alt = (np.floor(u) % 2) == 1
    elif pattern == "vstripes":
        alt = (np.floor(v) % 2) == 1
    else:
        alt = ((np.floor(u) + np.floor(v)) % 2) == 1
    shirt = np.where(alt[..., None], person["shirt2"], person["shirt"])
    img = np.where(torso[..., None], shirt, img)
    # arms (sleeves in the shirt colour, hands in skin), swinging opposite to the legs
    arm_w = half * 0.22
    for side in (-1, 1):
        ax = side * (half + arm_w * 0.9) - side * stride * 0.02 * (yy - neck) / max(torso_end - neck, 1e-3)
        arm = (yy >= neck + 0.01) & (yy < torso_end + 0.04) & (np.abs(xr - ax) < arm_w)
        img[arm] = person["shirt"]
        hand = arm & (yy >= torso_end)
        img[hand] = person["skin"]
    # bag on one side
    if person["bag"]:
        bag = (yy >= neck + 0.6 * (torso_end - neck)) & (yy < torso_end + 0.06) & (xr > half * 0.6) & (xr < half * 1.5)
        img[bag] = person["bag_colour"]
    # head + hair
    hc = top + head_h / 2
    head = ((yy - hc) / (head_h / 2)) ** 2 + (xr / (half * 0.55)) ** 2 <= 1.0
    img[head] = person["skin"]
    hair = head & (yy < hc - head_h * 0.15)
    img[hair] = person["hair"]
    # camera: illumination and colour cast
    img = img * cam["gain"] * cam["cast"]
    # partial occlusion
    if rng.random() < cam["occlusion"]:
        colour = rng.uniform(0.1, 0.9, size=3)
        if rng.random() < 0.5:  # from below (a car, a barrier)
            y0 = rng.uniform(0.6, 0.8)
            occ = yy >= y0
        else:  # from a side (a pole, another person)
            x0 = rng.uniform(0.55, 0.75)
            occ = xx >= x0 if rng.random() < 0.5 else xx <= 1 - x0
        img[occ] = colour * cam["gain"]
    img = img + rng.normal(0.0, noise, size=img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def make_synthetic_persons(config: SyntheticPersonsConfig | None = None, **overrides) -> SyntheticPersons:
    """Generate the synthetic data set (deterministic given the configuration).

    Parameters
    ----------
    config : SyntheticPersonsConfig, optional
        Options; ``None`` means ``SyntheticPersonsConfig()``.
    **overrides
        Fields of :class:`SyntheticPersonsConfig` that replace those of ``config`` (e.g.
        ``num_cameras=2``).

    Returns
    -------
    SyntheticPersons
        ``train`` (ids 1..num_train_ids), ``query`` and ``gallery`` (ids after them, distractors
        with id 0 in the gallery).

    Raises
    ------
    ValueError
        For invalid options or unknown field names.

    References
    ----------
    Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015 (split
    structure). Seed 000 (experiments on Market-1501).

    Examples
    --------
    Sizes by hand: train 2 ids × 2 cameras × 2 images = 8; query 2 ids × 2 cameras = 4;
    gallery 2 × 2 × (2 − 1) + 1 distractor = 5.

    >>> data = make_synthetic_persons(num_train_ids=2, num_test_ids=2, num_cameras=2,
    ...                               images_per_camera=2, num_distractors=1, height=32, width=16)
    >>> len(data.train), len(data.query), len(data.gallery), data.train.images.shape[1:]
    (8, 4, 5, (32, 16, 3))
    >>> again = make_synthetic_persons(data.config)   # deterministic
    >>> bool(np.array_equal(again.gallery.images, data.gallery.images))
    True
    >>> make_synthetic_persons(colour=1)
    Traceback (most recent call last):
    ...
    ValueError: unknown option(s) ['colour']; valid: ['height', 'images_per_camera', 'noise', 'num_cameras', 'num_distractors', 'num_test_ids', 'num_train_ids', 'occlusion', 'seed', 'width']
    """
    config = config or SyntheticPersonsConfig()
    if overrides:
        valid = set(asdict(config))
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ValueError(f"unknown option(s) {unknown}; valid: {sorted(valid)}")
        config = SyntheticPersonsConfig(**{**asdict(config), **overrides})
    config.validate()
    root = np.random.SeedSequence(config.seed)
    id_seq, cam_seq, img_seq = root.spawn(3)
    n_ids = config.num_train_ids + config.num_test_ids
    id_rngs = [np.random.default_rng(s) for s in id_seq.spawn(n_ids + config.num_distractors)]
    persons = [_identity(r) for r in id_rngs]
    cam_rng = np.random.default_rng(cam_seq)
    cams = [_camera(cam_rng, config.occlusion) for _ in range(config.num_cameras)]
    img_rng = np.random.default_rng(img_seq)
    h, w = config.height, config.width
    frame = 0

    def shots(pid_index: int, cam: int, count: int):
        nonlocal frame
        out = []
        for _ in range(count):
            frame += 1
            out.append((_render(persons[pid_index], cams[cam], img_rng, h, w, config.noise), frame))
        return out

    def split(items: list[tuple[np.ndarray, int, int, int]]) -> SyntheticSplit:
        if not items:
            return SyntheticSplit(np.zeros((0, h, w, 3), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        imgs, pids, cams_, frames = zip(*items)
        return SyntheticSplit(np.stack(imgs), np.array(pids, np.int64), np.array(cams_, np.int64), np.array(frames, np.int64))

    train, query, gallery = [], [], []
    for i in range(n_ids):
        pid = i + 1
        for c in range(config.num_cameras):
            for k, (img, fr) in enumerate(shots(i, c, config.images_per_camera)):
                if i < config.num_train_ids:
                    train.append((img, pid, c, fr))
                elif k == 0:
                    query.append((img, pid, c, fr))
                else:
                    gallery.append((img, pid, c, fr))
    for j in range(config.num_distractors):
        c = int(img_rng.integers(config.num_cameras))
        (img, fr), = shots(n_ids + j, c, 1)
        gallery.append((img, 0, c, fr))
    return SyntheticPersons(split(train), split(query), split(gallery), config)
