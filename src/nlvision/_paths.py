"""Containment of data-set paths: the one check every reader uses before it opens a file an
annotation or a score sheet names (issue #14: no ``..`` or absolute paths out of the data root)."""

from __future__ import annotations

from pathlib import Path


def resolves_inside(path: Path, root: Path) -> bool:
    """True when ``path`` (symbolic links and ``..`` resolved) is ``root`` or lies below it."""
    resolved, top = Path(path).resolve(), Path(root).resolve()
    return resolved == top or top in resolved.parents
