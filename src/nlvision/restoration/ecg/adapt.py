"""Dictionary adaptation across heart rates: ``D_{u,r1} = F_{r1,r0} D_{u,r0}`` with F learned across users.

Seed 003, "Domain adaptation for online ECG monitoring" / "Learning transformations"::

    F = argmin_{F, {X_u}}  1/2 sum_u ||S_{u,r1} - F D_{u,r0} X_u||_F^2 + mu sum_u ||X_u||_1
                           + lam/2 ||W o F||_F^2 + xi ||W o F||_1

``S_{u,r1}`` holds user u's heartbeats at heart rate r1 (one per column), ``D_{u,r0}`` their
dictionary learned at r0; W penalises the entries far from the diagonal more, so F stays local
(it maps each sample from its neighbours). Solved by alternating minimisation:

* X-step: for every user, BPDN of ``S_{u,r1}`` on the dictionary ``F D_{u,r0}``
  (:func:`nlvision.restoration.bpdn.bpdn`, ADMM, warm-started);
* F-step: with ``B_u = D_{u,r0} X_u``, ``A = sum_u B_u B_u^T`` and ``C = sum_u S_u B_u^T`` the
  problem in F is ``1/2 tr(F A F^T) - tr(F C^T) + lam/2 ||W o F||^2 + xi ||W o F||_1``, solved by
  FISTA (gradient ``F A - C + lam W^2 o F``, step ``1/L`` with ``L = eig_max(A) + lam max W^2``,
  prox = entrywise soft threshold at ``xi W / L``), warm-started; an F-step that would increase
  the objective is rejected, so the objective never increases.

**Convergence rule**: stop when the objective decreased by less than ``tol`` (relative) over
one alternation, or after ``max_iter`` alternations. The inner FISTA stops when
``||F_k+1 - F_k|| <= 1e-6 ||F_k||`` or after ``f_iter`` steps.

References
----------
Seed 003, "Domain adaptation for online ECG monitoring", "Learning transformations".
D. Carrera, B. Rossi, P. Fragneto, G. Boracchi, "Domain adaptation for online ECG monitoring",
IEEE ICDM 2017. A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm", SIAM
J. Imaging Sci. 2(1), 2009. H. C. Bazett, "An analysis of the time-relations of
electrocardiograms", Heart 7, 1920 (QT ~ sqrt(RR), the resampling baseline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nlvision.restoration.bpdn import ADMMConfig, DictionaryLearningConfig, bpdn, learn_dictionary

__all__ = [
    "TransformConfig",
    "TransformResult",
    "locality_weights",
    "learn_user_dictionary",
    "learn_transform",
    "transform_objective",
    "adapt_dictionary",
    "resample_dictionary",
]


@dataclass
class TransformConfig:
    """Options of :func:`learn_transform` (the weighted elastic net of the slides).

    Parameters
    ----------
    mu : float
        Weight of the l1 norm of the codes ``X_u``.
    lam : float
        Weight of ``lam/2 ||W o F||^2``.
    xi : float
        Weight of ``xi ||W o F||_1``.
    bandwidth : float
        Width (samples) of the cheap band around the diagonal in :func:`locality_weights`.
    max_iter : int
        Alternations limit.
    tol : float
        Relative objective decrease under which the alternation stops.
    f_iter : int
        FISTA steps limit per F-step.

    Examples
    --------
    >>> TransformConfig(xi=0.0).xi
    0.0
    """

    mu: float = 0.05
    lam: float = 1.0
    xi: float = 0.1
    bandwidth: float = 3.0
    max_iter: int = 30
    tol: float = 1e-4
    f_iter: int = 300

    def validate(self) -> "TransformConfig":
        """Raise ``ValueError`` on an out-of-range option.

        Returns
        -------
        TransformConfig
            ``self``.

        Raises
        ------
        ValueError
            Negative weights, non-positive bandwidth/tolerance or iteration counts.

        Examples
        --------
        >>> TransformConfig().validate().max_iter
        30
        """
        for name in ("mu", "lam", "xi"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if not self.bandwidth > 0 or not self.tol > 0:
            raise ValueError(f"bandwidth and tol must be > 0, got {self.bandwidth}, {self.tol}")
        if int(self.max_iter) < 1 or int(self.f_iter) < 1:
            raise ValueError(f"max_iter and f_iter must be >= 1, got {self.max_iter}, {self.f_iter}")
        return self


@dataclass
class TransformResult:
    """Output of :func:`learn_transform`.

    Parameters
    ----------
    F : ndarray, shape (m, m)
        The learned transformation ``F_{r1,r0}``.
    objective : list of float
        Objective after every alternation (non-increasing).
    n_iter : int
        Alternations performed.
    converged : bool
        Whether the convergence rule stopped the alternation (rather than ``max_iter``).

    Examples
    --------
    >>> TransformResult(np.eye(2)).F.shape
    (2, 2)
    """

    F: np.ndarray
    objective: list = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False


def locality_weights(m: int, bandwidth: float = 3.0) -> np.ndarray:
    """Weights ``W_ij = 1 - exp(-(i-j)^2 / (2 b^2)) + 0.01``: cheap near the diagonal, 1 far away.

    Parameters
    ----------
    m : int
        Beat length (F is ``m x m``).
    bandwidth : float, default 3
        ``b``, in samples.

    Returns
    -------
    ndarray, shape (m, m)
        The weights.

    Raises
    ------
    ValueError
        ``m < 1`` or ``bandwidth <= 0``.

    References
    ----------
    Seed 003, "Learning transformations" (W penalises less the entries near the diagonal).

    Examples
    --------
    >>> W = locality_weights(5, 1.0)
    >>> float(W[2, 2]), bool(W[0, 4] > 0.99)
    (0.01, True)
    """
    if isinstance(m, bool) or int(m) < 1 or not bandwidth > 0:
        raise ValueError(f"m must be >= 1 and bandwidth > 0, got {m}, {bandwidth}")
    i = np.arange(int(m))
    d = i[:, None] - i[None, :]
    return 1.0 - np.exp(-(d * d) / (2.0 * float(bandwidth) ** 2)) + 0.01


def learn_user_dictionary(beats: np.ndarray, n_atoms: int = 16, lam: float = 0.05, *, n_iter: int = 10, rng: int = 0) -> np.ndarray:
    """A user's dictionary of heartbeats (BPDN-based learning, :func:`nlvision.restoration.bpdn.learn_dictionary`).

    Parameters
    ----------
    beats : ndarray, shape (N, m)
        The user's normal heartbeats (one per row).
    n_atoms : int, default 16
        Number of atoms.
    lam : float, default 0.05
        Weight of the l1 norm in the coding step.
    n_iter : int, default 10
        Alternations of the learning.
    rng : int, default 0
        Seed.

    Returns
    -------
    ndarray, shape (m, n_atoms)
        Unit-norm atoms as columns.

    Raises
    ------
    ValueError
        Fewer beats than 2, or non-finite values.

    References
    ----------
    Seed 003, "A dictionary learned from normal patches" (BPDN-based learning).

    Examples
    --------
    >>> S = np.random.default_rng(0).standard_normal((30, 8))
    >>> learn_user_dictionary(S, 4, n_iter=2).shape
    (8, 4)
    """
    S = np.asarray(beats, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] < 2 or not np.all(np.isfinite(S)):
        raise ValueError(f"beats must be a finite (N >= 2, m) array, got shape {S.shape}")
    cfg = DictionaryLearningConfig(n_atoms=int(n_atoms), lam=float(lam), n_iter=int(n_iter), n_samples=S.shape[0], admm_iter=50)
    return learn_dictionary(S, cfg, rng=rng)


def _check_pairs(dictionaries: Sequence[np.ndarray], beats_r1: Sequence[np.ndarray]) -> tuple[list, list, int]:
    if len(dictionaries) == 0 or len(dictionaries) != len(beats_r1):
        raise ValueError(f"need one dictionary per user and one beat matrix per user, got {len(dictionaries)} and {len(beats_r1)}")
    Ds, Ss = [], []
    m = None
    for u, (D, S) in enumerate(zip(dictionaries, beats_r1)):
        D = np.asarray(D, dtype=np.float64)
        S = np.asarray(S, dtype=np.float64)
        if D.ndim != 2 or S.ndim != 2:
            raise ValueError(f"user {u}: dictionary (m, n) and beats (N, m) must be 2-D, got {D.shape} and {S.shape}")
        if m is None:
            m = D.shape[0]
        if D.shape[0] != m or S.shape[1] != m:
            raise ValueError(f"user {u}: beat length must be {m}, got dictionary {D.shape} and beats {S.shape}")
        if not (np.all(np.isfinite(D)) and np.all(np.isfinite(S))):
            raise ValueError(f"user {u}: dictionary and beats must be finite")
        Ds.append(D)
        Ss.append(S)
    return Ds, Ss, int(m)


def transform_objective(F: np.ndarray, dictionaries, beats_r1, codes, config: TransformConfig | None = None) -> float:
    """Value of the slides' objective for given ``F`` and codes ``X_u``.

    Parameters
    ----------
    F : ndarray, shape (m, m)
        Transformation.
    dictionaries : sequence of ndarray (m, n_u)
        ``D_{u,r0}``.
    beats_r1 : sequence of ndarray (N_u, m)
        ``S_{u,r1}`` (one beat per row).
    codes : sequence of ndarray (N_u, n_u)
        ``X_u`` (one code per row).
    config : TransformConfig, optional
        Weights.

    Returns
    -------
    float
        The objective.

    Raises
    ------
    ValueError
        Shapes that do not agree.

    Examples
    --------
    >>> D = [np.eye(2)]; S = [np.ones((1, 2))]; X = [np.ones((1, 2))]
    >>> transform_objective(np.eye(2), D, S, X, TransformConfig(mu=1.0, lam=0.0, xi=0.0))
    2.0
    """
    cfg = (config or TransformConfig()).validate()
    Ds, Ss, m = _check_pairs(dictionaries, beats_r1)
    W = locality_weights(m, cfg.bandwidth)
    val = 0.0
    for D, S, X in zip(Ds, Ss, codes):
        R = S - X @ (F @ D).T
        val += 0.5 * float(np.sum(R * R)) + cfg.mu * float(np.abs(X).sum())
    WF = W * F
    return val + 0.5 * cfg.lam * float(np.sum(WF * WF)) + cfg.xi * float(np.abs(WF).sum())


def learn_transform(dictionaries: Sequence[np.ndarray], beats_r1: Sequence[np.ndarray], config: TransformConfig | None = None,
                    *, F0: np.ndarray | None = None) -> TransformResult:
    """Learn ``F_{r1,r0}`` across users by alternating minimisation of the weighted elastic net.

    Parameters
    ----------
    dictionaries : sequence of ndarray, shape (m, n_u)
        Each training user's dictionary learned at heart rate r0 (atoms as columns).
    beats_r1 : sequence of ndarray, shape (N_u, m)
        The same users' heartbeats at heart rate r1 (one per row).
    config : TransformConfig, optional
        Weights, locality bandwidth and the convergence rule.
    F0 : ndarray, shape (m, m), optional
        Initial transformation (default the identity).

    Returns
    -------
    TransformResult
        ``F``, the objective history, the number of alternations and the convergence flag.

    Raises
    ------
    ValueError
        No users, mismatched lengths or shapes, non-finite values, bad options.

    References
    ----------
    Seed 003, "Learning transformations"; Carrera et al., ICDM 2017.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> D = [np.linalg.qr(rng.standard_normal((6, 6)))[0] for _ in range(2)]
    >>> S = [rng.standard_normal((20, 6)) for _ in range(2)]
    >>> res = learn_transform(D, S, TransformConfig(max_iter=3))
    >>> res.F.shape, bool(res.objective[-1] <= res.objective[0])
    ((6, 6), True)
    """
    cfg = (config or TransformConfig()).validate()
    Ds, Ss, m = _check_pairs(dictionaries, beats_r1)
    W = locality_weights(m, cfg.bandwidth)
    W2 = W * W
    F = np.eye(m) if F0 is None else np.asarray(F0, dtype=np.float64).copy()
    if F.shape != (m, m):
        raise ValueError(f"F0 must have shape ({m}, {m}), got {F.shape}")
    admm = ADMMConfig(max_iter=200, rel_tol=1e-4)
    codes = [None] * len(Ds)

    def x_step(F):
        out = []
        for u, (D, S) in enumerate(zip(Ds, Ss)):
            out.append(bpdn(F @ D, S, cfg.mu, config=admm, x0=codes[u]).x)
        return out

    def obj(F, X):
        return transform_objective(F, Ds, Ss, X, cfg)

    history = []
    converged = False
    it = 0
    for it in range(1, int(cfg.max_iter) + 1):
        codes = x_step(F)
        before = obj(F, codes)
        B = [X @ D.T for D, X in zip(Ds, codes)]  # rows: D x for every beat
        A = sum(b.T @ b for b in B)
        C = sum(S.T @ b for S, b in zip(Ss, B))
        L = float(np.linalg.eigvalsh(A)[-1]) + cfg.lam * float(W2.max())
        L = max(L, 1e-12)
        Fk, Y, t = F.copy(), F.copy(), 1.0
        for _ in range(int(cfg.f_iter)):
            G = Y @ A - C + cfg.lam * W2 * Y
            V = Y - G / L
            Fn = np.sign(V) * np.maximum(np.abs(V) - cfg.xi * W / L, 0.0)
            tn = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
            Y = Fn + ((t - 1) / tn) * (Fn - Fk)
            done = np.linalg.norm(Fn - Fk) <= 1e-6 * max(np.linalg.norm(Fk), 1e-12)
            Fk, t = Fn, tn
            if done:
                break
        after = obj(Fk, codes)
        if after <= before:
            F = Fk
        else:
            after = before
        history.append(after)
        if len(history) >= 2 and history[-2] - history[-1] <= cfg.tol * abs(history[-2]):
            converged = True
            break
    return TransformResult(F=F, objective=history, n_iter=it, converged=converged)


def adapt_dictionary(D: np.ndarray, F: np.ndarray, *, normalize: bool = True) -> np.ndarray:
    """Adapt a user's dictionary to the new heart rate: ``D_{u,r1} = F D_{u,r0}``.

    Parameters
    ----------
    D : ndarray, shape (m, n)
        Dictionary at r0 (atoms as columns).
    F : ndarray, shape (m, m)
        Transformation from :func:`learn_transform`.
    normalize : bool, default True
        Rescale the adapted atoms to unit norm (the sparse coder assumes it).

    Returns
    -------
    ndarray, shape (m, n)
        The adapted dictionary.

    Raises
    ------
    ValueError
        Shapes that do not agree.

    References
    ----------
    Seed 003, "Domain adaptation for online ECG monitoring".

    Examples
    --------
    >>> adapt_dictionary(np.eye(2), 2 * np.eye(2), normalize=False).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    D = np.asarray(D, dtype=np.float64)
    F = np.asarray(F, dtype=np.float64)
    if D.ndim != 2 or F.shape != (D.shape[0], D.shape[0]):
        raise ValueError(f"F must be ({D.shape[0] if D.ndim == 2 else '?'}, same) for a dictionary of shape {D.shape}, got {F.shape}")
    out = F @ D
    if normalize:
        out = out / np.maximum(np.linalg.norm(out, axis=0, keepdims=True), 1e-12)
    return out


