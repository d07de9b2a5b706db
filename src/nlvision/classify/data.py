"""Image classification data: CIFAR-10 python batches, ImageFolder trees, scikit-learn's digits.

Every loader returns a :class:`ClassificationData` holding ``uint8`` RGB images of shape
(N, H, W, 3) and ``int64`` class indices; the conversion to float, the augmentation of seed 001
(random flip, saturation, contrast, brightness), the ImageNet normalisation and the 32 → 256
nearest-neighbour upsampling happen on whole batches in torch (:mod:`nlvision.classify.model`,
:func:`augment_batch`), on the training device.

Data specifications (``--data`` of the CLI): ``digits``, ``cifar10:PATH``, ``folder:PATH``.

References
----------
Seed 001, section 3-1 (CIFAR-10: 50,000 training and 10,000 test images of 32×32 pixels in ten
classes) and section 3-2 (one-hot labels, random flip / saturation / contrast / brightness).
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "AugmentConfig",
    "ClassificationData",
    "CIFAR10_CLASSES",
    "DATA_KINDS",
    "augment_batch",
    "load_cifar10",
    "load_cifar_batch",
    "load_data",
    "load_digits",
    "load_image_folder",
    "one_hot",
    "parse_data_spec",
    "prepare_image",
]

#: The CIFAR-10 class names, in label order (used when ``batches.meta`` has none).
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
#: Valid kinds of ``--data`` specification.
DATA_KINDS = ("digits", "cifar10:PATH", "folder:PATH")


@dataclass
class ClassificationData:
    """A train/test split of RGB images.

    Parameters
    ----------
    x_train : np.ndarray
        ``uint8`` training images, shape (N, H, W, 3).
    y_train : np.ndarray
        ``int64`` class indices in ``[0, len(classes))``.
    x_test : np.ndarray
        ``uint8`` test images, shape (M, H, W, 3).
    y_test : np.ndarray
        ``int64`` class indices of the test images.
    classes : list of str
        Class names, index order.
    name : str
        The data specification it was read from.
    notes : dict
        Free-form provenance notes.

    Examples
    --------
    >>> d = ClassificationData(np.zeros((2, 4, 4, 3), np.uint8), np.array([0, 1]),
    ...                        np.zeros((1, 4, 4, 3), np.uint8), np.array([1]), ["a", "b"])
    >>> d.image_size, d.num_classes
    ((4, 4), 2)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    name: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the images."""
        return int(self.x_train.shape[1]), int(self.x_train.shape[2])

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """One-hot encode integer labels (seed 001, section 3-2).

    Raises
    ------
    ValueError
        If a label lies outside ``[0, num_classes)``.

    Examples
    --------
    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected a 1-D integer array, got dtype {labels.dtype} shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels: values must lie in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
    return np.eye(num_classes, dtype=np.float32)[labels]


