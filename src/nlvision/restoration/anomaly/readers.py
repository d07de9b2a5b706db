"""Readers of anomaly data sets: the MVTec AD layout and a generic folder layout.

**MVTec AD** (Bergmann et al., CVPR 2019 / IJCV 2021), one folder per category::

    ROOT/<category>/train/good/*.png                 normal training images
    ROOT/<category>/test/good/*.png                  normal test images (no mask)
    ROOT/<category>/test/<defect>/<name>.png         defective test images
    ROOT/<category>/ground_truth/<defect>/<name>_mask.png   their masks (non-zero = defect)

This is the layout of the archive published by MVTec and the one anomalib's loader parses
(``anomalib/data/datasets/image/mvtecad.py``: images ``<split>/<label>/<file>.png``, label
``good`` = normal, masks under ``ground_truth/<label>/`` matched by stem, "e.g. image: '000.png',
mask: '000_mask.png'"). ``ROOT`` may be the data-set root (all categories) or one category folder.
Every image and mask is checked (presence, size from the file header) before anything is fitted.

**Generic folders** (:func:`load_anomaly_folder`)::

    ROOT/train/*.png          normal images (training + validation)
    ROOT/test/*.png           test images
    ROOT/ground_truth/*.png   optional masks, same stem as the test image (a ``_mask`` suffix is
                              accepted), non-zero = anomalous
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlvision.datasets.textures import AnomalyImage
from nlvision.imageio import list_images, load_image

__all__ = ["MVTecCategory", "scan_mvtec", "load_anomaly_folder"]

_EXT = (".png", ".PNG")


def _pngs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in _EXT and not p.name.startswith("."))


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable image ({type(exc).__name__})") from None
    return h, w


def _resize(img: np.ndarray, size: int | None, order: int) -> np.ndarray:
    if size is None or max(img.shape[:2]) == size:
        return img
    from skimage.transform import resize

    f = size / max(img.shape[:2])
    shape = (max(1, round(img.shape[0] * f)), max(1, round(img.shape[1] * f)))
    return resize(img, shape, order=order, anti_aliasing=order > 0 and f < 1, mode="reflect")


@dataclass
class MVTecCategory:
    """One MVTec AD category, scanned and checked (paths only; images load on demand).

    Parameters
    ----------
    name : str
        Category name (the folder name).
    root : Path
        The category folder.
    train : list of Path
        ``train/good/*.png``.
    test : list of tuple
        ``(image_path, defect, mask_path_or_None)``; ``defect`` is ``"good"`` for normal images.

    References
    ----------
    P. Bergmann et al., "The MVTec Anomaly Detection Dataset", IJCV 129(4), 2021; anomalib
    ``anomalib/data/datasets/image/mvtecad.py`` (layout parsed the same way).

    Examples
    --------
    >>> c = MVTecCategory("toy", Path("toy"), [Path("toy/train/good/000.png")], [])
    >>> c.defects
    []
    """

    name: str
    root: Path
    train: list
    test: list = field(default_factory=list)

    @property
    def defects(self) -> list[str]:
        """Defect types present in the test set (``good`` excluded)."""
        return sorted({d for _, d, _ in self.test if d != "good"})

    def load_train(self, size: int | None = None) -> list[np.ndarray]:
        """Normal training images as gray float arrays (longer side resized to ``size``).

        Parameters
        ----------
        size : int, optional

        Returns
        -------
        list of ndarray
        """
        return [_resize(load_image(p, as_gray=True), size, 1) for p in self.train]

    def load_test(self, size: int | None = None) -> list[AnomalyImage]:
        """Test images with their masks (all-False for ``good``), ``kinds = [defect]``.

        Parameters
        ----------
        size : int, optional

        Returns
        -------
        list of AnomalyImage
        """
        out = []
        for img_path, defect, mask_path in self.test:
            im = load_image(img_path, as_gray=True)
            if mask_path is None:
                m = np.zeros(im.shape, bool)
            else:
                m = load_image(mask_path, as_gray=True) > 0
                if m.shape != im.shape:
                    raise ValueError(f"{mask_path}: mask of shape {m.shape} but image {img_path} has {im.shape}")
            im = _resize(im, size, 1)
            m = _resize(m.astype(np.float64), size, 0) > 0.5 if size is not None else m
            out.append(AnomalyImage(im, m, name=f"{defect}/{img_path.stem}", kinds=[defect]))
        return out


def _scan_category(folder: Path) -> MVTecCategory:
    train = _pngs(folder / "train" / "good")
    if not train:
        raise ValueError(f"{folder}: empty category: no normal training images in train/good/*.png")
    test_dir = folder / "test"
    if not test_dir.is_dir():
        raise ValueError(f"{folder}: no test/ folder")
    tests = []
    for d in sorted(p for p in test_dir.iterdir() if p.is_dir()):
        for img in _pngs(d):
            if d.name == "good":
                tests.append((img, "good", None))
                continue
            mask = folder / "ground_truth" / d.name / f"{img.stem}_mask{img.suffix}"
            if not mask.is_file():
                raise ValueError(f"{img}: missing mask {mask}")
            hi, hm = _image_size(img), _image_size(mask)
            if hi != hm:
                raise ValueError(f"{mask}: mask of size {hm[1]}x{hm[0]} but image {img.name} is {hi[1]}x{hi[0]}")
            tests.append((img, d.name, mask))
    if not tests:
        raise ValueError(f"{folder}: no test images in test/<defect>/*.png")
    return MVTecCategory(folder.name, folder, train, tests)


def scan_mvtec(root: str | Path, category: str | None = None) -> tuple[list[MVTecCategory], list[tuple[str, str]]]:
    """Find and check the categories of an MVTec AD folder.

    Parameters
    ----------
    root : path-like
        The data-set root (one sub-folder per category) or a category folder itself.
    category : str, optional
        Only this category; then any problem is an error instead of a skip.

    Returns
    -------
    (categories, skipped)
        Checked categories, and ``(name, reason)`` of the categories skipped for a bad layout.

    Raises
    ------
    ValueError
        ``root`` is not a folder, holds no category, the named category is missing or bad.

    References
    ----------
    MVTec AD layout as parsed by anomalib (``anomalib/data/datasets/image/mvtecad.py``).

    Examples
    --------
    >>> import tempfile
    >>> from nlvision.imageio import save_image
    >>> d = Path(tempfile.mkdtemp()) / "grid"
    >>> for sub in ("train/good", "test/good"):
    ...     _ = save_image(d / sub / "000.png", np.zeros((8, 8)))
    >>> cats, skipped = scan_mvtec(d)
    >>> [c.name for c in cats], len(cats[0].test), skipped
    (['grid'], 1, [])
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root: {root} is not a folder")
    if (root / "train").is_dir() or (root / "test").is_dir():
        folders = [root]
    else:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if category is not None:
        folders = [f for f in folders if f.name == category]
        if not folders:
            raise ValueError(f"--category: no category {category!r} in {root}")
        return [_scan_category(folders[0])], []
    if not folders:
        raise ValueError(f"root: {root} holds no MVTec category folder (<category>/train/good/*.png)")
    cats, skipped = [], []
    for f in folders:
        try:
            cats.append(_scan_category(f))
        except ValueError as exc:
            skipped.append((f.name, str(exc)))
    return cats, skipped


def load_anomaly_folder(root: str | Path) -> tuple[list[np.ndarray], list[AnomalyImage]]:
    """Read a generic anomaly data set (``train/``, ``test/``, optional ``ground_truth/``).

    Parameters
    ----------
    root : path-like
        Folder with ``train/`` and ``test/`` (and optionally ``ground_truth/``).

    Returns
    -------
    (normal, test)
        Normal gray images, and test images with their masks (an all-False mask when no
        ground-truth file exists, i.e. the image is normal).

    Raises
    ------
    ValueError
        Missing folders, no images, or a mask whose shape differs from its image.

    Examples
    --------
    >>> import tempfile
    >>> from nlvision.imageio import save_image
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = save_image(d / "train" / "a.png", np.zeros((8, 8)))
    >>> _ = save_image(d / "test" / "b.png", np.zeros((8, 8)))
    >>> normal, tests = load_anomaly_folder(d)
    >>> len(normal), tests[0].name, bool(tests[0].mask.any())
    (1, 'b', False)
    """
    root = Path(root)
    if not (root / "train").is_dir():
        raise ValueError(f"root: {root} has no train/ folder of normal images")
    if not (root / "test").is_dir():
        raise ValueError(f"root: {root} has no test/ folder")
    if not any((root / "train").iterdir()):
        raise ValueError(f"root: no images in {root / 'train'}")
    normal = [load_image(p, as_gray=True) for p in list_images(root / "train")]
    gt_dir = root / "ground_truth"
    masks = {}
    gt_files = list_images(gt_dir) if gt_dir.is_dir() and any(gt_dir.iterdir()) else []
    for p in gt_files:
        stem = p.stem[:-5] if p.stem.endswith("_mask") else p.stem
        masks[stem] = p
    if not any((root / "test").iterdir()):
        raise ValueError(f"root: no images in {root / 'test'}")
    tests = []
    for p in list_images(root / "test"):
        im = load_image(p, as_gray=True)
        if p.stem in masks:
            m = load_image(masks[p.stem], as_gray=True) > 0
            if m.shape != im.shape:
                raise ValueError(f"{masks[p.stem]}: mask shape {m.shape} differs from image shape {im.shape}")
        else:
            m = np.zeros(im.shape, dtype=bool)
        tests.append(AnomalyImage(im, m, name=p.stem))
    if not tests:
        raise ValueError(f"root: no images in {root / 'test'}")
    return normal, tests
