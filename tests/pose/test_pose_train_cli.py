"""Three-phase training, checkpoints and the ``nlvision pose`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nlvision.cli import main
from nlvision.nn.hourglass import HourglassConfig, StackedHourglass
from nlvision.pose.train import PoseModule, PoseTrainConfig, phase_schedule, stage_loss

TINY = ["--stacks", "2", "--channels", "8", "--input-size", "64", "--n-train", "12", "--n-valid", "6",
        "--epoch-scale", "0.005", "--batch-size", "6", "--no-progress", "--accelerator", "cpu"]


def test_phase_schedule_is_the_seeds():
    assert phase_schedule("A") == phase_schedule("A", 1.0)
    a, b, c = phase_schedule("A"), phase_schedule("B"), phase_schedule("C")
    assert (a.epochs, a.lr, a.milestones) == (200, 5e-4, (120, 170))
    assert (b.epochs, b.lr, b.milestones) == (200, 2.5e-4, (120, 170))
    assert (c.epochs, c.lr, c.milestones) == (100, 2.5e-4, (50, 70))
    half = phase_schedule("C", 0.5)
    assert (half.epochs, half.milestones) == (50, (25, 35))
    with pytest.raises(ValueError, match="phase"):
        phase_schedule("D")
    with pytest.raises(ValueError, match="epoch_scale"):
        phase_schedule("A", 0)
    fast = phase_schedule("A", 0.05, lr_scale=4.0)
    assert (fast.epochs, fast.lr, fast.milestones) == (10, 2e-3, (6, 8))
    with pytest.raises(ValueError, match="lr_scale"):
        phase_schedule("A", 1.0, lr_scale=-1.0)


def test_stage_loss_is_mse_summed_over_stages():
    pred = torch.zeros(2, 3, 1, 2, 2)
    pred[:, 1] = 1.0
    pred[:, 2] = 2.0
    target = torch.zeros(2, 1, 2, 2)
    # stage MSEs 0, 1, 4
    assert float(stage_loss(pred, target)) == pytest.approx(5.0)
    ref = sum(torch.nn.functional.mse_loss(pred[:, i], target) for i in range(3))
    assert float(stage_loss(pred, target)) == pytest.approx(float(ref))


def _tiny_model(attention=True):
    torch.manual_seed(0)
    return StackedHourglass(HourglassConfig(num_stacks=2, channels=8, depth=2, input_size=32, attention=attention))


def test_phases_freeze_the_right_parameters():
    m = _tiny_model()
    mask = {id(p) for p in m.mask_parameters()}
    a = PoseModule(m, "A", phase_schedule("A"))
    assert not m.attention_active
    assert {id(p) for p in a.trainable_parameters()} == {id(p) for p in m.parameters()} - mask
    b = PoseModule(m, "B", phase_schedule("B"))
    assert m.attention_active and {id(p) for p in b.trainable_parameters()} == mask
    c = PoseModule(m, "C", phase_schedule("C"))
    assert len(c.trainable_parameters()) == len(list(m.parameters()))
    plain = _tiny_model(attention=False)
    pb = PoseModule(plain, "B", phase_schedule("B"))
    assert len(pb.trainable_parameters()) == len(list(plain.parameters()))
    opt = c.configure_optimizers()["optimizer"]
    assert isinstance(opt, torch.optim.RMSprop) and opt.param_groups[0]["lr"] == 2.5e-4


def test_phase_b_gradients_reach_only_the_masks():
    m = _tiny_model()
    mod = PoseModule(m, "B", phase_schedule("B"))
    out = m(torch.randn(2, 3, 32, 32))
    stage_loss(out.predictions, torch.rand(2, 16, 8, 8)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.mask_parameters())
    assert all(p.grad is None for p in m.heatmap_parameters())
    assert mod.phase == "B"


def test_training_reduces_the_loss():
    torch.manual_seed(0)
    m = _tiny_model(attention=False)
    x = torch.randn(4, 3, 32, 32)
    g = torch.zeros(4, 16, 8, 8)
    g[:, :, 3, 4] = 1.0
    opt = torch.optim.RMSprop(m.parameters(), lr=5e-4)
    first = None
    for _ in range(25):
        loss = stage_loss(m(x).predictions, g)
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * first


def test_config_bad_values():
    with pytest.raises(ValueError, match="--phase"):
        PoseTrainConfig(phase="D").validate()
    with pytest.raises(ValueError, match="--data"):
        PoseTrainConfig(data="coco").validate()
    with pytest.raises(ValueError, match="--n-train"):
        PoseTrainConfig(n_train=0).validate()
    with pytest.raises(ValueError, match="input_size"):
        PoseTrainConfig(input_size=100).validate()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pose") / "run"
    rc = main(["pose", "train", *TINY, "--out", str(out)])
    assert rc == 0
    return out


def test_train_writes_a_resumable_run(tiny_run, capsys):
    out = tiny_run
    for name in ("model.safetensors", "metrics.json", "pose_run.json"):
        assert (out / name).is_file()
    for phase in "ABC":
        assert (out / f"phase_{phase}" / "checkpoints" / "last.ckpt").is_file()
        assert (out / f"phase_{phase}" / "done.json").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["metrics"]) == {"pckh@0.5", "pckh@0.1"} and metrics["synthetic"]
    # Resume: every phase is done, so nothing is retrained and the run finishes.
    mtime = (out / "phase_A" / "model.safetensors").stat().st_mtime
    assert main(["pose", "train", *TINY, "--out", str(out), "--resume", "--json"]) == 0
    assert (out / "phase_A" / "model.safetensors").stat().st_mtime == mtime
    assert json.loads(capsys.readouterr().out)["phases"][0]["skipped"]
    # Resume with another configuration is refused.
    bad = ["--stacks", "3", *TINY[2:]]
    assert main(["pose", "train", *bad, "--out", str(out), "--resume"]) == 2
    assert "another configuration" in capsys.readouterr().err


def test_evaluate_and_predict(tiny_run, tmp_path, capsys):
    from nlvision.datasets.synthetic_figures import SyntheticFigureConfig, SyntheticFigures
    from nlvision.imageio import save_image

    assert main(["pose", "evaluate", str(tiny_run), "--n", "6", "--flip", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["n"] == 6 and rec["synthetic"] and 0 <= rec["metrics"]["pckh@0.5"]["table"]["Mean"] <= 100
    img = tmp_path / "fig.png"
    save_image(img, SyntheticFigures(1, seed=3, config=SyntheticFigureConfig(image_size=80))[0].image)
    out_png, masks_png = tmp_path / "skel.png", tmp_path / "masks.png"
    rc = main(["pose", "predict", str(tiny_run / "model.safetensors"), str(img), "-o", str(out_png), "--masks", str(masks_png), "--json"])
    assert rc == 0
    rec = json.loads(capsys.readouterr().out)
    assert len(rec["joints"]) == 16 and out_png.stat().st_size > 0 and masks_png.stat().st_size > 0
    xs = np.array([v["x"] for v in rec["joints"].values()])
    assert np.isfinite(xs).all()


def test_cli_bad_inputs(tiny_run, tmp_path, capsys):
    from nlvision.nn.weights import save_checkpoint

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    out = tmp_path / "never.png"
    assert main(["pose", "predict", str(tiny_run), str(broken), "-o", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.png" in err
    # A checkpoint of another task, and one whose weights do not match its configuration.
    other = tmp_path / "other.safetensors"
    save_checkpoint(other, torch.nn.Linear(2, 2), task="classify", config={})
    assert main(["pose", "evaluate", str(other)]) == 2
    assert "task 'classify'" in capsys.readouterr().err
    mismatch = tmp_path / "mismatch.safetensors"
    cfg = HourglassConfig(num_stacks=2, channels=8, input_size=64).to_dict()
    cfg["num_stacks"] = 3
    save_checkpoint(mismatch, StackedHourglass(HourglassConfig(num_stacks=2, channels=8, input_size=64)), task="pose", config=cfg)
    assert main(["pose", "evaluate", str(mismatch)]) == 2
    assert "missing key" in capsys.readouterr().err
    assert main(["pose", "train", "--phase", "D", "--out", str(tmp_path / "r")]) == 2
    assert "--phase" in capsys.readouterr().err
    assert main(["pose", "train", "--lr-scale", "0", "--out", str(tmp_path / "r")]) == 2
    assert "lr_scale" in capsys.readouterr().err
    assert main(["pose", "train", "--data", f"mpii:{tmp_path / 'nowhere'}", "--out", str(tmp_path / "r")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["pose", "predict", str(tiny_run), str(broken), "--center", "1"]) == 2
    assert "--center" in capsys.readouterr().err
    assert main(["pose", "predict", str(tiny_run), str(broken), "-o", str(tmp_path / "x.jpg")]) == 2
    # An MPII folder whose annotation misses a field.
    (tmp_path / "mpii" / "annot").mkdir(parents=True)
    (tmp_path / "mpii" / "images").mkdir()
    (tmp_path / "mpii" / "annot" / "train.json").write_text(json.dumps([{"image": "a.jpg", "joints": [[1, 1]] * 16}]))
    (tmp_path / "mpii" / "annot" / "valid.json").write_text("[]")
    capsys.readouterr()
    assert main(["pose", "train", "--data", f"mpii:{tmp_path / 'mpii'}", *TINY, "--out", str(tmp_path / "r2")]) == 2
    assert "missing field(s)" in capsys.readouterr().err
