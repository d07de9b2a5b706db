"""The robustness experiment of the seed (Tables 1 and 3) and the ranking figures.

Rows: clean baseline, baseline under attack, +RE, +random grayscale (GGPR), +CRE, +NFD,
+CRE+NFD. Each model is trained with the same recipe and differs only in its defense flags;
each row reports mAP / Rank-1 / Rank-5 / Rank-10 on attacked queries, plus the clean accuracy
of the same model.

Attack protocol. The seed generates "an independent adversarial sample data set" with DMR
against the target model and evaluates every defense on it (section 3.3). That is the default
here (``source="baseline"``): the adversarial queries are computed once, white-box, against the
undefended baseline, and every defended model is evaluated on them. ``source="self"`` instead
attacks every model white-box (an adaptive attacker) — a harder setting the seed does not
report. Every result records which attack (``dmr-pgd`` or ``dmr-gan``), ε and source produced
it.

Reduced CPU configuration (defaults of :class:`RobustnessConfig`): ResNet-18 backbone of width
8 at 64 × 32 input instead of ResNet-50 at 256 × 128, trained from scratch (no ImageNet
weights) with Adam at 3e-3, P × K = 8 × 4, for 40 epochs (warm-up 10 %, ×0.1 at 70 %,
:meth:`ReIDTrainConfig.short`) on the synthetic data set (32 training / 32 test
identities). The architecture (last stride 1, four NFD blocks, BNNeck, losses) is the seed's.

References
----------
Seed 000, section 3, Tables 1–3.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

__all__ = ["ROWS", "RobustnessConfig", "RobustnessResult", "run_robustness", "plot_cmc", "plot_ranked_list", "format_table"]

#: row name -> (augment, nfd)
ROWS: dict[str, tuple[str, bool]] = {
    "baseline": ("none", False),
    "+RE": ("re", False),
    "+random grayscale": ("grayscale", False),
    "+CRE": ("cre", False),
    "+NFD": ("none", True),
    "+CRE+NFD": ("cre", True),
}
SOURCES = ("baseline", "self")


@dataclass
class RobustnessConfig:
    """Settings of the robustness table (reduced CPU defaults; see the module docstring).

    Attributes
    ----------
    data : str
        ``synthetic``, ``market1501:PATH`` or ``folder:PATH``.
    rows : tuple of str
        Which defenses to train (names of :data:`ROWS`).
    attack : {"dmr-pgd", "dmr-gan"}
    epsilon : float
        L∞ budget in pixel levels (16).
    steps : int
        PGD iterations (10).
    source : {"baseline", "self"}
        Model the adversarial queries are computed against.
    backbone, width, height, width_px : reduced network / input
    epochs, lr, p, k : training recipe
    synthetic : dict
        Options of the synthetic data set.
    gan_epochs, gan_ngf, gan_blocks : generator training (dmr-gan only)
    seed : int
    """

    data: str = "synthetic"
    rows: tuple[str, ...] = tuple(ROWS)
    attack: str = "dmr-pgd"
    epsilon: float = 16.0
    steps: int = 10
    source: str = "baseline"
    backbone: str = "resnet18"
    width: int = 8
    height: int = 64
    width_px: int = 32
    epochs: int = 40
    lr: float = 3e-3
    p: int = 8
    k: int = 4
    synthetic: dict = field(default_factory=lambda: {"num_train_ids": 32, "num_test_ids": 32, "height": 64, "width": 32})
    gan_epochs: int = 5
    gan_ngf: int = 16
    gan_blocks: int = 3
    seed: int = 0

    def validate(self) -> None:
        from nlvision.reid.attack import ATTACKS, check_epsilon

        unknown = [r for r in self.rows if r not in ROWS]
        if unknown or not self.rows:
            raise ValueError(f"rows: unknown row(s) {unknown or list(self.rows)}; valid: {list(ROWS)}")
        if "baseline" not in self.rows:
            raise ValueError("rows: the table needs the 'baseline' row")
        if self.attack not in ATTACKS or self.attack == "none":
            raise ValueError(f"attack: expected one of {list(ATTACKS[1:])}, got {self.attack!r}")
        check_epsilon(self.epsilon)
        if self.source not in SOURCES:
            raise ValueError(f"source: unknown source {self.source!r}; valid: {list(SOURCES)}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs: expected a positive int, got {self.epochs!r}")


@dataclass
class RobustnessResult:
    """Rows of the table plus the settings that produced them."""

    rows: list[dict]
    settings: dict
    seconds: float
    synthetic: bool

    def as_dict(self) -> dict:
        return {"rows": self.rows, "settings": self.settings, "seconds": self.seconds,
                "data_is_synthetic": self.synthetic}


def format_table(result: RobustnessResult) -> str:
    """Plain-text table (percentages)."""
    head = f"{'model':<20}{'mAP':>7}{'R1':>7}{'R5':>7}{'R10':>7}   {'clean mAP':>9}{'clean R1':>9}"
    lines = [head, "-" * len(head)]
    for r in result.rows:
        a, c = r["attacked"], r["clean"]
        lines.append(f"{r['row']:<20}{100 * a['mAP']:7.1f}{100 * a['R1']:7.1f}{100 * a['R5']:7.1f}{100 * a['R10']:7.1f}"
                     f"   {100 * c['mAP']:9.1f}{100 * c['R1']:9.1f}")
    s = result.settings
    lines.append(f"attack: {s['attack']} eps={s['epsilon']}/255 against {s['source']}; data: {s['data']}"
                 + (" (SYNTHETIC)" if result.synthetic else ""))
    return "\n".join(lines)


def run_robustness(config: RobustnessConfig | None = None, out_dir: str | Path = "runs/reid_robustness", *,
                   progress: bool = False, log: Callable[[str], None] | None = None) -> RobustnessResult:
    """Train every defense, attack the queries and evaluate; returns the table rows.

    Parameters
    ----------
    config : RobustnessConfig
    out_dir : path
        Receives one run folder per row (config.json, model.safetensors, logs).
    progress : bool
        Show Lightning progress bars.
    log : callable, optional
        Receives one line per finished step.

    Raises
    ------
    ValueError
        For invalid settings or data.
    """
    from nlvision.engine import TrainerConfig
    from nlvision.reid.attack import AttackConfig, GANConfig, attack_images, train_dmr_gan
    from nlvision.reid.data import ReIDImageDataset, load_reid_data
    from nlvision.reid.evaluate import evaluate_features
    from nlvision.reid.model import NFDConfig
    from nlvision.reid.train import ReIDTrainConfig, extract_features, train_reid

    import logging

    cfg = config or RobustnessConfig()
    cfg.validate()
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    say = log or (lambda s: None)
    start = time.perf_counter()
    data = load_reid_data(cfg.data, **(cfg.synthetic if cfg.data == "synthetic" else {}))
    size = (cfg.height, cfg.width_px)
    q_images = ReIDImageDataset(data.query, size).image
    queries = torch.stack([q_images(i) for i in range(len(data.query))])
    gallery_ds = ReIDImageDataset(data.gallery, size)
    tcfg = ReIDTrainConfig(p=cfg.p, k=cfg.k, lr=cfg.lr, seed=cfg.seed).short(cfg.epochs)
    trainer = TrainerConfig(epochs=cfg.epochs, progress=progress, accelerator="cpu" if not torch.cuda.is_available() else "auto",
                            devices="1", seed=cfg.seed)
    acfg = AttackConfig(epsilon=cfg.epsilon, steps=cfg.steps, seed=cfg.seed)
    gcfg = GANConfig(epochs=cfg.gan_epochs, ngf=cfg.gan_ngf, ndf=cfg.gan_ngf, n_blocks=cfg.gan_blocks, seed=cfg.seed)
    out = Path(out_dir)

    def metrics(model, q):
        qf = extract_features(model, q)
        gf = extract_features(model, gallery_ds)
        m, _ = evaluate_features(qf, gf, data.query.pids, data.gallery.pids, data.query.camids, data.gallery.camids)
        return m.as_dict()

    def make_attack(model):
        gen = train_dmr_gan(model, data.train, acfg, gcfg) if cfg.attack == "dmr-gan" else None
        return attack_images(model, queries, data.query.pids, cfg.attack, acfg, generator_net=gen, seed=cfg.seed)

    rows, adv = [], None
    for name in cfg.rows if cfg.rows[0] == "baseline" else ("baseline",) + tuple(r for r in cfg.rows if r != "baseline"):
        augment, nfd = ROWS[name]
        t0 = time.perf_counter()
        mcfg = NFDConfig(num_classes=data.num_classes, backbone=cfg.backbone, width=cfg.width, height=cfg.height,
                         width_px=cfg.width_px, nfd=nfd, augment=augment, seed=cfg.seed)
        model = train_reid(data, mcfg, tcfg, trainer, out / name.strip("+").replace("+", "_").replace(" ", "_"))
        t_train = time.perf_counter() - t0
        clean = metrics(model, queries)
        if cfg.source == "self" or adv is None:
            adv = make_attack(model)
        attacked = metrics(model, adv)
        label = "baseline" if name == "baseline" else name
        rows.append({"row": label, "augment": augment, "nfd": nfd, "clean": clean, "attacked": attacked,
                     "train_seconds": round(t_train, 1), "seconds": round(time.perf_counter() - t0, 1)})
        say(f"{label}: clean mAP {100 * clean['mAP']:.1f}  attacked mAP {100 * attacked['mAP']:.1f}  ({time.perf_counter() - t0:.0f} s)")
    # Table 1/3 order: clean baseline first, then the baseline under attack, then the defenses
    base = rows[0]
    table = [{**base, "row": "baseline (clean)", "attacked": base["clean"]}, {**base, "row": "DMR attack"}] + rows[1:]
    settings = {**asdict(cfg), "train": asdict(tcfg), "attack_config": asdict(acfg),
                "note": "adversarial queries computed against " + ("the undefended baseline (seed protocol)" if cfg.source == "baseline" else "each model (white-box, adaptive)")}
    if cfg.attack == "dmr-gan":
        settings["gan"] = asdict(gcfg)
    return RobustnessResult(table, settings, round(time.perf_counter() - start, 1), data.synthetic)


def plot_cmc(curves: dict[str, np.ndarray], path: str | Path, title: str = "CMC") -> Path:
    """Plot CMC curves (name -> cmc array) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlvision.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, cmc in curves.items():
        cmc = np.asarray(cmc)
        ax.plot(np.arange(1, len(cmc) + 1), 100 * cmc, label=name)
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)


