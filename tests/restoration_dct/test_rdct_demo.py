"""The demo section (slow: it runs every experiment of the section)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_demo_section_builds(tmp_path):
    from nlvision.report.denoise import build

    section = build(tmp_path, True)
    for name in section.figures:
        assert (tmp_path / name).stat().st_size > 1000
    assert "<table>" in section.html
    # camera, sigma = 20/255, uniform 3 sigma: the issue's ~29.9 dB
    assert section.summary["camera uniform 3sigma PSNR"] == pytest.approx(29.9, abs=0.3)
