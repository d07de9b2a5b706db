"""ECG monitoring with sparse models: WFDB records, heartbeats, dictionary adaptation across heart rates.

Seed 003, "Domain adaptation for online ECG monitoring": a user's dictionary of heartbeats
learned at heart rate r0 is adapted to heart rate r1 by a linear map learned across users,
``D_{u,r1} = F_{r1,r0} D_{u,r0}``, and feeds the sparse-coding anomaly detector of the lecture.

* records: :func:`read_record` / :func:`write_record` (PhysioNet WFDB ``.hea``/``.dat``/``.atr``
  through the ``wfdb`` package);
* beats: :func:`detect_r_peaks` (neurokit2), :func:`segment_beats` (fixed window at R peaks,
  resampled, heart rate from RR);
* synthetic users: :func:`synthetic_user`, :func:`simulate_record`, :func:`simulate_beats`
  (neurokit2's ECGSYN, planted anomalous beats);
* adaptation: :func:`learn_transform`, :func:`adapt_dictionary`, :func:`resample_dictionary`,
  :func:`learn_user_dictionary`;
* detection: :class:`HeartbeatDetector`, :func:`beat_features`;
* experiment: :func:`adaptation_benchmark`.

``wfdb`` and ``neurokit2`` belong to the ``[ecg]`` extra: they are imported when needed, and a
missing one raises ``ImportError`` naming the extra.
"""

from nlvision.restoration.ecg.adapt import (
    TransformConfig,
    TransformResult,
    adapt_dictionary,
    learn_transform,
    learn_user_dictionary,
    locality_weights,
    resample_dictionary,
    transform_objective,
)
from nlvision.restoration.ecg.beats import Beats, detect_r_peaks, segment_beats
from nlvision.restoration.ecg.detect import HeartbeatDetector, beat_features
from nlvision.restoration.ecg.evaluate import METHODS, AdaptationConfig, adaptation_benchmark, reconstruction_error
from nlvision.restoration.ecg.pipeline import (
    load_transform,
    monitor_record,
    record_beats,
    save_transform,
    transform_from_records,
    transform_from_synthetic,
)
from nlvision.restoration.ecg.records import BEAT_SYMBOLS, NORMAL_SYMBOLS, ECGRecord, read_record, write_record
from nlvision.restoration.ecg.synthetic import (
    ANOMALY_KINDS,
    SyntheticUser,
    simulate_beats,
    simulate_record,
    synthetic_user,
)

__all__ = [
    "ECGRecord",
    "read_record",
    "write_record",
    "BEAT_SYMBOLS",
    "NORMAL_SYMBOLS",
    "Beats",
    "detect_r_peaks",
    "segment_beats",
    "SyntheticUser",
    "synthetic_user",
    "simulate_record",
    "simulate_beats",
    "ANOMALY_KINDS",
    "TransformConfig",
    "TransformResult",
    "locality_weights",
    "learn_user_dictionary",
    "learn_transform",
    "transform_objective",
    "adapt_dictionary",
    "resample_dictionary",
    "beat_features",
    "HeartbeatDetector",
    "METHODS",
    "AdaptationConfig",
    "reconstruction_error",
    "adaptation_benchmark",
    "record_beats",
    "transform_from_records",
    "transform_from_synthetic",
    "monitor_record",
    "save_transform",
    "load_transform",
]
