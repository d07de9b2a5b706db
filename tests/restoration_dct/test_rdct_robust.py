"""Issue #15 for the DCT area: a noise estimate that never hurts, dtype preservation, the torch
device path and the dask sample. Every expectation is computed independently (scikit-image's
PSNR, the known sigma of the added noise, the CPU path)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.metrics import peak_signal_noise_ratio

from nlvision.restoration import (
    add_noise,
    auto_sigma,
    clipped_noise_variance,
    denoise_dct,
    denoise_dct_dask,
    estimate_noise,
    sigma_censored,
    sigma_pca,
)


def _psnr(x, y):
    return peak_signal_noise_ratio(y, np.clip(x, 0, 1), data_range=1.0)


@pytest.mark.parametrize("sigma", [1, 2, 5])
def test_binary_image_estimate_within_1_5x(sigma):
    # every patch of a binary image touches 0 or 1: the PCA estimator used to give ~10/255 here
    yy, xx = np.mgrid[0:96, 0:96]
    y = (((xx // 24) + (yy // 24)) % 2).astype(float)
    z = add_noise(y, sigma / 255, rng=sigma, quantize=255)
    est = estimate_noise(z)
    assert 1 / 1.5 <= est.sigma * 255 / sigma <= 1.5
    if sigma_censored(z)[0] < 4 / 255:  # quantisation dominates: the censored-normal quantiles
        assert est.method == "censored" and sigma_censored(z)[0] == pytest.approx(est.sigma)
    else:  # refined by the clipped-noise fit, which is unbiased here (censored: 0.92x)
        assert est.method == "clipped" and est.sigma * 255 == pytest.approx(sigma, rel=0.05)


def test_natural_estimate_within_10_percent_and_high_confidence():
    import skimage.data

    y = skimage.data.camera()[128:256, 128:256] / 255.0
    z = add_noise(y, 10 / 255, rng=0, quantize=255)
    est = estimate_noise(z)
    assert est.confidence == "high" and est.fallback is None
    assert est.sigma * 255 == pytest.approx(10, rel=0.1)
    assert est.to_dict(255)["sigma"] == pytest.approx(est.sigma * 255)


@pytest.mark.parametrize("mu, sigma", [(0.0, 0.2), (-0.1, 0.2), (0.05, 0.1), (0.3, 0.1), (1.0, 0.05)])
def test_clipped_noise_variance_equals_numerical_integration(mu, sigma):
    # catches a wrong moment formula (e.g. a missing t*phi term) or inverting the mean wrongly:
    # the moments of max(0, X), X ~ N(mu, sigma^2), by quadrature, independently of the code
    from scipy.integrate import quad
    from scipy.stats import norm

    m1 = quad(lambda x: x * norm.pdf(x, mu, sigma), 0, np.inf)[0]
    m2 = quad(lambda x: x * x * norm.pdf(x, mu, sigma), 0, np.inf)[0]
    assert clipped_noise_variance(np.array([m1]), sigma)[0] == pytest.approx(m2 - m1 * m1, rel=2e-3)


@pytest.mark.parametrize("sigma, bright", [(20, False), (50, False), (50, True)])
def test_dark_image_at_high_noise_estimated_through_clipping(sigma, bright):
    """An under-exposed photograph (camera x 0.15): at 20-50/255 most pixels are clipped at 0,
    the stored noise spreads 0.58-0.8 sigma and the patch-PCA estimate (kept for contrast) is
    low. The clip-aware fit must land within 10 % of the added sigma, and denoising with it must
    gain. Catches clipping being ignored (ratio <= 0.9 as PCA) and a broken clipped-variance model;
    the bright case (1 - y, clipped at 1) catches a fit that only knows the lower limit."""
    import skimage.data

    y = 0.15 * skimage.data.camera()[96:224, 96:224] / 255.0
    y = 1.0 - y if bright else y
    z = add_noise(y, sigma / 255, rng=3, quantize=255)
    est = estimate_noise(z)
    assert est.method == "clipped" and est.confidence == "high"
    assert est.sigma * 255 == pytest.approx(sigma, rel=0.1)
    assert sigma_pca(z) * 255 < 0.93 * sigma  # what the former default did
    assert _psnr(denoise_dct(z), y) > _psnr(z, y) + 1.0


def test_auto_never_hurts_on_correlated_grain():
    """The 'clean' reference has its own correlated grain (as a JPEG'd astronomical image): the
    white noise added (2/255) is all a denoiser may remove. --sigma auto must not make it worse."""
    rng = np.random.default_rng(0)
    grain = gaussian_filter(rng.normal(0, 1, (128, 128)), 1.2)
    y = np.clip(0.06 + 0.012 * grain / grain.std() + 0.3 * np.exp(-((np.mgrid[0:128, 0:128] - 64) ** 2).sum(0) / 200), 0, 1)
    z = add_noise(y, 2 / 255, rng=1, quantize=255)
    out = denoise_dct(z)  # sigma=None -> auto_sigma
    assert _psnr(out, y) >= _psnr(z, y) - 0.1
    assert auto_sigma(z) <= estimate_noise(z).sigma


def test_float32_in_float32_out_and_cpu_device():
    z = np.random.default_rng(0).random((40, 48)).astype(np.float32)
    a = denoise_dct(z, 0.1)
    assert a.dtype == np.float32 and denoise_dct(z.astype(np.float64), 0.1).dtype == np.float64
    np.testing.assert_array_equal(a, denoise_dct(z, 0.1, device="cpu"))
    assert denoise_dct_dask(z, 0.1, chunks=24).dtype == np.float32
    with pytest.raises(ValueError, match="device"):
        denoise_dct(z, 0.1, device="tpu")


def test_torch_device_path_matches_numpy_reference_on_cpu():
    """device='cpu' through the torch kernels equals a per-patch numpy reference (scipy DCT)."""
    from scipy.fft import dctn, idctn

    z = np.random.default_rng(2).random((20, 22))
    tau, p = 0.3, 8
    num = np.zeros_like(z)
    cnt = np.zeros_like(z)
    for i in range(z.shape[0] - p + 1):
        for j in range(z.shape[1] - p + 1):
            c = dctn(z[i : i + p, j : j + p], norm="ortho")
            dc = c[0, 0]
            c[np.abs(c) < tau] = 0
            c[0, 0] = dc
            num[i : i + p, j : j + p] += idctn(c, norm="ortho")
            cnt[i : i + p, j : j + p] += 1
    np.testing.assert_allclose(denoise_dct(z, 0.1, threshold=tau, device="cpu"), num / cnt, atol=1e-5)


def test_dask_sigma_none_estimates_from_a_bounded_sample(monkeypatch):
    da = pytest.importorskip("dask.array")
    from nlvision.restoration import dct

    rng = np.random.default_rng(3)
    y = np.tile(np.linspace(0.2, 0.8, 256), (256, 1))
    z = add_noise(y, 10 / 255, rng=rng)
    darr = da.from_array(z, chunks=64)  # 16 chunks
    sample = dct._sample_chunks(darr, max_pixels=4 * 64 * 64)
    assert sample.size <= 4 * 64 * 64
    seen = {}
    real = dct.auto_sigma

    def spy(image, channel_axis=None, **kw):
        seen["pixels"] = np.asarray(image).size
        return real(image, channel_axis, **kw)

    monkeypatch.setattr(dct, "auto_sigma", spy)
    out = denoise_dct_dask(darr, None)
    assert seen["pixels"] <= 2**22 and seen["pixels"] < z.size * 2
    assert _psnr(out, y) > _psnr(z, y) + 3
