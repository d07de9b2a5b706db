"""``nlvision inpaint`` on a folder with one mask, through the shared batch runner (issue #14)."""

from __future__ import annotations

import json

import numpy as np

from nlvision.cli import main
from nlvision.imageio import load_image, save_image


def _folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:24, :24] / 24.0
    for i in range(3):
        save_image(d / f"im{i}.png", np.clip(0.5 + 0.3 * np.sin(3 * xx + i) * yy + 0.02 * rng.standard_normal((24, 24)), 0, 1))
    (d / "zbad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    m = np.zeros((24, 24))
    m[8:12, 5:15] = 1.0
    save_image(tmp_path / "mask.png", m)
    return d, tmp_path / "mask.png", m > 0


def test_inpaint_folder_skips_the_bad_file_and_jobs_agree(tmp_path, capsys):
    d, mask, m = _folder(tmp_path)
    outs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        rc = main(["inpaint", str(d), "--mask", str(mask), "-o", str(out), "--refine", "2", "--no-progress",
                   "--jobs", jobs, "--json"])
        cap = capsys.readouterr()
        errors = [ln for ln in cap.err.splitlines() if ln.startswith("error:")]
        assert rc == 1 and len(errors) == 1 and "zbad.png" in errors[0]
        res = json.loads(cap.out)
        assert res["done"] == 3 and len(res["failed"]) == 1
        assert sorted(p.name for p in out.iterdir()) == ["im0.png", "im1.png", "im2.png"]
        outs[jobs] = {p.name: p.read_bytes() for p in out.iterdir()}
    assert outs["1"] == outs["2"]
    # the observed pixels are kept; the output is the single-file run's output
    src, res = load_image(d / "im2.png"), load_image(tmp_path / "out1" / "im2.png")
    assert np.abs(res[~m] - src[~m]).max() <= 1 / 255
    rc = main(["inpaint", str(d / "im2.png"), "--mask", str(mask), "-o", str(tmp_path / "one.png"), "--refine", "2",
               "--no-progress"])
    assert rc == 0 and (tmp_path / "one.png").read_bytes() == outs["1"]["im2.png"]


def test_inpaint_folder_refuses_bad_options_before_writing(tmp_path, capsys):
    d, mask, _ = _folder(tmp_path)
    for argv in (["-o", str(d)], ["-o", str(tmp_path / "o"), "--jobs", "0"], ["-o", str(tmp_path / "o"), "--reference", str(mask)],
                 ["-o", str(tmp_path / "o"), "--refine", "x"]):
        rc = main(["inpaint", str(d), "--mask", str(mask), "--no-progress", *argv])
        assert rc == 2 and capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "o").exists()
