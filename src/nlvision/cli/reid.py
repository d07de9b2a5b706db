"""``nlvision reid``: train, evaluate (optionally under the DMR attack), predict (ranked lists),
extract (features of a folder), study (the robustness study), rank (figure for one query)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import (
    ACCELERATOR,
    DEVICES,
    LIMIT_BATCHES,
    NUM_NODES,
    PRECISION,
    PROGRESS,
    STRATEGY,
    check_training_inputs,
    emit,
    trainer_config,
)

DATA_HELP = "synthetic (the study's data) | market1501:PATH | folder:PATH (Market-1501 layout)"
EPS_HELP = "L-inf budget in 1/255 units (16 = 16/255); values below 1 are refused."


def register(root: typer.Typer) -> None:
    """Add the ``reid`` command group."""
    app = typer.Typer(help="Person re-identification with the NFD defense, under a mis-ranking attack.", no_args_is_help=True)
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("predict")(predict)
    app.command("extract")(extract)
    app.command("study")(study)
    app.command("rank")(rank)
    root.add_typer(app, name="reid")


def _pct(d: dict) -> str:
    return (f"mAP {100 * d['mAP']:.1f}%  mINP {100 * d['mINP']:.1f}%  R1 {100 * d['R1']:.1f}%  R5 {100 * d['R5']:.1f}%"
            f"  R10 {100 * d['R10']:.1f}%  ({d['num_valid_queries']} queries)")


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")


def _checkpoint(path: Path) -> None:
    if not path.is_file():
        raise ValueError(f"checkpoint: no such file {path}")


def _device(accelerator: str) -> str:
    import torch

    if accelerator not in ("auto", "cpu", "gpu", "cuda"):
        raise ValueError(f"--accelerator: expected auto | cpu | gpu, got {accelerator!r}")
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ValueError("--accelerator: gpu requested but no CUDA device is available")
    return "cuda" if accelerator != "cpu" and torch.cuda.is_available() else "cpu"


def train(
    data: str = typer.Option("synthetic", help=DATA_HELP),
    out: Path = typer.Option(Path("runs/reid"), "-o", "--out", help="Run folder (config.json, checkpoints/, model.safetensors, logs/)."),
    arch: str = typer.Option("bot", help="bot (StrongReID baseline) | aligned (AlignedReID++: global + local stripes, DMLI)."),
    aligned_neck: bool = typer.Option(False, "--aligned-neck/--no-aligned-neck", help="BoT's BNNeck in AlignedReID++ (for training from scratch)."),
    cre: bool = typer.Option(True, "--cre/--no-cre", help="Channel-level random erasing (seed §2.2)."),
    cre_fill: str = typer.Option("mean", help="CRE fill: mean (channel mean, seed) | random."),
    nfd: bool = typer.Option(True, "--nfd/--no-nfd", help="Non-local feature-denoising blocks after res2-res5 (§2.3)."),
    augment: Optional[str] = typer.Option(None, help="Override the input augmentation: none | re | cre | grayscale."),
    backbone: str = typer.Option("resnet50", help="resnet18 | resnet34 | resnet50 | resnet101 | resnet152."),
    width: int = typer.Option(64, help="Backbone base width (64; smaller for CPU)."),
    height: int = typer.Option(256, help="Input height."),
    width_px: int = typer.Option(128, "--input-width", help="Input width."),
    normalize: bool = typer.Option(True, "--normalize/--no-normalize", help="L2-normalised retrieval features (BoT)."),
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
    limit_batches: float = LIMIT_BATCHES,
    progress: bool = PROGRESS,
    workers: int = typer.Option(0, help="DataLoader workers."),
    seed: int = typer.Option(0, help="Seed (initialisation, sampler, transforms, augmentation)."),
    resume: bool = typer.Option(False, help="Resume from OUT/checkpoints/last.ckpt."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Train a re-identification model (BoT recipe; AlignedReID++ adds the aligned local triplet)."""
    check_training_inputs("reid train", out, weights)
    from nlvision.reid import ReidModelConfig, ReidTrainConfig, evaluate_reid, load_reid_data, train_reid

    for name, v in (("--lr", lr), ("--margin", margin), ("--label-smoothing", epsilon_ls), ("--limit-batches", limit_batches)):
        _finite(name, v)
    if not limit_batches > 0:
        raise ValueError(f"--limit-batches: expected a positive number, got {limit_batches}")
    if epochs < 1:
        raise ValueError(f"--epochs: expected a positive int, got {epochs}")
    aug = augment if augment is not None else ("cre" if cre else "none")
    tcfg = ReidTrainConfig(p=p, k=k, lr=lr, margin=margin, epsilon=epsilon_ls, num_workers=workers, seed=seed)
    tcfg.validate()
    if weights is not None and not weights.is_file():
        raise ValueError(f"--weights: no such file {weights}")
    mcfg = ReidModelConfig(num_classes=2, arch=arch, backbone=backbone, width=width, height=height, width_px=width_px,
                           nfd=nfd, augment=aug, erase_fill=cre_fill, normalize_features=normalize, aligned_neck=aligned_neck,
                           seed=seed)
    mcfg.validate()
    trainer = trainer_config(epochs=epochs, devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes,
                             precision=precision, seed=seed, limit_batches=limit_batches, progress=progress)
    device = _device(accelerator)
    ds = load_reid_data(data)
    if ds.num_classes < p:
        raise ValueError(f"--p: {p} identities per batch but the training split has {ds.num_classes}")
    model = train_reid(ds, out, model_config=mcfg, train_config=tcfg.scaled(epochs), trainer_config=trainer,
                       weights=weights, resume=resume)
    metrics = evaluate_reid(model, ds, device=device).as_dict()
    result = {"checkpoint": str(out / "model.safetensors"), "data": ds.summary()["data"], **metrics}
    emit(result, as_json, f"trained -> {out / 'model.safetensors'}\n{result['data']}: {_pct(metrics)}")
    return 0


