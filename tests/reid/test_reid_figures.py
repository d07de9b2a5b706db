"""CMC and ranked-list figures, robustness configuration checks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nlvision.reid.robustness import RobustnessConfig, plot_cmc, plot_ranked_list


def test_figures(tmp_path):
    p = plot_cmc({"a": np.linspace(0.2, 1, 20), "b": np.linspace(0.0, 0.5, 20)}, tmp_path / "cmc.png")
    assert Image.open(p).size[0] > 100
    imgs = [np.full((16, 8, 3), v, np.float32) for v in (0.1, 0.5, 0.9)]
    p = plot_ranked_list(imgs[0], imgs, [True, False, True], tmp_path / "rank.png", title="t", distances=[0.1, 0.2, 0.3])
    arr = np.asarray(Image.open(p).convert("RGB"))
    green = ((arr[..., 1] > 150) & (arr[..., 0] < 100)).sum()
    red = ((arr[..., 0] > 200) & (arr[..., 1] < 60)).sum()
    assert green > 0 and red > 0  # true matches green, others red
    with pytest.raises(ValueError, match="matches"):
        plot_ranked_list(imgs[0], imgs, [True], tmp_path / "x.png")


@pytest.mark.parametrize(
    "kw, match",
    [({"rows": ("+CRE",)}, "baseline"), ({"rows": ("baseline", "+XYZ")}, "valid"), ({"attack": "none"}, "attack"),
     ({"epsilon": 0}, "epsilon"), ({"source": "oracle"}, "source"), ({"epochs": 0}, "epochs")],
)
def test_robustness_config_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        RobustnessConfig(**kw).validate()
