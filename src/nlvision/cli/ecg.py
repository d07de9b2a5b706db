"""``nlvision ecg adapt|detect|benchmark``: heartbeat dictionaries adapted across heart rates (seed 003).

Thin: parse, call :mod:`nlvision.restoration.ecg`, print. ``wfdb`` and ``neurokit2`` (the ``[ecg]``
extra) are imported by the library when a command needs them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional

import typer

from nlvision.cli._common import emit

ecg_app = typer.Typer(help="ECG monitoring: heart-rate dictionary adaptation and heartbeat anomaly detection.",
                      no_args_is_help=True)


def _check_rates(r0: float, r1: float, tolerance: float) -> None:
    for name, v in (("--r0", r0), ("--r1", r1)):
        if not (math.isfinite(v) and 30 <= v <= 200):
            raise ValueError(f"{name}: expected a heart rate in 30..200 bpm, got {v}")
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"--tolerance: expected a number of bpm > 0, got {tolerance}")


def _check_out(out: Optional[Path], suffix: str, inputs: List[Path]) -> None:
    if out is None:
        return
    if out.suffix.lower() != suffix:
        raise ValueError(f"--out: expected a {suffix} file, got {out}")
    if out.is_dir():
        raise ValueError(f"--out: {out} is a folder; a {suffix} file is expected")
    target = out.resolve()
    for p in inputs:
        for cand in (p, Path(str(p) + ".hea"), Path(str(p) + ".dat"), Path(str(p) + ".atr")):
            if cand.resolve() == target:
                raise ValueError(f"--out: {out} is an input file; choose another path")


def adapt(
    records: Optional[List[Path]] = typer.Argument(None, metavar="[RECORD]...",
                                                  help="WFDB records (path without extension), one per user; none: synthetic users."),
    r0: float = typer.Option(60.0, "--r0", help="Source heart rate (bpm)."),
    r1: float = typer.Option(110.0, "--r1", help="Target heart rate (bpm)."),
    tolerance: float = typer.Option(8.0, "--tolerance", help="Beats within this many bpm of a rate belong to it."),
    users: int = typer.Option(8, "--users", help="Synthetic training users (when no RECORD is given)."),
    beats: int = typer.Option(60, "--beats", help="Beats per synthetic user and heart rate."),
    max_iter: int = typer.Option(30, "--max-iter", help="Alternations of the F learning."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic users."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Write F to this .npz file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Learn the heart-rate transformation F (r0 -> r1) across users; save it with -o."""
    from nlvision.restoration.ecg import TransformConfig, read_record, save_transform, transform_from_records, transform_from_synthetic

    _check_rates(r0, r1, tolerance)
    if users < 1 or beats < 6 or max_iter < 1:
        raise ValueError(f"--users, --beats, --max-iter: expected >= 1, >= 6, >= 1, got {users}, {beats}, {max_iter}")
    recs = list(records or [])
    _check_out(out, ".npz", recs)
    cfg = TransformConfig(max_iter=max_iter)
    if recs:
        loaded = [read_record(p) for p in recs]
        res, used = transform_from_records(loaded, r0, r1, tolerance=tolerance, config=cfg)
        source = f"{used} of {len(recs)} records"
    else:
        res = transform_from_synthetic(users, r0, r1, beats=beats, seed=seed, config=cfg)
        source = f"{users} synthetic users (ECGSYN), seed {seed}"
    if out is not None:
        save_transform(out, res.F, r0, r1)
    info = {"r0": r0, "r1": r1, "source": source, "iterations": res.n_iter, "converged": res.converged,
            "objective": res.objective[-1] if res.objective else None, "shape": list(res.F.shape),
            "output": str(out) if out is not None else None}
    emit(info, as_json, f"F {r0:g} -> {r1:g} bpm from {source}: {res.n_iter} alternations "
                        f"({'converged' if res.converged else 'iteration limit'}), objective {info['objective']:.4g}"
                        + (f"; written to {out}" if out is not None else ""))
    return 0


