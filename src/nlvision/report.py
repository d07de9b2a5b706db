"""The demo report: one HTML page with PNG figures, one section per capability.

Each area provides a section builder ``build(out_dir: Path, quick: bool) -> Section`` in the
module named in :data:`SECTIONS`. The report is assembled here and written atomically.
"""

from __future__ import annotations

import html
import importlib
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from nlvision.atomic import write_text_atomic

#: (title, "module:function") of every section, in report order.
SECTIONS = (
    ("Denoising (sliding DCT)", "nlvision.restoration.demo_denoise:build"),
    ("Sparse coding, inpainting and dictionaries", "nlvision.restoration.demo_sparse:build"),
    ("Anomaly detection", "nlvision.restoration.demo_anomaly:build"),
    ("Visual security of encrypted images", "nlvision.security.demo:build"),
    ("Image classification (ResNet)", "nlvision.classify.demo:build"),
    ("Person re-identification under attack (NFD)", "nlvision.reid.demo:build"),
    ("Pose estimation (ACNN)", "nlvision.pose.demo:build"),
)


@dataclass
class Section:
    """One report section.

    Attributes
    ----------
    title : str
        Heading.
    html : str
        Body HTML (tables, paragraphs); figures are referenced by file name relative to the
        report folder.
    figures : list of str
        PNG files the section wrote into the report folder.
    summary : dict
        Key numbers, also printed on the terminal.
    """

    title: str
    html: str
    figures: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def html_table(header: list[str], rows: list[list[object]], floatfmt: str = "{:.2f}") -> str:
    """Render a simple HTML table; floats are formatted with ``floatfmt``.

    Examples
    --------
    >>> html_table(["a"], [[1.234]])
    '<table><tr><th>a</th></tr><tr><td>1.23</td></tr></table>'
    """
    def cell(v: object) -> str:
        return html.escape(floatfmt.format(v) if isinstance(v, float) else str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def figure_html(name: str, caption: str) -> str:
    """An <img> with a caption, for a PNG written into the report folder."""
    return f'<figure><img src="{html.escape(name)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}figure{display:inline-block;margin:0.5em}img{max-width:100%}
.error{background:#fee;border:1px solid #c00;padding:0.5em}.note{color:#555;font-size:90%}
"""


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
