"""``nlvision encrypt`` and ``nlvision vsi score|ladder|evaluate`` (visual security, seed 004)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import (
    JOBS,
    MAX_PIXELS,
    SCHEDULER,
    check_batch_output_folder,
    emit,
    failed_entries,
    is_batch_spec,
    run_batch,
)

_IMAGE_OUT = (".png", ".tif", ".tiff", ".bmp", ".pgm", ".ppm")


def register(app: typer.Typer) -> None:
    """Add ``encrypt`` and the ``vsi`` sub-app to the root app."""
    app.command("encrypt")(encrypt)
    vsi_app = typer.Typer(help="Visual security index (VSI) of perceptually encrypted images.", no_args_is_help=True)
    vsi_app.command("score")(score)
    vsi_app.command("ladder")(ladder)
    vsi_app.command("evaluate")(evaluate)
    app.add_typer(vsi_app, name="vsi")


def _same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _encrypt_outputs(inputs: list[Path], out: Path) -> list[Path]:
    """``OUT/<stem>.png`` for every input (a folder IN or glob); refused before anything is written."""
    check_batch_output_folder(out, inputs)
    outputs = [out / f"{p.stem}.png" for p in inputs]
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, outputs):
        if dst in seen:
            raise ValueError(f"IN: {seen[dst].name} and {src.name} would both be written to {dst}; rename one")
        seen[dst] = src
    return outputs


def _encrypt_one(src: Path, dst: Path, scheme: str, strength: float, key: int) -> dict:
    from nlvision.imageio import load_image, save_image
    from nlvision.security.encryption import encrypt as encrypt_image

    save_image(dst, encrypt_image(load_image(src), scheme, strength, key=key))
    return {"input": str(src), "out": str(dst)}


def encrypt(
    inp: str = typer.Argument(..., metavar="IN", help="Plain image file, folder or glob pattern."),
    out: Path = typer.Option(..., "-o", "--out", help="Encrypted image to write (PNG recommended: lossless); a folder "
                             "when IN is a folder/glob (each output is OUT/<name>.png)."),
    scheme: str = typer.Option(..., "--scheme", help="block_shuffle, pixel_scramble, dct_sign, dct_permute, wavelet_sign, wavelet_bitplane, wavelet_truncate, msb_xor."),
    strength: float = typer.Option(0.5, "--strength", help="Encryption strength in [0, 1]."),
    key: int = typer.Option(0, "--key", help="Non-negative integer key (seed)."),
    jobs: int = JOBS, scheduler: Optional[str] = SCHEDULER, max_pixels: Optional[str] = MAX_PIXELS,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Encrypt images with a perceptual encryption scheme (nothing is written on error).

    IN may be a folder or a glob: every image is encrypted to OUT/<name>.png; a file that fails is
    reported (``error: <path>: <message>``) and skipped, the others are still written (exit 1).
    """
    from nlvision.imageio import list_images
    from nlvision.security.encryption import SCHEMES

    if scheme not in SCHEMES:  # fail before reading the file
        raise ValueError(f"--scheme: unknown scheme {scheme!r}; valid: {', '.join(SCHEMES)}")
    if not (0.0 <= strength <= 1.0):
        raise ValueError(f"--strength: expected a value in [0, 1], got {strength!r}")
    if key < 0:
        raise ValueError(f"--key: expected a non-negative integer, got {key}")
    if is_batch_spec(inp):
        inputs = list_images(inp)
        outputs = _encrypt_outputs(inputs, out)
        done, failed = run_batch(list(zip(inputs, outputs)), lambda pair: _encrypt_one(*pair, scheme, strength, key),
                                 label="encrypt", jobs=jobs, scheduler=scheduler)
        results = [r for _, r in done]
        summary = {"out": str(out), "scheme": scheme, "strength": strength, "key": key, "done": len(done),
                   "failed": failed_entries(failed), "results": results}
        emit(summary, as_json, f"wrote {len(done)} encrypted image(s) to {out} ({scheme}, strength {strength:g}, key {key}); "
             f"{len(failed)} failed")
        return 1 if failed else 0
    input = Path(inp)
    if out.suffix.lower() not in _IMAGE_OUT + (".jpg", ".jpeg"):
        raise ValueError(f"--out: expected an image file name ({', '.join(_IMAGE_OUT)}), got {str(out)!r}")
    if _same(input, out):
        raise ValueError(f"--out: {out} is the input file; choose another output")
    _encrypt_one(input, out, scheme, strength, key)
    emit({"input": str(input), "out": str(out), "scheme": scheme, "strength": strength, "key": key}, as_json,
         f"wrote {out} ({scheme}, strength {strength:g}, key {key})")
    return 0


