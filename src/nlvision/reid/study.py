"""The robustness study of the seed (Tables 1–3), designed so that it can tell a defense from noise.

Design (issue #19):

* **Grey-box transfer, the headline.** The attack's *source* model is an undefended model of the
  target architecture trained with its own seed (``source_seed``, 1000 by default) and is never
  an evaluated row; the adversarial queries are computed once per ε on it and every row's
  models are evaluated on them. (The seed computes "an independent adversarial sample set"
  with DMR; a set computed on one of the evaluated models would favour every other row.)
* **White-box** (source = the evaluated model itself) is reported separately.
* **Seeds.** Every row is trained with ``n_seeds`` seeds (0, 1, ...: weight initialisation,
  sampler, transforms and augmentation); a row is reported as mean ± 95 % confidence interval
  (Student t over seeds) and as the **paired gain** over the baseline trained with the same
  seeds (mean ± t-CI of the per-seed differences).
* **ε sweep** (2, 4, 8, 16)/255 — ε in 1/255 units everywhere.
* **Floors.** Chance mAP (random ranking on the same query / gallery split) is printed; the
  per-query sampling error of each row's mAP (1.96 · sd(AP) / √Q) is reported beside the
  seed CI. The default synthetic test split (960 queries) keeps it at about ±2 mAP.
* **Deterministic.** Everything is seeded; the same command gives the same numbers on CPU.

Targets: ``bot`` (StrongReID / BoT) and ``aligned`` (AlignedReID++); rows: baseline, +RE,
+random grayscale (GGPR), +CRE, +NFD, +CRE+NFD — CRE and the NFD blocks plug into both.

Reduced CPU configuration (defaults of :class:`StudyConfig`): ResNet-18 of width 8 at 64 × 32
input instead of ResNet-50 at 256 × 128, trained from scratch with Adam at 3e-3, P × K = 8 × 4,
40 epochs (warm-up 10 %, ×0.1 at 70 %), on the synthetic data set (SYNTHETIC). AlignedReID++ gets
BoT's BNNeck before its classifier there (``aligned_neck``): from scratch, its published neck-less
head collapses (cross-entropy stuck at ln C, mAP at chance).

References
----------
Seed 000, section 3, Tables 1–3. Wang et al., CVPR 2020 (DMR). Luo et al., CVPRW 2019 (BoT);
Luo et al., Pattern Recognition 2019 (AlignedReID++).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nlvision.metrics import mean_ci

__all__ = ["ROWS", "StudyConfig", "StudyResult", "run_study", "format_study", "study_result_from_dict", "mean_ci",
           "plot_cmc", "plot_ranked_list"]

#: row name -> (augment, nfd)
ROWS: dict[str, tuple[str, bool]] = {
    "baseline": ("none", False),
    "+RE": ("re", False),
    "+random grayscale": ("grayscale", False),
    "+CRE": ("cre", False),
    "+NFD": ("none", True),
    "+CRE+NFD": ("cre", True),
}


@dataclass
class StudyConfig:
    """Settings of the robustness study (reduced CPU defaults; see the module docstring).

    Parameters
    ----------
    target : {"bot", "aligned"}
        Target architecture (StrongReID / AlignedReID++).
    data : str
        ``synthetic`` (the default data of every reid command), ``market1501:PATH`` or
        ``folder:PATH``.
    rows : tuple of str
        Defenses to train (names of :data:`ROWS`; "baseline" is required).
    n_seeds : int
        Seeds per row (3; seeds ``0 .. n_seeds − 1``).
    source_seed : int
        Seed of the grey-box source model (1000; must not be one of the rows' seeds).
    source_checkpoint : str, optional
        Use this trained model (same architecture and input size) as the source instead.
    epsilons : tuple of float
        L∞ budgets in 1/255 units (2, 4, 8, 16).
    white_box : bool
        Also attack every model itself (reported separately).
    white_box_epsilons : tuple of float, optional
        Budgets of the white-box table (default: ``epsilons``).
    attack : {"dmr-pgd", "dmr-gan"}
        Attack.
    steps : int
        PGD iterations (10).
    gan_epochs : int
        Generator epochs for ``dmr-gan``.
    backbone, width, height, width_px : str, int, int, int
        Reduced network and input (resnet18, 8, 64, 32).
    epochs, lr, p, k : int, float, int, int
        Training recipe (40, 3e-3, 8, 4).
    cre_fill : {"mean", "random"}
        Fill of CRE.
    aligned_neck : bool
        BoT's BNNeck in AlignedReID++ (True in the reduced from-scratch study, where the published
        neck-less head collapses; False for the published head, e.g. with ImageNet weights).
    schedule : {"short", "bot"}
        Learning-rate schedule: ``short`` (warm-up 10 %, ×0.1 at 70 %; from scratch) or BoT's
        (warm-up 10 epochs, ×0.1 at 40 and 70 of 120, scaled to ``epochs``; with ImageNet weights).
    weights : str, optional
        ImageNet backbone weights for every model (the Market-1501 recipe).
    accelerator : str
        Lightning accelerator of the training runs ("cpu"; "gpu" for the Market recipe).
    synthetic : dict
        Overrides of :data:`nlvision.reid.data.SYNTHETIC_DEFAULTS`.

    Examples
    --------
    >>> StudyConfig(n_seeds=0).validate()
    Traceback (most recent call last):
    ...
    ValueError: n_seeds: expected an int >= 1, got 0
    """

    target: str = "bot"
    data: str = "synthetic"
    rows: tuple[str, ...] = tuple(ROWS)
    n_seeds: int = 3
    source_seed: int = 1000
    source_checkpoint: str | None = None
    epsilons: tuple[float, ...] = (2, 4, 8, 16)
    white_box: bool = True
    white_box_epsilons: tuple[float, ...] | None = None
    attack: str = "dmr-pgd"
    steps: int = 10
    gan_epochs: int = 5
    backbone: str = "resnet18"
    width: int = 8
    height: int = 64
    width_px: int = 32
    epochs: int = 40
    lr: float = 3e-3
    p: int = 8
    k: int = 4
    cre_fill: str = "mean"
    aligned_neck: bool = True
    schedule: str = "short"
    weights: str | None = None
    accelerator: str = "cpu"
    synthetic: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid setting."""
        from nlvision.reid.attack import check_epsilon
        from nlvision.reid.model import ARCHS

        if self.target not in ARCHS:
            raise ValueError(f"target: unknown target model {self.target!r}; valid: {list(ARCHS)}")
        unknown = [r for r in self.rows if r not in ROWS]
        if unknown or not self.rows:
            raise ValueError(f"rows: unknown row(s) {unknown or list(self.rows)}; valid: {list(ROWS)}")
        if "baseline" not in self.rows:
            raise ValueError("rows: the study needs the 'baseline' row (gains are paired with it)")
        if isinstance(self.n_seeds, bool) or not isinstance(self.n_seeds, int) or self.n_seeds < 1:
            raise ValueError(f"n_seeds: expected an int >= 1, got {self.n_seeds!r}")
        if not isinstance(self.source_seed, int) or 0 <= self.source_seed < self.n_seeds:
            raise ValueError(f"source_seed: must differ from the rows' seeds 0..{self.n_seeds - 1}, got {self.source_seed!r}")
        if not self.epsilons:
            raise ValueError("epsilons: expected at least one budget")
        for e in tuple(self.epsilons) + tuple(self.white_box_epsilons or ()):
            check_epsilon(e)
        if self.attack not in ("dmr-pgd", "dmr-gan"):
            raise ValueError(f"attack: expected 'dmr-pgd' or 'dmr-gan', got {self.attack!r}")
        for name in ("steps", "gan_epochs", "epochs", "width", "p", "k"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"lr: expected a finite positive number, got {self.lr!r}")
        if self.cre_fill not in ("mean", "random"):
            raise ValueError(f"cre_fill: expected 'mean' or 'random', got {self.cre_fill!r}")
        if self.schedule not in ("short", "bot"):
            raise ValueError(f"schedule: expected 'short' or 'bot', got {self.schedule!r}")
        if self.weights is not None and not Path(self.weights).is_file():
            raise ValueError(f"weights: no such file {self.weights}")
        if self.source_checkpoint is not None and not Path(self.source_checkpoint).is_file():
            raise ValueError(f"source_checkpoint: no such file {self.source_checkpoint}")


