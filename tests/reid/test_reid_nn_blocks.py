"""CRE / RE / grayscale, the non-local block and the re-id losses, against independent values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nlvision.nn.erasing import (
    ChannelRandomErasing,
    ErasingConfig,
    channel_random_erasing,
    random_erasing,
    random_grayscale,
    sample_rectangles,
)
import itertools

from nlvision.nn.losses import (
    AlignedReIDLoss,
    ReIDLoss,
    aligned_triplet_loss,
    batch_hard_triplet_loss,
    label_smoothing_cross_entropy,
    local_distance,
    shortest_path_distance,
)
from nlvision.nn.non_local import NonLocalBlock, non_local_mean


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


# ----------------------------------------------------------------------------- erasing
def test_rectangles_follow_eqs_2_to_7():
    h, w = 256, 128
    masks, found = sample_rectangles(400, h, w, generator=torch.Generator().manual_seed(3))
    assert bool(found.all())
    for m in masks.numpy()[:100]:
        y0, y1, x0, x1 = _bbox(m)
        # a filled axis-aligned rectangle inside the image (eqs. 6-7)
        assert m[y0:y1, x0:x1].all() and m.sum() == (y1 - y0) * (x1 - x0)
        assert x1 <= w and y1 <= h
        he, we = y1 - y0, x1 - x0
        ratio = he * we / (h * w)
        assert 0.02 * 0.9 <= ratio <= 0.4 * 1.1  # eq. 2 (up to rounding of H_e, W_e)
        assert 0.3 * 0.85 <= he / we <= (1 / 0.3) * 1.15  # eq. 3
    # the area ratio is spread over [S_l, S_h]: mean of U(0.02, 0.4) is 0.21 (rejections bias it down)
    mean_ratio = masks.float().mean(dim=(1, 2)).mean().item()
    assert 0.12 < mean_ratio < 0.23


def test_cre_erases_each_channel_independently_with_channel_mean():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 64, 32, generator=g)
    y = channel_random_erasing(x, 1.0, fill="mean", generator=torch.Generator().manual_seed(1))
    changed = (y != x).numpy()
    different_rects = 0
    for b in range(8):
        boxes = [_bbox(changed[b, c]) for c in range(3)]
        different_rects += len(set(boxes)) > 1
        for c in range(3):
            y0, y1, x0, x1 = boxes[c]
            alpha = x[b, c].mean().item()  # the channel mean of the *original* image
            np.testing.assert_allclose(y[b, c, y0:y1, x0:x1].numpy(), alpha, rtol=0, atol=1e-6)
    assert different_rects >= 6  # rectangles differ between channels
    assert torch.equal(x, x.clone())  # input untouched


def test_cre_random_fill_and_probability():
    x = torch.full((64, 3, 32, 16), 0.5)
    y = channel_random_erasing(x, 1.0, fill="random", generator=torch.Generator().manual_seed(0))
    vals = y[y != 0.5]
    assert vals.numel() > 0 and float(vals.min()) >= 0 and float(vals.max()) <= 1
    assert abs(float(vals.mean()) - 0.5) < 0.02 and float(vals.std()) > 0.25  # uniform on [0, 1]
    assert torch.equal(channel_random_erasing(x, 0.0), x)
    y = channel_random_erasing(x, 0.5, fill="random", generator=torch.Generator().manual_seed(1))
    erased = (y != x).flatten(1).any(1).float().mean().item()
    assert 0.3 < erased < 0.7
    # same generator seed, same result
    a = channel_random_erasing(x, 0.5, generator=torch.Generator().manual_seed(5))
    b = channel_random_erasing(x, 0.5, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_plain_re_shares_the_rectangle():
    x = torch.full((4, 3, 32, 16), 0.5)
    y = random_erasing(x, 1.0, generator=torch.Generator().manual_seed(0))
    m = (y != x).numpy()
    for b in range(4):
        assert _bbox(m[b, 0]) == _bbox(m[b, 1]) == _bbox(m[b, 2])


def test_grayscale_matches_pillow_luma():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 8, 3), dtype=np.uint8)
    ref = np.asarray(Image.fromarray(img).convert("L"), dtype=np.float64) / 255  # ITU-R 601 luma
    x = torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]
    y = random_grayscale(x, 1.0, patch_probability=0.0)[0].numpy()
    for c in range(3):
        np.testing.assert_allclose(y[c], ref, atol=1.5 / 255)


def test_modules_identity_in_eval():
    x = torch.rand(2, 3, 16, 8)
    m = ChannelRandomErasing(ErasingConfig(probability=1.0), seed=0)
    assert not torch.equal(m.train()(x), x)
    assert torch.equal(m.eval()(x), x)


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: channel_random_erasing(np.zeros((1, 3, 4, 4))), TypeError),
        (lambda: channel_random_erasing(torch.zeros(3, 4, 4)), ValueError),
        (lambda: channel_random_erasing(torch.zeros(1, 3, 4, 4, dtype=torch.uint8)), TypeError),
        (lambda: channel_random_erasing(torch.zeros(1, 3, 4, 4), 1.5), ValueError),
        (lambda: channel_random_erasing(torch.zeros(1, 3, 4, 4), area=(0.5, 0.1)), ValueError),
        (lambda: channel_random_erasing(torch.zeros(1, 3, 4, 4), fill="zero"), ValueError),
        (lambda: random_grayscale(torch.zeros(1, 1, 4, 4)), ValueError),
        (lambda: ChannelRandomErasing(ErasingConfig(fill="bogus")), ValueError),
    ],
)
def test_erasing_bad_input(call, exc):
    with pytest.raises(exc):
        call()


def test_fill_error_lists_valid_names():
    with pytest.raises(ValueError, match="mean"):
        channel_random_erasing(torch.zeros(1, 3, 4, 4), fill="zero")


# ----------------------------------------------------------------------------- non-local
def test_non_local_mean_matches_explicit_softmax():
    g = torch.Generator().manual_seed(0)
    theta, phi = torch.randn(2, 4, 5, 3, generator=g), torch.randn(2, 4, 5, 3, generator=g)
    v = torch.randn(2, 6, 5, 3, generator=g)
    y = non_local_mean(theta, phi, v).numpy()
    t, p, vv = (a.numpy().reshape(a.shape[0], a.shape[1], -1).astype(np.float64) for a in (theta, phi, v))
    for b in range(2):
        logits = t[b].T @ p[b] / 4  # eq. 9: theta^T phi / d, d = 4
        f = np.exp(logits - logits.max(1, keepdims=True))
        w = f / f.sum(1, keepdims=True)  # eqs. 8, 10
        ref = (w @ vv[b].T).T.reshape(6, 5, 3)
        np.testing.assert_allclose(y[b], ref, rtol=1e-4, atol=1e-5)


def test_block_starts_as_identity_and_is_residual():
    torch.manual_seed(0)
    blk = NonLocalBlock(8).eval()
    x = torch.randn(2, 8, 6, 4)
    assert torch.equal(blk(x), x)
    with torch.no_grad():
        blk.bn.weight.fill_(1.0)
    ref = x + blk.bn(blk.out(non_local_mean(blk.theta(x), blk.phi(x), blk.g(x))))
    torch.testing.assert_close(blk(x), ref)
    assert not torch.allclose(blk(x), x)
    # gradients reach the embeddings through the zero-initialised BN once it is trained
    blk.train()
    blk(x).sum().backward()
    assert blk.bn.weight.grad is not None


def test_block_handles_large_maps():
    blk = NonLocalBlock(4, inter_channels=2).eval()
    x = torch.randn(1, 4, 64, 32)  # 2048 positions
    assert blk(x).shape == x.shape


def test_non_local_bad_input():
    with pytest.raises(ValueError, match="channels"):
        NonLocalBlock(0)
    with pytest.raises(ValueError, match="x:"):
        NonLocalBlock(4)(torch.zeros(1, 3, 2, 2))
    with pytest.raises(TypeError):
        NonLocalBlock(4)(np.zeros((1, 4, 2, 2)))
    with pytest.raises(ValueError, match="phi"):
        non_local_mean(torch.zeros(1, 2, 2, 2), torch.zeros(1, 3, 2, 2), torch.zeros(1, 1, 2, 2))


# ----------------------------------------------------------------------------- losses
def test_triplet_hand_worked():
    f = torch.tensor([[0.0], [2.0], [3.0], [7.0]])
    labels = torch.tensor([0, 0, 1, 1])
    # anchors: 0 -> [2 - 3 + .3]+ = 0; 2 -> [2 - 1 + .3] = 1.3; 3 -> [4 - 1 + .3] = 3.3; 7 -> [4 - 5 + .3]+ = 0
    assert batch_hard_triplet_loss(f, labels, 0.3).item() == pytest.approx((1.3 + 3.3) / 4, abs=1e-5)


def test_triplet_excludes_self_and_handles_singletons():
    f = torch.tensor([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0]])
    # id 1 has a single image: no positive -> contributes 0; anchors 0/1: pos 1, neg >= 5 -> 0
    assert batch_hard_triplet_loss(f, torch.tensor([0, 0, 1])).item() == pytest.approx(0.0)


def test_label_smoothing_matches_torch():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, 5, generator=g)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    ref = F.cross_entropy(z, y, label_smoothing=0.1)
    assert label_smoothing_cross_entropy(z, y, 0.1).item() == pytest.approx(ref.item(), abs=1e-6)
    # eq. 14 target: true class 1 - (N-1)/N eps = 0.92, others eps/N = 0.02 (N = 5)
    logp = F.log_softmax(z, 1)
    manual = -(0.92 * logp[torch.arange(6), y] + 0.02 * (logp.sum(1) - logp[torch.arange(6), y])).mean()
    assert label_smoothing_cross_entropy(z, y, 0.1).item() == pytest.approx(manual.item(), abs=1e-6)


def test_sum_loss_eq_15():
    f = torch.tensor([[0.0], [2.0], [3.0], [7.0]])
    z = torch.zeros(4, 2)
    out = ReIDLoss()(f, z, torch.tensor([0, 0, 1, 1]))
    assert out["loss"].item() == pytest.approx(1.15 + np.log(2), abs=1e-5)


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: batch_hard_triplet_loss(torch.zeros(3), torch.zeros(3, dtype=torch.long)), ValueError),
        (lambda: batch_hard_triplet_loss(torch.zeros(3, 2), torch.zeros(2, dtype=torch.long)), ValueError),
        (lambda: batch_hard_triplet_loss(torch.zeros(3, 2), torch.zeros(3)), TypeError),
        (lambda: batch_hard_triplet_loss(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), -1.0), ValueError),
        (lambda: label_smoothing_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3])), ValueError),
        (lambda: label_smoothing_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), 2.0), ValueError),
        (lambda: ReIDLoss(epsilon=-0.1), ValueError),
        (lambda: ReIDLoss(margin=float("nan")), ValueError),
        (lambda: ReIDLoss(margin=float("inf")), ValueError),
        (lambda: batch_hard_triplet_loss(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), float("nan")), ValueError),
        (lambda: AlignedReIDLoss(epsilon=float("nan")), ValueError),
        (lambda: local_distance(torch.zeros(2, 3, 4), torch.zeros(3, 3, 4)), ValueError),
        (lambda: shortest_path_distance(torch.zeros(3)), ValueError),
    ],
)
def test_losses_bad_input(call, exc):
    with pytest.raises(exc):
        call()


def _brute_batch_hard(f: np.ndarray, y: np.ndarray, margin: float, pick=max) -> float:
    """Loop over anchors; ``pick`` chooses among the positives' distances (max = batch-hard)."""
    total = 0.0
    for a in range(len(f)):
        pos = [np.linalg.norm(f[a] - f[p]) for p in range(len(f)) if p != a and y[p] == y[a]]
        neg = [np.linalg.norm(f[a] - f[n]) for n in range(len(f)) if y[n] != y[a]]
        if pos and neg:
            total += max(pick(pos) - min(neg) + margin, 0.0)
    return total / len(f)


