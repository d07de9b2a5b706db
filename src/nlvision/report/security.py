"""Demo report section: one image under every scheme at two strengths, with every index's score."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nlvision.report.base import Section, figure_html, html_table


def build(out_dir: Path, quick: bool) -> Section:
    """Build the visual-security section of the demo report.

    Parameters
    ----------
    out_dir : Path
        Report folder (figures are written here).
    quick : bool
        ``make demo`` mode: the camera image at 192 px and a 2-image ladder on the block shuffle
        (within ~40 s on the shared CPU); otherwise 256 px and a 3-image ladder on every scheme.

    Returns
    -------
    nlvision.report.Section
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlvision.security.encryption import SCHEMES, encrypt
    from nlvision.security.ladder import INDICES, bundled_gray_images, run_ladder, score_pair

    start = time.perf_counter()
    out_dir = Path(out_dir)
    side = 192 if quick else 256
    plain = bundled_gray_images(["camera"], max_side=side)["camera"]
    strengths = (1 / 3, 1.0)
    schemes = list(SCHEMES)
    rows, cells = [], []
    for scheme in schemes:
        for s in strengths:
            enc = encrypt(plain, scheme, s, key=0)
            sc = score_pair(plain, enc)
            rows.append([scheme, f"{s:.2f}"] + [sc[i] for i in INDICES])
            cells.append((scheme, s, enc, sc["C4"]))

    fig, axes = plt.subplots(len(strengths), len(schemes) + 1, figsize=(2.0 * (len(schemes) + 1), 2.2 * len(strengths)))
    for r, s in enumerate(strengths):
        axes[r, 0].imshow(plain, cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_title("plain", fontsize=8)
        for c, (scheme, ss, enc, v) in enumerate([x for x in cells if x[1] == s], start=1):
            axes[r, c].imshow(enc, cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_title(f"{scheme}\ns={ss:.2f} VSI={v:.2f}", fontsize=7)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    fig_name = "security_schemes.png"
    fig.savefig(out_dir / fig_name, dpi=80)
    plt.close(fig)

    if quick:
        lad = run_ladder(bundled_gray_images(["camera", "coins"], max_side=96), ["block_shuffle"])
    else:
        lad = run_ladder(bundled_gray_images(["camera", "coins", "moon"], max_side=128))
    lad_rows = [[s] + [lad.per_scheme[s][i] for i in INDICES] for s in lad.schemes]
    if lad.jigsaw:
        lad_rows.append(["jigsaw check"] + [lad.jigsaw[i] for i in INDICES])

    body = (
        "<p>The camera image encrypted by every scheme of <code>nlvision encrypt</code> at strengths 1/3 and 1 "
        "(key 0), scored by the VSI (configurations C1–C4 of Table 3; C4 is the full index, higher = "
        "<em>less</em> secure) and the baselines (higher = more similar).</p>"
        + figure_html(fig_name, "Encrypted images with their VSI (C4).")
        + html_table(["scheme", "strength"] + list(INDICES), rows, floatfmt="{:.3f}")
        + f"<p>Security ladder on {', '.join(lad.images)} ({'96' if quick else '128'} px): Spearman correlation "
        "between encryption strength and −score, per scheme — <strong>a proxy for human scores, not a "
        "subjective study</strong>. The jigsaw check is the fraction of cases where the weakest block shuffle "
        "(a coarse jigsaw, plainly recognisable) is judged less secure than unrecognisable images (MSB-XOR noise, a 2-px shuffle, a flat gray image). "
        "Run <code>nlvision vsi ladder</code> for the full ladder.</p>"
        + html_table(["scheme"] + list(INDICES), lad_rows, floatfmt="{:.2f}")
    )
    return Section(
        title="Visual security of encrypted images",
        html=body,
        figures=[fig_name],
        summary={
            "vsi_block_shuffle_weak": float(rows[0][2]),
            "vsi_block_shuffle_strong": float(rows[1][2]),
            "ladder_vsi_srocc": float(lad.overall["C4"]),
            "seconds": round(time.perf_counter() - start, 1),
        },
    )
