"""WFDB records (PhysioNet) in their real on-disk layout, read and written with ``wfdb``.

A record ``NAME`` is a text header ``NAME.hea`` (record line: name, number of signals, sampling
frequency, number of samples; one line per signal: file, format, gain, ADC resolution, zero,
first value, checksum, block size, description), a binary signal file ``NAME.dat`` and a beat
annotation file ``NAME.atr`` (one label per beat at its R peak: ``N`` normal, ``V`` premature
ventricular contraction, ``A`` atrial premature beat, ...; non-beat labels such as ``+`` rhythm
changes or ``~`` signal quality are skipped). MIT-BIH Arrhythmia records (``100``..``234``) hold
2 signals in format 212 at 360 Hz (11-bit, gain 200 adu/mV); Long-Term ST records
(``sXYYYZ``, e.g. ``s20011``) hold 2 or 3 signals in format 212 at 250 Hz (12-bit).

References
----------
PhysioNet, MIT-BIH Arrhythmia Database (https://physionet.org/content/mitdb/) and Long-Term ST
Database (https://physionet.org/content/ltstdb/); WFDB header and annotation formats
(https://physionet.org/physiotools/wag/header-5.htm, annot-5.htm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlvision._extras import require_extra

__all__ = ["BEAT_SYMBOLS", "NORMAL_SYMBOLS", "ECGRecord", "read_record", "write_record"]

#: WFDB annotation codes that label a heartbeat (the others mark rhythm, noise, comments ...).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

#: Beat labels treated as normal (anything else among :data:`BEAT_SYMBOLS` is anomalous).
NORMAL_SYMBOLS = frozenset("N")


@dataclass
class ECGRecord:
    """One ECG lead of a WFDB record with its beat annotations.

    Parameters
    ----------
    name : str
        Record name (the header's first field).
    signal : ndarray, shape (n,)
        The lead in physical units (mV).
    fs : float
        Sampling frequency in Hz.
    lead : str
        Signal description (e.g. ``MLII``).
    beat_samples : ndarray of int, shape (b,)
        Sample index of every annotated beat (R peak).
    beat_symbols : ndarray of str, shape (b,)
        WFDB label of every annotated beat.
    units : str
        Physical units of ``signal``.

    Examples
    --------
    >>> r = ECGRecord("100", np.zeros(10), 360.0, "MLII")
    >>> r.fs, r.beat_samples.size
    (360.0, 0)
    """

    name: str
    signal: np.ndarray
    fs: float
    lead: str
    beat_samples: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    beat_symbols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="<U1"))
    units: str = "mV"


def _record_base(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix in (".hea", ".dat", ".atr"):
        p = p.with_suffix("")
    return p


def read_record(path: str | Path, *, channel: int = 0, annotator: str = "atr", require_annotations: bool = True) -> ECGRecord:
    """Read one lead and the beat annotations of a WFDB record.

    Parameters
    ----------
    path : str or Path
        Record path without extension (``data/100``) or any of its files (``data/100.hea``).
    channel : int, default 0
        Signal (lead) index.
    annotator : str, default "atr"
        Annotation file extension.
    require_annotations : bool, default True
        Raise when the annotation file is missing (beats cannot be labelled without it).

    Returns
    -------
    ECGRecord
        The lead, its sampling frequency and the beat annotations (non-beat labels dropped).

    Raises
    ------
    OSError
        The header or signal file cannot be read.
    ValueError
        Missing annotation file (when required), bad channel, or an empty signal.
    ImportError
        ``wfdb`` is not installed (the ``[ecg]`` extra).

    References
    ----------
    PhysioNet MIT-BIH Arrhythmia and Long-Term ST databases; WFDB formats (``header(5)``,
    ``annot(5)``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sig = np.sin(np.linspace(0, 20, 1000))[:, None].repeat(2, axis=1)
    >>> _ = write_record(d / "100", sig, 360, [100, 400], ["N", "V"])
    >>> r = read_record(d / "100")
    >>> r.fs, r.beat_symbols.tolist(), r.signal.shape
    (360.0, ['N', 'V'], (1000,))
    """
    wfdb = require_extra("wfdb", what="ECG support")
    base = _record_base(path)
    if not base.with_suffix(".hea").is_file():
        raise OSError(f"{path}: no WFDB header {base.with_suffix('.hea').name} found")
    try:
        rec = wfdb.rdrecord(str(base))
    except Exception as exc:  # wfdb raises assorted errors on broken files
        raise OSError(f"{path}: cannot read the WFDB record ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if rec.p_signal is None or rec.p_signal.size == 0:
        raise ValueError(f"{path}: the record has no samples")
    n_sig = rec.p_signal.shape[1]
    if not (isinstance(channel, (int, np.integer)) and 0 <= channel < n_sig):
        raise ValueError(f"channel must be in 0..{n_sig - 1} for record {base.name}, got {channel}")
    ann_file = base.with_suffix(f".{annotator}")
    samples = np.zeros(0, dtype=int)
    symbols = np.zeros(0, dtype="<U1")
    if ann_file.is_file():
        try:
            ann = wfdb.rdann(str(base), annotator)
        except Exception as exc:
            raise OSError(f"{ann_file}: cannot read the annotations ({type(exc).__name__})") from None
        sym = np.asarray(ann.symbol, dtype="<U2")
        keep = np.array([s in BEAT_SYMBOLS for s in sym], dtype=bool)
        samples = np.asarray(ann.sample, dtype=int)[keep]
        symbols = sym[keep].astype("<U1")
    elif require_annotations:
        raise ValueError(f"{path}: record {base.name} has no annotation file {ann_file.name}; beat labels are needed")
    sig = np.asarray(rec.p_signal[:, channel], dtype=np.float64)
    sig = np.nan_to_num(sig, nan=0.0)
    units = rec.units[channel] if rec.units else "mV"
    return ECGRecord(name=rec.record_name, signal=sig, fs=float(rec.fs), lead=str(rec.sig_name[channel]),
                     beat_samples=samples, beat_symbols=symbols, units=units)


def write_record(path: str | Path, signals: np.ndarray, fs: float, beat_samples=None, beat_symbols=None, *,
                 sig_names: list[str] | None = None, fmt: str = "212", adc_gain: float = 200.0,
                 baseline: int = 1024) -> Path:
    """Write a WFDB record (``.hea`` + ``.dat``, and ``.atr`` when beats are given) like PhysioNet's.

    The defaults mirror MIT-BIH: format 212, gain 200 adu/mV, baseline 1024, 11-bit ADC,
    leads named ``MLII`` and ``V5``.

    Parameters
    ----------
    path : str or Path
        Record path without extension; its folder must exist.
    signals : ndarray, shape (n,) or (n, n_sig)
        Physical signals in mV.
    fs : float
        Sampling frequency (Hz).
    beat_samples : sequence of int, optional
        R-peak sample of every beat (written to ``.atr``).
    beat_symbols : sequence of str, optional
        WFDB label of every beat (default ``N``).
    sig_names : list of str, optional
        Lead descriptions.
    fmt : {"212", "16"}, default "212"
        Storage format of the ``.dat`` file.
    adc_gain : float, default 200
        ADC units per mV.
    baseline : int, default 1024
        ADC value of 0 mV.

    Returns
    -------
    Path
        The record base path.

    Raises
    ------
    ValueError
        Bad shapes, format, or annotation lengths.
    ImportError
        ``wfdb`` is not installed (the ``[ecg]`` extra).

    References
    ----------
    WFDB ``wrsamp``/``wrann``; PhysioNet MIT-BIH layout.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_record(d / "101", np.zeros((500, 2)), 360)
    >>> sorted(p.suffix for p in d.iterdir())
    ['.dat', '.hea']
    """
    wfdb = require_extra("wfdb", what="ECG support")
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"signals must have shape (n,) or (n, n_sig), got {np.shape(signals)}")
    if fmt not in ("212", "16"):
        raise ValueError(f"fmt must be '212' or '16', got {fmt!r}")
    n_sig = x.shape[1]
    names = sig_names or (["MLII", "V5", "V2"][:n_sig] if n_sig <= 3 else [f"ECG{i}" for i in range(n_sig)])
    base = _record_base(path)
    adc_max = 2047 if fmt == "212" else 32767
    d = np.clip(np.round(x * adc_gain + baseline), -adc_max if fmt == "16" else 0, adc_max if fmt == "16" else 4095)
    wfdb.wrsamp(base.name, fs=fs, units=["mV"] * n_sig, sig_name=list(names), d_signal=d.astype(np.int64),
                fmt=[fmt] * n_sig, adc_gain=[adc_gain] * n_sig, baseline=[baseline] * n_sig, write_dir=str(base.parent))
    if beat_samples is not None:
        samples = np.asarray(beat_samples, dtype=np.int64)
        symbols = ["N"] * len(samples) if beat_symbols is None else [str(s) for s in beat_symbols]
        if len(symbols) != len(samples):
            raise ValueError(f"beat_symbols has {len(symbols)} labels for {len(samples)} beats")
        if len(samples):
            wfdb.wrann(base.name, "atr", samples, symbol=symbols, fs=fs, write_dir=str(base.parent))
    return base
