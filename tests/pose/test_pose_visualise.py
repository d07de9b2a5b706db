"""Figures: skeleton, heatmaps, attention masks with discarded regions in black (seed Fig. 6)."""

from __future__ import annotations

import numpy as np
import pytest

from nlvision.pose.visualise import attention_figure, heatmaps_figure, masked_views, skeleton_figure


def test_masked_views_blacks_out_discarded_regions():
    img = np.full((8, 8, 3), 0.5)
    masks = np.array([[[0.9, 0.2], [0.6, 0.49]], [[1.0, 1.0], [1.0, 1.0]]])
    v = masked_views(img, masks, threshold=0.5)
    assert v.shape == (2, 8, 8, 3)
    assert (v[0, :4, :4] == 0.5).all() and (v[0, :4, 4:] == 0).all()
    assert (v[0, 4:, :4] == 0.5).all() and (v[0, 4:, 4:] == 0).all()  # 0.49 < 0.5 → discarded
    assert (v[1] == 0.5).all()


def test_figures_are_written(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    img = rng.random((32, 32, 3))
    joints = rng.uniform(2, 30, size=(16, 2))
    p1 = skeleton_figure(img, joints, tmp_path / "s.png", title="t")
    p2 = heatmaps_figure(img, rng.random((16, 8, 8)), tmp_path / "h.png")
    p3 = attention_figure([img, img], rng.random((2, 3, 8, 8)), tmp_path / "a.png")
    for p in (p1, p2, p3):
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 50


def test_visualise_bad_inputs(tmp_path):
    img = np.zeros((32, 32, 3))
    with pytest.raises(ValueError, match="joints"):
        skeleton_figure(img, np.zeros((14, 2)), tmp_path / "s.png")
    with pytest.raises(ValueError, match="heatmaps"):
        heatmaps_figure(img, np.zeros((15, 8, 8)), tmp_path / "h.png")
    with pytest.raises(ValueError, match="masks"):
        attention_figure([img], np.zeros((2, 1, 8, 8)), tmp_path / "a.png")
    with pytest.raises(ValueError, match="no attention mask"):
        attention_figure([img], np.zeros((1, 0, 8, 8)), tmp_path / "a.png")
    with pytest.raises(ValueError, match="does not divide"):
        masked_views(img, np.zeros((1, 5, 5)))
    assert not (tmp_path / "s.png").exists() and not (tmp_path / "a.png").exists()
