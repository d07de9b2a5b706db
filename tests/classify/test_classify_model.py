"""The seed-001 classifier head, pre-processing, freezing and weight loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nlvision.classify.model import ClassifierModelConfig, ResNetClassifier, load_backbone_weights
from nlvision.nn.resnet import resnet18, resnet50


def test_trainable_head_matches_seed_summary():
    # Seed 001, Keras summary: "Trainable params: 24,586" = BN gamma/beta (2*2048) + Dense (2048*10 + 10)
    with torch.device("meta"):
        m = ResNetClassifier(ClassifierModelConfig("resnet50", num_classes=10))
    assert m.trainable_parameters() == 24_586
    # the frozen backbone is torchvision's ResNet50 without fc
    assert sum(p.numel() for p in m.backbone.parameters()) == 23_508_032
    with torch.device("meta"):
        ft = ResNetClassifier(ClassifierModelConfig("resnet50", num_classes=10, freeze_backbone=False))
    assert ft.trainable_parameters() == 23_508_032 + 24_586


def _tiny(**kw):
    cfg = dict(backbone="resnet18", num_classes=4, width=4, upsample_steps=2, image_size=8)
    cfg.update(kw)
    return ResNetClassifier(ClassifierModelConfig(**cfg))


def test_preprocess_is_nearest_upsampling_and_imagenet_normalisation():
    m = _tiny(upsample_steps=3)
    x = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    up = np.repeat(np.repeat(x.numpy(), 8, axis=2), 8, axis=3)  # three x2 nearest steps = x8 block copy
    mean = np.array([0.485, 0.456, 0.406])[None, :, None, None]
    std = np.array([0.229, 0.224, 0.225])[None, :, None, None]
    np.testing.assert_allclose(m.preprocess(x).numpy(), (up - mean) / std, rtol=1e-5, atol=1e-5)
    assert m.preprocess(torch.zeros(1, 3, 32, 32)).shape[-2:] == (256, 256)


def test_forward_is_gmp_bn_dropout_linear_in_eval():
    # 16x16 inputs, x4 upsampled to 64x64 -> a 2x2 final map (stride 32): max and mean differ, so the
    # seed's GlobalMaxPooling2D is checked, not just "some global pooling" (a 1x1 map cannot tell).
    m = _tiny(upsample_steps=2)
    with torch.no_grad():
        for t in (m.bn.running_mean, m.bn.weight, m.bn.bias):
            t.copy_(torch.randn(t.shape))
        m.bn.running_var.copy_(torch.rand(m.bn.running_var.shape) + 0.5)
    m.eval()
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        fmap = m.backbone.forward_features(m.preprocess(x))
        assert fmap.shape[-2:] == (2, 2)
        pooled = fmap.amax(dim=(2, 3))  # global max pooling
        mean_pooled = fmap.mean(dim=(2, 3))
        assert (pooled - mean_pooled).abs().max() > 1e-2  # the test can tell max from average pooling

        def head(p):
            bn = (p - m.bn.running_mean) / torch.sqrt(m.bn.running_var + 1e-3) * m.bn.weight + m.bn.bias  # Keras eps
            return F.linear(bn, m.fc.weight, m.fc.bias)

        ref = head(pooled)
        torch.testing.assert_close(m(x), ref, rtol=1e-5, atol=1e-5)
        assert (m(x) - head(mean_pooled)).abs().max() > 1e-3  # average pooling in its place would fail
        p = m.predict_proba(x)
    torch.testing.assert_close(p.sum(1), torch.ones(3))
    torch.testing.assert_close(p, torch.softmax(ref, 1), rtol=1e-5, atol=1e-6)


def test_average_pooling_in_place_of_max_fails_the_check():
    """Mutation check of the test above: the same model with nn.AdaptiveAvgPool2d gives other logits."""
    m = _tiny(upsample_steps=2).eval()
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = m(x)
        m.pool = torch.nn.AdaptiveAvgPool2d(1)
        assert not torch.allclose(m(x), ref, rtol=1e-5, atol=1e-5)


def test_frozen_backbone_keeps_weights_and_statistics():
    m = _tiny()
    m.train()
    assert not m.backbone.training and m.bn.training  # Keras trainable=False: BN in inference mode
    before = {k: v.clone() for k, v in m.backbone.state_dict().items()}
    loss = m(torch.rand(4, 3, 8, 8)).logsumexp(1).mean()
    loss.backward()
    assert all(p.grad is None for p in m.backbone.parameters())
    assert m.fc.weight.grad is not None and m.bn.weight.grad is not None
    for k, v in m.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k
    ft = _tiny(freeze_backbone=False).train()
    assert ft.backbone.training
    ft(torch.rand(4, 3, 8, 8)).sum().backward()
    assert ft.backbone.conv1.weight.grad is not None


def test_backbone_weights_from_torchvision_file(tmp_path):
    from safetensors.torch import save_file

    src = resnet18(width=4)  # torchvision layout including the ImageNet-style fc head
    g = torch.Generator().manual_seed(0)
    state = {k: (torch.randn(v.shape, generator=g) if v.is_floating_point() else v) for k, v in src.state_dict().items()}
    assert "fc.weight" in state
    save_file(state, str(tmp_path / "tv.safetensors"))
    m = _tiny()
    load_backbone_weights(m, tmp_path / "tv.safetensors")
    assert torch.equal(m.backbone.layer2[0].downsample[0].weight, state["layer2.0.downsample.0.weight"])
    torch.save(resnet50(width=4).state_dict(), tmp_path / "r50.pth")
    with pytest.raises(ValueError, match=r"r50.pth: not resnet18 weights: .*missing key\(s\).*unexpected key\(s\)"):
        load_backbone_weights(_tiny(), tmp_path / "r50.pth")
    with pytest.raises(ValueError, match="no such weights file"):
        load_backbone_weights(_tiny(), tmp_path / "none.pth")


def test_config_bad_values():
    with pytest.raises(ValueError, match=r"backbone: unknown backbone 'vgg16'.*resnet18"):
        ClassifierModelConfig("vgg16")
    with pytest.raises(ValueError, match="num_classes"):
        ClassifierModelConfig(num_classes=1)
    with pytest.raises(ValueError, match="dropout"):
        ClassifierModelConfig(dropout=1.0)
    with pytest.raises(ValueError, match="upsample_steps"):
        ClassifierModelConfig(upsample_steps=9)
    with pytest.raises(ValueError, match="classes"):
        ClassifierModelConfig(num_classes=3, classes=["a"])
    with pytest.raises(ValueError, match=r"unknown classifier keys \['colour'\]"):
        ClassifierModelConfig.from_dict({"colour": 1})
    m = _tiny()
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 3, H, W\)"):
        m(torch.zeros(1, 1, 8, 8))
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        m(np.zeros((1, 3, 8, 8)))


def test_default_config_reproduces_seed_summary_shapes():
    # Seed 001 summary: 32x32 input -> UpSampling2D x3 -> (256, 256, 3) -> resnet50 -> (8, 8, 2048)
    # -> GlobalMaxPooling2D (2048) -> BatchNormalization -> Dropout -> Dense (10)
    torch.set_default_device("meta")
    try:
        m = ResNetClassifier(ClassifierModelConfig()).eval()
        x = torch.zeros(2, 3, 32, 32)
        up = m.preprocess(x)
        fmap = m.backbone.forward_features(up)
        logits = m(x)
    finally:
        torch.set_default_device(None)
    assert tuple(up.shape) == (2, 3, 256, 256)
    assert tuple(fmap.shape) == (2, 2048, 8, 8)
    assert tuple(logits.shape) == (2, 10)
    assert m.config.dropout == 0.3 and m.config.freeze_backbone and m.config.backbone == "resnet50"
