"""``nlvision dictionary learn``, ``nlvision inpaint``, ``nlvision mask``, ``nlvision src evaluate``.

Restoration by sparse coding (seed 003): K-SVD dictionaries, masked-dictionary inpainting,
mask generation and sparse-representation classification. Noise levels are in 0-255 units.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import List, Optional

import typer

from nlvision.cli._common import emit

dictionary_app = typer.Typer(help="Learn (K-SVD) and show dictionaries.", no_args_is_help=True)
src_app = typer.Typer(help="Sparse-representation classification (Wright et al. 2009).", no_args_is_help=True)


@dictionary_app.command("learn")
def dictionary_learn(
    images: List[str] = typer.Argument(..., help="Training images: files, folders or globs."),
    output: Path = typer.Option(..., "-o", "--output", help="Dictionary file (.npz) to write."),
    patch: int = typer.Option(8, "--patch", help="Patch side p."),
    atoms: int = typer.Option(256, "--atoms", help="Number of atoms K."),
    iterations: int = typer.Option(20, "--iterations", help="K-SVD iterations."),
    n_nonzero: int = typer.Option(6, "--n-nonzero", help="OMP sparsity during training."),
    patches: int = typer.Option(60000, "--patches", help="Random training patches (mean removed)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the patch draw and of K-SVD."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Learn a p*p x K dictionary by K-SVD from mean-removed patches of IMAGES."""
    import numpy as np

    from nlvision.imageio import list_images, load_image
    from nlvision.restoration.dictionary import save_dictionary
    from nlvision.restoration.patches import extract_patches
    from nlvision.restoration.sparse import KSVDConfig, ksvd

    for name, v, lo in (("--patch", patch, 2), ("--atoms", atoms, 1), ("--iterations", iterations, 0),
                        ("--n-nonzero", n_nonzero, 1), ("--patches", patches, 1)):
        if v < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {v}")
    if n_nonzero > atoms:
        raise ValueError(f"--n-nonzero: {n_nonzero} is larger than the number of atoms ({atoms})")
    files = []
    for spec in images:
        files.extend(list_images(spec))
    if not files:
        raise ValueError(f"IMAGES: no image found in {images}")
    rng = np.random.default_rng(seed)
    per = int(math.ceil(patches / len(files)))
    chunks = []
    for f in files:
        img = load_image(f, as_gray=True)
        if min(img.shape) < patch:
            raise ValueError(f"{f}: image of shape {img.shape} is smaller than --patch {patch}")
        P = extract_patches(img, patch)
        chunks.append(P[rng.choice(P.shape[0], size=min(per, P.shape[0]), replace=False)])
    X = np.concatenate(chunks)
    X = X - X.mean(axis=1, keepdims=True)
    if X.shape[0] < atoms:
        raise ValueError(f"only {X.shape[0]} training patches for --atoms {atoms}; give more images")
    t0 = time.time()
    res = ksvd(X, atoms, KSVDConfig(n_iter=iterations, n_nonzero=n_nonzero, init="dct" if int(math.isqrt(atoms)) ** 2 == atoms and math.isqrt(atoms) >= patch else "data", seed=seed))
    out = save_dictionary(output, res.dictionary, iterations=iterations, n_nonzero=n_nonzero,
                          n_patches=X.shape[0], seed=seed)
    result = {"output": str(out), "shape": list(res.dictionary.shape), "patches": int(X.shape[0]),
              "rmse": res.rmse_history[-1] if res.rmse_history else None, "replaced_atoms": res.n_replaced,
              "seconds": round(time.time() - t0, 2)}
    emit(result, as_json, f"wrote {out}: {res.dictionary.shape[0]}x{res.dictionary.shape[1]} dictionary "
         f"from {X.shape[0]} patches of {len(files)} image(s) in {result['seconds']} s")
    return 0


