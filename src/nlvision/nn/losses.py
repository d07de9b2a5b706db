"""Re-identification losses: batch-hard triplet (eq. 11), label-smoothed cross-entropy (eq. 14),
their sum (eq. 15), and AlignedReID++'s dynamically matched local distance (DMLI) with its
aligned triplet loss.

References
----------
Seed 000, section 2.3, eqs. 11–15. Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for
Person Re-Identification", 2017. Szegedy et al., "Rethinking the Inception Architecture", 2016
(label smoothing). Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person
Re-identification", CVPRW 2019. Luo et al., "AlignedReID++: Dynamically matching local
information for person re-identification", Pattern Recognition 94, 2019 (public code
``aligned/local_dist.py`` and ``util/losses.py``, github.com/michuanhaohao/AlignedReID).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["pairwise_distance", "batch_hard_triplet_loss", "label_smoothing_cross_entropy", "ReIDLoss",
           "shortest_path_distance", "local_distance", "aligned_triplet_loss", "AlignedReIDLoss"]


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


def _check_margin(margin: object) -> None:
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin) or margin < 0:
        raise ValueError(f"margin: expected a finite non-negative number, got {margin!r}")


def _check_epsilon(epsilon: object) -> None:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) or not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon: expected a number in [0, 1], got {epsilon!r}")


def pairwise_distance(x: Tensor, y: Tensor | None = None, squared: bool = False) -> Tensor:
    """Euclidean distance matrix between the rows of ``x`` and ``y`` (``x`` when omitted).

    Computed as ``‖x_i‖² + ‖y_j‖² − 2 x_iᵀ y_j`` (clamped at 0), the distance used by the
    batch-hard triplet loss (seed eq. 11). The square root has a finite (zero) gradient where
    the distance is 0, e.g. on the diagonal of ``pairwise_distance(x)``.

    Parameters
    ----------
    x : Tensor (N, D)
        First set of row vectors.
    y : Tensor (M, D), optional
        Second set of row vectors; ``None`` means ``x`` (distances within one batch).
    squared : bool, default False
        Return squared distances instead of distances.

    Returns
    -------
    Tensor (N, M)
        ``out[i, j] = ‖x_i − y_j‖`` (or its square when ``squared``).

    Raises
    ------
    RuntimeError
        From torch when ``x`` and ``y`` have different numbers of columns ``D``.

    References
    ----------
    Seed 000, eq. 11 (Euclidean feature distance). Hermans, Beyer, Leibe, "In Defense of the
    Triplet Loss for Person Re-Identification", arXiv:1703.07737, 2017.

    Examples
    --------
    >>> pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]])).tolist()   # 3-4-5 triangle
    [[0.0, 5.0], [5.0, 0.0]]
    >>> pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([[0.0, 4.0]])).tolist()
    [[4.0], [3.0]]
    >>> pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), squared=True).tolist()
    [[0.0, 25.0], [25.0, 0.0]]
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
    labels : Tensor (N,) of int
        Identity labels.
    margin : float
        ``α`` (0.3, BoT).

    Returns
    -------
    Tensor (scalar)
        The loss averaged over all ``N`` anchors.

    Raises
    ------
    TypeError
        For non-tensor ``features`` / ``labels`` or floating-point labels.
    ValueError
        For ``features`` not (N, D), ``labels`` not (N,), or a negative / non-finite margin.

    References
    ----------
    Seed 000, section 2.3, eq. 11. Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for
    Person Re-Identification", arXiv:1703.07737, 2017 (batch-hard mining). Luo et al., "Bag of
    Tricks and a Strong Baseline for Deep Person Re-identification", CVPRW 2019 (α = 0.3).

    Examples
    --------
    Well-separated identities: every hinge is inactive.

    >>> f = torch.tensor([[0.0], [1.0], [3.0], [3.5]])
    >>> round(batch_hard_triplet_loss(f, torch.tensor([0, 0, 1, 1])).item(), 4)
    0.0

    Interleaved identities, by hand: anchors 0, 2, 1, 5 have (hardest positive, hardest
    negative) = (2, 1), (2, 1), (4, 1), (4, 3), so the loss is
    ``(1.3 + 1.3 + 3.3 + 1.3) / 4 = 1.8``.

    >>> f = torch.tensor([[0.0], [2.0], [1.0], [5.0]])
    >>> round(batch_hard_triplet_loss(f, torch.tensor([0, 0, 1, 1])).item(), 4)
    1.8
    """
    features, labels = _check_pair(features, labels, "features")
    _check_margin(margin)
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
    labels : Tensor (B,) of int, values in [0, N)
        True identities.
    epsilon : float
        ``ε`` (0.1); 0 gives the plain cross-entropy.

    Returns
    -------
    Tensor (scalar)
        ``−Σ_i q_i log p_i`` with ``p = softmax(logits)``, averaged over the batch.

    Raises
    ------
    TypeError
        For non-tensor ``logits`` / ``labels`` or floating-point labels.
    ValueError
        For ``logits`` not (B, N), ``labels`` not (B,), labels outside [0, N) or ε outside
        [0, 1].

    References
    ----------
    Seed 000, section 2.3, eqs. 12–14. Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking
    the Inception Architecture for Computer Vision", CVPR 2016 (label smoothing).

    Examples
    --------
    >>> import math
    >>> z = torch.zeros(1, 4)          # uniform prediction: loss = log 4 whatever ε
    >>> round(label_smoothing_cross_entropy(z, torch.tensor([2])).item(), 4), round(math.log(4), 4)
    (1.3863, 1.3863)

    Two classes with ``p = (0.25, 0.75)``, true class 1, ε = 0.2: ``q = (0.1, 0.9)``.

    >>> z = torch.log(torch.tensor([[1.0, 3.0]]))
    >>> loss = label_smoothing_cross_entropy(z, torch.tensor([1]), 0.2).item()
    >>> round(loss, 4), round(-(0.1 * math.log(0.25) + 0.9 * math.log(0.75)), 4)
    (0.3975, 0.3975)
    """
    logits, labels = _check_pair(logits, labels, "logits")
    _check_epsilon(epsilon)
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
        _check_margin(margin)
        _check_epsilon(epsilon)
        self.margin = float(margin)
        self.epsilon = float(epsilon)

    def forward(self, features: Tensor, logits: Tensor, labels: Tensor) -> dict[str, Tensor]:
        tri = batch_hard_triplet_loss(features, labels, self.margin)
        ce = label_smoothing_cross_entropy(logits, labels, self.epsilon)
        return {"loss": tri + ce, "triplet": tri, "ce": ce}


