"""Density ``phi0`` of normal feature vectors (seed 003, "Density-based monitoring")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DENSITIES", "GaussianDensity"]

#: Density models of the normal features.
DENSITIES = ("gaussian", "gmm")


@dataclass
class GaussianDensity:
    """Gaussian (mixture) density ``phi0`` of normal feature vectors; ``-log phi0`` is the score.

    Parameters
    ----------
    weights : ndarray, shape (K,)
        Mixture weights (sum to one).
    means : ndarray, shape (K, d)
        Component means.
    covariances : ndarray, shape (K, d, d)
        Component covariance matrices (symmetric positive definite).

    References
    ----------
    Seed 003, "Features extracted from sparse coding" (learn from V the distribution of normal
    feature vectors); D. Carrera et al., IEEE TII 13(2), 2017 (Gaussian mixture of the features).

    Examples
    --------
    >>> F = np.random.default_rng(0).normal(size=(500, 2))
    >>> d = GaussianDensity.fit(F)
    >>> d.means.shape, d.covariances.shape
    ((1, 2), (1, 2, 2))
    >>> bool(d.neg_log_density(np.zeros((1, 2)))[0] < d.neg_log_density(np.full((1, 2), 4.0))[0])
    True
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @classmethod
    def fit(cls, F: np.ndarray, kind: str = "gaussian", n_components: int = 3, seed: int = 0) -> "GaussianDensity":
        """Fit to the rows of ``F`` (a Gaussian by moments, or a GMM by scikit-learn's EM).

        Parameters
        ----------
        F : ndarray, shape (N, d)
            Normal feature vectors, one per row.
        kind : {"gaussian", "gmm"}
            Density model.
        n_components : int
            Components of the mixture (``"gmm"``).
        seed : int
            Seed of the EM initialisation.

        Returns
        -------
        GaussianDensity

        Raises
        ------
        ValueError
            Too few rows, or an unknown ``kind``.
        """
        F = np.asarray(F, dtype=np.float64)
        if F.ndim != 2 or F.shape[0] < F.shape[1] + 2:
            raise ValueError(f"features: need more than {F.shape[-1] + 1} feature vectors to fit a density, got shape {F.shape}")
        if kind not in DENSITIES:
            raise ValueError(f"density: unknown {kind!r}; valid: {', '.join(DENSITIES)}")
        reg = 1e-6 * np.maximum(F.var(axis=0), 1e-12)
        if kind == "gaussian":
            mean = F.mean(axis=0)
            cov = np.cov(F, rowvar=False).reshape(F.shape[1], F.shape[1]) + np.diag(reg)
            return cls(np.ones(1), mean[None], cov[None])
        from sklearn.mixture import GaussianMixture

        gm = GaussianMixture(n_components=int(n_components), covariance_type="full", random_state=int(seed),
                             reg_covar=float(reg.max()), n_init=1).fit(F)
        return cls(gm.weights_.copy(), gm.means_.copy(), gm.covariances_.copy())

    def neg_log_density(self, F: np.ndarray) -> np.ndarray:
        """``-log phi0(f)`` for every row of ``F`` (stable log-sum-exp over the components).

        Parameters
        ----------
        F : ndarray, shape (N, d)

        Returns
        -------
        ndarray, shape (N,)
        """
        from scipy.special import logsumexp

        F = np.asarray(F, dtype=np.float64)
        d = F.shape[1]
        logs = []
        for w, m, C in zip(self.weights, self.means, self.covariances):
            L = np.linalg.cholesky(C)
            z = np.linalg.solve(L, (F - m).T)  # (d, N)
            maha = np.sum(z * z, axis=0)
            logdet = 2.0 * np.sum(np.log(np.diag(L)))
            logs.append(np.log(w) - 0.5 * (maha + logdet + d * np.log(2 * np.pi)))
        return -logsumexp(np.stack(logs, 0), axis=0)
