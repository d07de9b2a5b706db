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

from dataclasses import dataclass

import numpy as np

__all__ = ["SRCConfig", "SRCClassifier", "lasso_admm", "load_digits_split", "SOLVERS"]

SOLVERS = ("l1", "omp")


@dataclass
class SRCConfig:
    """SRC hyper-parameters.

    Attributes
    ----------
    solver : str
        ``"l1"`` (BPDN, ``1/2||Ax − y||² + λ||x||_1`` by ADMM: the Lagrangian form of Wright's
        ``min ||x||_1 s.t. ||Ax − y|| <= ε``) or ``"omp"``.
    lam : float
        λ of the l1 solver (signals and atoms have unit norm).
    n_nonzero : int
        Sparsity level of the OMP solver.
    robust : bool
        Add identity atoms (occlusion / corruption robust SRC).
    max_iter : int
        ADMM iterations.
    rho : float
        ADMM penalty.
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
        l1 weight (> 0).
    rho : float, default 0.5
    max_iter : int, default 500
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
            from nlvision.restoration.sparse import omp_codes

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
    """scikit-learn's digits (8x8, 1797 samples) as a stratified train/test split.

    Parameters
    ----------
    test_size : float, default 0.25
    seed : int, default 0

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
