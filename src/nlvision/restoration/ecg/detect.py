"""Heartbeat anomaly detection on sparse-coding features (the lecture's recipe, for ECG beats).

Seed 003, "Sparse representations as feature extractors": every heartbeat ``s`` is coded by BPDN
on the user's dictionary D, ``x = argmin 1/2 ||Dx - s||^2 + lam ||x||_1`` (ADMM,
:func:`nlvision.restoration.bpdn.bpdn`), giving the feature vector
``f = [||Dx - s||^2, ||x||_1]``. The density of normal features is a Gaussian fitted on a
validation set of normal beats (on ``log f``, scikit-learn's ``EmpiricalCovariance``); the anomaly
score is the Mahalanobis distance, and beats scoring above the threshold ``gamma`` (the
``1 - fpr`` quantile of the validation scores) are anomalous.

References
----------
Seed 003, "Sparse representations as feature extractors", "Features extracted from sparse coding".
D. Carrera, B. Rossi, P. Fragneto, G. Boracchi, "Online anomaly detection for long-term ECG
monitoring using wearable devices", Pattern Recognition 88, 2019.
"""

from __future__ import annotations

import math

import numpy as np

from nlvision.restoration.bpdn import ADMMConfig, bpdn

__all__ = ["beat_features", "HeartbeatDetector"]


def beat_features(D: np.ndarray, beats: np.ndarray, lam: float = 0.05) -> np.ndarray:
    """The sparse-coding features ``[||Dx - s||^2, ||x||_1]`` of every beat.

    Parameters
    ----------
    D : ndarray, shape (m, n)
        Dictionary (atoms as columns).
    beats : ndarray, shape (N, m)
        Heartbeats, one per row.
    lam : float, default 0.05
        BPDN l1 weight.

    Returns
    -------
    ndarray, shape (N, 2)
        Reconstruction error and l1 norm of the code of every beat.

    Raises
    ------
    ValueError
        Shapes that do not agree, non-finite values, negative ``lam``.

    References
    ----------
    Seed 003, "Features extracted from sparse coding".

    Examples
    --------
    >>> beat_features(np.eye(2), np.array([[2.0, 0.0]]), lam=1.0).round(3).tolist()
    [[1.0, 1.0]]
    """
    D = np.asarray(D, dtype=np.float64)
    S = np.asarray(beats, dtype=np.float64)
    if S.ndim != 2 or D.ndim != 2 or S.shape[1] != D.shape[0]:
        raise ValueError(f"beats (N, m) and dictionary (m, n) must agree, got {S.shape} and {D.shape}")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    X = bpdn(D, S, float(lam), config=ADMMConfig(max_iter=300, rel_tol=1e-4)).x
    R = S - X @ D.T
    return np.stack([np.sum(R * R, axis=1), np.abs(X).sum(axis=1)], axis=1)


