"""Database readers on miniature copies of the REAL PEID and IVC-SelectEncrypt layouts.

Layout facts (see docs/security.md for the sources):
* PEID: ``PEID/data.mat`` holds a struct ``data`` with ``data.textdata`` (cell array, column 1
  reference name, column 2 encrypted name, reference–reference rows included) and
  ``data.mos.VS`` / ``data.mos.IQ``; ``PEID/refimg/<content>.bmp``,
  ``PEID/encimg/<content>_<NN>_<level>.{j2k,jpg,bmp}``.
* IVC-SelectEncrypt: ``SelectiveEncryption/images/<ref>-<level>-<type>.pgm``,
  ``<ref>-res-<k>.pgm``, ``<ref>.pgm``; ``SubjAndObjScoresTransparentEncryption.xls``; macOS
  ``__MACOSX/`` debris in the archive.

The .xls fixture is written with xlwt (a test-only package); when xlwt is missing the .xls test
is skipped and the CSV-export path (same sheet, same reader) still runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import loadmat, savemat
from scipy.stats import spearmanr

from nlvision.cli import main
from nlvision.imageio import save_image
from nlvision.security.databases import (
    _field,
    load_database_image,
    read_ivc,
    read_pairs_csv,
    read_peid,
    score_pairs,
)
from nlvision.security.encryption import encrypt


def _img(n=48, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    img = 0.2 + 0.5 * ((x - 0.3 - 0.2 * seed) ** 2 + (y - 0.5) ** 2 < 0.08) + 0.2 * y
    return np.clip(img + 0.03 * rng.standard_normal((n, n)), 0, 1)


def _write_j2k(path: Path, img: np.ndarray):
    imagecodecs = pytest.importorskip("imagecodecs")
    path.write_bytes(imagecodecs.jpeg2k_encode(np.round(img * 255).astype(np.uint8), level=0, codecformat="j2k"))


def _peid(tmp_path: Path, missing: bool = False) -> Path:
    root = tmp_path / "PEID"
    (root / "refimg").mkdir(parents=True)
    (root / "encimg").mkdir()
    rows, vs, iq = [], [], []
    schemes = {1: ("wavelet_truncate", ".j2k"), 2: ("dct_sign", ".jpg"), 9: ("block_shuffle", ".bmp")}
    for r, content in enumerate(("airport", "bus")):
        img = _img(seed=r)
        save_image(root / "refimg" / f"{content}.bmp", img)
        rows.append([f"{content}.bmp", f"{content}.bmp"])  # the reference-reference row
        vs.append(1.0)
        iq.append(1.0)
        for nn, (scheme, ext) in schemes.items():
            for level, s in enumerate((0.2, 0.9), 1):
                name = f"{content}_{nn:02d}_{level}{ext}"
                enc = encrypt(img, scheme, s, key=level)
                if ext == ".j2k":
                    _write_j2k(root / "encimg" / name, enc)
                else:
                    save_image(root / "encimg" / name, enc)
                rows.append([f"{content}.bmp", name])
                vs.append(1.0 - s)  # PEID VS: 1 = fully recognisable
                iq.append(1.0 - 0.5 * s)
    if missing:
        (root / "encimg" / "bus_09_1.bmp").unlink()
    textdata = np.empty((len(rows), 2), dtype=object)
    textdata[:] = rows
    savemat(root / "data.mat", {"data": {"textdata": textdata, "mos": {"VS": np.array(vs)[:, None], "IQ": np.array(iq)[:, None]}}})
    return root


def test_peid_real_layout_read_with_types(tmp_path):
    root = _peid(tmp_path)
    recs = read_peid(root)
    assert len(recs) == 12  # 2 contents x 3 schemes x 2 levels; the 2 reference rows left out
    assert {r.kind for r in recs} == {"enc01", "enc02", "enc09"}
    assert recs[0].reference == (root / "refimg" / "airport.bmp").resolve()
    assert recs[0].encrypted.name == "airport_01_1.j2k" and np.isclose(recs[0].score, 0.8)
    assert len(read_peid(root / "data.mat", include_references=True)) == 14
    assert np.isclose(read_peid(root, score="IQ")[0].score, 0.9)
    img = load_database_image(recs[0].encrypted)  # JPEG 2000 codestream decoded
    assert img.shape == (48, 48) and 0 <= img.min() and img.max() <= 1


def test_mat_struct_access_under_every_loadmat_option(tmp_path):
    root = _peid(tmp_path)
    for kwargs in ({"struct_as_record": True}, {"struct_as_record": False}, {"simplify_cells": True}):
        data = loadmat(root / "data.mat", **kwargs)["data"]
        vs = np.asarray(_field(_field(data, "mos"), "VS"), dtype=float).ravel()
        assert vs.size == 14 and vs[0] == 1.0


def test_peid_evaluate_cli_tables_and_independent_srocc(tmp_path, capsys):
    root = _peid(tmp_path)
    rc = main(["vsi", "evaluate", str(root), "--database", "peid", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["n"] == 12
    assert list(out["per_type"]) == ["enc01", "enc02", "enc09"]
    assert set(out["overall"]["C4"]) >= {"srocc", "krcc", "plcc", "rmse"}
    rows, failed = score_pairs(read_peid(root), baselines=False)
    assert not failed
    x = [r["C4"] for r in rows]
    y = [r["mos"] for r in rows]
    assert np.isclose(out["overall"]["C4"]["srocc"], spearmanr(x, y)[0])
    sel = [k for k, r in enumerate(rows) if r["type"] == "enc09"]
    assert np.isclose(out["per_type"]["enc09"]["C4"], spearmanr([x[k] for k in sel], [y[k] for k in sel])[0])


def test_peid_bad_input_one_line_exit_2(tmp_path, capsys):
    root = _peid(tmp_path, missing=True)
    rc = main(["vsi", "evaluate", str(root), "--database", "peid", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "bus_09_1.bmp" in err and len(err.splitlines()) == 1
    rc = main(["vsi", "evaluate", str(root), "--database", "peid", "--skip-missing", "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0 and json.loads(captured.out)["n"] == 11 and "skipped" in captured.err
    (root / "data.mat").write_bytes(b"MATLAB 5.0 MAT-file garbage" + bytes(100))
    rc = main(["vsi", "evaluate", str(root), "--database", "peid"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "data.mat" in err and len(err.splitlines()) == 1
    savemat(root / "data.mat", {"ref_names": np.array(["a.bmp"], dtype=object)})
    with pytest.raises(ValueError, match="no struct 'data'"):
        read_peid(root)
    savemat(root / "data.mat", {"data": {"textdata": np.array([["a.bmp", "a_01_1.bmp"]], dtype=object), "mos": {"IQ": [1.0]}}})
    with pytest.raises(ValueError, match="no field 'VS'"):
        read_peid(root)
    with pytest.raises(ValueError, match="valid: VS, IQ"):
        read_peid(root, score="XX")


def test_peid_refuses_paths_outside_the_data_folder(tmp_path):
    root = tmp_path / "PEID"
    (root / "refimg").mkdir(parents=True)
    save_image(tmp_path / "secret.bmp", _img())
    td = np.array([["../../secret.bmp", "x_01_1.bmp"]], dtype=object)
    savemat(root / "data.mat", {"data": {"textdata": td, "mos": {"VS": [0.5]}}})
    with pytest.raises(ValueError, match="outside the data folder"):
        read_peid(root)


def _ivc(tmp_path: Path, refs=("lena", "boats")) -> tuple[Path, list[list]]:
    top = tmp_path / "archive"
    images = top / "SelectiveEncryption" / "images"
    images.mkdir(parents=True)
    debris = top / "__MACOSX" / "SelectiveEncryption" / "images"
    debris.mkdir(parents=True)
    sheet = [["Image", "MOS", "PSNR"]]
    for r, ref in enumerate(refs):
        img = _img(seed=r)
        save_image(images / f"{ref}.pgm", img)
        for t, scheme in (("trad", "wavelet_sign"), ("trunc", "wavelet_truncate"), ("iwind_ec", "dct_sign"), ("iwind_nec", "dct_permute")):
            for q, level in enumerate(("001", "029")):
                name = f"{ref}-{level}-{t}"
                save_image(images / f"{name}.pgm", encrypt(img, scheme, 0.3 * (q + 1), key=q))
                (debris / f"._{name}.pgm").write_bytes(b"\x00\x05\x16\x07 resource fork")
                sheet.append([name, 4.5 - q, 30.0 - q])
        for k in range(2):
            save_image(images / f"{ref}-res-{k}.pgm", encrypt(img, "pixel_scramble", 0.3 * (k + 1), key=k))
            sheet.append([f"{ref}-res-{k}", 4.0 - k, 25.0])
    return top, sheet


def _write_xls(path: Path, sheet: list[list]):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    ws = book.add_sheet("scores")
    ws.write(0, 0, "Subjective and objective scores")  # a title row above the header
    for i, row in enumerate(sheet, 2):
        for j, v in enumerate(row):
            ws.write(i, j, v)
    book.save(str(path))


def test_ivc_real_layout_xls(tmp_path, capsys):
    top, sheet = _ivc(tmp_path, refs=("lena",))
    _write_xls(top / "SelectiveEncryption" / "SubjAndObjScoresTransparentEncryption.xls", sheet)
    recs = read_ivc(top)
    assert len(recs) == 10
    assert {r.kind for r in recs} == {"trad", "trunc", "iwind_ec", "iwind_nec", "res"}
    assert all("__MACOSX" not in str(r.encrypted) for r in recs)
    assert recs[0].reference.name == "lena.pgm" and recs[0].encrypted.name == "lena-001-trad.pgm" and recs[0].score == 4.5
    rc = main(["vsi", "evaluate", str(top), "--database", "ivc", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["n"] == 10 and list(out["per_type"]) == ["trad", "trunc", "iwind_ec", "iwind_nec", "res"]


def test_ivc_csv_export_and_bad_sheet(tmp_path, capsys):
    top, sheet = _ivc(tmp_path)
    csv_path = top / "scores.csv"
    csv_path.write_text("\n".join(",".join(str(v) for v in row) for row in sheet) + "\n")
    recs = read_ivc(top)
    assert len(recs) == 20 and recs[-1].kind == "res" and recs[-1].score == 3.0
    csv_path.write_text("Image,Score\nlena-001-trad,3\n")
    rc = main(["vsi", "evaluate", str(top), "--database", "ivc"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "MOS" in err and len(err.splitlines()) == 1


def test_ivc_xls_without_expected_columns(tmp_path, capsys):
    top, _ = _ivc(tmp_path)
    _write_xls(top / "SubjAndObjScoresTransparentEncryption.xls", [["Image", "Score"], ["lena-001-trad", 3.0]])
    rc = main(["vsi", "evaluate", str(top), "--database", "ivc"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "no 'MOS' column" in err and len(err.splitlines()) == 1


def _pairs(tmp_path: Path, bad: bool = False) -> Path:
    rows = ["plain,encrypted,mos,type"]
    for r in range(2):
        img = _img(seed=r)
        save_image(tmp_path / f"p{r}.png", img)
        for k, s in enumerate((0.2, 0.5, 0.8, 1.0)):
            save_image(tmp_path / f"e{r}{k}.png", encrypt(img, "block_shuffle", s, key=k))
            rows.append(f"p{r}.png,e{r}{k}.png,{s},shuffle")
    if bad:
        (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
        rows.insert(2, "p0.png,broken.png,0.5,shuffle")
        rows.insert(3, "p0.png,nope.png,0.5,shuffle")
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "pairs.csv"


def test_evaluate_user_csv(tmp_path, capsys):
    pairs = _pairs(tmp_path)
    rc = main(["vsi", "evaluate", "--csv", str(pairs), "-o", str(tmp_path / "res.json"), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0 and "Table 1" in text and "Table 2" in text and "shuffle" in text and "Avg" in text
    out = json.loads((tmp_path / "res.json").read_text())
    assert out["n"] == 8 and list(out["per_type"]) == ["shuffle"] and len(out["rows"]) == 8
    assert out["overall"]["C4"]["srocc"] < -0.5  # stronger shuffle (higher "mos" here) = lower VSI


def test_batch_score_reports_and_skips_bad_pairs(tmp_path, capsys):
    import csv

    pairs = _pairs(tmp_path, bad=True)
    out = tmp_path / "scores.csv"
    rc = main(["vsi", "score", "--pairs", str(pairs), "-o", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1 and "broken.png" in captured.out and "nope.png" in captured.out
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 8 and {"vsi", "C1", "psnr", "ssim"} <= set(rows[0])
    from nlvision.imageio import load_image
    from nlvision.security.vsi import vsi

    first = rows[0]
    assert np.isclose(float(first["vsi"]), vsi(load_image(tmp_path / "p0.png"), load_image(tmp_path / "e00.png")).vsi, rtol=1e-5)


def test_pairs_csv_bad_input(tmp_path):
    (tmp_path / "a.csv").write_text("plain,enc\nx.png,y.png\n")
    with pytest.raises(ValueError, match="missing column"):
        read_pairs_csv(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("plain,encrypted,mos\n../x.png,y.png,1\n")
    with pytest.raises(ValueError, match="outside the data folder"):
        read_pairs_csv(tmp_path / "b.csv")


def test_sweep_parameters_matches_direct_scores(tmp_path, capsys):
    from dataclasses import replace

    from nlvision.security.databases import sweep_parameters
    from nlvision.security.vsi import VSIConfig, vsi

    recs = read_pairs_csv(_pairs(tmp_path))
    res = sweep_parameters(recs, alphas=(0.1, 0.2), betas=(20.0,))
    assert [r["alpha"] for r in res["alpha"]] == [0.1, 0.2] and res["beta"][0]["beta"] == 20.0
    x = [vsi(load_database_image(r.reference), load_database_image(r.encrypted), replace(VSIConfig(), alpha=0.2)).vsi for r in recs]
    assert np.isclose(res["alpha"][1]["srocc"], spearmanr(x, [r.score for r in recs])[0])


def test_j2k_without_imagecodecs_names_the_extra(tmp_path, monkeypatch):
    import sys

    path = tmp_path / "x.j2k"
    _write_j2k(path, _img(16))
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    with pytest.raises(ImportError, match=r"\[security\] extra"):
        load_database_image(path)


def test_j2k_declared_size_checked_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "x.j2k"
    _write_j2k(path, _img(16))
    monkeypatch.setenv("NLVISION_MAX_PIXELS", "100")
    with pytest.raises(ValueError, match="declares 16x16 pixels"):
        load_database_image(path)


def test_evaluate_sweep_cli(tmp_path, capsys):
    pairs = _pairs(tmp_path)
    rc = main(["vsi", "evaluate", "--csv", str(pairs), "--sweep", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [r["alpha"] for r in out["alpha"]] == [0.05, 0.1, 0.15, 0.2, 0.25]
    assert [r["beta"] for r in out["beta"]] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert all(-1 <= r["srocc"] <= 1 for r in out["alpha"] + out["beta"])
