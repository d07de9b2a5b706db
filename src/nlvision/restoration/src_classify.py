"""Sparse-representation classification (SRC; Wright et al., PAMI 2009).

Seed 003, "Classification based on sparse representation": the training samples themselves
form the dictionary ``A = [A_1, ..., A_C]`` (one block per class, unit-norm columns). A test
sample ``y`` is coded sparsely, ``x = argmin ||x||_1 s.t. A x ≈ y`` (or by OMP), and assigned to
the class whose coefficients alone reconstruct it best,

    identity(y) = argmin_i r_i(y),   r_i(y) = ||y − A δ_i(x)||_2,

where ``δ_i`` keeps the coefficients of class ``i``. The occlusion-robust variant extends the
dictionary with the identity, ``B = [A, I]``, so a sparse error ``e`` absorbs corrupted pixels and
``r_i = ||y − e − A δ_i(x)||_2``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlvision.imageio import IMAGE_EXTENSIONS, load_image
from nlvision.restoration.sparse import omp_codes

__all__ = [
    "SRCConfig",
    "SRCClassifier",
    "lasso_admm",
    "load_digits_split",
    "load_image_folder_split",
    "occlude",
    "evaluate_src",
    "SOLVERS",
]

SOLVERS = ("l1", "omp")


@dataclass
class SRCConfig:
    """SRC hyper-parameters.

    Parameters
    ----------
    solver : str
        ``"l1"`` (BPDN, ``1/2||Ax − y||² + λ||x||_1`` by ADMM: the Lagrangian form of Wright's
        ``min ||x||_1 s.t. ||Ax − y|| <= ε``) or ``"omp"``.
    lam : float
        Weight λ of the l1 solver (signals and atoms have unit norm).
    n_nonzero : int
        Sparsity level of the OMP solver.
    robust : bool
        Add identity atoms (occlusion / corruption robust SRC).
    max_iter : int
        ADMM iterations.
    rho : float
        ADMM penalty.

    References
    ----------
    Wright et al., "Robust face recognition via sparse representation", IEEE PAMI 31(2), 2009.

    Examples
    --------
    >>> SRCConfig(solver="omp").n_nonzero
    10
    """

    solver: str = "l1"
    lam: float = 0.01
    n_nonzero: int = 10
    robust: bool = False
    max_iter: int = 500
    rho: float = 0.5


def lasso_admm(A: np.ndarray, Y: np.ndarray, lam: float, *, rho: float = 0.5, max_iter: int = 500, tol: float = 1e-6) -> np.ndarray:
    """Solve ``min_x 1/2 ||A x − y||² + λ ||x||_1`` for every row ``y`` of ``Y`` by ADMM.

    The x-update uses the matrix-inversion lemma, ``(AᵀA + ρI)⁻¹ = (I − Aᵀ(ρI + AAᵀ)⁻¹A)/ρ``,
    so only an ``m x m`` system (m = number of features) is factorised, which makes SRC with
    thousands of training atoms cheap; all samples are solved together.

    Parameters
    ----------
    A : ndarray, shape (m, n)
        Dictionary.
    Y : ndarray, shape (N, m)
        Signals as rows.
    lam : float
        Weight of the l1 term (> 0).
    rho : float, default 0.5
        ADMM penalty.
    max_iter : int, default 500
        Maximum number of iterations.
    tol : float, default 1e-6
        Stop when primal and dual residuals (RMS) fall below it.

    Returns
    -------
    ndarray, shape (N, n)
        Exactly sparse codes (the shrunk ADMM variable).

    Examples
    --------
    >>> lasso_admm(np.eye(2), np.array([[2.0, 0.5]]), 1.0).round(4).tolist()
    [[1.0, 0.0]]
    """
    if lam <= 0 or rho <= 0:
        raise ValueError(f"lam and rho must be > 0, got lam={lam}, rho={rho}")
    m, n = A.shape
    Minv = np.linalg.inv(rho * np.eye(m) + A @ A.T)
    Aty = Y @ A  # (N, n)
    z = np.zeros((Y.shape[0], n))
    u = np.zeros_like(z)
    t = lam / rho
    for _ in range(max_iter):
        v = Aty + rho * (z - u)
        x = (v - ((v @ A.T) @ Minv) @ A) / rho
        z_old = z
        w = x + u
        z = np.sign(w) * np.maximum(np.abs(w) - t, 0.0)
        u = u + x - z
        r = np.sqrt(np.mean((x - z) ** 2))
        s = rho * np.sqrt(np.mean((z - z_old) ** 2))
        if r < tol and s < tol:
            break
    return z


def _unit_rows(X: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(X, axis=1, keepdims=True)
    out = np.zeros_like(X)
    np.divide(X, n, out=out, where=n > 0)
    return out


class SRCClassifier:
    """Sparse-representation classifier with a scikit-learn-like ``fit``/``predict`` API.

    Parameters
    ----------
    config : SRCConfig, optional
        Solver settings (default :class:`SRCConfig`).

    References
    ----------
    Seed 003, "Classification based on sparse representation"; Wright et al., PAMI 2009.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> clf = SRCClassifier(SRCConfig(solver="omp", n_nonzero=1)).fit(X, np.array([0, 0, 1, 1]))
    >>> clf.predict(np.array([[1.0, 0.05], [0.02, 1.0]])).tolist()
    [0, 1]
    """

    def __init__(self, config: SRCConfig | None = None) -> None:
        cfg = config if config is not None else SRCConfig()
        if not isinstance(cfg, SRCConfig):
            raise TypeError(f"config must be an SRCConfig, got {type(cfg).__name__}")
        if cfg.solver not in SOLVERS:
            raise ValueError(f"unknown solver {cfg.solver!r}; valid solvers: {list(SOLVERS)}")
        if not (isinstance(cfg.lam, (int, float)) and cfg.lam > 0):
            raise ValueError(f"config.lam must be > 0, got {cfg.lam!r}")
        if isinstance(cfg.n_nonzero, bool) or not isinstance(cfg.n_nonzero, int) or cfg.n_nonzero < 1:
            raise ValueError(f"config.n_nonzero must be an int >= 1, got {cfg.n_nonzero!r}")
        self.config = cfg
        self.A_: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SRCClassifier":
        """Store the unit-normalised training samples as the dictionary.

        Parameters
        ----------
        X : ndarray, shape (n_samples, n_features)
        y : ndarray, shape (n_samples,)
            Class labels.

        Returns
        -------
        SRCClassifier

        Raises
        ------
        ValueError
            Shape mismatch, NaN, fewer than 2 classes, OMP sparsity above the number of atoms.
        """
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[0] < 2:
            raise ValueError(f"X must be a 2-D array with >= 2 samples, got {getattr(X, 'shape', type(X).__name__)}")
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        X = X.astype(np.float64)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite values")
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(f"need at least 2 classes, got {classes.tolist()}")
        n_atoms = X.shape[0] + (X.shape[1] if self.config.robust else 0)
        if self.config.solver == "omp" and self.config.n_nonzero > n_atoms:
            raise ValueError(f"config.n_nonzero={self.config.n_nonzero} is larger than the number of atoms ({n_atoms})")
        self.classes_ = classes
        self.A_ = _unit_rows(X).T  # (n_features, n_samples)
        self.labels_ = y
        return self

    def _dictionary(self) -> np.ndarray:
        A = self.A_
        if self.config.robust:
            A = np.concatenate([A, np.eye(A.shape[0])], axis=1)
        return A

    def code(self, X: np.ndarray) -> np.ndarray:
        """Sparse codes of the (unit-normalised) samples, shape (n, n_atoms)."""
        if self.A_ is None:
            raise ValueError("SRCClassifier is not fitted; call fit first")
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[1] != self.A_.shape[0]:
            raise ValueError(f"X must have shape (n, {self.A_.shape[0]}), got {getattr(X, 'shape', type(X).__name__)}")
        Y = X.astype(np.float64)
        if not np.all(np.isfinite(Y)):
            raise ValueError("X contains NaN or infinite values")
        Y = _unit_rows(Y)
        B = self._dictionary()
        if self.config.solver == "omp":
            return omp_codes(B, Y, n_nonzero=self.config.n_nonzero).to_dense()
        return lasso_admm(B, Y, self.config.lam, rho=self.config.rho, max_iter=self.config.max_iter)

    def residuals(self, X: np.ndarray) -> np.ndarray:
        """Class-wise residuals ``r_i(y) = ||y − e − A δ_i(x)||``, shape (n, n_classes)."""
        codes = self.code(X)
        Y = _unit_rows(X.astype(np.float64))
        n_train = self.A_.shape[1]
        x, e = codes[:, :n_train], codes[:, n_train:]
        if e.shape[1]:
            Y = Y - e
        res = np.empty((X.shape[0], self.classes_.size))
        for ci, cls in enumerate(self.classes_):  # loop over classes, vectorised over samples
            sel = self.labels_ == cls
            rec = x[:, sel] @ self.A_[:, sel].T
            res[:, ci] = np.linalg.norm(Y - rec, axis=1)
        return res

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class with the smallest residual for every sample.

        Parameters
        ----------
        X : ndarray, shape (n, n_features)

        Returns
        -------
        ndarray, shape (n,)
        """
        res = self.residuals(X)
        return self.classes_[np.argmin(res, axis=1)]

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