class HeartbeatDetector:
    """Anomaly detector ``(D, phi_0, gamma)`` for heartbeats.

    Parameters
    ----------
    dictionary : ndarray, shape (m, n)
        The user's dictionary (learned at this heart rate, or adapted to it).
    lam : float, default 0.05
        BPDN l1 weight of the features.
    fpr : float, default 0.01
        Target false-positive rate that sets the threshold on the validation beats.

    Attributes
    ----------
    threshold : float
        The threshold ``gamma`` on the score (after :meth:`fit`).

    Raises
    ------
    ValueError
        A dictionary that is not 2-D, or ``fpr`` outside (0, 1).

    References
    ----------
    Seed 003, "Features extracted from sparse coding" (training: dictionary, validation density,
    threshold; testing: score against gamma).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> normal = np.outer(rng.normal(1, 0.05, 40), [1.0, 1.0, 0.0, 0.0]) + 0.01 * rng.standard_normal((40, 4))
    >>> D = np.array([[1.0, 1.0, 0.0, 0.0]]).T / np.sqrt(2)
    >>> det = HeartbeatDetector(D, lam=0.01).fit(normal)
    >>> bool(det.score(np.array([[0.0, 0.0, 1.0, 1.0]]))[0] > det.threshold)
    True
    """

    def __init__(self, dictionary: np.ndarray, lam: float = 0.05, fpr: float = 0.01):
        D = np.asarray(dictionary, dtype=np.float64)
        if D.ndim != 2:
            raise ValueError(f"dictionary must be 2-D (m, n), got shape {D.shape}")
        if not (0 < fpr < 1):
            raise ValueError(f"fpr must be in (0, 1), got {fpr}")
        self.dictionary = D
        self.lam = float(lam)
        self.fpr = float(fpr)
        self.threshold = float("nan")
        self._cov = None

    def features(self, beats: np.ndarray) -> np.ndarray:
        """Log sparse-coding features of beats.

        Parameters
        ----------
        beats : ndarray, shape (N, m)
            Heartbeats.

        Returns
        -------
        ndarray, shape (N, 2)
            ``log`` of the reconstruction error and of the code's l1 norm.

        Examples
        --------
        >>> HeartbeatDetector(np.eye(2), lam=1.0).features(np.array([[2.0, 0.0]])).round(2).tolist() == [[0.0, 0.0]]
        True
        """
        return np.log(beat_features(self.dictionary, beats, self.lam) + 1e-12)

    def fit(self, normal_beats: np.ndarray) -> "HeartbeatDetector":
        """Fit the Gaussian density of normal features and the threshold.

        Parameters
        ----------
        normal_beats : ndarray, shape (N, m)
            Validation beats (normal, not used to learn the dictionary), ``N >= 3``.

        Returns
        -------
        HeartbeatDetector
            ``self``.

        Raises
        ------
        ValueError
            Fewer than 3 beats or a beat length that does not match the dictionary.

        Examples
        --------
        >>> det = HeartbeatDetector(np.eye(2), lam=0.1).fit(np.random.default_rng(0).random((10, 2)))
        >>> bool(np.isfinite(det.threshold))
        True
        """
        from sklearn.covariance import EmpiricalCovariance

        S = np.asarray(normal_beats, dtype=np.float64)
        if S.ndim != 2 or S.shape[0] < 3:
            raise ValueError(f"normal_beats must hold at least 3 beats (N, m), got shape {S.shape}")
        f = self.features(S)
        self._cov = EmpiricalCovariance().fit(f)
        scores = self._cov.mahalanobis(f)
        self.threshold = float(np.quantile(scores, 1.0 - self.fpr))
        return self

    def score(self, beats: np.ndarray) -> np.ndarray:
        """Anomaly score (squared Mahalanobis distance of the log features) of every beat.

        Parameters
        ----------
        beats : ndarray, shape (N, m)
            Heartbeats.

        Returns
        -------
        ndarray, shape (N,)
            Scores; larger is more anomalous.

        Raises
        ------
        RuntimeError
            Called before :meth:`fit`.

        Examples
        --------
        >>> det = HeartbeatDetector(np.eye(2), lam=0.1).fit(np.random.default_rng(0).random((10, 2)))
        >>> det.score(np.zeros((1, 2))).shape
        (1,)
        """
        if self._cov is None:
            raise RuntimeError("HeartbeatDetector.score called before fit")
        return self._cov.mahalanobis(self.features(beats))

    def with_dictionary(self, dictionary: np.ndarray) -> "HeartbeatDetector":
        """A copy that codes with another (e.g. adapted) dictionary but keeps the density and threshold.

        Parameters
        ----------
        dictionary : ndarray, shape (m, n)
            The new dictionary (same beat length).

        Returns
        -------
        HeartbeatDetector
            The adapted detector ``(F D, phi_0, gamma)``.

        Raises
        ------
        ValueError
            A dictionary of another beat length.

        Examples
        --------
        >>> det = HeartbeatDetector(np.eye(2)).with_dictionary(2 * np.eye(2))
        >>> float(det.dictionary[0, 0])
        2.0
        """
        D = np.asarray(dictionary, dtype=np.float64)
        if D.ndim != 2 or D.shape[0] != self.dictionary.shape[0]:
            raise ValueError(f"dictionary must have {self.dictionary.shape[0]} rows, got shape {D.shape}")
        other = HeartbeatDetector(D, self.lam, self.fpr)
        other.threshold = self.threshold
        other._cov = self._cov
        return other

    def predict(self, beats: np.ndarray) -> np.ndarray:
        """Detections: 1 where the score exceeds the threshold.

        Parameters
        ----------
        beats : ndarray, shape (N, m)
            Heartbeats.

        Returns
        -------
        ndarray of int, shape (N,)
            1 for anomalous beats.

        Examples
        --------
        >>> det = HeartbeatDetector(np.eye(2), lam=0.1).fit(np.random.default_rng(0).random((10, 2)))
        >>> det.predict(np.random.default_rng(1).random((3, 2))).shape
        (3,)
        """
        return (self.score(beats) > self.threshold).astype(int)
