"""ResNet: exact parameter counts, torchvision key layout, functional reference forward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nlvision.nn.resnet import ResNet, build_resnet, resnet18, resnet50
from nlvision.nn.weights import load_weights

# Published torchvision parameter counts (torchvision model docs, "num_params").
PUBLISHED = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
}


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_counts_match_torchvision(name):
    with torch.device("meta"):
        m = build_resnet(name)
    assert _count(m) == PUBLISHED[name]


def test_resnet50_without_fc_count():
    with torch.device("meta"):
        m = resnet50(with_fc=False)
    assert _count(m) == 23_508_032
    # fc = 2048*1000 weights + 1000 biases
    assert PUBLISHED["resnet50"] - 23_508_032 == 2048 * 1000 + 1000


def _torchvision_keys(block: str, layers: tuple[int, ...], with_fc: bool = True) -> list[str]:
    """The torchvision state-dict key list, built by hand from its documented layout."""
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    keys = ["conv1.weight"] + [f"bn1.{s}" for s in bn]
    nconv = 2 if block == "basic" else 3
    for li, n in enumerate(layers, start=1):
        for b in range(n):
            p = f"layer{li}.{b}."
            for c in range(1, nconv + 1):
                keys.append(f"{p}conv{c}.weight")
                keys += [f"{p}bn{c}.{s}" for s in bn]
            # first block of each stage has a projection, except layer1 of BasicBlock nets
            if b == 0 and not (block == "basic" and li == 1):
                keys.append(f"{p}downsample.0.weight")
                keys += [f"{p}downsample.1.{s}" for s in bn]
    if with_fc:
        keys += ["fc.weight", "fc.bias"]
    return keys


@pytest.mark.parametrize(
    "name,block,layers",
    [("resnet18", "basic", (2, 2, 2, 2)), ("resnet34", "basic", (3, 4, 6, 3)), ("resnet50", "bottleneck", (3, 4, 6, 3)),
     ("resnet101", "bottleneck", (3, 4, 23, 3)), ("resnet152", "bottleneck", (3, 8, 36, 3))],
)
def test_state_dict_keys_are_torchvision_layout(name, block, layers):
    with torch.device("meta"):
        m = build_resnet(name)
    assert list(m.state_dict().keys()) == _torchvision_keys(block, layers)


def test_torchvision_layout_state_dict_loads_strictly(tmp_path):
    from safetensors.torch import save_file

    src = resnet18(num_classes=7)
    # a state dict as a user would have it (fresh tensors, saved to disk as safetensors and .pth)
    g = torch.Generator().manual_seed(0)
    state = {k: (torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone()) for k, v in src.state_dict().items()}
    assert list(state) == _torchvision_keys("basic", (2, 2, 2, 2))
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save(state, tmp_path / "w.pth")
    for f in ("w.safetensors", "w.pth"):
        dst = resnet18(num_classes=7)
        load_weights(dst, tmp_path / f)
        assert torch.equal(dst.layer3[1].conv2.weight, state["layer3.1.conv2.weight"])
        assert torch.equal(dst.fc.bias, state["fc.bias"])


def test_other_architecture_weights_fail_with_key_list():
    with torch.device("meta"):
        state = resnet18().state_dict()
        r50, r18 = resnet50(), resnet18(num_classes=5)
    with pytest.raises(ValueError, match=r"missing key\(s\).*unexpected key\(s\)"):
        load_weights(r50, state)
    with pytest.raises(ValueError, match=r"shape mismatch \[fc.weight \(1000, 512\) vs \(5, 512\)"):
        load_weights(r18, state)


def _ref_bn(x, sd, p):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, 1e-5)


def _ref_forward(sd, x, block, layers, last_stride=2):
    """Forward pass written with torch.nn.functional only, reading the state dict by name."""
    x = F.relu(_ref_bn(F.conv2d(x, sd["conv1.weight"], stride=2, padding=3), sd, "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for li, n in enumerate(layers, start=1):
        for b in range(n):
            p = f"layer{li}.{b}"
            stride = (1 if li == 1 else (last_stride if li == 4 else 2)) if b == 0 else 1
            if f"{p}.downsample.0.weight" in sd:
                idt = _ref_bn(F.conv2d(x, sd[f"{p}.downsample.0.weight"], stride=stride), sd, f"{p}.downsample.1")
            else:
                idt = x
            if block == "basic":
                y = F.relu(_ref_bn(F.conv2d(x, sd[f"{p}.conv1.weight"], stride=stride, padding=1), sd, f"{p}.bn1"))
                y = _ref_bn(F.conv2d(y, sd[f"{p}.conv2.weight"], padding=1), sd, f"{p}.bn2")
            else:
                y = F.relu(_ref_bn(F.conv2d(x, sd[f"{p}.conv1.weight"]), sd, f"{p}.bn1"))
                y = F.relu(_ref_bn(F.conv2d(y, sd[f"{p}.conv2.weight"], stride=stride, padding=1), sd, f"{p}.bn2"))
                y = _ref_bn(F.conv2d(y, sd[f"{p}.conv3.weight"]), sd, f"{p}.bn3")
            x = F.relu(y + idt)
    feat = x
    pooled = x.mean(dim=(2, 3))
    return feat, F.linear(pooled, sd["fc.weight"], sd["fc.bias"])


def _randomise(m, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=g) * 0.3)
    return m.eval()


@pytest.mark.parametrize("block,last_stride", [("basic", 2), ("bottleneck", 2), ("bottleneck", 1)])
def test_forward_matches_functional_reference(block, last_stride):
    layers = (2, 1, 1, 1)
    m = _randomise(ResNet(block, layers, num_classes=5, width=4, last_stride=last_stride))
    x = torch.randn(2, 3, 40, 48, generator=torch.Generator().manual_seed(1))
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    feat_ref, logits_ref = _ref_forward(sd, x, block, layers, last_stride)
    with torch.no_grad():
        torch.testing.assert_close(m(x), logits_ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(m.forward_features(x), feat_ref, rtol=1e-4, atol=1e-4)
        stages = m.forward_stages(x)
    assert torch.equal(stages[-1], m.forward_features(x))


def test_stage_shapes_and_last_stride():
    # shapes only: run on the meta device (no arithmetic)
    torch.set_default_device("meta")
    try:
        _stage_shapes()
    finally:
        torch.set_default_device(None)


def _stage_shapes():
    x = torch.zeros(1, 3, 256, 128)
    m = resnet50(with_fc=False).eval()
    shapes = [tuple(s.shape) for s in m.forward_stages(x)]
    assert shapes == [(1, 256, 64, 32), (1, 512, 32, 16), (1, 1024, 16, 8), (1, 2048, 8, 4)]
    m1 = resnet50(with_fc=False, last_stride=1).eval()
    assert tuple(m1.forward_features(x).shape) == (1, 2048, 16, 8)
    assert tuple(m1(x).shape) == (1, 2048)
    assert m1.fc is None and "fc.weight" not in m1.state_dict()


def test_replace_head():
    m = resnet18(num_classes=10).eval()
    assert m.fc.out_features == 10
    m.reset_classifier(3)
    assert m(torch.zeros(1, 3, 32, 32)).shape == (1, 3)
    m.reset_classifier(None)
    assert m(torch.zeros(1, 3, 32, 32)).shape == (1, 512)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"resnet18.*resnet152"):
        build_resnet("resnet17")
    with pytest.raises(ValueError, match="last_stride"):
        resnet18(last_stride=3)
    with pytest.raises(ValueError, match="layers"):
        ResNet("basic", (1, 1, 1))
    with pytest.raises(ValueError, match="block"):
        ResNet("dense", (1, 1, 1, 1))
    with pytest.raises(ValueError, match="num_classes"):
        resnet18(num_classes=0)
    m = ResNet("basic", (1, 1, 1, 1), width=4)
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 3, H, W\)"):
        m(torch.zeros(3, 32, 32))
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        m.forward_features([1, 2])
    with pytest.raises(ValueError, match="num_classes"):
        m.reset_classifier(-1)