def plot_ranked_list(query: np.ndarray, gallery: list[np.ndarray], matches: list[bool], path: str | Path,
                     title: str = "", distances: list[float] | None = None) -> Path:
    """Query image and its top-ranked gallery images; true matches framed green, others red.

    Parameters
    ----------
    query : ndarray (H, W, 3)
    gallery : list of ndarray (H, W, 3)
        Ranked gallery images (best first).
    matches : list of bool
        Whether each gallery image is the query's identity.
    path : path
        PNG to write (atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from nlvision.atomic import atomic_path

    if len(gallery) != len(matches):
        raise ValueError(f"matches: expected {len(gallery)} flags, got {len(matches)}")
    n = len(gallery) + 1
    fig, axes = plt.subplots(1, n, figsize=(1.1 * n, 2.6))
    axes = np.atleast_1d(axes)
    axes[0].imshow(np.clip(query, 0, 1))
    axes[0].set_title("query", fontsize=8)
    for i, (img, ok) in enumerate(zip(gallery, matches), start=1):
        axes[i].imshow(np.clip(img, 0, 1))
        h, w = img.shape[:2]
        axes[i].add_patch(Rectangle((0, 0), w - 1, h - 1, fill=False, lw=4, ec="limegreen" if ok else "red"))
        label = f"{i}" + (f"\n{distances[i - 1]:.2f}" if distances is not None else "")
        axes[i].set_title(label, fontsize=7)
    for a in axes:
        a.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)
