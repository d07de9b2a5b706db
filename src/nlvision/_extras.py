"""Optional dependencies: which pip extra installs which third-party module."""

from __future__ import annotations

import importlib.util

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


def missing_extra_message(module_name: str | None) -> str | None:
    """One-line hint naming the extra that installs ``module_name``, or None if it is not optional."""
    top = (module_name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    return f"this command needs the [{extra}] extra ({top} is not installed): pip install 'nlvision[{extra}]'"


def require(module_name: str) -> None:
    """Raise ``ModuleNotFoundError`` with the install hint if the optional ``module_name`` is absent."""
    if importlib.util.find_spec(module_name) is None:
        raise ModuleNotFoundError(missing_extra_message(module_name) or f"{module_name} is not installed", name=module_name)
