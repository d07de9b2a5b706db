"""Restoration by non-local and sparse models (seed 003): denoising, noise estimation, sparse
coding, dictionaries, inpainting and sparse-representation classification.

>>> from nlvision.restoration import denoise_dct, estimate_sigma, omp, ksvd, inpaint

Modules: :mod:`~nlvision.restoration.dct` (sliding-DCT denoising),
:mod:`~nlvision.restoration.noise` (noise estimation and synthetic noise),
:mod:`~nlvision.restoration.sparse` (OMP, K-SVD), :mod:`~nlvision.restoration.patches`,
:mod:`~nlvision.restoration.dictionary`, :mod:`~nlvision.restoration.sparse_denoise`
(K-SVD denoising), :mod:`~nlvision.restoration.inpaint`, :mod:`~nlvision.restoration.masks`,
:mod:`~nlvision.restoration.src_classify`, :mod:`~nlvision.restoration.csc_denoise` (convolutional sparse
coding as a denoiser). Anomaly detection and ECG adaptation live in
:mod:`nlvision.restoration.anomaly` and :mod:`nlvision.restoration.ecg` (their own APIs).
"""

from nlvision.restoration.csc_denoise import denoise_csc, denoise_patch_bpdn, denoise_patch_omp
from nlvision.restoration.dct import (
    AGGREGATIONS,
    aggregation_weights,
    auto_sigma,
    dct_matrix,
    denoise_dct,
    denoise_dct_dask,
    opponent_to_rgb,
    resolve_threshold,
    rgb_to_opponent,
)
from nlvision.restoration.dictionary import (
    default_dictionary,
    load_dictionary,
    resolve_dictionary,
    save_dictionary,
)
from nlvision.restoration.inpaint import (
    InpaintConfig,
    anneal_thresholds,
    auto_iterations,
    inpaint,
    inpaint_threshold,
    refine_inpainting,
)
from nlvision.restoration.masks import MASK_KINDS, block_mask, make_mask, random_mask, scratches_mask, text_mask
from nlvision.restoration.noise import (
    NoiseEstimate,
    add_noise,
    clipped_noise_variance,
    estimate_noise,
    estimate_sigma,
    sigma_censored,
    sigma_clipped,
    sigma_mad,
    sigma_pca,
)
from nlvision.restoration.patches import aggregate_patches, extract_patches, map_patches, patch_grid
from nlvision.restoration.sparse import (
    KSVDConfig,
    KSVDResult,
    SparseCodes,
    dct_dictionary,
    ksvd,
    normalize_atoms,
    omp,
    omp_codes,
    omp_masked,
    omp_masked_codes,
)
from nlvision.restoration.vst import add_poisson_gaussian_noise, generalized_anscombe, inverse_generalized_anscombe
from nlvision.restoration.sparse_denoise import KSVDDenoiseConfig, denoise_ksvd
from nlvision.restoration.src_classify import (
    SRCClassifier,
    SRCConfig,
    evaluate_src,
    lasso_admm,
    load_digits_split,
    load_image_folder_split,
    occlude,
)

__all__ = [
    # sliding-DCT denoising
    "AGGREGATIONS",
    "denoise_dct",
    "denoise_dct_dask",
    "dct_matrix",
    "resolve_threshold",
    "aggregation_weights",
    "rgb_to_opponent",
    "opponent_to_rgb",
    # noise
    "estimate_sigma",
    "estimate_noise",
    "NoiseEstimate",
    "auto_sigma",
    "sigma_censored",
    "sigma_clipped",
    "clipped_noise_variance",
    "sigma_mad",
    "sigma_pca",
    "add_noise",
    "add_poisson_gaussian_noise",
    "generalized_anscombe",
    "inverse_generalized_anscombe",
    # sparse coding and dictionaries
    "SparseCodes",
    "omp",
    "omp_codes",
    "omp_masked",
    "omp_masked_codes",
    "KSVDConfig",
    "KSVDResult",
    "ksvd",
    "dct_dictionary",
    "normalize_atoms",
    "extract_patches",
    "aggregate_patches",
    "patch_grid",
    "map_patches",
    "save_dictionary",
    "load_dictionary",
    "default_dictionary",
    "resolve_dictionary",
    "KSVDDenoiseConfig",
    "denoise_ksvd",
    # inpainting and masks
    "InpaintConfig",
    "inpaint",
    "refine_inpainting",
    "anneal_thresholds",
    "auto_iterations",
    "inpaint_threshold",
    "MASK_KINDS",
    "random_mask",
    "text_mask",
    "scratches_mask",
    "block_mask",
    "make_mask",
    # global (convolutional) vs aggregated patch-wise sparse denoising
    "denoise_csc",
    "denoise_patch_bpdn",
    "denoise_patch_omp",
    # sparse-representation classification
    "SRCConfig",
    "SRCClassifier",
    "lasso_admm",
    "load_digits_split",
    "load_image_folder_split",
    "occlude",
    "evaluate_src",
]
