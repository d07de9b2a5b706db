"""End-to-end ECG monitoring steps used by ``nlvision ecg``: F from records or synthetic users, monitoring a record."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from nlvision.atomic import atomic_path
from nlvision.restoration.ecg.adapt import TransformConfig, TransformResult, adapt_dictionary, learn_transform, learn_user_dictionary
from nlvision.restoration.ecg.beats import Beats, segment_beats
from nlvision.restoration.ecg.detect import HeartbeatDetector
from nlvision.restoration.ecg.evaluate import single_thread_torch
from nlvision.restoration.ecg.records import NORMAL_SYMBOLS, ECGRecord
from nlvision.restoration.ecg.synthetic import simulate_beats, synthetic_user

__all__ = ["record_beats", "transform_from_records", "transform_from_synthetic", "monitor_record", "save_transform", "load_transform"]


def record_beats(record: ECGRecord, *, length: int = 64) -> Beats:
    """Heartbeats of a record at its annotated beats (label 1 = not in :data:`NORMAL_SYMBOLS`).

    Parameters
    ----------
    record : ECGRecord
        Record with beat annotations.
    length : int, default 64
        Samples per beat.

    Returns
    -------
    Beats
        Segmented beats with heart rates and labels.

    Raises
    ------
    ValueError
        No beat annotations, or no complete beat in the record.

    Examples
    --------
    >>> t = np.arange(2500) / 250.0
    >>> rec = ECGRecord("r", np.exp(-((t % 1.0) - 0.5) ** 2 / 1e-3), 250.0, "MLII",
    ...                 np.arange(125, 2500, 250), np.array(list("NNVNNNNNNN")))
    >>> record_beats(rec).labels[:3].tolist()
    [0, 0, 1]
    """
    if record.beat_samples.size == 0:
        raise ValueError(f"record {record.name}: no beat annotations; beats cannot be segmented and labelled")
    labels = np.array([0 if s in NORMAL_SYMBOLS else 1 for s in record.beat_symbols], dtype=int)
    return segment_beats(record.signal, record.fs, record.beat_samples, length=length, labels=labels)


def _near(b: Beats, rate: float, tolerance: float) -> Beats:
    return b.select(np.abs(b.heart_rate - rate) <= tolerance)


def transform_from_records(records: Sequence[ECGRecord], r0: float, r1: float, *, tolerance: float = 8.0,
                           min_beats: int = 20, n_atoms: int = 12, lam: float = 0.05,
                           config: TransformConfig | None = None) -> tuple[TransformResult, int]:
    """Learn F from real records: every record is a user; its normal beats near r0 and r1 are used.

    Parameters
    ----------
    records : sequence of ECGRecord
        Annotated records (e.g. Long-Term ST database records).
    r0, r1 : float
        Heart rates (bpm).
    tolerance : float, default 8
        A beat belongs to rate r when ``|hr - r| <= tolerance``.
    min_beats : int, default 20
        A record is used when it has this many normal beats near both rates.
    n_atoms : int, default 12
        Atoms of every user dictionary.
    lam : float, default 0.05
        BPDN weight.
    config : TransformConfig, optional
        Options of :func:`learn_transform`.

    Returns
    -------
    (TransformResult, int)
        The transformation and the number of records used.

    Raises
    ------
    ValueError
        No record has enough beats at both heart rates.

    Examples
    --------
    >>> transform_from_records([], 60, 90)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: no record has 20 normal beats within 8 bpm of both 60 and 90 bpm
    """
    Ds, Ss = [], []
    with single_thread_torch():
        for i, rec in enumerate(records):
            b = record_beats(rec)
            normal = b.select(b.labels == 0)
            b0, b1 = _near(normal, r0, tolerance), _near(normal, r1, tolerance)
            if min(len(b0.beats), len(b1.beats)) < max(int(min_beats), n_atoms):
                continue
            Ds.append(learn_user_dictionary(b0.beats, n_atoms, lam, rng=i))
            Ss.append(b1.beats)
        if not Ds:
            raise ValueError(f"no record has {min_beats} normal beats within {tolerance:g} bpm of both {r0:g} and {r1:g} bpm")
        return learn_transform(Ds, Ss, config), len(Ds)


def transform_from_synthetic(n_users: int, r0: float, r1: float, *, beats: int = 60, n_atoms: int = 12, lam: float = 0.05,
                             seed: int = 0, config: TransformConfig | None = None) -> TransformResult:
    """Learn F from synthetic users (the offline default of ``nlvision ecg adapt``).

    Parameters
    ----------
    n_users : int
        Number of synthetic training users (>= 1).
    r0, r1 : float
        Heart rates (bpm).
    beats : int, default 60
        Beats per user and heart rate.
    n_atoms : int, default 12
        Atoms per user dictionary.
    lam : float, default 0.05
        BPDN weight.
    seed : int, default 0
        Seed of the users and records.
    config : TransformConfig, optional
        Options of :func:`learn_transform`.

    Returns
    -------
    TransformResult
        The learned transformation.

    Raises
    ------
    ValueError
        Bad options.

    Examples
    --------
    >>> res = transform_from_synthetic(1, 60, 90, beats=8, n_atoms=4, config=TransformConfig(max_iter=1))
    >>> res.F.shape
    (64, 64)
    """
    if isinstance(n_users, bool) or int(n_users) < 1:
        raise ValueError(f"n_users must be >= 1, got {n_users}")
    Ds, Ss = [], []
    with single_thread_torch():
        for i in range(int(n_users)):
            u = synthetic_user(10_000 * seed + i)
            b0 = simulate_beats(u, r0, beats, seed=10_000 * seed + 7 * i + 1).beats
            Ss.append(simulate_beats(u, r1, beats, seed=10_000 * seed + 7 * i + 2).beats)
            Ds.append(learn_user_dictionary(b0, n_atoms, lam, rng=i))
        return learn_transform(Ds, Ss, config)


def monitor_record(record: ECGRecord, r0: float, r1: float, *, F: np.ndarray | None = None, tolerance: float = 8.0,
                   n_atoms: int = 12, lam: float = 0.05, fpr: float = 0.01) -> dict:
    """Monitor a record at heart rate r1 with the user's r0 dictionary, adapted by F when given.

    The normal beats near r0 are split in two halves (dictionary learning, validation density);
    every beat near r1 is scored with ``F D`` (or D without F).

    Parameters
    ----------
    record : ECGRecord
        Annotated record of one user.
    r0, r1 : float
        Heart rates (bpm).
    F : ndarray, shape (m, m), optional
        Transformation from :func:`learn_transform` (``None``: no adaptation).
    tolerance : float, default 8
        Heart-rate tolerance of the two groups of beats.
    n_atoms : int, default 12
        Atoms of the user dictionary.
    lam : float, default 0.05
        BPDN weight.
    fpr : float, default 0.01
        Target false-positive rate of the threshold.

    Returns
    -------
    dict
        ``n_r0`` and ``n_r1`` beats used, ``threshold``, per-beat ``r_peaks``, ``heart_rate``,
        ``labels``, ``scores``, ``detections``, and ``auc`` (``None`` when the r1 beats are all
        normal or all anomalous).

    Raises
    ------
    ValueError
        Too few normal beats near r0 or no beat near r1, F of the wrong shape.

    Examples
    --------
    >>> monitor_record(ECGRecord("x", np.zeros(10), 250.0, "MLII"), 60, 90)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: record x: no beat annotations; beats cannot be segmented and labelled
    """
    b = record_beats(record)
    normal0 = _near(b.select(b.labels == 0), r0, tolerance)
    need = 2 * max(n_atoms, 3)
    if len(normal0.beats) < need:
        raise ValueError(f"record {record.name}: {len(normal0.beats)} normal beats within {tolerance:g} bpm of r0={r0:g}; need {need}")
    at1 = _near(b, r1, tolerance)
    if len(at1.beats) == 0:
        raise ValueError(f"record {record.name}: no beat within {tolerance:g} bpm of r1={r1:g}")
    m = b.beats.shape[1]
    if F is not None and np.shape(F) != (m, m):
        raise ValueError(f"F must have shape ({m}, {m}) for beats of {m} samples, got {np.shape(F)}")
    with single_thread_torch():
        half = len(normal0.beats) // 2
        D0 = learn_user_dictionary(normal0.beats[:half], n_atoms, lam, rng=0)
        det = HeartbeatDetector(D0, lam, fpr).fit(normal0.beats[half:])
        if F is not None:
            det = det.with_dictionary(adapt_dictionary(D0, F))
        scores = det.score(at1.beats)
    auc = None
    if 0 < at1.labels.sum() < len(at1.labels):
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(at1.labels, scores))
    return {"record": record.name, "n_r0": int(len(normal0.beats)), "n_r1": int(len(at1.beats)), "threshold": det.threshold,
            "r_peaks": at1.r_peaks.tolist(), "heart_rate": at1.heart_rate.tolist(), "labels": at1.labels.tolist(),
            "scores": scores.tolist(), "detections": (scores > det.threshold).astype(int).tolist(), "auc": auc}


def save_transform(path: str | Path, F: np.ndarray, r0: float, r1: float) -> Path:
    """Save F with its heart rates to an ``.npz`` file (atomic write).

    Parameters
    ----------
    path : str or Path
        Destination (``.npz``).
    F : ndarray, shape (m, m)
        Transformation.
    r0, r1 : float
        Heart rates it maps between.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        ``path`` without the ``.npz`` suffix or F not square.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = save_transform(pathlib.Path(tempfile.mkdtemp()) / "F.npz", np.eye(3), 60, 90)
    >>> load_transform(p)[1:]
    (60.0, 90.0)
    """
    p = Path(path)
    if p.suffix != ".npz":
        raise ValueError(f"--out: expected a .npz file for the transformation, got {p}")
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2 or F.shape[0] != F.shape[1]:
        raise ValueError(f"F must be square, got shape {F.shape}")
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, F=F, r0=np.float64(r0), r1=np.float64(r1))
    return p


def load_transform(path: str | Path) -> tuple[np.ndarray, float, float]:
    """Load ``(F, r0, r1)`` saved by :func:`save_transform` (no pickle).

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file.

    Returns
    -------
    (ndarray, float, float)
        F and its heart rates.

    Raises
    ------
    OSError
        Unreadable file.
    ValueError
        A file without ``F``, ``r0``, ``r1`` or a non-square F.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = save_transform(pathlib.Path(tempfile.mkdtemp()) / "F.npz", 2 * np.eye(2), 60, 100)
    >>> float(load_transform(p)[0][0, 0])
    2.0
    """
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            F, r0, r1 = np.asarray(z["F"], dtype=np.float64), float(z["r0"]), float(z["r1"])
    except KeyError as exc:
        raise ValueError(f"{path}: not a transformation file (missing {exc})") from None
    except (ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a transformation file ({type(exc).__name__})") from None
    if F.ndim != 2 or F.shape[0] != F.shape[1] or not np.all(np.isfinite(F)):
        raise ValueError(f"{path}: F must be a finite square matrix, got shape {F.shape}")
    return F, r0, r1
