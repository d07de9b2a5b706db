"""Deterministic synthetic articulated figures with the 16 MPII joints (SYNTHETIC data).

Each sample is a colour image of one stick-and-capsule "person" in a random pose of a
kinematic skeleton (torso, neck, head, two arms with elbows, two legs with knees), drawn with
random limb lengths and widths over a textured, cluttered background, plus *distractor limbs*
(loose capsules in the person's colours) so that an attention model has regions to discard.
The annotation follows the MPII layout: 16 joints in MPII order, a visibility flag per joint,
a person centre and scale (person height / 200 px) and a head box for PCKh.

The person's right limbs are drawn darker than the left ones, so left and right are
distinguishable (a synthetic stand-in for the frontal/back cues of real images).

Everything is a pure function of ``(seed, index)``: the same seed gives the same data set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import ndimage

__all__ = [
    "MPII_JOINTS",
    "MPII_FLIP_PAIRS",
    "MPII_SKELETON",
    "SyntheticFigureConfig",
    "FigureSample",
    "SyntheticFigures",
    "render_figure",
    "sample_pose",
]

#: The 16 MPII joints, in MPII order.
MPII_JOINTS = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
)
#: Left/right joint pairs (swapped when an image is flipped).
MPII_FLIP_PAIRS = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))
#: Limbs (parent, child) of the skeleton, used for drawing.
MPII_SKELETON = (
    (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
    (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15),
)


@dataclass
class SyntheticFigureConfig:
    """Settings of the synthetic-figure generator (image size, distractors, clutter, height).

    Parameters
    ----------
    image_size : int, default 256
        Side of the square scene images (at least 32).
    distractors : tuple of (int, int), default (2, 5)
        Range (inclusive) of the number of distractor limbs per image.
    clutter : int, default 12
        Number of background clutter shapes (rectangles and discs).
    person_height : tuple of (float, float), default (0.55, 0.8)
        Range of the figure's height as a fraction of the image side (within [0.1, 0.95]).

    See Also
    --------
    render_figure, SyntheticFigures : The generators that use it.

    Notes
    -----
    Construction does not check the values; :meth:`validate` does (the generators call it) and
    raises ``ValueError`` naming the field.

    References
    ----------
    Seed 002, section 3 (attention masks should discard background and redundant regions,
    hence the clutter and distractor limbs); M. Andriluka, L. Pishchulin, P. Gehler and B. Schiele, "2D human pose estimation: new
    benchmark and state of the art analysis", CVPR 2014 (the MPII joint order, centre/scale and
    head-box conventions).

    Examples
    --------
    >>> cfg = SyntheticFigureConfig(image_size=64, distractors=(0, 0)).validate()
    >>> cfg.image_size, cfg.distractors, cfg.clutter
    (64, (0, 0), 12)
    >>> SyntheticFigureConfig(image_size=16).validate()
    Traceback (most recent call last):
        ...
    ValueError: image_size: expected an integer ≥ 32, got 16
    """

    image_size: int = 256
    distractors: tuple[int, int] = (2, 5)
    clutter: int = 12
    person_height: tuple[float, float] = (0.55, 0.8)

    def validate(self) -> "SyntheticFigureConfig":
        """Check the values; returns self (``ValueError`` naming the field otherwise)."""
        if isinstance(self.image_size, bool) or not isinstance(self.image_size, int) or self.image_size < 32:
            raise ValueError(f"image_size: expected an integer ≥ 32, got {self.image_size!r}")
        lo, hi = self.distractors
        if not (0 <= lo <= hi):
            raise ValueError(f"distractors: expected 0 ≤ low ≤ high, got {self.distractors!r}")
        if self.clutter < 0:
            raise ValueError(f"clutter: expected ≥ 0, got {self.clutter!r}")
        a, b = self.person_height
        if not (0.1 <= a <= b <= 0.95):
            raise ValueError(f"person_height: expected 0.1 ≤ low ≤ high ≤ 0.95, got {self.person_height!r}")
        return self


class FigureSample(NamedTuple):
    """One synthetic sample (MPII-style annotation, 0-based pixel coordinates).

    Parameters
    ----------
    image : ndarray (H, W, 3) float32 in [0, 1]
        The colour scene.
    joints : ndarray (16, 2) float64
        ``(x, y)`` of the 16 joints, in MPII order (:data:`MPII_JOINTS`).
    visible : ndarray (16,) bool
        Visibility flag of each joint (all True for synthetic figures).
    center : ndarray (2,) float64
        ``(x, y)`` person centre: the middle of the joints' bounding box.
    scale : float
        Person height / 200 (MPII convention): ``1.15 ×`` the longer side of the joints'
        bounding box, divided by 200.
    headbox : ndarray (2, 2) float64
        ``[[x1, y1], [x2, y2]]``, the head box used by PCKh.
    figure : ndarray (H, W) float32 in [0, 1]
        Silhouette of the person (coverage of its capsules; distractor limbs excluded), for
        measuring where attention masks discard pixels.

    References
    ----------
    M. Andriluka, L. Pishchulin, P. Gehler and B. Schiele, "2D human pose estimation: new
    benchmark and state of the art analysis", CVPR 2014 (the MPII joint order, centre/scale and
    head-box conventions); seed 002, section 4 (MPII, PCKh).

    Examples
    --------
    >>> s = render_figure(np.random.default_rng(0), SyntheticFigureConfig(image_size=64))
    >>> s._fields
    ('image', 'joints', 'visible', 'center', 'scale', 'headbox', 'figure')
    >>> lo, hi = s.joints.min(0), s.joints.max(0)
    >>> bool(np.allclose(s.center, (lo + hi) / 2)), bool(np.isclose(s.scale, 1.15 * (hi - lo).max() / 200))
    (True, True)
    """

    image: np.ndarray
    joints: np.ndarray
    visible: np.ndarray
    center: np.ndarray
    scale: float
    headbox: np.ndarray
    figure: np.ndarray


def _dir(theta: np.ndarray) -> np.ndarray:
    """Unit vector at angle ``theta`` from the downward image axis (x = sin, y = cos)."""
    return np.stack([np.sin(theta), np.cos(theta)], axis=-1)


def sample_pose(rng: np.random.Generator, height: float) -> tuple[np.ndarray, dict[str, float]]:
    """Random pose of the kinematic skeleton, pelvis at the origin.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    height : float
        Approximate standing height in pixels (sets the limb lengths).

    Returns
    -------
    joints : ndarray (16, 2)
        MPII-ordered joints relative to the pelvis.
    widths : dict
        Limb half-widths in pixels (``torso``, ``arm``, ``leg``, ``head``).

    Examples
    --------
    >>> j, w = sample_pose(np.random.default_rng(0), 100.0)
    >>> j.shape, bool(np.allclose(j[6], 0))
    ((16, 2), True)
    """
    if not np.isfinite(height) or height <= 0:
        raise ValueError(f"height: expected a positive number, got {height!r}")
    u = rng.uniform
    h = height * u(0.9, 1.1)
    torso, neck, head = h * u(0.27, 0.32), h * u(0.05, 0.07), h * u(0.11, 0.13)
    thigh, shin = h * u(0.22, 0.26), h * u(0.22, 0.26)
    upper, fore = h * u(0.16, 0.19), h * u(0.14, 0.17)
    hip_w, sho_w = h * u(0.05, 0.08), h * u(0.09, 0.12)
    tilt = u(-0.35, 0.35)  # torso lean
    j = np.zeros((16, 2))
    up = np.pi + tilt
    j[7] = _dir(up) * torso
    j[8] = j[7] + _dir(up + u(-0.3, 0.3)) * neck
    j[9] = j[8] + _dir(up + u(-0.4, 0.4)) * head
    side = _dir(np.array(tilt + np.pi / 2))  # perpendicular to the torso, pointing image-right
    # Frontal view: the person's right is on the image's left.
    j[2] = -side * hip_w
    j[3] = side * hip_w
    j[12] = j[7] - side * sho_w
    j[13] = j[7] + side * sho_w
    for hip, knee, ankle, sgn in ((2, 1, 0, -1.0), (3, 4, 5, 1.0)):
        a = tilt + sgn * u(-0.25, 0.9)  # abduction, mostly outwards
        j[knee] = j[hip] + _dir(a) * thigh
        j[ankle] = j[knee] + _dir(a - sgn * u(-0.2, 1.6)) * shin
    for sho, elb, wri, sgn in ((12, 11, 10, -1.0), (13, 14, 15, 1.0)):
        a = tilt + sgn * u(-0.3, 2.6)
        j[elb] = j[sho] + _dir(a) * upper
        j[wri] = j[elb] + _dir(a + sgn * u(-2.4, 0.6)) * fore
    widths = {
        "torso": h * u(0.06, 0.08),
        "arm": h * u(0.025, 0.035),
        "leg": h * u(0.03, 0.045),
        "head": h * u(0.045, 0.055),
    }
    return j, widths


def _paint_capsule(img: np.ndarray, seg: np.ndarray, radius: float, color: np.ndarray, grain: np.ndarray,
                   cover: np.ndarray | None = None) -> None:
    """Composite one anti-aliased capsule (segment ``seg`` (2, 2), half-width ``radius``) into ``img``.

    Only the capsule's bounding box is touched (vectorised over its pixels). ``cover`` (H, W),
    when given, receives the capsule's coverage (maximum with what it holds).
    """
    size_y, size_x = img.shape[:2]
    lo = np.floor(seg.min(0) - radius - 1).astype(int)
    hi = np.ceil(seg.max(0) + radius + 2).astype(int)
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], size_x), min(hi[1], size_y)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    p0 = seg[0].astype(np.float32)
    d = (seg[1] - seg[0]).astype(np.float32)
    den = max(float(d @ d), 1e-9)
    t = np.clip(((xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]) / den, 0.0, 1.0)
    dist = np.hypot(xx - p0[0] - t * d[0], yy - p0[1] - t * d[1])
    a = np.clip(radius - dist + 0.5, 0.0, 1.0)[..., None]
    if cover is not None:
        np.maximum(cover[y0:y1, x0:x1], a[..., 0], out=cover[y0:y1, x0:x1])
    patch = img[y0:y1, x0:x1]
    patch *= 1 - a
    patch += a * (np.clip(color, 0, 1).astype(np.float32) * grain[y0:y1, x0:x1])


def _background(rng: np.random.Generator, size: int, clutter: int, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    base = rng.uniform(0.15, 0.85, size=3)
    img = np.empty((size, size, 3), dtype=np.float32)
    low = max(size // 16, 2)
    coarse = ndimage.zoom(rng.standard_normal((low, low, 3)).astype(np.float32), (size / low, size / low, 1), order=1)
    coarse = coarse[:size, :size]
    fine = rng.standard_normal((size, size, 1)).astype(np.float32)
    coarse /= coarse.std() + 1e-9
    fine /= fine.std() + 1e-9
    img[:] = base + 0.12 * coarse + 0.05 * fine
    # Stripes / grain so the texture is not flat.
    freq = rng.uniform(0.05, 0.3)
    ang = rng.uniform(0, np.pi)
    img += 0.04 * np.sin(freq * (np.cos(ang) * xx + np.sin(ang) * yy))[..., None]
    for _ in range(clutter):
        color = rng.uniform(0, 1, size=3)
        cx, cy = rng.uniform(0, size, size=2)
        r = rng.uniform(0.03, 0.15) * size
        if rng.random() < 0.5:
            mask = ((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r
        else:
            rx, ry = r, rng.uniform(0.3, 1.0) * r
            mask = (np.abs(xx - cx) <= rx) & (np.abs(yy - cy) <= ry)
        img[mask] = 0.6 * img[mask] + 0.4 * color
    return img


def render_figure(
    rng: np.random.Generator, config: SyntheticFigureConfig | None = None
) -> FigureSample:
    """Draw one synthetic figure on a cluttered background.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (the sample is a pure function of its state).
    config : SyntheticFigureConfig, optional
        Generator settings.

    Returns
    -------
    FigureSample
        The image, its 16 MPII joints, visibility, centre, scale, head box and silhouette.

    Raises
    ------
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    ValueError
        If ``config`` has an invalid value (see :meth:`SyntheticFigureConfig.validate`).

    References
    ----------
    Seed 002, section 3 (regions an attention model should discard: background clutter and
    redundant limbs); M. Andriluka, L. Pishchulin, P. Gehler and B. Schiele, "2D human pose estimation: new
    benchmark and state of the art analysis", CVPR 2014 (the MPII joint order, centre/scale and
    head-box conventions).

    Examples
    --------
    >>> s = render_figure(np.random.default_rng(0), SyntheticFigureConfig(image_size=64))
    >>> s.image.shape, s.joints.shape, s.figure.shape, bool(s.visible.all())
    ((64, 64, 3), (16, 2), (64, 64), True)
    >>> bool(((s.joints >= 0) & (s.joints < 64)).all())  # the figure fits in the image
    True
    >>> hb = s.headbox  # the head box holds upper_neck (8) and head_top (9)
    >>> bool(((hb[0] <= s.joints[8:10]) & (s.joints[8:10] <= hb[1])).all())
    True
    >>> render_figure(0)
    Traceback (most recent call last):
        ...
    TypeError: rng: expected a numpy.random.Generator, got int
    """
    cfg = (config or SyntheticFigureConfig()).validate()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    size = cfg.image_size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = _background(rng, size, cfg.clutter, yy, xx)

    height = rng.uniform(*cfg.person_height) * size
    rel, widths = sample_pose(rng, height)
    # Fit the figure inside the image (margin for the limb widths), random placement.
    margin = 0.06 * size
    lo, hi = rel.min(0), rel.max(0)
    extent = np.maximum(hi - lo, 1e-6)
    fit = min(1.0, float(np.min((size - 2 * margin) / extent)))
    rel = rel * fit
    widths = {k: v * fit for k, v in widths.items()}
    lo, hi = rel.min(0), rel.max(0)
    # (rounding can leave the upper bound a hair below the lower one when the figure fills the image)
    bounds = [(margin - lo[k], max(margin - lo[k], size - margin - hi[k])) for k in (0, 1)]
    offset = np.array([rng.uniform(*bounds[0]), rng.uniform(*bounds[1])])
    joints = rel + offset

    shirt = rng.uniform(0, 1, size=3)
    pants = rng.uniform(0, 1, size=3)
    skin = np.array([0.9, 0.7, 0.55]) * rng.uniform(0.5, 1.1)
    dark = 0.55  # the person's right side is darker

    # Distractor limbs: loose capsules in the person's colours (drawn first, behind the person).
    n_dis = int(rng.integers(cfg.distractors[0], cfg.distractors[1] + 1))
    segs, radii, colors = [], [], []
    for _ in range(n_dis):
        start = rng.uniform(0, size, size=2)
        length = rng.uniform(0.12, 0.3) * height
        seg = np.stack([start, start + _dir(np.array(rng.uniform(0, 2 * np.pi))) * length])
        segs.append(seg)
        radii.append(widths[("arm", "leg")[int(rng.integers(2))]] * rng.uniform(0.8, 1.2))
        colors.append([shirt, pants, skin][int(rng.integers(3))] * rng.choice([1.0, dark]))
    # The person: legs, torso, arms, head (painter's order).
    torso_mid_hips = (joints[2] + joints[3]) / 2
    person = [
        (np.stack([joints[2], joints[1]]), widths["leg"], pants * dark),
        (np.stack([joints[1], joints[0]]), widths["leg"], pants * dark),
        (np.stack([joints[3], joints[4]]), widths["leg"], pants),
        (np.stack([joints[4], joints[5]]), widths["leg"], pants),
        (np.stack([torso_mid_hips, joints[7]]), widths["torso"], shirt),
        (np.stack([joints[12], joints[13]]), widths["arm"], shirt),
        (np.stack([joints[7], joints[8]]), widths["arm"], skin),
        (np.stack([joints[8], joints[9]]), widths["head"], skin),
        (np.stack([joints[12], joints[11]]), widths["arm"], shirt * dark),
        (np.stack([joints[11], joints[10]]), widths["arm"] * 0.9, skin * dark),
        (np.stack([joints[13], joints[14]]), widths["arm"], shirt),
        (np.stack([joints[14], joints[15]]), widths["arm"] * 0.9, skin),
    ]
    for seg, r, c in person:
        segs.append(seg)
        radii.append(r)
        colors.append(c)
    grain = (1.0 + 0.05 * rng.standard_normal((size, size, 1))).astype(np.float32)
    figure = np.zeros((size, size), dtype=np.float32)
    for k, (seg, r, c) in enumerate(zip(segs, radii, colors)):  # distractors (k < n_dis) leave no silhouette
        _paint_capsule(img, seg, float(r), c, grain, figure if k >= n_dis else None)
    img = np.clip(img, 0.0, 1.0)

    # Head box: square around the neck → head-top segment, enlarged by the head width.
    hc = (joints[8] + joints[9]) / 2
    half = 0.5 * np.linalg.norm(joints[9] - joints[8]) + widths["head"]
    headbox = np.array([hc - half, hc + half])
    lo, hi = joints.min(0), joints.max(0)
    center = (lo + hi) / 2
    scale = float(max(hi[1] - lo[1], hi[0] - lo[0], 1.0) * 1.15 / 200.0)
    visible = np.ones(16, dtype=bool)
    return FigureSample(img, joints, visible, center, scale, headbox, figure)


class SyntheticFigures:
    """A deterministic, indexable data set of synthetic figures (SYNTHETIC data).

    Sample ``i`` is :func:`render_figure` with ``numpy.random.default_rng([seed, i])``, so
    samples are generated lazily, in any order, in any worker process, identically.

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int
        Data set seed (use different seeds for training and validation sets).
    config : SyntheticFigureConfig, optional
        Generator settings.

    Examples
    --------
    >>> ds = SyntheticFigures(3, seed=1, config=SyntheticFigureConfig(image_size=48))
    >>> len(ds), ds[2].image.shape, bool(np.array_equal(ds[2].image, ds[2].image))
    (3, (48, 48, 3), True)
    """

    def __init__(self, n: int, seed: int = 0, config: SyntheticFigureConfig | None = None):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: expected a positive integer, got {n!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
        self.n = int(n)
        self.seed = int(seed)
        self.config = (config or SyntheticFigureConfig()).validate()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> FigureSample:
        if not -self.n <= index < self.n:
            raise IndexError(f"index: expected 0 ≤ index < {self.n}, got {index}")
        index %= self.n
        return render_figure(np.random.default_rng([self.seed, index]), self.config)
