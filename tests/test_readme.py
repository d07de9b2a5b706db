"""Every ``nlvision ...`` command shown in README.md parses against today's CLI.

Bug caught: a renamed command or option (e.g. a positional OUT turned into ``-o/--out``) left
stale in the README's tour. Commands are parsed (``make_context``), not run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from nlvision.cli import build_app

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [ln.split("  #")[0].strip() for block in blocks for ln in block.splitlines()]
    return [ln for ln in lines if ln.startswith("nlvision ")]


def test_readme_has_commands():
    assert len(_readme_commands()) >= 20


@pytest.mark.parametrize("line", _readme_commands())
def test_readme_command_parses(line):
    command = typer.main.get_command(build_app())
    args = shlex.split(line)[1:]
    while hasattr(command, "commands"):
        assert args and args[0] in command.commands, f"{line}: unknown command {args[:1]}"
        command = command.commands[args.pop(0)]
    command.make_context(command.name, args)  # raises on an unknown option or a missing argument


def _readme_python_imports() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    pairs = []
    for block in blocks:
        for module, names in re.findall(r"^from (nlvision[\w.]*) import ([\w, ]+)$", block, flags=re.M):
            pairs += [(module, n.strip()) for n in names.split(",") if n.strip()]
    return pairs


@pytest.mark.parametrize(("module", "name"), _readme_python_imports())
def test_readme_names_are_public(module, name):
    """Bug caught: the tour imports a name its area package does not export (or exports without __all__)."""
    import importlib

    package = importlib.import_module(module)
    assert name in getattr(package, "__all__", []), f"{module}.__all__ lacks {name}"
