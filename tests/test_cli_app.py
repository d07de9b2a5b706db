"""The ``nlvision`` app: help, unknown commands, one-line errors with exit code 2."""

from __future__ import annotations

import numpy as np
import pytest

from nlvision.cli import build_app, main

def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "denoise" in out and "noise" in out


def test_build_app_registers_denoise():
    import typer

    names = {c.name for c in typer.main.get_command(build_app()).commands.values()}
    assert {"denoise", "noise"} <= names


def test_unknown_command_and_option_exit_2(capsys):
    assert main(["no-such-command"]) == 2
    assert main(["denoise", "--no-such-option"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: No such command 'no-such-command'.", "error: No such option: --no-such-option"]


def test_missing_argument_exit_2(capsys):
    assert main(["noise", "add"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n broken", b"plain text"])
def test_non_image_one_line_error(tmp_path, capsys, content):
    bad = tmp_path / "in.png"
    bad.write_bytes(content)
    out = tmp_path / "out.png"
    assert main(["denoise", str(bad), "-o", str(out), "--sigma", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "in.png" in err[0]
    assert not out.exists()


def test_library_errors_become_one_line(tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(path)
    out = tmp_path / "out.png"
    assert main(["denoise", str(path), "-o", str(out), "--sigma", "10"]) == 2  # 4x4 < 8x8 patch
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "patch" in err[0]
    assert not out.exists()
    assert main(["denoise", str(path), "-o", str(tmp_path / "out.xyz"), "--sigma", "10", "--patch", "2"]) == 2
    assert "extension" in capsys.readouterr().err
    assert not (tmp_path / "out.xyz").exists()


def test_version_matches_package(capsys):
    import nlvision

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nlvision {nlvision.__version__}"


def test_cli_runs_without_click_installed():
    """Bug caught: ``import click`` in the CLI (typer vendors click; the wheel does not declare it)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['click'] = None\n"  # any `import click` now raises ModuleNotFoundError
        "from nlvision.cli import main\n"
        "sys.exit(main(['denoise', '--no-such-option']))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == "error: No such option: --no-such-option"


def test_missing_extra_names_it(monkeypatch, capsys, tmp_path):
    """Bug caught: a deep-learning command without [train] ends in a ModuleNotFoundError traceback."""
    import sys

    monkeypatch.setitem(sys.modules, "pytorch_lightning", None)
    code = main(["classify", "train", "--data", "digits", "--epochs", "1", "-o", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and "pip install 'nlvision[train]'" in err[0], err
    assert not (tmp_path / "run").exists()


def test_size_and_range_options_do_not_leak(tmp_path, capsys):
    """Bug caught: ``--max-pixels``/``--range`` set process-wide state that outlived the command
    (later library calls in the same process refused normal images or rescaled them)."""
    from nlvision import limits
    from nlvision.imageio import get_default_range

    before = limits.settings()
    img = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(img)
    main(["noise", "estimate", str(img), "--max-pixels", "100", "--range", "0,255"])
    capsys.readouterr()
    assert limits.settings() == before and get_default_range() == before["value_range"]
    assert limits.max_pixels() > 100


def _leaf_commands():
    import typer

    def walk(c, prefix):
        if hasattr(c, "commands"):
            for n, sub in sorted(c.commands.items()):
                yield from walk(sub, [*prefix, n])
        else:
            yield " ".join(prefix), c

    return list(walk(typer.main.get_command(build_app()), []))


def test_one_cli_convention_on_every_command():
    """Bug caught: a command without --json, an output spelled --output, or a positional OUT."""
    commands = _leaf_commands()
    assert len(commands) >= 30
    for name, command in commands:
        opts = {o for p in command.params for o in getattr(p, "opts", [])}
        arguments = [p.name for p in command.params if p.__class__.__name__.endswith("Argument")]
        assert "--json" in opts, name
        assert "--output" not in opts, name
        assert ("--out" in opts) == ("-o" in opts), name
        assert not [a for a in arguments if a.lower() in ("out", "output", "outdir", "out_dir")], name
