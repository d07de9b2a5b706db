"""restoration."""

from nlvision.restoration.csc_denoise import denoise_csc, denoise_patch_bpdn, denoise_patch_omp  # noqa: E402

__all__ = [*globals().get("__all__", []), "denoise_csc", "denoise_patch_bpdn", "denoise_patch_omp"]
