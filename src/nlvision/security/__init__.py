"""Visual security of perceptually encrypted images (seed 004).

* :mod:`~nlvision.security.vsi` — the visual security index (eqs. 1–8) and its ablations C1–C4;
* :mod:`~nlvision.security.edges` — the Fourier–Argand steerable edge detector it uses;
* :mod:`~nlvision.security.encryption` — perceptual encryption schemes with a key and a strength;
* :mod:`~nlvision.security.baselines` — PSNR, SSIM, LSS, ESS and a VSI-Canny-style index;
* :mod:`~nlvision.security.agreement` — SROCC, KRCC, PLCC and RMSE after the VQEG logistic;
* :mod:`~nlvision.security.databases` — PEID and IVC-SelectEncrypt readers and evaluation;
* :mod:`~nlvision.security.ladder` — the embedded, offline security ladder.

Examples
--------
>>> import numpy as np
>>> from nlvision.security import encrypt, vsi
>>> img = np.random.default_rng(0).random((40, 40))
>>> round(vsi(img, img).vsi, 3)
2.0
"""

from nlvision.security.agreement import agreement
from nlvision.security.encryption import SCHEMES, encrypt
from nlvision.security.vsi import CONFIGS, VSIConfig, VSIResult, vsi

__all__ = ["vsi", "VSIConfig", "VSIResult", "CONFIGS", "encrypt", "SCHEMES", "agreement"]