def detect(
    record: Path = typer.Argument(..., metavar="RECORD", help="Annotated WFDB record of one user (path without extension)."),
    transform: Optional[Path] = typer.Option(None, "--transform", help="F from `nlvision ecg adapt -o F.npz` (default: no adaptation)."),
    r0: Optional[float] = typer.Option(None, "--r0", help="Heart rate of the user's dictionary (default: from --transform, else 60)."),
    r1: Optional[float] = typer.Option(None, "--r1", help="Heart rate monitored (default: from --transform, else 110)."),
    tolerance: float = typer.Option(8.0, "--tolerance", help="Beats within this many bpm of a rate belong to it."),
    channel: int = typer.Option(0, "--channel", help="Lead index."),
    fpr: float = typer.Option(0.01, "--fpr", help="Target false-positive rate of the threshold."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Write per-beat scores to this .json file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Score the beats of RECORD near r1 with the user's r0 dictionary adapted by F."""
    from nlvision.atomic import write_json_atomic
    from nlvision.restoration.ecg import load_transform, monitor_record, read_record

    if not 0 < fpr < 1:
        raise ValueError(f"--fpr: expected a number in (0, 1), got {fpr}")
    _check_out(out, ".json", [record] + ([transform] if transform else []))
    F = None
    if transform is not None:
        F, fr0, fr1 = load_transform(transform)
        if (r0 is not None and abs(r0 - fr0) > 1e-9) or (r1 is not None and abs(r1 - fr1) > 1e-9):
            raise ValueError(f"--r0/--r1: {transform} maps {fr0:g} -> {fr1:g} bpm, got {r0} -> {r1}")
        r0, r1 = fr0, fr1
    r0 = 60.0 if r0 is None else r0
    r1 = 110.0 if r1 is None else r1
    _check_rates(r0, r1, tolerance)
    rec = read_record(record, channel=channel)
    res = monitor_record(rec, r0, r1, F=F, tolerance=tolerance, fpr=fpr)
    res.update({"r0": r0, "r1": r1, "adapted": F is not None})
    if out is not None:
        write_json_atomic(out, res)
        res["output"] = str(out)
    summary = {k: v for k, v in res.items() if k not in ("r_peaks", "heart_rate", "labels", "scores", "detections")}
    summary["n_detected"] = int(sum(res["detections"]))
    auc = "n/a" if res["auc"] is None else f"{res['auc']:.3f}"
    emit(res if as_json else summary, as_json,
         f"{rec.name}: {res['n_r1']} beats near {r1:g} bpm scored ({'adapted' if F is not None else 'not adapted'} "
         f"dictionary from {res['n_r0']} beats near {r0:g} bpm); {summary['n_detected']} detected, AUC {auc}")
    return 0


def benchmark(
    seeds: int = typer.Option(3, "--seeds", help="Number of seeds (new users and records each)."),
    users: int = typer.Option(8, "--users", help="Training users of F per seed."),
    test_users: int = typer.Option(4, "--test-users", help="Held-out users monitored per seed."),
    beats: int = typer.Option(60, "--beats", help="Beats per user, heart rate and role."),
    r0: float = typer.Option(60.0, "--r0", help="Source heart rate (bpm)."),
    r1: float = typer.Option(110.0, "--r1", help="Target heart rate (bpm)."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Write the full results to this .json file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Dictionary adaptation performance on synthetic users: error and AUC of (a) none (b) learned F (c) oracle (d) resampling."""
    from nlvision.atomic import write_json_atomic
    from nlvision.restoration.ecg import AdaptationConfig, adaptation_benchmark

    if seeds < 1 or users < 1 or test_users < 1 or beats < 6:
        raise ValueError(f"--seeds/--users/--test-users >= 1 and --beats >= 6 expected, got {seeds}, {users}, {test_users}, {beats}")
    _check_rates(r0, r1, 1.0)
    _check_out(out, ".json", [])
    cfg = AdaptationConfig(r0=r0, r1=r1, n_train_users=users, n_test_users=test_users, beats=beats, seeds=tuple(range(seeds)))
    res = adaptation_benchmark(cfg, progress=None if as_json else typer.echo)
    if out is not None:
        write_json_atomic(out, res)
    lines = [f"{'method':10s} {'rel. error':>20s} {'AUC':>18s}"]
    for m in res["summary"]["error"]:
        e, eh = res["summary"]["error"][m]
        a, ah = res["summary"]["auc"][m]
        lines.append(f"{m:10s} {e:10.4f} ± {eh:7.4f} {a:8.3f} ± {ah:6.3f}")
    g = res["gap_closed"]
    lines.append(f"gap (a)->(c) closed by learned F: error {g['error'][0]:.2f} ± {g['error'][1]:.2f}, AUC {g['auc'][0]:.2f} ± {g['auc'][1]:.2f}")
    emit(res, as_json, "\n".join(lines))
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``ecg`` sub-app (adapt, detect, benchmark)."""
    ecg_app.command("adapt")(adapt)
    ecg_app.command("detect")(detect)
    ecg_app.command("benchmark")(benchmark)
    app.add_typer(ecg_app, name="ecg")
