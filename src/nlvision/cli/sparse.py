"""``nlvision dictionary learn|show``, ``nlvision inpaint``, ``nlvision mask``, ``nlvision src evaluate``.

Restoration by sparse coding (seed 003): K-SVD dictionaries, inpainting, mask generation and
sparse-representation classification. Noise levels and thresholds are in full-scale/255 units.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import List, Optional

import typer

from nlvision.cli._common import (
    JOBS,
    MAX_PIXELS,
    SCHEDULER,
    check_batch_output_folder,
    emit,
    failed_entries,
    is_batch_spec,
    run_batch,
)

BIT_DEPTHS = {"auto": None, "8": 8, "16": 16, "32": 32, "float": 32}


def _bit_depth(value: str) -> Optional[int]:
    v = value.strip().lower()
    if v not in BIT_DEPTHS:
        raise ValueError(f"--bit-depth: expected one of {', '.join(BIT_DEPTHS)}, got {value!r}")
    return BIT_DEPTHS[v]


def dictionary_learn(
    images: List[str] = typer.Argument(..., help="Training images: files, folders or globs."),
    out: Path = typer.Option(..., "-o", "--out", help="Dictionary file (.npz) to write."),
    patch: int = typer.Option(8, "--patch", help="Patch side p."),
    atoms: int = typer.Option(256, "--atoms", help="Number of atoms K."),
    iterations: int = typer.Option(20, "--iterations", help="K-SVD iterations."),
    n_nonzero: int = typer.Option(6, "--n-nonzero", help="OMP sparsity during training."),
    patches: int = typer.Option(60000, "--patches", help="Random training patches (mean removed)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the patch draw and of K-SVD."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Learn a p*p x K dictionary by K-SVD from mean-removed patches of IMAGES."""
    from nlvision.restoration.workflow import learn_dictionary_files

    r = learn_dictionary_files(images, out, patch=patch, atoms=atoms, iterations=iterations, n_nonzero=n_nonzero,
                               patches=patches, seed=seed)
    emit(r, as_json, f"wrote {r['output']}: {r['shape'][0]}x{r['shape'][1]} dictionary from {r['patches']} patches "
         f"of {r['images']} image(s) in {r['seconds']} s")
    return 0