@dictionary_app.command("show")
def dictionary_show(
    dictionary: Optional[Path] = typer.Argument(None, help="Dictionary .npz (default: the shipped one)."),
    out: Path = typer.Option(..., "-o", "--output", help="PNG of the atoms to write."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Write the atoms of a dictionary as one tiled image and print its shape and coherence."""
    import numpy as np

    from nlvision.imageio import save_image
    from nlvision.report.sparse import atoms_image
    from nlvision.restoration.dictionary import default_dictionary, load_dictionary

    D = load_dictionary(dictionary) if dictionary is not None else default_dictionary()
    Dn = D / np.linalg.norm(D, axis=0)
    G = np.abs(Dn.T @ Dn)
    np.fill_diagonal(G, 0.0)
    img = atoms_image(D)
    save_image(out, np.kron(img, np.ones((4, 4))))
    result = {"output": str(out), "shape": list(D.shape), "mutual_coherence": float(G.max())}
    emit(result, as_json, f"wrote {out}: {D.shape[1]} atoms of {int(round(np.sqrt(D.shape[0])))}x"
         f"{int(round(np.sqrt(D.shape[0])))}, mutual coherence {G.max():.3f}")
    return 0


def _load_mask(path: Path, shape: tuple[int, int]):
    from nlvision.imageio import load_image

    m = load_image(path, as_gray=True)
    if m.shape != shape:
        raise ValueError(f"MASK: {path} has size {m.shape}, the image has size {shape}")
    return m != 0


def inpaint_command(
    image_path: Path = typer.Argument(..., metavar="IN", help="Image with missing pixels."),
    mask_path: Path = typer.Argument(..., metavar="MASK", help="Mask image: non-zero = missing."),
    out: Path = typer.Argument(..., metavar="OUT", help="Inpainted image to write."),
    dictionary: Optional[Path] = typer.Option(None, "--dictionary", help="Dictionary .npz (default: shipped 8x8x256)."),
    sigma: float = typer.Option(10.0, "--sigma", help="σ of the residual threshold δ_i, 0-255 units."),
    aggregation: str = typer.Option("uniform", "--aggregation", help="uniform | sparsity | none."),
    refine: int = typer.Option(40, "--refine", help="Iterations of annealed sliding-DCT refinement after the "
                               "lecture's pass (0 = lecture's algorithm only)."),
    refine_tau_max: float = typer.Option(51.0, "--refine-tau-max", help="First refinement threshold, 0-255 units."),
    refine_tau_min: float = typer.Option(1.5, "--refine-tau-min", help="Last refinement threshold, 0-255 units."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Clean image: report PSNR."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Inpaint the missing pixels of IN (lecture's masked-dictionary OMP, then --refine iterations of
    DCT denoising with a decreasing threshold) and write OUT."""
    import numpy as np

    from nlvision.imageio import load_image, save_image
    from nlvision.restoration.dictionary import load_dictionary
    from nlvision.restoration.inpaint import InpaintConfig, inpaint

    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"--sigma: expected a number >= 0 (0-255 units), got {sigma}")
    if refine < 0:
        raise ValueError(f"--refine: expected an integer >= 0 (iterations), got {refine}")
    if not (math.isfinite(refine_tau_max) and math.isfinite(refine_tau_min) and 0 < refine_tau_min <= refine_tau_max):
        raise ValueError(f"--refine-tau-min/--refine-tau-max: expected 0 < min <= max (0-255 units), "
                         f"got {refine_tau_min} and {refine_tau_max}")
    img = load_image(image_path)
    mask = _load_mask(mask_path, img.shape[:2])
    D = load_dictionary(dictionary) if dictionary is not None else None
    ref = None
    if reference is not None:
        ref = load_image(reference)
        if ref.shape != img.shape:
            raise ValueError(f"--reference: {reference} has shape {ref.shape}, the image has {img.shape}")
    p = int(round(math.sqrt(D.shape[0]))) if D is not None else 8
    t0 = time.time()
    cfg = InpaintConfig(refine_tau_max=refine_tau_max / 255.0, refine_tau_min=refine_tau_min / 255.0)
    res = inpaint(img, mask, sigma / 255.0, dictionary=D, patch_size=p, aggregation=aggregation,
                  channel_axis=-1 if img.ndim == 3 else None, refine=refine, config=cfg)
    seconds = time.time() - t0
    res = np.clip(res, 0.0, 1.0)
    save_image(out, res)
    result = {"output": str(out), "missing_fraction": float(mask.mean()), "refine": refine,
              "seconds": round(seconds, 2)}
    text = f"wrote {out} ({100 * mask.mean():.1f} % missing, refine {refine}, {seconds:.1f} s)"
    if ref is not None:
        mse = float(np.mean((res - ref) ** 2))
        result["psnr"] = 10 * math.log10(1.0 / mse) if mse > 0 else float("inf")
        text += f"; PSNR {result['psnr']:.2f} dB"
    emit(result, as_json, text)
    return 0


def mask_command(
    image_path: Path = typer.Argument(..., metavar="IN", help="Image whose size the mask takes."),
    out: Path = typer.Argument(..., metavar="OUT", help="Mask image to write (255 = missing)."),
    kind: str = typer.Option("random", "--kind", help="random | text | scratches."),
    rate: float = typer.Option(0.5, "--rate", help="Fraction of missing pixels (target for text/scratches)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    apply: Optional[Path] = typer.Option(None, "--apply", help="Also write IN with the masked pixels set to 0."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> int:
    """Make a missing-pixel mask the size of IN."""
    import numpy as np

    from nlvision.imageio import load_image, save_image
    from nlvision.restoration.inpaint import MASK_KINDS, make_mask

    if kind not in MASK_KINDS:
        raise ValueError(f"--kind: unknown kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"--rate: expected a fraction in [0, 1), got {rate}")
    img = load_image(image_path)
    m = make_mask(kind, img.shape[:2], rate, seed)
    save_image(out, m.astype(np.float64))
    if apply is not None:
        save_image(apply, np.where(m[..., None] if img.ndim == 3 else m, 0.0, img))
    result = {"output": str(out), "kind": kind, "missing_fraction": float(m.mean()), "seed": seed}
    emit(result, as_json, f"wrote {out}: {kind} mask, {100 * m.mean():.1f} % missing")
    return 0


@src_app.command("evaluate")
def src_evaluate(
    data: str = typer.Option("digits", "--data", help="Data set: digits (scikit-learn's 8x8 digits)."),
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
    import numpy as np

    from nlvision.restoration.src_classify import SOLVERS, SRCClassifier, SRCConfig, load_digits_split

    if data != "digits":
        raise ValueError(f"--data: unknown data set {data!r}; valid: digits")
    if solver not in SOLVERS:
        raise ValueError(f"--solver: unknown solver {solver!r}; valid: {', '.join(SOLVERS)}")
    if not 0.0 <= occlusion < 1.0:
        raise ValueError(f"--occlusion: expected a fraction in [0, 1), got {occlusion}")
    Xtr, Xte, ytr, yte = load_digits_split(test_size, seed)
    if occlusion > 0:
        k = int(round(occlusion * Xte.shape[1]))
        Xte = Xte.copy()
        Xte[:, :k] = 1.0
    t0 = time.time()
    clf = SRCClassifier(SRCConfig(solver=solver, lam=lam, n_nonzero=n_nonzero, robust=robust)).fit(Xtr, ytr)
    acc = clf.score(Xte, yte)
    result = {"data": data, "train": int(len(ytr)), "test": int(len(yte)), "solver": solver, "robust": robust,
              "occlusion": occlusion, "src_accuracy": acc, "seconds": round(time.time() - t0, 2)}
    if baselines:
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.svm import LinearSVC

        result["1nn_accuracy"] = float(KNeighborsClassifier(1).fit(Xtr, ytr).score(Xte, yte))
        result["linear_svm_accuracy"] = float(LinearSVC(random_state=seed).fit(Xtr, ytr).score(Xte, yte))
    emit(result, as_json)
    return 0 if np.isfinite(acc) else 1


def register(app: typer.Typer) -> None:
    """Add ``dictionary``, ``inpaint``, ``mask`` and ``src`` to the nlvision app."""
    app.add_typer(dictionary_app, name="dictionary")
    app.command("inpaint")(inpaint_command)
    app.command("mask")(mask_command)
    app.add_typer(src_app, name="src")
