"""Safe weight files: read_state_dict, load_weights, save/load_checkpoint."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nlvision.nn.weights import load_checkpoint, load_weights, read_state_dict, save_checkpoint


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_read_formats(tmp_path):
    from safetensors.torch import save_file

    sd = {k: v.clone() for k, v in _net().state_dict().items()}
    save_file(sd, str(tmp_path / "a.safetensors"))
    torch.save(sd, tmp_path / "a.pth")
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "a.ckpt")  # Lightning-style wrapper
    for name in ("a.safetensors", "a.pth", "a.ckpt"):
        got = read_state_dict(tmp_path / name)
        assert sorted(got) == sorted(sd) and all(torch.equal(got[k], sd[k]) for k in sd)


def test_read_refuses_non_weights(tmp_path):
    with pytest.raises(ValueError, match="no such weights file"):
        read_state_dict(tmp_path / "none.pth")
    torch.save({"w": [1, 2]}, tmp_path / "b.pth")
    with pytest.raises(ValueError, match="expected a state dict"):
        read_state_dict(tmp_path / "b.pth")

    import pathlib

    torch.save({"w": pathlib.PurePosixPath("x")}, tmp_path / "c.pth")  # needs unpickling of a class: refused by weights_only
    with pytest.raises(ValueError, match="cannot read weights"):
        read_state_dict(tmp_path / "c.pth")


def test_load_weights_strict_prefix_and_shapes():
    src, dst = _net(), _net()
    load_weights(dst, src.state_dict())
    assert torch.equal(dst[0].weight, src[0].weight)
    partial = {k: v for k, v in src.state_dict().items() if not k.startswith("2.")}
    with pytest.raises(ValueError, match=r"2 missing key\(s\) \[2.bias, 2.weight\], 0 unexpected"):
        load_weights(_net(), partial)
    m = _net()
    before = m[2].weight.clone()
    load_weights(m, {**partial, "extra.x": torch.zeros(1)}, strict=False)
    assert torch.equal(m[2].weight, before) and torch.equal(m[0].weight, src[0].weight)
    prefixed = {f"backbone.{k}": v for k, v in src.state_dict().items()}
    load_weights(dst, {**prefixed, "head.w": torch.zeros(1)}, prefix="backbone.")
    bad = dict(src.state_dict())
    bad["0.weight"] = torch.zeros(5, 3)
    with pytest.raises(ValueError, match=r"shape mismatch \[0.weight \(5, 3\) vs \(4, 3\)\]"):
        load_weights(_net(), bad)


def test_checkpoint_roundtrip_and_task_check(tmp_path):
    m = _net()
    p = save_checkpoint(tmp_path / "m.safetensors", m, task="classify", config={"depth": 3})
    state, cfg = load_checkpoint(p, task="classify")
    assert cfg == {"depth": 3} and torch.equal(state["0.weight"], m[0].weight)
    assert [f.name for f in tmp_path.iterdir()] == ["m.safetensors"]  # atomic: no temporary left
    with pytest.raises(ValueError, match="checkpoint is for task 'classify', expected 'pose'"):
        load_checkpoint(p, task="pose")
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(1)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ValueError, match="not an nlvision checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors", task="classify")
    with pytest.raises(ValueError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.safetensors", task="classify")
