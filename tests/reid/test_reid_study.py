"""The robustness study: CI arithmetic, paired gains, grey-box design, determinism; figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nlvision.reid.study import (
    StudyConfig,
    _aggregate,
    format_study,
    mean_ci,
    plot_cmc,
    plot_ranked_list,
    run_study,
    study_result_from_dict,
)

TINY = dict(n_seeds=1, epsilons=(8,), white_box_epsilons=(8,), steps=1, epochs=1, width=4, p=4, k=2,
            synthetic={"num_train_ids": 6, "num_test_ids": 6, "num_cameras": 3, "num_distractors": 2})


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


def test_mean_ci_student_t():
    m, h = mean_ci([70.0, 72.0, 74.0, 76.0])
    # sd = 2.582, t(0.975, 3) = 3.182 (table value), / sqrt(4)
    assert m == 73.0 and h == pytest.approx(3.182446 * 2.5819889 / 2, rel=1e-5)
    assert np.isnan(mean_ci([1.0])[1])


def test_paired_gain_uses_the_same_seeds():
    def met(v):
        return {"mAP": v, "R1": v, "mINP": v, "query_ci": 0.01}

    runs = []
    for seed, (b, d) in enumerate([(0.50, 0.55), (0.30, 0.36), (0.70, 0.74)]):  # baseline varies a lot, gain is steady
        runs.append({"row": "baseline", "seed": seed, "clean": met(b), "grey": {"eps=8": met(b / 2)}})
        runs.append({"row": "+NFD", "seed": seed, "clean": met(d), "grey": {"eps=8": met(d / 2)}})
    t = _aggregate(runs, ["baseline", "+NFD"], "grey", ["eps=8"])
    gain, gain_ci = t[1]["clean"]["gain"], t[1]["clean"]["gain_ci"]
    diffs = np.array([5.0, 6.0, 4.0])
    assert gain == pytest.approx(diffs.mean()) and gain_ci == pytest.approx(4.302653 * diffs.std(ddof=1) / np.sqrt(3), rel=1e-5)
    assert t[1]["clean"]["mAP_ci"] > 5 * gain_ci  # unpaired CI is wide, paired one narrow
    assert t[1]["eps=8"]["gain"] == pytest.approx(diffs.mean() / 2)


def test_share_of_clean_map_kept_is_paired_and_separate_from_the_clean_cost():
    # the defended row is less accurate (clean gain < 0) but keeps 60 % of its own clean mAP where the baseline
    # keeps 40-50 %: catches "kept" computed from the baseline's clean mAP, or unpaired across seeds
    def met(v):
        return {"mAP": v, "R1": v, "mINP": v, "query_ci": 0.01}

    runs = []
    for seed, (b, kb) in enumerate([(0.50, 0.40), (0.80, 0.50), (0.60, 0.45)]):
        runs.append({"row": "baseline", "seed": seed, "clean": met(b), "grey": {"eps=4": met(b * kb)}})
        runs.append({"row": "+RE", "seed": seed, "clean": met(b - 0.1), "grey": {"eps=4": met((b - 0.1) * 0.6)}})
    t = _aggregate(runs, ["baseline", "+RE"], "grey", ["eps=4"])
    assert t[0]["eps=4"]["kept"] == pytest.approx(45.0)
    diffs = np.array([20.0, 10.0, 15.0])
    assert t[1]["eps=4"]["kept_gain"] == pytest.approx(15.0)
    assert t[1]["eps=4"]["kept_gain_ci"] == pytest.approx(4.302653 * diffs.std(ddof=1) / np.sqrt(3), rel=1e-5)
    assert t[1]["clean"]["gain"] == pytest.approx(-10.0)
    assert "kept" not in t[1]["clean"]


@pytest.mark.parametrize(
    "kw, match",
    [({"rows": ("+CRE",)}, "baseline"), ({"rows": ("baseline", "+XYZ")}, "valid"), ({"attack": "none"}, "attack"),
     ({"epsilons": (0.0627,)}, "1/255"), ({"epsilons": (300,)}, "255"), ({"n_seeds": 0}, "n_seeds"),
     ({"source_seed": 1}, "source_seed"), ({"target": "pcb"}, "target"), ({"epochs": 0}, "epochs"),
     ({"cre_fill": "zero"}, "cre_fill"), ({"source_checkpoint": "/nonexistent.safetensors"}, "source_checkpoint")],
)
def test_study_config_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        StudyConfig(**kw).validate()


def test_source_checkpoint_of_another_model_is_refused(tmp_path):
    from nlvision.nn.weights import save_checkpoint
    from nlvision.reid.model import ReidModelConfig, ReidNet

    m = ReidNet(ReidModelConfig(num_classes=3, arch="aligned", backbone="resnet18", width=4, height=64, width_px=32))
    save_checkpoint(tmp_path / "a.safetensors", m, task="reid", config=m.model_config())
    with pytest.raises(ValueError, match="arch=aligned model"):
        run_study(StudyConfig(target="bot", source_checkpoint=str(tmp_path / "a.safetensors"), **TINY), tmp_path / "o")
    assert not (tmp_path / "o").exists()  # nothing trained


def test_study_is_grey_box_and_deterministic(tmp_path):
    cfg = StudyConfig(rows=("baseline", "+CRE+NFD"), **TINY)
    a = run_study(cfg, tmp_path / "a").as_dict()
    b = run_study(cfg, tmp_path / "b").as_dict()
    for r in a["runs"] + b["runs"]:
        r.pop("seconds")
    assert json.dumps(a["runs"], sort_keys=True) == json.dumps(b["runs"], sort_keys=True)  # same command, same numbers
    for key in ("grey_box", "white_box", "source", "chance_mAP"):  # (json: NaN CIs of n = 1 compare equal)
        assert json.dumps(a[key], sort_keys=True) == json.dumps(b[key], sort_keys=True)
    assert "seed 1000" in a["source"]["kind"] and {r["seed"] for r in a["runs"]} == {0}  # the source is no row
    assert (tmp_path / "a" / "source_seed1000" / "model.safetensors").is_file()
    assert 0 < a["chance_mAP"] < 1
    text = format_study(run_study.__globals__["StudyResult"](**{
        "runs": a["runs"], "grey": a["grey_box"], "white": a["white_box"], "chance_map": a["chance_mAP"],
        "source": a["source"], "settings": a["settings"], "seconds": 0.0, "synthetic": True}))
    assert "grey-box" in text and "white-box" in text and "chance mAP" in text and "paired gain" in text
    assert "clean mAP kept" in text
    again = study_result_from_dict(json.loads(json.dumps(a)))  # a saved results.json re-aggregates to the same tables
    assert json.dumps(again.grey, sort_keys=True) == json.dumps(a["grey_box"], sort_keys=True)