def evaluate(
    checkpoint: Path = typer.Argument(..., help="model.safetensors written by `reid train`."),
    data: str = typer.Option("synthetic", help=DATA_HELP),
    attack: str = typer.Option("none", help="none | dmr-pgd | dmr-gan (queries only, white-box)."),
    epsilon: float = typer.Option(16.0, help=EPS_HELP),
    steps: int = typer.Option(10, help="PGD iterations (dmr-pgd)."),
    gan_epochs: int = typer.Option(50, help="Generator training epochs (dmr-gan; DMR: 50)."),
    rerank: bool = typer.Option(False, help="k-reciprocal re-ranking (k1=20, k2=6, lambda=0.3)."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Write the metrics (with the CMC curve) to this JSON file."),
    accelerator: str = ACCELERATOR,
    seed: int = typer.Option(0, help="Seed of the attack."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Market-1501 protocol (mAP, mINP, CMC), optionally with the queries under the DMR attack."""
    from nlvision.reid.attack import ATTACKS, AttackConfig, GANConfig

    if attack not in ATTACKS:
        raise ValueError(f"--attack: unknown attack {attack!r}; valid: {list(ATTACKS)}")
    acfg = AttackConfig(epsilon=epsilon, steps=steps, seed=seed)
    acfg.validate()
    gcfg = GANConfig(epochs=gan_epochs, seed=seed)
    gcfg.validate()
    _checkpoint(checkpoint)
    if out is not None and out.resolve() == checkpoint.resolve():
        raise ValueError("--out: refusing to overwrite the checkpoint")
    if out is not None and out.suffix.lower() != ".json":
        raise ValueError(f"--out: expected a .json file, got {out}")
    device = _device(accelerator)
    from nlvision.atomic import write_json_atomic
    from nlvision.reid import evaluate_reid, load_reid_data, load_reid_model

    model = load_reid_model(checkpoint)
    ds = load_reid_data(data)
    metrics = evaluate_reid(model, ds, attack=attack, attack_config=acfg, gan_config=gcfg, rerank=rerank, device=device)
    result = {"checkpoint": str(checkpoint), "data": ds.summary()["data"], "attack": attack,
              "epsilon": f"{epsilon:g}/255" if attack != "none" else None, "rerank": rerank, **metrics.as_dict()}
    if out is not None:
        write_json_atomic(out, {**result, "cmc": metrics.cmc.tolist()})
    emit(result, as_json, f"{result['data']}, attack {attack}" + (f" eps {epsilon:g}/255" if attack != "none" else "")
         + f":\n{_pct(metrics.as_dict())}")
    return 0


def predict(
    checkpoint: Path = typer.Argument(..., help="model.safetensors written by `reid train`."),
    query: Optional[str] = typer.Option(None, help="Query images: a file, a folder or a glob (default: the data's query split)."),
    gallery: Optional[str] = typer.Option(None, help="Gallery images: a file, a folder or a glob (default: the data's gallery)."),
    data: str = typer.Option("synthetic", help="Used when --query/--gallery are not given: " + DATA_HELP),
    top: int = typer.Option(10, help="Entries per ranked list."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Write every query's ranked list to this JSON file."),
    accelerator: str = ACCELERATOR,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Ranked gallery lists for the whole query set (junk = same id and camera left out)."""
    if top < 1:
        raise ValueError(f"--top: expected a positive int, got {top}")
    _checkpoint(checkpoint)
    if (query is None) != (gallery is None):
        raise ValueError("--query, --gallery: give both or neither")
    if out is not None and out.suffix.lower() != ".json":
        raise ValueError(f"--out: expected a .json file, got {out}")
    device = _device(accelerator)
    from nlvision.atomic import write_json_atomic
    from nlvision.reid import load_reid_data, load_reid_model, predict_reid

    model = load_reid_model(checkpoint).to(device)
    if query is None:
        ds = load_reid_data(data)
        query_in, gallery_in = ds.query, ds.gallery
    else:
        query_in, gallery_in = query, gallery
    ranks = predict_reid(model, query_in, gallery_in, top=top)
    result = {"checkpoint": str(checkpoint), "queries": len(ranks), "top": top, "ranked": ranks}
    if out is not None:
        write_json_atomic(out, result)
    text = "\n".join(f"{r['query']}: " + " ".join(f"{e['name'].split('/')[-1]}{'*' if e['match'] else ''}" for e in r["ranked"][:5])
                     for r in ranks[:10])
    emit(result, as_json, text + (f"\n... ({len(ranks)} queries)" if len(ranks) > 10 else "")
         + (f"\nwrote {out}" if out is not None else ""))
    return 0


def extract(
    checkpoint: Path = typer.Argument(..., help="model.safetensors written by `reid train`."),
    images: str = typer.Argument(..., help="A file, a folder or a glob of images."),
    out: Path = typer.Option(..., "-o", "--out", help="Features file (.npz: features (N, D) float32, names)."),
    accelerator: str = ACCELERATOR,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Retrieval features of every image of a folder, to one .npz file."""
    import numpy as np

    _checkpoint(checkpoint)
    if out.suffix.lower() != ".npz":
        raise ValueError(f"--out: expected a .npz file, got {out}")
    if out.resolve() == checkpoint.resolve():
        raise ValueError("--out: refusing to overwrite the checkpoint")
    device = _device(accelerator)
    from nlvision.atomic import atomic_path
    from nlvision.reid import extract_reid_features, load_reid_model
    from nlvision.reid.predict import image_files

    files = image_files(images)
    if any(f.resolve() == out.resolve() for f in files):
        raise ValueError("--out: refusing to overwrite an input")
    model = load_reid_model(checkpoint).to(device)
    feats, names = extract_reid_features(model, images)
    with atomic_path(out, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, features=feats, names=np.array(names))
    result = {"out": str(out), "images": len(names), "dim": int(feats.shape[1])}
    emit(result, as_json, f"wrote {out}: {len(names)} features of dimension {feats.shape[1]}")
    return 0


def study(
    target: str = typer.Option("bot", help="bot (StrongReID) | aligned (AlignedReID++)."),
    data: str = typer.Option("synthetic", help=DATA_HELP),
    attack: str = typer.Option("dmr-pgd", help="dmr-pgd | dmr-gan."),
    epsilons: str = typer.Option("2,4,8,16", help="Comma-separated L-inf budgets in 1/255 units."),
    white_box: bool = typer.Option(True, "--white-box/--no-white-box", help="Also attack every model itself (separate table)."),
    white_box_epsilons: Optional[str] = typer.Option(None, help="Budgets of the white-box table (default: --epsilons)."),
    seeds: int = typer.Option(3, help="Seeds per row (>= 1)."),
    source_seed: int = typer.Option(1000, help="Seed of the grey-box source model (never an evaluated row)."),
    source_checkpoint: Optional[Path] = typer.Option(None, help="A trained source model instead (same architecture and input size)."),
    steps: int = typer.Option(10, help="PGD iterations."),
    gan_epochs: int = typer.Option(5, help="Generator epochs (dmr-gan)."),
    epochs: int = typer.Option(40, help="Training epochs of every model."),
    backbone: str = typer.Option("resnet18", help="Backbone (reduced CPU default resnet18)."),
    width: int = typer.Option(8, help="Backbone width (reduced CPU default 8)."),
    height: int = typer.Option(64, help="Input height (reduced CPU default 64)."),
    width_px: int = typer.Option(32, "--input-width", help="Input width (reduced CPU default 32)."),
    lr: float = typer.Option(3e-3, help="Adam learning rate (3e-3 from scratch)."),
    p: int = typer.Option(8, help="Identities per batch."),
    k: int = typer.Option(4, help="Images per identity."),
    cre_fill: str = typer.Option("mean", help="CRE fill: mean | random."),
    schedule: str = typer.Option("short", help="short (from scratch) | bot (BoT's 10/40/70-of-120, with --weights)."),
    aligned_neck: bool = typer.Option(True, "--aligned-neck/--no-aligned-neck", help="BoT's BNNeck in AlignedReID++ (from scratch; off = published head)."),
    weights: Optional[Path] = typer.Option(None, help="ImageNet backbone weights for every model (Market recipe)."),
    accelerator: str = ACCELERATOR,
    rows: str = typer.Option("baseline,+RE,+random grayscale,+CRE,+NFD,+CRE+NFD", help="Comma-separated rows."),
    out: Path = typer.Option(Path("runs/reid_study"), "-o", "--out", help="Folder for the runs and results.json."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """The robustness study: grey-box transfer + white-box, n seeds per row, mean ± 95 % CI, paired gains."""
    from nlvision.reid.study import StudyConfig

    def floats(name: str, s: str) -> tuple[float, ...]:
        try:
            return tuple(float(v) for v in s.split(",") if v.strip())
        except ValueError:
            raise ValueError(f"{name}: expected comma-separated numbers, got {s!r}") from None

    cfg = StudyConfig(target=target, data=data, rows=tuple(r.strip() for r in rows.split(",") if r.strip()), n_seeds=seeds,
                      source_seed=source_seed, source_checkpoint=str(source_checkpoint) if source_checkpoint else None,
                      epsilons=floats("--epsilons", epsilons), white_box=white_box,
                      white_box_epsilons=floats("--white-box-epsilons", white_box_epsilons) if white_box_epsilons else None,
                      attack=attack, steps=steps, gan_epochs=gan_epochs, backbone=backbone, width=width, height=height,
                      width_px=width_px, epochs=epochs, lr=lr, p=p, k=k, cre_fill=cre_fill, schedule=schedule, aligned_neck=aligned_neck,
                      weights=str(weights) if weights else None, accelerator="cpu" if _device(accelerator) == "cpu" else "gpu")
    cfg.validate()
    if cfg.source_checkpoint is not None:  # a source of another model is refused before anything is trained
        from nlvision.reid import load_reid_model
        from nlvision.reid.study import _check_source

        _check_source(load_reid_model(cfg.source_checkpoint), cfg, cfg.source_checkpoint)
    from nlvision.atomic import write_json_atomic
    from nlvision.reid.study import format_study, run_study

    result = run_study(cfg, out, log=lambda s: typer.echo(s, err=True))
    write_json_atomic(out / "results.json", result.as_dict())
    emit(result.as_dict(), as_json, format_study(result) + f"\n({result.seconds:.0f} s; results in {out / 'results.json'})")
    return 0


def rank(
    checkpoint: Path = typer.Argument(..., help="model.safetensors written by `reid train`."),
    query_image: Path = typer.Argument(..., help="Query image (a Market-style name <id>_c<cam>... marks true matches)."),
    data: str = typer.Option("synthetic", help="Gallery: " + DATA_HELP),
    top: int = typer.Option(10, help="Gallery images to show."),
    out: Path = typer.Option(Path("rank.png"), "-o", "--out", help="Figure to write (PNG)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Rank the gallery for one query image and draw the ranked list (true matches in green)."""
    if top < 1:
        raise ValueError(f"--top: expected a positive int, got {top}")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out: expected a .png path, got {out}")
    _checkpoint(checkpoint)
    if out.resolve() == query_image.resolve():
        raise ValueError("--out: refusing to overwrite the query image")
    from nlvision.reid import load_reid_data, load_reid_model, predict_reid
    from nlvision.reid.data import ReIDImageDataset
    from nlvision.reid.predict import split_from_files
    from nlvision.reid.study import plot_ranked_list

    model = load_reid_model(checkpoint)
    ds = load_reid_data(data)
    qsplit = split_from_files([query_image])
    r = predict_reid(model, qsplit, ds.gallery, top=top)[0]
    gds = ReIDImageDataset(ds.gallery, (model.config.height, model.config.width_px))
    qimg = ReIDImageDataset(qsplit, (model.config.height, model.config.width_px)).image(0)
    plot_ranked_list(qimg.permute(1, 2, 0).numpy(), [gds.image(e["index"]).permute(1, 2, 0).numpy() for e in r["ranked"]],
                     [bool(e["match"]) for e in r["ranked"]], out, title=f"{query_image.name} ({ds.summary()['data']})",
                     distances=[e["distance"] for e in r["ranked"]])
    result = {"figure": str(out), "ranked": r["ranked"]}
    emit(result, as_json, f"wrote {out}\n" + "\n".join(f"{i + 1:>3}. id {e['pid']:04d} c{e['camera']}  d={e['distance']:.3f}"
                                                     + ("  (match)" if e["match"] else "") for i, e in enumerate(r["ranked"])))
    return 0
