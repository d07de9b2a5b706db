"""Heartbeat segmentation at R peaks, resampling to a fixed length, heart rate from RR intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlvision._extras import require_extra

__all__ = ["Beats", "detect_r_peaks", "segment_beats"]


@dataclass
class Beats:
    """Heartbeats cut at their R peaks.

    Parameters
    ----------
    beats : ndarray, shape (N, m)
        One heartbeat per row, resampled to ``m`` samples, baseline (median) removed.
    r_peaks : ndarray of int, shape (N,)
        R-peak sample of every beat in the source signal.
    heart_rate : ndarray, shape (N,)
        Heart rate of every beat in beats per minute, ``60 / RR`` with RR the interval to the
        previous R peak (to the next one for the first beat).
    labels : ndarray of int, shape (N,)
        1 for anomalous beats, 0 for normal ones (all 0 when unknown).

    Examples
    --------
    >>> Beats(np.zeros((2, 8)), np.array([10, 20]), np.full(2, 60.0), np.zeros(2, int)).beats.shape
    (2, 8)
    """

    beats: np.ndarray
    r_peaks: np.ndarray
    heart_rate: np.ndarray
    labels: np.ndarray

    def select(self, mask: np.ndarray) -> "Beats":
        """Return the beats where ``mask`` is true.

        Parameters
        ----------
        mask : ndarray of bool, shape (N,)
            Which beats to keep.

        Returns
        -------
        Beats
            The selected beats.

        Examples
        --------
        >>> b = Beats(np.zeros((3, 4)), np.arange(3), np.full(3, 60.0), np.zeros(3, int))
        >>> b.select(np.array([True, False, True])).beats.shape
        (2, 4)
        """
        m = np.asarray(mask, dtype=bool)
        return Beats(self.beats[m], self.r_peaks[m], self.heart_rate[m], self.labels[m])


def detect_r_peaks(signal: np.ndarray, fs: float) -> np.ndarray:
    """R peaks of an ECG lead with neurokit2's default detector (``ecg_peaks``).

    Parameters
    ----------
    signal : ndarray, shape (n,)
        ECG lead.
    fs : float
        Sampling frequency in Hz.

    Returns
    -------
    ndarray of int
        Sample indices of the R peaks.

    Raises
    ------
    ValueError
        Non-finite or too short signal.
    ImportError
        ``neurokit2`` is not installed (the ``[ecg]`` extra).

    References
    ----------
    D. Makowski et al., "NeuroKit2: A Python toolbox for neurophysiological signal processing",
    Behavior Research Methods 53, 2021 (``ecg_peaks``).

    Examples
    --------
    >>> import neurokit2 as nk
    >>> ecg = nk.ecg_simulate(duration=10, sampling_rate=250, heart_rate=60, random_state=0)
    >>> 8 <= len(detect_r_peaks(ecg, 250)) <= 11
    True
    """
    nk = require_extra("neurokit2", what="ECG support")
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"signal must be a finite 1-D array, got shape {x.shape}")
    if x.size < int(2 * fs):
        raise ValueError(f"signal of {x.size} samples is too short for R-peak detection (need at least 2 s = {int(2 * fs)} samples)")
    _, info = nk.ecg_peaks(x, sampling_rate=int(round(fs)))
    return np.asarray(info["ECG_R_Peaks"], dtype=int)


def segment_beats(
    signal: np.ndarray,
    fs: float,
    r_peaks: np.ndarray | None = None,
    *,
    before: float = 0.2,
    after: float = 0.45,
    length: int = 64,
    labels: np.ndarray | None = None,
) -> Beats:
    """Cut a fixed time window around every R peak and resample it to ``length`` samples.

    The window ``[R - before, R + after]`` (seconds) is the same at every heart rate, so the
    morphology changes with the heart rate (the T wave moves towards the QRS) are kept: this is
    the domain shift the dictionary adaptation corrects. Beats whose window leaves the signal
    are dropped. Each beat is resampled by linear interpolation and its median is subtracted.

    Parameters
    ----------
    signal : ndarray, shape (n,)
        ECG lead.
    fs : float
        Sampling frequency in Hz.
    r_peaks : ndarray of int, optional
        R-peak samples (e.g. the annotated beats of a WFDB record); detected with
        :func:`detect_r_peaks` when omitted.
    before, after : float, default 0.2, 0.45
        Window around the R peak in seconds.
    length : int, default 64
        Samples per beat after resampling.
    labels : ndarray of int, optional
        Anomaly label of every R peak (kept for the beats that are not dropped).

    Returns
    -------
    Beats
        Beats, their R peaks, heart rates and labels.

    Raises
    ------
    ValueError
        Bad options, or a signal too short to hold one complete beat.

    References
    ----------
    Seed 003, "Domain adaptation for online ECG monitoring" (heartbeats at heart rates r0, r1).
    D. Carrera, B. Rossi, P. Fragneto, G. Boracchi, "Domain adaptation for online ECG
    monitoring", ICDM 2017.

    Examples
    --------
    >>> t = np.arange(2000) / 250.0
    >>> sig = np.exp(-((t % 1.0) - 0.5) ** 2 / 1e-3)
    >>> b = segment_beats(sig, 250, np.arange(125, 2000, 250), length=32)
    >>> b.beats.shape, b.heart_rate.round().tolist()[:2]
    ((8, 32), [60.0, 60.0])
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"signal must be a finite 1-D array, got shape {x.shape}")
    if not (fs > 0 and before >= 0 and after > 0):
        raise ValueError(f"fs and after must be > 0 and before >= 0, got fs={fs}, before={before}, after={after}")
    if isinstance(length, bool) or int(length) < 4:
        raise ValueError(f"length must be an integer >= 4, got {length}")
    nb, na = int(round(before * fs)), int(round(after * fs))
    if x.size < nb + na + 1:
        raise ValueError(f"signal of {x.size} samples ({x.size / fs:.2f} s) is too short for one beat window of {before + after:.2f} s")
    peaks = detect_r_peaks(x, fs) if r_peaks is None else np.asarray(r_peaks, dtype=int)
    lab = np.zeros(len(peaks), dtype=int) if labels is None else np.asarray(labels, dtype=int)
    if lab.shape != peaks.shape:
        raise ValueError(f"labels has {lab.size} entries for {peaks.size} R peaks")
    order = np.argsort(peaks)
    peaks, lab = peaks[order], lab[order]
    if peaks.size >= 2:
        rr = np.diff(peaks) / fs
        rr = np.concatenate([rr[:1], rr])
        hr = 60.0 / np.maximum(rr, 1e-6)
    else:
        hr = np.full(peaks.size, np.nan)
    ok = (peaks - nb >= 0) & (peaks + na < x.size)
    if not ok.any():
        raise ValueError(f"signal of {x.size / fs:.2f} s holds no complete beat (window {before + after:.2f} s around an R peak)")
    peaks, lab, hr = peaks[ok], lab[ok], hr[ok]
    src = np.linspace(-nb, na, int(length))
    idx = peaks[:, None] + src[None, :]
    lo = np.floor(idx).astype(int)
    hi = np.minimum(lo + 1, x.size - 1)
    w = idx - lo
    beats = (1 - w) * x[lo] + w * x[hi]
    beats -= np.median(beats, axis=1, keepdims=True)
    return Beats(beats=beats, r_peaks=peaks, heart_rate=hr, labels=lab)
