"""The demo-report section (about a minute: marked slow)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_demo_section_builds(tmp_path):
    from PIL import Image

    from nlvision.report.classify import build

    section = build(tmp_path, quick=True)
    assert section.figures == ["classify_digits_confusion.png"]
    with Image.open(tmp_path / section.figures[0]) as im:
        assert im.format == "PNG"
    assert 0.9 <= section.summary["digits_test_accuracy"] <= 1.0
    assert "confusion" in section.html
