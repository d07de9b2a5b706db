"""``nlvision encrypt`` and ``nlvision vsi score|ladder|evaluate`` (visual security, seed 004)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nlvision.cli._common import emit


def register(app: typer.Typer) -> None:
    """Add ``encrypt`` and the ``vsi`` sub-app to the root app."""
    app.command("encrypt")(encrypt_cmd)
    vsi_app = typer.Typer(help="Visual security index (VSI) of perceptually encrypted images.", no_args_is_help=True)
    vsi_app.command("score")(score_cmd)
    vsi_app.command("ladder")(ladder_cmd)
    vsi_app.command("evaluate")(evaluate_cmd)
    app.add_typer(vsi_app, name="vsi")


def encrypt_cmd(
    input: Path = typer.Argument(..., help="Plain image file."),
    output: Path = typer.Argument(..., help="Encrypted image to write (PNG recommended: lossless)."),
    scheme: str = typer.Option(..., "--scheme", help="block_shuffle, pixel_scramble, dct_sign, dct_permute, wavelet_sign, wavelet_bitplane, wavelet_truncate, msb_xor."),
    strength: float = typer.Option(0.5, "--strength", help="Encryption strength in [0, 1]."),
    key: int = typer.Option(0, "--key", help="Non-negative integer key (seed)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Encrypt an image with a perceptual encryption scheme (nothing is written on error)."""
    from nlvision.imageio import load_image, save_image
    from nlvision.security.encryption import SCHEMES, encrypt

    if scheme not in SCHEMES:  # fail before reading the file
        raise ValueError(f"scheme: unknown scheme {scheme!r}; valid: {', '.join(SCHEMES)}")
    image = load_image(input)
    out = encrypt(image, scheme, strength, key=key)
    save_image(output, out)
    emit({"input": str(input), "output": str(output), "scheme": scheme, "strength": strength, "key": key}, as_json,
         f"wrote {output} ({scheme}, strength {strength:g}, key {key})")
    return 0


def score_cmd(
    plain: Path = typer.Argument(..., help="Plain image."),
    encrypted: Path = typer.Argument(..., help="Encrypted image (same size)."),
    config: str = typer.Option("C4", "--config", help="Table 3 configuration: C1, C2, C3 or C4 (full index)."),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="Block size ratio (default 0.1)."),
    beta: Optional[float] = typer.Option(None, "--beta", help="Low-pass bandwidth ratio (default 40)."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="Minkowski exponent (default 5)."),
    pooling: Optional[str] = typer.Option(None, "--pooling", help="Eq. 6 form: normalized (default) or literal."),
    baselines: bool = typer.Option(False, "--baselines", help="Also print PSNR, SSIM, LSS, ESS and the edge/texture index."),
    map_out: Optional[Path] = typer.Option(None, "--map", help="Write the per-block recognisable degree map (PNG)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Score an encrypted image against its plain image: VSI, RD and GS (higher VSI = less secure)."""
    import numpy as np

    from nlvision.imageio import load_image, save_image
    from nlvision.security.vsi import vsi, with_overrides

    cfg = with_overrides(config, alpha=alpha, beta=beta, gamma=gamma, pooling=pooling)
    if map_out is not None and map_out.suffix.lower() not in (".png", ".tif", ".tiff", ".bmp"):
        raise ValueError(f"--map: expected a .png/.tif/.bmp file name, got {str(map_out)!r}")
    p = load_image(plain)
    e = load_image(encrypted)
    result = vsi(p, e, cfg)
    out = {"plain": str(plain), "encrypted": str(encrypted), "config": config.upper(), **result.summary()}
    if baselines:
        from nlvision.security.baselines import BASELINES

        out.update({name: float(fn(p, e)) for name, fn in BASELINES.items()})
    if map_out is not None:
        l = result.block
        grid = np.kron(result.block_rd, np.ones((l, l)))
        save_image(map_out, np.clip(grid, 0, 1))
        out["map"] = str(map_out)
    text = "\n".join(
        [f"VSI {result.vsi:.4f}  (RD {result.rd:.4f}, GS {result.gs:.4f}; config {config.upper()}, "
         f"{result.block_rd.shape[0]}x{result.block_rd.shape[1]} blocks of {result.block} px)"]
        + [f"{k:13s} {v:.4f}" for k, v in out.items() if k in ("psnr", "ssim", "lss", "ess", "edge_texture")]
        + ([f"map written to {map_out}"] if map_out is not None else [])
    )
    emit(out, as_json, text)
    return 0


def ladder_cmd(
    quick: bool = typer.Option(False, "--quick", help="3 images at 128 px: a ~20 s run."),
    images: Optional[str] = typer.Option(None, "--images", help="Comma-separated subset of the bundled images."),
    schemes: Optional[str] = typer.Option(None, "--schemes", help="Comma-separated subset of the schemes."),
    max_side: int = typer.Option(256, "--max-side", help="Downscale the images to this longer side (0: full size)."),
    key: int = typer.Option(0, "--key", help="Encryption key."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write every score and the summary as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Embedded security ladder: bundled gray images x schemes x 6 strengths (offline).

    Reports, per scheme, the rank correlation of every index with the encryption strength — a
    proxy for human scores, not a subjective study — and the C1–C4 ablation.
    """
    from nlvision.atomic import write_json_atomic
    from nlvision.security.ladder import bundled_gray_images, run_ladder

    names = [s.strip() for s in images.split(",") if s.strip()] if images else None
    if quick:
        names = names or ["camera", "coins", "moon"]
        max_side = 128
    imgs = bundled_gray_images(names, max_side=max_side or None)
    sch = [s.strip() for s in schemes.split(",") if s.strip()] if schemes else None
    result = run_ladder(imgs, sch, key=key, progress=not as_json)
    if out is not None:
        write_json_atomic(out, result.to_dict(with_rows=True))
    emit(result.to_dict(), as_json, result.table() + f"\n({len(result.rows)} pairs in {result.seconds:.1f} s)")
    return 0


def evaluate_cmd(
    path: Path = typer.Argument(..., help="Database folder (PEID: holds data.mat; IVC: PGM files + MOS)."),
    database: str = typer.Option(..., "--database", help="peid or ivc."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Evaluate the VSI and the baselines on PEID or IVC-SelectEncrypt (Tables 1 and 2 style)."""
    import math

    from nlvision.security.databases import evaluate_database, read_database

    records = read_database(database, path)
    res = evaluate_database(records, progress=not as_json)
    if as_json:
        emit(res, True)
    else:
        idx = list(res["overall"])
        lines = [f"{database.upper()}: {res['n']} pairs (signed correlations with the subjective scores)",
                 f"{'':8s}" + "".join(f"{i:>13s}" for i in idx)]
        for stat in ("srocc", "krcc", "plcc", "rmse"):
            lines.append(f"{stat.upper():8s}" + "".join(f"{res['overall'][i][stat]:13.3f}" for i in idx))
        lines.append("SROCC per encryption type:")
        for kind, row in res["per_type"].items():
            lines.append(f"{kind[:8]:8s}" + "".join(f"{v:13.3f}" if not math.isnan(v) else f"{'n/a':>13s}" for v in row.values()))
        for f, msg in res["failed"]:
            lines.append(f"skipped {f}: {msg}")
        emit(res, False, "\n".join(lines))
    return 1 if res["failed"] else 0
