"""nlvision.batch and the batch commands: input-order results identical across engines, one item's
failure (decode error, bomb, MemoryError, a dying worker) never stops the others, one-line reports.

The serial run is the reference for ``--jobs 2`` and for a dask LocalCluster; outputs are compared
byte for byte.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files as hf  # noqa: E402
from bad_input_catalogue import out_args  # noqa: E402
from nlvision.batch import check_engine, failure_message, item_name, run_batch  # noqa: E402
from nlvision.cli import main  # noqa: E402


def _flaky(x):
    if x == 3:
        raise ValueError(f"item{x}: bad value")
    if x == 5:
        raise MemoryError
    if x == 7:
        raise RuntimeError("kaputt")
    return x * x


@pytest.mark.parametrize("jobs", [1, 2])
def test_failures_are_per_item_and_in_order(jobs):
    lines = []
    done, failed = run_batch(range(10), _flaky, jobs=jobs, show_progress=False, report=lines.append)
    assert done == [(i, i * i) for i in range(10) if i not in (3, 5, 7)]
    assert failed == [(3, "item3: bad value"), (5, "out of memory"), (7, "RuntimeError: kaputt")]
    assert sorted(lines) == ["error: 3: item3: bad value", "error: 5: out of memory", "error: 7: RuntimeError: kaputt"]


def _die_on_4(x):
    if x == 4:
        os._exit(9)  # the worker process dies (as under the OOM killer)
    return x + 100


def test_a_dying_worker_fails_only_its_item():
    lines = []
    done, failed = run_batch(range(8), _die_on_4, jobs=2, show_progress=False, report=lines.append)
    assert [i for i, _ in failed] == [4] and "worker process died" in failed[0][1]
    assert done == [(i, i + 100) for i in range(8) if i != 4]


def test_closures_work_with_local_processes():
    offset = 7
    done, failed = run_batch([1, 2, 3], lambda x: x + offset, jobs=2, show_progress=False)
    assert [r for _, r in done] == [8, 9, 10] and failed == []


def test_names_and_messages():
    assert item_name((Path("in/a.png"), Path("out/a.png"))) == "in/a.png"
    assert failure_message((Path("in/a.png"), 1), ValueError("in/a.png: cannot decode")) == "cannot decode"
    assert failure_message("x", KeyError("k")) == "missing key 'k'"
    for jobs, sched, match in [(0, None, "--jobs"), (-1, None, "--jobs"), (2, "local", "exclusive"), (1, "tcp://a b", "--scheduler"),
                               (1, "local:x", "local:N"), (1, "nan", "--scheduler"), (1, "tcp://", "--scheduler"),
                               (1, "host:99999", "--scheduler"), (1, "tcp://:8786", "--scheduler")]:
        with pytest.raises(ValueError, match=match):
            check_engine(jobs, sched)
    for ok in ("tcp://127.0.0.1:8786", "127.0.0.1:8786", "inproc://192.0.2.2/1/1", "tls://h:1", "local", "local:3"):
        check_engine(1, ok)


def test_scheduler_without_the_scale_extra(monkeypatch, capsys, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *a, **k):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(ImportError, match=r"\[scale\] extra: pip install 'nlvision\[scale\]'"):
        check_engine(1, "tcp://127.0.0.1:1")
    hf.small_png(tmp_path / "a.png")
    assert main(["noise", "estimate", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --scheduler needs the [scale] extra: pip install 'nlvision[scale]'"]


def _noisy_folder(folder: Path, n: int, size: int = 24) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(1)
    base = np.tile(np.linspace(40, 200, size), (size, 1))
    for i in range(n):
        img = np.clip(base + rng.normal(0, 15, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"img{i:03d}.png")
    return folder


def _add_hostile(folder: Path) -> list[str]:
    hf.png_bomb(folder / "zz_bomb.png", 20000, 20000, bits=16, channels=3)
    hf.truncated_copy(folder / "img000.png", folder / "zz_truncated.png")
    (folder / "zz_text.png").write_text("this is not an image\n")
    return ["zz_bomb.png", "zz_text.png", "zz_truncated.png"]


def _run_denoise(capsys, src: Path, out: Path, *extra: str):
    rc = main(["denoise", str(src), *out_args("denoise", str(out)), "--sigma", "15", "--json", "--max-pixels", "1e6", *extra])
    cap = capsys.readouterr()
    return rc, json.loads(cap.out), cap.err


@pytest.fixture(scope="module")
def lcluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


def _check_batch(tmp_path, capsys, n, engines):
    src = _noisy_folder(tmp_path / "in", n)
    bad = _add_hostile(src)
    outputs = {}
    for name, extra in engines:
        out = tmp_path / f"out_{name}"
        rc, summary, err = _run_denoise(capsys, src, out, *extra)
        assert rc == 1, err
        assert summary["done"] == n
        assert sorted(Path(f["input"]).name for f in summary["failed"]) == bad
        lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert sorted(lines) == sorted(ln for ln in lines)  # one line each ...
        assert len(lines) == 3 and all(": " in ln[7:] and "(" not in ln.split(":")[1] for ln in lines), lines
        assert "Traceback" not in err
        assert sorted(p.name for p in out.iterdir()) == [f"img{i:03d}.png" for i in range(n)]
        outputs[name] = {p.name: p.read_bytes() for p in out.iterdir()}
        for r in summary["results"]:
            r.pop("seconds")
            r.pop("output")
        outputs[name + "_json"] = summary["results"]
    first = engines[0][0]
    for name, _ in engines[1:]:
        assert outputs[name] == outputs[first]  # byte-identical images
        assert outputs[name + "_json"] == outputs[first + "_json"]


def test_batch_with_hostile_files_all_engines(tmp_path, capsys, lcluster):
    _check_batch(tmp_path, capsys, 12, [("serial", ()), ("jobs2", ("--jobs", "2")), ("dask", ("--scheduler", lcluster))])


def test_200_file_batch_with_hostile_files(tmp_path, capsys):
    """The issue's target: 200 good files + a bomb, a truncated file and a non-image; exit 1, serial and --jobs 2."""
    _check_batch(tmp_path, capsys, 200, [("serial", ()), ("jobs2", ("--jobs", "2"))])


def test_noise_estimate_engines_agree(tmp_path, capsys, lcluster):
    src = _noisy_folder(tmp_path / "in", 6)
    (src / "zz_bad.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    results = []
    for extra in ((), ("--jobs", "2"), ("--scheduler", lcluster)):
        assert main(["noise", "estimate", str(src), "--json", *extra]) == 1
        cap = capsys.readouterr()
        results.append(json.loads(cap.out))
        assert [ln for ln in cap.err.splitlines() if ln.startswith("error:")] == [
            f"error: {src / 'zz_bad.png'}: truncated PNG header (no IHDR chunk)"
        ]
    assert results[0] == results[1] == results[2]
    assert len(results[0]["results"]) == 6
