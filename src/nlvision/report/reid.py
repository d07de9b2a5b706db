"""Demo report section: a short synthetic re-identification run, clean / attacked / defended.

Two small models are trained on the synthetic person data set (SYNTHETIC): the undefended
baseline and the NFD defense (CRE + non-local blocks). The queries are attacked once with
DMR-PGD (ε = 16/255) white-box against the baseline and both models are evaluated (a
demonstration; the robustness study with seeds and CIs is ``nlvision reid study``).
The section shows the table, the CMC curves and a ranked list with true matches marked.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def build(out_dir: Path, quick: bool):
    """Build the report section (``quick``: ≤ 90 s on 2 CPU cores)."""
    import logging

    import torch

    from nlvision.engine import TrainerConfig
    from nlvision.report.base import Section, figure_html, html_table
    from nlvision.reid.attack import AttackConfig, attack_images
    from nlvision.reid.data import ReIDImageDataset, synthetic_reid_data
    from nlvision.reid.evaluate import evaluate_features, feature_distance
    from nlvision.reid.model import ReidModelConfig
    from nlvision.reid.study import plot_cmc, plot_ranked_list
    from nlvision.reid.train import ReidTrainConfig, extract_features, train_reid

    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    start = time.perf_counter()
    out_dir = Path(out_dir)
    n_train, epochs, width, steps = (24, 8, 8, 5) if quick else (64, 20, 16, 10)
    data = synthetic_reid_data(num_train_ids=n_train, num_test_ids=16, height=64, width=32, num_distractors=8)
    size = (64, 32)
    qds, gds = ReIDImageDataset(data.query, size), ReIDImageDataset(data.gallery, size)
    queries = torch.stack([qds.image(i) for i in range(len(qds))])
    tcfg = ReidTrainConfig(p=8, k=4, lr=3e-3).short(epochs)
    trainer = TrainerConfig(epochs=epochs, progress=False, accelerator="cpu", devices="1")
    acfg = AttackConfig(epsilon=16, steps=steps)
    results, curves, models, adv = [], {}, {}, None
    with tempfile.TemporaryDirectory() as tmp:
        for name, nfd, augment in (("baseline", False, "none"), ("NFD (CRE + non-local)", True, "cre")):
            mcfg = ReidModelConfig(num_classes=data.num_classes, backbone="resnet18", width=width, height=64, width_px=32,
                                   nfd=nfd, augment=augment)
            model = train_reid(data, Path(tmp) / name.split()[0], model_config=mcfg, train_config=tcfg, trainer_config=trainer)
            models[name] = model
            if adv is None:
                adv = attack_images(model, queries, data.query.pids, "dmr-pgd", acfg)
            gf = extract_features(model, gds)
            for tag, q in (("clean", queries), ("DMR-PGD attack", adv)):
                m, _ = evaluate_features(extract_features(model, q), gf, data.query.pids, data.gallery.pids,
                                         data.query.camids, data.gallery.camids)
                results.append([name, tag, 100 * m.mAP, 100 * m.rank(1), 100 * m.rank(5), 100 * m.rank(10)])
                curves[f"{name}, {tag}"] = m.cmc[:20]
    figs = []
    plot_cmc(curves, out_dir / "reid_cmc.png", title="CMC on synthetic persons (SYNTHETIC)")
    figs.append("reid_cmc.png")
    # ranked lists for one query: baseline on clean and attacked query, defended on attacked
    qi = 0
    keep = ~((data.gallery.pids == data.query.pids[qi]) & (data.gallery.camids == data.query.camids[qi]))
    for key, (name, q) in {"clean": ("baseline", queries), "attacked": ("baseline", adv),
                           "defended": ("NFD (CRE + non-local)", adv)}.items():
        model = models[name]
        d = feature_distance(extract_features(model, q[qi:qi + 1]), extract_features(model, gds))[0]
        idx = np.flatnonzero(keep)[np.argsort(d[keep])][:8]
        plot_ranked_list(q[qi].permute(1, 2, 0).numpy(), [gds.image(int(i)).permute(1, 2, 0).numpy() for i in idx],
                         [bool(data.gallery.pids[i] == data.query.pids[qi]) for i in idx], out_dir / f"reid_rank_{key}.png",
                         title=f"{name}, {key} query")
        figs.append(f"reid_rank_{key}.png")
    body = (
        "<p>SYNTHETIC data: nlvision's multi-camera person generator "
        f"({len(data.train)} training / {len(data.query)} query / {len(data.gallery)} gallery images, 64×32). "
        f"Reduced network: ResNet-18 width {width}, last stride 1, BNNeck, trained from scratch for {epochs} epochs. "
        f"Attack: DMR-PGD, ε = 16/255, {steps} steps, queries only, computed against the baseline. One seed: a "
        "demonstration, not evidence — see <code>nlvision reid study</code> for seeds, CIs and paired gains.</p>"
        + html_table(["model", "queries", "mAP %", "R1 %", "R5 %", "R10 %"], results, "{:.1f}")
        + figure_html("reid_cmc.png", "CMC curves (SYNTHETIC)")
        + "".join(figure_html(f, f.replace("reid_rank_", "ranked list: ").replace(".png", "") + " (green = true match)")
                  for f in figs[1:])
    )
    base_clean, base_att, def_att = results[0][2], results[1][2], results[3][2]
    summary = {"baseline clean mAP %": round(base_clean, 1), "baseline attacked mAP %": round(base_att, 1),
               "NFD attacked mAP %": round(def_att, 1), "seconds": round(time.perf_counter() - start, 1)}
    return Section(title="Person re-identification under attack (NFD)", html=body, figures=figs, summary=summary)