def resample_dictionary(D: np.ndarray, r0: float, r1: float, *, before: float = 0.2, after: float = 0.45,
                        exponent: float = 0.5) -> np.ndarray:
    """Baseline adaptation: stretch every atom in time around the R peak by ``(r0/r1)^exponent``.

    With ``exponent=0.5`` this is Bazett's rule (QT proportional to sqrt(RR)); ``1`` scales by the
    RR ratio. Atoms are sampled on the window ``[-before, after]`` seconds (as in
    :func:`nlvision.restoration.ecg.segment_beats`); samples that fall outside are set to 0.

    Parameters
    ----------
    D : ndarray, shape (m, n)
        Dictionary at heart rate r0.
    r0, r1 : float
        Source and target heart rates (bpm).
    before, after : float, default 0.2, 0.45
        The beat window (seconds).
    exponent : float, default 0.5
        Time-scaling exponent.

    Returns
    -------
    ndarray, shape (m, n)
        Resampled atoms, unit norm.

    Raises
    ------
    ValueError
        Non-positive heart rates or a non-2-D dictionary.

    References
    ----------
    Bazett, Heart 7, 1920; seed 003, "Dictionary adaptation performance" (alternative
    adaptations).

    Examples
    --------
    >>> D = np.eye(5)[:, :1]
    >>> resample_dictionary(D, 60, 60).ravel().tolist()
    [1.0, 0.0, 0.0, 0.0, 0.0]
    """
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or not (r0 > 0 and r1 > 0):
        raise ValueError(f"D must be 2-D and heart rates > 0, got {D.shape}, {r0}, {r1}")
    m = D.shape[0]
    t = np.linspace(-before, after, m)
    scale = (float(r0) / float(r1)) ** float(exponent)  # < 1: the beat is shorter at r1 > r0
    src = t / scale
    out = np.stack([np.interp(src, t, D[:, k], left=0.0, right=0.0) for k in range(D.shape[1])], axis=1)
    return out / np.maximum(np.linalg.norm(out, axis=0, keepdims=True), 1e-12)
