"""The ``nlvision`` command line: one app, ``nlvision <area> <verb>``.

Each area contributes a module in :mod:`nlvision.cli` with a ``register(app)`` function that adds
its commands. Commands are thin: they parse options, call the library and print the result.
Heavy libraries (torch, scikit-learn) are imported inside the commands so ``--help`` is fast.

Errors: ``ValueError``/``TypeError``/``OSError`` raised by the library become one line on
stderr and exit code 2 — never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click
import typer

#: Modules of :mod:`nlvision.cli` that register commands, in help order.
COMMAND_MODULES = (
    "denoise",  # denoise, noise estimate/add            (restoration, DCT)
    "sparse",  # dictionary, inpaint, mask, src          (restoration, sparse coding)
    "anomaly",  # anomaly fit/detect/benchmark           (restoration, anomaly detection)
    "security",  # encrypt, vsi score/ladder/evaluate    (security)
    "classify",  # classify train/evaluate/predict       (classify)
    "reid",  # reid train/evaluate/robustness/rank       (reid)
    "pose",  # pose train/evaluate/predict               (pose)
    "demo",  # demo report                               (report)
)


def build_app() -> typer.Typer:
    """Create the Typer app with every available command module registered."""
    app = typer.Typer(
        name="nlvision",
        help="Non-local and sparse modelling for computer vision.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """Non-local and sparse modelling for computer vision."""
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"nlvision.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"nlvision.cli.{name}":
                continue  # area not installed in this build
            raise
        module.register(app)
    return app


def fail(message: str) -> None:
    """Raise a one-line user error (exit code 2)."""
    raise ValueError(message)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nlvision`` console script; returns the exit code."""
    command = typer.main.get_command(build_app())
    try:
        result = command.main(args=argv, prog_name="nlvision", standalone_mode=False)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except (ValueError, TypeError, OSError, KeyError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyError):
            message = f"missing key {message}"
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