@dataclass
class StudyResult:
    """Runs, aggregated tables and settings of a study.

    Parameters
    ----------
    runs : list of dict
        One per (row, seed): clean, grey-box and white-box metrics.
    grey : list of dict
        Aggregated grey-box table (per row: clean and per-ε mean / CI / paired gain).
    white : list of dict
        Aggregated white-box table (empty when off).
    chance_map : float
        mAP of a random ranking on the same split.
    source : dict
        The source model (seed or checkpoint) and its clean / white-box metrics.
    settings : dict
        The configuration.
    seconds : float
        Wall time.
    synthetic : bool
        Whether the data are synthetic.

    Examples
    --------
    >>> r = StudyResult([], [], [], 0.01, {}, {}, 1.0, True)
    >>> r.as_dict()["data_is_synthetic"]
    True
    """

    runs: list
    grey: list
    white: list
    chance_map: float
    source: dict
    settings: dict
    seconds: float
    synthetic: bool

    def as_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {"grey_box": self.grey, "white_box": self.white, "chance_mAP": self.chance_map, "source": self.source,
                "runs": self.runs, "settings": self.settings, "seconds": self.seconds, "data_is_synthetic": self.synthetic}


def _aggregate(runs: list[dict], rows: list[str], key: str, epsilons: list[str]) -> list[dict]:
    table = []
    base = {r["seed"]: r for r in runs if r["row"] == "baseline"}
    for row in rows:
        rr = sorted((r for r in runs if r["row"] == row), key=lambda r: r["seed"])
        entry = {"row": row, "seeds": [r["seed"] for r in rr]}
        conds = {"clean": [r["clean"] for r in rr]} | {e: [r[key][e] for r in rr] for e in epsilons}
        for cond, ms in conds.items():
            maps = [100 * m["mAP"] for m in ms]
            mean, half = mean_ci(maps)
            r1_mean, r1_half = mean_ci([100 * m["R1"] for m in ms])
            minp, _ = mean_ci([100 * m["mINP"] for m in ms])
            e = {"mAP": mean, "mAP_ci": half, "R1": r1_mean, "R1_ci": r1_half, "mINP": minp,
                 "query_ci": float(np.mean([100 * m["query_ci"] for m in ms])), "per_seed_mAP": maps}
            if row != "baseline":
                diffs = [100 * (m["mAP"] - (base[r["seed"]]["clean"] if cond == "clean" else base[r["seed"]][key][cond])["mAP"])
                         for m, r in zip(ms, rr)]
                g, gh = mean_ci(diffs)
                e |= {"gain": g, "gain_ci": gh}
            if cond != "clean":  # robustness apart from clean accuracy: share of the model's clean mAP kept
                kept = [_kept(r, key, cond) for r in rr]
                e |= dict(zip(("kept", "kept_ci"), mean_ci(kept)))
                if row != "baseline":
                    e |= dict(zip(("kept_gain", "kept_gain_ci"),
                                  mean_ci([k - _kept(base[r["seed"]], key, cond) for k, r in zip(kept, rr)])))
            entry[cond] = e
        table.append(entry)
    return table