def _config(config, alpha, beta, gamma, pooling, search_stride, phases, edge_scale):
    from nlvision.security.edges import edge_config
    from nlvision.security.vsi import with_overrides

    edges = edge_config(edge_scale) if edge_scale is not None else None
    return with_overrides(config, alpha=alpha, beta=beta, gamma=gamma, pooling=pooling, search_stride=search_stride,
                          phases=phases, edges=edges)


_CONFIG = typer.Option("C4", "--config", help="Table 3 configuration: C1, C2, C3 or C4 (full index).")
_ALPHA = typer.Option(None, "--alpha", help="Block size ratio (default 0.1).")
_BETA = typer.Option(None, "--beta", help="Low-pass bandwidth ratio (default 40).")
_GAMMA = typer.Option(None, "--gamma", help="Minkowski exponent (default 5).")
_POOLING = typer.Option(None, "--pooling", help="Eq. 6 form: normalized (default) or literal.")
_STRIDE = typer.Option(None, "--search-stride", help="Candidate stride as a fraction of l (default 0.25; 1 with --phases 1 = the paper's grid).")
_PHASES = typer.Option(None, "--phases", help="Plain-grid origins per axis (default 2; 1 = the paper's single grid).")
_EDGE = typer.Option(None, "--edge-scale", help="Edge template: 'paper' (Gaussian a=3, b=7, 10 harmonics) or 'fine' (sigma 1x3, 99%% energy).")


def score(
    plain: Optional[Path] = typer.Argument(None, help="Plain image (omit with --pairs)."),
    encrypted: Optional[Path] = typer.Argument(None, help="Encrypted image, same size (omit with --pairs)."),
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="CSV with columns plain, encrypted[, mos, type]: score every pair."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="With --pairs: the scores CSV to write."),
    config: str = _CONFIG,
    alpha: Optional[float] = _ALPHA,
    beta: Optional[float] = _BETA,
    gamma: Optional[float] = _GAMMA,
    pooling: Optional[str] = _POOLING,
    search_stride: Optional[float] = _STRIDE,
    phases: Optional[int] = _PHASES,
    edge_scale: Optional[str] = _EDGE,
    baselines: bool = typer.Option(False, "--baselines", help="Also print PSNR, SSIM, LSS, ESS and the edge/texture index."),
    map_out: Optional[Path] = typer.Option(None, "--map", help="Write a colour map of the block recognisable degrees with their matches (PNG)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar for --pairs."),
    jobs: int = JOBS, scheduler: Optional[str] = SCHEDULER, max_pixels: Optional[str] = MAX_PIXELS,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Score an encrypted image against its plain image: VSI, RD and GS (higher VSI = less secure).

    With --pairs, every pair of the CSV is scored (VSI C1-C4 and the baselines) and written to
    -o/--out; a bad pair is reported and skipped (exit 1), the others are still scored.
    """
    cfg = _config(config, alpha, beta, gamma, pooling, search_stride, phases, edge_scale)
    if pairs is not None:
        return _score_batch(pairs, out, plain, cfg, progress and not as_json, as_json, jobs, scheduler)
    if plain is None or encrypted is None:
        raise ValueError("plain, encrypted: expected two image files (or --pairs pairs.csv -o scores.csv)")
    if out is not None:
        raise ValueError("--out: only used with --pairs (use --map for the block map of one pair)")
    if map_out is not None:
        if map_out.suffix.lower() != ".png":
            raise ValueError(f"--map: expected a .png file name, got {str(map_out)!r}")
        if _same(map_out, plain) or _same(map_out, encrypted):
            raise ValueError(f"--map: {map_out} is an input file; choose another output")
    from nlvision.imageio import load_image
    from nlvision.security.vsi import vsi

    p = load_image(plain)
    e = load_image(encrypted)
    result = vsi(p, e, cfg, progress=progress and not as_json and p.shape[0] * p.shape[1] > (1 << 22))
    res = {"plain": str(plain), "encrypted": str(encrypted), "config": config.upper(), **result.summary()}
    if baselines:
        from nlvision.security.baselines import BASELINES

        res.update({name: float(fn(p, e)) for name, fn in BASELINES.items()})
    if map_out is not None:
        from nlvision.report.security import render_rd_map

        render_rd_map(result, p, e, map_out)
        res["map"] = str(map_out)
    text = "\n".join(
        [f"VSI {result.vsi:.4f}  (RD {result.rd:.4f}, GS {result.gs:.4f}; config {config.upper()}, "
         f"{result.block_rd.shape[0]}x{result.block_rd.shape[1]} blocks of {result.block} px)"]
        + [f"{k:13s} {v:.4f}" for k, v in res.items() if k in ("psnr", "ssim", "lss", "ess", "edge_texture")]
        + ([f"map written to {map_out}"] if map_out is not None else [])
    )
    emit(res, as_json, text)
    return 0


def _score_record(item: tuple, cfg) -> dict:
    """Score one pair of the CSV; raises ValueError with score_pairs' one-line message when it fails."""
    from nlvision.security.databases import score_pairs

    rows, failed = score_pairs([item[1]], cfg, baselines=True)
    if failed:
        raise ValueError(failed[0][1])
    return rows[0]


