"""Building blocks of the demo report: a section, an HTML table, a figure reference."""

from __future__ import annotations

import html
from dataclasses import dataclass, field


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