def shortest_path_distance(dist: Tensor) -> Tensor:
    """Length of the shortest monotone path from the top-left to the bottom-right of ``dist``.

    ``S[i, j] = min(S[i-1, j], S[i, j-1]) + dist[i, j]`` (AlignedReID++'s dynamic matching;
    only moves down or right). Batched over the leading dimensions.

    Parameters
    ----------
    dist : Tensor (..., m, n)
        Non-negative element distances.

    Returns
    -------
    Tensor (...)
        ``S[m-1, n-1]``.

    Raises
    ------
    ValueError
        For fewer than two dimensions.

    References
    ----------
    Luo et al., AlignedReID++ (2019), eq. 2; public code ``shortest_dist``.

    Examples
    --------
    >>> d = torch.tensor([[0.0, 5.0], [1.0, 0.0]])
    >>> shortest_path_distance(d).item()   # down then right: 0 + 1 + 0
    1.0
    """
    if not isinstance(dist, Tensor) or dist.ndim < 2:
        raise ValueError(f"dist: expected a tensor of shape (..., m, n), got {getattr(dist, 'shape', type(dist).__name__)}")
    m, n = dist.shape[-2:]
    prev: list[Tensor] = []
    for i in range(m):
        row: list[Tensor] = []
        for j in range(n):
            d = dist[..., i, j]
            if i == 0 and j == 0:
                row.append(d)
            elif i == 0:
                row.append(row[j - 1] + d)
            elif j == 0:
                row.append(prev[0] + d)
            else:
                row.append(torch.minimum(prev[j], row[j - 1]) + d)
        prev = row
    return prev[-1]


