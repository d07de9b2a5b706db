"""Visual security of perceptually encrypted images (seed 004).

* :mod:`~nlvision.security.vsi` — the visual security index (eqs. 1–8) and its ablations C1–C4;
* :mod:`~nlvision.security.edges` — the Fourier–Argand steerable edge detector it uses;
* :mod:`~nlvision.security.encryption` — perceptual encryption schemes with a key and a strength;
* :mod:`~nlvision.security.baselines` — PSNR, SSIM, LSS, ESS and a VSI-Canny-style index;
* :mod:`~nlvision.security.agreement` — SROCC, KRCC, PLCC and RMSE after the VQEG logistic;
* :mod:`~nlvision.security.databases` — PEID, IVC-SelectEncrypt and CSV readers, evaluation;
* :mod:`~nlvision.security.ladder` — the embedded, offline security ladder.

Examples
--------
>>> import numpy as np
>>> from nlvision.security import encrypt, vsi
>>> img = np.random.default_rng(0).random((40, 40))
>>> round(vsi(img, img).vsi, 3)
2.0
"""

from nlvision.security.agreement import Agreement, agreement, fit_logistic
from nlvision.security.baselines import BASELINES, all_scores, edge_texture_index, ess, lss, psnr, ssim
from nlvision.security.databases import (
    Record,
    evaluate_database,
    read_database,
    read_ivc,
    read_pairs_csv,
    read_peid,
    score_pairs,
    sweep_parameters,
)
from nlvision.security.edges import EdgeConfig, edge_config, edge_maps
from nlvision.security.encryption import SCHEMES, encrypt
from nlvision.security.ladder import LadderResult, bundled_gray_images, run_ladder
from nlvision.security.vsi import CONFIGS, PAPER, VSIConfig, VSIResult, vsi, vsi_ablation

__all__ = [
    # the index
    "vsi",
    "vsi_ablation",
    "VSIConfig",
    "VSIResult",
    "CONFIGS",
    "PAPER",
    "EdgeConfig",
    "edge_maps",
    "edge_config",
    # encryption
    "encrypt",
    "SCHEMES",
    # baselines
    "psnr",
    "ssim",
    "lss",
    "ess",
    "edge_texture_index",
    "BASELINES",
    "all_scores",
    # agreement statistics
    "agreement",
    "Agreement",
    "fit_logistic",
    # databases and evaluation
    "Record",
    "read_peid",
    "read_ivc",
    "read_pairs_csv",
    "read_database",
    "evaluate_database",
    "score_pairs",
    "sweep_parameters",
    # embedded ladder
    "run_ladder",
    "LadderResult",
    "bundled_gray_images",
]
