"""Deep Mis-Ranking (DMR) attack on re-identification models, white-box, perturbing queries only.

Two versions, both bounded in L∞ by ``ε`` (16/255 by default, pixel units of [0, 1] images):

(a) ``dmr-pgd`` — projected gradient descent on the DMR objective
    ``L = L_adv_etri + ζ · L_adv_xent``:

    * mis-ranking loss (Wang et al. 2020, eq. 2): for every attacked sample ``x̂_k``,
      ``[max_{neg} ||f(x̂_k) − f(x_neg)||² − min_{pos} ||f(x̂_k) − f(x_pos)||² + Δ]_+`` where the
      references are the *clean* features of the other samples of the batch (each sample's
      distance to its own clean copy is excluded): minimising it pulls the farthest
      different-identity sample closer than the nearest same-identity one;
    * least-likely-class cross-entropy (eq. 3): the classifier is pushed towards the class it
      finds least likely on the clean image, with label smoothing δ.

    Queries are attacked in batches grouped by identity, so every query has same-identity
    references when the data set has several queries per identity (Market-1501 has up to 6).

(b) ``dmr-gan`` — the generator version of the paper: a ResNet generator (CycleGAN-style:
    7×7 stem, two down-sampling convolutions, residual blocks, two up-sampling convolutions)
    outputs ``ε · tanh(·)``; it is trained against the frozen target model on the training split
    with ``L_G = L_adv_etri + ζ L_adv_xent + η L_GAN + λ L_percept``, where ``L_GAN`` is the
    non-saturating loss against a multi-stage discriminator (three convolutional stages, each
    with its own real/fake head, as DMR's multi-stage discriminator) and ``L_percept`` is
    ``1 − SSIM`` between clean and adversarial images (DMR uses a perceptual colour distance;
    SSIM is used here as a simpler perceptibility term — a documented deviation). DMR's
    controllable pixel mask is not implemented (every pixel may change, within ε).

References
----------
Seed 000, section 3.3 (DMR attack, white-box). Wang, Wang, Li, Zhang, Lin, "Transferable,
Controllable, and Inconspicuous Adversarial Attacks on Person Re-identification With Deep
Mis-Ranking", CVPR 2020. Madry et al., "Towards Deep Learning Models Resistant to Adversarial
Attacks", ICLR 2018 (PGD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ATTACKS",
    "AttackConfig",
    "misranking_loss",
    "least_likely_loss",
    "dmr_pgd",
    "DMRGenerator",
    "MultiStageDiscriminator",
    "GANConfig",
    "train_dmr_gan",
    "gan_perturb",
    "attack_images",
    "check_epsilon",
]

#: valid attack names
ATTACKS = ("none", "dmr-pgd", "dmr-gan")


def check_epsilon(epsilon: float) -> float:
    """Validate an L∞ budget given in 0–255 pixel units; returns it in [0, 1] units.

    Raises
    ------
    ValueError
        Unless ``0 < epsilon <= 255``.

    Examples
    --------
    >>> round(check_epsilon(16), 4)
    0.0627
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not np.isfinite(epsilon) or not 0 < epsilon <= 255:
        raise ValueError(f"epsilon: expected an L-inf budget in (0, 255] pixel levels (e.g. 16 for 16/255), got {epsilon!r}")
    return float(epsilon) / 255.0


