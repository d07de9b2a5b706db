"""Dictionary files: save, load (validated, no pickle) and the shipped default dictionary.

A dictionary file is an ``.npz`` archive with the array ``dictionary`` of shape ``(p*p, K)``
(atoms as columns) and optional scalars ``patch_size`` and ``dc_removed``. Files are read with
``np.load(allow_pickle=False)``, so an untrusted file cannot execute code.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from nlvision.atomic import atomic_path
from nlvision.restoration.sparse import normalize_atoms

__all__ = ["save_dictionary", "load_dictionary", "default_dictionary", "DEFAULT_DICTIONARY_FILE"]

#: File name of the shipped 8x8, 256-atom K-SVD dictionary (in ``nlvision/data``).
DEFAULT_DICTIONARY_FILE = "dictionary_8x8_256.npz"


def _validate(D: object, source: str) -> np.ndarray:
    if not isinstance(D, np.ndarray):
        raise TypeError(f"dictionary from {source} must be a numpy array, got {type(D).__name__}")
    if D.ndim != 2:
        raise ValueError(f"dictionary from {source} must have shape (p*p, K), got {D.shape}")
    n, k = D.shape
    p = int(round(np.sqrt(n)))
    if n < 1 or k < 1 or p * p != n:
        raise ValueError(
            f"dictionary from {source} must have shape (p*p, K) with square patches, got {D.shape}"
        )
    if not np.issubdtype(D.dtype, np.floating) and not np.issubdtype(D.dtype, np.integer):
        raise ValueError(f"dictionary from {source} must be real-valued, got dtype {D.dtype}")
    D = D.astype(np.float64)
    if not np.all(np.isfinite(D)):
        raise ValueError(f"dictionary from {source} contains NaN or infinite values")
    if np.any(np.linalg.norm(D, axis=0) < 1e-12):
        raise ValueError(f"dictionary from {source} has all-zero atoms")
    return D


def save_dictionary(path: str | os.PathLike, dictionary: np.ndarray, **metadata: float | int | str) -> Path:
    """Write a dictionary to an ``.npz`` file atomically.

    Parameters
    ----------
    path : path-like
        Destination (``.npz`` appended if missing).
    dictionary : ndarray, shape (p*p, K)
        Atoms as columns.
    **metadata
        Extra scalars stored beside it (e.g. ``iterations=20``).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    TypeError, ValueError
        If the dictionary is not a finite ``(p*p, K)`` array.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = save_dictionary(pathlib.Path(tempfile.mkdtemp()) / "d.npz", np.eye(4))
    >>> load_dictionary(f).shape
    (4, 4)
    """

    D = _validate(dictionary, "argument 'dictionary'")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = {"dictionary": D, "patch_size": np.int64(round(np.sqrt(D.shape[0])))}
    for key, value in metadata.items():
        arrays[key] = np.asarray(value)
        if arrays[key].dtype == object:
            raise TypeError(f"metadata {key!r} must be a number or a string, got {type(value).__name__}")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return path


def load_dictionary(path: str | os.PathLike) -> np.ndarray:
    """Read and validate a dictionary file written by :func:`save_dictionary`.

    Parameters
    ----------
    path : path-like
        ``.npz`` file holding ``dictionary`` (or a single array) of shape ``(p*p, K)``.

    Returns
    -------
    ndarray, shape (p*p, K)
        The atoms (float64).

    Raises
    ------
    OSError
        If the file does not exist.
    ValueError
        If it is not a valid npz, needs pickle, or the array has a wrong shape or NaN/inf.

    Examples
    --------
    >>> load_dictionary(default_path()).shape
    (64, 256)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dictionary file not found: {path}")
    _check_declared_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if isinstance(data, np.ndarray):
                D = data
            else:
                names = list(data.files)
                if "dictionary" in names:
                    D = data["dictionary"]
                elif len(names) == 1:
                    D = data[names[0]]
                else:
                    raise ValueError(
                        f"dictionary file {path} has no array 'dictionary' (arrays: {names})"
                    )
    except ValueError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"cannot read dictionary file {path}: {msg}") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read dictionary file {path}: not a valid .npz ({type(exc).__name__})") from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise ValueError(f"cannot read dictionary file {path}: {type(exc).__name__}") from None
    return _validate(D, str(path))


#: Largest number of elements a dictionary file may declare (refused before allocating).
MAX_DICTIONARY_ELEMENTS = 2**24


def _check_declared_sizes(path: Path) -> None:
    """Read the .npy headers (of a .npy or of every member of a .npz) and refuse arrays that
    declare more than :data:`MAX_DICTIONARY_ELEMENTS` elements, before any allocation."""
    import zipfile

    def check(fh: object, name: str) -> None:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        except Exception as exc:  # not an .npy member: np.load reports it below
            if isinstance(exc, ValueError) and "declares" in str(exc):
                raise
            return
        n = int(np.prod([int(v) for v in shape], dtype=object)) if len(shape) else 1
        if n > MAX_DICTIONARY_ELEMENTS:
            raise ValueError(
                f"cannot read dictionary file {path}: array {name!r} declares shape {tuple(shape)} "
                f"({n} elements > {MAX_DICTIONARY_ELEMENTS})"
            )

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    with zf.open(info) as fh:
                        check(fh, info.filename.removesuffix(".npy"))
        else:
            with open(path, "rb") as fh:
                check(fh, path.name)
    except ValueError:
        raise
    except Exception:  # corrupt archives are reported by np.load below
        return


def default_path() -> Path:
    """Path of the shipped default dictionary file."""
    return Path(str(resources.files("nlvision") / "data" / DEFAULT_DICTIONARY_FILE))


def default_dictionary() -> np.ndarray:
    """The shipped 8x8, 256-atom dictionary (no DC atom; learned on mean-removed patches).

    Learned by :func:`nlvision.restoration.sparse.ksvd` from scikit-image's bundled natural
    images (``benchmarks/make_default_dictionary.py`` reproduces it). This is the lecture's
    "dictionary provided, learned from natural images".

    Returns
    -------
    ndarray, shape (64, 256)
        Unit-norm atoms (float64).

    Examples
    --------
    >>> D = default_dictionary()
    >>> D.shape, bool(np.allclose(np.linalg.norm(D, axis=0), 1.0))
    ((64, 256), True)
    """
    return load_dictionary(default_path())


def resolve_dictionary(dictionary: np.ndarray | None, patch_size: int) -> np.ndarray:
    """Return the dictionary a patch-coding routine works with: validated, unit-norm atoms.

    Parameters
    ----------
    dictionary : ndarray, shape (p*p, K), optional
        Atoms as columns; ``None`` selects :func:`default_dictionary` (8x8 only).
    patch_size : int
        Patch side p the dictionary must match.

    Returns
    -------
    ndarray, shape (p*p, K)
        Unit-norm atoms (float64).

    Raises
    ------
    ValueError
        If the dictionary is invalid or its rows do not match ``patch_size**2``.

    Examples
    --------
    >>> resolve_dictionary(np.array([[3.0], [4.0], [0.0], [0.0]]), 2).ravel().tolist()
    [0.6, 0.8, 0.0, 0.0]
    """

    p = patch_size
    if dictionary is None:
        if p != 8:
            raise ValueError(f"the default dictionary is 8x8; pass a dictionary for patch_size={p}")
        D = default_dictionary()
    else:
        D = _validate(dictionary, "argument 'dictionary'")
    if D.shape[0] != p * p:
        raise ValueError(f"dictionary has {D.shape[0]} rows; patch_size={p} needs {p * p}")
    return normalize_atoms(D)