def dictionary_show(
    dictionary: Optional[Path] = typer.Argument(None, help="Dictionary .npz (default: the shipped one)."),
    out: Path = typer.Option(..., "-o", "--out", help="PNG of the atoms to write."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Write the atoms of a dictionary as one tiled image and print its shape and coherence."""
    import numpy as np

    from nlvision.imageio import check_bit_depth, save_image
    from nlvision.report.sparse import atoms_image
    from nlvision.restoration import default_dictionary, load_dictionary
    from nlvision.restoration.workflow import mutual_coherence

    check_bit_depth(out, 8)
    D = load_dictionary(dictionary) if dictionary is not None else default_dictionary()
    mu = mutual_coherence(D)
    save_image(out, np.kron(atoms_image(D), np.ones((4, 4))))
    p = int(round(math.sqrt(D.shape[0])))
    emit({"output": str(out), "shape": list(D.shape), "mutual_coherence": mu}, as_json,
         f"wrote {out}: {D.shape[1]} atoms of {p}x{p}, mutual coherence {mu:.3f}")
    return 0


def _batch_outputs(inputs: list[Path], out: Path, mask: Path) -> list[Path]:
    """``OUT/<name>`` for every input (IN a folder or glob), refused before anything is written."""
    check_batch_output_folder(out, inputs)
    outputs = [out / p.name for p in inputs]
    if mask.resolve() in {o.resolve() for o in outputs}:
        raise ValueError(f"-o/--out: an output would overwrite the mask {mask}; choose another folder")
    return outputs


def inpaint(
    image_path: str = typer.Argument(..., metavar="IN", help="Image with missing pixels, folder or glob pattern."),
    mask: Path = typer.Option(..., "--mask", help="Mask image of IN's size: non-zero = missing (one mask for every "
                              "image of a folder/glob; images of another size fail)."),
    out: Path = typer.Option(..., "-o", "--out", help="Inpainted image to write (a folder when IN is a folder/glob)."),
    refine: str = typer.Option("auto", "--refine", help="Refinement iterations: auto (8-64 by the missing "
                               "fraction) | N | 0 (the lecture's masked-OMP algorithm alone)."),
    init: str = typer.Option("smooth", "--init", help="smooth (biharmonic fill, robust to holes) | lecture "
                             "(the lecture's masked-OMP pass)."),
    dictionary: Optional[Path] = typer.Option(None, "--dictionary", help="Dictionary .npz of the lecture's pass "
                                              "(default: shipped 8x8x256)."),
    sigma: float = typer.Option(10.0, "--sigma", help="σ of the lecture's residual threshold δ_i, full-scale/255."),
    aggregation: str = typer.Option("uniform", "--aggregation", help="uniform | sparsity | none (lecture's pass)."),
    refine_tau_max: float = typer.Option(51.0, "--refine-tau-max", help="First refinement threshold, full-scale/255."),
    refine_tau_min: float = typer.Option(1.5, "--refine-tau-min", help="Last refinement threshold, full-scale/255."),
    clamp: bool = typer.Option(True, "--clamp/--no-clamp", help="Keep inpainted values in the observed range."),
    bit_depth: str = typer.Option("auto", "--bit-depth", help="auto (the input's) | 8 | 16 | float (TIFF)."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Clean image: report PSNR (a folder of "
                                             "same-named clean images when IN is a folder/glob)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar for tiled (large) images."),
    jobs: int = JOBS, scheduler: Optional[str] = SCHEDULER, max_pixels: Optional[str] = MAX_PIXELS,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Inpaint the missing pixels of IN (biharmonic fill refined by a sparse DCT model; --refine 0:
    the lecture's masked-dictionary OMP) and write it to -o.

    IN may be a folder or a glob: every image is inpainted with the same --mask and written to
    OUT/<name>; a file that fails is reported (``error: <path>: <message>``) and skipped (exit 1)."""
    from nlvision.restoration import InpaintConfig, load_dictionary
    from nlvision.restoration.inpaint import INITS
    from nlvision.restoration.workflow import inpaint_file

    if not math.isfinite(sigma) or not 0 <= sigma <= 1e6:
        raise ValueError(f"--sigma: expected a number in [0, 1e6] (full-scale/255 units), got {sigma}")
    r = refine.strip().lower()
    if r == "auto":
        n_refine = None
    elif r.isdigit() and int(r) <= 10000:
        n_refine = int(r)
    else:
        raise ValueError(f"--refine: expected 'auto' or an integer in [0, 10000] (iterations), got {refine!r}")
    if init not in INITS:
        raise ValueError(f"--init: expected one of {', '.join(INITS)}, got {init!r}")
    if not (math.isfinite(refine_tau_max) and math.isfinite(refine_tau_min) and 0 < refine_tau_min <= refine_tau_max <= 1e6):
        raise ValueError(f"--refine-tau-min/--refine-tau-max: expected 0 < min <= max (full-scale/255 units), "
                         f"got {refine_tau_min} and {refine_tau_max}")
    if aggregation not in ("uniform", "sparsity", "none"):
        raise ValueError(f"--aggregation: expected uniform, sparsity or none, got {aggregation!r}")
    D = load_dictionary(dictionary) if dictionary is not None else None
    p = int(round(math.sqrt(D.shape[0]))) if D is not None else 8
    cfg = InpaintConfig(refine_tau_max=refine_tau_max / 255.0, refine_tau_min=refine_tau_min / 255.0, clamp=clamp)
    depth = _bit_depth(bit_depth)
    options = dict(sigma=sigma / 255.0, dictionary=D, patch_size=p, aggregation=aggregation, refine=n_refine, init=init,
                   config=cfg)
    if is_batch_spec(image_path):
        from nlvision.batch import check_engine
        from nlvision.imageio import list_images

        check_engine(jobs, scheduler)
        inputs = list_images(image_path)
        outputs = _batch_outputs(inputs, out, mask)
        if reference is not None and not reference.is_dir():
            raise ValueError(f"--reference: expected a folder of clean images named like the inputs, got {reference}")
        if not mask.is_file():
            raise ValueError(f"--mask: {mask} is not a file")

        def process(pair: tuple[Path, Path]) -> dict:
            src, dst = pair
            return inpaint_file(src, mask, dst, bit_depth=depth, reference=None if reference is None else reference / src.name,
                                **options)

        done, failed = run_batch(list(zip(inputs, outputs)), process, label="inpaint", jobs=jobs, scheduler=scheduler)
        infos = [i for _, i in done]
        summary = {"done": len(done), "failed": failed_entries(failed), "results": infos}
        emit(summary, as_json, "\n".join([f"wrote {i['output']} ({100 * i['missing_fraction']:.1f} % missing, "
                                          f"{i['seconds']:.1f} s)" + (f"; PSNR {i['psnr']:.2f} dB" if "psnr" in i else "")
                                          for i in infos] + [f"{len(done)} inpainted, {len(failed)} failed"]))
        return 1 if failed else 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=0, desc="inpaint", file=sys.stderr, disable=None, leave=False)

    def tick(done: int, total: int) -> None:
        if bar is not None and total > 1:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        info = inpaint_file(Path(image_path), mask, out, bit_depth=depth, reference=reference, progress=tick, **options)
    finally:
        if bar is not None:
            bar.close()
    text = (f"wrote {out} ({100 * info['missing_fraction']:.1f} % missing, init {info['init']}, refine {info['refine']}, "
            f"{info['seconds']:.1f} s)")
    if "psnr" in info:
        text += f"; PSNR {info['psnr']:.2f} dB"
    emit(info, as_json, text)
    return 0


def mask(
    image_path: Path = typer.Argument(..., metavar="IN", help="Image whose size the mask takes."),
    out: Path = typer.Option(..., "-o", "--out", help="Mask image to write (255 = missing)."),
    kind: str = typer.Option("random", "--kind", help="random | text | scratches | blocks."),
    rate: float = typer.Option(0.5, "--rate", help="Fraction of missing pixels (target for text/scratches/blocks)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    apply: Optional[Path] = typer.Option(None, "--apply", help="Also write IN with the masked pixels set to 0."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Make a missing-pixel mask the size of IN (both outputs validated before anything is written)."""
    from nlvision.restoration.workflow import make_mask_file

    r = make_mask_file(image_path, out, kind, rate, seed, apply)
    emit(r, as_json, f"wrote {out}: {kind} mask, {100 * r['missing_fraction']:.1f} % missing"
         + (f"; masked image {apply}" if apply is not None else ""))
    return 0


def src_evaluate(
    data: str = typer.Option("digits", "--data", help="digits (scikit-learn's 8x8 digits) | folder:PATH "
                             "(ImageFolder layout: PATH/<class>/<image>)."),
    solver: str = typer.Option("l1", "--solver", help="l1 | omp."),
    lam: float = typer.Option(0.01, "--lam", help="λ of the l1 solver."),
    n_nonzero: int = typer.Option(10, "--n-nonzero", help="Sparsity of the OMP solver."),
    robust: bool = typer.Option(False, "--robust", help="Add identity atoms (occlusion-robust SRC)."),
    occlusion: float = typer.Option(0.0, "--occlusion", help="Fraction of test pixels (top rows) set to 1."),
    test_size: float = typer.Option(0.25, "--test-size", help="Held-out fraction."),
    seed: int = typer.Option(0, "--seed", help="Split seed."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also report 1-NN and linear SVM."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Accuracy of sparse-representation classification on a held-out split."""
    from nlvision.restoration import SRCConfig, evaluate_src
    from nlvision.restoration.src_classify import SOLVERS

    if data != "digits" and not data.startswith("folder:"):
        raise ValueError(f"--data: unknown data set {data!r}; expected digits or folder:PATH")
    if solver not in SOLVERS:
        raise ValueError(f"--solver: unknown solver {solver!r}; valid: {', '.join(SOLVERS)}")
    if not 0.0 <= occlusion < 1.0:
        raise ValueError(f"--occlusion: expected a fraction in [0, 1), got {occlusion}")
    if not (math.isfinite(lam) and 0 < lam <= 1e6):
        raise ValueError(f"--lam: expected a number in (0, 1e6], got {lam}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"--test-size: expected a fraction in (0, 1), got {test_size}")
    result = evaluate_src(data, SRCConfig(solver=solver, lam=lam, n_nonzero=n_nonzero, robust=robust),
                          occlusion=occlusion, test_size=test_size, seed=seed, baselines=baselines)
    emit(result, as_json)
    return 0 if math.isfinite(result["src_accuracy"]) else 1


def register(app: typer.Typer) -> None:
    """Add ``dictionary``, ``inpaint``, ``mask`` and ``src`` to the nlvision app."""
    dictionary_app = typer.Typer(help="Learn (K-SVD) and show dictionaries.", no_args_is_help=True)
    dictionary_app.command("learn")(dictionary_learn)
    dictionary_app.command("show")(dictionary_show)
    app.add_typer(dictionary_app, name="dictionary")
    app.command("inpaint")(inpaint)
    app.command("mask")(mask)
    src_app = typer.Typer(help="Sparse-representation classification (Wright et al. 2009).", no_args_is_help=True)
    src_app.command("evaluate")(src_evaluate)
    app.add_typer(src_app, name="src")
