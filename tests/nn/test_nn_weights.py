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


def test_common_packagings_load_identically(tmp_path):
    """Issue #18: plain, {"model": ...} (torchvision reference scripts), {"state_dict": ...} (Lightning),
    module.-prefixed (DataParallel/DDP) and safetensors files all give the same strict state dict."""
    from safetensors.torch import save_file

    sd = {k: v.clone() for k, v in _net().state_dict().items()}
    ddp = {f"module.{k}": v for k, v in sd.items()}
    torch.save(sd, tmp_path / "plain.pth")
    torch.save({"model": sd, "optimizer": {"state": {}}, "epoch": 89, "args": {"lr": 0.1}}, tmp_path / "tv.pth")
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "pl.ckpt")
    torch.save(ddp, tmp_path / "ddp.pth")
    torch.save({"model": ddp}, tmp_path / "tv_ddp.pth")
    save_file(sd, str(tmp_path / "w.safetensors"))
    for name in ("plain.pth", "tv.pth", "pl.ckpt", "ddp.pth", "tv_ddp.pth", "w.safetensors"):
        got = read_state_dict(tmp_path / name)
        assert sorted(got) == sorted(sd), name
        assert all(torch.equal(got[k], sd[k]) for k in sd), name
        m = _net()
        load_weights(m, tmp_path / name)  # still strict
        assert torch.equal(m[0].weight, sd["0.weight"])
    # strictness survives unwrapping: a model of another shape is refused with the key lists
    with pytest.raises(ValueError, match=r"missing key"):
        load_weights(nn.Sequential(nn.Linear(3, 4)), tmp_path / "tv.pth")


def test_unpickling_and_legacy_format_refused(tmp_path):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    with open(tmp_path / "evil.pth", "wb") as f:
        pickle.dump({"w": Evil()}, f)
    with pytest.raises(ValueError, match="cannot read weights"):
        read_state_dict(tmp_path / "evil.pth")
    assert not (tmp_path / "pwned").exists()
    torch.save({"w": torch.zeros(2)}, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="legacy pre-1.6 format is refused"):
        read_state_dict(tmp_path / "legacy.pth")


def test_small_file_declaring_huge_tensor_refused_before_allocating(tmp_path):
    """Issue #14: a tiny model file declaring a huge tensor. PyTorch zip files: the declared storage size is
    checked against the record; safetensors: against the header offsets; the legacy format is refused."""
    import json
    import struct
    import tracemalloc
    import zipfile

    torch.save({"w": torch.zeros(4)}, tmp_path / "t.pth")
    z = zipfile.ZipFile(tmp_path / "t.pth")
    n = 1 << 40
    with zipfile.ZipFile(tmp_path / "bomb.pth", "w", compression=zipfile.ZIP_STORED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename.endswith("data.pkl"):
                big = b"\x8a\x06" + n.to_bytes(6, "little")  # LONG1: 2**40 elements
                data = data.replace(b"K\x04t", big + b"t", 1).replace(b"K\x04\x85", big + b"\x85", 1)
            out.writestr(info.filename, data)
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 16]}}).encode()
    (tmp_path / "bomb.safetensors").write_bytes(struct.pack("<Q", len(hdr)) + hdr + b"\0" * 16)
    tracemalloc.start()
    try:
        for name in ("bomb.pth", "bomb.safetensors"):
            assert (tmp_path / name).stat().st_size < 2000
            with pytest.raises(ValueError, match="cannot read weights"):
                read_state_dict(tmp_path / name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000


def test_checkpoint_metadata_not_an_object(tmp_path):
    from safetensors.torch import save_file

    for meta in ("[1, 2]", "not json", '{"task": "classify", "config": "x"}'):
        save_file({"a": torch.zeros(1)}, str(tmp_path / "m.safetensors"), metadata={"nlvision": meta})
        with pytest.raises(ValueError, match="nlvision metadata"):
            load_checkpoint(tmp_path / "m.safetensors", task="classify")


def test_weights_record_is_absolute_with_sha256(tmp_path, monkeypatch):
    import hashlib

    from nlvision.nn.weights import weights_record

    (tmp_path / "w.pth").write_bytes(b"weights")
    monkeypatch.chdir(tmp_path)
    r = weights_record("w.pth")
    assert r == {"path": str(tmp_path / "w.pth"), "sha256": hashlib.sha256(b"weights").hexdigest()}
