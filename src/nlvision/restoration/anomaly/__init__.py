"""Anomaly detection with sparse and convolutional sparse models (seed 003).

One job per module:

* :mod:`.detector` — the sparse-coding detector ``(D, phi0, gamma)`` (patch / multiscale / CSC),
  with per-scale densities and calibrations for the multiscale model;
* :mod:`.density` — the density ``phi0`` of normal features;
* :mod:`.calibration` — calibrated scores, pixel and image thresholds for target FPRs;
* :mod:`.metrics` — pixel / image AUROC (scikit-learn), AUPRO, obtained FPR;
* :mod:`.baselines` — PatchCore-style kNN and PaDiM-style Gaussian on local descriptors;
* :mod:`.readers` — MVTec AD layout and generic folders;
* :mod:`.evaluate` — metrics per defect type and overall, MVTec evaluation;
* :mod:`.benchmark` — the benchmark harness (nanofibre generator, real textures).
"""

from nlvision.restoration.anomaly.baselines import PaDiMBaseline, PatchCoreBaseline, local_descriptors
from nlvision.restoration.anomaly.benchmark import BENCH_METHODS, DATASETS, make_model, run_benchmark
from nlvision.restoration.anomaly.calibration import AnomalyPrediction, ScoreCalibration, check_fpr
from nlvision.restoration.anomaly.density import DENSITIES, GaussianDensity
from nlvision.restoration.anomaly.detector import METHODS, POSTPROCESS, AnomalyConfig, AnomalyDetector, quick_config
from nlvision.restoration.anomaly.evaluate import evaluate_mvtec, evaluate_predictions
from nlvision.restoration.anomaly.metrics import aupro, fpr_at_threshold, image_auroc, pixel_auroc
from nlvision.restoration.anomaly.readers import MVTecCategory, load_anomaly_folder, scan_mvtec

__all__ = [
    "METHODS",
    "DENSITIES",
    "POSTPROCESS",
    "BENCH_METHODS",
    "DATASETS",
    "AnomalyConfig",
    "AnomalyDetector",
    "AnomalyPrediction",
    "ScoreCalibration",
    "GaussianDensity",
    "PatchCoreBaseline",
    "PaDiMBaseline",
    "local_descriptors",
    "check_fpr",
    "quick_config",
    "pixel_auroc",
    "image_auroc",
    "aupro",
    "fpr_at_threshold",
    "evaluate_predictions",
    "evaluate_mvtec",
    "MVTecCategory",
    "scan_mvtec",
    "load_anomaly_folder",
    "make_model",
    "run_benchmark",
]
