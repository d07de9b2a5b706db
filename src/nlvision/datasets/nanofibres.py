"""Deterministic SEM-nanofibre-like textures with planted defects, at any zoom.

Seed 003's running example of anomaly detection ("Anomaly detection", "Counteracting domain
shift") is the inspection of SEM images of nanofibrous material (Carrera et al., IEEE TII 2017):
a dark background crossed by many randomly oriented, slightly curved, bright fibres, with defects
that are *beads* (bright droplets on the fibres) and *films* (bright membranes where fibres merge).
Those images are not public, so this module renders look-alikes offline:

* fibres are smooth random curves (a direction that performs a small random walk) drawn in a
  **physical** coordinate frame, so that a zoom ``z`` shows ``1/z^2`` as much material with fibres
  ``z`` times as wide — the domain shift of the seed's section (images "acquired at different
  zooming levels");
* every fibre has its own width and brightness; the image is ``1 - exp(-sum of fibres)``
  (overlaps saturate like secondary-electron images), plus a slow background and Gaussian noise;
* defects (their pixel masks are returned): ``bead`` (one to three bright droplets),
  ``film`` (a smooth bright membrane covering the fibres), ``clump`` (a knot of short, thin,
  tangled fibres), ``gap`` (a hole without fibres).

Everything is a function of the seed: the same arguments give the same image.
"""

from __future__ import annotations

import math

import numpy as np

from nlvision.datasets.textures import AnomalyImage

__all__ = ["NANOFIBRE_DEFECTS", "make_nanofibre_image", "make_nanofibre_benchmark"]

#: Kinds of planted defects.
NANOFIBRE_DEFECTS = ("bead", "film", "clump", "gap")

#: Fibres per 100x100 physical pixels (area density of the material).
_DENSITY = 14.0


def _fibre_layer(shape, zoom, rng, density, width_range, length_range=None, region=None):
    """Render fibres into a float canvas (before saturation)."""
    import cv2
    from scipy.ndimage import gaussian_filter

    h, w = shape
    ph, pw = h / zoom, w / zoom  # physical field of view
    margin = 40.0
    if region is None:
        y0, x0, y1, x1 = -margin, -margin, ph + margin, pw + margin
    else:
        y0, x0, y1, x1 = region
    area = (y1 - y0) * (x1 - x0)
    n = max(1, int(rng.poisson(density * area / 1e4)))
    widths = rng.uniform(*width_range, size=n)
    # widths grouped in 3 classes so that 3 blurs render every fibre
    edges = np.quantile(widths, [0, 1 / 3, 2 / 3, 1]) if n >= 3 else np.array([widths.min(), widths.max() + 1e-9])
    out = np.zeros((h, w), np.float32)
    shift = 4
    canvases = [np.zeros((h, w), np.float32) for _ in range(len(edges) - 1)]
    for i in range(n):
        py, px = rng.uniform(y0, y1), rng.uniform(x0, x1)
        theta = rng.uniform(0, np.pi)
        length = (rng.uniform(*length_range) if length_range is not None
                  else 2.5 * math.hypot(ph, pw) + 2 * margin)
        steps = max(4, int(length / 2.0))
        curv = rng.uniform(-0.02, 0.02)
        dth = rng.normal(0.0, 0.03, size=steps)
        ang = theta + np.cumsum(curv + dth)
        sign = 1 if rng.random() < 0.5 else -1
        ys = py + sign * np.concatenate([[0.0], np.cumsum(2.0 * np.sin(ang))]) - sign * math.sin(theta) * length / 2
        xs = px + sign * np.concatenate([[0.0], np.cumsum(2.0 * np.cos(ang))]) - sign * math.cos(theta) * length / 2
        pts = np.stack([xs * zoom, ys * zoom], 1) * (1 << shift)
        bright = rng.uniform(0.5, 1.0)
        k = int(np.clip(np.searchsorted(edges, widths[i], side="right") - 1, 0, len(canvases) - 1))
        cv2.polylines(canvases[k], [np.round(pts).astype(np.int32)], False, float(bright), 1, cv2.LINE_AA, shift)
    for k, c in enumerate(canvases):
        wid = 0.5 * (edges[k] + edges[k + 1]) * zoom
        sigma = max(wid / 2.355, 0.35)
        # a line of unit height blurred by a Gaussian of std sigma peaks at 1/(sqrt(2 pi) sigma)
        out += gaussian_filter(c, sigma) * (math.sqrt(2 * math.pi) * sigma) * 1.6
    return out


