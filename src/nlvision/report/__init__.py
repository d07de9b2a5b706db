"""The demo report: one HTML page with PNG figures, one section per capability.

Each area has a section module in this package (``denoise``, ``sparse``, ``anomaly``, ``security``,
``classify``, ``reid``, ``pose``) with a builder ``build(out_dir: Path, quick: bool) -> Section``;
the algorithm packages hold no report code. The report is assembled here and written atomically.
"""

from __future__ import annotations

import html
import importlib
import time
import traceback
from pathlib import Path

from nlvision.atomic import write_text_atomic
from nlvision.report.base import _STYLE, Section, figure_html, html_table

__all__ = ["SECTIONS", "Section", "build_report", "figure_html", "html_table"]

#: (title, "module:function") of every section, in report order.
SECTIONS = (
    ("Denoising (sliding DCT)", "nlvision.report.denoise:build"),
    ("Sparse coding, inpainting and dictionaries", "nlvision.report.sparse:build"),
    ("Anomaly detection", "nlvision.report.anomaly:build"),
    ("Visual security of encrypted images", "nlvision.report.security:build"),
    ("Image classification (ResNet)", "nlvision.report.classify:build"),
    ("Person re-identification under attack (NFD)", "nlvision.report.reid:build"),
    ("Pose estimation (ACNN)", "nlvision.report.pose:build"),
)


def build_report(out_dir: str | Path, *, quick: bool = True, only: list[str] | None = None) -> tuple[Path, list[str]]:
    """Run every section builder and write ``out_dir/report.html``.

    Returns
    -------
    (path, failed)
        The report path and the titles of sections that failed (shown in the report too).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts, failed = [], []
    for title, target in SECTIONS:
        if only and not any(key.lower() in title.lower() or key.lower() in target for key in only):
            continue
        module_name, func_name = target.split(":")
        start = time.perf_counter()
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # capability not built yet
            raise
        try:
            section = getattr(module, func_name)(out, quick)
            body = section.html
        except Exception as exc:  # a failing section must not hide the others
            failed.append(title)
            body = f'<div class="error">This section failed: {html.escape(repr(exc))}<pre>{html.escape(traceback.format_exc())}</pre></div>'
        seconds = time.perf_counter() - start
        parts.append(f"<h2>{html.escape(title)}</h2>\n{body}\n<p class='note'>Section built in {seconds:.1f} s.</p>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>nlvision demo report</title>"
        f"<style>{_STYLE}</style></head><body><h1>nlvision demo report</h1>"
        "<p class='note'>Every result below was computed by <code>nlvision demo</code> on embedded, offline data "
        "(scikit-image's bundled images, scikit-learn's digits, nlvision's synthetic generators). "
        "Synthetic results are labelled as such.</p>" + "\n".join(parts) + "</body></html>"
    )
    return write_text_atomic(out / "report.html", page), failed
