"""Re-identification losses: batch-hard triplet (eq. 11), label-smoothed cross-entropy (eq. 14)
and their sum (eq. 15).

References
----------
Seed 000, section 2.3, eqs. 11–15. Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for
Person Re-Identification", 2017. Szegedy et al., "Rethinking the Inception Architecture", 2016
(label smoothing). Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person
Re-identification", CVPRW 2019.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["pairwise_distance", "batch_hard_triplet_loss", "label_smoothing_cross_entropy", "ReIDLoss"]


def _check_pair(x: object, labels: object, xname: str) -> tuple[Tensor, Tensor]:
    if not isinstance(x, Tensor):
        raise TypeError(f"{xname}: expected a torch.Tensor, got {type(x).__name__}")
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels: expected a torch.Tensor, got {type(labels).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{xname}: expected shape (N, D), got {tuple(x.shape)}")
    if labels.ndim != 1 or labels.shape[0] != x.shape[0]:
        raise ValueError(f"labels: expected shape ({x.shape[0]},), got {tuple(labels.shape)}")
    if labels.dtype.is_floating_point:
        raise TypeError(f"labels: expected an integer tensor, got dtype {labels.dtype}")
    return x, labels


def pairwise_distance(x: Tensor, y: Tensor | None = None, squared: bool = False) -> Tensor:
    """Euclidean distance matrix between the rows of ``x`` and ``y`` (``x`` when omitted).

    Examples
    --------
    >>> pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]])).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    y = x if y is None else y
    d2 = (x * x).sum(1, keepdim=True) + (y * y).sum(1).unsqueeze(0) - 2.0 * x @ y.T
    d2 = d2.clamp(min=0.0)
    if squared:
        return d2
    # sqrt with a safe gradient at 0 (the diagonal)
    return torch.sqrt(d2.clamp(min=1e-12)) * (d2 > 1e-12)


def batch_hard_triplet_loss(features: Tensor, labels: Tensor, margin: float = 0.3) -> Tensor:
    """Batch-hard triplet loss (eq. 11).

    ``L = 1/(P·K) Σ_A [max_pos d(A, Pos) − min_neg d(A, Neg) + α]_+`` with Euclidean distances;
    the anchor itself is not a positive. Anchors without a positive or a negative in the batch
    contribute 0.

    Parameters
    ----------
    features : Tensor (N, D)
        Embeddings of a P×K batch.
    labels : Tensor (N,), integer
        Identity labels.
    margin : float
        ``α`` (0.3, BoT).

    Returns
    -------
    Tensor (scalar)

    Raises
    ------
    TypeError, ValueError
        For non-tensors, wrong shapes, float labels or a negative margin.

    References
    ----------
    Seed 000, eq. 11.

    Examples
    --------
    >>> f = torch.tensor([[0.0], [1.0], [3.0], [3.5]])
    >>> round(batch_hard_triplet_loss(f, torch.tensor([0, 0, 1, 1])).item(), 4)
    0.0
    """
    features, labels = _check_pair(features, labels, "features")
    if not isinstance(margin, (int, float)) or margin < 0:
        raise ValueError(f"margin: expected a non-negative number, got {margin!r}")
    dist = pairwise_distance(features)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    neg = ~same
    hardest_pos = torch.where(pos, dist, torch.full_like(dist, float("-inf"))).max(1).values
    hardest_neg = torch.where(neg, dist, torch.full_like(dist, float("inf"))).min(1).values
    valid = pos.any(1) & neg.any(1)
    per_anchor = F.relu(hardest_pos - hardest_neg + margin)
    per_anchor = torch.where(valid, per_anchor, torch.zeros_like(per_anchor))
    return per_anchor.mean()


def label_smoothing_cross_entropy(logits: Tensor, labels: Tensor, epsilon: float = 0.1) -> Tensor:
    """Cross-entropy with label smoothing (eqs. 12–14), averaged over the batch.

    Target distribution: ``q_y = 1 − (N−1)/N · ε`` for the true class and ``ε/N`` for the others.

    Parameters
    ----------
    logits : Tensor (B, N)
        Class scores for ``N`` identities.
    labels : Tensor (B,), integer in [0, N)
        True identities.
    epsilon : float
        ``ε`` (0.1).

    Raises
    ------
    TypeError, ValueError
        For non-tensors, wrong shapes, labels out of range or ε outside [0, 1].

    Examples
    --------
    >>> z = torch.zeros(1, 4)          # uniform prediction: loss = log 4 whatever ε
    >>> round(label_smoothing_cross_entropy(z, torch.tensor([2])).item(), 4)
    1.3863
    """
    logits, labels = _check_pair(logits, labels, "logits")
    if not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon: expected a number in [0, 1], got {epsilon!r}")
    n = logits.shape[1]
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n):
        raise ValueError(f"labels: expected values in [0, {n}), got range [{int(labels.min())}, {int(labels.max())}]")
    log_p = F.log_softmax(logits, dim=1)
    q = torch.full_like(log_p, epsilon / n)
    q.scatter_(1, labels.unsqueeze(1), 1.0 - (n - 1) / n * epsilon)
    return -(q * log_p).sum(1).mean()


class ReIDLoss(nn.Module):
    """``L_sum = L_tri-hard + L_lsr`` (eq. 15).

    The triplet term uses the features before the BNNeck, the cross-entropy the logits after
    it (BoT).

    Parameters
    ----------
    margin : float
        Triplet margin α (0.3).
    epsilon : float
        Label-smoothing ε (0.1).

    Examples
    --------
    >>> loss = ReIDLoss()
    >>> f = torch.tensor([[0.0], [1.0], [3.0], [3.5]]); z = torch.zeros(4, 2)
    >>> round(loss(f, z, torch.tensor([0, 0, 1, 1]))["loss"].item(), 4)
    0.6931
    """

    def __init__(self, margin: float = 0.3, epsilon: float = 0.1) -> None:
        super().__init__()
        if not isinstance(margin, (int, float)) or margin < 0:
            raise ValueError(f"margin: expected a non-negative number, got {margin!r}")
        if not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon: expected a number in [0, 1], got {epsilon!r}")
        self.margin = float(margin)
        self.epsilon = float(epsilon)

    def forward(self, features: Tensor, logits: Tensor, labels: Tensor) -> dict[str, Tensor]:
        tri = batch_hard_triplet_loss(features, labels, self.margin)
        ce = label_smoothing_cross_entropy(logits, labels, self.epsilon)
        return {"loss": tri + ce, "triplet": tri, "ce": ce}
