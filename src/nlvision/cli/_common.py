"""Helpers shared by the command modules: output and batch processing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import typer


def emit(result: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``result`` as JSON (``--json``) or as human-readable ``text``."""
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=_jsonable))
    else:
        typer.echo(text if text is not None else _format_plain(result))


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _format_plain(result: Any) -> str:
    if isinstance(result, dict):
        width = max((len(str(k)) for k in result), default=0)
        return "\n".join(f"{str(k).ljust(width)}  {_fmt(v)}" for k, v in result.items())
    return str(result)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def run_batch(
    items: Iterable[Any],
    process: Callable[[Any], Any],
    *,
    label: str = "processing",
    show_progress: bool = True,
) -> tuple[list[tuple[Any, Any]], list[tuple[Any, str]]]:
    """Apply ``process`` to every item; a failing item is reported on stderr and skipped.

    Returns
    -------
    (done, failed)
        ``done`` holds ``(item, result)`` pairs, ``failed`` holds ``(item, message)`` pairs.
        Commands exit with code 1 when ``failed`` is not empty.
    """
    from tqdm import tqdm

    items = list(items)
    done, failed = [], []
    bar = tqdm(items, desc=label, disable=not show_progress or len(items) < 2, file=sys.stderr)
    for item in bar:
        try:
            done.append((item, process(item)))
        except (ValueError, TypeError, OSError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            failed.append((item, message))
            tqdm.write(f"error: {item}: {message}", file=sys.stderr)
    return done, failed
