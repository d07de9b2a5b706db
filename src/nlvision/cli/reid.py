"""``nlvision reid``: train, evaluate (optionally under the DMR attack), robustness table, rank."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import ACCELERATOR, DEVICES, NUM_NODES, PRECISION, STRATEGY, emit, trainer_config

app = typer.Typer(help="Person re-identification with the NFD defense, under a mis-ranking attack.", no_args_is_help=True)

DATA_HELP = "synthetic | market1501:PATH | folder:PATH (Market-1501 layout)"


def register(root: typer.Typer) -> None:
    """Add the ``reid`` command group."""
    root.add_typer(app, name="reid")


def _pct(d: dict) -> str:
    return (f"mAP {100 * d['mAP']:.1f}%  R1 {100 * d['R1']:.1f}%  R5 {100 * d['R5']:.1f}%  R10 {100 * d['R10']:.1f}%"
            f"  ({d['num_valid_queries']} queries)")


@app.command()
def train(
    data: str = typer.Option("synthetic", help=DATA_HELP),
    out: Path = typer.Option(Path("runs/reid"), help="Run folder (config.json, checkpoints/, model.safetensors, logs/)."),
    cre: bool = typer.Option(True, "--cre/--no-cre", help="Channel-level random erasing (seed §2.2)."),
    nfd: bool = typer.Option(True, "--nfd/--no-nfd", help="Non-local feature-denoising blocks after res2-res5 (§2.3)."),
    augment: Optional[str] = typer.Option(None, help="Override the input augmentation: none | re | cre | grayscale."),
    backbone: str = typer.Option("resnet50", help="resnet18 | resnet34 | resnet50 | resnet101 | resnet152."),
    width: int = typer.Option(64, help="Backbone base width (64; smaller for CPU)."),
    height: int = typer.Option(256, help="Input height."),
    width_px: int = typer.Option(128, "--input-width", help="Input width."),
    weights: Optional[Path] = typer.Option(None, help="ImageNet backbone weights (torchvision layout, safetensors or .pth)."),
    epochs: int = typer.Option(120, help="Epochs (BoT: 120; the schedule is scaled to this length)."),
    lr: float = typer.Option(3.5e-4, help="Adam learning rate (BoT: 3.5e-4)."),
    p: int = typer.Option(16, help="Identities per batch."),
    k: int = typer.Option(4, help="Images per identity."),
    margin: float = typer.Option(0.3, help="Triplet margin (eq. 11)."),
    epsilon_ls: float = typer.Option(0.1, "--label-smoothing", help="Label smoothing epsilon (eq. 14)."),
    accelerator: str = ACCELERATOR,
    devices: str = DEVICES,
    strategy: str = STRATEGY,
    num_nodes: int = NUM_NODES,
    precision: str = PRECISION,
    workers: int = typer.Option(0, help="DataLoader workers."),
    seed: int = typer.Option(0, help="Seed."),
    resume: bool = typer.Option(False, help="Resume from OUT/checkpoints/last.ckpt."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Train an NFD re-identification model (BoT recipe: triplet + label-smoothed CE)."""
    from nlvision.reid.data import load_reid_data
    from nlvision.reid.evaluate import evaluate_features
    from nlvision.reid.model import NFDConfig
    from nlvision.reid.train import ReIDTrainConfig, extract_features, train_reid

    aug = augment if augment is not None else ("cre" if cre else "none")
    tcfg = ReIDTrainConfig(p=p, k=k, lr=lr, margin=margin, epsilon=epsilon_ls, num_workers=workers, seed=seed)
    tcfg.validate()
    if lr <= 0:
        raise ValueError(f"--lr: expected a positive number, got {lr}")
    if weights is not None and not weights.is_file():
        raise ValueError(f"--weights: no such file {weights}")
    mcfg = NFDConfig(num_classes=2, backbone=backbone, width=width, height=height, width_px=width_px, nfd=nfd,
                     augment=aug, seed=seed)
    mcfg.validate()
    trainer = trainer_config(epochs=epochs, devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes,
                             precision=precision, seed=seed)
    ds = load_reid_data(data)
    if ds.num_classes < p:
        raise ValueError(f"--p: {p} identities per batch but the training split has {ds.num_classes}")
    mcfg.num_classes = ds.num_classes
    model = train_reid(ds, mcfg, tcfg.scaled(epochs), trainer, out, weights=weights, resume=resume,
                       run_config={"data_spec": data})
    qf, gf = extract_features(model, ds.query), extract_features(model, ds.gallery)
    metrics, _ = evaluate_features(qf, gf, ds.query.pids, ds.gallery.pids, ds.query.camids, ds.gallery.camids)
    result = {"checkpoint": str(out / "model.safetensors"), "data": ds.summary()["data"], **metrics.as_dict()}
    emit(result, as_json, f"trained -> {out / 'model.safetensors'}\n{result['data']}: {_pct(metrics.as_dict())}")
    return 0


