"""Reproduce nlvision's shipped dictionary ``src/nlvision/data/dictionary_8x8_256.npz``.

K-SVD (nlvision's own, :func:`nlvision.restoration.sparse.ksvd`) on 8x8 mean-removed patches of
scikit-image's bundled natural photographs. ``camera`` and ``astronaut`` are deliberately NOT
used: they are the evaluation images of the inpainting and denoising benchmarks.

Usage::

    python benchmarks/make_default_dictionary.py [--quick] [-o PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

TRAIN_IMAGES = ("brick", "grass", "gravel", "coffee", "chelsea", "rocket", "coins", "moon", "clock")


def training_patches(n_patches: int, patch_size: int = 8, seed: int = 0) -> np.ndarray:
    """Random mean-removed patches, an equal share from every training image."""
    import skimage.data

    from nlvision.imageio import to_float, to_gray
    from nlvision.restoration.patches import extract_patches

    rng = np.random.default_rng(seed)
    per = int(np.ceil(n_patches / len(TRAIN_IMAGES)))
    out = []
    for name in TRAIN_IMAGES:
        img = to_float(getattr(skimage.data, name)())
        if img.ndim == 3:
            img = to_gray(img)
        P = extract_patches(img, patch_size)
        out.append(P[rng.choice(P.shape[0], size=min(per, P.shape[0]), replace=False)])
    X = np.concatenate(out)[:n_patches]
    return X - X.mean(axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few patches and iterations (smoke run)")
    ap.add_argument("-o", "--output", type=Path,
                    default=Path(__file__).resolve().parents[1] / "src/nlvision/data/dictionary_8x8_256.npz")
    ap.add_argument("--patches", type=int, default=60000)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--n-nonzero", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from nlvision.restoration.dictionary import save_dictionary
    from nlvision.restoration.sparse import KSVDConfig, ksvd

    n_patches, n_iter = (5000, 2) if args.quick else (args.patches, args.iterations)
    X = training_patches(n_patches, seed=args.seed)
    cfg = KSVDConfig(n_iter=n_iter, n_nonzero=args.n_nonzero, init="dct", seed=args.seed)
    t0 = time.time()
    res = ksvd(X, 256, cfg, callback=lambda i, e: print(f"iteration {i + 1}/{n_iter}: rmse {e:.5f}", flush=True))
    print(f"K-SVD took {time.time() - t0:.1f} s; {res.n_replaced} atoms replaced")
    out = save_dictionary(args.output, res.dictionary, iterations=n_iter, n_nonzero=args.n_nonzero,
                          n_patches=X.shape[0], seed=args.seed, images=",".join(TRAIN_IMAGES))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
