"""Deep Mis-Ranking (DMR) attacks on re-identification models, perturbing queries only.

Both versions follow the paper and its public code (github.com/whj363636/Adversarial-attack-
on-Person-ReID-With-Deep-Mis-Ranking, files ``advloss.py``, ``GD.py``, ``train.py``,
``opts.py``) and are bounded in L∞ by ``ε`` given in 1/255 pixel units (16 = 16/255, DMR's
``--mag_in``).

Objective (``advloss.py``), minimised by the attacker:

* mis-ranking loss :func:`misranking_loss` — ``log mean_k [max_neg d(x̂_k, x̂_n) −
  min_pos d(x̂_k, x̂_p) + Δ]_+`` on Euclidean distances between the *adversarial* features of
  the batch, Δ = 0.3 (``--margin``); as in the public code the anchor itself is among its
  positives (``exclude_self=False``), so the positive term is ~0 and the loss pulls the
  farthest other identity closer; ``exclude_self=True`` is the paper's reading (other
  positives only);
* least-likely-class cross-entropy :func:`least_likely_loss` — ``log CE`` towards the class the
  classifier finds least likely on the adversarial image, smoothed by δ = 0.1 over the other
  classes except those of the batch's identities (``adv_CrossEntropyLabelSmooth``).

(a) ``dmr-pgd`` — projected gradient descent (Madry et al. 2018) on that objective: ``steps``
    signed-gradient steps of ``step_size`` (default ε/4) from a random start, projected on the
    ε-ball and [0, 1]. Queries are attacked in batches grouped by identity so that positives
    exist. DMR itself is a generator; PGD on its loss is the seed's "independent adversarial
    sample set" computed directly.
(b) ``dmr-gan`` — the generator version: :class:`DMRGenerator` (ResNet generator, 2 down- and 2
    up-sampling convolutions, 6 residual blocks, width ``ngf=32``, BatchNorm, spectral norm,
    tanh), the perturbation mapped as DMR's ``L_norm`` (``(t+1)/2`` normalised by the ImageNet
    mean, then each sample's channel rescaled so that its L∞ norm is at most ε), an LSGAN loss
    (MSE) against :class:`MultiStageDiscriminator` (three sub-discriminators at three scales,
    spectral norm, input = the (clean, adversarial) pair on 6 channels; "real" pairs are two
    clean images), an optional top-k pixel mask from the discriminator's features
    (``mask_pixels``, DMR's ``--temperature``), and DMR's weights
    ``L_G = L_GAN + 10 · (L_xent + L_etri) + 0.1 · (1 − SSIM)``; Adam 2e-4, β = (0.5, 0.999).

Deliberate differences, each an option with its reason:

* ``clip=True`` — adversarial images are clipped to [0, 1] (DMR adds the perturbation in
  normalised space and never clips; a stored image must be a valid image).
* ``log_eps`` — ``log(loss + 1e-12)`` instead of ``log(loss)``: the hinge can reach 0 and
  ``log 0`` is ``-inf`` (then NaN gradients).
* SSIM instead of MS-SSIM (``use_SSIM=2``): MS-SSIM's five scales need image sides of at
  least 161 pixels; the CPU study runs at 64 × 32.
* ``gan_stages="last"`` reproduces the public code, whose ``GANLoss`` only scores the last
  (coarsest) stage's prediction; ``"all"`` sums the three stages (the paper's description).
* The mask head is a 1 × 1 convolution over the first stage's features (DMR's UpLayer pyramid
  is sized for 256 × 128 inputs); as in DMR's default path the hard top-k selection passes no
  gradient to it.
* Features: the attacked feature is the model's retrieval feature (what is ranked; BoT:
  after the BNNeck, L2-normalised), with the target in evaluation mode.

References
----------
Seed 000, section 3.3. Wang, Wang, Li, Zhang, Lin, "Transferable, Controllable, and
Inconspicuous Adversarial Attacks on Person Re-identification With Deep Mis-Ranking", CVPR
2020. Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.
Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ATTACKS",
    "AttackConfig",
    "check_epsilon",
    "misranking_loss",
    "least_likely_loss",
    "dmr_pgd",
    "DMRGenerator",
    "MultiStageDiscriminator",
    "DMRGan",
    "GANConfig",
    "train_dmr_gan",
    "attack_images",
]

#: valid attack names
ATTACKS = ("none", "dmr-pgd", "dmr-gan")
_LOG_EPS = 1e-12


def check_epsilon(epsilon: float, name: str = "epsilon") -> float:
    """Validate an L∞ budget given in 1/255 pixel units; returns it in [0, 1] units.

    Raises
    ------
    ValueError
        Unless ``1 <= epsilon <= 255``; a value below 1 (e.g. 0.0627) gets a hint that the unit
        is 1/255.

    Examples
    --------
    >>> round(check_epsilon(16), 4)
    0.0627
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)) or not math.isfinite(epsilon):
        raise ValueError(f"{name}: expected an L-inf budget in [1, 255] (1/255 units, e.g. 16 for 16/255), got {epsilon!r}")
    if epsilon < 1:
        raise ValueError(f"{name}: {epsilon!r} is below 1; the budget is in 1/255 units "
                         f"(did you mean {epsilon * 255:.3g}, i.e. {epsilon:g} in [0, 1] pixel units?)")
    if epsilon > 255:
        raise ValueError(f"{name}: expected an L-inf budget in [1, 255] (1/255 units), got {epsilon!r}")
    return float(epsilon) / 255.0


