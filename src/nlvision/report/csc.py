"""Demo report section: global convolutional sparse coding vs aggregation of patch estimates (seed 003).

Title for :data:`nlvision.report.SECTIONS`: ``"Sparse denoising: global CSC vs aggregated patches"``
(builder ``nlvision.report.csc:build``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nlvision.atomic import savefig_atomic

TITLE = "Sparse denoising: global CSC vs aggregated patches"


def build(out_dir: Path, quick: bool):
    """Build the section: the four denoisers on a natural crop and a very sparse synthetic image.

    Parameters
    ----------
    out_dir : Path
        Report folder (the PNG is written there).
    quick : bool
        Smaller images and fewer ADMM iterations (about 20-40 s on a shared 2-core VM).

    Returns
    -------
    Section
        Figure, PSNR/time table and summary numbers.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import skimage.data

    from nlvision.datasets.sparse_images import sparse_image
    from nlvision.metrics import psnr
    from nlvision.report.base import Section, figure_html, html_table
    from nlvision.restoration.csc_denoise import dct_filters, denoise_csc, denoise_patch_bpdn, denoise_patch_omp

    out_dir = Path(out_dir)
    size = 64 if quick else 128
    it = 60 if quick else 150
    f = dct_filters(8)
    sigma = 25 / 255
    cam = skimage.data.camera()[96 : 96 + size, 160 : 160 + size] / 255.0
    syn = sparse_image((size, size), f, 0.002, rng=1).image
    methods = (("global l1 (conv. BPDN)", lambda z: denoise_csc(z, sigma, f, max_iter=it)),
               ("global l0 (IHT)", lambda z: denoise_csc(z, sigma, f, penalty="l0", max_iter=it)),
               ("patch l1 (BPDN) + averaging", lambda z: denoise_patch_bpdn(z, sigma, f)),
               ("patch l0 (OMP) + averaging", lambda z: denoise_patch_omp(z, sigma, f)))
    rows, panels, summary = [], [], {}
    for label, y in (("natural (camera crop)", cam), ("synthetic, very sparse (density 0.002)", syn)):
        z = y + sigma * np.random.default_rng(0).standard_normal(y.shape)
        row = [label, psnr(z, y)]
        outs = [z]
        for name, fn in methods:
            t0 = time.perf_counter()
            est = fn(z)
            row += [psnr(est, y), time.perf_counter() - t0]
            outs.append(est)
        rows.append(row)
        panels.append((label, y, outs))
        summary[label.split(" ")[0] + " global-l1 minus patch-l1 (dB)"] = round(row[2] - row[6], 2)
    fig, axes = plt.subplots(2, 6, figsize=(15, 5.4))
    for r, (label, y, outs) in enumerate(panels):
        for c, (im, title) in enumerate(zip([y] + outs, ["clean", "noisy (sigma 25)"] + [m[0] for m in methods])):
            axes[r, c].imshow(np.clip(im, 0, 1), cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_title(title + (f"\n{psnr(im, y):.2f} dB" if c else ""), fontsize=8)
            axes[r, c].set_axis_off()
    fig.tight_layout()
    savefig_atomic(fig, out_dir / "csc_global_vs_patch.png", dpi=90)
    plt.close(fig)
    header = ["image", "noisy PSNR"]
    for name, _ in methods:
        header += [f"{name} PSNR", "s"]
    body = (
        "<p>Seed 003, 'Global Optimization vs Aggregation of Partial Estimates' (Carrera, Boracchi, Foi, Wohlberg, "
        "SPARS 2017): the same dictionary, the 8x8 DCT basis as 64 filters, used globally (one convolutional code of "
        "the whole image) or per overlapping patch with averaging. Synthetic images are labelled as such; "
        "benchmarks/results/restoration_csc_denoise.md has the full sweep over sigma and sparsity.</p>"
        + html_table(header, rows)
        + figure_html("csc_global_vs_patch.png", "Global vs aggregated sparse denoising (sigma 25/255)")
    )
    return Section(title=TITLE, html=body, figures=["csc_global_vs_patch.png"], summary=summary)
