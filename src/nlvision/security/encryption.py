"""Perceptual (selective) encryption schemes with a key and a strength in [0, 1].

They cover the families of the PEID and IVC-SelectEncrypt databases (seed 004, sec. 3.1):

==================  ==========================================================================
scheme              what the strength controls (0 = identity, 1 = strongest)
==================  ==========================================================================
block_shuffle       block positions permuted (PEID enc09); block side ``round((L/4)^(1-s)·2^s)``
                    shrinks from L/4 (a 4x4 jigsaw) to 2 pixels as s goes from 0+ to 1
pixel_scramble      pixels permuted inside each block (thumbnail-preserving); block side
                    ``round((L/8)^s)`` grows from 1 to L/8
dct_sign            JPEG-like: random signs of the AC coefficients of zig-zag rank 1..k,
                    ``k = round(63^s)``, in every 8x8 block (DC kept: a thumbnail survives)
dct_permute         JPEG-like: the AC coefficients of zig-zag rank 1..k, ``k = round(63^s)``,
                    permuted across blocks (one permutation per zig-zag position)
wavelet_sign        JPEG2000-like: random signs in the first ``ceil(S s)`` of the ``S = 10``
                    subbands of a 3-level db2 transform, ordered fine to coarse
                    (approximation last)
wavelet_bitplane    JPEG2000-like: in the first ``ceil(S s)`` subbands (fine to coarse), the 2
                    most significant bit-planes of the 8-bit quantised magnitudes XORed with
                    key bits
wavelet_truncate    JPEG2000-like truncation: the first ``ceil(S s)`` subbands (fine to coarse)
                    are dropped (set to 0); strength 1 leaves a flat gray image
msb_xor             spatial: the ``ceil(8 s)`` most significant bit-planes XORed with key bits
==================  ==========================================================================

``L`` is the shorter image side. Every scheme is deterministic given ``key``; colour images are
encrypted channel by channel with the same key stream.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["SCHEMES", "encrypt", "scheme_names"]

_WAVELET = "db2"
_LEVELS = 3
_BITPLANES = 2  # most significant magnitude bit-planes XORed by wavelet_bitplane


def _rng(key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(key)))


def _grid(shape: tuple[int, int], b: int) -> tuple[int, int]:
    return shape[0] // b, shape[1] // b


def _to_blocks(x: np.ndarray, b: int) -> np.ndarray:
    m, n = _grid(x.shape, b)
    return x[: m * b, : n * b].reshape(m, b, n, b).swapaxes(1, 2).reshape(m * n, b, b)


def _from_blocks(x: np.ndarray, blocks: np.ndarray, b: int) -> np.ndarray:
    m, n = _grid(x.shape, b)
    out = x.copy()
    out[: m * b, : n * b] = blocks.reshape(m, n, b, b).swapaxes(1, 2).reshape(m * b, n * b)
    return out


def _block_shuffle(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    if s == 0:
        return x.copy()
    b = max(1, int(round((min(x.shape) / 4.0) ** (1 - s) * 2.0**s)))
    blocks = _to_blocks(x, b)
    if len(blocks) < 2:
        return x.copy()
    perm = rng.permutation(len(blocks))
    if np.array_equal(perm, np.arange(len(blocks))):  # never hand back the plain image
        perm = np.roll(perm, 1)
    return _from_blocks(x, blocks[perm], b)


def _pixel_scramble(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    b = max(1, int(round((min(x.shape) / 8.0) ** s)))
    if b < 2:
        return x.copy()
    blocks = _to_blocks(x, b).reshape(-1, b * b)
    perm = np.argsort(rng.random(blocks.shape), axis=1)
    return _from_blocks(x, np.take_along_axis(blocks, perm, axis=1).reshape(-1, b, b), b)


def _dct_blocks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from nlvision.restoration.dct import dct_matrix
    from nlvision.security.vsi import zigzag_rank

    d = dct_matrix(8)
    coef = d @ (_to_blocks(x, 8) - 0.5) @ d.T
    return coef, zigzag_rank(8)


def _dct_inverse(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    from nlvision.restoration.dct import dct_matrix

    d = dct_matrix(8)
    return _from_blocks(x, d.T @ coef @ d + 0.5, 8)


def _n_ac(s: float) -> int:
    return 0 if s == 0 else int(round(63.0**s))


def _dct_sign(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    k = _n_ac(s)
    if k == 0 or min(x.shape) < 8:
        return x.copy()
    coef, rank = _dct_blocks(x)
    sel = (rank >= 1) & (rank <= k)
    signs = np.where(rng.random((len(coef), int(sel.sum()))) < 0.5, -1.0, 1.0)
    coef[:, sel] *= signs
    return _dct_inverse(x, coef)


def _dct_permute(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    k = _n_ac(s)
    if k == 0 or min(x.shape) < 8:
        return x.copy()
    coef, rank = _dct_blocks(x)
    sel = np.nonzero((rank.ravel() >= 1) & (rank.ravel() <= k))[0]
    flat = coef.reshape(len(coef), 64)
    perm = np.argsort(rng.random((len(coef), len(sel))), axis=0)  # one permutation per position
    flat[:, sel] = np.take_along_axis(flat[:, sel], perm, axis=0)
    return _dct_inverse(x, flat.reshape(-1, 8, 8))


def _wavelet(x: np.ndarray) -> tuple[list[np.ndarray], Callable[[list[np.ndarray]], np.ndarray]]:
    """Fine-to-coarse list of subbands of (x - 0.5) (approximation last) and the reconstruction."""
    import pywt

    level = max(1, min(_LEVELS, pywt.dwt_max_level(min(x.shape), pywt.Wavelet(_WAVELET).dec_len)))
    coeffs = pywt.wavedec2(x - 0.5, _WAVELET, level=level, mode="periodization")
    coarse_to_fine = [coeffs[0]] + [band for detail in coeffs[1:] for band in detail]
    bands = coarse_to_fine[::-1]

    def rebuild(new: list[np.ndarray]) -> np.ndarray:
        new = new[::-1]
        it = iter(new[1:])
        c = [new[0]] + [tuple(next(it) for _ in range(3)) for _ in coeffs[1:]]
        y = pywt.waverec2(c, _WAVELET, mode="periodization")[: x.shape[0], : x.shape[1]]
        return y + 0.5

    return bands, rebuild


def _wavelet_sign(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    bands, rebuild = _wavelet(x)
    k = math.ceil(len(bands) * s)
    if k == 0:
        return x.copy()
    out = [np.where(rng.random(b.shape) < 0.5, -b, b) if i < k else b for i, b in enumerate(bands)]
    return rebuild(out)


def _wavelet_bitplane(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    bands, rebuild = _wavelet(x)
    k = math.ceil(len(bands) * s)
    if k == 0:
        return x.copy()
    mask = np.uint8((0xFF << (8 - _BITPLANES)) & 0xFF)
    out = []
    for i, b in enumerate(bands):
        peak = float(np.abs(b).max())
        if peak == 0 or i >= k:
            out.append(b)
            continue
        q = np.round(np.abs(b) / peak * 255).astype(np.uint8)
        key = rng.integers(0, 256, size=b.shape, dtype=np.uint8) & mask
        out.append(np.sign(b) * (q ^ key).astype(np.float64) / 255 * peak)
    return rebuild(out)


def _wavelet_truncate(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    bands, rebuild = _wavelet(x)
    k = math.ceil(len(bands) * s)
    if k == 0:
        return x.copy()
    return rebuild([np.zeros_like(b) if i < k else b for i, b in enumerate(bands)])


def _msb_xor(x: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    planes = math.ceil(8 * s)
    if planes == 0:
        return x.copy()
    q = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    mask = np.uint8((0xFF << (8 - planes)) & 0xFF)
    key = rng.integers(0, 256, size=x.shape, dtype=np.uint8) & mask
    return (q ^ key).astype(np.float64) / 255


#: name -> (function(gray float image, strength, rng) -> image, one-line description)
SCHEMES: dict[str, tuple[Callable[[np.ndarray, float, np.random.Generator], np.ndarray], str]] = {
    "block_shuffle": (_block_shuffle, "block positions permuted; blocks shrink with strength (PEID enc09)"),
    "pixel_scramble": (_pixel_scramble, "pixels permuted inside blocks that grow with strength (thumbnail-preserving)"),
    "dct_sign": (_dct_sign, "random signs of the first k zig-zag AC coefficients of 8x8 blocks (JPEG-like)"),
    "dct_permute": (_dct_permute, "first k zig-zag AC coefficients permuted across 8x8 blocks (JPEG-like)"),
    "wavelet_sign": (_wavelet_sign, "random signs in wavelet subbands, fine to coarse (JPEG2000-like)"),
    "wavelet_bitplane": (_wavelet_bitplane, "2 most significant bit-planes of wavelet magnitudes XORed, fine to coarse (JPEG2000-like)"),
    "wavelet_truncate": (_wavelet_truncate, "wavelet subbands dropped, fine to coarse (JPEG2000 truncation)"),
    "msb_xor": (_msb_xor, "most significant spatial bit-planes XORed with key bits"),
}


def scheme_names() -> list[str]:
    """Names of the available schemes.

    Examples
    --------
    >>> "block_shuffle" in scheme_names()
    True
    """
    return list(SCHEMES)


def encrypt(image: np.ndarray, scheme: str, strength: float, key: int = 0) -> np.ndarray:
    """Encrypt an image with a perceptual encryption scheme.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, C) float image in [0, 1].
    scheme : str
        One of :data:`SCHEMES` (see the module docstring).
    strength : float
        In [0, 1]; 0 returns the image unchanged, 1 is the strongest setting.
    key : int
        Non-negative integer seed of the key stream (same key, same output).

    Returns
    -------
    ndarray
        Encrypted image, same shape, float64 in [0, 1].

    Raises
    ------
    ValueError
        Unknown scheme (the valid ones are listed), strength outside [0, 1], negative key,
        invalid image.
    TypeError
        Non-numeric strength or key.

    Examples
    --------
    >>> img = np.linspace(0, 1, 64).reshape(8, 8)
    >>> out = encrypt(img, "block_shuffle", 1.0, key=3)
    >>> sorted(out.ravel().tolist()) == sorted(img.ravel().tolist())  # a permutation
    True
    >>> bool(np.array_equal(encrypt(img, "msb_xor", 0.0), img))
    True
    """
    from nlvision.imageio import validate_image

    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise ValueError(f"scheme: unknown scheme {scheme!r}; valid: {', '.join(SCHEMES)}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.floating, np.integer)):
        raise TypeError(f"strength: expected a number in [0, 1], got {type(strength).__name__}")
    if not (0.0 <= float(strength) <= 1.0):
        raise ValueError(f"strength: expected a value in [0, 1], got {strength!r}")
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
        raise TypeError(f"key: expected a non-negative integer, got {type(key).__name__}")
    if key < 0:
        raise ValueError(f"key: expected a non-negative integer, got {key}")
    img = validate_image(image, "image", value_range=(0.0, 1.0))
    fn = SCHEMES[scheme][0]
    if img.ndim == 2:
        out = fn(img, float(strength), _rng(key))
    else:
        out = np.stack([fn(img[..., c], float(strength), _rng(key)) for c in range(img.shape[2])], axis=-1)
    return np.clip(out, 0.0, 1.0)
