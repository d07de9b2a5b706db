"""Optional dependencies: which pip extra installs which third-party module, and one error for a missing one."""

from __future__ import annotations

import sys

#: Top-level module name -> the nlvision extra that installs it.
EXTRA_OF_MODULE = {
    "pytorch_lightning": "train",
    "lightning": "train",
    "lightning_fabric": "train",
    "tensorboard": "tensorboard",
    "dask": "scale",
    "distributed": "scale",
    "wfdb": "ecg",
    "neurokit2": "ecg",
    "onnx": "export",
    "onnxruntime": "export",
    "pandas": "security",
    "xlrd": "security",
    "imagecodecs": "security",
}


class MissingExtraError(ImportError, ValueError):
    """An optional dependency (an nlvision extra) is not installed.

    Derives from ``ImportError`` (what it is) and ``ValueError`` (so the command line prints it as
    one line and exits with code 2).

    Parameters
    ----------
    message : str
        ``"<what> needs the [<extra>] extra: pip install 'nlvision[<extra>]'"``.

    Examples
    --------
    >>> isinstance(MissingExtraError("x needs the [train] extra"), ImportError)
    True
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


def missing_extra_message(module_name: str | None, what: str = "this command") -> str | None:
    """One-line hint naming the extra that installs ``module_name``, or None if it is not optional."""
    top = (module_name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    return f"{what} needs the [{extra}] extra: pip install 'nlvision[{extra}]'"


def require_extra(*module_names: str, what: str = "this command"):
    """Import and return the optional modules, or raise :class:`MissingExtraError` naming the extra.

    The first missing module decides the message; a single name returns the module itself.
    """
    modules = []
    for name in module_names:
        try:
            __import__(name)  # the import statement's hook, as a plain `import name` would use
            modules.append(sys.modules[name])
        except ImportError as exc:
            raise MissingExtraError(missing_extra_message(name, what) or f"{what} needs {name}: {exc}") from None
    return modules[0] if len(modules) == 1 else tuple(modules)
