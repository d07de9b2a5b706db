"""The demo report: one HTML page with PNG figures, one section per capability.

Each area has a section module in this package (``denoise``, ``sparse``, ``csc``, ``anomaly``,
``ecg``, ``security``, ``classify``, ``reid``, ``pose``) with a builder ``build(out_dir: Path, quick: bool) -> Section``;
the algorithm packages hold no report code. The report is assembled here and written atomically.
"""

from __future__ import annotations

import html
import importlib
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nlvision._extras import missing_extra_message
from nlvision.atomic import write_text_atomic
from nlvision.report.base import _STYLE, Section, figure_html, html_table

__all__ = ["SECTIONS", "Section", "SectionRun", "build_report", "figure_html", "html_table"]

#: (title, "module:function") of every section, in report order.
SECTIONS = (
    ("Denoising (sliding DCT)", "nlvision.report.denoise:build"),
    ("Sparse coding, inpainting and dictionaries", "nlvision.report.sparse:build"),
    ("Sparse denoising: global CSC vs aggregated patches", "nlvision.report.csc:build"),
    ("Anomaly detection", "nlvision.report.anomaly:build"),
    ("ECG monitoring: heart-rate dictionary adaptation", "nlvision.report.ecg:build"),
    ("Visual security of encrypted images", "nlvision.report.security:build"),
    ("Image classification (ResNet)", "nlvision.report.classify:build"),
    ("Person re-identification under attack (NFD)", "nlvision.report.reid:build"),
    ("Pose estimation (ACNN)", "nlvision.report.pose:build"),
)


@dataclass
class SectionRun:
    """How one section of the report went.

    Parameters
    ----------
    title : str
        Section heading.
    status : {"ok", "failed", "skipped"}
        ``skipped`` when the section needs an extra that is not installed.
    seconds : float
        Wall time spent on the section.
    summary : dict
        The section's key numbers (empty unless ``status == "ok"``).
    message : str
        Why a section failed or was skipped.
    """

    title: str
    status: str
    seconds: float
    summary: dict = field(default_factory=dict)
    message: str = ""


def build_report(
    out_dir: str | Path,
    *,
    quick: bool = True,
    only: list[str] | None = None,
    progress: Callable[[SectionRun], None] | None = None,
) -> tuple[Path, list[SectionRun]]:
    """Run every section builder and write ``out_dir/report.html``.

    Parameters
    ----------
    out_dir : str or Path
        Report folder (created if missing); figures and run folders go inside it.
    quick : bool, default True
        Short runs (about a minute per deep-learning section); ``False`` runs longer.
    only : list of str, optional
        Build only the sections whose title or module contains one of these strings
        (case-insensitive).
    progress : callable, optional
        Called with each :class:`SectionRun` as soon as its section is done.

    Returns
    -------
    path : Path
        The written ``report.html``.
    runs : list of SectionRun
        One entry per selected section, in report order.

    Raises
    ------
    ValueError
        If ``only`` selects no section.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     build_report(d, only=["no such section"])
    Traceback (most recent call last):
    ...
    ValueError: --only no such section: no section matches; sections are ...
    """
    selected = [
        (title, target) for title, target in SECTIONS
        if not only or any(key.lower() in title.lower() or key.lower() in target for key in only)
    ]
    if not selected:
        names = "; ".join(title for title, _ in SECTIONS)
        raise ValueError(f"--only {' '.join(only or [])}: no section matches; sections are {names}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts, runs = [], []
    for title, target in selected:
        module_name, func_name = target.split(":")
        start = time.perf_counter()
        summary, message = {}, ""
        try:
            module = importlib.import_module(module_name)
            section = getattr(module, func_name)(out, quick)
            body, summary, status = section.html, dict(section.summary), "ok"
        except ModuleNotFoundError as exc:
            message = missing_extra_message(exc.name)
            if message is None:
                raise
            status = "skipped"
            body = f'<p class="note">Skipped: {html.escape(message)}.</p>'
        except Exception as exc:  # a failing section must not hide the others
            status, message = "failed", f"{type(exc).__name__}: {exc}"
            body = f'<div class="error">This section failed: {html.escape(repr(exc))}<pre>{html.escape(traceback.format_exc())}</pre></div>'
        run = SectionRun(title, status, time.perf_counter() - start, summary, message)
        runs.append(run)
        if progress is not None:
            progress(run)
        parts.append(f"<h2>{html.escape(title)}</h2>\n{body}\n<p class='note'>Section built in {run.seconds:.1f} s.</p>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>nlvision demo report</title>"
        f"<style>{_STYLE}</style></head><body><h1>nlvision demo report</h1>"
        "<p class='note'>Every result below was computed by <code>nlvision demo</code> on embedded, offline data "
        "(scikit-image's bundled images, scikit-learn's digits, nlvision's synthetic generators). "
        "Synthetic results are labelled as such.</p>" + "\n".join(parts) + "</body></html>"
    )
    return write_text_atomic(out / "report.html", page), runs