def _kept(run: dict, key: str, cond: str) -> float:
    """Percentage of the run's clean mAP that it keeps under attack ``cond``."""
    clean = run["clean"]["mAP"]
    return 100.0 * run[key][cond]["mAP"] / clean if clean > 0 else float("nan")


def _fmt(mean: float, half: float, signed: bool = False) -> str:
    s = f"{mean:+.1f}" if signed else f"{mean:.1f}"
    return s + ("" if math.isnan(half) else f" ± {half:.1f}")


def format_study(result: StudyResult) -> str:
    """Plain-text tables (mAP %, mean ± 95 % CI over seeds; paired gains over the baseline).

    Parameters
    ----------
    result : StudyResult
        Output of :func:`run_study`.

    Returns
    -------
    str

    Examples
    --------
    >>> r = StudyResult([], [], [], 0.012, {"kind": "seed 1000"}, {"target": "bot", "attack": "dmr-pgd", "n_seeds": 3,
    ...                 "data": "synthetic", "epsilons": [8]}, 1.0, True)
    >>> "chance mAP 1.2" in format_study(r)
    True
    """
    s = result.settings
    lines = [f"target {s['target']}; attack {s['attack']}; n = {s['n_seeds']} seeds per row; data {s['data']}"
             + (" (SYNTHETIC)" if result.synthetic else "") + f"; chance mAP {100 * result.chance_map:.1f}"]
    for title, table in (("grey-box transfer (source: " + str(result.source.get("kind")) + ", not an evaluated row)", result.grey),
                         ("white-box (each model attacks itself)", result.white)):
        if not table:
            continue
        eps = [k for k in table[0] if k.startswith("eps=")]
        lines.append(f"\n{title} — mAP %, mean ± 95 % CI over seeds")
        head = f"{'row':<19}{'clean':>14}" + "".join(f"{e + '/255':>16}" for e in eps) + f"{'query CI':>10}"
        lines += [head, "-" * len(head)]
        for r in table:
            qci = max(r[c]["query_ci"] for c in ["clean"] + eps)
            lines.append(f"{r['row']:<19}{_fmt(r['clean']['mAP'], r['clean']['mAP_ci']):>14}"
                         + "".join(f"{_fmt(r[e]['mAP'], r[e]['mAP_ci']):>16}" for e in eps) + f"{'±' + format(qci, '.1f'):>10}")
        lines.append("paired gain over the baseline (same seeds), mAP points")
        for r in table:
            if r["row"] == "baseline":
                continue
            lines.append(f"{r['row']:<19}{_fmt(r['clean']['gain'], r['clean']['gain_ci'], True):>14}"
                         + "".join(f"{_fmt(r[e]['gain'], r[e]['gain_ci'], True):>16}" for e in eps))
        if eps and "kept" in table[0][eps[0]]:
            lines.append("share of its own clean mAP kept under attack, % (baseline), and its paired change (rows)")
            for r in table:
                cells = [(r[e]["kept"], r[e]["kept_ci"]) if r["row"] == "baseline" else (r[e]["kept_gain"], r[e]["kept_gain_ci"])
                         for e in eps]
                lines.append(f"{r['row']:<19}{'':>14}" + "".join(f"{_fmt(m, h, r['row'] != 'baseline'):>16}" for m, h in cells))
    return "\n".join(lines)


