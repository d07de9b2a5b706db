import numpy as np
import pytest
import skimage.data
from skimage.metrics import peak_signal_noise_ratio

from nlvision.restoration.inpaint import (
    InpaintConfig,
    inpaint,
    inpaint_threshold,
    make_mask,
    random_mask,
    scratches_mask,
    text_mask,
)


def test_threshold_formula_hand_values():
    # δ = 1.15 · 8 · σ · sqrt((64 - m)/64): m = 0 -> 9.2σ ; m = 60 -> 9.2σ · 0.25
    np.testing.assert_allclose(inpaint_threshold(np.array([0, 60, 64]), 8, 0.5), [4.6, 1.15, 0.0])


def test_constant_image_is_recovered_exactly():
    y = np.full((40, 40), 0.3)
    m = random_mask(y.shape, 0.7, seed=0)
    out = inpaint(np.where(m, 0.0, y), m)
    np.testing.assert_allclose(out, 0.3, atol=1e-10)


def test_large_hole_filled_and_observed_kept():
    y = np.full((48, 48), 0.6)
    y[:, 24:] = 0.2
    m = np.zeros(y.shape, dtype=bool)
    m[10:30, 4:15] = True  # 20x11 hole, wider than a patch, inside the flat left half
    z = np.where(m, 0.0, y)
    out = inpaint(z, m)
    np.testing.assert_array_equal(out[~m], z[~m])
    np.testing.assert_allclose(out[m], 0.6, atol=1e-6)


def test_natural_image_crop_beats_observed_and_mean_fill():
    y = skimage.data.camera()[100:196, 180:276].astype(float) / 255
    m = random_mask(y.shape, 0.5, seed=2)
    z = np.where(m, 0.0, y)
    out = inpaint(z, m)
    mean_fill = np.where(m, y[~m].mean(), y)
    p_out = peak_signal_noise_ratio(y, np.clip(out, 0, 1), data_range=1)
    assert p_out > peak_signal_noise_ratio(y, mean_fill, data_range=1) + 8
    assert p_out > 26.0


def test_colour_equals_per_channel():
    rng = np.random.default_rng(0)
    img = np.clip(np.tile(np.linspace(0, 1, 24), (24, 1))[..., None] * [1.0, 0.5, 0.2] + 0.02 * rng.random((24, 24, 3)), 0, 1)
    m = random_mask((24, 24), 0.4, seed=1)
    out = inpaint(img, m, channel_axis=-1)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], inpaint(img[..., c], m))


def test_aggregation_variants_run():
    y = skimage.data.camera()[:64, :64].astype(float) / 255
    m = random_mask(y.shape, 0.3, seed=0)
    for agg in ("sparsity", "none"):
        out = inpaint(np.where(m, 0, y), m, aggregation=agg)
        assert out.shape == y.shape and np.all(np.isfinite(out))


def test_mask_generators():
    m = random_mask((50, 40), 0.25, seed=3)
    assert m.sum() == 500
    np.testing.assert_array_equal(m, random_mask((50, 40), 0.25, seed=3))
    assert not np.array_equal(m, random_mask((50, 40), 0.25, seed=4))
    t = text_mask((128, 128), 0.15, seed=0)
    assert 0.08 < t.mean() < 0.35
    s = scratches_mask((128, 128), 0.05, seed=0)
    assert 0.04 < s.mean() < 0.15
    assert make_mask("scratches", (128, 128), 0.05, 0).shape == (128, 128)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mask": np.zeros((10, 10), bool)}, "size"),
        ({"mask": np.ones((32, 32), bool)}, "every pixel"),
        ({"dictionary": np.ones((49, 10))}, "rows"),
        ({"aggregation": "median"}, "aggregation"),
        ({"sigma": -1.0}, "sigma"),
    ],
)
def test_inpaint_bad_input(kwargs, match):
    args = {"image": np.zeros((32, 32)), "mask": random_mask((32, 32), 0.5)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        inpaint(**args)


def test_mask_bad_input():
    with pytest.raises(ValueError, match="valid kinds"):
        make_mask("blobs", (8, 8), 0.1)
    with pytest.raises(ValueError, match="rate"):
        random_mask((8, 8), 1.5)
    with pytest.raises(TypeError):
        inpaint([[0.0]], np.zeros((1, 1)))
    with pytest.raises(TypeError):
        inpaint(np.zeros((16, 16)), np.zeros((16, 16)), config=object())


def test_small_helpers_bad_input():
    from nlvision.restoration.demo_sparse import atoms_image
    from nlvision.restoration.sparse import dct_dictionary, normalize_atoms
    from nlvision.restoration.src_classify import lasso_admm, load_digits_split

    with pytest.raises(ValueError, match="n_missing"):
        inpaint_threshold(np.array([65]), 8, 0.1)
    with pytest.raises(ValueError, match="sigma"):
        inpaint_threshold(np.array([1]), 8, -0.1)
    with pytest.raises(ValueError, match="patch_size"):
        inpaint_threshold(np.array([1]), 0, 0.1)
    with pytest.raises(ValueError, match="perfect square"):
        dct_dictionary(8, 200)
    with pytest.raises(ValueError, match="NaN"):
        normalize_atoms(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="lam"):
        lasso_admm(np.eye(2), np.ones((1, 2)), 0.0)
    with pytest.raises(ValueError, match="test_size"):
        load_digits_split(1.5)
    with pytest.raises(ValueError, match="p\\*p"):
        atoms_image(np.ones((10, 3)))
    with pytest.raises(ValueError, match="font_size"):
        text_mask((32, 32), 0.1, font_size=0)
    with pytest.raises(ValueError, match="width"):
        scratches_mask((32, 32), 0.1, width=0)
    with pytest.raises(ValueError, match="shape"):
        random_mask((0, 5), 0.1)
