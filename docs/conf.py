"""Sphinx configuration: the API reference, built from the numpydoc docstrings.

The narrative pages (docs/*.md) are read on GitHub; Sphinx builds only the API reference.
Its pages are generated here from each area package's ``__all__`` (so the reference lists
exactly the public API), with numpydoc's validation on: ``make docs`` (warnings are errors)
fails on an incomplete docstring of any public name.
"""

import importlib
import inspect
import shutil
from pathlib import Path

import nlvision

project = "nlvision"
author = "the nlvision developers"
release = version = nlvision.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc"]
exclude_patterns = ["_build", "*.md"]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# The same rules as tests/test_api.py: every check except extended summary, See Also, verb
# mood, blank-line layout and full stops in descriptions.
numpydoc_validation_checks = {"all", "ES01", "SA01", "SS05", "GL01", "GL02", "RT02", "PR09", "RT05"}
# Private names, dunders and the members of classes (methods, dataclass fields): the public
# functions and classes themselves are what must be complete.
numpydoc_validation_exclude = {r"\._[^.]*$", r"\.__\w+__$", r"\.[A-Z]\w*\.\w+$"}
html_theme = "alabaster"
templates_path = ["_templates"]  # class pages list the class's own methods only

#: (page, module, title) of the API reference, in reading order.
API_PAGES = (
    ("restoration", "nlvision.restoration", "Restoration: denoising, noise estimation, sparse coding, inpainting (seed 003)"),
    ("anomaly", "nlvision.restoration.anomaly", "Anomaly detection with sparse models (seed 003)"),
    ("ecg", "nlvision.restoration.ecg", "Heartbeat dictionaries adapted across heart rates (seed 003)"),
    ("security", "nlvision.security", "Visual security of perceptually encrypted images (seed 004)"),
    ("classify", "nlvision.classify", "Image classification with ResNets (seed 001)"),
    ("reid", "nlvision.reid", "Person re-identification with the NFD defense (seed 000)"),
    ("pose", "nlvision.pose", "Pose estimation: stacked hourglass with ACNN attention (seed 002)"),
    ("nn", "nlvision.nn", "Reusable PyTorch blocks"),
    ("engine", "nlvision.engine", "The training engine shared by classify, reid and pose"),
    ("imageio", "nlvision.imageio", "Reading and writing image files"),
    ("metrics", "nlvision.metrics", "Image metrics and the mean ± 95 % CI over seeds"),
    ("datasets", "nlvision.datasets", "Deterministic synthetic data sets (embedded defaults)"),
)


def _write_api_pages() -> None:
    here = Path(__file__).parent / "api"
    shutil.rmtree(here, ignore_errors=True)  # stale stubs of renamed names would warn
    here.mkdir()
    toc = []
    for page, module_name, title in API_PAGES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        names = [n for n in getattr(module, "__all__", []) if inspect.isfunction(getattr(module, n)) or inspect.isclass(getattr(module, n))]
        lines = [title, "=" * len(title), "", f".. automodule:: {module_name}", "   :no-members:", "",
                 f".. currentmodule:: {module_name}", "", ".. autosummary::", "   :toctree: generated",
                 "   :nosignatures:", ""] + [f"   {n}" for n in names]
        (here / f"{page}.rst").write_text("\n".join(lines) + "\n")
        toc.append(f"   {page}")
    (here / "index.rst").write_text("API reference\n=============\n\n.. toctree::\n   :maxdepth: 1\n\n" + "\n".join(toc) + "\n")


_write_api_pages()