@app.command()
def evaluate(
    checkpoint: Path = typer.Argument(..., help="model.safetensors written by `reid train`."),
    data: str = typer.Option("synthetic", help=DATA_HELP),
    attack: str = typer.Option("none", help="none | dmr-pgd | dmr-gan (queries only, white-box)."),
    epsilon: float = typer.Option(16.0, help="L-inf budget in pixel levels out of 255 (16 = 16/255)."),
    steps: int = typer.Option(10, help="PGD iterations (dmr-pgd)."),
    gan_epochs: int = typer.Option(5, help="Generator training epochs (dmr-gan)."),
    rerank: bool = typer.Option(False, help="k-reciprocal re-ranking (k1=20, k2=6, lambda=0.3)."),
    out: Optional[Path] = typer.Option(None, help="Write metrics.json here (folder)."),
    seed: int = typer.Option(0, help="Seed of the attack."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Market-1501 protocol (CMC R1/5/10, non-interpolated mAP), optionally under the DMR attack."""
    from nlvision.reid.attack import ATTACKS, AttackConfig, GANConfig, attack_images, check_epsilon

    if attack not in ATTACKS:
        raise ValueError(f"--attack: unknown attack {attack!r}; valid: {list(ATTACKS)}")
    check_epsilon(epsilon)
    import torch

    from nlvision.atomic import write_json_atomic
    from nlvision.reid.attack import train_dmr_gan
    from nlvision.reid.data import ReIDImageDataset, load_reid_data
    from nlvision.reid.evaluate import evaluate_features
    from nlvision.reid.model import load_reid_checkpoint
    from nlvision.reid.train import extract_features

    model = load_reid_checkpoint(checkpoint)
    ds = load_reid_data(data)
    size = (model.config.height, model.config.width_px)
    qds = ReIDImageDataset(ds.query, size)
    queries = torch.stack([qds.image(i) for i in range(len(qds))])
    acfg = AttackConfig(epsilon=epsilon, steps=steps, seed=seed)
    gen = train_dmr_gan(model, ds.train, acfg, GANConfig(epochs=gan_epochs, seed=seed)) if attack == "dmr-gan" else None
    adv = attack_images(model, queries, ds.query.pids, attack, acfg, generator_net=gen, seed=seed)
    qf, gf = extract_features(model, adv), extract_features(model, ReIDImageDataset(ds.gallery, size))
    metrics, _ = evaluate_features(qf, gf, ds.query.pids, ds.gallery.pids, ds.query.camids, ds.gallery.camids, rerank=rerank)
    result = {"checkpoint": str(checkpoint), "data": ds.summary()["data"], "attack": attack,
              "epsilon": f"{epsilon:g}/255" if attack != "none" else None, "rerank": rerank, **metrics.as_dict()}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "metrics.json", {**result, "cmc": metrics.cmc.tolist()})
    emit(result, as_json, f"{result['data']}, attack {attack}" + (f" eps {epsilon:g}/255" if attack != "none" else "")
         + f":\n{_pct(metrics.as_dict())}")
    return 0


@app.command()
def robustness(
    data: str = typer.Option("synthetic", help=DATA_HELP),
    attack: str = typer.Option("dmr-pgd", help="dmr-pgd | dmr-gan."),
    epsilon: float = typer.Option(16.0, help="L-inf budget in pixel levels out of 255."),
    steps: int = typer.Option(10, help="PGD iterations."),
    source: str = typer.Option("baseline", help="baseline (seed protocol: queries attacked once, against the baseline) | self (white-box against each model)."),
    epochs: int = typer.Option(40, help="Training epochs of every model (40: the whole table in about 3.5 min on 2 cores)."),
    backbone: str = typer.Option("resnet18", help="Backbone (reduced CPU default resnet18)."),
    width: int = typer.Option(8, help="Backbone width (reduced CPU default 8)."),
    height: int = typer.Option(64, help="Input height (reduced CPU default 64)."),
    width_px: int = typer.Option(32, "--input-width", help="Input width (reduced CPU default 32)."),
    lr: float = typer.Option(3e-3, help="Adam learning rate (3e-3 from scratch)."),
    p: int = typer.Option(8, help="Identities per batch."),
    k: int = typer.Option(4, help="Images per identity."),
    rows: str = typer.Option(",".join(["baseline", "+RE", "+random grayscale", "+CRE", "+NFD", "+CRE+NFD"]), help="Comma-separated rows."),
    out: Path = typer.Option(Path("runs/reid_robustness"), help="Folder for the runs and results.json."),
    seed: int = typer.Option(0, help="Seed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Tables 1/3 of the seed: clean baseline, under attack, +RE, +grayscale, +CRE, +NFD, +CRE+NFD."""
    from nlvision.atomic import write_json_atomic
    from nlvision.reid.robustness import RobustnessConfig, format_table, run_robustness

    cfg = RobustnessConfig(data=data, attack=attack, epsilon=epsilon, steps=steps, source=source, epochs=epochs,
                           backbone=backbone, width=width, height=height, width_px=width_px, lr=lr, p=p, k=k,
                           rows=tuple(r.strip() for r in rows.split(",") if r.strip()), seed=seed)
    if data != "synthetic":
        cfg.synthetic = {}
    cfg.validate()
    result = run_robustness(cfg, out, log=lambda s: typer.echo(s, err=True))
    write_json_atomic(out / "results.json", result.as_dict())
    emit(result.as_dict(), as_json, format_table(result) + f"\n({result.seconds:.0f} s; results in {out / 'results.json'})")
    return 0


@app.command()
def rank(
    checkpoint: Path = typer.Argument(..., help="model.safetensors written by `reid train`."),
    query_image: Path = typer.Argument(..., help="Query image (a Market-style name <id>_c<cam>... marks true matches)."),
    data: str = typer.Option("synthetic", help="Gallery: " + DATA_HELP),
    top: int = typer.Option(10, help="Gallery images to show."),
    out: Path = typer.Option(Path("rank.png"), help="Figure to write (PNG)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Rank the gallery for one query image and draw the ranked list (true matches in green)."""
    import numpy as np
    import torch

    from nlvision.imageio import load_image
    from nlvision.reid.data import ReIDImageDataset, load_reid_data, parse_reid_name, resize_batch
    from nlvision.reid.evaluate import feature_distance
    from nlvision.reid.model import load_reid_checkpoint
    from nlvision.reid.robustness import plot_ranked_list
    from nlvision.reid.train import extract_features

    if top < 1:
        raise ValueError(f"--top: expected a positive int, got {top}")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out: expected a .png path, got {out}")
    model = load_reid_checkpoint(checkpoint)
    img = load_image(query_image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3].astype(np.float32)
    try:
        pid, cam = parse_reid_name(query_image.name)
    except ValueError:
        pid, cam = None, None
    ds = load_reid_data(data)
    size = (model.config.height, model.config.width_px)
    gds = ReIDImageDataset(ds.gallery, size)
    q = resize_batch(torch.from_numpy(img).permute(2, 0, 1)[None], size)
    qf, gf = extract_features(model, q), extract_features(model, gds)
    dist = feature_distance(qf, gf)[0]
    keep = np.ones(len(dist), bool) if pid is None else ~((ds.gallery.pids == pid) & (ds.gallery.camids == cam))
    idx = np.flatnonzero(keep)[np.argsort(dist[keep])][:top]
    matches = [bool(pid is not None and ds.gallery.pids[i] == pid) for i in idx]
    gallery = [gds.image(int(i)).permute(1, 2, 0).numpy() for i in idx]
    plot_ranked_list(q[0].permute(1, 2, 0).numpy(), gallery, matches, out,
                     title=f"{query_image.name} ({ds.summary()['data']})", distances=[float(dist[i]) for i in idx])
    result = {"figure": str(out), "ranked": [{"index": int(i), "pid": int(ds.gallery.pids[i]), "camera": int(ds.gallery.camids[i]) + 1,
                                               "distance": float(dist[i]), "match": m} for i, m in zip(idx, matches)]}
    emit(result, as_json, f"wrote {out}\n" + "\n".join(f"{r + 1:>3}. id {e['pid']:04d} c{e['camera']}  d={e['distance']:.3f}"
                                                     + ("  (match)" if e["match"] else "") for r, e in enumerate(result["ranked"])))
    return 0
