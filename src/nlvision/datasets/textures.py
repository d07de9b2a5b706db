"""Texture anomaly benchmark (deterministic) and the loader for a user's anomaly data set.

Real anomaly data sets (SEM nanofibres, MVTec AD) are not bundled, so the benchmark plants
defects into *real* textures shipped with scikit-image (brick, grass, gravel) — the closest
offline stand-in for the regular-texture inspection problems of seed 003 ("Anomaly detection").
The defects are of four kinds:

``foreign``   a patch of another texture pasted in (feathered border),
``scratch``   a thin bright or dark line segment, slightly curved,
``blob``      a smooth elliptical stain (darker or brighter),
``intensity`` a region whose contrast and brightness change (gain + offset).

Every defect comes with its pixel mask. The same seed gives the same benchmark.

Split of every texture (512x512) into full-width horizontal bands, so that the slow
left-to-right changes of illumination and contrast of the photographs are shared by all parts:
rows 0-191 are the training set ``S``, rows 192-287 the validation set ``V`` (disjoint, as the
seed requires ``V ∩ S = ∅``), rows 288-511 (224x512) the test area in which defects are planted.

Readers of users' data sets (MVTec AD layout, generic folders) are in
:mod:`nlvision.restoration.anomaly.readers`; the SEM-nanofibre-like generator is
:mod:`nlvision.datasets.nanofibres`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "TEXTURES",
    "DEFECT_KINDS",
    "AnomalyImage",
    "TextureBenchmark",
    "load_texture",
    "plant_defect",
    "make_texture_benchmark",
]

#: Bundled scikit-image textures used by the benchmark.
TEXTURES = ("brick", "grass", "gravel")
#: Kinds of planted defects.
DEFECT_KINDS = ("foreign", "scratch", "blob", "intensity")


@dataclass
class AnomalyImage:
    """A test image and its pixel ground truth (True = anomalous).

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Gray image in [0, 1].
    mask : ndarray of bool, shape (H, W)
        Ground truth: True where a defect was planted.
    name : str, default ""
        Identifier (file stem or ``<texture>_<index>``).
    kinds : list of str, optional
        Kinds of the planted defects (from :data:`DEFECT_KINDS`); empty for a normal image.

    References
    ----------
    Seed 003, "Anomaly detection" (test images with pixel-level ground truth).

    Examples
    --------
    >>> a = AnomalyImage(np.zeros((4, 4)), np.eye(4, dtype=bool), "x", ["scratch"])
    >>> int(a.mask.sum()), a.kinds
    (4, ['scratch'])
    """

    image: np.ndarray
    mask: np.ndarray
    name: str = ""
    kinds: list = field(default_factory=list)


@dataclass
class TextureBenchmark:
    """Normal training/validation images and defective test images of one texture.

    Parameters
    ----------
    texture : str
        Name of the texture (one of :data:`TEXTURES`).
    train : list of ndarray
        Normal images that the dictionary is learned on.
    val : list of ndarray
        Disjoint normal images on which the density and thresholds are fitted.
    test : list of AnomalyImage
        Images with planted defects and their masks.
    zoom : float, default 1.0
        Scale factor applied to the test images (1 = the training scale).

    References
    ----------
    Seed 003, "Anomaly detection" (training, validation and test sets of normal patches).

    Examples
    --------
    >>> b = TextureBenchmark("brick", [], [], [], zoom=0.7)
    >>> b.texture, b.zoom
    ('brick', 0.7)
    """

    texture: str
    train: list
    val: list
    test: list
    zoom: float = 1.0


def load_texture(name: str) -> np.ndarray:
    """A bundled scikit-image texture as a float64 gray image in [0, 1].

    Parameters
    ----------
    name : str
        One of :data:`TEXTURES`.

    Returns
    -------
    ndarray, shape (512, 512)
        The texture, gray, float64 in [0, 1].

    Raises
    ------
    ValueError
        For an unknown name (lists the valid ones).

    Examples
    --------
    >>> load_texture("brick").shape
    (512, 512)
    """
    if name not in TEXTURES:
        raise ValueError(f"texture: unknown name {name!r}; valid: {', '.join(TEXTURES)}")
    import skimage.data

    from nlvision.imageio import to_float, to_gray

    return to_gray(to_float(getattr(skimage.data, name)()))


def _rescale(image: np.ndarray, zoom: float) -> np.ndarray:
    if zoom == 1.0:
        return image
    from skimage.transform import rescale

    return np.clip(rescale(image, zoom, order=3, anti_aliasing=zoom < 1, mode="reflect"), 0, 1)


def _feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return np.clip(gaussian_filter(mask.astype(np.float64), sigma), 0, 1)


def plant_defect(
    image: np.ndarray,
    kind: str,
    rng: np.random.Generator,
    *,
    size: int = 40,
    foreign: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Plant one defect of ``kind`` at a random place; return (image, mask).

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Gray image in [0, 1] (not modified).
    kind : str
        One of :data:`DEFECT_KINDS`.
    rng : numpy.random.Generator
        Source of the position, shape and polarity.
    size : int, default 40
        Typical extent of the defect in pixels.
    foreign : ndarray, optional
        Source texture for ``kind="foreign"`` (at least ``size`` on each side).

    Returns
    -------
    (ndarray, ndarray)
        Defective image in [0, 1] and the boolean mask of altered pixels.

    Raises
    ------
    ValueError
        Unknown kind, image smaller than ``size + 4``, or a missing foreign texture.

    Examples
    --------
    >>> img, m = plant_defect(np.full((64, 64), 0.5), "blob", np.random.default_rng(0), size=20)
    >>> bool(m.any()), img.shape
    (True, (64, 64))
    """
    if kind not in DEFECT_KINDS:
        raise ValueError(f"kind: unknown defect {kind!r}; valid: {', '.join(DEFECT_KINDS)}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {image.shape}")
    h, w = image.shape
    size = int(size)
    if size < 4 or h < size + 4 or w < size + 4:
        raise ValueError(f"size={size} does not fit image of shape {image.shape}")
    cy = rng.integers(size // 2 + 2, h - size // 2 - 2)
    cx = rng.integers(size // 2 + 2, w - size // 2 - 2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = image.copy()
    if kind == "foreign":
        if foreign is None:
            raise ValueError("foreign: a source texture is needed for kind='foreign'")
        fh, fw = foreign.shape
        if fh < size or fw < size:
            raise ValueError(f"foreign texture of shape {foreign.shape} is smaller than size={size}")
        a = rng.uniform(0.7, 1.0) * size / 2
        b = rng.uniform(0.7, 1.0) * size / 2
        region = ((yy - cy) / a) ** 2 + ((xx - cx) / b) ** 2 <= 1.0
        oy = rng.integers(0, fh - size + 1)
        ox = rng.integers(0, fw - size + 1)
        src = np.zeros_like(out)
        y0, x0 = cy - size // 2, cx - size // 2
        src[y0 : y0 + size, x0 : x0 + size] = foreign[oy : oy + size, ox : ox + size]
        # match the mean brightness so the defect is a texture change, not a brightness step
        src_mean = foreign[oy : oy + size, ox : ox + size].mean()
        src[y0 : y0 + size, x0 : x0 + size] += out[region].mean() - src_mean
        alpha = _feather(region, 1.0) * region
        out = (1 - alpha) * out + alpha * src
        mask = region
    elif kind == "scratch":
        angle = rng.uniform(0, np.pi)
        length = size * rng.uniform(1.0, 1.6)
        width = rng.uniform(1.5, 3.0)
        bend = rng.uniform(-0.15, 0.15) * length
        t = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        nrm = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        nrm = nrm - bend * (1 - (2 * t / length) ** 2)
        region = (np.abs(t) <= length / 2) & (np.abs(nrm) <= width / 2)
        level = 0.95 if rng.random() < 0.5 else 0.05
        alpha = 0.85 * _feather(region, 0.6)
        out = (1 - alpha) * out + alpha * level
        mask = region
    elif kind == "blob":
        a = rng.uniform(0.5, 1.0) * size / 2
        b = rng.uniform(0.5, 1.0) * size / 2
        r2 = ((yy - cy) / a) ** 2 + ((xx - cx) / b) ** 2
        profile = np.clip(1.2 * (1.0 - r2), 0.0, 1.0)  # smooth stain, zero outside the mask
        level = rng.uniform(0.05, 0.2) if rng.random() < 0.5 else rng.uniform(0.8, 0.95)
        alpha = 0.85 * profile
        out = (1 - alpha) * out + alpha * level
        mask = r2 <= 1.0
    else:  # intensity
        a = rng.uniform(0.7, 1.0) * size / 2
        b = rng.uniform(0.7, 1.0) * size / 2
        region = ((yy - cy) / a) ** 2 + ((xx - cx) / b) ** 2 <= 1.0
        gain = rng.uniform(0.3, 0.5) if rng.random() < 0.5 else rng.uniform(1.6, 2.0)
        offset = rng.uniform(-0.12, 0.12)
        m = out[region].mean()
        changed = np.clip((out - m) * gain + m + offset, 0, 1)
        alpha = _feather(region, 1.5) * region
        out = (1 - alpha) * out + alpha * changed
        mask = region
    return np.clip(out, 0.0, 1.0), mask.astype(bool)


def make_texture_benchmark(
    texture: str = "brick",
    *,
    n_test: int = 4,
    defects_per_image: int = 3,
    defect_size: int = 40,
    zoom: float = 1.0,
    seed: int = 0,
) -> TextureBenchmark:
    """Deterministic anomaly benchmark on a bundled scikit-image texture.

    Parameters
    ----------
    texture : str
        One of :data:`TEXTURES`.
    n_test : int, default 4
        Number of defective test images (each a copy of the test area with new defects).
    defects_per_image : int, default 3
        Defects planted per test image; kinds cycle through :data:`DEFECT_KINDS`.
    defect_size : int, default 40
        Typical defect extent in pixels (at the test zoom).
    zoom : float, default 1
        Test images are rescaled by this factor *before* the defects are planted
        (domain shift: zoom levels not seen in training). Training/validation stay at zoom 1.
    seed : int
        Seed of the defect positions and shapes.

    Returns
    -------
    TextureBenchmark
        The normal training/validation crops and the defective test images.

    Raises
    ------
    ValueError
        Unknown texture, non-positive counts or zoom.

    Examples
    --------
    >>> b = make_texture_benchmark("grass", n_test=1, defects_per_image=1)
    >>> b.train[0].shape, b.val[0].shape, b.test[0].image.shape
    ((192, 512), (96, 512), (224, 512))
    """
    if texture not in TEXTURES:
        raise ValueError(f"texture: unknown name {texture!r}; valid: {', '.join(TEXTURES)}")
    if int(n_test) < 1 or int(defects_per_image) < 0:
        raise ValueError(f"n_test must be >= 1 and defects_per_image >= 0, got {n_test}, {defects_per_image}")
    if not (zoom > 0 and np.isfinite(zoom)):
        raise ValueError(f"zoom must be a positive number, got {zoom}")
    img = load_texture(texture)
    train = img[:192].copy()
    val = img[192:288].copy()
    test_area = _rescale(img[288:], float(zoom))
    others = [load_texture(t) for t in TEXTURES if t != texture]
    rng = np.random.default_rng([int(seed), TEXTURES.index(texture)])
    tests = []
    kind_counter = 0
    for k in range(int(n_test)):
        im = test_area.copy()
        mask = np.zeros(im.shape, dtype=bool)
        kinds = []
        for _ in range(int(defects_per_image)):
            kind = DEFECT_KINDS[kind_counter % len(DEFECT_KINDS)]
            kind_counter += 1
            foreign = others[int(rng.integers(len(others)))]
            im, m = plant_defect(im, kind, rng, size=defect_size, foreign=foreign)
            mask |= m
            kinds.append(kind)
        tests.append(AnomalyImage(im, mask, name=f"{texture}_test{k}", kinds=kinds))
    return TextureBenchmark(texture=texture, train=[train], val=[val], test=tests, zoom=float(zoom))
