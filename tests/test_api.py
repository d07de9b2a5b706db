"""The public API: every area package exports its names with ``__all__``, each fully documented.

Docstrings are checked with numpydoc's own validator (``numpydoc.validate``), the same rules the
API reference build applies. Bug caught: a public function without Parameters/Returns/Examples, a
name listed in ``__all__`` that does not exist, an area package that exports nothing.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

#: Area packages and modules whose ``__all__`` is the public API.
PUBLIC_MODULES = (
    "nlvision.restoration",
    "nlvision.restoration.anomaly",
    "nlvision.restoration.ecg",
    "nlvision.security",
    "nlvision.classify",
    "nlvision.reid",
    "nlvision.pose",
    "nlvision.nn",
    "nlvision.metrics",
    "nlvision.imageio",
    "nlvision.engine",
    "nlvision.datasets",
    "nlvision.limits",
    "nlvision.atomic",
    "nlvision.batch",
)

#: numpydoc checks not enforced (extended summary, See Also, verb mood, blank-line layout,
#: full stops in descriptions); everything else, Examples (EX01) included, is required.
IGNORED_CHECKS = {"ES01", "SA01", "SS05", "GL01", "GL02", "RT02", "PR09", "RT05"}


def _public(module_name: str) -> list[str]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return []
        raise
    return list(getattr(module, "__all__", []))


def _cases():
    for module_name in PUBLIC_MODULES:
        for name in _public(module_name):
            obj = getattr(importlib.import_module(module_name), name, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue  # constants (tables of schemes, configs) are documented by the module
            yield pytest.param(module_name, name, id=f"{module_name}.{name}")


@pytest.mark.parametrize("module_name", [m for m in PUBLIC_MODULES if m.count(".") == 1 or m.endswith("anomaly")])
def test_area_package_exports_all(module_name):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            pytest.skip(f"{module_name} not present")
        raise
    names = getattr(module, "__all__", None)
    assert names, f"{module_name} has no __all__"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{module_name}.__all__ lists undefined names {missing}"
    assert len(set(names)) == len(names), f"{module_name}.__all__ has duplicates"


@pytest.mark.parametrize(("module_name", "name"), list(_cases()))
def test_public_docstring_is_complete(module_name, name):
    obj = getattr(importlib.import_module(module_name), name)
    # validate the object where it is defined: a re-exported name can shadow its own module
    # (``nlvision.security.agreement`` the function vs the module of the same name)
    result = numpydoc_validate.validate(f"{obj.__module__}.{obj.__qualname__}")
    errors = [f"{code}: {msg}" for code, msg in result["errors"] if code not in IGNORED_CHECKS]
    assert not errors, f"{module_name}.{name}:\n" + "\n".join(errors)
