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