@dataclass
class AttackConfig:
    """Options of the DMR objective and its PGD version.

    Attributes
    ----------
    epsilon : float
        L∞ budget in pixel levels out of 255 (16).
    steps : int
        PGD iterations (10).
    step_size : float, optional
        PGD step in pixel levels; ``None`` = ε/4.
    margin : float
        Δ of the mis-ranking loss (0.5).
    zeta : float
        Weight ζ of the least-likely-class term (1.0).
    delta : float
        Label smoothing δ of the least-likely-class term (0.1).
    random_start : bool
        Start PGD from a uniform point in the ε-ball (True).
    batch_size : int
        Queries per attacked batch (grouped by identity) (32).
    seed : int
        Seed of the random start.
    """

    epsilon: float = 16.0
    steps: int = 10
    step_size: float | None = None
    margin: float = 0.5
    zeta: float = 1.0
    delta: float = 0.1
    random_start: bool = True
    batch_size: int = 32
    seed: int = 0

    def validate(self) -> None:
        check_epsilon(self.epsilon)
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps: expected a positive int, got {self.steps!r}")
        if self.step_size is not None and not 0 < self.step_size <= 255:
            raise ValueError(f"step_size: expected a number in (0, 255], got {self.step_size!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"batch_size: expected an int >= 2, got {self.batch_size!r}")


def misranking_loss(adv: Tensor, ref: Tensor, labels: Tensor, margin: float = 0.5) -> Tensor:
    """DMR mis-ranking loss ``mean_k [max_neg d(x̂_k, x_neg) − min_pos d(x̂_k, x_pos) + Δ]_+``.

    ``d`` is the squared Euclidean distance between the adversarial features ``adv`` and the
    clean reference features ``ref`` (row ``k`` of ``ref`` is the clean copy of ``adv[k]`` and is
    excluded). Samples without a same-identity reference use only the negative term.

    Parameters
    ----------
    adv, ref : Tensor (N, D)
    labels : Tensor (N,)
    margin : float

    Examples
    --------
    >>> ref = torch.tensor([[0.0], [1.0], [5.0]]); lab = torch.tensor([0, 0, 1])
    >>> round(misranking_loss(ref.clone(), ref, lab, margin=0.0).item(), 4)  # (24 + 15 + 25) / 3
    21.3333
    """
    if adv.shape != ref.shape or adv.ndim != 2:
        raise ValueError(f"adv, ref: expected two (N, D) tensors of equal shape, got {tuple(adv.shape)} and {tuple(ref.shape)}")
    d = (adv * adv).sum(1, keepdim=True) + (ref * ref).sum(1)[None] - 2 * adv @ ref.T
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=adv.device)
    pos, neg = same & ~eye, ~same
    far_neg = torch.where(neg, d, torch.full_like(d, float("-inf"))).max(1).values
    near_pos = torch.where(pos, d, torch.full_like(d, float("inf"))).min(1).values
    near_pos = torch.where(pos.any(1), near_pos, torch.zeros_like(near_pos))
    far_neg = torch.where(neg.any(1), far_neg, torch.zeros_like(far_neg))
    return F.relu(far_neg - near_pos + margin).mean()


def least_likely_loss(logits: Tensor, target: Tensor, delta: float = 0.1) -> Tensor:
    """Cross-entropy towards the least-likely class ``target`` with label smoothing ``δ`` (DMR eq. 3).

    Examples
    --------
    >>> round(least_likely_loss(torch.zeros(1, 2), torch.tensor([1])).item(), 4)
    0.6931
    """
    n = logits.shape[1]
    q = torch.full_like(logits, delta / n)
    q.scatter_(1, target[:, None], 1.0 - delta + delta / n)
    return -(q * F.log_softmax(logits, 1)).sum(1).mean()


def _objective(model: nn.Module, x_adv: Tensor, ref: Tensor, labels: Tensor, ll_target: Tensor, cfg: AttackConfig) -> Tensor:
    out = model(x_adv)
    feats = out.retrieval(model.config.test_feature)
    loss = misranking_loss(feats, ref, labels, cfg.margin)
    if cfg.zeta:
        loss = loss + cfg.zeta * least_likely_loss(out.logits, ll_target, cfg.delta)
    return loss