# --------------------------------------------------------------------------- CIFAR-10 batches


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds plain containers and numpy arrays, within a size budget.

    The CIFAR-10 python batches are pickles; a pickle can execute arbitrary code, so only the
    handful of globals a numpy array (and a protocol-2 ``bytes``) needs are allowed. An array
    constructed from a declared shape (``ndarray(shape, dtype)`` or ``_reconstruct``) may not
    exceed ``limit`` bytes (the file's size: a genuine batch only allocates what it holds), so an
    88-byte file declaring 400,000 rows is refused before anything is allocated.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def __init__(self, file: Any, *, limit: int, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.limit = int(limit)

    def _check(self, shape: Any, dtype: Any) -> None:
        dims = [int(d) for d in np.atleast_1d(np.asarray(shape, dtype=object)).ravel()]
        nbytes = np.dtype(dtype).itemsize
        for d in dims:
            if d < 0:
                raise pickle.UnpicklingError(f"negative array dimension {d}")
            nbytes *= d
        if nbytes > self.limit:
            raise pickle.UnpicklingError(f"declares an array of {nbytes:,} bytes in a {self.limit:,}-byte file")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        obj = super().find_class(module, name)
        check = self._check
        if name == "_reconstruct":
            def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
                check(shape, dtype)
                return obj(subtype, shape, dtype)

            return _reconstruct
        if name == "ndarray":
            class _CheckedArray(np.ndarray):
                def __new__(cls, shape: Any, dtype: Any = float, *args: Any, **kwargs: Any) -> Any:
                    check(shape, dtype)
                    return np.ndarray.__new__(np.ndarray, shape, dtype, *args, **kwargs)

            return _CheckedArray
        return obj


def _unpickle(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ValueError(f"{path}: missing CIFAR-10 file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        obj = _RestrictedUnpickler(io.BytesIO(raw), encoding="bytes", limit=max(len(raw), 1024)).load()
    except Exception as exc:
        raise ValueError(f"{path}: not a CIFAR-10 python batch ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else str(k)): (v.view(np.ndarray) if isinstance(v, np.ndarray) else v)
            for k, v in obj.items()}


def load_cifar_batch(path: str | os.PathLike, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch (``data_batch_i`` or ``test_batch``).

    Parameters
    ----------
    path : path-like
        The batch file: a pickled dict with ``data`` (N, 3072) ``uint8`` rows (1024 red, 1024
        green, 1024 blue values, row-major 32×32) and ``labels`` (N ints).
    num_classes : int
        Labels must lie in ``[0, num_classes)``.

    Returns
    -------
    images : np.ndarray
        (N, 32, 32, 3) ``uint8``.
    labels : np.ndarray
        (N,) ``int64``.

    Raises
    ------
    ValueError
        Naming the file, for a missing file, a non-CIFAR pickle, missing keys or wrong shapes.
    """
    p = Path(path)
    d = _unpickle(p)
    for key in ("data", "labels"):
        if key not in d:
            raise ValueError(f"{p}: CIFAR batch has no {key!r} key (keys: {sorted(d)})")
    data = d["data"]
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", type(data).__name__)
        raise ValueError(f"{p}: 'data' must be an (N, 3072) array, got {shape}")
    if data.dtype != np.uint8:
        raise ValueError(f"{p}: 'data' must be uint8, got {data.dtype}")
    try:
        labels = np.asarray(d["labels"], dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError(f"{p}: 'labels' must be a list of integers") from None
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{p}: 'labels' must have {data.shape[0]} entries (one per image), got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{p}: labels must lie in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def load_cifar10(path: str | os.PathLike) -> ClassificationData:
    """Read the CIFAR-10 python version (``cifar-10-batches-py``) from a folder.

    The folder must hold ``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and
    ``batches.meta`` (whose ``label_names`` give the class names).

    Raises
    ------
    ValueError
        Naming the file that is missing or malformed.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"cifar10: {root} is not a folder (expected cifar-10-batches-py with data_batch_1..5, test_batch, batches.meta)")
    meta = _unpickle(root / "batches.meta")
    if "label_names" not in meta:
        raise ValueError(f"{root / 'batches.meta'}: no 'label_names' key (keys: {sorted(meta)})")
    names = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in meta["label_names"]]
    if len(names) < 2:
        raise ValueError(f"{root / 'batches.meta'}: expected at least 2 label_names, got {len(names)}")
    parts = [load_cifar_batch(root / f"data_batch_{i}", len(names)) for i in range(1, 6)]
    x_test, y_test = load_cifar_batch(root / "test_batch", len(names))
    return ClassificationData(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_test, y_test, names, f"cifar10:{root}"
    )


# --------------------------------------------------------------------------- ImageFolder


def _resize_rgb_uint8(image: np.ndarray, size: int) -> np.ndarray:
    from skimage.transform import resize

    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    elif image.shape[-1] == 4:
        image = image[..., :3]
    elif image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    if image.shape[:2] != (size, size):
        image = resize(image, (size, size), order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def prepare_image(image: np.ndarray, size: int) -> np.ndarray:
    """Turn a float image in [0, 1] (gray, RGB or RGBA) into a (size, size, 3) ``uint8`` array.

    Examples
    --------
    >>> prepare_image(np.ones((4, 6)), 2).shape
    (2, 2, 3)
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected a positive int, got {size!r}")
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3, 4)):
        raise ValueError(f"image: expected shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    return _resize_rgb_uint8(image.astype(np.float64), size)


def _read_folder_classes(root: Path, size: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    from nlvision.imageio import IMAGE_EXTENSIONS, load_image

    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(f"folder: {root} must hold one sub-folder per class (at least 2), found {len(classes)}")
    images, labels = [], []
    for idx, name in enumerate(classes):
        files = sorted(f for f in (root / name).iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise ValueError(f"folder: class folder {root / name} holds no image files")
        for f in files:
            images.append(prepare_image(load_image(f), size))  # load_image names the file on failure
            labels.append(idx)
    return classes, np.stack(images), np.asarray(labels, dtype=np.int64)


def load_image_folder(
    path: str | os.PathLike, *, image_size: int = 32, test_fraction: float = 0.2, seed: int = 0
) -> ClassificationData:
    """Read an ImageFolder tree: one sub-folder per class, images inside.

    If ``path`` holds ``train/`` and ``test/`` (or ``val/``) folders, each is an ImageFolder
    tree with the same classes; otherwise the images are split per class (stratified) with
    ``test_fraction`` of each class (at least one image) kept for the test set.

    Parameters
    ----------
    path : path-like
        Root folder.
    image_size : int
        Images are resized (bilinear, anti-aliased) to ``image_size`` × ``image_size`` RGB; the
        report's protocol then upsamples them ×2 three times (32 → 256).
    test_fraction : float
        Fraction of each class for the test set when there is no train/test split on disk.
    seed : int
        Seed of the split.

    Raises
    ------
    ValueError
        For a missing folder, fewer than two classes, an empty class folder (named), an image
        that fails to decode (named), or different classes in train/ and test/.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"folder: {root} is not a folder")
    if not (0.0 < test_fraction < 1.0):
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction!r}")
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        classes, x_tr, y_tr = _read_folder_classes(root / "train", image_size)
        classes_te, x_te, y_te = _read_folder_classes(test_dir, image_size)
        if classes_te != classes:
            raise ValueError(f"folder: {test_dir} has classes {classes_te}, {root / 'train'} has {classes}")
        return ClassificationData(x_tr, y_tr, x_te, y_te, classes, f"folder:{root}")
    classes, x, y = _read_folder_classes(root, image_size)
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(len(y), dtype=bool)
    for c in range(len(classes)):
        idx = np.flatnonzero(y == c)
        if idx.size < 2:
            raise ValueError(f"folder: class folder {root / classes[c]} needs at least 2 images for a train/test split, got {idx.size}")
        n_test = min(idx.size - 1, max(1, int(round(test_fraction * idx.size))))
        test_mask[rng.permutation(idx)[:n_test]] = True
    return ClassificationData(x[~test_mask], y[~test_mask], x[test_mask], y[test_mask], classes, f"folder:{root}")


# --------------------------------------------------------------------------- digits


def load_digits(*, image_size: int = 32, test_fraction: float = 0.25, seed: int = 0) -> ClassificationData:
    """scikit-learn's bundled handwritten digits (1,797 8×8 images, 10 classes), offline.

    The 8×8 images (values 0..16) are scaled to [0, 255], resized bilinearly to ``image_size``
    and copied to three channels; the split is stratified and fixed by ``seed``
    (``test_fraction=0.25``: 1,347 training and 450 test images).

    Examples
    --------
    >>> d = load_digits(image_size=16)
    >>> d.x_train.shape, d.x_test.shape, d.classes[:3]
    ((1347, 16, 16, 3), (450, 16, 16, 3), ['0', '1', '2'])
    """
    from sklearn.datasets import load_digits as _sk_digits
    from sklearn.model_selection import train_test_split
    from skimage.transform import resize

    if not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"image_size: expected an int >= 8, got {image_size!r}")
    bunch = _sk_digits()
    imgs = bunch.images.astype(np.float64) / 16.0
    if image_size != 8:
        imgs = resize(imgs.transpose(1, 2, 0), (image_size, image_size), order=1, anti_aliasing=False).transpose(2, 0, 1)
    imgs = np.clip(np.rint(imgs * 255), 0, 255).astype(np.uint8)
    imgs = np.repeat(imgs[..., None], 3, axis=-1)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(imgs, y, test_size=test_fraction, random_state=seed, stratify=y)
    return ClassificationData(x_tr, y_tr, x_te, y_te, [str(c) for c in range(10)], "digits")


# --------------------------------------------------------------------------- specs


def parse_data_spec(spec: str) -> tuple[str, Path | None]:
    """Split ``digits`` / ``cifar10:PATH`` / ``folder:PATH`` into (kind, path).

    Raises
    ------
    ValueError
        For an unknown kind (the valid ones are listed) or a missing path.

    Examples
    --------
    >>> parse_data_spec("cifar10:/data/cifar-10-batches-py")
    ('cifar10', PosixPath('/data/cifar-10-batches-py'))
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"data: expected one of {list(DATA_KINDS)}, got {spec!r}")
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "digits" and not rest:
        return "digits", None
    if kind in ("cifar10", "folder"):
        if not rest:
            raise ValueError(f"data: {kind} needs a path ({kind}:PATH), got {spec!r}")
        return kind, Path(rest).expanduser()
    raise ValueError(f"data: unknown data set {spec!r}; valid: {list(DATA_KINDS)}")


def load_data(spec: str, *, image_size: int = 32, seed: int = 0) -> ClassificationData:
    """Load a data set from its specification (see :func:`parse_data_spec`).

    Parameters
    ----------
    spec : str
        ``digits``, ``cifar10:PATH`` (the python version, ``cifar-10-batches-py``) or
        ``folder:PATH`` (an ImageFolder tree).
    image_size : int
        Side the images are resized to, for ``digits`` and ``folder`` (CIFAR-10 images are 32×32).
    seed : int
        Seed of the train/test split (``digits``, ``folder`` without train/test sub-folders).

    Returns
    -------
    ClassificationData
        The train/test split.

    Raises
    ------
    ValueError
        For an unknown specification or a missing/malformed file (named).

    References
    ----------
    Seed 001, section 3-1 (CIFAR-10).

    Examples
    --------
    >>> load_data("digits", image_size=8).x_test.shape
    (450, 8, 8, 3)
    """
    kind, path = parse_data_spec(spec)
    if kind == "digits":
        return load_digits(image_size=image_size, seed=seed)
    if kind == "cifar10":
        return load_cifar10(path)
    return load_image_folder(path, image_size=image_size, seed=seed)


# --------------------------------------------------------------------------- augmentation


@dataclass
class AugmentConfig:
    """Random colour and geometric transforms of seed 001, section 3-2.

    The report lists random flipping, saturation, contrast and brightness (Keras
    ``tf.image.random_*``) without their ranges; the ranges below are the usual Keras example
    values.

    Parameters
    ----------
    flip : bool
        Random horizontal flip with probability 1/2.
    saturation : tuple of float
        Saturation factor range (``tf.image.random_saturation(lower, upper)``).
    contrast : tuple of float
        Contrast factor range about the per-image mean (``random_contrast``).
    brightness : float
        Maximum additive brightness delta on [0, 1] images (``random_brightness``).

    Raises
    ------
    ValueError
        For a range with lower > upper, a negative factor or a delta outside [0, 1].

    References
    ----------
    Seed 001, section 3-2.

    Examples
    --------
    >>> AugmentConfig(flip=False).contrast
    (0.8, 1.2)
    """

    flip: bool = True
    saturation: tuple[float, float] = (0.8, 1.2)
    contrast: tuple[float, float] = (0.8, 1.2)
    brightness: float = 0.1

    def __post_init__(self) -> None:
        for name in ("saturation", "contrast"):
            lo, hi = getattr(self, name)
            if not (0.0 <= lo <= hi):
                raise ValueError(f"{name}: expected 0 <= lower <= upper, got {(lo, hi)!r}")
        if not (0.0 <= self.brightness <= 1.0):
            raise ValueError(f"brightness: expected a value in [0, 1], got {self.brightness!r}")


def augment_batch(x, config: AugmentConfig | None = None, generator=None):
    """Randomly flip, saturate, contrast and brighten a batch of RGB images in [0, 1].

    Parameters
    ----------
    x : torch.Tensor
        (B, 3, H, W) float images in [0, 1].
    config : AugmentConfig
        Ranges (defaults of :class:`AugmentConfig`).
    generator : torch.Generator, optional
        Source of randomness (on ``x``'s device); same generator state, same result.

    Returns
    -------
    torch.Tensor
        Augmented batch, clipped to [0, 1].

    Raises
    ------
    TypeError, ValueError
        For a non-tensor or a tensor that is not (B, 3, H, W).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> augment_batch(torch.full((2, 3, 4, 4), 0.5), generator=g).shape
    torch.Size([2, 3, 4, 4])
    """
    import torch

    cfg = config or AugmentConfig()
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"x: expected shape (B, 3, H, W), got {tuple(x.shape)}")
    b = x.shape[0]

    def uniform(lo: float, hi: float):
        r = torch.rand(b, 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)
        return lo + (hi - lo) * r

    if cfg.flip:
        flip = torch.rand(b, generator=generator, device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    # saturation: blend with the luma image (as tf.image.adjust_saturation on HSV, to first order)
    gray = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    x = (gray + uniform(*cfg.saturation) * (x - gray)).clamp(0, 1)
    # contrast: scale about the per-image, per-channel mean (tf.image.adjust_contrast)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = mean + uniform(*cfg.contrast) * (x - mean)
    # brightness: add a delta in [-max_delta, max_delta] (tf.image.adjust_brightness)
    x = x + uniform(-cfg.brightness, cfg.brightness)
    return x.clamp(0, 1)