@dataclass
class AttackConfig:
    """Options of the DMR objective and its PGD version (public-code defaults).

    Parameters
    ----------
    epsilon : float
        L∞ budget in 1/255 units (16, DMR's ``--mag_in``).
    steps : int
        PGD iterations (10).
    step_size : float, optional
        PGD step in 1/255 units; ``None`` = ε/4.
    margin : float
        Δ of the mis-ranking loss (0.3, DMR's ``--margin``).
    exclude_self : bool
        Leave the anchor out of its positives (paper's reading; False = public code).
    zeta : float
        Weight of the least-likely-class term relative to the mis-ranking term (1, as DMR).
    delta : float
        Smoothing of the least-likely-class target (0.1).
    random_start : bool
        Start PGD from a uniform point of the ε-ball (True).
    clip : bool
        Clip adversarial images to [0, 1] (True; DMR does not, see the module docstring).
    batch_size : int
        Queries per attacked batch, grouped by identity (32, DMR's test batch).
    seed : int
        Seed of the random start.

    Examples
    --------
    >>> AttackConfig(epsilon=8).step_size_pixels()
    0.00784313725490196
    """

    epsilon: float = 16.0
    steps: int = 10
    step_size: float | None = None
    margin: float = 0.3
    exclude_self: bool = False
    zeta: float = 1.0
    delta: float = 0.1
    random_start: bool = True
    clip: bool = True
    batch_size: int = 32
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field."""
        check_epsilon(self.epsilon)
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1:
            raise ValueError(f"steps: expected a positive int, got {self.steps!r}")
        if self.step_size is not None:
            check_epsilon(self.step_size, "step_size")
        for name, lo, hi in (("margin", 0.0, math.inf), ("zeta", 0.0, math.inf), ("delta", 0.0, 1.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
                raise ValueError(f"{name}: expected a finite number in [{lo:g}, {hi:g}], got {v!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"batch_size: expected an int >= 2, got {self.batch_size!r}")

    def step_size_pixels(self) -> float:
        """PGD step in [0, 1] pixel units."""
        return (self.step_size if self.step_size is not None else self.epsilon / 4) / 255.0


def misranking_loss(features: Tensor, labels: Tensor, margin: float = 0.3, *, exclude_self: bool = False,
                    log: bool = True) -> Tensor:
    """DMR's mis-ranking loss on a batch of adversarial features (``adv_TripletLoss``, untargeted).

    ``L = log mean_k [max_{n: y_n ≠ y_k} d(k, n) − min_{p: y_p = y_k} d(k, p) + Δ]_+`` with
    Euclidean ``d``; with ``exclude_self=False`` (public code) ``p`` may be ``k`` itself.
    Samples without a negative in the batch contribute 0.

    Parameters
    ----------
    features : Tensor (N, D)
        Features of the adversarial images.
    labels : Tensor (N,)
        Identities.
    margin : float
        Δ (0.3).
    exclude_self : bool
        Leave the anchor out of its positives.
    log : bool
        Return ``log(L + 1e-12)`` (DMR) rather than ``L``.

    Returns
    -------
    Tensor
        Scalar loss (the attacker minimises it).

    Raises
    ------
    ValueError
        For mismatched shapes.

    References
    ----------
    Wang et al., CVPR 2020, eq. 2; public code ``advloss.adv_TripletLoss``.

    Examples
    --------
    >>> f = torch.tensor([[0.0], [1.0], [5.0]]); y = torch.tensor([0, 0, 1])
    >>> round(misranking_loss(f, y, 0.0, log=False).item(), 4)   # (5 + 4 + 5) / 3, self as positive
    4.6667
    >>> round(misranking_loss(f, y, 0.0, exclude_self=True, log=False).item(), 4)   # (4 + 3 + 0) / 3: no other positive
    2.3333
    """
    if not isinstance(features, Tensor) or features.ndim != 2 or not isinstance(labels, Tensor) or labels.shape != (features.shape[0],):
        raise ValueError(f"features, labels: expected (N, D) and (N,) tensors, got {getattr(features, 'shape', None)} "
                         f"and {getattr(labels, 'shape', None)}")
    sq = (features * features).sum(1, keepdim=True)
    d = (sq + sq.T - 2 * features @ features.T).clamp(min=1e-12).sqrt()
    same = labels[:, None] == labels[None, :]
    pos = same
    if exclude_self:
        pos = same & ~torch.eye(len(labels), dtype=torch.bool, device=features.device)
    neg = ~same
    far_neg = torch.where(neg, d, torch.full_like(d, float("-inf"))).max(1).values
    near_pos = torch.where(pos, d, torch.full_like(d, float("inf"))).min(1).values
    valid = neg.any(1) & pos.any(1)
    per = torch.where(valid, F.relu(far_neg - torch.where(valid, near_pos, torch.zeros_like(near_pos)) + margin),
                      torch.zeros_like(far_neg))
    loss = per.mean()
    return torch.log(loss + _LOG_EPS) if log else loss


def least_likely_loss(logits: Tensor, exclude: Tensor | None = None, delta: float = 0.1, *, log: bool = True) -> Tensor:
    """DMR's least-likely-class cross-entropy (``adv_CrossEntropyLabelSmooth``).

    Target: ``(1 − δ) · onehot(argmin logits) + δ · s`` with ``s = 1/(C − 1)`` on every class
    except the columns in ``exclude`` (the batch's training identities), which get 0; the loss
    is ``(−target · log_softmax).mean(0).sum()`` and its log (public code).

    Parameters
    ----------
    logits : Tensor (N, C)
        Classifier scores of the adversarial images.
    exclude : Tensor of int, optional
        Class indices set to 0 in the smoothing term (the true identities of the batch when they
        are training classes; ``None`` for unseen test identities).
    delta : float
        Smoothing (0.1).
    log : bool
        Return ``log(L + 1e-12)`` (DMR).

    Returns
    -------
    Tensor
        Scalar loss (the attacker minimises it).

    References
    ----------
    Wang et al., CVPR 2020, eq. 3; public code ``advloss.adv_CrossEntropyLabelSmooth``.

    Examples
    --------
    >>> round(least_likely_loss(torch.zeros(1, 2), log=False).item(), 4)   # target sums to 1.1 (public code): 1.1 log 2
    0.7625
    """
    n, c = logits.shape
    target_cls = logits.detach().argmin(1)
    logp = F.log_softmax(logits, 1)
    onehot = torch.zeros_like(logp).scatter_(1, target_cls[:, None], 1.0)
    smooth = torch.full_like(logp, 1.0 / max(c - 1, 1))
    if exclude is not None and len(exclude):
        smooth[:, exclude.long().to(logits.device)] = 0.0
    target = (1 - delta) * onehot + delta * smooth
    loss = (-target * logp).mean(0).sum()
    return torch.log(loss + _LOG_EPS) if log else loss


def _objective(model: nn.Module, x: Tensor, labels: Tensor, cfg: AttackConfig, exclude: Tensor | None = None) -> Tensor:
    out = model(x)
    feats = out.retrieval(model.config.test_feature if model.bottleneck is not None else "before")
    if model.config.normalize_features:
        feats = F.normalize(feats, dim=1)
    loss = misranking_loss(feats, labels, cfg.margin, exclude_self=cfg.exclude_self)
    if cfg.zeta:
        loss = loss + cfg.zeta * least_likely_loss(out.logits, exclude, cfg.delta)
    return loss


class _Frozen:
    """Context: model in eval mode with gradients off for its parameters; restores both."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __enter__(self):
        self.training = self.model.training
        self.req = [p.requires_grad for p in self.model.parameters()]
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        return self.model

    def __exit__(self, *exc):
        for p, r in zip(self.model.parameters(), self.req):
            p.requires_grad_(r)
        self.model.train(self.training)


def dmr_pgd(model: nn.Module, images: Tensor, labels: Tensor, config: AttackConfig | None = None,
            generator: torch.Generator | None = None) -> Tensor:
    """PGD on the DMR objective for one batch; returns adversarial images.

    Parameters
    ----------
    model : nlvision.reid.model.ReidNet
        Model the gradients come from (the target white-box, or a grey-box source); its
        parameters and mode are restored.
    images : Tensor (N, 3, H, W) in [0, 1]
        Clean images.
    labels : Tensor (N,)
        Identities (same / different identity inside the batch).
    config : AttackConfig, optional
        ε, steps, step size, loss options.
    generator : torch.Generator, optional
        Random start.

    Returns
    -------
    Tensor
        ``x̂`` with ``|x̂ − x|_∞ <= ε`` (and values in [0, 1] with ``clip``).

    Raises
    ------
    ValueError
        For bad tensors or options.

    References
    ----------
    Wang et al., CVPR 2020 (objective); Madry et al., ICLR 2018 (PGD).

    Examples
    --------
    >>> from nlvision.reid.model import ReidModelConfig, ReidNet
    >>> m = ReidNet(ReidModelConfig(num_classes=3, backbone="resnet18", width=4, height=32, width_px=16))
    >>> x = torch.rand(4, 3, 32, 16)
    >>> adv = dmr_pgd(m, x, torch.tensor([0, 0, 1, 1]), AttackConfig(epsilon=8, steps=2))
    >>> bool((adv - x).abs().max() <= 8 / 255 + 1e-6)
    True
    """
    cfg = config or AttackConfig()
    cfg.validate()
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected a (N, 3, H, W) tensor in [0, 1], got {getattr(images, 'shape', type(images).__name__)}")
    if not isinstance(labels, Tensor) or labels.shape != (images.shape[0],):
        raise ValueError(f"labels: expected shape ({images.shape[0]},), got {getattr(labels, 'shape', type(labels).__name__)}")
    eps = check_epsilon(cfg.epsilon)
    alpha = cfg.step_size_pixels()
    labels = labels.to(images.device)
    lo, hi = images - eps, images + eps
    if cfg.clip:
        lo, hi = lo.clamp(min=0), hi.clamp(max=1)
    with _Frozen(model):
        x = images.clone()
        if cfg.random_start:
            noise = (torch.rand(images.shape, generator=generator) * 2 - 1).to(images) * eps
            x = torch.min(torch.max(images + noise, lo), hi)
        for _ in range(cfg.steps):
            x.requires_grad_(True)
            loss = _objective(model, x, labels, cfg)
            (grad,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                x = torch.min(torch.max(x - alpha * grad.sign(), lo), hi)  # descend: the attacker minimises
        return x.detach()


# --------------------------------------------------------------------------- generator version
def _sn(module: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module) if on else module


def _norm(kind: str, c: int) -> nn.Module:
    return nn.BatchNorm2d(c) if kind == "bn" else nn.InstanceNorm2d(c)


class _ResBlock(nn.Module):
    def __init__(self, c: int, norm: str, sn: bool) -> None:
        super().__init__()
        bias = norm == "in"
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), _sn(nn.Conv2d(c, c, 3, bias=bias), sn), _norm(norm, c), nn.ReLU(True),
            nn.ReflectionPad2d(1), _sn(nn.Conv2d(c, c, 3, bias=bias), sn), _norm(norm, c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class DMRGenerator(nn.Module):
    """DMR's ResNet generator (``GD.Generator``): output ``tanh`` in [-1, 1], same size as the input.

    Parameters
    ----------
    ngf : int
        Channels of the first layer (32, DMR's ``--num_ker``).
    n_blocks : int
        Residual blocks (6).
    norm : {"bn", "in"}
        Normalisation (``bn``, DMR's default).
    spectral_norm : bool
        Spectral normalisation of the convolutions as in DMR (True).

    Examples
    --------
    >>> g = DMRGenerator(ngf=4, n_blocks=1)
    >>> tuple(g(torch.rand(2, 3, 32, 16)).shape)
    (2, 3, 32, 16)
    """

    def __init__(self, ngf: int = 32, n_blocks: int = 6, norm: str = "bn", spectral_norm: bool = True) -> None:
        super().__init__()
        if not isinstance(ngf, int) or ngf < 1 or not isinstance(n_blocks, int) or n_blocks < 0:
            raise ValueError(f"ngf, n_blocks: expected positive ints, got {ngf!r}, {n_blocks!r}")
        if norm not in ("bn", "in"):
            raise ValueError(f"norm: expected 'bn' or 'in', got {norm!r}")
        bias, sn = norm == "in", spectral_norm
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), _sn(nn.Conv2d(3, ngf, 7, bias=bias), sn), _norm(norm, ngf), nn.ReLU(True)]
        c = ngf
        for _ in range(2):
            layers += [_sn(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), sn), _norm(norm, 2 * c), nn.ReLU(True)]
            c *= 2
        layers += [_ResBlock(c, norm, sn) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [_sn(nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias), sn),
                       _norm(norm, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        for m in self.modules():  # DMR's weights_init: conv weights N(0, 1), BN weights N(1, 0.02)
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
                nn.init.normal_(w, 0.0, 1.0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Unit perturbation in [-1, 1] of the size of ``x`` (sizes not divisible by 4 are resampled)."""
        y = self.net(x)
        if y.shape[-2:] != x.shape[-2:]:
            y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y


class _SamePad(nn.Module):
    def __init__(self, k: int, s: int) -> None:
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size in (x.shape[3], x.shape[2]):  # F.pad order: last dim first
            out = math.ceil(size / self.s)
            total = max((out - 1) * self.s + self.k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)


class MultiStageDiscriminator(nn.Module):
    """DMR's multi-stage discriminator (``GD.MS_Discriminator``) on the (clean, adversarial) pair.

    ``num_D`` sub-discriminators (4 × 4 convolutions with spectral norm, ``n_layers`` stride-2
    layers, "same" padding) look at the 6-channel pair at full, ½ and ¼ resolution (3 × 3
    average pooling between scales). ``forward`` returns the list of prediction maps (finest
    scale first) and a pixel mask: all ones, or the top-``mask_pixels`` pixels of a 1 × 1
    convolution over the first stage's features (DMR's ``--temperature``).

    Parameters
    ----------
    input_nc : int
        Input channels (6 = clean + adversarial RGB).
    ndf : int
        Channels of the first layer (64).
    n_layers : int
        Stride-2 layers per sub-discriminator (3).
    num_d : int
        Scales (3).
    norm : {"bn", "in"}
        Normalisation (``bn``).
    mask_pixels : int, optional
        Pixels kept by the top-k mask (None = every pixel).

    Examples
    --------
    >>> d = MultiStageDiscriminator(ndf=4)
    >>> preds, mask = d(torch.rand(2, 6, 64, 32))
    >>> len(preds), tuple(mask.shape)
    (3, (2, 1, 64, 32))
    """

    def __init__(self, input_nc: int = 6, ndf: int = 64, n_layers: int = 3, num_d: int = 3, norm: str = "bn",
                 mask_pixels: int | None = None) -> None:
        super().__init__()
        if mask_pixels is not None and (not isinstance(mask_pixels, int) or mask_pixels < 1):
            raise ValueError(f"mask_pixels: expected a positive int or None, got {mask_pixels!r}")
        bias = norm == "in"
        self.mask_pixels = mask_pixels
        self.down = nn.Sequential(_SamePad(3, 2), nn.AvgPool2d(3, stride=2, count_include_pad=False))
        self.subs = nn.ModuleList()
        for _ in range(num_d):
            layers = [nn.Sequential(_SamePad(4, 2), _sn(nn.Conv2d(input_nc, ndf, 4, stride=2, bias=bias), True), nn.LeakyReLU(0.2, True))]
            nf = ndf
            for _ in range(1, n_layers):
                layers.append(nn.Sequential(_SamePad(4, 2), _sn(nn.Conv2d(nf, min(2 * nf, 512), 4, stride=2, bias=bias), True),
                                            _norm(norm, min(2 * nf, 512)), nn.LeakyReLU(0.2, True)))
                nf = min(2 * nf, 512)
            layers.append(nn.Sequential(_SamePad(4, 1), _sn(nn.Conv2d(nf, min(2 * nf, 512), 4, bias=bias), True),
                                        _norm(norm, min(2 * nf, 512)), nn.LeakyReLU(0.2, True)))
            layers.append(nn.Sequential(_SamePad(4, 1), nn.Conv2d(min(2 * nf, 512), 1, 4)))
            self.subs.append(nn.ModuleList(layers))
        self.mask_head = nn.Conv2d(ndf, 1, 1) if mask_pixels else None

    def forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        """Prediction maps of every scale (finest first) and the pixel mask (B, 1, H, W)."""
        preds, first, inp = [], None, x
        for i, sub in enumerate(self.subs):
            h = inp
            for j, layer in enumerate(sub):
                h = layer(h)
                if i == 0 and j == 0:
                    first = h
            preds.append(h)
            if i != len(self.subs) - 1:
                inp = self.down(inp)
        n, _, hh, ww = x.shape
        if self.mask_head is None:
            return preds, torch.ones(n, 1, hh, ww, device=x.device, dtype=x.dtype)
        logits = F.interpolate(self.mask_head(first), size=(hh, ww), mode="bilinear", align_corners=False).flatten(1)
        k = min(self.mask_pixels, hh * ww)
        th = logits.topk(k, dim=1).values[:, -1:]
        return preds, (logits >= th).to(x.dtype).view(n, 1, hh, ww).detach()


@dataclass
class GANConfig:
    """Training options of DMR's generator version (public-code defaults).

    Parameters
    ----------
    epochs : int
        Passes over the training split (50 in DMR on Market-1501).
    ngf, ndf, n_blocks : int
        Generator / discriminator widths and residual blocks (32, 64, 6).
    norm : {"bn", "in"}
        Normalisation of both networks (``bn``).
    lr : float
        Adam learning rate (2e-4, betas 0.5 / 0.999).
    reid_factor : float
        Weight of the re-id terms (10, DMR's ``ReID_factor``).
    ssim_weight : float
        Weight of ``1 − SSIM`` (0.1).
    gan_stages : {"last", "all"}
        Stages scored by the LSGAN loss (``last`` = public code).
    mask_pixels : int, optional
        Top-k pixel mask (None = off, DMR's default).
    affine : bool
        DMR's ``(t + 1)/2 − mean`` map of the tanh output before the L∞ rescaling (True).
    p, k : int
        Identities × images per batch (8 × 4 = DMR's 32 with 4 instances).
    seed : int
        Seed of the initialisation and the sampler.

    Examples
    --------
    >>> GANConfig().ngf
    32
    """

    epochs: int = 50
    ngf: int = 32
    ndf: int = 64
    n_blocks: int = 6
    norm: str = "bn"
    lr: float = 2e-4
    reid_factor: float = 10.0
    ssim_weight: float = 0.1
    gan_stages: str = "last"
    mask_pixels: int | None = None
    affine: bool = True
    p: int = 8
    k: int = 4
    seed: int = 0

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field."""
        for name in ("epochs", "ngf", "ndf", "p", "k"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if self.gan_stages not in ("last", "all"):
            raise ValueError(f"gan_stages: expected 'last' or 'all', got {self.gan_stages!r}")
        for name in ("lr", "reid_factor", "ssim_weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name}: expected a finite non-negative number, got {v!r}")


def _ssim(x: Tensor, y: Tensor, window: int = 7) -> Tensor:
    """Mean SSIM of two image batches (uniform window, data range 1)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    pool = lambda t: F.avg_pool2d(t, window, 1, window // 2, count_include_pad=False)  # noqa: E731
    mx, my = pool(x), pool(y)
    vx, vy = pool(x * x) - mx * mx, pool(y * y) - my * my
    cxy = pool(x * y) - mx * my
    return (((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean()


class DMRGan(nn.Module):
    """A trained DMR generator with its discriminator (for the optional mask).

    Parameters
    ----------
    config : GANConfig
        Architecture options.
    epsilon : float
        L∞ budget in 1/255 units.
    clip : bool
        Clip adversarial images to [0, 1].

    Examples
    --------
    >>> gan = DMRGan(GANConfig(ngf=4, ndf=4, n_blocks=1), epsilon=8).eval()
    >>> x = torch.rand(2, 3, 32, 16)
    >>> bool((gan.perturb(x) - x).abs().max() <= 8 / 255 + 1e-6)
    True
    """

    def __init__(self, config: GANConfig | None = None, epsilon: float = 16.0, clip: bool = True) -> None:
        super().__init__()
        self.config = config or GANConfig()
        self.config.validate()
        self.eps = check_epsilon(epsilon)
        self.clip = clip
        c = self.config
        self.generator = DMRGenerator(c.ngf, c.n_blocks, c.norm)
        self.discriminator = MultiStageDiscriminator(6, c.ndf, norm=c.norm, mask_pixels=c.mask_pixels)
        self.register_buffer("mean", torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1), persistent=False)

    def perturb(self, images: Tensor) -> Tensor:
        """Adversarial images: DMR's ``L_norm`` of ``G(x)``, the discriminator's mask, then ``x + δ``."""
        t = self.generator(images)
        delta = (t + 1) / 2 - self.mean if self.config.affine else t
        linf = delta.abs().amax(dim=(2, 3), keepdim=True).clamp(min=1e-12)
        delta = delta * torch.clamp(self.eps / linf, max=1.0)
        if self.config.mask_pixels:
            _, mask = self.discriminator(torch.cat([images, (images + delta).detach()], 1))
            delta = delta * mask
        adv = images + delta
        return adv.clamp(0, 1) if self.clip else adv


def train_dmr_gan(model: nn.Module, split, attack: AttackConfig | None = None, config: GANConfig | None = None) -> DMRGan:
    """Train DMR's generator against the frozen ``model`` on a labelled split (its training set).

    Per batch (``train.py``): the discriminator scores (clean, adversarial) pairs as fake and
    (clean, other clean) pairs as real with the LSGAN loss, ``(L_fake + L_real) / 2``; the
    generator minimises ``L_GAN + reid_factor · (L_xent + L_etri) + ssim_weight · (1 − SSIM)``.

    Parameters
    ----------
    model : nlvision.reid.model.ReidNet
        Target (white-box) or source (grey-box) model; it stays frozen in evaluation mode.
    split : nlvision.reid.data.ReIDSplit
        Training images with ``labels``.
    attack : AttackConfig, optional
        ε and the loss options.
    config : GANConfig, optional
        Generator training options.

    Returns
    -------
    DMRGan
        In evaluation mode.

    Raises
    ------
    ValueError
        For a split without labels or bad options.

    References
    ----------
    Wang et al., CVPR 2020, section 3; public code ``train.py``.

    Examples
    --------
    >>> from nlvision.reid.data import synthetic_reid_data
    >>> from nlvision.reid.model import ReidModelConfig, ReidNet
    >>> data = synthetic_reid_data(num_train_ids=2, num_test_ids=2, num_cameras=2, height=32, width=16)
    >>> m = ReidNet(ReidModelConfig(num_classes=2, backbone="resnet18", width=2, height=32, width_px=16))
    >>> gan = train_dmr_gan(m, data.train, AttackConfig(epsilon=8), GANConfig(epochs=1, ngf=2, ndf=2, n_blocks=0, p=2, k=2))
    >>> type(gan).__name__
    'DMRGan'
    """
    from torch.utils.data import DataLoader

    from nlvision.reid.data import PKSampler, ReIDImageDataset

    acfg = attack or AttackConfig()
    acfg.validate()
    cfg = config or GANConfig()
    cfg.validate()
    if getattr(split, "labels", None) is None:
        raise ValueError("split: the generator is trained on a labelled (training) split")
    size = (model.config.height, model.config.width_px)
    torch.manual_seed(cfg.seed)
    gan = DMRGan(cfg, acfg.epsilon, acfg.clip)
    dev = next(model.parameters()).device
    gan.to(dev)
    ds = ReIDImageDataset(split, size, train=True, seed=cfg.seed)
    loader = DataLoader(ds, batch_sampler=PKSampler(split.labels, p=cfg.p, k=cfg.k, seed=cfg.seed))
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=cfg.lr, betas=(0.5, 0.999))

    def lsgan(preds: list[Tensor], real: bool) -> Tensor:
        use = preds[-1:] if cfg.gan_stages == "last" else preds
        return sum(F.mse_loss(p, torch.full_like(p, 1.0 if real else 0.0)) for p in use)

    gan.train()
    with _Frozen(model):
        for _ in range(cfg.epochs):
            for images, labels, _, _ in loader:
                images, labels = images.to(dev), labels.to(dev)
                adv = gan.perturb(images)
                half = len(images) // 2
                fake_d, _ = gan.discriminator(torch.cat([images, adv.detach()], 1))
                real_pair = torch.cat([images[:half], images[half:2 * half]], 1)
                real_d, _ = gan.discriminator(real_pair)
                loss_d = (lsgan(fake_d, False) + lsgan(real_d, True)) / 2
                fake_g, _ = gan.discriminator(torch.cat([images, adv], 1))
                out = model(adv)
                feats = out.retrieval(model.config.test_feature if model.bottleneck is not None else "before")
                if model.config.normalize_features:
                    feats = F.normalize(feats, dim=1)
                reid = misranking_loss(feats, labels, acfg.margin, exclude_self=acfg.exclude_self) \
                    + acfg.zeta * least_likely_loss(out.logits, labels, acfg.delta)
                loss_g = lsgan(fake_g, True) + cfg.reid_factor * reid + cfg.ssim_weight * (1 - _ssim(images, adv))
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
    return gan.eval()


def _identity_batches(pids: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Index batches with the queries of an identity kept together (sorted by identity)."""
    order = np.argsort(pids, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def attack_images(model: nn.Module, images: Tensor, pids: np.ndarray, method: str = "dmr-pgd",
                  config: AttackConfig | None = None, *, generator_net: DMRGan | None = None,
                  seed: int = 0) -> Tensor:
    """Attack a set of (query) images; returns the adversarial images in the original order.

    Parameters
    ----------
    model : nlvision.reid.model.ReidNet
        Model the attack is computed on (white-box target or grey-box source).
    images : Tensor (N, 3, H, W) in [0, 1]
        Query images at the model's input size.
    pids : ndarray (N,)
        Query identities.
    method : {"none", "dmr-pgd", "dmr-gan"}
        Attack.
    config : AttackConfig, optional
        ε and the loss options.
    generator_net : DMRGan, optional
        Required for ``"dmr-gan"`` (see :func:`train_dmr_gan`).
    seed : int
        Seed of PGD's random start.

    Returns
    -------
    Tensor
        Adversarial images (N, 3, H, W).

    Raises
    ------
    ValueError
        For an unknown method (listing the valid ones), a missing generator or a bad ε.

    Examples
    --------
    >>> from nlvision.reid.model import ReidModelConfig, ReidNet
    >>> m = ReidNet(ReidModelConfig(num_classes=3, backbone="resnet18", width=4, height=32, width_px=16))
    >>> x = torch.rand(4, 3, 32, 16)
    >>> adv = attack_images(m, x, np.array([5, 5, 6, 6]), "dmr-pgd", AttackConfig(epsilon=4, steps=1))
    >>> tuple(adv.shape)
    (4, 3, 32, 16)
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
        generator_net.eval()
        with torch.no_grad():
            for idx in _identity_batches(pids, cfg.batch_size):
                out[idx] = generator_net.perturb(images[idx])
        return out
    for idx in _identity_batches(pids, cfg.batch_size):
        out[idx] = dmr_pgd(model, images[idx], torch.as_tensor(pids[idx]), cfg, generator=g)
    return out