def study_result_from_dict(d: dict) -> StudyResult:
    """Rebuild a :class:`StudyResult` from its ``as_dict()`` (e.g. a saved ``results.json``),
    re-aggregating the tables from the per-seed runs.

    Parameters
    ----------
    d : dict
        Output of :meth:`StudyResult.as_dict`.

    Returns
    -------
    StudyResult

    Raises
    ------
    KeyError
        A required key (runs, settings, source, chance_mAP) is missing.

    Examples
    --------
    >>> m = {"mAP": 0.5, "R1": 0.5, "mINP": 0.1, "query_ci": 0.01}
    >>> runs = [{"row": "baseline", "seed": 0, "clean": m, "grey": {"eps=8": m}, "white": {}}]
    >>> r = study_result_from_dict({"runs": runs, "settings": {"rows": ["baseline"], "epsilons": [8.0],
    ...                             "white_box_epsilons": []}, "source": {}, "chance_mAP": 0.01})
    >>> r.grey[0]["eps=8"]["kept"]
    100.0
    """
    s = d["settings"]
    keyed = [f"eps={float(e):g}" for e in s["epsilons"]]
    wb = [f"eps={float(e):g}" for e in s.get("white_box_epsilons") or []]
    runs = d["runs"]
    return StudyResult(runs, _aggregate(runs, s["rows"], "grey", keyed),
                       _aggregate(runs, s["rows"], "white", wb) if wb else [], d["chance_mAP"], d["source"], s,
                       float(d.get("seconds", 0.0)), bool(d.get("data_is_synthetic", True)))


def _check_source(model, cfg: StudyConfig, path: str) -> None:
    c = model.config
    if c.arch != cfg.target or (c.height, c.width_px) != (cfg.height, cfg.width_px) or \
            (c.arch == "aligned" and c.aligned_neck != cfg.aligned_neck):
        raise ValueError(f"source_checkpoint: {path} is an arch={c.arch} model at {c.height}x{c.width_px}; the study needs "
                         f"arch={cfg.target} at {cfg.height}x{cfg.width_px}" + (f" with aligned_neck={cfg.aligned_neck}" if cfg.target == "aligned" else ""))


