"""nlvision.atomic: umask-honouring modes, recognisable temporaries, cleanup on errors and signals.

Modes are compared with what ``open()`` itself creates under the same umask (the independent
reference); the SIGTERM test kills a real child process in the middle of a write.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nlvision import atomic
from nlvision.atomic import TEMP_PREFIX, atomic_open, atomic_path, clean_stale_temporaries, write_json_atomic

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _reference_mode(folder: Path) -> int:
    ref = folder / "reference-by-open"
    with open(ref, "w") as fh:
        fh.write("x")
    mode = ref.stat().st_mode & 0o777
    ref.unlink()
    return mode


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_new_files_get_the_umask_mode_like_open(tmp_path, mask):
    old = os.umask(mask)
    try:
        write_json_atomic(tmp_path / "a.json", {"a": 1})
        expected = _reference_mode(tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == expected == 0o666 & ~mask


def test_every_writer_of_the_package_honours_the_umask(tmp_path, umask022):
    from nlvision.imageio import save_image

    save_image(tmp_path / "a.png", np.zeros((4, 4)))
    save_image(tmp_path / "a.tif", np.zeros((4, 4)))
    with atomic_path(tmp_path / "w.npz") as tmp:
        np.savez(tmp, a=np.zeros(2))
    with atomic_open(tmp_path / "t.csv") as fh:
        fh.write("x\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    atomic.savefig_atomic(fig, tmp_path / "f.png")
    plt.close(fig)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
    assert modes == {n: "0o644" for n in ("a.png", "a.tif", "w.npz", "t.csv", "f.png")}


def test_replacing_keeps_the_existing_mode(tmp_path, umask022):
    p = tmp_path / "private.json"
    write_json_atomic(p, 1)
    os.chmod(p, 0o600)
    write_json_atomic(p, 2)
    assert p.read_text().strip() == "2" and p.stat().st_mode & 0o777 == 0o600


def test_temporary_name_and_cleanup_on_error(tmp_path):
    seen = {}
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out.png") as tmp:
            seen["name"] = tmp.name
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert seen["name"].startswith(TEMP_PREFIX) and seen["name"].endswith("-out.png")
    assert list(tmp_path.iterdir()) == []


def test_messages_name_out_not_the_temporary(tmp_path):
    out = tmp_path / "out.bin"
    with pytest.raises(OSError) as info:
        with atomic_path(out) as tmp:
            raise OSError(28, "No space left on device", str(tmp))
    assert str(out) in str(info.value) and TEMP_PREFIX not in str(info.value)
    with pytest.raises(ValueError) as info:
        with atomic_path(out) as tmp:
            raise ValueError(f"cannot encode {tmp}")
    assert str(info.value) == f"cannot encode {out}"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OSError) as info:
        write_json_atomic(tmp_path / "afile" / "sub" / "x.json", 1)
    assert str(info.value) == f"cannot write {tmp_path / 'afile' / 'sub' / 'x.json'}: {tmp_path / 'afile'} is not a folder"
    with pytest.raises(OSError) as info:
        write_json_atomic(tmp_path, 1)
    assert str(info.value) == f"{tmp_path}: is a folder, expected a file path"
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who ignores permissions (root)")
        with pytest.raises(OSError) as info:
            write_json_atomic(locked / "x.json", 1)
        assert "locked/x.json" in str(info.value) and TEMP_PREFIX not in str(info.value)
    finally:
        os.chmod(locked, 0o700)


def test_stale_temporaries_are_cleaned_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{TEMP_PREFIX}{atomic._HOST}-{dead.pid}-abcd-x.png"
    live = tmp_path / f"{TEMP_PREFIX}{atomic._HOST}-{os.getppid()}-abcd-y.png"
    other_host_old = tmp_path / f"{TEMP_PREFIX}ffff-1-abcd-z.png"
    other_host_new = tmp_path / f"{TEMP_PREFIX}fffe-1-abcd-w.png"
    for p in (stale, live, other_host_old, other_host_new):
        p.write_bytes(b"half")
    old = time.time() - 2 * atomic.STALE_SECONDS
    os.utime(other_host_old, (old, old))
    removed = clean_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted([stale.name, other_host_old.name])
    assert live.exists() and other_host_new.exists()
    # the next write into a folder cleans it once per process
    folder = tmp_path / "sub"
    folder.mkdir()
    s2 = folder / stale.name
    s2.write_bytes(b"half")
    write_json_atomic(folder / "a.json", 1)
    assert sorted(p.name for p in folder.iterdir()) == ["a.json"]


_CHILD = r"""
import sys, time
from nlvision.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"partial")
    print("WRITING", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_write_leaves_nothing(tmp_path, sig):
    env = dict(os.environ, PYTHONPATH=str(SRC))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "out.png")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert child.stdout.readline().strip() == b"WRITING"
    assert any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())
    child.send_signal(sig)
    rc = child.wait(timeout=30)
    assert rc != 0
    if sig == signal.SIGTERM:
        assert rc == -signal.SIGTERM  # the signal still takes its usual effect
    assert list(tmp_path.iterdir()) == []


def test_sigkill_leftover_is_ignored_then_cleaned(tmp_path):
    from nlvision.imageio import list_images, save_image

    env = dict(os.environ, PYTHONPATH=str(SRC))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "out.png")], stdout=subprocess.PIPE, env=env)
    assert child.stdout.readline().strip() == b"WRITING"
    child.kill()
    child.wait(timeout=30)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert len(leftovers) == 1  # nothing can run on SIGKILL ...
    save_image(tmp_path / "good.png", np.zeros((4, 4)))
    assert [p.name for p in list_images(tmp_path)] == ["good.png"]  # ... readers ignore it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.png"]  # ... and the next write removed it
