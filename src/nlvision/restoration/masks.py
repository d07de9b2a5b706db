"""Missing-pixel mask generators for inpainting experiments (True = missing).

Kinds: uniformly random pixels (the lecture's experiment), overlaid text lines, curved
scratches (line masks) and square blocks (object removal / damaged blocks, the contiguous holes
of issue #15). Every generator is deterministic given its ``seed``.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["MASK_KINDS", "random_mask", "text_mask", "scratches_mask", "block_mask", "make_mask"]

#: Valid ``kind`` names of :func:`make_mask`.
MASK_KINDS = ("random", "text", "scratches", "blocks")


def _check_shape(shape: object) -> tuple[int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise ValueError(f"shape: expected (H, W), got {shape!r}")
    h, w = shape[0], shape[1]
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in (h, w)):
        raise TypeError(f"shape: expected integers (H, W), got {shape!r}")
    if h < 1 or w < 1 or h * w > 2**31:
        raise ValueError(f"shape: expected positive sizes with H*W <= 2**31, got {shape!r}")
    return int(h), int(w)


def _check_rate(rate: object) -> float:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"rate: expected a number in [0, 1), got {rate!r}")
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate: expected a fraction in [0, 1), got {rate}")
    return float(rate)


def random_mask(shape: tuple[int, ...], rate: float, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Mask with a fraction ``rate`` of randomly chosen missing pixels.

    Parameters
    ----------
    shape : tuple
        ``(H, W)`` (extra trailing dimensions are ignored).
    rate : float
        Fraction of missing pixels in [0, 1) (exactly ``round(rate·H·W)`` pixels).
    seed : int or numpy.random.Generator, optional
        Random seed (default 0).

    Returns
    -------
    ndarray of bool, shape (H, W)
        True = missing.

    Raises
    ------
    ValueError
        Bad shape or rate outside [0, 1).

    References
    ----------
    Seed 003, "Image inpainting" assignment (uniformly random missing pixels).

    Examples
    --------
    >>> int(random_mask((10, 10), 0.3, seed=1).sum())
    30
    """
    h, w = _check_shape(shape)
    r = _check_rate(rate)
    rng = np.random.default_rng(seed)
    m = np.zeros(h * w, dtype=bool)
    m[rng.choice(h * w, size=int(round(r * h * w)), replace=False)] = True
    return m.reshape(h, w)


_LOREM = (
    "Sparse representations inpaint the missing pixels of natural images. "
    "Every patch is coded by OMP with respect to the masked dictionary. "
)


