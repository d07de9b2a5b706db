"""Bad input, every command: the README's promise under a catalogue of hostile inputs (issue #14).

Part 1 runs tests/bad_input_catalogue.py: commands and their argument shapes are discovered from
the Typer app; each case replaces one slot of a harmless baseline invocation by a hostile value
(corrupt, truncated, empty, wrong kind, bombs, odd modes, NaN/inf, out-of-range options, bad
output paths, malicious pickles) and checks: exit 2 (1 for a batch with skips, 0 allowed only for
odd-but-legal values), one ``error:`` line on stderr, no traceback, nothing written, no unpickling.
The default run covers every case except the option values that would start a long computation
when accepted (``-m slow`` runs all of them; benchmarks/bad_input_campaign.py prints the rates).

Part 2 fuzzes the core public functions with hypothesis: whatever the input, they return a valid
result or raise ValueError/TypeError — never another exception type, never a silent NaN.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bad_input_catalogue as cat  # noqa: E402

#: Cases that failed on the `hostile` branch and on main + hostile (campaigns at 15:35 and 15:55 UTC) because the fix
#: belongs to another area's files (issue #14 items assigned to the area helpers): case id ->
#: (area, timed out, reason). Fast ones run as non-strict xfail (they pass once the area's fix is
#: merged); the ones that time out are not run by default (each would cost 10 s). Remove entries as
#: areas land; benchmarks/bad_input_campaign.py runs every case regardless.
KNOWN_ELSEWHERE: dict[str, tuple[str, bool, str]] = {}  # every case passed the 16:40 UTC campaign on main


def _all_cases():
    try:
        return cat.generate_cases()
    except Exception as exc:  # pragma: no cover - the app itself must build
        pytest.fail(f"cannot discover the commands: {exc}")


#: For the heavy commands (training, benchmarks, reports: they build a model or data before most
#: checks), the default run samples these values; ``-m slow`` runs every value.
HEAVY_SAMPLE = {"pickle_pt", "safetensors_lie", "json_list", "npz_lie", "folder_hostile", "nan", "inf", "below_a_file",
                "equals_input", "cifar_pickles", "png_bomb16", "tiff_header", "trunc_png", "text", "missing", "float255"}


def _params():
    for case in _all_cases():
        marks = []
        if case.command.heavy and (case.expect == "either" or case.value_id not in HEAVY_SAMPLE):
            marks.append(pytest.mark.slow)
        if case.id in KNOWN_ELSEWHERE:
            area, timed_out, reason = KNOWN_ELSEWHERE[case.id]
            marks.append(pytest.mark.xfail(reason=f"{area} area: {reason}", run=not timed_out, strict=False))
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return cat.Workspace(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("case", list(_params()))
def test_contract(case, workspace, tmp_path):
    outcome = cat.run_case(case, workspace, tmp_path, timeout=10.0)
    assert outcome.ok, f"{outcome.reason}\n{outcome.stderr}"


def test_baselines_succeed(workspace, tmp_path):
    """The harness itself: harmless invocations pass (so 'rejected' means the hostile value was refused)."""
    good = str(workspace.good)
    for argv in (["noise", "estimate", good], ["noise", "add", good, *cat.out_args("noise add", str(tmp_path / "n.png")), "--sigma", "5"],
                 ["denoise", good, *cat.out_args("denoise", str(tmp_path / "d.png")), "--sigma", "10"]):
        rc, out, err = cat.run_argv(argv, tmp_path)
        assert rc == 0, (argv, err)
    rc, out, err = cat.run_argv(["noise", "estimate", str(workspace.bad_images["png_bomb16"])], tmp_path)
    assert rc == 2 and err.startswith("error: ") and "above the limit" in err


def test_catalogue_covers_every_command_and_kind():
    cases = _all_cases()
    commands = {c.command.name for c in cases}
    discovered = {c.name for c in cat.discover_commands()}
    assert commands <= discovered and len(discovered) >= 20
    kinds = {c.value_id for c in cases}
    for needed in ("png_bomb16", "tiff_header", "trunc_png", "empty", "float255", "float_nan", "pickle_pt", "npz_lie",
                   "safetensors_lie", "json_list", "nan", "inf", "below_a_file", "equals_input", "cifar_pickles"):
        assert needed in kinds, needed
    assert len(cases) >= 900


# ---------------------------------------------------------------- hypothesis fuzzing of the core functions

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _find(*candidates: str):
    for c in candidates:
        mod, _, name = c.partition(":")
        try:
            obj = getattr(importlib.import_module(mod), name, None)
        except ImportError:
            obj = None
        if obj is not None:
            return obj
    pytest.skip(f"none of {candidates} exists")


floats_any = st.floats(allow_nan=True, allow_infinity=True, width=64)
images = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.uint8, np.uint16, np.int16, np.bool_]),
    shape=st.one_of(hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=20),
                    st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(1, 6)),
                    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)),
)


def _ok_or_value_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError):
        return None


@FUZZ
@given(data=st.binary(max_size=300), prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*",
                                                          b"BM", b"P5\n", b"P7\n", b"GIF89a"]))
def test_fuzz_load_image_and_header(tmp_path_factory, data, prefix):
    from nlvision.imageio import load_image
    from nlvision.limits import read_image_header

    path = tmp_path_factory.mktemp("fz") / "f.png"
    path.write_bytes(prefix + data)
    _ok_or_value_error(read_image_header, path)
    image = _ok_or_value_error(load_image, path)
    if image is not None:
        assert image.dtype == np.float64 and image.ndim in (2, 3) and np.all((image >= 0) & (image <= 1))


@FUZZ
@given(image=images, lo=floats_any, hi=floats_any)
def test_fuzz_validate_and_range(image, lo, hi):
    from nlvision.imageio import apply_range, validate_image

    out = _ok_or_value_error(validate_image, image)
    if out is not None:
        assert np.all(np.isfinite(out))
        mapped = _ok_or_value_error(apply_range, out, (lo, hi))
        if mapped is not None:
            assert np.all((mapped >= 0) & (mapped <= 1))


@FUZZ
@given(image=images, sigma=floats_any)
def test_fuzz_denoise_dct(image, sigma):
    denoise = _find("nlvision.restoration:denoise_dct", "nlvision.restoration.dct:denoise_dct")
    channel_axis = -1 if image.ndim == 3 else None
    out = _ok_or_value_error(denoise, image, sigma, channel_axis=channel_axis)
    if out is not None:
        out = np.asarray(out)
        assert out.shape == image.shape and np.all(np.isfinite(out))


@FUZZ
@given(image=images)
def test_fuzz_estimate_sigma(image):
    estimate = _find("nlvision.restoration:estimate_sigma", "nlvision.restoration.noise:estimate_sigma")
    out = _ok_or_value_error(estimate, image, channel_axis=-1 if image.ndim == 3 else None)
    if out is not None:
        assert np.all(np.isfinite(np.asarray(out))) and np.all(np.asarray(out) >= 0)


@FUZZ
@given(a=images, b=images)
def test_fuzz_psnr(a, b):
    psnr = _find("nlvision.metrics:psnr")
    _ok_or_value_error(psnr, a, b)


@FUZZ
@given(image=images, scheme=st.sampled_from(["block_shuffle", "pixel_scramble", "dct_sign", "dct_permute", "wavelet_sign",
                                              "wavelet_bitplane", "wavelet_truncate", "msb_xor", "nope", ""]),
       strength=floats_any, key=st.integers(-(2**70), 2**70))
def test_fuzz_encrypt(image, scheme, strength, key):
    encrypt = _find("nlvision.security:encrypt", "nlvision.security.encryption:encrypt")
    out = _ok_or_value_error(encrypt, image, scheme, strength, key=key)
    if out is not None:
        assert np.all(np.isfinite(np.asarray(out)))


@FUZZ
@given(shape=st.one_of(st.integers(-5, 10**13), st.lists(st.one_of(st.integers(-3, 10**7), floats_any, st.text(max_size=2)),
                                                            max_size=4)),
       available=st.one_of(st.none(), st.integers(0, 10**9)))
def test_fuzz_check_elements(shape, available):
    from nlvision.limits import check_elements

    n = _ok_or_value_error(check_elements, shape, dtype="f8" if available is not None else None, available_bytes=available)
    if n is not None:
        assert 0 <= n <= 4 * 2**26


@FUZZ
@given(text=st.text(max_size=12))
def test_fuzz_parse_range_and_limit(text):
    from nlvision.imageio import parse_range
    from nlvision.limits import pixel_limit

    r = _ok_or_value_error(parse_range, text)
    if isinstance(r, tuple):
        assert np.isfinite(r[0]) and np.isfinite(r[1]) and r[0] < r[1]
    try:
        with pixel_limit(text) as n:
            assert isinstance(n, int) and n >= 1
    except ValueError:
        pass
    assert os.environ.get("NLVISION_MAX_PIXELS") is None or True
