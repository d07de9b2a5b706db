"""Synthetic ECG users at chosen heart rates (neurokit2's ECGSYN) with planted anomalous beats.

ECGSYN (McSharry et al. 2003) moves on a limit cycle whose P, Q, R, S, T extrema sit at angles
``ti`` with heights ``ai`` and widths ``bi``; at heart rate ``hr`` it scales the angles of P and T
by ``(hr/60)^(1/4)``, those of Q and S and all widths by ``(hr/60)^(1/2)``, so the T wave moves
towards the QRS non-uniformly as the heart rate rises: a realistic heart-rate domain shift.
Every synthetic *user* has their own morphology (``ti``, ``ai``, ``bi`` drawn around ECGSYN's
defaults). Anomalous beats are planted by replacing the window around some R peaks with the
same window of an ECGSYN record of the same user whose parameters describe an abnormal beat
(``pvc``: QRS 1.6x wider, no P, inverted T; ``t_inversion``: T wave inverted at 0.4x its height), with raised-cosine
cross-fades at the window edges.

References
----------
P. E. McSharry, G. D. Clifford, L. Tarassenko, L. A. Smith, "A dynamical model for generating
synthetic electrocardiogram signals", IEEE TBME 50(3), 2003; neurokit2 ``ecg_simulate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlvision._extras import require_extra
from nlvision.restoration.ecg.beats import Beats, detect_r_peaks, segment_beats

__all__ = ["ANOMALY_KINDS", "SyntheticUser", "synthetic_user", "simulate_record", "simulate_beats"]

_TI = np.array([-70.0, -15.0, 0.0, 15.0, 100.0])
_AI = np.array([1.2, -5.0, 30.0, -7.5, 0.75])
_BI = np.array([0.25, 0.1, 0.1, 0.1, 0.4])

#: Kinds of planted anomalous beats.
ANOMALY_KINDS = ("pvc", "t_inversion")


@dataclass
class SyntheticUser:
    """ECGSYN morphology of one synthetic user.

    Parameters
    ----------
    ti : tuple of float
        Angles (degrees) of the P, Q, R, S, T extrema.
    ai : tuple of float
        Heights of the extrema.
    bi : tuple of float
        Widths of the extrema.
    seed : int
        Seed the user was drawn with.

    Examples
    --------
    >>> SyntheticUser((-70, -15, 0, 15, 100), (1.2, -5, 30, -7.5, 0.75), (0.25, 0.1, 0.1, 0.1, 0.4)).seed
    0
    """

    ti: tuple
    ai: tuple
    bi: tuple
    seed: int = 0


def synthetic_user(seed: int = 0) -> SyntheticUser:
    """Draw a user morphology around ECGSYN's default beat.

    Angles move by up to 5/3/0/3/12 degrees (P/Q/R/S/T), heights scale by U[0.75, 1.25], widths
    by U[0.85, 1.15].

    Parameters
    ----------
    seed : int, default 0
        Random seed (same seed, same user).

    Returns
    -------
    SyntheticUser
        The user's ECGSYN parameters.

    References
    ----------
    McSharry et al., IEEE TBME 2003 (ECGSYN parameters).

    Examples
    --------
    >>> u = synthetic_user(3)
    >>> len(u.ti), u.ti == synthetic_user(3).ti
    (5, True)
    """
    rng = np.random.default_rng(int(seed))
    ti = _TI + rng.uniform(-1, 1, 5) * np.array([5.0, 3.0, 0.0, 3.0, 12.0])
    ai = _AI * rng.uniform(0.75, 1.25, 5)
    bi = _BI * rng.uniform(0.85, 1.15, 5)
    return SyntheticUser(tuple(float(v) for v in ti), tuple(float(v) for v in ai), tuple(float(v) for v in bi), int(seed))


def _anomalous(user: SyntheticUser, kind: str) -> SyntheticUser:
    ti, ai, bi = np.array(user.ti), np.array(user.ai), np.array(user.bi)
    if kind == "pvc":
        ai = ai * np.array([0.0, 1.0, 0.8, 1.3, -0.8])
        bi = bi * np.array([1.0, 1.6, 1.6, 1.6, 1.2])
    elif kind == "t_inversion":
        ai = ai * np.array([1.0, 1.0, 1.0, 1.0, -0.4])
    else:
        raise ValueError(f"kind must be one of {', '.join(ANOMALY_KINDS)}, got {kind!r}")
    return SyntheticUser(tuple(ti), tuple(ai), tuple(bi), user.seed)


def _ecgsyn(user: SyntheticUser, heart_rate: float, duration: float, fs: int, noise: float, seed: int) -> np.ndarray:
    nk = require_extra("neurokit2", what="ECG support")
    return np.asarray(nk.ecg_simulate(duration=duration, sampling_rate=fs, heart_rate=heart_rate, heart_rate_std=1,
                                      noise=noise, random_state=seed, method="ecgsyn",
                                      ti=np.array(user.ti), ai=np.array(user.ai), bi=np.array(user.bi)), dtype=np.float64)


def simulate_record(
    user: SyntheticUser,
    heart_rate: float,
    duration: float,
    *,
    fs: int = 250,
    noise: float = 0.02,
    anomaly_fraction: float = 0.0,
    kinds: tuple = ANOMALY_KINDS,
    seed: int = 0,
    window: tuple = (0.2, 0.45),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate a user's ECG at a heart rate, with anomalous beats planted at some R peaks.

    Parameters
    ----------
    user : SyntheticUser
        Morphology (:func:`synthetic_user`).
    heart_rate : float
        Mean heart rate (beats per minute, 30..200).
    duration : float
        Length in seconds (>= 3).
    fs : int, default 250
        Sampling frequency (Hz; the Long-Term ST database's rate).
    noise : float, default 0.02
        Amplitude of neurokit2's Laplace noise.
    anomaly_fraction : float, default 0
        Fraction of beats replaced by anomalous ones (in [0, 0.5]).
    kinds : tuple of str, default ANOMALY_KINDS
        Anomaly kinds, used in turn.
    seed : int, default 0
        Random seed of the record (rhythm, noise, anomaly positions).
    window : tuple of float, default (0.2, 0.45)
        Seconds before/after the R peak that an anomaly replaces.

    Returns
    -------
    signal : ndarray, shape (n,)
        The ECG (mV).
    r_peaks : ndarray of int
        R peaks found by :func:`detect_r_peaks` on the normal record.
    labels : ndarray of int
        1 where an anomalous beat was planted.

    Raises
    ------
    ValueError
        Out-of-range heart rate, duration or fraction; unknown kind.
    ImportError
        ``neurokit2`` is not installed (the ``[ecg]`` extra).

    References
    ----------
    McSharry et al., IEEE TBME 2003; seed 003, "Domain adaptation for online ECG monitoring".

    Examples
    --------
    >>> sig, peaks, labels = simulate_record(synthetic_user(0), 60, 10, anomaly_fraction=0.2)
    >>> sig.shape, 8 <= len(peaks) <= 11, int(labels.sum()) >= 1
    ((2500,), True, True)
    """
    if not (30 <= heart_rate <= 200):
        raise ValueError(f"heart_rate must be in 30..200 bpm, got {heart_rate}")
    if not duration >= 3:
        raise ValueError(f"duration must be >= 3 s, got {duration}")
    if not (0 <= anomaly_fraction <= 0.5):
        raise ValueError(f"anomaly_fraction must be in [0, 0.5], got {anomaly_fraction}")
    for k in kinds:
        if k not in ANOMALY_KINDS:
            raise ValueError(f"kinds must be among {', '.join(ANOMALY_KINDS)}, got {k!r}")
    rng = np.random.default_rng(seed)
    x = _ecgsyn(user, heart_rate, duration, fs, noise, int(rng.integers(2**31)))
    peaks = detect_r_peaks(x, fs)
    labels = np.zeros(len(peaks), dtype=int)
    nb, na = int(round(window[0] * fs)), int(round(window[1] * fs))
    inner = np.flatnonzero((peaks - nb - 1 >= 0) & (peaks + na + 1 < x.size))
    n_anom = int(round(anomaly_fraction * len(peaks)))
    if n_anom and inner.size:
        chosen = np.sort(rng.choice(inner, size=min(n_anom, inner.size), replace=False))
        sources = {}
        for k in kinds:
            a = _ecgsyn(_anomalous(user, k), heart_rate, duration, fs, noise, int(rng.integers(2**31)))
            sources[k] = (a, detect_r_peaks(a, fs))
        L = nb + na + 1
        taper = np.ones(L)
        ramp = max(2, int(0.04 * fs))
        taper[:ramp] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        taper[-ramp:] = taper[:ramp][::-1]
        for j, i in enumerate(chosen):
            a, ap = sources[kinds[j % len(kinds)]]
            ok = ap[(ap - nb >= 0) & (ap + na < a.size)]
            if ok.size == 0:
                continue
            q = ok[np.argmin(np.abs(ok - peaks[i]))]
            seg = a[q - nb : q + na + 1]
            seg = seg - np.median(seg) + np.median(x[peaks[i] - nb : peaks[i] + na + 1])
            sl = slice(peaks[i] - nb, peaks[i] + na + 1)
            x[sl] = taper * seg + (1 - taper) * x[sl]
            labels[i] = 1
    return x, peaks, labels


