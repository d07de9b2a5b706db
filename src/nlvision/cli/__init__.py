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

import typer

from nlvision import __version__, limits
from nlvision._extras import missing_extra_message

#: Modules of :mod:`nlvision.cli` that register commands, in help order.
COMMAND_MODULES = (
    "denoise",  # denoise, noise estimate/add            (restoration, DCT)
    "sparse",  # dictionary, inpaint, mask, src          (restoration, sparse coding)
    "anomaly",  # anomaly fit/detect/benchmark           (restoration, anomaly detection)
    "security",  # encrypt, vsi score/ladder/evaluate    (security)
    "classify",  # classify train/evaluate/predict       (classify)
    "reid",  # reid train/evaluate/predict/extract/study/rank (reid)
    "pose",  # pose train/evaluate/predict               (pose)
    "ecg",  # ecg adapt/detect/benchmark                 (restoration, ECG domain adaptation)
    "demo",  # demo report                               (report)
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nlvision {__version__}")
        raise typer.Exit()


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
    def _root(
        version: bool = typer.Option(
            False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ) -> None:
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


def _cli_exception_types(command) -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(usage-error types, abort types) of the click that ``command`` was built with.

    Recent typer releases vendor click as ``typer._click``; older ones use the ``click``
    package. The exception classes are taken from the module the command class comes from,
    so nlvision neither imports nor depends on ``click`` itself.
    """
    core = next(c.__module__ for c in type(command).__mro__ if c.__module__.endswith("click.core"))
    exceptions = importlib.import_module(core[: -len("core")] + "exceptions")  # typer._click or click
    return (exceptions.ClickException,), (getattr(exceptions, "Abort", typer.Abort), typer.Abort)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nlvision`` console script; returns the exit code."""
    command = typer.main.get_command(build_app())
    usage_errors, aborts = _cli_exception_types(command)
    saved = limits.settings()  # --max-pixels / --range apply to this invocation only
    try:
        result = command.main(args=argv, prog_name="nlvision", standalone_mode=False)
    except aborts:
        print("aborted", file=sys.stderr)
        return 130
    except usage_errors as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # prints the help page
            return 0
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2) or 2)
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: {_first_line(exc)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        hint = missing_extra_message(exc.name)
        if hint is None:
            raise
        print(f"error: {hint}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"error: missing key {_first_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        print(f"error: out of memory ({_first_line(exc)}); try a smaller input or --max-pixels", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        limits.apply_settings(saved)
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