def text_mask(
    shape: tuple[int, ...],
    rate: float = 0.15,
    seed: int | np.random.Generator | None = 0,
    *,
    font_size: int | None = None,
    text: str | None = None,
) -> np.ndarray:
    """Mask of overlaid text lines, added until about ``rate`` of the pixels are covered.

    Parameters
    ----------
    shape : tuple
        ``(H, W)``.
    rate : float, optional
        Target fraction of missing pixels (default 0.15; lines are added until it is reached or
        the image is full).
    seed : int or numpy.random.Generator, optional
        Chooses the order of the lines and their horizontal offsets.
    font_size : int, optional
        Default ``max(8, H // 16)``.
    text : str, optional
        Text to write (repeated); default a fixed sentence.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True = missing.

    Raises
    ------
    ValueError
        Bad shape, rate or font size.

    References
    ----------
    Seed 003, "Image inpainting" (text removal example).

    Examples
    --------
    >>> m = text_mask((64, 128), 0.1, seed=0)
    >>> m.shape, bool(0.02 < m.mean() < 0.3)
    ((64, 128), True)
    """
    from PIL import Image, ImageDraw, ImageFont

    h, w = _check_shape(shape)
    r = _check_rate(rate)
    rng = np.random.default_rng(seed)
    fs = int(font_size) if font_size is not None else max(8, h // 16)
    if fs < 1:
        raise ValueError(f"font_size: expected an integer >= 1, got {font_size}")
    words = (text or _LOREM) * (w // max(fs, 1) + 2)
    try:
        font = ImageFont.load_default(size=fs)
    except TypeError:  # old Pillow without scalable default font
        font = ImageFont.load_default()
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    line_h = int(1.6 * fs)
    rows = np.arange(fs // 4, h, line_h)
    rng.shuffle(rows)
    for y in rows:
        if np.asarray(canvas).mean() / 255.0 >= r:
            break
        x0 = -int(rng.integers(0, 4 * fs))
        start = int(rng.integers(0, len(_LOREM)))
        draw.text((x0, int(y)), words[start:], fill=255, font=font)
    return np.asarray(canvas) > 127


def scratches_mask(
    shape: tuple[int, ...],
    rate: float = 0.05,
    seed: int | np.random.Generator | None = 0,
    *,
    width: int | None = None,
) -> np.ndarray:
    """Mask of random curved scratches (quadratic Bézier strokes) covering about ``rate``.

    Parameters
    ----------
    shape : tuple
        ``(H, W)``.
    rate : float, optional
        Target fraction of missing pixels (default 0.05).
    seed : int or numpy.random.Generator, optional
        Random seed (default 0).
    width : int, optional
        Stroke width; default ``max(1, min(H, W) // 128)``.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True = missing.

    Raises
    ------
    ValueError
        Bad shape, rate or width.

    References
    ----------
    Seed 003, "Image inpainting" (scratch removal); Bertalmio et al., SIGGRAPH 2000.

    Examples
    --------
    >>> m = scratches_mask((128, 128), 0.05, seed=0)
    >>> bool(0.03 < m.mean() < 0.12)
    True
    """
    from PIL import Image, ImageDraw

    h, w = _check_shape(shape)
    r = _check_rate(rate)
    rng = np.random.default_rng(seed)
    lw = int(width) if width is not None else max(1, min(h, w) // 128)
    if lw < 1:
        raise ValueError(f"width: expected an integer >= 1, got {width}")
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    t = np.linspace(0.0, 1.0, 64)[:, None]
    for _ in range(10000):
        if np.asarray(canvas).mean() / 255.0 >= r:
            break
        pts = rng.random((3, 2)) * [w, h]
        curve = (1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2]
        draw.line([tuple(map(float, q)) for q in curve], fill=255, width=lw)
    return np.asarray(canvas) > 127


def block_mask(
    shape: tuple[int, ...],
    rate: float | None = None,
    seed: int | np.random.Generator | None = 0,
    *,
    size: int = 24,
    count: int | None = 8,
) -> np.ndarray:
    """Mask of square holes (object removal, damaged blocks): contiguous missing regions.

    Holes of ``size x size`` pixels are placed at random without overlapping (a one-pixel gap
    is kept between them) and at least one pixel from the border, until ``count`` holes are
    placed or, with ``count=None``, until about ``rate`` of the pixels are missing.

    Parameters
    ----------
    shape : tuple
        ``(H, W)``; both sides must exceed ``size + 2``.
    rate : float, optional
        Target missing fraction when ``count`` is None.
    seed : int or numpy.random.Generator, optional
        Random seed (default 0).
    size : int, optional
        Side of each square hole (default 24, issue #15's benchmark).
    count : int, optional
        Number of holes (default 8); None places holes until ``rate`` is reached.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True = missing.

    Raises
    ------
    ValueError
        Bad shape, size, count or rate, or neither ``count`` nor ``rate`` given.

    References
    ----------
    Issue #15 protocol (8 holes of 24 x 24 px); Criminisi, Pérez & Toyama, IEEE TIP 13(9), 2004
    (object removal).

    Examples
    --------
    >>> m = block_mask((64, 64), size=8, count=3, seed=0)
    >>> int(m.sum())
    192
    """
    h, w = _check_shape(shape)
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1 or size + 2 > min(h, w):
        raise ValueError(f"size: expected an integer in [1, min(H, W) - 2], got {size!r}")
    if count is None:
        if rate is None:
            raise ValueError("rate: give count or rate")
        target = _check_rate(rate)
        n = None
    else:
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"count: expected an integer >= 0, got {count!r}")
        n, target = int(count), 1.0
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), dtype=bool)
    busy = np.zeros((h, w), dtype=bool)
    placed = 0
    for _ in range(10000):
        if (n is not None and placed >= n) or (n is None and m.mean() >= target):
            break
        y = int(rng.integers(1, h - size))
        x = int(rng.integers(1, w - size))
        if busy[y : y + size, x : x + size].any():
            continue
        m[y : y + size, x : x + size] = True
        busy[max(0, y - 1) : y + size + 1, max(0, x - 1) : x + size + 1] = True
        placed += 1
    return m


def make_mask(kind: str, shape: tuple[int, ...], rate: float, seed: int | None = 0) -> np.ndarray:
    """Make a mask of a named kind (dispatch to the generators of this module).

    Parameters
    ----------
    kind : {"random", "text", "scratches", "blocks"}
        :func:`random_mask`, :func:`text_mask`, :func:`scratches_mask` or :func:`block_mask`
        (24 x 24 holes until ``rate`` is reached).
    shape : tuple
        ``(H, W)``.
    rate : float
        Fraction of missing pixels (a target for text, scratches and blocks).
    seed : int, optional
        Random seed (default 0).

    Returns
    -------
    ndarray of bool, shape (H, W)
        True = missing.

    Raises
    ------
    ValueError
        Unknown kind (the valid kinds are listed), bad shape or rate.

    References
    ----------
    Seed 003, "Image inpainting".

    Examples
    --------
    >>> int(make_mask("random", (4, 4), 0.5).sum())
    8
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"kind: unknown mask kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    if kind == "blocks":
        h, w = _check_shape(shape)
        return block_mask(shape, rate, seed, size=max(1, min(24, min(h, w) - 2)), count=None)
    fn = {"random": random_mask, "text": text_mask, "scratches": scratches_mask}[kind]
    return fn(shape, rate, seed)
