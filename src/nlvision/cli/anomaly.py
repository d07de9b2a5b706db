"""``nlvision anomaly fit|detect|evaluate|benchmark``: sparse-coding anomaly detection (seed 003).

Files written: ``fit`` writes only ``-o MODEL.npz``; ``detect -o DIR`` writes
``DIR/<stem>_map.png`` and ``DIR/<stem>_mask.png`` per image; ``evaluate -o FILE.json`` and
``benchmark -o FILE.json`` write only FILE. Nothing else is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from nlvision.cli._common import JOBS, MAX_PIXELS, SCHEDULER, check_output_folder, emit, run_batch

_METHODS = ("patch", "multiscale", "csc")
_EVAL_METHODS = ("patch", "multiscale", "csc", "patchcore", "padim")


def _expand(specs: list[str]) -> list[Path]:
    from nlvision.imageio import list_images

    files: list[Path] = []
    for s in specs:
        files.extend(list_images(s))
    return files


def _check_json_out(out: Optional[Path], inputs: list[Path]) -> None:
    if out is None:
        return
    if out.suffix.lower() != ".json":
        raise ValueError(f"--out: expected a .json file, got {out}")
    if out.is_dir():
        raise ValueError(f"--out: {out} is a folder; expected a .json file")
    check_output_folder(out.parent)
    for p in inputs:
        if out.resolve() == Path(p).resolve():
            raise ValueError(f"--out: {out} is also an input")


def fit(
    normal: List[str] = typer.Argument(..., help="Normal (anomaly-free) images: files, folders or globs."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write (.npz); nothing else is written."),
    method: str = typer.Option("patch", "--method", "-m", help="patch | multiscale | csc."),
    val: Optional[List[str]] = typer.Option(None, "--val", help="Validation images (default: hold out part of NORMAL)."),
    patch_size: int = typer.Option(15, "--patch-size", help="Patch (or CSC region) side."),
    n_atoms: Optional[int] = typer.Option(None, "--n-atoms", help="Dictionary atoms (default 128; multiscale: 64 per scale)."),
    lam: float = typer.Option(0.02, "--lam", help="l1 weight of BPDN."),
    mu: float = typer.Option(0.02, "--mu", help="Group-sparsity weight (multiscale)."),
    scales: Optional[List[float]] = typer.Option(None, "--scale", help="Synthetic zooms of the multiscale dictionary (repeatable)."),
    calibration_scales: Optional[List[float]] = typer.Option(
        None, "--calibration-scale", help="Zooms with their own density and threshold (multiscale; repeatable)."),
    scale_adapt: bool = typer.Option(True, "--scale-adapt/--no-scale-adapt", help="Multiscale: per-scale densities and thresholds."),
    density: str = typer.Option("gmm", "--density", help="gmm | gaussian."),
    fpr: float = typer.Option(0.01, "--fpr", help="Default target pixel false-positive rate, in (0, 1)."),
    image_fpr: float = typer.Option(0.05, "--image-fpr", help="Default target image-level false-positive rate, in (0, 1)."),
    step: int = typer.Option(4, "--step", help="Stride between scored patches."),
    dl_iter: int = typer.Option(15, "--dl-iter", help="Dictionary-learning alternations."),
    n_train_patches: int = typer.Option(8000, "--n-train-patches", help="Training patches used to learn the dictionary."),
    admm_iter: Optional[int] = typer.Option(None, "--admm-iter", help="ADMM iterations when coding (default 40; multiscale 30)."),
    dictionary: str = typer.Option("bpdn", "--dictionary", help="bpdn | ksvd (dictionary learning)."),
    postprocess: str = typer.Option("none", "--postprocess", help="none | median | open."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Learn the background model, the density of normal features and the thresholds; write OUT."""
    from nlvision.restoration.anomaly import AnomalyConfig, AnomalyDetector, check_fpr

    if method not in _METHODS:
        raise ValueError(f"--method: unknown {method!r}; valid: {', '.join(_METHODS)}")
    check_fpr(fpr)
    check_fpr(image_fpr, "--image-fpr")
    if out.suffix.lower() != ".npz":
        raise ValueError(f"--out: model file must end with .npz, got {out}")
    kw = {}
    if scales:
        kw["scales"] = tuple(scales)
    if calibration_scales:
        kw["calibration_scales"] = tuple(calibration_scales)
    cfg = AnomalyConfig(method=method, patch_size=patch_size, n_atoms=n_atoms, lam=lam, mu=mu, density=density,
                        fpr=fpr, image_fpr=image_fpr, step=step, postprocess=postprocess, seed=seed, dl_iter=dl_iter,
                        n_train_patches=n_train_patches, admm_iter=admm_iter, dictionary=dictionary,
                        scale_adapt=scale_adapt, **kw).validate()
    normal_files = _expand(normal)
    val_files = _expand(val) if val else []
    for p in normal_files + val_files:
        if out.resolve() == p.resolve():
            raise ValueError(f"--out: {out} is also an input")
    from tqdm import tqdm

    from nlvision.imageio import load_image

    normal_images = [load_image(p, as_gray=True) for p in normal_files]
    val_images = [load_image(p, as_gray=True) for p in val_files] if val_files else None
    bars: dict = {}

    def progress(stage: str, i: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, leave=False)
        bar.update(i - bar.n)
        if i >= total:
            bar.close()

    det = AnomalyDetector(cfg).fit(normal_images, val_images=val_images, progress=progress)
    det.info["normal"] = [str(p) for p in normal_files]
    det.save(out)
    result = {"model": str(out), "method": method, "fpr": fpr, "image_fpr": image_fpr,
              "pixel_threshold": det.threshold(), **{k: v for k, v in det.info.items() if k != "normal"}}
    emit(result, as_json, f"model ({method}) written to {out}; calibrated at scales {det.calibration_scales}")
    return 0


