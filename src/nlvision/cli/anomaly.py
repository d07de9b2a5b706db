"""``nlvision anomaly fit|detect|benchmark``: sparse-coding anomaly detection (seed 003)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

_METHODS = ("patch", "multiscale", "csc")


def _expand(specs: list[str]) -> list[Path]:
    from nlvision.imageio import list_images

    files: list[Path] = []
    for s in specs:
        files.extend(list_images(s))
    return files


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Anomaly detection with sparse and convolutional sparse models.", no_args_is_help=True)

    @sub.command("fit")
    def fit(
        normal: List[str] = typer.Argument(..., help="Normal (anomaly-free) images: files, folders or globs."),
        out: Path = typer.Option(..., "--out", "-o", help="Model file to write (.npz)."),
        method: str = typer.Option("patch", "--method", "-m", help="patch | multiscale | csc."),
        val: Optional[List[str]] = typer.Option(None, "--val", help="Validation images (default: hold out part of NORMAL)."),
        patch_size: int = typer.Option(15, "--patch-size", help="Patch (or CSC region) side."),
        n_atoms: int = typer.Option(128, "--n-atoms", help="Dictionary atoms (per scale for multiscale)."),
        lam: float = typer.Option(0.02, "--lam", help="l1 weight of BPDN."),
        mu: float = typer.Option(0.02, "--mu", help="Group-sparsity weight (multiscale)."),
        density: str = typer.Option("gmm", "--density", help="gmm | gaussian."),
        fpr: float = typer.Option(0.01, "--fpr", help="Default target false-positive rate, in (0, 1)."),
        step: int = typer.Option(4, "--step", help="Stride between scored patches."),
        dl_iter: int = typer.Option(15, "--dl-iter", help="Dictionary-learning alternations (CSC: cdl iterations = 10)."),
        n_train_patches: int = typer.Option(8000, "--n-train-patches", help="Training patches used to learn the dictionary."),
        admm_iter: int = typer.Option(40, "--admm-iter", help="ADMM iterations when coding."),
        dictionary: str = typer.Option("bpdn", "--dictionary", help="bpdn | ksvd (dictionary learning)."),
        postprocess: str = typer.Option("none", "--postprocess", help="none | median | open."),
        seed: int = typer.Option(0, "--seed", help="Random seed."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> int:
        """Learn the background model, the density of normal features and gamma; write OUT."""
        from nlvision.cli._common import emit

        if method not in _METHODS:
            raise ValueError(f"--method: unknown {method!r}; valid: {', '.join(_METHODS)}")
        from nlvision.restoration.anomaly import AnomalyConfig, check_fpr

        check_fpr(fpr)
        if out.suffix.lower() != ".npz":
            raise ValueError(f"--out: model file must end with .npz, got {out}")
        cfg = AnomalyConfig(method=method, patch_size=patch_size, n_atoms=n_atoms, lam=lam, mu=mu, density=density,
                            fpr=fpr, step=step, postprocess=postprocess, seed=seed, dl_iter=dl_iter,
                            n_train_patches=n_train_patches, admm_iter=admm_iter,
                            dictionary=dictionary).validate()
        from tqdm import tqdm

        from nlvision.imageio import load_image
        from nlvision.restoration.anomaly import AnomalyDetector

        normal_images = [load_image(p, as_gray=True) for p in _expand(normal)]
        val_images = [load_image(p, as_gray=True) for p in _expand(val)] if val else None
        bars: dict = {}

        def progress(stage: str, i: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, leave=False)
            bar.update(i - bar.n)
            if i >= total:
                bar.close()

        det = AnomalyDetector(cfg).fit(normal_images, val_images=val_images, progress=progress)
        det.save(out)
        from dataclasses import asdict

        from nlvision.atomic import write_json_atomic

        write_json_atomic(out.with_suffix(".json"), {"config": asdict(cfg), "info": det.info,
                                                     "normal": [str(p) for p in _expand(normal)]})
        result = {"model": str(out), "method": method, "gamma": det.threshold(), "fpr": fpr, **det.info}
        emit(result, as_json, f"model ({method}) written to {out}; gamma at FPR {fpr:g} = {det.threshold():.4f}")
        return 0

    @sub.command("detect")
    def detect(
        model: Path = typer.Argument(..., help="Model file written by `anomaly fit`."),
        images: List[str] = typer.Argument(..., help="Images to inspect: files, folders or globs."),
        outdir: Optional[Path] = typer.Option(None, "--out", "-o", help="Write <stem>_map.png and <stem>_mask.png here."),
        fpr: Optional[float] = typer.Option(None, "--fpr", help="Target false-positive rate in (0, 1) (default: the model's)."),
        method: Optional[str] = typer.Option(None, "--method", help="Reject a model of another method."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> int:
        """Score every image, threshold at gamma(FPR) and report the anomalous area."""
        from nlvision.restoration.anomaly import check_fpr

        if fpr is not None:
            check_fpr(fpr)
        if method is not None and method not in _METHODS:
            raise ValueError(f"--method: unknown {method!r}; valid: {', '.join(_METHODS)}")
        import numpy as np

        from nlvision.cli._common import emit, run_batch
        from nlvision.imageio import load_image, save_image
        from nlvision.restoration.anomaly import AnomalyDetector

        det = AnomalyDetector.load(model, method=method)
        gamma = det.threshold(fpr)
        files = _expand(images)
        if outdir is not None:
            outdir.mkdir(parents=True, exist_ok=True)

        def process(path: Path) -> dict:
            img = load_image(path, as_gray=True)
            amap = det.score(img)
            mask = det.detect(img, fpr, anomaly_map=amap)
            if outdir is not None:
                lo, hi = float(np.min(det.val_scores)), max(float(np.max(amap)), gamma * 1.5 if gamma > 0 else 1.0)
                vis = np.clip((amap - lo) / max(hi - lo, 1e-12), 0, 1)
                save_image(outdir / f"{path.stem}_map.png", vis)
                save_image(outdir / f"{path.stem}_mask.png", mask.astype(float))
            return {"image": str(path), "anomalous_fraction": float(mask.mean()), "max_score": float(amap.max()),
                    "anomalous": bool(mask.any())}

        done, failed = run_batch(files, process, label="detect")
        results = [r for _, r in done]
        payload = {"model": str(model), "method": det.config.method, "gamma": gamma,
                   "fpr": det.config.fpr if fpr is None else fpr, "images": results,
                   "failed": [{"image": str(p), "error": m} for p, m in failed]}
        text = "\n".join(f"{r['image']}: {'ANOMALOUS' if r['anomalous'] else 'normal'} "
                         f"({100 * r['anomalous_fraction']:.2f} % of pixels, max score {r['max_score']:.2f})"
                         for r in results) + f"\ngamma = {gamma:.4f}"
        emit(payload, as_json, text)
        return 1 if failed else 0

    @sub.command("benchmark")
    def benchmark(
        texture: Optional[List[str]] = typer.Option(None, "--texture", help="brick | grass | gravel (repeatable; default all)."),
        method: Optional[List[str]] = typer.Option(None, "--method", help="patch | multiscale | csc | knn (repeatable; default all)."),
        zoom: Optional[List[float]] = typer.Option(None, "--zoom", help="Test zoom levels (default 1.0 0.6 1.3)."),
        fpr: float = typer.Option(0.01, "--fpr", help="Target false-positive rate, in (0, 1)."),
        n_test: int = typer.Option(4, "--n-test", help="Defective test images per texture."),
        quick: bool = typer.Option(False, "--quick", help="Smaller dictionaries and fewer iterations."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the rows as JSON here."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> int:
        """Pixel AUROC and obtained FPR on the deterministic texture benchmark (real textures, planted defects)."""
        from nlvision.datasets.textures import TEXTURES
        from nlvision.restoration.anomaly import BENCH_METHODS, check_fpr, run_benchmark

        check_fpr(fpr)
        textures = tuple(texture) if texture else TEXTURES
        methods = tuple(method) if method else BENCH_METHODS
        for t in textures:
            if t not in TEXTURES:
                raise ValueError(f"--texture: unknown {t!r}; valid: {', '.join(TEXTURES)}")
        for m in methods:
            if m not in BENCH_METHODS:
                raise ValueError(f"--method: unknown {m!r}; valid: {', '.join(BENCH_METHODS)}")
        zooms = tuple(zoom) if zoom else (1.0, 0.6, 1.3)
        if any(not (0.2 <= z <= 4.0) for z in zooms):
            raise ValueError(f"--zoom: values must be in [0.2, 4], got {list(zooms)}")
        if n_test < 1:
            raise ValueError(f"--n-test must be >= 1, got {n_test}")
        from nlvision.cli._common import emit

        rows = run_benchmark(textures, methods, zooms, quick=quick, fpr=fpr, n_test=n_test,
                             progress=lambda s: typer.echo(s, err=True))
        if out is not None:
            from nlvision.atomic import write_json_atomic

            write_json_atomic(out, {"rows": rows, "fpr": fpr, "quick": quick})
        head = f"{'texture':8s} {'method':10s} {'zoom':>5s} {'AUROC':>6s} {'FPR@' + format(fpr, 'g'):>9s} {'TPR':>6s}"
        lines = [head] + [f"{r['texture']:8s} {r['method']:10s} {r['zoom']:5.2f} {r['auroc']:6.3f} "
                          f"{r['fpr_obtained']:9.4f} {r['tpr']:6.3f}" for r in rows]
        emit({"rows": rows, "fpr": fpr, "quick": quick}, as_json, "\n".join(lines))
        return 0

    app.add_typer(sub, name="anomaly")