def local_distance(x: Tensor, y: Tensor) -> Tensor:
    """Dynamically matched local distance (DMLI) between paired stripe features.

    Element distances between the stripes of ``x[b]`` and ``y[b]`` are Euclidean, normalised by
    ``(e^d − 1) / (e^d + 1)`` into [0, 1), and aligned by the shortest path
    (:func:`shortest_path_distance`).

    Parameters
    ----------
    x : Tensor (N, S, d)
        Stripe features of the first images (AlignedReID++ normalises each stripe to unit
        length).
    y : Tensor (N, S', d)
        Stripe features of the images paired with them (``S'`` may differ from ``S``).

    Returns
    -------
    Tensor (N,)
        ``out[b]``: the aligned local distance between ``x[b]`` and ``y[b]``; each element
        distance lies in [0, 1), so ``0 <= out[b] < S + S' − 1``.

    Raises
    ------
    ValueError
        For non-tensors, or shapes that do not pair up (not 3-D, different ``N`` or ``d``).

    References
    ----------
    Luo, Jiang, Zhang, Fan, Zhang, Xu, Gu, Lai, Feng, "AlignedReID++: Dynamically matching
    local information for person re-identification", Pattern Recognition 94, 2019, eqs. 1–2;
    public code ``batch_local_dist``.

    Examples
    --------
    ``(e^d − 1) / (e^d + 1) = tanh(d / 2)``; two orthogonal unit stripes are ``√2`` apart.

    >>> import math
    >>> a = torch.tensor([[[1.0, 0.0]]]); b = torch.tensor([[[0.0, 1.0]]])
    >>> round(local_distance(a, b).item(), 4), round(math.tanh(math.sqrt(2) / 2), 4)
    (0.6089, 0.6089)
    >>> a = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> round(local_distance(a, a).item(), 4)   # 0 + tanh(sqrt(2) / 2) + 0: a path crosses one off-diagonal cell
    0.6089
    >>> local_distance(torch.ones(3, 4, 2), torch.ones(3, 5, 2)).shape
    torch.Size([3])
    """
    if not isinstance(x, Tensor) or not isinstance(y, Tensor) or x.ndim != 3 or y.ndim != 3 \
            or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ValueError(f"x, y: expected (N, S, d) and (N, S', d) stripe features, got "
                         f"{getattr(x, 'shape', None)} and {getattr(y, 'shape', None)}")
    d2 = (x * x).sum(-1, keepdim=True) + (y * y).sum(-1).unsqueeze(1) - 2.0 * x @ y.transpose(1, 2)
    d = d2.clamp(min=1e-12).sqrt()
    d = (torch.exp(d) - 1.0) / (torch.exp(d) + 1.0)
    return shortest_path_distance(d)


