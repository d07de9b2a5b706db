"""Optional third-party imports of the ECG package (the ``[ecg]`` extra)."""

from __future__ import annotations

import importlib
from typing import Any


def need(module: str) -> Any:
    """Import ``module`` (``wfdb`` or ``neurokit2``) or raise a one-line ImportError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{module} is missing: ECG support needs the [ecg] extra: pip install 'nlvision[ecg]'") from None
