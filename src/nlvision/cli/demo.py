"""``nlvision demo``: build the demo report on embedded data, one progress line per section."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import check_output_folder, emit
from nlvision.report import SectionRun, build_report


def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Report folder (report.html and figures)."),
    full: bool = typer.Option(False, "--full", help="Longer runs (closer to the targets in BENCHMARKS.md)."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Build only sections whose title contains this (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the sections' status, times and key numbers as JSON."),
) -> int:
    """Run every capability on embedded data and write OUT/report.html.

    One line per section is printed on stderr as it finishes (title, status, seconds).
    Exit code 1 when a section failed; sections that need an extra that is not installed are
    skipped and say which extra.
    """

    def show(run: SectionRun) -> None:
        note = f" ({run.message})" if run.message else ""
        typer.echo(f"[{run.status:>7}] {run.title}: {run.seconds:.1f} s{note}", err=True)

    check_output_folder(out)
    path, runs = build_report(out, quick=not full, only=only, progress=show)
    failed = [r.title for r in runs if r.status == "failed"]
    result = {"report": str(path), "sections": [asdict(r) for r in runs], "failed": failed}
    emit(result, as_json, text=f"report written to {path}")
    if failed:
        typer.echo(f"failed sections: {', '.join(failed)}", err=True)
        return 1
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""
    app.command("demo")(demo)
