"""Claim: the VSI orders perceptually encrypted images by strength, including block shuffles
(jigsaws), where position-based indices (PSNR, SSIM, LSS) cannot.

Anchors (same run): PSNR, SSIM, LSS, ESS and the VSI-Canny-style edge/texture index, scored on
the same pairs. The ground truth is the encryption strength of each scheme — a proxy for human
scores, not a subjective study. Ratios are VSI (C4) correlation / anchor correlation.

Usage: ``python benchmarks/security_ladder.py [--quick] [--json OUT]``
(full: every bundled gray image at 256 px x 8 schemes x 6 strengths; quick: 3 images at 128 px).
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    from nlvision.security.ladder import bundled_gray_images, run_ladder

    quick = "--quick" in argv
    if quick:
        images = bundled_gray_images(["camera", "coins", "moon"], max_side=128)
    else:
        images = bundled_gray_images(max_side=256)
    print(f"security ladder ({'quick' if quick else 'full'}): {len(images)} images, load {os.getloadavg()}", flush=True)
    r = run_ladder(images)
    print(r.table())
    print(f"{len(r.rows)} pairs in {r.seconds:.1f} s")
    print("\nratios VSI(C4) / anchor (Spearman with strength; > 1: VSI orders better)")
    for anchor in ("psnr", "ssim", "lss", "ess", "edge_texture"):
        def ratio(a: float, b: float) -> str:
            return f"{a / b:7.2f}" if abs(b) > 1e-9 else "    inf"

        print(
            f"  {anchor:13s} block_shuffle {ratio(r.per_scheme['block_shuffle']['C4'], r.per_scheme['block_shuffle'][anchor])}"
            f"   jigsaw check {ratio(r.jigsaw['C4'], r.jigsaw[anchor])}   all-scheme mean {ratio(r.overall['C4'], r.overall[anchor])}"
        )
    if "--json" in argv:
        out = argv[argv.index("--json") + 1]
        with open(out, "w") as f:
            json.dump(r.to_dict(with_rows=True), f, indent=1)
    print(f"load average after the run: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
