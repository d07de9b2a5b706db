"""``nlvision encrypt`` on a folder and ``vsi score --pairs`` through the shared batch runner (issue #14):
one bad file never stops the others (exit 1, one ``error:`` line), ``--jobs 2`` writes the same bytes as ``--jobs 1``."""

from __future__ import annotations

import json

import numpy as np

from nlvision.cli import main
from nlvision.imageio import load_image, save_image
from nlvision.security.encryption import encrypt as encrypt_image


def _folder(tmp_path, size=32):
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        save_image(d / f"im{i}.png", rng.random((size, size)))
    (d / "zbad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return d


def test_encrypt_folder_skips_the_bad_file_and_jobs_agree(tmp_path, capsys):
    d = _folder(tmp_path)
    outs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        rc = main(["encrypt", str(d), "-o", str(out), "--scheme", "block_shuffle", "--key", "3", "--jobs", jobs, "--json"])
        cap = capsys.readouterr()
        errors = [ln for ln in cap.err.splitlines() if ln.startswith("error:")]
        assert rc == 1 and len(errors) == 1 and "zbad.png" in errors[0]
        res = json.loads(cap.out)
        assert res["done"] == 3 and [f["input"] for f in res["failed"]] == [str(d / "zbad.png")]
        assert sorted(p.name for p in out.iterdir()) == ["im0.png", "im1.png", "im2.png"]
        outs[jobs] = {p.name: p.read_bytes() for p in out.iterdir()}
    assert outs["1"] == outs["2"]
    # each output is the library's encryption of its input (8-bit PNG: within half a level)
    expected = encrypt_image(load_image(d / "im1.png"), "block_shuffle", 0.5, key=3)
    assert np.abs(load_image(tmp_path / "out1" / "im1.png") - expected).max() <= 0.5 / 255 + 1e-9


def test_encrypt_folder_refuses_bad_options_before_writing(tmp_path, capsys):
    d = _folder(tmp_path)
    for argv in (["-o", str(d)], ["-o", str(tmp_path / "o"), "--key", "-1"], ["-o", str(tmp_path / "o"), "--jobs", "0"]):
        rc = main(["encrypt", str(d), "--scheme", "block_shuffle", *argv])
        assert rc == 2 and capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "o").exists() and sorted(p.name for p in d.iterdir()) == ["im0.png", "im1.png", "im2.png", "zbad.png"]


def test_vsi_score_pairs_jobs_agree_in_input_order(tmp_path, capsys):
    d = _folder(tmp_path, size=48)
    rows = ["plain,encrypted,mos"]
    for i in range(3):
        img = load_image(d / f"im{i}.png")
        save_image(tmp_path / f"e{i}.png", encrypt_image(img, "block_shuffle", 0.3 + 0.2 * i, key=i))
        rows.append(f"in/im{i}.png,e{i}.png,{i}")
    rows.insert(2, "in/im0.png,in/zbad.png,9")
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    texts = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"s{jobs}.csv"
        rc = main(["vsi", "score", "--pairs", str(tmp_path / "pairs.csv"), "-o", str(out), "--jobs", jobs, "--no-progress"])
        cap = capsys.readouterr()
        errors = [ln for ln in cap.err.splitlines() if ln.startswith("error:")]
        assert rc == 1 and len(errors) == 1 and "zbad.png" in errors[0] and "skipped" in cap.out
        texts[jobs] = out.read_bytes()
    lines = texts["1"].decode().splitlines()
    assert len(lines) == 4 and [ln.split(",")[1].rsplit("/", 1)[-1] for ln in lines[1:]] == ["e0.png", "e1.png", "e2.png"]
    assert texts["1"] == texts["2"]