def load_digits_split(test_size: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load scikit-learn's digits (8x8, 1797 samples) as a stratified train/test split.

    Parameters
    ----------
    test_size : float, default 0.25
        Held-out fraction.
    seed : int, default 0
        Split seed.

    Returns
    -------
    X_train, X_test, y_train, y_test
        Pixel values in [0, 1].

    Examples
    --------
    >>> Xtr, Xte, ytr, yte = load_digits_split()
    >>> Xtr.shape[1], len(Xtr) + len(Xte)
    (64, 1797)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    d = load_digits()
    X = d.data / 16.0
    return tuple(train_test_split(X, d.target, test_size=test_size, random_state=seed, stratify=d.target))  # type: ignore[return-value]


def load_image_folder_split(
    root: str | os.PathLike, test_size: float = 0.25, seed: int = 0, *, size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """A user's labelled images in the ImageFolder layout as a stratified train/test split.

    Layout (torchvision's ``ImageFolder``): ``root/<class name>/<image file>``; every
    sub-folder is a class (sorted names give the label indices), every image file in it a
    sample. Images are read as gray, resized to ``size`` (default: the first image's size) with
    anti-aliasing and flattened; pixel values are in [0, 1].

    Parameters
    ----------
    root : path-like
        Folder holding one sub-folder per class.
    test_size : float, optional
        Held-out fraction in (0, 1) (default 0.25).
    seed : int, optional
        Split seed (default 0).
    size : (int, int), optional
        ``(H, W)`` the images are resized to.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        Flattened images (rows) and integer labels.
    classes : list of str
        Class names; label ``i`` is ``classes[i]``.

    Raises
    ------
    ValueError
        Missing folder, fewer than 2 classes, a class with fewer than 2 images, unreadable image.

    References
    ----------
    Seed 003, "Classification based on sparse representation"; the folder layout is that of
    ``torchvision.datasets.ImageFolder`` (root/class/xxx.png).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nlvision.imageio import save_image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for c in ("a", "b"):
    ...     for i in range(4):
    ...         _ = save_image(root / c / f"{i}.png", np.full((6, 5), 0.2 if c == "a" else 0.8))
    >>> Xtr, Xte, ytr, yte, classes = load_image_folder_split(root, 0.5)
    >>> Xtr.shape, classes
    ((4, 30), ['a', 'b'])
    """
    from skimage.transform import resize
    from sklearn.model_selection import train_test_split

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"--data folder: {root} is not a folder (expected root/<class>/<image>)")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size: expected a fraction in (0, 1), got {test_size}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(f"--data folder: {root} has {len(classes)} class folder(s); expected >= 2 (root/<class>/<image>)")
    X, y = [], []
    for ci, name in enumerate(classes):
        files = sorted(f for f in (root / name).iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        if len(files) < 2:
            raise ValueError(f"--data folder: class {name!r} has {len(files)} image(s); expected >= 2")
        for f in files:
            img = load_image(f, as_gray=True)
            if size is None:
                size = img.shape
            if img.shape != tuple(size):
                img = resize(img, size, anti_aliasing=True)
            X.append(img.ravel())
            y.append(ci)
    Xa, ya = np.asarray(X), np.asarray(y)
    n_test = max(len(classes), int(round(float(test_size) * len(ya))))
    if len(ya) - n_test < len(classes):
        raise ValueError(f"--data folder: {len(ya)} images are too few for a stratified split of {len(classes)} classes")
    parts = train_test_split(Xa, ya, test_size=n_test, random_state=seed, stratify=ya)
    return (*parts, classes)  # type: ignore[return-value]


def occlude(X: np.ndarray, fraction: float, value: float = 1.0) -> np.ndarray:
    """The occlusion protocol: set the first ``fraction`` of every sample's pixels to ``value``.

    For row-major images this occludes the top rows (a contiguous block, as the sunglasses /
    scarf occlusions of Wright et al.), which the occlusion-robust SRC absorbs with identity
    atoms.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Flattened test images.
    fraction : float
        Fraction of the features to occlude, in [0, 1).
    value : float, optional
        Value written (default 1.0, white).

    Returns
    -------
    ndarray
        Occluded copy of ``X`` (float64).

    Raises
    ------
    ValueError
        ``X`` not 2-D or ``fraction`` outside [0, 1).

    References
    ----------
    J. Wright, A. Y. Yang, A. Ganesh, S. S. Sastry, Y. Ma, "Robust face recognition via sparse
    representation", IEEE PAMI 31(2), 2009, section on contiguous occlusion.

    Examples
    --------
    >>> occlude(np.zeros((1, 4)), 0.5).tolist()
    [[1.0, 1.0, 0.0, 0.0]]
    """
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError(f"X: expected a 2-D array (n_samples, n_features), got {getattr(X, 'shape', type(X).__name__)}")
    f = float(fraction)
    if not 0.0 <= f < 1.0:
        raise ValueError(f"fraction: expected a value in [0, 1), got {fraction}")
    out = X.astype(np.float64)
    k = int(round(f * X.shape[1]))
    out[:, :k] = value
    return out


def evaluate_src(
    data: str | tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = "digits",
    config: SRCConfig | None = None,
    *,
    occlusion: float = 0.0,
    test_size: float = 0.25,
    seed: int = 0,
    baselines: bool = True,
) -> dict:
    """Held-out accuracy of SRC, with the 1-NN and linear-SVM baselines in the same run.

    Parameters
    ----------
    data : str or tuple
        ``"digits"`` (scikit-learn's 8x8 digits), ``"folder:PATH"`` (a user's ImageFolder
        layout, :func:`load_image_folder_split`) or ``(X_train, X_test, y_train, y_test)``.
    config : SRCConfig, optional
        SRC settings (default :class:`SRCConfig`).
    occlusion : float, optional
        Fraction of every test sample occluded by :func:`occlude` (default 0).
    test_size : float, optional
        Held-out fraction for named data sets (default 0.25).
    seed : int, optional
        Split seed and the SVM's seed (default 0).
    baselines : bool, optional
        Also fit 1-NN and a linear SVM on the same split (default True).

    Returns
    -------
    dict
        ``data, train, test, solver, robust, occlusion, src_accuracy, seconds`` and, with
        baselines, ``1nn_accuracy`` and ``linear_svm_accuracy``.

    Raises
    ------
    ValueError
        Unknown data name, bad folder, occlusion outside [0, 1).

    References
    ----------
    Seed 003, "Classification based on sparse representation"; Wright et al., PAMI 2009.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> r = evaluate_src((X, X, np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])),
    ...                  SRCConfig(solver="omp", n_nonzero=1))
    >>> r["src_accuracy"], r["1nn_accuracy"]
    (1.0, 1.0)
    """
    import time

    cfg = config if config is not None else SRCConfig()
    if isinstance(data, str):
        name = data
        if data == "digits":
            Xtr, Xte, ytr, yte = load_digits_split(test_size, seed)
        elif data.startswith("folder:"):
            Xtr, Xte, ytr, yte, _ = load_image_folder_split(data[len("folder:"):], test_size, seed)
        else:
            raise ValueError(f"--data: unknown data set {data!r}; expected digits or folder:PATH")
    else:
        name = "arrays"
        Xtr, Xte, ytr, yte = data
    if occlusion:
        Xte = occlude(np.asarray(Xte), occlusion)
    t0 = time.perf_counter()
    clf = SRCClassifier(cfg).fit(np.asarray(Xtr), np.asarray(ytr))
    acc = clf.score(np.asarray(Xte), np.asarray(yte))
    result = {"data": name, "train": int(len(ytr)), "test": int(len(yte)), "solver": cfg.solver, "robust": cfg.robust,
              "occlusion": float(occlusion), "src_accuracy": acc, "seconds": round(time.perf_counter() - t0, 3)}
    if baselines:
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.svm import LinearSVC

        result["1nn_accuracy"] = float(KNeighborsClassifier(1).fit(Xtr, ytr).score(Xte, yte))
        result["linear_svm_accuracy"] = float(LinearSVC(random_state=seed).fit(Xtr, ytr).score(Xte, yte))
    return result