def make_nanofibre_image(
    shape: tuple[int, int] = (256, 256),
    *,
    zoom: float = 1.0,
    seed: int = 0,
    defects: tuple[str, ...] | list[str] = (),
    defect_size: float = 24.0,
    noise: float = 0.03,
) -> AnomalyImage:
    """Render one SEM-nanofibre-like image, optionally with planted defects.

    Parameters
    ----------
    shape : (int, int), default (256, 256)
        Image size in pixels.
    zoom : float, default 1
        Magnification: at zoom ``z`` fibres are ``z`` times wider and ``z^2`` times fewer per
        pixel (the seed's "different zooming levels").
    seed : int, default 0
        Seed of every random choice (fibres, noise, defects).
    defects : sequence of str, default ()
        Kinds from :data:`NANOFIBRE_DEFECTS`, one defect each (kinds may repeat).
    defect_size : float, default 24
        Typical defect extent in physical pixels (multiplied by ``zoom`` on the image).
    noise : float, default 0.03
        Standard deviation of the additive Gaussian noise (per pixel, independent of zoom).

    Returns
    -------
    AnomalyImage
        ``image`` (float64 in [0, 1]), ``mask`` (True on defects), ``name`` and ``kinds``.

    Raises
    ------
    ValueError
        Non-positive size or zoom, image smaller than 32 pixels or a defect larger than the
        image, or an unknown defect kind.

    References
    ----------
    Seed 003, "Anomaly detection" and "Counteracting domain shift" (SEM images of nanofibrous
    material at different zooming levels); D. Carrera, F. Manganini, G. Boracchi, E. Lanzarone,
    "Defect detection in SEM images of nanofibrous materials", IEEE TII 13(2), 2017.

    Examples
    --------
    >>> a = make_nanofibre_image((64, 64), seed=1, defects=("bead",))
    >>> a.image.shape, bool(a.mask.any()), a.kinds
    ((64, 64), True, ['bead'])
    >>> bool(np.array_equal(a.image, make_nanofibre_image((64, 64), seed=1, defects=("bead",)).image))
    True
    """
    from scipy.ndimage import gaussian_filter

    if len(tuple(shape)) != 2 or any(int(s) < 32 for s in shape):
        raise ValueError(f"shape must be two sizes >= 32, got {shape!r}")
    h, w = int(shape[0]), int(shape[1])
    if not (isinstance(zoom, (int, float)) and math.isfinite(zoom) and 0.1 <= zoom <= 10):
        raise ValueError(f"zoom must be a number in [0.1, 10], got {zoom!r}")
    for k in defects:
        if k not in NANOFIBRE_DEFECTS:
            raise ValueError(f"defects: unknown kind {k!r}; valid: {', '.join(NANOFIBRE_DEFECTS)}")
    if not (math.isfinite(defect_size) and defect_size > 0) or defect_size * zoom > 0.8 * min(h, w):
        raise ValueError(f"defect_size={defect_size} at zoom {zoom} does not fit an image of shape {(h, w)}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng([int(seed), 7301])
    fib = _fibre_layer((h, w), float(zoom), rng, _DENSITY, (2.0, 4.5))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    mask = np.zeros((h, w), bool)
    extra = np.zeros((h, w))
    cover = np.zeros((h, w))  # alpha of an overlay (film) or a hole (gap)
    cover_level = np.zeros((h, w))
    for kind in defects:
        r = 0.5 * defect_size * zoom * rng.uniform(0.7, 1.2)
        cy = rng.uniform(r + 2, h - r - 2)
        cx = rng.uniform(r + 2, w - r - 2)
        if kind == "bead":
            for _ in range(int(rng.integers(1, 4))):
                a = rng.uniform(0.25, 0.45) * r
                b = a * rng.uniform(0.6, 1.0)
                oy, ox = cy + rng.uniform(-0.5, 0.5) * r, cx + rng.uniform(-0.5, 0.5) * r
                t = rng.uniform(0, np.pi)
                u = (yy - oy) * math.cos(t) + (xx - ox) * math.sin(t)
                v = -(yy - oy) * math.sin(t) + (xx - ox) * math.cos(t)
                r2 = (u / a) ** 2 + (v / b) ** 2
                extra += 2.5 * np.clip(1.0 - r2, 0, 1) ** 0.5
                mask |= r2 <= 1.0
        elif kind in ("film", "gap"):
            a, b = r, r * rng.uniform(0.6, 1.0)
            t = rng.uniform(0, np.pi)
            u = (yy - cy) * math.cos(t) + (xx - cx) * math.sin(t)
            v = -(yy - cy) * math.sin(t) + (xx - cx) * math.cos(t)
            # irregular outline: radius modulated by low-order harmonics
            ang = np.arctan2(v, u)
            wob = 1.0 + 0.15 * np.sin(3 * ang + rng.uniform(0, 6.3)) + 0.1 * np.sin(5 * ang + rng.uniform(0, 6.3))
            r2 = (u / a) ** 2 + (v / b) ** 2
            region = r2 <= wob ** 2
            alpha = np.clip(gaussian_filter(region.astype(float), 1.0 + 0.05 * r), 0, 1) * region
            cover = np.maximum(cover, alpha)
            level = rng.uniform(0.55, 0.75) if kind == "film" else 0.0
            cover_level = np.where(alpha > 0, level, cover_level)
            mask |= region
        else:  # clump: a knot of short thin tangled fibres
            c = _fibre_layer((h, w), float(zoom), rng, 900.0, (1.0, 2.0), (0.6 * r / zoom, 1.5 * r / zoom),
                             region=((cy - 0.7 * r) / zoom, (cx - 0.7 * r) / zoom, (cy + 0.7 * r) / zoom,
                                     (cx + 0.7 * r) / zoom))
            knot = ((yy - cy) ** 2 + (xx - cx) ** 2) <= r ** 2
            c = c * gaussian_filter(knot.astype(float), 0.15 * r)
            extra += c
            mask |= (c > 0.15) | (gaussian_filter(knot.astype(float), 0.15 * r) > 0.5) & (c > 0.02)
    img = 1.0 - np.exp(-(fib + extra))
    img = (1 - cover) * img + cover * (cover_level + 0.08 * gaussian_filter(rng.standard_normal((h, w)), 2.0))
    # slow background (charging / detector gain) and noise
    g = rng.uniform(-1, 1, size=3)
    bg = 0.08 + 0.03 * (g[0] * (yy / h - 0.5) + g[1] * (xx / w - 0.5))
    img = 0.06 + 0.86 * img + bg * (1 - img)
    img = img + noise * rng.standard_normal((h, w))
    name = f"nanofibre_z{zoom:g}_s{seed}" + ("_" + "_".join(defects) if len(defects) else "")
    return AnomalyImage(np.clip(img, 0.0, 1.0), mask, name=name, kinds=list(defects))


def make_nanofibre_benchmark(
    *,
    zoom: float = 1.0,
    n_train: int = 4,
    n_val: int = 6,
    n_test_normal: int = 10,
    n_test: int = 6,
    size: int = 160,
    defects_per_image: int = 2,
    seed: int = 0,
) -> dict:
    """Normal training / validation images at zoom 1 and test images at ``zoom``.

    Parameters
    ----------
    zoom : float, default 1
        Zoom of the test images (training and validation are always at zoom 1).
    n_train, n_val : int
        Normal images for the dictionary (``S``) and for the density and thresholds (``V``).
    n_test_normal : int
        Held-out normal images at ``zoom`` (obtained image-level and pixel FPR).
    n_test : int
        Defective test images at ``zoom``; the defect kinds cycle through
        :data:`NANOFIBRE_DEFECTS`.
    size : int, default 160
        Side of every image.
    defects_per_image : int, default 2
        Defects per defective test image.
    seed : int, default 0
        Seed; images of different roles never share a seed.

    Returns
    -------
    dict
        ``train`` and ``val`` (lists of arrays), ``test_normal`` and ``test`` (lists of
        :class:`~nlvision.datasets.textures.AnomalyImage`), ``zoom``.

    Raises
    ------
    ValueError
        Counts below one (``n_test_normal`` may be 0) or an invalid size or zoom.

    References
    ----------
    Seed 003, "Counteracting domain shift" (SEM images at different zooming levels).

    Examples
    --------
    >>> b = make_nanofibre_benchmark(n_train=1, n_val=1, n_test_normal=1, n_test=1, size=64)
    >>> len(b["train"]), b["test"][0].image.shape
    (1, (64, 64))
    """
    for name, v, lo in (("n_train", n_train, 1), ("n_val", n_val, 1), ("n_test_normal", n_test_normal, 0),
                        ("n_test", n_test, 1), ("defects_per_image", defects_per_image, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    base = 1000 * int(seed)
    shp = (int(size), int(size))
    train = [make_nanofibre_image(shp, seed=base + i).image for i in range(n_train)]
    val = [make_nanofibre_image(shp, seed=base + 100 + i).image for i in range(n_val)]
    zs = int(round(1000 * zoom))
    test_normal = [make_nanofibre_image(shp, zoom=zoom, seed=base + 200 + i + 7 * zs) for i in range(n_test_normal)]
    tests = []
    k = 0
    for i in range(n_test):
        kinds = []
        for _ in range(defects_per_image):
            kinds.append(NANOFIBRE_DEFECTS[k % len(NANOFIBRE_DEFECTS)])
            k += 1
        tests.append(make_nanofibre_image(shp, zoom=zoom, seed=base + 500 + i + 7 * zs, defects=tuple(kinds),
                                          defect_size=24.0))
    return {"train": train, "val": val, "test_normal": test_normal, "test": tests, "zoom": float(zoom)}