def test_batch_hard_takes_the_hardest_of_three_positives():
    """K = 3 images per identity: taking the easiest (or a random) positive gives another number."""
    g = np.random.default_rng(3)
    f = g.normal(size=(12, 5)).astype(np.float32)
    y = np.repeat(np.arange(4), 3)  # P = 4, K = 3
    got = batch_hard_triplet_loss(torch.from_numpy(f), torch.from_numpy(y), 0.3).item()
    assert got == pytest.approx(_brute_batch_hard(f, y, 0.3), abs=1e-5)
    assert abs(got - _brute_batch_hard(f, y, 0.3, pick=min)) > 0.05  # the easiest positive is not it


def _all_monotone_paths(m: int, n: int):
    for downs in itertools.combinations(range(m + n - 2), m - 1):
        i = j = 0
        path = [(0, 0)]
        for step in range(m + n - 2):
            if step in downs:
                i += 1
            else:
                j += 1
            path.append((i, j))
        yield path


def test_shortest_path_equals_exhaustive_search():
    g = torch.Generator().manual_seed(0)
    d = torch.rand(3, 4, 5, generator=g)
    got = shortest_path_distance(d)
    for b in range(3):
        best = min(sum(d[b, i, j].item() for i, j in p) for p in _all_monotone_paths(4, 5))
        assert got[b].item() == pytest.approx(best, abs=1e-6)


