"""Rebuild BENCHMARKS.md: its hand-written preamble (everything before the first area section)
followed by every ``benchmarks/results/<area>.md``, headings moved one level down.

    python benchmarks/make_benchmarks_md.py
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TARGET = ROOT / "BENCHMARKS.md"
ORDER = ("install", "restoration_dct", "restoration_sparse", "restoration_anomaly", "security", "classify", "reid", "pose")


def main() -> None:
    text = TARGET.read_text()
    cuts = [i for i in (text.find(f"\n## {name}") for name in ORDER) if i >= 0]
    if not cuts:
        raise SystemExit(f"{TARGET}: no area section (## <area>) to cut at")
    cut = min(cuts)
    parts = [text[: cut + 1].rstrip() + "\n"]
    names = [n for n in ORDER if (RESULTS / f"{n}.md").is_file()]
    names += sorted(p.stem for p in RESULTS.glob("*.md") if p.stem not in ORDER)
    for name in names:
        lines, in_code = [], False
        for line in (RESULTS / f"{name}.md").read_text().splitlines():
            if line.startswith("```"):
                in_code = not in_code
            lines.append("#" + line if not in_code and re.match(r"#+ ", line) else line)
        body = "\n".join(lines).rstrip()
        for asset in RESULTS.iterdir():  # figures and data files referenced by bare name
            if asset.suffix != ".md":
                body = body.replace(f"`{asset.name}`", f"`benchmarks/results/{asset.name}`")
        parts.append(body + f"\n\n_Source: `benchmarks/results/{name}.md`._\n")
    tmp = TARGET.with_suffix(".md.tmp")
    tmp.write_text("\n\n".join(parts))
    tmp.replace(TARGET)
    print(f"wrote {TARGET} ({len(names)} sections)")


if __name__ == "__main__":
    main()
