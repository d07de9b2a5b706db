"""Demo report section: one image under every scheme at two strengths, with every index's score."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nlvision.atomic import savefig_atomic
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
    savefig_atomic(fig, out_dir / fig_name, dpi=80)
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


def render_rd_map(result, plain: np.ndarray, encrypted: np.ndarray, path: Path) -> Path:
    """Draw the block recognisable degrees RD(b_p) in colour, with where each block matched.

    Left: the plain image with every block of the kept grid tinted by RD(b_p) (colour bar) and
    numbered. Right: the encrypted image with the matched window of every block outlined in the
    same colour and number — the paper's Fig. 1 legend. Written atomically as PNG.

    Parameters
    ----------
    result : nlvision.security.VSIResult
        Output of :func:`nlvision.security.vsi`.
    plain, encrypted : ndarray
        The scored images (colour is shown as luminance).
    path : Path
        PNG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from nlvision.imageio import to_gray

    p = to_gray(np.asarray(plain, dtype=np.float64)) if np.ndim(plain) == 3 else np.asarray(plain, dtype=np.float64)
    e = to_gray(np.asarray(encrypted, dtype=np.float64)) if np.ndim(encrypted) == 3 else np.asarray(encrypted, dtype=np.float64)
    l = result.block
    m, n = result.block_rd.shape
    oy, ox = result.origin
    cmap = plt.get_cmap("turbo")
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2 * p.shape[0] / max(p.shape[1], 1) + 0.8), dpi=110)
    axes[0].imshow(p, cmap="gray", vmin=0, vmax=1)
    axes[1].imshow(e, cmap="gray", vmin=0, vmax=1)
    overlay = np.full(p.shape, np.nan)
    overlay[oy : oy + m * l, ox : ox + n * l] = np.kron(result.block_rd, np.ones((l, l)))
    im = axes[0].imshow(overlay, cmap=cmap, vmin=0, vmax=1, alpha=0.45)
    label = m * n <= 400
    for i in range(m):
        for j in range(n):
            c = cmap(float(np.clip(result.block_rd[i, j], 0, 1)))
            y, x = result.match[i, j]
            axes[1].add_patch(Rectangle((x - 0.5, y - 0.5), l, l, fill=False, edgecolor=c, linewidth=0.8))
            if label:
                k = str(i * n + j)
                axes[0].text(ox + j * l + l / 2, oy + i * l + l / 2, k, color="white", fontsize=6, ha="center", va="center")
                axes[1].text(x + l / 2, y + l / 2, k, color=c, fontsize=6, ha="center", va="center")
    axes[0].set_title(f"plain: RD(b_p) per block (VSI {result.vsi:.3f})")
    axes[1].set_title("encrypted: where each block matched")
    for ax in axes:
        ax.set_axis_off()
    fig.colorbar(im, ax=axes, fraction=0.025, pad=0.01, label="RD(b_p)")
    savefig_atomic(fig, path, format="png")
    plt.close(fig)
    return Path(path)
