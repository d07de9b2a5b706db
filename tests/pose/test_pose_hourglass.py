"""Stacked hourglass / ACNN model (seed 002, eqs. 1, 2, 4)."""

from __future__ import annotations

import pytest
import torch

from nlvision.nn.hourglass import HourglassConfig, Hourglass, Residual, StackedHourglass, binary_mask, combine_predictions
from nlvision.nn.weights import load_weights

SMALL = dict(num_stacks=3, channels=8, depth=2, input_size=32)


def _model(**kw) -> StackedHourglass:
    torch.manual_seed(0)
    return StackedHourglass(HourglassConfig(**{**SMALL, **kw})).eval()


def test_output_shapes_same_in_train_and_eval():
    m = _model()
    x = torch.randn(2, 3, 32, 32)
    for mode in (m.train(), m.eval()):
        out = mode(x)
        assert out.predictions.shape == (2, 3, 16, 8, 8)
        assert out.heatmaps.shape == (2, 3, 16, 8, 8)
        assert out.masks.shape == (2, 3, 1, 8, 8)
        assert type(out).__name__ == "PoseOutput"


def test_first_mask_is_ones_and_masks_are_sigmoids():
    out = _model()(torch.randn(1, 3, 32, 32))
    assert torch.equal(out.masks[:, 0], torch.ones_like(out.masks[:, 0]))
    assert (out.masks[:, 1:] > 0).all() and (out.masks[:, 1:] < 1).all()
    assert torch.allclose(out.predictions[:, 0], out.heatmaps[:, 0])


def test_combine_predictions_hand_worked():
    # H = 1, 2, 3 ; M(0) = 1, M(1) = 0.5, M(2) = 0.25
    h = torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1, 1)
    m = torch.tensor([1.0, 0.5, 0.25]).view(1, 3, 1, 1, 1)
    p = combine_predictions(h, m).flatten().tolist()
    # P1 = 1 ; P2 = 2 + 1 * 0.5 = 2.5 ; P3 = 3 + 2.5 * 0.75 = 4.875
    assert p == pytest.approx([1.0, 2.5, 4.875])


def test_eq4_holds_for_network_outputs():
    out = _model()(torch.randn(2, 3, 32, 32))
    p, h, m, _ = out
    for i in range(1, 3):
        expected = h[:, i] + p[:, i - 1] * (1 - m[:, i])
        assert torch.allclose(p[:, i], expected, atol=1e-6)


def test_mask_multiplies_next_stage_input():
    m = _model()
    with torch.no_grad():
        m.mask[0].weight.zero_()
        m.mask[0].bias.fill_(-60.0)  # sigmoid ≈ 0 → stage 2 sees (almost) nothing
    seen = {}
    m.hourglasses[1].register_forward_hook(lambda mod, inp, outp: seen.setdefault("x", inp[0]))
    out = m(torch.randn(1, 3, 32, 32))
    assert seen["x"].abs().max() < 1e-20
    # P(2) = H(2) + P(1) ⊙ (1 − 0) : the discarded regions keep the previous prediction.
    assert torch.allclose(out.predictions[:, 1], out.heatmaps[:, 1] + out.predictions[:, 0], atol=1e-6)


def test_plain_hourglass_and_phase_a_have_unit_masks():
    plain = _model(attention=False)
    out = plain(torch.randn(1, 3, 32, 32))
    assert torch.equal(out.masks, torch.ones_like(out.masks))
    assert torch.equal(out.predictions, out.heatmaps)
    assert plain.mask_parameters() == []
    acnn = _model()
    acnn.attention_active = False
    out = acnn(torch.randn(1, 3, 32, 32))
    assert torch.equal(out.masks, torch.ones_like(out.masks))


def test_parameter_partition():
    m = _model()
    mask_ids = {id(p) for p in m.mask_parameters()}
    heat_ids = {id(p) for p in m.heatmap_parameters()}
    assert len(mask_ids) == 2 * (SMALL["num_stacks"] - 1)  # weight + bias per 1×1 mask conv
    assert not mask_ids & heat_ids
    assert mask_ids | heat_ids == {id(p) for p in m.parameters()}


def test_residual_identity_and_projection():
    r = Residual(6, 6)
    with torch.no_grad():
        r.conv3.weight.zero_()
        r.conv3.bias.zero_()
    x = torch.randn(1, 6, 5, 5)
    assert torch.equal(r.eval()(x), x)
    assert Residual(6, 10)(x).shape == (1, 10, 5, 5)


def test_hourglass_resolution_and_default_architecture():
    assert Hourglass(3, 4)(torch.zeros(1, 4, 16, 16)).shape == (1, 4, 16, 16)
    cfg = HourglassConfig()
    assert (cfg.num_stacks, cfg.channels, cfg.input_size, cfg.heatmap_size) == (4, 256, 256, 64)
    m = StackedHourglass(HourglassConfig(num_stacks=2, channels=16, input_size=64))
    conv = m.stem[0]
    assert conv.kernel_size == (7, 7) and conv.stride == (2, 2)


def test_bad_inputs():
    m = _model()
    with pytest.raises(ValueError, match="x: expected"):
        m(torch.zeros(1, 3, 30, 30))
    with pytest.raises(ValueError, match="x: expected"):
        m(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="channels"):
        HourglassConfig(channels=7).validate()
    with pytest.raises(ValueError, match="input_size"):
        HourglassConfig(input_size=100).validate()
    with pytest.raises(ValueError, match="num_stacks"):
        HourglassConfig(num_stacks=0).validate()
    with pytest.raises(ValueError, match="unknown key"):
        HourglassConfig.from_dict({"stacks": 2})
    with pytest.raises(ValueError, match="heatmaps/masks"):
        combine_predictions(torch.zeros(1, 2, 3, 4, 4), torch.zeros(1, 3, 1, 4, 4))


def test_checkpoint_of_other_configuration_is_rejected():
    acnn = _model()
    plain = _model(attention=False)
    with pytest.raises(ValueError, match="unexpected key"):
        load_weights(plain, acnn.state_dict())
    with pytest.raises(ValueError, match="missing key"):
        load_weights(acnn, plain.state_dict())


def test_binary_masks_are_hard_forward_and_straight_through_backward():
    p = torch.tensor([0.1, 0.49, 0.5, 0.9], requires_grad=True)
    m = binary_mask(p)
    assert m.tolist() == [0.0, 0.0, 1.0, 1.0]
    (m * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert p.grad.tolist() == [1.0, 2.0, 3.0, 4.0]  # identity gradient (straight-through)
    net = _model(mask_mode="binary")
    with torch.no_grad():
        net.mask[0].weight.zero_()
        net.mask[0].bias.fill_(-1.0)  # sigmoid 0.27 → discarded
        net.mask[1].bias.fill_(1.0)
        net.mask[1].weight.zero_()
    out = net(torch.randn(2, 3, 32, 32))
    assert torch.equal(out.masks[:, 1], torch.zeros_like(out.masks[:, 1]))
    assert torch.equal(out.masks[:, 2], torch.ones_like(out.masks[:, 2]))
    assert torch.allclose(out.mask_probs[:, 1], torch.full_like(out.mask_probs[:, 1], float(torch.sigmoid(torch.tensor(-1.0)))))
    # The mask branch still receives gradients through the hard threshold.
    net.train()
    net(torch.randn(2, 3, 32, 32)).predictions.sum().backward()
    assert net.mask[0].weight.grad is not None and net.mask[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="mask_mode"):
        HourglassConfig(mask_mode="hard").validate()
