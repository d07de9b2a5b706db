"""NFD-ResNet model, checkpoints, the DMR attacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlvision.nn.non_local import NonLocalBlock
from nlvision.nn.resnet import build_resnet
from nlvision.nn.weights import save_checkpoint
from nlvision.reid.attack import (
    AttackConfig,
    DMRGenerator,
    GANConfig,
    MultiStageDiscriminator,
    attack_images,
    check_epsilon,
    dmr_pgd,
    misranking_loss,
    train_dmr_gan,
)
from nlvision.reid.data import synthetic_reid_data
from nlvision.reid.model import NFDConfig, NFDReID, load_reid_checkpoint

SMALL = dict(backbone="resnet18", width=4, height=64, width_px=32)


def _model(nfd=True, augment="none", classes=5):
    torch.manual_seed(0)
    return NFDReID(NFDConfig(num_classes=classes, nfd=nfd, augment=augment, **SMALL))


def test_architecture():
    m = _model()
    assert isinstance(m.nfd, torch.nn.ModuleList) and len(m.nfd) == 4
    assert all(isinstance(b, NonLocalBlock) for b in m.nfd)
    assert [b.channels for b in m.nfd] == list(m.backbone.stage_channels)
    maps = m.eval().feature_maps(torch.rand(1, 3, 64, 32))
    assert [tuple(t.shape[2:]) for t in maps] == [(16, 8), (8, 4), (4, 2), (4, 2)]  # last stride 1
    out = m(torch.rand(3, 3, 64, 32))
    assert out.features.shape == (3, 32) and out.bn_features.shape == (3, 32) and out.logits.shape == (3, 5)
    assert m.classifier.bias is None and not m.bottleneck.bias.requires_grad
    assert m.train()(torch.rand(2, 3, 64, 32)).__class__ is out.__class__  # same output type in both modes
    full = NFDReID(NFDConfig(num_classes=751))
    assert full.feature_dim == 2048 and full.backbone.layer4[0].conv2.stride == (1, 1)


def test_nfd_blocks_start_as_identity():
    a, b = _model(nfd=True), _model(nfd=False)
    b.load_state_dict({k: v for k, v in a.state_dict().items() if not k.startswith("nfd.")})
    x = torch.rand(2, 3, 64, 32)
    torch.testing.assert_close(a.eval()(x).bn_features, b.eval()(x).bn_features)


def test_backbone_weights_and_checkpoints(tmp_path):
    m = _model()
    ref = build_resnet("resnet18", width=4)  # torchvision layout with its 1000-way fc
    torch.save(ref.state_dict(), tmp_path / "imagenet.pth")
    m.load_backbone(tmp_path / "imagenet.pth")
    torch.testing.assert_close(m.backbone.conv1.weight, ref.conv1.weight)
    torch.save(build_resnet("resnet18", width=8).state_dict(), tmp_path / "other.pth")
    with pytest.raises(ValueError, match="shape mismatch"):
        m.load_backbone(tmp_path / "other.pth")
    save_checkpoint(tmp_path / "m.safetensors", m, task="reid", config=m.model_config())
    back = load_reid_checkpoint(tmp_path / "m.safetensors")
    x = torch.rand(1, 3, 64, 32)
    torch.testing.assert_close(back(x).bn_features, m.eval()(x).bn_features)
    save_checkpoint(tmp_path / "c.safetensors", m, task="classify", config={})
    with pytest.raises(ValueError, match="task"):
        load_reid_checkpoint(tmp_path / "c.safetensors")


@pytest.mark.parametrize(
    "kw, match",
    [({"augment": "mixup"}, "cre"), ({"backbone": "vgg"}, "resnet50"), ({"num_classes": 1}, "num_classes"),
     ({"erase_fill": "zero"}, "erase_fill"), ({"test_feature": "mid"}, "test_feature")],
)
def test_model_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        NFDReID(NFDConfig(**{**dict(num_classes=5, **SMALL), **kw}))


def test_model_bad_input():
    with pytest.raises(ValueError, match="RGB"):
        _model()(torch.rand(1, 1, 64, 32))
    with pytest.raises(TypeError):
        _model()(np.zeros((1, 3, 64, 32)))


def test_pgd_budget_and_effect():
    torch.manual_seed(0)
    data = synthetic_reid_data(num_train_ids=4, num_test_ids=6, num_cameras=3, images_per_camera=2,
                               num_distractors=0, height=64, width=32)
    m = _model(nfd=False).eval()
    q = torch.from_numpy(data.query.images).permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(data.query.pids)
    cfg = AttackConfig(epsilon=16, steps=5)
    adv = dmr_pgd(m, q, labels, cfg, generator=torch.Generator().manual_seed(0))
    assert float((adv - q).abs().max()) <= 16 / 255 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert all(p.grad is None for p in m.parameters())  # the model is not touched
    with torch.no_grad():
        ref = m(q).bn_features
        before = misranking_loss(ref, ref, labels).item()
        after = misranking_loss(m(adv).bn_features, ref, labels).item()
    assert after < before  # the attacker minimises the mis-ranking loss
    # queries in the original order; unchanged with attack "none"
    adv2 = attack_images(m, q, data.query.pids, "dmr-pgd", cfg)
    assert float((adv2 - q).abs().max()) <= 16 / 255 + 1e-6
    assert torch.equal(attack_images(m, q, data.query.pids, "none", cfg), q)


def test_gan_parts_and_training():
    gen, disc = DMRGenerator(ngf=4, n_blocks=1), MultiStageDiscriminator(ndf=4)
    x = torch.rand(2, 3, 62, 30)  # not divisible by 4
    assert gen(x).shape == x.shape and float(gen(x).detach().abs().max()) <= 1
    assert disc(x).shape == (2,)
    data = synthetic_reid_data(num_train_ids=4, num_test_ids=2, num_cameras=2, images_per_camera=2,
                               num_distractors=0, height=64, width=32)
    m = _model(nfd=False, classes=4)
    trained = train_dmr_gan(m, data.train, AttackConfig(epsilon=8), GANConfig(epochs=1, ngf=4, ndf=4, n_blocks=1, batch_p=2, batch_k=2))
    q = torch.from_numpy(data.query.images).permute(0, 3, 1, 2).contiguous()
    adv = attack_images(m, q, data.query.pids, "dmr-gan", AttackConfig(epsilon=8), generator_net=trained)
    assert float((adv - q).abs().max()) <= 8 / 255 + 1e-6


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: check_epsilon(0), "epsilon"),
        (lambda: check_epsilon(256), "epsilon"),
        (lambda: check_epsilon(float("nan")), "epsilon"),
        (lambda: attack_images(_model(), torch.rand(2, 3, 64, 32), np.array([1, 2]), "fgsm"), "dmr-pgd"),
        (lambda: attack_images(_model(), torch.rand(2, 3, 64, 32), np.array([1, 2]), "dmr-gan"), "generator"),
        (lambda: attack_images(_model(), torch.rand(2, 3, 64, 32), np.array([1]), "dmr-pgd"), "pids"),
        (lambda: dmr_pgd(_model(), torch.rand(2, 64, 32), torch.tensor([1, 2])), "images"),
        (lambda: AttackConfig(steps=0).validate(), "steps"),
    ],
)
def test_attack_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