def detect(
    model: Path = typer.Argument(..., help="Model file written by `anomaly fit`."),
    images: List[str] = typer.Argument(..., help="Images to inspect: files, folders or globs."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for <stem>_map.png and <stem>_mask.png."),
    fpr: Optional[float] = typer.Option(None, "--fpr", help="Target pixel false-positive rate (default: the model's)."),
    image_fpr: Optional[float] = typer.Option(None, "--image-fpr", help="Target image-level FPR (default: the model's)."),
    method: Optional[str] = typer.Option(None, "--method", help="Reject a model of another method."),
    jobs: int = JOBS,
    scheduler: Optional[str] = SCHEDULER,
    max_pixels: Optional[str] = MAX_PIXELS,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Score every image: image verdict (image threshold) and pixel mask (pixel threshold)."""
    from nlvision.restoration.anomaly import AnomalyDetector, check_fpr

    if fpr is not None:
        check_fpr(fpr)
    if image_fpr is not None:
        check_fpr(image_fpr, "--image-fpr")
    if method is not None and method not in _METHODS:
        raise ValueError(f"--method: unknown {method!r}; valid: {', '.join(_METHODS)}")
    if out is not None and out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    det = AnomalyDetector.load(model, method=method)
    files = _expand(images)
    if out is not None:
        for spec in images:
            if Path(spec).exists() and Path(spec).resolve() == out.resolve():
                raise ValueError(f"--out: {out} is also an input folder; choose another folder")
    import numpy as np

    from nlvision.imageio import load_image, save_image

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    def process(path: Path) -> dict:
        p = det.predict(load_image(path, as_gray=True), fpr, image_fpr)
        if out is not None:
            vis = np.clip(p.anomaly_map / max(2.0 * p.pixel_threshold, 1e-6), 0, 1)
            save_image(out / f"{path.stem}_map.png", vis)
            save_image(out / f"{path.stem}_mask.png", p.mask.astype(float))
        return {"image": str(path), "anomalous": p.anomalous, "image_score": p.image_score,
                "image_threshold": p.image_threshold, "anomalous_fraction": p.anomalous_fraction,
                "max_score": float(p.anomaly_map.max()), "scale": p.scale,
                "coding_converged": p.info.get("coding_converged")}

    done, failed = run_batch(files, process, label="detect", jobs=jobs, scheduler=scheduler)
    results = [r for _, r in done]
    f = det.config.fpr if fpr is None else fpr
    fi = det.config.image_fpr if image_fpr is None else image_fpr
    payload = {"model": str(model), "method": det.config.method, "fpr": f, "image_fpr": fi,
               "pixel_threshold": det.threshold(f), "images": results,
               "failed": [{"image": str(p), "error": m} for p, m in failed]}
    text = "\n".join(f"{r['image']}: {'ANOMALOUS' if r['anomalous'] else 'normal'} (image score {r['image_score']:.2f}"
                     f" vs {r['image_threshold']:.2f}; {100 * r['anomalous_fraction']:.2f} % of pixels above the "
                     f"pixel threshold" + ("" if r["scale"] is None else f"; estimated zoom {r['scale']:.2f}") + ")"
                     for r in results)
    emit(payload, as_json, text)
    return 1 if failed else 0


def evaluate(
    root: Path = typer.Argument(..., help="MVTec AD folder (all categories) or one category folder."),
    category: Optional[str] = typer.Option(None, "--category", "-c", help="Only this category."),
    method: str = typer.Option("patch", "--method", "-m", help="patch | multiscale | csc | patchcore | padim."),
    fpr: float = typer.Option(0.01, "--fpr", help="Target pixel FPR."),
    image_fpr: float = typer.Option(0.05, "--image-fpr", help="Target image-level FPR."),
    size: int = typer.Option(256, "--size", help="Longer image side after resizing (0: native size)."),
    quick: bool = typer.Option(False, "--quick", help="Smaller dictionaries and fewer iterations."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the results as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Fit on train/good, report image AUROC, pixel AUROC, AUPRO@0.3 and obtained FPRs per defect type."""
    from nlvision.restoration.anomaly import check_fpr, evaluate_mvtec, make_model, scan_mvtec

    if method not in _EVAL_METHODS:
        raise ValueError(f"--method: unknown {method!r}; valid: {', '.join(_EVAL_METHODS)}")
    check_fpr(fpr)
    check_fpr(image_fpr, "--image-fpr")
    if size < 0 or 0 < size < 32:
        raise ValueError(f"--size must be 0 or >= 32, got {size}")
    _check_json_out(out, [])
    cats, skipped = scan_mvtec(root, category)
    for name, reason in skipped:
        typer.echo(f"error: skipped category {name}: {reason}", err=True)

    res = evaluate_mvtec(cats, lambda: make_model(method, quick=quick, fpr=fpr, image_fpr=image_fpr),
                         fpr=fpr, image_fpr=image_fpr, size=size or None,
                         progress=lambda s: typer.echo(s, err=True))
    res.update({"method": method, "fpr": fpr, "image_fpr": image_fpr, "size": size,
                "skipped": [{"category": n, "reason": r} for n, r in skipped]})
    if out is not None:
        from nlvision.atomic import write_json_atomic

        write_json_atomic(out, res)

    def fmt(v):
        return "   -  " if v is None else f"{v:6.3f}"

    lines = [f"{'category':12s} {'defect':18s} {'imgAUROC':>8s} {'pxAUROC':>8s} {'AUPRO':>7s} "
             f"{'pxFPR@' + format(fpr, 'g'):>11s} {'imgFPR':>7s}"]
    for name, r in res["categories"].items():
        for d, m in [("(all)", r["overall"])] + list(r["per_defect"].items()):
            lines.append(f"{name:12s} {d:18s} {fmt(m['image_auroc']):>8s} {fmt(m['pixel_auroc']):>8s} "
                         f"{fmt(m['aupro']):>7s} {fmt(m['pixel_fpr']):>11s} {fmt(m['image_fpr']):>7s}")
    emit(res, as_json, "\n".join(lines))
    return 1 if skipped else 0


def benchmark(
    dataset: Optional[List[str]] = typer.Option(None, "--dataset", help="nanofibre | brick | grass | gravel (repeatable; default nanofibre)."),
    method: Optional[List[str]] = typer.Option(None, "--method", help="Models (repeatable; default all): patch, multiscale, multiscale_fixed, csc, patchcore, padim."),
    zoom: Optional[List[float]] = typer.Option(None, "--zoom", help="Test zooms (default 1.0 0.7 1.4)."),
    seed: Optional[List[int]] = typer.Option(None, "--seed", help="Seeds (repeatable; default 0)."),
    fpr: Optional[List[float]] = typer.Option(None, "--fpr", help="Target pixel FPRs (default 0.01 0.05)."),
    image_fpr: float = typer.Option(0.05, "--image-fpr", help="Target image-level FPR."),
    n_test: int = typer.Option(6, "--n-test", help="Defective test images per zoom."),
    quick: bool = typer.Option(False, "--quick", help="Smaller dictionaries and fewer iterations."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the rows as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Pixel AUROC, AUPRO, image AUROC and obtained FPRs at several zooms (nanofibre generator, real textures)."""
    from nlvision.restoration.anomaly import BENCH_METHODS, DATASETS, check_fpr, run_benchmark

    datasets = tuple(dataset) if dataset else ("nanofibre",)
    methods = tuple(method) if method else BENCH_METHODS
    for d in datasets:
        if d not in DATASETS:
            raise ValueError(f"--dataset: unknown {d!r}; valid: {', '.join(DATASETS)}")
    for m in methods:
        if m not in BENCH_METHODS:
            raise ValueError(f"--method: unknown {m!r}; valid: {', '.join(BENCH_METHODS)}")
    zooms = tuple(zoom) if zoom else (1.0, 0.7, 1.4)
    if any(not (0.3 <= z <= 3.0) for z in zooms):
        raise ValueError(f"--zoom: values must be in [0.3, 3], got {list(zooms)}")
    fprs = tuple(fpr) if fpr else (0.01, 0.05)
    for f in fprs:
        check_fpr(f)
    check_fpr(image_fpr, "--image-fpr")
    if n_test < 1:
        raise ValueError(f"--n-test must be >= 1, got {n_test}")
    _check_json_out(out, [])

    rows = run_benchmark(datasets, methods, zooms, tuple(seed) if seed else (0,), fprs=fprs, image_fpr=image_fpr,
                         quick=quick, n_test=n_test, progress=lambda s: typer.echo(s, err=True))
    payload = {"rows": rows, "fprs": list(fprs), "image_fpr": image_fpr, "quick": quick}
    if out is not None:
        from nlvision.atomic import write_json_atomic

        write_json_atomic(out, payload)
    head = f"{'dataset':9s} {'seed':>4s} {'method':16s} {'zoom':>5s} {'pxAUROC':>7s} {'AUPRO':>6s} " + " ".join(
        f"{'FPR@' + format(f, 'g'):>9s}" for f in fprs) + f" {'imgFPR':>6s}"
    lines = [head]
    for r in rows:
        fp = " ".join(f"{r['pixel_fpr'][str(f)]:9.4f}" for f in fprs)
        ifp = "     -" if r["image_fpr"] is None else f"{r['image_fpr'][str(image_fpr)]:6.3f}"
        lines.append(f"{r['dataset']:9s} {r['seed']:4d} {r['method']:16s} {r['zoom']:5.2f} {r['pixel_auroc']:7.3f} "
                     f"{r['aupro']:6.3f} {fp} {ifp}")
    emit(payload, as_json, "\n".join(lines))
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``anomaly`` command group to the application."""
    sub = typer.Typer(help="Anomaly detection with sparse and convolutional sparse models.", no_args_is_help=True)
    sub.command("fit")(fit)
    sub.command("detect")(detect)
    sub.command("evaluate")(evaluate)
    sub.command("benchmark")(benchmark)
    app.add_typer(sub, name="anomaly")