def run_study(config: StudyConfig | None = None, out_dir: str | Path = "runs/reid_study", *,
              log: Callable[[str], None] | None = None) -> StudyResult:
    """Train every row over the seeds, attack (grey-box from the source, white-box) and aggregate.

    Parameters
    ----------
    config : StudyConfig, optional
        Settings (reduced CPU defaults).
    out_dir : path-like
        Receives one run folder per (row, seed) plus the source model's.
    log : callable, optional
        Receives one line per finished step.

    Returns
    -------
    StudyResult
        Per-run metrics, the grey-box and white-box tables, chance mAP and the settings.

    Raises
    ------
    ValueError
        For invalid settings, data, or a source checkpoint of another model.

    References
    ----------
    Seed 000, Tables 1–3; issue #19 (design).

    Examples
    --------
    >>> import tempfile
    >>> cfg = StudyConfig(rows=("baseline",), n_seeds=1, epsilons=(8,), white_box=False, steps=1, epochs=1,
    ...                   width=2, height=32, width_px=16, p=2, k=2, synthetic={"num_train_ids": 2, "num_test_ids": 2,
    ...                   "num_cameras": 2, "num_distractors": 0, "height": 32, "width": 16})
    >>> r = run_study(cfg, tempfile.mkdtemp())
    >>> [row["row"] for row in r.grey]
    ['baseline']
    """
    import logging

    import torch

    from nlvision.engine import TrainerConfig
    from nlvision.reid.attack import AttackConfig, GANConfig, attack_images, train_dmr_gan
    from nlvision.reid.data import ReIDImageDataset, load_reid_data
    from nlvision.reid.evaluate import chance_map, evaluate_features
    from nlvision.reid.model import ReidModelConfig, load_reid_model
    from nlvision.reid.train import ReidTrainConfig, extract_features, train_reid

    cfg = config or StudyConfig()
    cfg.validate()
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    say = log or (lambda s: None)
    start = time.perf_counter()
    data = load_reid_data(cfg.data, **(cfg.synthetic if cfg.data.startswith("synthetic") else {}))
    source_model = None
    device = "cuda" if cfg.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available() else "cpu"
    if cfg.source_checkpoint is not None:  # validated before any training
        source_model = load_reid_model(cfg.source_checkpoint).to(device)
        _check_source(source_model, cfg, cfg.source_checkpoint)
    size = (cfg.height, cfg.width_px)
    qds = ReIDImageDataset(data.query, size)
    queries = torch.stack([qds.image(i) for i in range(len(data.query))]).to(device)
    gallery_ds = ReIDImageDataset(data.gallery, size)
    qp, gp, qc, gc = data.query.pids, data.gallery.pids, data.query.camids, data.gallery.camids
    chance = chance_map(qp, gp, qc, gc)
    out = Path(out_dir)
    eps_list = [float(e) for e in cfg.epsilons]
    wb_list = [float(e) for e in (cfg.white_box_epsilons or cfg.epsilons)] if cfg.white_box else []
    keyed = lambda e: f"eps={e:g}"  # noqa: E731

    def metrics(model, q, gf=None) -> dict:
        gf = extract_features(model, gallery_ds) if gf is None else gf
        m, _ = evaluate_features(extract_features(model, q), gf, qp, gp, qc, gc)
        return m.as_dict() | {"query_ci": m.ap_half_width()}

    def attack(model, eps: float, seed: int) -> torch.Tensor:
        acfg = AttackConfig(epsilon=eps, steps=cfg.steps, seed=seed)
        gen = None
        if cfg.attack == "dmr-gan":
            gen = train_dmr_gan(model, data.train, acfg, GANConfig(epochs=cfg.gan_epochs, seed=seed))
        return attack_images(model, queries, qp, cfg.attack, acfg, generator_net=gen, seed=seed)

    def train(row: str, seed: int, name: str):
        augment, nfd = ROWS[row]
        mcfg = ReidModelConfig(num_classes=data.num_classes, arch=cfg.target, backbone=cfg.backbone, width=cfg.width,
                               height=cfg.height, width_px=cfg.width_px, nfd=nfd, augment=augment,
                               erase_fill=cfg.cre_fill, aligned_neck=cfg.aligned_neck, seed=seed)
        base = ReidTrainConfig(p=cfg.p, k=cfg.k, lr=cfg.lr, seed=seed)
        tcfg = base.short(cfg.epochs) if cfg.schedule == "short" else base.scaled(cfg.epochs)
        trainer = TrainerConfig(epochs=cfg.epochs, progress=False, accelerator=cfg.accelerator, devices="1", seed=seed)
        model = train_reid(data, out / name, model_config=mcfg, train_config=tcfg, trainer_config=trainer, weights=cfg.weights)
        return model.to(device)

    # 1. the grey-box source and its adversarial query sets
    t0 = time.perf_counter()
    if source_model is None:
        source_model = train("baseline", cfg.source_seed, f"source_seed{cfg.source_seed}")
        source = {"kind": f"{cfg.target} baseline, seed {cfg.source_seed}"}
    else:
        source = {"kind": f"checkpoint {cfg.source_checkpoint}"}
    adv = {e: attack(source_model, e, cfg.source_seed) for e in eps_list}
    sgf = extract_features(source_model, gallery_ds)
    source |= {"clean": metrics(source_model, queries, sgf), "white_box": {keyed(e): metrics(source_model, adv[e], sgf) for e in eps_list}}
    say(f"source: clean mAP {100 * source['clean']['mAP']:.1f}, white-box "
        + ", ".join(f"{keyed(e)}: {100 * source['white_box'][keyed(e)]['mAP']:.1f}" for e in eps_list)
        + f" ({time.perf_counter() - t0:.0f} s)")
    # 2. every row over the seeds
    runs = []
    for row in ["baseline"] + [r for r in cfg.rows if r != "baseline"]:
        for seed in range(cfg.n_seeds):
            t0 = time.perf_counter()
            model = train(row, seed, f"{row.strip('+').replace('+', '_').replace(' ', '_')}/seed{seed}")
            gf = extract_features(model, gallery_ds)
            rec = {"row": row, "seed": seed, "clean": metrics(model, queries, gf),
                   "grey": {keyed(e): metrics(model, adv[e], gf) for e in eps_list},
                   "white": {keyed(e): metrics(model, attack(model, e, seed), gf) for e in wb_list}}
            rec["seconds"] = round(time.perf_counter() - t0, 1)
            runs.append(rec)
            say(f"{row} seed {seed}: clean {100 * rec['clean']['mAP']:.1f}; grey "
                + " ".join(f"{100 * rec['grey'][keyed(e)]['mAP']:.1f}" for e in eps_list)
                + ("; white " + " ".join(f"{100 * rec['white'][keyed(e)]['mAP']:.1f}" for e in wb_list) if wb_list else "")
                + f" ({rec['seconds']:.0f} s)")
    rows = ["baseline"] + [r for r in cfg.rows if r != "baseline"]
    grey = _aggregate(runs, rows, "grey", [keyed(e) for e in eps_list])
    white = _aggregate(runs, rows, "white", [keyed(e) for e in wb_list]) if wb_list else []
    settings = asdict(cfg) | {"rows": rows, "epsilons": eps_list, "white_box_epsilons": wb_list,
                              "data_summary": data.summary(), "torch_threads": torch.get_num_threads()}
    return StudyResult(runs, grey, white, chance, source, settings, round(time.perf_counter() - start, 1), data.synthetic)