def _score_batch(pairs: Path, out: Optional[Path], extra: Optional[Path], cfg, progress: bool, as_json: bool,
                 jobs: int = 1, scheduler: Optional[str] = None) -> int:
    import csv
    import functools

    from nlvision.atomic import atomic_path
    from nlvision.batch import check_engine
    from nlvision.security.databases import read_pairs_csv

    if extra is not None:
        raise ValueError("plain: not used with --pairs (the CSV lists the pairs)")
    if out is None:
        raise ValueError("--out: required with --pairs (the scores CSV to write)")
    if out.suffix.lower() != ".csv":
        raise ValueError(f"--out: expected a .csv file name, got {str(out)!r}")
    if _same(out, pairs):
        raise ValueError(f"--out: {out} is the input CSV; choose another output")
    check_engine(jobs, scheduler)
    records = read_pairs_csv(pairs, require_mos=False)
    items = [(str(rec.encrypted), rec) for rec in records]  # the encrypted file names the pair in messages
    done, failed = run_batch(items, functools.partial(_score_record, cfg=cfg), label="vsi score", show_progress=progress,
                             jobs=jobs, scheduler=scheduler)
    rows = [r for _, r in done]  # input order, whatever the engine

    cols = ["plain", "encrypted", "mos", "type", "vsi", "C1", "C2", "C3", "C4", "psnr", "ssim", "lss", "ess", "edge_texture"]
    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in rows:
                w.writerow([r[c] if not isinstance(r[c], float) else ("" if math.isnan(r[c]) else f"{r[c]:.6g}") for c in cols])
    res = {"pairs": str(pairs), "out": str(out), "scored": len(rows),
           "failed": [{"encrypted": item[0], "error": m} for item, m in failed]}
    text = "\n".join([f"scored {len(rows)} of {len(records)} pairs -> {out}"] + [f"skipped {item[0]}: {m}" for item, m in failed])
    emit(res, as_json, text)
    return 1 if failed else 0


