"""``nlvision demo``: build the demo report on embedded data."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Report folder."),
        full: bool = typer.Option(False, "--full", help="Longer runs (closer to the targets in BENCHMARKS.md)."),
        only: list[str] = typer.Option(None, "--only", help="Build only sections whose title contains this."),
    ) -> int:
        """Run every capability on embedded data and write OUT/report.html."""
        from nlvision.report import build_report

        path, failed = build_report(out, quick=not full, only=only)
        typer.echo(f"report written to {path}")
        if failed:
            typer.echo(f"failed sections: {', '.join(failed)}", err=True)
            return 1
        return 0
