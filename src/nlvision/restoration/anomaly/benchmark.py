"""Benchmark harness: every detector and baseline on the nanofibre and texture benchmarks.

Every model is fitted at zoom 1 (training images ``S``, validation images ``V``) and evaluated
at each test zoom: pixel AUROC, AUPRO, image AUROC on defective + held-out normal test images,
and the pixel / image FPR obtained on the held-out normal images at each target.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from nlvision.datasets.nanofibres import make_nanofibre_benchmark
from nlvision.datasets.textures import TEXTURES, make_texture_benchmark
from nlvision.restoration.anomaly.baselines import PaDiMBaseline, PatchCoreBaseline
from nlvision.restoration.anomaly.calibration import ScoreCalibration, check_fpr, smooth_max
from nlvision.restoration.anomaly.detector import AnomalyConfig, AnomalyDetector, quick_config
from nlvision.restoration.anomaly.metrics import aupro, fpr_at_threshold, image_auroc, pixel_auroc

__all__ = ["BENCH_METHODS", "DATASETS", "make_model", "run_benchmark"]

#: Models of :func:`run_benchmark`: the three sparse detectors, the multiscale detector with one
#: zoom-1 density (``multiscale_fixed``, the design before scale adaptation), two baselines.
BENCH_METHODS = ("patch", "multiscale", "multiscale_fixed", "csc", "patchcore", "padim")
#: Benchmarks: the nanofibre generator and the bundled real textures.
DATASETS = ("nanofibre",) + TEXTURES


def make_model(method: str, *, quick: bool = False, fpr: float = 0.01, image_fpr: float = 0.05, seed: int = 0):
    """An unfitted model of :data:`BENCH_METHODS` with the benchmark's settings.

    Parameters
    ----------
    method : str
        One of :data:`BENCH_METHODS`.
    quick : bool, default False
        Reduced-cost dictionaries (:func:`~nlvision.restoration.anomaly.detector.quick_config`).
    fpr, image_fpr : float
        Default target FPRs of the model.
    seed : int
        Seed of the model.

    Returns
    -------
    AnomalyDetector or PatchCoreBaseline or PaDiMBaseline
        Unfitted model.

    Raises
    ------
    ValueError
        Unknown method.

    Examples
    --------
    >>> type(make_model("padim")).__name__
    'PaDiMBaseline'
    """
    if method not in BENCH_METHODS:
        raise ValueError(f"method: unknown {method!r}; valid: {', '.join(BENCH_METHODS)}")
    if method == "patchcore":
        return PatchCoreBaseline(fpr=fpr, image_fpr=image_fpr, seed=seed)
    if method == "padim":
        return PaDiMBaseline(fpr=fpr, image_fpr=image_fpr, seed=seed)
    base = "multiscale" if method.startswith("multiscale") else method
    cfg = quick_config(base) if quick else AnomalyConfig(method=base)
    if method == "multiscale_fixed":
        cfg.scale_adapt = False
        cfg.n_atoms = 64 if quick else 128  # the multiscale model before scale adaptation
    cfg.fpr, cfg.image_fpr, cfg.seed = fpr, image_fpr, seed
    return AnomalyDetector(cfg.validate())


def _data(dataset, zoom, seed, n_test):
    if dataset == "nanofibre":
        b = make_nanofibre_benchmark(zoom=zoom, seed=seed, n_test=n_test, n_test_normal=20)
        return b["train"], b["val"], b["test"], b["test_normal"]
    b = make_texture_benchmark(dataset, n_test=n_test, zoom=zoom, seed=seed)
    return b.train, b.val, b.test, []


def run_benchmark(
    datasets: Sequence[str] = ("nanofibre",),
    methods: Sequence[str] = BENCH_METHODS,
    zooms: Sequence[float] = (1.0, 0.7, 1.4),
    seeds: Sequence[int] = (0,),
    *,
    fprs: Sequence[float] = (0.01, 0.05),
    image_fpr: float = 0.05,
    quick: bool = False,
    n_test: int = 6,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Fit every model at zoom 1 and evaluate it at every zoom, for every seed.

    Parameters
    ----------
    datasets : sequence of str
        From :data:`DATASETS`.
    methods : sequence of str
        From :data:`BENCH_METHODS`.
    zooms : sequence of float
        Test zooms (1 = the training zoom).
    seeds : sequence of int
        Seeds of the data (nanofibre images, planted defects) and of the models.
    fprs : sequence of float, default (0.01, 0.05)
        Target pixel FPRs.
    image_fpr : float, default 0.05
        Target image-level FPR.
    quick : bool, default False
        Reduced-cost sparse models.
    n_test : int, default 6
        Defective test images per zoom.
    progress : callable(str), optional
        Receives one line per evaluated row.

    Returns
    -------
    list of dict
        One row per (dataset, seed, method, zoom): ``pixel_auroc``, ``aupro``, ``image_auroc``
        (``None`` without held-out normals), ``pixel_fpr`` and ``image_fpr`` (dicts target ->
        obtained, on held-out normal images or, for textures, on the normal pixels of the test
        images), ``image_tpr``, ``fit_s``, ``score_s``, ``scales`` (selected calibration zooms).

    Raises
    ------
    ValueError
        Unknown dataset or method, bad targets.

    Examples
    --------
    >>> callable(run_benchmark)
    True
    """
    for f in fprs:
        check_fpr(f)
    check_fpr(image_fpr, "image_fpr")
    for d in datasets:
        if d not in DATASETS:
            raise ValueError(f"datasets: unknown {d!r}; valid: {', '.join(DATASETS)}")
    for m in methods:
        if m not in BENCH_METHODS:
            raise ValueError(f"methods: unknown {m!r}; valid: {', '.join(BENCH_METHODS)}")
    rows = []
    for ds in datasets:
        for seed in seeds:
            data = {z: _data(ds, z, seed, n_test) for z in zooms}
            train, val = data[zooms[0]][0], data[zooms[0]][1]
            for m in methods:
                model = make_model(m, quick=quick, image_fpr=image_fpr, seed=seed)
                t0 = time.perf_counter()
                model.fit(train, val_images=val)
                fit_s = time.perf_counter() - t0
                for z in zooms:
                    _, _, tests, normals = data[z]
                    t1 = time.perf_counter()
                    scored = [model.score_with_scale(t.image) for t in tests]
                    score_s = (time.perf_counter() - t1) / len(tests)
                    scored_n = [model.score_with_scale(a.image) for a in normals]
                    maps = [s[0] for s in scored]
                    nmaps = [s[0] for s in scored_n]
                    masks = [t.mask for t in tests]
                    row = {"dataset": ds, "seed": int(seed), "method": m, "zoom": float(z),
                           "pixel_auroc": pixel_auroc(maps + nmaps, masks + [a.mask for a in normals]),
                           "aupro": aupro(maps + nmaps, masks + [a.mask for a in normals]),
                           "fit_s": fit_s, "score_s": score_s,
                           "scales": [1.0 if s[2] is None else s[2] for s in scored + scored_n]}
                    ref = nmaps if nmaps else maps
                    ref_masks = [a.mask for a in normals] if nmaps else masks
                    row["pixel_fpr"] = {str(f): fpr_at_threshold(ref, ref_masks, ScoreCalibration.pixel_threshold(f))
                                        for f in fprs}
                    if nmaps:
                        def verdicts(sc):
                            out = []
                            for cmap, cal, _, _ in sc:
                                out.append((smooth_max(cmap, cal.image_sigma),
                                            cal.image_threshold(image_fpr, area=float(cmap.size))))
                            return out
                        vt, vn = verdicts(scored), verdicts(scored_n)
                        row["image_auroc"] = image_auroc([s for s, _ in vt + vn], [1] * len(vt) + [0] * len(vn))
                        row["image_fpr"] = {str(image_fpr): float(np.mean([s > t for s, t in vn]))}
                        row["image_tpr"] = float(np.mean([s > t for s, t in vt]))
                    else:
                        row["image_auroc"], row["image_fpr"], row["image_tpr"] = None, None, None
                    rows.append(row)
                    if progress is not None:
                        progress(f"{ds} seed={seed} {m} zoom={z}: pixel AUROC {row['pixel_auroc']:.3f} AUPRO "
                                 f"{row['aupro']:.3f} pixel FPR {row['pixel_fpr']} image FPR {row['image_fpr']} "
                                 f"fit {fit_s:.1f}s score {score_s:.2f}s")
    return rows