def test_local_distance_matches_public_formula():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(2, 4, 3, generator=g), torch.randn(2, 4, 3, generator=g)
    got = local_distance(x, y)
    for b in range(2):
        e = torch.cdist(x[b], y[b])
        e = (torch.exp(e) - 1) / (torch.exp(e) + 1)  # AlignedReID's normalisation
        best = min(sum(e[i, j].item() for i, j in p) for p in _all_monotone_paths(4, 4))
        assert got[b].item() == pytest.approx(best, abs=1e-5)


def test_aligned_triplet_mines_pairs_by_global_distance():
    g = torch.Generator().manual_seed(2)
    f = torch.randn(6, 4, generator=g)
    lf = torch.nn.functional.normalize(torch.randn(6, 3, 5, generator=g), dim=-1)
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    glob_loss, loc_loss = aligned_triplet_loss(f, lf, y, 0.3)
    assert glob_loss.item() == pytest.approx(_brute_batch_hard(f.numpy(), y.numpy(), 0.3), abs=1e-5)
    d = torch.cdist(f, f)
    expected = 0.0
    for a in range(6):
        pos = [p for p in range(6) if p != a and y[p] == y[a]]
        neg = [n for n in range(6) if y[n] != y[a]]
        p = max(pos, key=lambda i: d[a, i].item())
        n = min(neg, key=lambda i: d[a, i].item())
        lap = local_distance(lf[a:a + 1], lf[p:p + 1]).item()
        lan = local_distance(lf[a:a + 1], lf[n:n + 1]).item()
        expected += max(lap - lan + 0.3, 0.0)
    assert loc_loss.item() == pytest.approx(expected / 6, abs=1e-5)
    out = AlignedReIDLoss()(f, torch.zeros(6, 2), torch.tensor([0, 0, 0, 1, 1, 1]), lf)
    assert out["loss"].item() == pytest.approx(glob_loss.item() + loc_loss.item() + np.log(2), abs=1e-5)
