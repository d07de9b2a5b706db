"""Three-phase training, checkpoints and the ``nlvision pose`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nlvision.cli import main
from nlvision.nn.hourglass import HourglassConfig, StackedHourglass
from nlvision.pose import PoseModelConfig, PoseTrainConfig
from nlvision.pose.train import PoseModule, mask_area, phase_schedule, stage_loss

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


def test_mask_area_hand_worked():
    probs = torch.ones(1, 3, 1, 2, 2)
    probs[0, 1] = torch.tensor([[1.0, 0.0], [0.5, 0.5]])  # mean 0.5
    probs[0, 2] = 0.25
    assert float(mask_area(probs)) == pytest.approx(0.75)
    # Background mode: cells where the stage's prediction is confident (≥ 1) are spared; the
    # 5×5 max-pool spreads a joint's confidence over its neighbourhood (here the whole 2×2 map).
    preds = torch.zeros(1, 3, 2, 2, 2)
    assert float(mask_area(probs, preds)) == pytest.approx(0.75)
    preds[0, 0, 1, 0, 0] = 1.0  # stage 1 sees a joint → M(1) is free everywhere nearby
    preds[0, 1, 0, 1, 1] = 0.5  # stage 2 half-confident → M(2) costs half
    assert float(mask_area(probs, preds)) == pytest.approx(0.125)


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
    frozen = PoseModule(m, "C", phase_schedule("C"), train_masks_in_c=False)
    assert m.attention_active and {id(p) for p in frozen.trainable_parameters()} == {id(p) for p in m.parameters()} - mask


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
    with pytest.raises(ValueError, match="--n-train"):
        PoseTrainConfig(n_train=0).validate()
    with pytest.raises(ValueError, match="--mask-penalty"):
        PoseTrainConfig(mask_penalty=-1.0).validate()
    with pytest.raises(ValueError, match="--penalty-mode"):
        PoseTrainConfig(penalty_mode="all").validate()
    with pytest.raises(ValueError, match="input_size"):
        PoseModelConfig(input_size=100).validate()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pose") / "run"
    rc = main(["pose", "train", *TINY, "--mask-penalty", "0.001", "--out", str(out)])
    assert rc == 0
    return out


def test_train_writes_a_resumable_run(tiny_run, capsys):
    out = tiny_run
    for name in ("model.safetensors", "metrics.json", "pose_run.json"):
        assert (out / name).is_file()
    assert not out.with_name(out.name + ".partial").exists()
    for phase in "ABC":
        assert (out / f"phase_{phase}" / "checkpoints" / "last.ckpt").is_file()
        assert (out / f"phase_{phase}" / "done.json").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["metrics"]) == {"pckh@0.5", "pckh@0.1"} and metrics["synthetic"]
    st = metrics["masks"]["stages"][0]
    assert 0 <= st["discarded_figure"] <= 1 and 0 <= st["discarded_background"] <= 1
    assert 0 <= metrics["masks"]["pckh@0.5 masks off"] <= 100
    # Resume: every phase is done, so nothing is retrained and the run finishes.
    mtime = (out / "phase_A" / "model.safetensors").stat().st_mtime
    assert main(["pose", "train", *TINY, "--out", str(out), "--resume", "--json"]) == 0
    assert (out / "phase_A" / "model.safetensors").stat().st_mtime == mtime
    assert json.loads(capsys.readouterr().out)["phases"][0]["skipped"]
    # Resume with another configuration is refused; a new run into a used folder too.
    bad = ["--stacks", "3", *TINY[2:]]
    assert main(["pose", "train", *bad, "--out", str(out), "--resume"]) == 2
    assert "another configuration" in capsys.readouterr().err
    assert main(["pose", "train", *TINY, "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_failed_train_writes_nothing_to_out(tmp_path, capsys, monkeypatch):
    from nlvision import engine

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(engine, "fit", boom)
    out = tmp_path / "run"
    assert main(["pose", "train", *TINY, "--out", str(out)]) == 2
    assert "disk full" in capsys.readouterr().err
    assert not out.exists()
    # Bad data: nothing anywhere.
    assert main(["pose", "train", "--data", f"mpii:{tmp_path / 'nowhere'}", "--out", str(out)]) == 2
    assert not out.exists() and not out.with_name("run.partial").exists()


def _count_forwards(model):
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    return calls


def test_predict_one_forward_pass_per_batch(tiny_run):
    from nlvision.pose import load_pose_model, predict_pose

    model = load_pose_model(tiny_run)
    calls = _count_forwards(model)
    imgs = [np.random.default_rng(i).random((70, 50, 3)) for i in range(5)]
    res = predict_pose(model, imgs, batch_size=8)
    assert len(calls) == 1 and len(res) == 5 and res[0]["joints"].shape == (16, 2)
    calls.clear()
    predict_pose(model, imgs, batch_size=8, flip=True, return_maps=True)
    assert len(calls) == 2
    calls.clear()
    predict_pose(model, imgs, batch_size=2)
    assert len(calls) == 3


def test_evaluate_predict_and_score(tiny_run, tmp_path, capsys):
    from scipy.io import loadmat

    from nlvision.datasets.synthetic_figures import SyntheticFigureConfig, SyntheticFigures
    from nlvision.imageio import save_image

    assert main(["pose", "evaluate", str(tiny_run), "--n", "6", "--flip", "--json", "-o", str(tmp_path / "ev")]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["n"] == 6 and rec["synthetic"] and 0 <= rec["metrics"]["pckh@0.5"]["table"]["Mean"] <= 100
    assert loadmat(tmp_path / "ev" / "pred.mat")["pos_pred_src"].shape == (16, 2, 6)
    folder = tmp_path / "imgs"
    for i in range(3):
        save_image(folder / f"fig{i}.png", SyntheticFigures(3, seed=3, config=SyntheticFigureConfig(image_size=80))[i].image)
    out = tmp_path / "pred"
    rc = main(["pose", "predict", str(tiny_run / "model.safetensors"), str(folder), str(folder / "fig1.png"), "-o", str(out), "--json"])
    assert rc == 0
    rec = json.loads(capsys.readouterr().out)
    assert len(rec["people"]) == 4 and "0-based" in rec["coordinates"]
    xs = np.array([v["x"] for v in rec["people"][0]["joints"].values()])
    assert np.isfinite(xs).all()
    assert main(["pose", "predict", str(tiny_run), str(folder / "fig0.png"), "-o", str(tmp_path / "figs"), "--figures"]) == 0
    assert (tmp_path / "figs" / "0000_fig0_masks.png").stat().st_size > 0
    assert "0-based" in capsys.readouterr().out
    mat = loadmat(out / "pred.mat")["pos_pred_src"]
    assert mat.shape == (16, 2, 4) and np.allclose(mat[:, 0, 0], xs + 1)  # 1-based
    coco = json.loads((out / "keypoints.json").read_text())
    assert len(coco) == 4 and np.allclose(coco[0]["keypoints"][0::3], xs)
    # A glob, and the score command on every predictions layout.
    assert main(["pose", "predict", str(tiny_run), str(folder / "fig*.png"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["people"]) == 3


def _gt_mat(path, n, rng):
    from scipy.io import savemat

    gt = rng.uniform(1, 60, (16, 2, n))
    hb = np.zeros((2, 2, n))
    hb[1] = 10.0
    savemat(path, {"pos_gt_src": gt, "jnt_missing": np.zeros((16, n)), "headboxes_src": hb})
    return gt


def test_score_command_and_bad_predictions(tmp_path, capsys):
    from scipy.io import savemat

    gt = _gt_mat(tmp_path / "gt.mat", 4, np.random.default_rng(0))
    pred = gt.copy()
    pred[:9, 0, :] += 2.0  # 2 px off (head size 0.6·√200 = 8.49 → within 0.5, outside 0.1)
    pred[9:, 0, :] += 5.0  # 5 px off → outside 0.5
    savemat(tmp_path / "pred.mat", {"pos_pred_src": pred})
    assert main(["pose", "score", str(tmp_path / "pred.mat"), str(tmp_path / "gt.mat"), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    t = rec["metrics"]["pckh@0.5"]["table"]
    assert t["Ankle"] == 100.0 and t["Head"] == 0.0 and t["Wrist"] == 0.0 and t["Hip"] == 100.0
    assert rec["metrics"]["pckh@0.1"]["table"]["Mean"] == 0.0
    # The same predictions as COCO-style keypoints (0-based) score identically.
    coco = [{"image_id": i, "keypoints": [v for x, y in (pred[:, :, i] - 1) for v in (x, y, 1)]} for i in range(4)]
    (tmp_path / "k.json").write_text(json.dumps(coco))
    assert main(["pose", "score", str(tmp_path / "k.json"), str(tmp_path / "gt.mat"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["pckh@0.5"]["table"] == t
    # Bad input: one line, exit 2.
    (tmp_path / "bad.json").write_text(json.dumps([{"keypoints": [1.0, 2.0, 1] * 15}] * 4))
    savemat(tmp_path / "nopred.mat", {"preds": pred})
    savemat(tmp_path / "j14.mat", {"pos_pred_src": pred[:14]})
    for bad, msg in (("bad.json", "expected 16 joints, got 15"), ("nopred.mat", "no pos_pred_src"), ("j14.mat", "expected 16 joints, got 14")):
        assert main(["pose", "score", str(tmp_path / bad), str(tmp_path / "gt.mat")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and msg in err, err
    savemat(tmp_path / "n3.mat", {"pos_pred_src": pred[:, :, :3]})
    assert main(["pose", "score", str(tmp_path / "n3.mat"), str(tmp_path / "gt.mat")]) == 2
    assert "3 people, but the ground truth has 4" in capsys.readouterr().err


def test_shipped_mpii_predictions_score_end_to_end(shared_dir, capsys):
    import os
    from pathlib import Path

    path = Path(os.environ.get("NLVISION_SHARED", shared_dir)) / "data" / "mpii" / "detections_our_format.mat"
    if not path.is_file():
        pytest.skip(f"shipped MPII annotations not found at {path}")
    # The file carries Tompson et al.'s predictions in pos_pred_src: all 2,958 people scored.
    assert main(["pose", "score", str(path), str(path), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["n"] == 2958 and rec["border_joints"] == 58
    assert rec["metrics"]["pckh@0.5"]["table"]["Mean"] == pytest.approx(82.34, abs=0.005)


# --- MPII-format fixture: simple-baseline annot/{train,valid}.json + gt_valid.mat + images/ ---------


@pytest.fixture(scope="module")
def mpii_root(tmp_path_factory):
    """A miniature MPII folder in the real published layout, with border joints and a bad record.

    Layout (microsoft/human-pose-estimation.pytorch, ``data/mpii``): ``annot/train.json`` and
    ``annot/valid.json`` (records ``image``, ``joints`` 16×2, ``joints_vis``, ``center``,
    ``scale``; 1-based), ``annot/gt_valid.mat`` (head boxes), ``images/*.jpg``.
    """
    from scipy.io import savemat

    from nlvision.datasets.synthetic_figures import SyntheticFigureConfig, SyntheticFigures
    from nlvision.imageio import save_image

    root = tmp_path_factory.mktemp("mpii")
    (root / "annot").mkdir()
    figs = SyntheticFigures(10, seed=5, config=SyntheticFigureConfig(image_size=96))
    recs, hbs, gts, miss = {"train": [], "valid": []}, [], [], []
    for i in range(10):
        s = figs[i]
        name = f"{i:09d}.jpg"
        save_image(root / "images" / name, s.image)
        joints = s.joints + 1.0  # 1-based MPII pixels
        joints[0] = [0.0, joints[0, 1]]  # r_ankle annotated on the left border (1-based 0)
        if i % 2:
            joints[15] = [joints[15, 0], 0.0]  # l_wrist on the top border
        split = "train" if i < 6 else "valid"
        recs[split].append({"joints_vis": [1] * 16, "joints": joints.tolist(), "image": name, "scale": s.scale,
                            "center": (s.center + 1.0).tolist()})
        if split == "valid":
            gts.append(joints)
            hbs.append(s.headbox + 1.0)
    recs["train"].append({"image": "broken.jpg", "joints": [[1, 1]] * 14, "joints_vis": [1] * 14, "center": [5, 5], "scale": 1.0})
    for split, r in recs.items():
        (root / "annot" / f"{split}.json").write_text(json.dumps(r))
    savemat(root / "annot" / "gt_valid.mat", {"pos_gt_src": np.transpose(np.array(gts), (1, 2, 0)),
                                              "jnt_missing": np.zeros((16, len(gts))),
                                              "headboxes_src": np.transpose(np.array(hbs), (1, 2, 0))})
    return root


def test_mpii_fixture_with_border_joints_trains_and_evaluates(mpii_root, tmp_path, capsys):
    from nlvision.pose import evaluate_pose, load_pose_model, predict_pose, read_gt_valid_mat
    from nlvision.pose.data import load_mpii

    out = tmp_path / "run"
    args = ["--stacks", "2", "--channels", "8", "--input-size", "64", "--epoch-scale", "0.005", "--batch-size", "3",
            "--no-progress", "--accelerator", "cpu"]
    assert main(["pose", "train", "--data", f"mpii:{mpii_root}", *args, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "train annotations: 6 people, 9 annotated joints on the image border (kept), 1 malformed record(s) skipped" in text
    assert main(["pose", "evaluate", str(out), "-o", str(tmp_path / "ev")]) == 0
    text = capsys.readouterr().out
    assert "4 people" in text and "6 annotated joints on the image border" in text
    # The evaluation predictions score the same through `pose score` on its pred.mat.
    assert main(["pose", "score", str(tmp_path / "ev" / "pred.mat"), str(mpii_root / "annot" / "gt_valid.mat"), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)["metrics"]["pckh@0.5"]["table"]["Mean"]
    ev = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert scored == pytest.approx(ev["metrics"]["pckh@0.5"]["table"]["Mean"])
    assert read_gt_valid_mat(mpii_root / "annot" / "gt_valid.mat").border_joints == 6
    # predict (standard MPII crop from the person's centre and scale) = evaluate, person by person.
    model = load_pose_model(out)
    res = evaluate_pose(model, f"mpii:{mpii_root}")
    anns, images = load_mpii(mpii_root, "valid")
    pred = predict_pose(model, [images / a.image for a in anns.people], centers=[a.center for a in anns.people],
                        scales=[a.scale for a in anns.people], batch_size=3)
    assert np.allclose(np.stack([r["joints"] for r in pred]), res["predictions"], atol=1e-4)
    # The same through the CLI for one person (0-based centre, MPII scale).
    a = anns.people[1]
    assert main(["pose", "predict", str(out), str(images / a.image), "--center", f"{a.center[0]},{a.center[1]}",
                 "--scale", str(a.scale), "--json"]) == 0
    joints = json.loads(capsys.readouterr().out)["people"][0]["joints"]
    assert np.allclose([[v["x"], v["y"]] for v in joints.values()], res["predictions"][1], atol=1e-4)


def test_train_reports_skipped_records(mpii_root):
    from nlvision.pose.data import load_mpii

    anns, _ = load_mpii(mpii_root, "train")
    assert len(anns.people) == 6 and len(anns.skipped) == 1 and anns.border_joints == 6 + 3


def test_cli_bad_inputs(tiny_run, tmp_path, capsys):
    from nlvision.nn.weights import save_checkpoint

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    out = tmp_path / "never"
    assert main(["pose", "predict", str(tiny_run), str(broken), "-o", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.png" in err
    assert main(["pose", "predict", str(tiny_run), str(tmp_path / "none*.png")]) == 2
    assert "no image files found" in capsys.readouterr().err
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
    assert main(["pose", "train", "--mask-mode", "hard", "--out", str(tmp_path / "r")]) == 2
    assert "mask_mode" in capsys.readouterr().err
    assert main(["pose", "train", "--data", f"mpii:{tmp_path / 'nowhere'}", "--out", str(tmp_path / "r")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["pose", "predict", str(tiny_run), str(broken), "--center", "1"]) == 2
    assert "--center" in capsys.readouterr().err
    assert main(["pose", "predict", str(tiny_run), str(broken), "--center", "1,2"]) == 2
    assert "--scale" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    # An MPII folder whose only record misses a field: skipped, then "no usable records".
    (tmp_path / "mpii" / "annot").mkdir(parents=True)
    (tmp_path / "mpii" / "images").mkdir()
    (tmp_path / "mpii" / "annot" / "train.json").write_text(json.dumps([{"image": "a.jpg", "joints": [[1, 1]] * 16}]))
    (tmp_path / "mpii" / "annot" / "valid.json").write_text("[]")
    capsys.readouterr()
    assert main(["pose", "train", "--data", f"mpii:{tmp_path / 'mpii'}", *TINY, "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "no usable person records" in err and "missing field(s)" in err