def dmr_pgd(model: nn.Module, images: Tensor, labels: Tensor, config: AttackConfig | None = None,
            generator: torch.Generator | None = None) -> Tensor:
    """PGD on the DMR objective for one batch; returns adversarial images in [0, 1].

    Parameters
    ----------
    model : NFDReID
        Target (white-box), put in eval mode; its parameters are not changed.
    images : Tensor (N, 3, H, W) in [0, 1]
        Clean images.
    labels : Tensor (N,)
        Identities (used to find same / different identity references inside the batch).
    config : AttackConfig
    generator : torch.Generator, optional
        Random start.

    Returns
    -------
    Tensor
        ``x̂`` with ``|x̂ − x|_∞ <= ε`` and values in [0, 1].

    Raises
    ------
    TypeError, ValueError
        For bad tensors or options.
    """
    cfg = config or AttackConfig()
    cfg.validate()
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected a (N, 3, H, W) tensor in [0, 1], got {getattr(images, 'shape', type(images).__name__)}")
    if not isinstance(labels, Tensor) or labels.shape != (images.shape[0],):
        raise ValueError(f"labels: expected shape ({images.shape[0]},), got {getattr(labels, 'shape', type(labels).__name__)}")
    eps = check_epsilon(cfg.epsilon)
    alpha = (cfg.step_size / 255.0) if cfg.step_size is not None else eps / 4
    was_training = model.training
    model.eval()
    req = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            clean = model(images)
            ref = clean.retrieval(model.config.test_feature)
            ll_target = clean.logits.argmin(1)
        x = images.clone()
        if cfg.random_start:
            noise = (torch.rand(images.shape, generator=generator) * 2 - 1).to(images) * eps
            x = (images + noise).clamp(0, 1)
        for _ in range(cfg.steps):
            x.requires_grad_(True)
            loss = _objective(model, x, ref, labels, ll_target, cfg)
            (grad,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                x = x - alpha * grad.sign()  # descend: the attacker minimises the DMR loss
                x = torch.min(torch.max(x, images - eps), images + eps).clamp(0, 1)
        return x.detach()
    finally:
        for p, r in zip(model.parameters(), req):
            p.requires_grad_(r)
        model.train(was_training)


# --------------------------------------------------------------------------- GAN version
class _ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class DMRGenerator(nn.Module):
    """ResNet generator producing an L∞-bounded perturbation ``ε · tanh(G(x))``.

    Parameters
    ----------
    ngf : int
        Channels of the first layer (64 in CycleGAN / DMR; smaller for CPU).
    n_blocks : int
        Residual blocks (6).

    Examples
    --------
    >>> g = DMRGenerator(ngf=4, n_blocks=1)
    >>> tuple(g(torch.rand(1, 3, 32, 16)).shape)
    (1, 3, 32, 16)
    """

    def __init__(self, ngf: int = 64, n_blocks: int = 6) -> None:
        super().__init__()
        if not isinstance(ngf, int) or ngf < 1 or not isinstance(n_blocks, int) or n_blocks < 0:
            raise ValueError(f"ngf, n_blocks: expected positive ints, got {ngf!r}, {n_blocks!r}")
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        c = ngf
        for _ in range(2):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
            c *= 2
        layers += [_ResBlock(c) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1), nn.InstanceNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, 3, 7)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Unit perturbation in [-1, 1] (same size as ``x``; sizes not divisible by 4 are cropped/padded)."""
        y = self.net(x)
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.tanh(y)


class MultiStageDiscriminator(nn.Module):
    """Discriminator with a real/fake head after each of three convolutional stages.

    The logits of every stage are averaged over positions and summed, so the decision uses
    low-, mid- and high-level statistics (DMR's multi-stage discriminator).

    Examples
    --------
    >>> d = MultiStageDiscriminator(ndf=4)
    >>> tuple(d(torch.rand(2, 3, 32, 16)).shape)
    (2,)
    """

    def __init__(self, ndf: int = 64) -> None:
        super().__init__()
        chans = [3, ndf, 2 * ndf, 4 * ndf]
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1),
                          nn.InstanceNorm2d(chans[i + 1]) if i else nn.Identity(), nn.LeakyReLU(0.2, True))
            for i in range(3)
        )
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 3, padding=1) for c in chans[1:])

    def forward(self, x: Tensor) -> Tensor:
        total = 0
        for stage, head in zip(self.stages, self.heads):
            x = stage(x)
            total = total + head(x).mean(dim=(1, 2, 3))
        return total


def _ssim(x: Tensor, y: Tensor, window: int = 7) -> Tensor:
    """Mean SSIM of two image batches (uniform window, data range 1)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    pool = lambda t: F.avg_pool2d(t, window, 1, window // 2, count_include_pad=False)  # noqa: E731
    mx, my = pool(x), pool(y)
    vx, vy = pool(x * x) - mx * mx, pool(y * y) - my * my
    cxy = pool(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.mean()


@dataclass
class GANConfig:
    """Training options of the DMR generator.

    Attributes
    ----------
    epochs : int
        Passes over the training split (DMR trains for 40 on Market; few suffice on synthetic).
    ngf, ndf, n_blocks : int
        Generator / discriminator widths and residual blocks (64, 64, 6 in DMR).
    lr : float
        Adam learning rate (2e-4, betas 0.5 / 0.999).
    eta : float
        Weight η of the GAN term (1.0).
    perceptibility : float
        Weight λ of ``1 − SSIM`` (1.0).
    batch_p, batch_k : int
        Identities × images per batch (8 × 4).
    seed : int
    """

    epochs: int = 10
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 6
    lr: float = 2e-4
    eta: float = 1.0
    perceptibility: float = 1.0
    batch_p: int = 8
    batch_k: int = 4
    seed: int = 0


def gan_perturb(generator: DMRGenerator, images: Tensor, epsilon: float = 16.0) -> Tensor:
    """Adversarial images ``clip(x + ε · G(x), 0, 1)`` (ε in pixel levels)."""
    eps = check_epsilon(epsilon)
    return (images + eps * generator(images)).clamp(0, 1)


def train_dmr_gan(model: nn.Module, split, attack: AttackConfig | None = None, config: GANConfig | None = None,
                  *, progress: bool = False) -> DMRGenerator:
    """Train the DMR generator against the frozen ``model`` on a labelled split (e.g. training set).

    Parameters
    ----------
    model : NFDReID
        Frozen target.
    split : ReIDSplit
        Labelled images (``labels`` or ``pids``).
    attack : AttackConfig
        ε, margin, ζ, δ of the objective.
    config : GANConfig
        Generator training options.

    Returns
    -------
    DMRGenerator
        In eval mode.
    """
    from torch.utils.data import DataLoader

    from nlvision.reid.data import PKSampler, ReIDImageDataset

    acfg = attack or AttackConfig()
    acfg.validate()
    cfg = config or GANConfig()
    torch.manual_seed(cfg.seed)
    eps = check_epsilon(acfg.epsilon)
    size = (model.config.height, model.config.width_px)
    labels = split.labels if split.labels is not None else split.pids
    ds = ReIDImageDataset(split, size, train=False)
    p = min(cfg.batch_p, len(np.unique(labels)))
    loader = DataLoader(ds, batch_sampler=PKSampler(labels, p=p, k=cfg.batch_k, seed=cfg.seed))
    gen, disc = DMRGenerator(cfg.ngf, cfg.n_blocks), MultiStageDiscriminator(cfg.ndf)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    model.eval()
    req = [q.requires_grad for q in model.parameters()]
    for q in model.parameters():
        q.requires_grad_(False)
    try:
        for _ in range(cfg.epochs):
            for images, lab, _, _ in loader:
                lab = torch.as_tensor(lab)
                with torch.no_grad():
                    clean = model(images)
                    ref = clean.retrieval(model.config.test_feature)
                    ll = clean.logits.argmin(1)
                adv = (images + eps * gen(images)).clamp(0, 1)
                # discriminator step
                d_real, d_fake = disc(images), disc(adv.detach())
                loss_d = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + \
                    F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
                # generator step
                out = model(adv)
                feats = out.retrieval(model.config.test_feature)
                d_adv = disc(adv)
                loss_g = misranking_loss(feats, ref, lab, acfg.margin) \
                    + acfg.zeta * least_likely_loss(out.logits, ll, acfg.delta) \
                    + cfg.eta * F.binary_cross_entropy_with_logits(d_adv, torch.ones_like(d_adv)) \
                    + cfg.perceptibility * (1 - _ssim(images, adv))
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
    finally:
        for q, r in zip(model.parameters(), req):
            q.requires_grad_(r)
    return gen.eval()


def _identity_batches(pids: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Index batches with the queries of an identity kept together (sorted by identity)."""
    order = np.argsort(pids, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def attack_images(model: nn.Module, images: Tensor, pids: np.ndarray, method: str = "dmr-pgd",
                  config: AttackConfig | None = None, *, generator_net: DMRGenerator | None = None,
                  seed: int = 0) -> Tensor:
    """Attack a set of (query) images; returns the adversarial images in the original order.

    Parameters
    ----------
    model : NFDReID
        Target model (white-box).
    images : Tensor (N, 3, H, W) in [0, 1]
        Query images at the model's input size.
    pids : ndarray (N,)
        Query identities.
    method : {"none", "dmr-pgd", "dmr-gan"}
    config : AttackConfig
    generator_net : DMRGenerator
        Required for ``"dmr-gan"`` (see :func:`train_dmr_gan`).
    seed : int
        Seed of PGD's random start.

    Raises
    ------
    ValueError
        For an unknown method (listing the valid ones), a missing generator or bad ε.
    """
    if method not in ATTACKS:
        raise ValueError(f"attack: unknown attack {method!r}; valid: {list(ATTACKS)}")
    cfg = config or AttackConfig()
    cfg.validate()
    pids = np.asarray(pids)
    if len(pids) != len(images):
        raise ValueError(f"pids: expected {len(images)} identities, got {len(pids)}")
    if method == "none":
        return images.clone()
    out = torch.empty_like(images)
    g = torch.Generator().manual_seed(int(seed))
    if method == "dmr-gan":
        if generator_net is None:
            raise ValueError("generator_net: the dmr-gan attack needs a trained generator (train_dmr_gan)")
        with torch.no_grad():
            for idx in _identity_batches(pids, cfg.batch_size):
                out[idx] = gan_perturb(generator_net, images[idx], cfg.epsilon)
        return out
    for idx in _identity_batches(pids, cfg.batch_size):
        lab = torch.as_tensor(pids[idx])
        out[idx] = dmr_pgd(model, images[idx], lab, cfg, generator=g)
    return out