def plot_cmc(curves: dict[str, np.ndarray], path: str | Path, title: str = "CMC") -> Path:
    """Plot CMC curves (name -> cmc array) to a PNG, atomically.

    Parameters
    ----------
    curves : dict of str to ndarray
        CMC of each model / condition.
    path : path-like
        PNG to write.
    title : str
        Figure title.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> plot_cmc({"a": np.linspace(0.5, 1, 10)}, pathlib.Path(tempfile.mkdtemp()) / "c.png").suffix
    '.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlvision.atomic import savefig_atomic

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
    savefig_atomic(fig, path, dpi=100, format="png")
    plt.close(fig)
    return Path(path)


def plot_ranked_list(query: np.ndarray, gallery: list[np.ndarray], matches: list[bool], path: str | Path,
                     title: str = "", distances: list[float] | None = None) -> Path:
    """Query image and its top-ranked gallery images; true matches framed green, others red.

    Parameters
    ----------
    query : ndarray (H, W, 3)
        Query image in [0, 1].
    gallery : list of ndarray (H, W, 3)
        Ranked gallery images (best first).
    matches : list of bool
        Whether each gallery image is the query's identity.
    path : path-like
        PNG to write (atomically).
    title : str
        Figure title.
    distances : list of float, optional
        Printed under each gallery image.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        When ``matches`` and ``gallery`` differ in length.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> img = np.zeros((8, 4, 3))
    >>> plot_ranked_list(img, [img], [True], pathlib.Path(tempfile.mkdtemp()) / "r.png").suffix
    '.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from nlvision.atomic import savefig_atomic

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
    savefig_atomic(fig, path, dpi=100, format="png")
    plt.close(fig)
    return Path(path)