def simulate_beats(
    user: SyntheticUser,
    heart_rate: float,
    n_beats: int,
    *,
    anomaly_fraction: float = 0.0,
    fs: int = 250,
    noise: float = 0.02,
    seed: int = 0,
    length: int = 64,
) -> Beats:
    """Heartbeats of a synthetic user at a heart rate (:func:`simulate_record` + :func:`segment_beats`).

    Parameters
    ----------
    user : SyntheticUser
        Morphology.
    heart_rate : float
        Mean heart rate (bpm).
    n_beats : int
        Approximate number of beats to simulate (>= 3).
    anomaly_fraction : float, default 0
        Fraction of planted anomalous beats.
    fs : int, default 250
        Sampling frequency.
    noise : float, default 0.02
        Noise amplitude.
    seed : int, default 0
        Record seed.
    length : int, default 64
        Samples per beat.

    Returns
    -------
    Beats
        Beats with their labels (1 = planted anomaly).

    Raises
    ------
    ValueError
        Bad options (see :func:`simulate_record`).

    References
    ----------
    Seed 003, "Domain adaptation for online ECG monitoring".

    Examples
    --------
    >>> b = simulate_beats(synthetic_user(1), 90, 12, seed=0)
    >>> b.beats.shape[1], bool(abs(np.median(b.heart_rate) - 90) < 10)
    (64, True)
    """
    if isinstance(n_beats, bool) or int(n_beats) < 3:
        raise ValueError(f"n_beats must be an integer >= 3, got {n_beats}")
    duration = (int(n_beats) + 2) * 60.0 / heart_rate + 1.0
    sig, peaks, labels = simulate_record(user, heart_rate, max(duration, 3.0), fs=fs, noise=noise,
                                         anomaly_fraction=anomaly_fraction, seed=seed)
    return segment_beats(sig, fs, peaks, length=length, labels=labels)
