"""Re-id networks (BoT, AlignedReID++), checkpoints, the DMR attacks (PGD and generator)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlvision.nn.non_local import NonLocalBlock
from nlvision.nn.resnet import build_resnet
from nlvision.nn.weights import save_checkpoint
from nlvision.reid import ReidModelConfig, load_reid_model
from nlvision.reid.attack import (
    AttackConfig,
    DMRGan,
    DMRGenerator,
    GANConfig,
    MultiStageDiscriminator,
    _objective,
    attack_images,
    check_epsilon,
    dmr_pgd,
    least_likely_loss,
    misranking_loss,
    train_dmr_gan,
)
from nlvision.reid.data import synthetic_reid_data
from nlvision.reid.model import ReidNet

SMALL = dict(backbone="resnet18", width=4, height=64, width_px=32)


def _model(nfd=True, augment="none", classes=5, arch="bot"):
    torch.manual_seed(0)
    return ReidNet(ReidModelConfig(num_classes=classes, nfd=nfd, augment=augment, arch=arch, **SMALL))


def test_architecture():
    m = _model()
    assert isinstance(m.nfd, torch.nn.ModuleList) and len(m.nfd) == 4
    assert all(isinstance(b, NonLocalBlock) for b in m.nfd)
    assert [b.channels for b in m.nfd] == list(m.backbone.stage_channels)
    maps = m.eval().feature_maps(torch.rand(1, 3, 64, 32))
    assert [tuple(t.shape[2:]) for t in maps] == [(16, 8), (8, 4), (4, 2), (4, 2)]  # last stride 1
    out = m(torch.rand(3, 3, 64, 32))
    assert out.features.shape == (3, 32) and out.bn_features.shape == (3, 32) and out.logits.shape == (3, 5)
    assert out.local is None
    assert m.classifier.bias is None and not m.bottleneck.bias.requires_grad
    assert m.train()(torch.rand(2, 3, 64, 32)).__class__ is out.__class__  # same output type in both modes
    full = ReidNet(ReidModelConfig(num_classes=751))
    assert full.feature_dim == 2048 and full.backbone.layer4[0].conv2.stride == (1, 1)


def test_aligned_architecture_local_stripes():
    m = _model(arch="aligned").eval()
    x = torch.rand(2, 3, 64, 32)
    out = m(x)
    assert out.local.shape == (2, 4, 128)  # one stripe per row of the 4 x 2 map, 128 channels
    torch.testing.assert_close(out.local.norm(dim=-1), torch.ones(2, 4))
    # the stripe of row r is the horizontal max of bn -> relu of that row, then the 1x1 conv (public code)
    fmap = m.feature_maps(x)[-1]
    row = torch.relu(m.local_branch["bn"](fmap))[:, :, 1, :].amax(-1)
    lf = m.local_branch["conv"].weight[:, :, 0, 0] @ row.T + m.local_branch["conv"].bias[:, None]
    torch.testing.assert_close(out.local[:, 1], torch.nn.functional.normalize(lf.T, dim=1))
    assert m.classifier.bias is not None and m.bottleneck is None
    torch.testing.assert_close(m.embed(x), torch.nn.functional.normalize(out.features, dim=1))


def test_aligned_neck_option():
    m = ReidNet(ReidModelConfig(num_classes=5, arch="aligned", aligned_neck=True, augment="none", **SMALL)).eval()
    x = torch.rand(2, 3, 64, 32)
    out = m(x)
    torch.testing.assert_close(out.bn_features, m.bottleneck(out.features))
    torch.testing.assert_close(out.logits, out.bn_features @ m.classifier.weight.T)  # no bias, as BoT
    assert out.local.shape == (2, 4, 128)
    torch.testing.assert_close(m.embed(x), torch.nn.functional.normalize(out.bn_features, dim=1))


def test_embed_is_l2_normalised_bot_convention():
    m = _model().eval()
    x = torch.rand(3, 3, 64, 32)
    torch.testing.assert_close(m.embed(x).norm(dim=1), torch.ones(3))
    torch.testing.assert_close(m.embed(x) * m(x).bn_features.norm(dim=1, keepdim=True), m(x).bn_features)
    raw = ReidNet(ReidModelConfig(num_classes=5, normalize_features=False, augment="none", **SMALL)).eval()
    raw.load_state_dict(m.state_dict())
    torch.testing.assert_close(raw.embed(x), m(x).bn_features)


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
    for arch in ("bot", "aligned"):
        m = _model(arch=arch)
        save_checkpoint(tmp_path / "m.safetensors", m, task="reid", config=m.model_config())
        back = load_reid_model(tmp_path / "m.safetensors")
        x = torch.rand(1, 3, 64, 32)
        assert back.config.arch == arch
        torch.testing.assert_close(back(x).bn_features, m.eval()(x).bn_features)
    save_checkpoint(tmp_path / "c.safetensors", m, task="classify", config={})
    with pytest.raises(ValueError, match="task"):
        load_reid_model(tmp_path / "c.safetensors")


@pytest.mark.parametrize(
    "kw, match",
    [({"augment": "mixup"}, "cre"), ({"backbone": "vgg"}, "resnet50"), ({"num_classes": 1}, "num_classes"),
     ({"erase_fill": "zero"}, "erase_fill"), ({"test_feature": "mid"}, "test_feature"), ({"arch": "pcb"}, "aligned"),
     ({"erase_probability": float("nan")}, "erase_probability")],
)
def test_model_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        ReidNet(ReidModelConfig(**{**dict(num_classes=5, **SMALL), **kw}))


def test_model_bad_input():
    with pytest.raises(ValueError, match="RGB"):
        _model()(torch.rand(1, 1, 64, 32))
    with pytest.raises(TypeError):
        _model()(np.zeros((1, 3, 64, 32)))


# ---------------------------------------------------------------- DMR losses vs the public code
def _public_misranking(features, pids, margin):
    """advloss.adv_TripletLoss (ak_type < 0), transcribed with its per-sample loop."""
    n = features.size(0)
    dist = torch.pow(features, 2).sum(dim=1, keepdim=True).expand(n, n)
    dist = dist + dist.t()
    dist = dist - 2 * features @ features.t()
    dist = dist.clamp(min=1e-12).sqrt()
    mask = pids.expand(n, n).eq(pids.expand(n, n).t())
    dist_ap, dist_an = [], []
    for i in range(n):
        dist_an.append(dist[i][mask[i]].min().unsqueeze(0))
        dist_ap.append(dist[i][mask[i] == 0].max().unsqueeze(0))
    dist_ap, dist_an = torch.cat(dist_ap), torch.cat(dist_an)
    loss = torch.nn.MarginRankingLoss(margin=margin)(dist_an, dist_ap, torch.ones_like(dist_an))
    return torch.log(loss)


def _public_least_likely(logits, pids, num_classes, epsilon=0.1):
    """advloss.adv_CrossEntropyLabelSmooth, transcribed (CPU)."""
    _, adv_target = torch.min(logits, 1)
    log_probs = torch.nn.LogSoftmax(dim=1)(logits)
    adv_target = torch.zeros(log_probs.size()).scatter_(1, adv_target.unsqueeze(1), 1)
    smooth = torch.ones(log_probs.size()) / (num_classes - 1)
    smooth[:, pids] = 0
    adv_target = (1 - epsilon) * adv_target + epsilon * smooth
    return torch.log((-adv_target * log_probs).mean(0).sum())


def test_misranking_loss_equals_public_code():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(12, 6, generator=g)
    pids = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    torch.testing.assert_close(misranking_loss(f, pids, 0.3), _public_misranking(f, pids, 0.3), atol=1e-6, rtol=1e-6)
    # the paper's reading (other positives only) differs: it cannot be the same number here
    assert abs(misranking_loss(f, pids, 0.3, exclude_self=True).item() - misranking_loss(f, pids, 0.3).item()) > 1e-3


def test_least_likely_loss_equals_public_code():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(8, 10, generator=g)
    pids = torch.tensor([0, 0, 3, 3, 5, 5, 7, 7])
    torch.testing.assert_close(least_likely_loss(z, pids, 0.1), _public_least_likely(z, pids, 10), atol=1e-6, rtol=1e-6)


def test_pgd_budget_and_effect():
    data = synthetic_reid_data(num_train_ids=4, num_test_ids=6, num_cameras=3, images_per_camera=2,
                               num_distractors=0, height=64, width=32)
    m = _model(nfd=False).eval()
    q = torch.from_numpy(data.query.images).permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(data.query.pids)
    cfg = AttackConfig(epsilon=16, steps=5)
    req = [p.requires_grad for p in m.parameters()]
    adv = dmr_pgd(m, q, labels, cfg, generator=torch.Generator().manual_seed(0))
    assert float((adv - q).abs().max()) <= 16 / 255 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert all(p.grad is None for p in m.parameters()) and [p.requires_grad for p in m.parameters()] == req
    with torch.no_grad():
        before, after = _objective(m, q, labels, cfg).item(), _objective(m, adv, labels, cfg).item()
    assert after < before  # the attacker minimises DMR's objective
    adv2 = attack_images(m, q, data.query.pids, "dmr-pgd", cfg)  # queries in the original order
    assert float((adv2 - q).abs().max()) <= 16 / 255 + 1e-6
    assert torch.equal(attack_images(m, q, data.query.pids, "none", cfg), q)


def test_gan_parts_follow_dmr():
    gen = DMRGenerator(ngf=4, n_blocks=1)
    x = torch.rand(2, 3, 62, 30)  # not divisible by 4
    assert gen(x).shape == x.shape and float(gen(x).detach().abs().max()) <= 1
    assert DMRGenerator().net[1].parametrizations.weight.original.shape == (32, 3, 7, 7)  # DMR width 32, spectral norm
    disc = MultiStageDiscriminator(ndf=4, mask_pixels=50)
    preds, mask = disc(torch.rand(2, 6, 64, 32))  # the (clean, adversarial) pair
    assert len(preds) == 3 and preds[0].shape[-1] > preds[-1].shape[-1]  # three scales, finest first
    assert mask.shape == (2, 1, 64, 32) and mask.sum(dim=(1, 2, 3)).tolist() == [50.0, 50.0]  # top-k pixels
    # DMR's L_norm: (t + 1) / 2 - mean, each sample's channel rescaled to an L-inf norm <= eps
    gan = DMRGan(GANConfig(ngf=4, ndf=4, n_blocks=1), epsilon=8, clip=False).eval()
    torch.nn.init.zeros_(gan.generator.net[-2].weight)
    torch.nn.init.zeros_(gan.generator.net[-2].bias)  # t = tanh(0) = 0 -> delta = 0.5 - mean, then rescaled
    img = torch.full((1, 3, 32, 16), 0.5)
    d = gan.perturb(img) - img
    expected = torch.tensor([0.5 - 0.485, 0.5 - 0.456, 0.5 - 0.406])
    expected = expected * torch.clamp((8 / 255) / expected.abs(), max=1.0)
    torch.testing.assert_close(d[0, :, 0, 0], expected)


def test_gan_training_runs():
    data = synthetic_reid_data(num_train_ids=4, num_test_ids=2, num_cameras=2, images_per_camera=2,
                               num_distractors=0, height=64, width=32)
    m = _model(nfd=False, classes=4)
    req = [p.requires_grad for p in m.parameters()]
    gan = train_dmr_gan(m, data.train, AttackConfig(epsilon=8), GANConfig(epochs=1, ngf=4, ndf=4, n_blocks=1, p=2, k=2))
    q = torch.from_numpy(data.query.images).permute(0, 3, 1, 2).contiguous()
    adv = attack_images(m, q, data.query.pids, "dmr-gan", AttackConfig(epsilon=8), generator_net=gan)
    assert float((adv - q).abs().max()) <= 8 / 255 + 1e-6
    assert [p.requires_grad for p in m.parameters()] == req  # the target is restored


def test_epsilon_hint_for_unit_values():
    with pytest.raises(ValueError, match="1/255 units.*16"):
        check_epsilon(0.0627)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: check_epsilon(0), "epsilon"),
        (lambda: check_epsilon(0.5), "below 1"),
        (lambda: check_epsilon(256), "epsilon"),
        (lambda: check_epsilon(float("nan")), "epsilon"),
        (lambda: attack_images(_model(), torch.rand(2, 3, 64, 32), np.array([1, 2]), "fgsm"), "dmr-pgd"),
        (lambda: attack_images(_model(), torch.rand(2, 3, 64, 32), np.array([1, 2]), "dmr-gan"), "generator"),
        (lambda: attack_images(_model(), torch.rand(2, 3, 64, 32), np.array([1]), "dmr-pgd"), "pids"),
        (lambda: dmr_pgd(_model(), torch.rand(2, 64, 32), torch.tensor([1, 2])), "images"),
        (lambda: AttackConfig(steps=0).validate(), "steps"),
        (lambda: AttackConfig(margin=float("nan")).validate(), "margin"),
        (lambda: GANConfig(gan_stages="some").validate(), "gan_stages"),
        (lambda: MultiStageDiscriminator(mask_pixels=0), "mask_pixels"),
    ],
)
def test_attack_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.slow
def test_full_size_dry_run(tmp_path):
    """The seed's full-size model (256 x 128, ResNet-50, four NFD blocks, CRE) trains for a few iterations on CPU."""
    from nlvision.engine import TrainerConfig
    from nlvision.reid import ReidTrainConfig, train_reid

    data = synthetic_reid_data(num_train_ids=4, num_test_ids=2, num_cameras=2, height=128, width=64, num_distractors=0)
    m = train_reid(data, tmp_path, model_config=ReidModelConfig(), train_config=ReidTrainConfig(p=2, k=2),
                   trainer_config=TrainerConfig(epochs=1, progress=False, accelerator="cpu", devices="1", limit_train_batches=2))
    assert m.config.height == 256 and m.config.backbone == "resnet50" and len(m.nfd) == 4
    assert sum(p.numel() for p in m.backbone.parameters()) == 23_508_032  # ResNet-50 without fc
    out = m(torch.rand(1, 3, 256, 128))
    assert out.bn_features.shape == (1, 2048) and torch.isfinite(out.bn_features).all()
    assert (tmp_path / "model.safetensors").is_file()