def ladder(
    quick: bool = typer.Option(False, "--quick", help="3 images at 128 px: a ~20 s run."),
    images: Optional[str] = typer.Option(None, "--images", help="Comma-separated subset of the bundled images."),
    schemes: Optional[str] = typer.Option(None, "--schemes", help="Comma-separated subset of the schemes."),
    max_side: int = typer.Option(256, "--max-side", help="Downscale the images to this longer side (0: full size)."),
    key: int = typer.Option(0, "--key", help="Encryption key."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Also write every score and the summary as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Embedded security ladder: bundled gray images x schemes x 6 strengths (offline).

    Reports, per scheme, the rank correlation of every index with the encryption strength — a
    proxy for human scores, not a subjective study — and the C1–C4 ablation.
    """
    from nlvision.atomic import write_json_atomic
    from nlvision.security.ladder import bundled_gray_images, run_ladder

    if out is not None and out.suffix.lower() != ".json":
        raise ValueError(f"--out: expected a .json file name, got {str(out)!r}")
    names = [s.strip() for s in images.split(",") if s.strip()] if images else None
    if quick:
        names = names or ["camera", "coins", "moon"]
        max_side = 128
    imgs = bundled_gray_images(names, max_side=max_side or None)
    sch = [s.strip() for s in schemes.split(",") if s.strip()] if schemes else None
    result = run_ladder(imgs, sch, key=key, progress=not as_json)
    if out is not None:
        write_json_atomic(out, result.to_dict(with_rows=True))
    emit(result.to_dict(), as_json, result.table() + f"\n({len(result.rows)} pairs in {result.seconds:.1f} s)")
    return 0


def evaluate(
    path: Optional[Path] = typer.Argument(None, help="Database folder (PEID: holds data.mat; IVC: the unpacked SelectiveEncryption archive)."),
    database: Optional[str] = typer.Option(None, "--database", help="peid or ivc."),
    csv_file: Optional[Path] = typer.Option(None, "--csv", help="Your own database: CSV with columns plain, encrypted, mos[, type]."),
    score_name: str = typer.Option("VS", "--score", help="PEID: which MOS, VS (visual security) or IQ (image quality)."),
    scores: Optional[Path] = typer.Option(None, "--scores", help="IVC: the score sheet (.xls) or its CSV export, if not found under PATH."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="PEID: skip (and report) entries whose image is missing."),
    sweep: bool = typer.Option(False, "--sweep", help="Parameter study of sec. 3.4: alpha 0.05-0.25 (beta 40), beta 10-60 (alpha 0.1)."),
    config: str = _CONFIG,
    search_stride: Optional[float] = _STRIDE,
    phases: Optional[int] = _PHASES,
    edge_scale: Optional[str] = _EDGE,
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Also write the full result (every pair's scores) as JSON."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Evaluate the VSI and the baselines on PEID, IVC-SelectEncrypt or your CSV (Tables 1 and 2)."""
    from nlvision.atomic import write_json_atomic
    from nlvision.security.databases import IVC_TYPES, PEID_TYPES, evaluate_database, read_database, sweep_parameters

    cfg = _config(config, None, None, None, None, search_stride, phases, edge_scale)
    if csv_file is not None:
        if path is not None or database not in (None, "csv"):
            raise ValueError("--csv: give either --csv FILE or PATH --database peid|ivc, not both")
        name, kwargs, where = "csv", {}, csv_file
    else:
        if path is None or database is None:
            raise ValueError("path: expected PATH --database peid|ivc, or --csv FILE")
        name, where = database.lower(), path
        if name not in ("peid", "ivc"):
            raise ValueError(f"--database: unknown database {database!r}; valid: peid, ivc (or --csv FILE)")
        kwargs = {"score": score_name, "skip_missing": skip_missing} if name == "peid" else {"scores": scores}
    if name != "peid" and score_name.upper() != "VS":
        raise ValueError("--score: only PEID has several scores (VS, IQ)")
    if out is not None and out.suffix.lower() != ".json":
        raise ValueError(f"--out: expected a .json file name, got {str(out)!r}")
    records = read_database(name, where, **kwargs)
    show = progress and not as_json
    if sweep:
        res = sweep_parameters(records, cfg, progress=show)
        lines = [f"{name.upper()}: parameter study, VSI SROCC ({res['alpha'][0]['n']} pairs)"]
        lines += [f"alpha {r['alpha']:.2f} (beta {r['beta']:g}): {r['srocc']:.3f}" for r in res["alpha"]]
        lines += [f"beta {r['beta']:g} (alpha {r['alpha']:.2f}): {r['srocc']:.3f}" for r in res["beta"]]
        failed = res["failed"]
    else:
        order = PEID_TYPES if name == "peid" else IVC_TYPES if name == "ivc" else ()
        res = evaluate_database(records, progress=show, config=cfg, type_order=order)
        failed = res["failed"]
        lines = _tables(name, res)
    lines += [f"skipped {f}: {m}" for f, m in failed]
    if out is not None:
        write_json_atomic(out, res)
    if as_json:
        emit({k: v for k, v in res.items() if k != "rows"}, True)
    else:
        emit(res, False, "\n".join(lines))
    return 1 if failed else 0


def _tables(name: str, res: dict) -> list[str]:
    idx = list(res["overall"])
    head = f"{'':10s}" + "".join(f"{i:>13s}" for i in idx)
    lines = [f"{name.upper()}: {res['n']} pairs; signed correlations with the subjective scores",
             "Table 1 (SROCC, KRCC raw; PLCC, RMSE after the VQEG logistic)", head]
    for stat in ("srocc", "krcc", "plcc", "rmse"):
        lines.append(f"{stat.upper():10s}" + "".join(f"{res['overall'][i][stat]:13.3f}" for i in idx))
    lines += ["Table 2 (SROCC per encryption type)", head]
    for kind, row in res["per_type"].items():
        lines.append(f"{kind[:10]:10s}" + "".join(f"{v:13.3f}" if not math.isnan(v) else f"{'n/a':>13s}" for v in row.values()))
    lines.append(f"{'Avg':10s}" + "".join(f"{res['avg_std'][i]['avg']:13.3f}" for i in idx))
    lines.append(f"{'Std':10s}" + "".join(f"{res['avg_std'][i]['std']:13.3f}" for i in idx))
    return lines
