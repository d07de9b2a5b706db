"""The "Dictionary adaptation performance" experiment on synthetic users (held-out users, several seeds).

For every seed, ``n_train_users`` synthetic users (:func:`nlvision.restoration.ecg.synthetic_user`)
give their dictionary at r0 and their beats at r1 to :func:`learn_transform`; ``n_test_users``
*other* users are then monitored at r1 with four dictionaries:

(a) ``none``: the user's dictionary learned at r0, not adapted;
(b) ``learned``: ``F D_{u,r0}`` with the learned F;
(c) ``oracle``: a dictionary learned on the user's own normal beats at r1;
(d) ``resample``: the r0 atoms stretched in time by Bazett's rule (:func:`resample_dictionary`).

Reported per method: the relative reconstruction error ``||s - Dx||^2 / ||s||^2`` of normal
r1 beats (BPDN codes) and the AUC of the anomaly score on r1 beats with planted anomalies. The
density and threshold of (a), (b), (d) are fitted on normal r0 validation beats with the r0
dictionary (only the dictionary is adapted); (c) fits them on normal r1 validation beats.

References
----------
Seed 003, "Dictionary adaptation performance"; Carrera et al., ICDM 2017.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from nlvision.metrics import mean_ci
from nlvision.restoration.bpdn import ADMMConfig, bpdn
from nlvision.restoration.ecg.adapt import (
    TransformConfig,
    adapt_dictionary,
    learn_transform,
    learn_user_dictionary,
    resample_dictionary,
)
from nlvision.restoration.ecg.detect import HeartbeatDetector
from nlvision.restoration.ecg.synthetic import simulate_beats, synthetic_user

__all__ = ["METHODS", "AdaptationConfig", "reconstruction_error", "adaptation_benchmark"]

#: Dictionaries compared by :func:`adaptation_benchmark`.
METHODS = ("none", "learned", "oracle", "resample")


@dataclass
class AdaptationConfig:
    """Options of :func:`adaptation_benchmark`.

    Parameters
    ----------
    r0, r1 : float
        Source and target heart rates (bpm).
    n_train_users, n_test_users : int
        Users that learn F, and held-out users that are monitored.
    beats : int
        Beats simulated per user, heart rate and role (dictionary, validation, test).
    anomaly_fraction : float
        Fraction of planted anomalous beats in the r1 test record.
    n_atoms : int
        Atoms of every user dictionary.
    lam : float
        BPDN weight of the dictionary learning, the features and the reconstruction error.
    transform : TransformConfig
        Options of :func:`learn_transform`.
    seeds : tuple of int
        Seeds (each draws new users and records).

    Examples
    --------
    >>> AdaptationConfig().r1
    110.0
    """

    r0: float = 60.0
    r1: float = 110.0
    n_train_users: int = 8
    n_test_users: int = 4
    beats: int = 60
    anomaly_fraction: float = 0.2
    n_atoms: int = 12
    lam: float = 0.05
    transform: TransformConfig = field(default_factory=TransformConfig)
    seeds: tuple = (0, 1, 2)

    def validate(self) -> "AdaptationConfig":
        """Raise ``ValueError`` on an out-of-range option.

        Returns
        -------
        AdaptationConfig
            ``self``.

        Raises
        ------
        ValueError
            Heart rates outside 30..200, fewer than 1 user, fewer than 6 beats, no seeds.

        Examples
        --------
        >>> AdaptationConfig(r1=90).validate().r1
        90
        """
        for r in (self.r0, self.r1):
            if not 30 <= r <= 200:
                raise ValueError(f"heart rates must be in 30..200 bpm, got {r}")
        if int(self.n_train_users) < 1 or int(self.n_test_users) < 1:
            raise ValueError("n_train_users and n_test_users must be >= 1")
        if int(self.beats) < 6:
            raise ValueError(f"beats must be >= 6, got {self.beats}")
        if len(self.seeds) < 1:
            raise ValueError("seeds: at least one seed is needed")
        self.transform.validate()
        return self


def reconstruction_error(D: np.ndarray, beats: np.ndarray, lam: float = 0.05) -> float:
    """Mean relative reconstruction error ``||s - Dx||^2 / ||s||^2`` of BPDN codes.

    Parameters
    ----------
    D : ndarray, shape (m, n)
        Dictionary.
    beats : ndarray, shape (N, m)
        Heartbeats.
    lam : float, default 0.05
        BPDN l1 weight.

    Returns
    -------
    float
        The mean relative error.

    Raises
    ------
    ValueError
        Shapes that do not agree.

    Examples
    --------
    >>> round(reconstruction_error(np.eye(2), np.array([[2.0, 0.0]]), lam=0.0), 6)
    0.0
    """
    S = np.asarray(beats, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    if S.ndim != 2 or D.ndim != 2 or S.shape[1] != D.shape[0]:
        raise ValueError(f"beats (N, m) and dictionary (m, n) must agree, got {S.shape} and {D.shape}")
    X = bpdn(D, S, float(lam), config=ADMMConfig(max_iter=300, rel_tol=1e-4)).x
    R = S - X @ D.T
    return float(np.mean(np.sum(R * R, axis=1) / np.maximum(np.sum(S * S, axis=1), 1e-12)))


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def _ci95(v) -> tuple[float, float]:
    """Mean ± 95 % CI of the finite values (NaN, NaN when there are none)."""
    v = [x for x in v if np.isfinite(x)]
    return mean_ci(v) if v else (float("nan"), float("nan"))


def adaptation_benchmark(config: AdaptationConfig | None = None, *, progress: Callable[[str], None] | None = None) -> dict:
    """Run the dictionary-adaptation experiment (a)-(d) on held-out synthetic users.

    Parameters
    ----------
    config : AdaptationConfig, optional
        Heart rates, users, beats, seeds and solver options.
    progress : callable(str), optional
        Called with a short message after every seed.

    Returns
    -------
    dict
        ``per_seed`` (list of ``{"seed", "F_iters", "F_converged", "error": {method: value},
        "auc": {method: value}}``, each value averaged over the seed's test users), ``summary``
        (``{metric: {method: [mean, ci95 half-width]}}`` over seeds), ``gap_closed``
        (``{metric: [mean, ci95]}``: the fraction of the (a)-(c) gap closed by (b), per seed) and
        ``config``.

    Raises
    ------
    ValueError
        Bad options.

    References
    ----------
    Seed 003, "Dictionary adaptation performance".

    Examples
    --------
    >>> cfg = AdaptationConfig(n_train_users=1, n_test_users=1, beats=6, n_atoms=4, seeds=(0,),
    ...                        transform=TransformConfig(max_iter=1))
    >>> sorted(adaptation_benchmark(cfg)["summary"]["auc"])
    ['learned', 'none', 'oracle', 'resample']
    """
    cfg = (config or AdaptationConfig()).validate()
    with single_thread_torch():
        return _run(cfg, progress)


@contextlib.contextmanager
def single_thread_torch():
    """Run the small BPDN problems with one torch thread (many threads only contend on them)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _run(cfg: AdaptationConfig, progress: Callable[[str], None] | None) -> dict:
    r0, r1, lam, n = float(cfg.r0), float(cfg.r1), float(cfg.lam), int(cfg.beats)
    per_seed = []
    for seed in cfg.seeds:
        base = 10_000 * int(seed)
        Ds, Ss = [], []
        for i in range(int(cfg.n_train_users)):
            u = synthetic_user(base + i)
            b0 = simulate_beats(u, r0, n, seed=base + 7 * i + 1).beats
            b1 = simulate_beats(u, r1, n, seed=base + 7 * i + 2).beats
            Ds.append(learn_user_dictionary(b0, cfg.n_atoms, lam, rng=base + i))
            Ss.append(b1)
        tr = learn_transform(Ds, Ss, cfg.transform)
        errs = {m: [] for m in METHODS}
        aucs = {m: [] for m in METHODS}
        for j in range(int(cfg.n_test_users)):
            u = synthetic_user(base + 5000 + j)
            s = base + 5000 + 11 * j
            b0_train = simulate_beats(u, r0, n, seed=s + 1).beats
            b0_val = simulate_beats(u, r0, n, seed=s + 2).beats
            b1_train = simulate_beats(u, r1, n, seed=s + 3).beats
            b1_val = simulate_beats(u, r1, n, seed=s + 4).beats
            b1_normal = simulate_beats(u, r1, n, seed=s + 5).beats
            test = simulate_beats(u, r1, n, seed=s + 6, anomaly_fraction=cfg.anomaly_fraction)
            D0 = learn_user_dictionary(b0_train, cfg.n_atoms, lam, rng=s)
            D1 = learn_user_dictionary(b1_train, cfg.n_atoms, lam, rng=s)
            dicts = {"none": D0, "learned": adapt_dictionary(D0, tr.F), "oracle": D1, "resample": resample_dictionary(D0, r0, r1)}
            det0 = HeartbeatDetector(D0, lam).fit(b0_val)
            det1 = HeartbeatDetector(D1, lam).fit(b1_val)
            for m, D in dicts.items():
                errs[m].append(reconstruction_error(D, b1_normal, lam))
                det = det1 if m == "oracle" else det0.with_dictionary(D)
                aucs[m].append(_auc(test.labels, det.score(test.beats)))
        row = {"seed": int(seed), "F_iters": tr.n_iter, "F_converged": tr.converged,
               "error": {m: float(np.mean(v)) for m, v in errs.items()},
               "auc": {m: float(np.nanmean(v)) for m, v in aucs.items()}}
        per_seed.append(row)
        if progress is not None:
            progress(f"seed {seed}: error " + ", ".join(f"{m} {v:.4f}" for m, v in row["error"].items())
                     + "; AUC " + ", ".join(f"{m} {v:.3f}" for m, v in row["auc"].items()))
    summary = {metric: {m: list(_ci95([r[metric][m] for r in per_seed])) for m in METHODS} for metric in ("error", "auc")}
    gap = {}
    for metric in ("error", "auc"):
        fr = []
        for r in per_seed:
            d = r[metric]["oracle"] - r[metric]["none"]
            fr.append((r[metric]["learned"] - r[metric]["none"]) / d if abs(d) > 1e-12 else float("nan"))
        gap[metric] = list(_ci95(fr))
    conf = asdict(cfg)
    conf["seeds"] = list(cfg.seeds)
    return {"per_seed": per_seed, "summary": summary, "gap_closed": gap, "config": conf}
