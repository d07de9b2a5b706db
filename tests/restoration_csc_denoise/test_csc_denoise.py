"""Global CSC denoising vs aggregation of patch estimates (issue 21, part 1).

Independent references: scipy's DCT with hand-written soft/hard thresholding (the patch methods
with an orthonormal dictionary), closed forms for a delta filter, an independent FISTA solver on
the same convolutional objective, and SPORCO's ConvBPDN (slow test, when installed).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from nlvision.datasets.sparse_images import sparse_image
from nlvision.restoration.csc import reconstruct
from nlvision.restoration.csc_denoise import (
    conv_objective,
    conv_sparse_code,
    dct_filters,
    denoise_csc,
    denoise_patch_bpdn,
    denoise_patch_omp,
    filters_to_dictionary,
)


def _sliding(z, p, coef_fn):
    """Reference: every p x p patch -> 2-D DCT (scipy) -> coef_fn -> inverse -> average."""
    H, W = z.shape
    acc = np.zeros_like(z)
    cnt = np.zeros_like(z)
    for i in range(H - p + 1):
        for j in range(W - p + 1):
            c = scipy.fft.dctn(z[i : i + p, j : j + p], norm="ortho")
            acc[i : i + p, j : j + p] += scipy.fft.idctn(coef_fn(c), norm="ortho")
            cnt[i : i + p, j : j + p] += 1
    return acc / cnt


def test_dct_filters_match_scipy_basis():
    f = dct_filters(4)
    img = np.random.default_rng(0).random((4, 4))
    coef = filters_to_dictionary(f).T @ img.ravel()
    np.testing.assert_allclose(coef.reshape(4, 4), scipy.fft.dctn(img, norm="ortho"), atol=1e-12)


def test_patch_bpdn_with_dct_is_sliding_soft_threshold():
    rng = np.random.default_rng(1)
    z = rng.random((12, 12))
    lam = 0.2
    ours = denoise_patch_bpdn(z, 0.1, dct_filters(4), lam=lam)
    ref = _sliding(z, 4, lambda c: np.sign(c) * np.maximum(np.abs(c) - lam, 0))
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_patch_omp_with_dct_keeps_largest_coefficients():
    rng = np.random.default_rng(2)
    z = rng.random((10, 10))
    sigma, k, p = 0.1, 1.0, 4
    tol = (k * p * sigma) ** 2

    def greedy(c):
        flat = c.ravel().copy()
        out = np.zeros_like(flat)
        order = np.argsort(-np.abs(flat), kind="stable")
        resid = float(np.sum(flat**2))
        for idx in order:
            if resid <= tol:
                break
            out[idx] = flat[idx]
            resid -= flat[idx] ** 2
        return out.reshape(c.shape)

    ours = denoise_patch_omp(z, sigma, dct_filters(p), k=k)
    np.testing.assert_allclose(ours, _sliding(z, p, greedy), atol=1e-8)


def test_delta_filter_closed_forms():
    rng = np.random.default_rng(3)
    s = rng.standard_normal((8, 8))
    d = np.ones((1, 1, 1))
    lam = 0.7
    l1 = conv_sparse_code(s, d, lam, rel_tol=1e-8, max_iter=2000)
    np.testing.assert_allclose(l1.maps[0], np.sign(s) * np.maximum(np.abs(s) - lam, 0), atol=1e-6)
    l0 = conv_sparse_code(s, d, lam, penalty="l0")
    np.testing.assert_allclose(l0.maps[0], np.where(np.abs(s) > np.sqrt(2 * lam), s, 0.0), atol=1e-12)


def _fista(s, f, lam, n_iter=3000):
    """Independent solver of 1/2||sum d*x - s||^2 + lam||x||_1 (numpy FFT, FISTA)."""
    M, K, _ = f.shape
    H, W = s.shape
    fp = np.zeros((M, H, W))
    fp[:, :K, :K] = f
    fp = np.roll(fp, (-(K // 2), -(K // 2)), axis=(1, 2))
    Fh = np.fft.fft2(fp)
    L = float((np.abs(Fh) ** 2).sum(0).max())
    x = np.zeros((M, H, W))
    y, t = x.copy(), 1.0
    Sh = np.fft.fft2(s)
    for _ in range(n_iter):
        R = (Fh * np.fft.fft2(y)).sum(0) - Sh
        g = np.real(np.fft.ifft2(np.conj(Fh) * R))
        v = y - g / L
        xn = np.sign(v) * np.maximum(np.abs(v) - lam / L, 0)
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = xn + (t - 1) / tn * (xn - x)
        x, t = xn, tn
    return x


def test_l1_objective_matches_independent_fista():
    rng = np.random.default_rng(4)
    f = rng.standard_normal((3, 3, 3))
    f /= np.linalg.norm(f.reshape(3, -1), axis=1)[:, None, None]
    s = rng.standard_normal((12, 12))
    lam = 0.3
    ours = conv_sparse_code(s, f, lam, max_iter=3000, rel_tol=1e-7)
    ref = conv_objective(s, f, _fista(s, f, lam), lam)
    assert abs(ours.objective - ref) / ref < 1e-4
    assert ours.objective == pytest.approx(conv_objective(s, f, ours.maps, lam), rel=1e-12)


def test_l0_refinement_does_not_increase_objective():
    rng = np.random.default_rng(5)
    f = dct_filters(4)
    s = rng.standard_normal((16, 16))
    lam = 0.5
    start = conv_sparse_code(s, f, lam, penalty="l0", l0_iter=0)
    refined = conv_sparse_code(s, f, lam, penalty="l0", l0_iter=50)
    assert refined.objective <= start.objective + 1e-9


def test_global_denoiser_reduces_noise_on_sparse_image():
    f = dct_filters(4)
    y = sparse_image((24, 24), f, 0.01, rng=0).image
    sigma = 0.1
    z = y + sigma * np.random.default_rng(0).standard_normal(y.shape)
    for pen in ("l1", "l0"):
        out = denoise_csc(z, sigma, f, penalty=pen, max_iter=60)
        assert np.mean((out - y) ** 2) < 0.5 * np.mean((z - y) ** 2)


def test_sparse_image_is_the_sum_of_its_filters():
    f = dct_filters(4)
    s1 = sparse_image((20, 20), f, 0.02, rng=3)
    s2 = sparse_image((20, 20), f, 0.02, rng=3)
    np.testing.assert_array_equal(s1.image, s2.image)
    assert s1.n_active == round(0.02 * 28 * 28)
    assert not np.any(s1.maps[0])  # the DC filter is never activated by default
    # interior pixels only see coefficients inside the crop
    rec = 0.5 + reconstruct(s1.maps, f)
    np.testing.assert_allclose(rec[4:-4, 4:-4], s1.image[4:-4, 4:-4], atol=0.6)  # loose: crop misses border atoms
    full = np.pad(s1.maps, ((0, 0), (4, 4), (4, 4)))
    assert np.count_nonzero(full) <= s1.n_active


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: denoise_csc(np.zeros((6, 6)), 0.1, dct_filters(8)), "larger than the image"),
        (lambda: denoise_patch_bpdn(np.zeros((6, 6)), 0.1, dct_filters(8)), "larger than the image"),
        (lambda: denoise_patch_omp(np.zeros((6, 6)), 0.1, dct_filters(8)), "larger than the image"),
        (lambda: denoise_csc(np.zeros((16, 16)), 0.1, penalty="l2"), "penalty"),
        (lambda: denoise_csc(np.zeros((16, 16)), -1.0), "sigma"),
        (lambda: denoise_csc(np.zeros((16, 16)), 0.1, np.zeros((2, 3))), "filters"),
        (lambda: sparse_image((6, 6), dct_filters(8)), "larger than the image"),
        (lambda: sparse_image((16, 16), dct_filters(4), density=2.0), "density"),
    ],
)
def test_bad_input_one_line(call, match):
    with pytest.raises(ValueError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)


@pytest.mark.slow
def test_l1_objective_within_1e4_of_sporco():
    cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    rng = np.random.default_rng(6)
    f = dct_filters(4)
    s = rng.standard_normal((20, 20))  # not 16x16: SPORCO would read a last axis of M=16 as channels
    lam = 0.4
    ours = conv_sparse_code(s, f, lam, max_iter=3000, rel_tol=1e-7)
    opt = cbpdn.ConvBPDN.Options({"Verbose": False, "MaxMainIter": 3000, "RelStopTol": 1e-7})
    solver = cbpdn.ConvBPDN(np.transpose(f, (1, 2, 0)), s, lam, opt)
    solver.solve()
    Xs = np.roll(np.transpose(solver.getcoef().squeeze(), (2, 0, 1)), (2, 2), axis=(1, 2))
    ref = conv_objective(s, f, Xs, lam)
    assert abs(ours.objective - ref) / ref < 1e-4


def test_cli_denoise_method_csc(tmp_path, capsys):
    import json

    from nlvision.cli import main
    from nlvision.imageio import load_image, save_image
    from nlvision.metrics import psnr

    y = sparse_image((24, 24), dct_filters(8), 0.003, rng=2).image.clip(0, 1)
    z = np.clip(y + 0.08 * np.random.default_rng(0).standard_normal(y.shape), 0, 1)
    save_image(tmp_path / "clean.png", y)
    save_image(tmp_path / "noisy.png", z)
    out = tmp_path / "out.png"
    assert main(["denoise", str(tmp_path / "noisy.png"), "-o", str(out), "--method", "csc", "--sigma", "20.4",
                 "--reference", str(tmp_path / "clean.png"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["method"] == "csc" and info["psnr"] > info["psnr_noisy"] + 3
    ref = load_image(tmp_path / "clean.png")
    assert psnr(load_image(out), ref) == pytest.approx(info["psnr"], abs=0.1)  # the CLI reports the pre-quantisation PSNR
    save_image(tmp_path / "tiny.png", z[:5, :5])
    assert main(["denoise", str(tmp_path / "tiny.png"), "-o", str(tmp_path / "t.png"), "--method", "csc-l0", "--sigma", "20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: filters of size 8x8 are larger than the image of shape (5, 5)"]
    assert not (tmp_path / "t.png").exists()