def aligned_triplet_loss(features: Tensor, local: Tensor, labels: Tensor, margin: float = 0.3) -> tuple[Tensor, Tensor]:
    """AlignedReID++ triplet losses: batch-hard global loss and local loss on the same pairs.

    The global loss is the batch-hard triplet loss on global distances; the local loss uses the
    same mined pairs on the aligned local distance. The hardest positive / negative of every anchor is chosen by the *global* Euclidean
    distance (the anchor itself excluded); the local loss is the hinge on the DMLI distances of
    these pairs (public code ``TripletLossAlignedReID``).

    Parameters
    ----------
    features : Tensor (N, D)
        Global features.
    local : Tensor (N, S, d)
        Stripe features.
    labels : Tensor (N,) of int
        Identities.
    margin : float
        Margin of both hinges (0.3).

    Returns
    -------
    global_loss : Tensor (scalar)
        Batch-hard triplet loss on the global features (equals
        :func:`batch_hard_triplet_loss`).
    local_loss : Tensor (scalar)
        Hinge on the local distances of the same mined pairs, averaged over the anchors.

    Raises
    ------
    TypeError
        For non-tensor ``features`` / ``labels`` or floating-point labels.
    ValueError
        For bad shapes (``local`` not (N, S, d)) or a non-finite / negative margin.

    References
    ----------
    Luo, Jiang, Zhang, Fan, Zhang, Xu, Gu, Lai, Feng, "AlignedReID++: Dynamically matching
    local information for person re-identification", Pattern Recognition 94, 2019, section 3;
    public code ``TripletLossAlignedReID``. Hermans, Beyer, Leibe, "In Defense of the Triplet
    Loss for Person Re-Identification", 2017 (batch-hard mining).

    Examples
    --------
    Global features well separated (global hinge 0); all stripes identical, so every local
    distance is 0 and each local hinge equals the margin 0.3.

    >>> f = torch.tensor([[0.0], [1.0], [3.0], [3.5]])
    >>> lf = torch.nn.functional.normalize(torch.ones(4, 2, 2), dim=-1)
    >>> g, l = aligned_triplet_loss(f, lf, torch.tensor([0, 0, 1, 1]))
    >>> round(g.item(), 4), round(l.item(), 4)
    (0.0, 0.3)
    """
    features, labels = _check_pair(features, labels, "features")
    _check_margin(margin)
    if not isinstance(local, Tensor) or local.ndim != 3 or local.shape[0] != features.shape[0]:
        raise ValueError(f"local: expected ({features.shape[0]}, S, d) stripe features, got {getattr(local, 'shape', None)}")
    dist = pairwise_distance(features)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos, neg = same & ~eye, ~same
    ap, p_idx = torch.where(pos, dist, torch.full_like(dist, float("-inf"))).max(1)
    an, n_idx = torch.where(neg, dist, torch.full_like(dist, float("inf"))).min(1)
    valid = pos.any(1) & neg.any(1)
    zero = torch.zeros_like(ap)
    g = torch.where(valid, F.relu(ap - an + margin), zero).mean()
    lap = local_distance(local, local[p_idx])
    lan = local_distance(local, local[n_idx])
    loc = torch.where(valid, F.relu(lap - lan + margin), zero).mean()
    return g, loc


class AlignedReIDLoss(nn.Module):
    """AlignedReID++ objective: global batch-hard triplet + aligned local triplet + LS-CE.

    Parameters
    ----------
    margin : float
        Margin of both triplet terms (0.3).
    epsilon : float
        Label smoothing ε (0.1).

    Examples
    --------
    >>> loss = AlignedReIDLoss()
    >>> f = torch.tensor([[0.0], [1.0], [3.0], [3.5]]); lf = torch.ones(4, 2, 1)
    >>> sorted(loss(f, torch.zeros(4, 2), torch.tensor([0, 0, 1, 1]), lf))
    ['ce', 'local', 'loss', 'triplet']
    """

    def __init__(self, margin: float = 0.3, epsilon: float = 0.1) -> None:
        super().__init__()
        _check_margin(margin)
        _check_epsilon(epsilon)
        self.margin = float(margin)
        self.epsilon = float(epsilon)

    def forward(self, features: Tensor, logits: Tensor, labels: Tensor, local: Tensor) -> dict[str, Tensor]:
        g, loc = aligned_triplet_loss(features, local, labels, self.margin)
        ce = label_smoothing_cross_entropy(logits, labels, self.epsilon)
        return {"loss": g + loc + ce, "triplet": g, "local": loc, "ce": ce}
