"""A catalogue of hostile inputs, generated over every command of the ``nlvision`` app (issue #14).

The commands and their argument shapes are discovered from the Typer app (names, positional
arguments, options, their Python types), not hard-coded, so the catalogue follows the CLI as it
changes (positional OUT today, ``-o/--out`` after issue #13). For each command a *baseline*
invocation is built from harmless values, then one slot at a time is replaced by a hostile value:

* image slots (IN, MASK, IMAGES, PLAIN, ...): corrupt, truncated, empty, wrong kind, bombs
  (16-bit RGB PNG, TIFF/JPEG/BMP headers declaring 20000x20000), float files outside [0, 1],
  NaN, odd modes, a malicious pickle, a folder, ``/dev/zero``, a missing file;
* model / checkpoint / data slots: malicious pickles, npz/npy/safetensors files whose declared
  shapes lie, JSON lists where objects are expected, folders with such metadata;
* output slots: below a regular file, equal to an input, an unknown extension, an empty name;
* numeric options: nan, inf, -inf, 1e308, -1, 0, text; text options: unknown values.

The contract checked for every case (:func:`run_case`): exit code 0, 1 (a batch with skips) or
2; with exit 2 exactly one line on stderr, starting with ``error:``; never a traceback; nothing
written when the command fails; and cases marked ``reject`` must not succeed. Each case runs
in-process (``nlvision.cli.main``) under a time limit.

Used by tests/test_bad_input.py and benchmarks/bad_input_campaign.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import struct
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files as hf  # noqa: E402

#: Verbs whose baseline runs long computations (training, benchmarks, reports).
HEAVY = ("train", "robustness", "study", "benchmark", "ladder", "demo", "src evaluate", "dictionary learn", "anomaly fit",
         "reid evaluate", "pose evaluate", "classify evaluate", "anomaly evaluate", "export", "ecg adapt", "ecg benchmark")

#: Known-valid values of required options (anything else gets "1").
REQUIRED_DEFAULTS = {"--scheme": "block_shuffle", "--database": "peid", "--sigma": "10"}

IMAGE_NAMES = {"in", "inp", "image", "images", "image_path", "plain", "encrypted", "query_image", "normal", "input",
               "mask", "mask_path", "img", "noisy", "clean", "files", "reference"}
OUTPUT_NAMES = {"out", "output", "out_dir", "outdir", "map", "map_out", "heatmaps", "masks", "o", "apply"}
MODEL_NAMES = {"checkpoint", "model", "dictionary", "weights", "init", "config", "ckpt"}
DATA_NAMES = {"data", "path", "val", "root", "dataset"}


class CaseTimeout(BaseException):
    """Raised by the alarm when a case runs past its time limit (BaseException: not swallowed)."""


@dataclass
class Slot:
    name: str  # parameter name
    kind: str  # image | output | model | data | int | float | str | flag | other
    positional: bool
    opt: str | None  # the option string for options
    required: bool
    multiple: bool
    default: Any = None


@dataclass
class Command:
    path: tuple[str, ...]
    slots: list[Slot]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def heavy(self) -> bool:
        return any(h in self.name for h in HEAVY)


@dataclass
class Case:
    command: Command
    slot: str
    value_id: str
    expect: str  # reject | either
    argv: Callable[["Workspace", Path], list[str]] = field(repr=False)

    @property
    def id(self) -> str:
        return f"{self.command.name.replace(' ', '-')}:{self.slot}={self.value_id}"


_TYPE_NAMES = {"int": int, "integer": int, "float": float, "bool": bool, "boolean": bool, "str": str, "text": str,
               "string": str, "path": Path, "Path": Path}


def _ptype(p: Any) -> Any:
    f = getattr(p, "bare_type", None)
    if callable(f):
        try:
            t = f()
        except Exception:
            t = None
        if isinstance(t, str):
            t = _TYPE_NAMES.get(t, _TYPE_NAMES.get(t.lower(), str))
        if t is not None:
            return t
    td = getattr(p, "type_descriptor", None)
    if td is not None and getattr(td, "annotation", None) is not None:
        return td.annotation
    t = getattr(p, "type", None)
    name = getattr(t, "name", "")
    return {"integer": int, "float": float, "boolean": bool, "path": Path}.get(name, str)


def _kind(name: str, ptype: Any, is_flag: bool) -> str:
    n = name.lower().lstrip("-").replace("-", "_")
    if is_flag or ptype is bool:
        return "flag"
    if n in OUTPUT_NAMES:
        return "output"
    if n in IMAGE_NAMES:
        return "image"
    if n in MODEL_NAMES:
        return "model"
    if n in DATA_NAMES:
        return "data"
    if ptype is int:
        return "int"
    if ptype is float:
        return "float"
    if ptype in (Path,) or getattr(ptype, "__name__", "") == "Path":
        return "data"
    return "str"


def discover_commands() -> list[Command]:
    """Every leaf command of the app with its slots (from the Typer/click objects)."""
    import typer

    from nlvision.cli import build_app

    root = typer.main.get_command(build_app())
    out: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):
            for n, sub in sorted(cmd.commands.items()):
                walk(sub, path + (n,))
            return
        slots = []
        for p in cmd.params:
            positional = p.param_type_name == "argument"
            opt = None if positional else sorted(p.opts, key=len)[-1]
            ptype = _ptype(p)
            is_flag = bool(getattr(p, "is_flag", False))
            name = p.name
            if positional and (p.metavar or "").lower() in OUTPUT_NAMES:
                name = p.metavar
            kind = _kind(name if positional else opt, ptype, is_flag)
            if kind == "data" and positional and name.lower() in ("path",):
                kind = "data"
            multiple = bool(getattr(p, "multiple", False)) or p.nargs == -1
            slots.append(Slot(p.name, kind, positional, opt, bool(p.required), multiple, p.default))
        out.append(Command(path, slots))

    walk(root, ())
    return out


def out_args(command: str, value: str) -> list[str]:
    """How ``command`` (e.g. "denoise") takes its output: ``["-o", value]`` after issue #13, else ``[value]``."""
    for cmd in discover_commands():
        if cmd.name == command:
            for slot in cmd.slots:
                if slot.kind == "output" and (slot.positional or slot.opt in ("-o", "--out")):
                    return [value] if slot.positional else ["-o" if slot.opt == "--out" else slot.opt, value]
    raise ValueError(f"{command}: no output slot")


class Workspace:
    """The hostile files, built once (a few MB in all)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        r = self.root / "inputs"
        r.mkdir(parents=True, exist_ok=True)
        self.dir = r
        from PIL import Image

        rng = np.random.default_rng(0)
        self.good = hf.small_png(r / "good.png", (48, 48))
        self.good2 = hf.small_png(r / "good2.png", (48, 48), seed=1)
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(r / "good_rgb.png")
        self.good_rgb = r / "good_rgb.png"
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(r / "good.jpg", quality=90)
        self.good_jpg = r / "good.jpg"
        import tifffile

        tifffile.imwrite(r / "good.tif", rng.integers(0, 65536, (48, 48), dtype=np.uint16))
        self.good_tif = r / "good.tif"
        self.empty_dir = r / "empty_folder"
        self.empty_dir.mkdir(exist_ok=True)
        self.a_file = r / "regular_file"
        self.a_file.write_text("x")
        f: dict[str, Path] = {}
        (r / "empty.png").write_bytes(b"")
        f["empty"] = r / "empty.png"
        (r / "text.png").write_text("this is not an image\n")
        f["text"] = r / "text.png"
        f["trunc_png"] = hf.truncated_copy(self.good, r / "trunc.png")
        f["trunc_jpg"] = hf.truncated_copy(self.good_jpg, r / "trunc.jpg")
        f["trunc_tif"] = hf.truncated_copy(self.good_tif, r / "trunc.tif", 0.3)
        f["png_bomb16"] = hf.png_bomb(r / "bomb16.png", 20000, 20000, bits=16, channels=3)
        f["png_bomb8"] = hf.png_bomb(r / "bomb8.png", 30000, 30000, bits=8, channels=1)
        f["tiff_header"] = hf.tiff_header_only(r / "huge.tif", 20000, 20000)
        jpg = bytearray(self.good_jpg.read_bytes())
        i = jpg.find(b"\xff\xc0")
        jpg[i + 5 : i + 9] = struct.pack(">HH", 60000, 60000)
        (r / "huge.jpg").write_bytes(bytes(jpg))
        f["jpeg_header"] = r / "huge.jpg"
        bmp = r / "huge.bmp"
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(bmp)
        b = bytearray(bmp.read_bytes())
        b[18:26] = struct.pack("<ii", 40000, 40000)
        bmp.write_bytes(bytes(b))
        f["bmp_header"] = bmp
        f["float255"] = hf.float_tiff(r / "float255.tif", rng.random((48, 48)) * 255)
        f["float_signed"] = hf.float_tiff(r / "float_signed.tif", rng.random((48, 48)) * 2 - 1)
        nan = rng.random((48, 48))
        nan[3, 4] = np.nan
        f["float_nan"] = hf.float_tiff(r / "nan.tif", nan)
        f["pickle_as_image"] = hf.malicious_pickle(r / "evil.png")
        f["npz_as_image"] = r / "array.png"
        np.savez(r / "array.npz", a=np.zeros(3))
        (r / "array.npz").rename(f["npz_as_image"])
        f["folder"] = self.empty_dir
        f["missing"] = r / "does_not_exist.png"
        f["dev_zero"] = Path("/dev/zero")
        f["stack_tif"] = r / "stack.tif"
        tifffile.imwrite(f["stack_tif"], rng.integers(0, 256, (7, 48, 48), dtype=np.uint8))
        f["five_channels"] = r / "five.tif"
        tifffile.imwrite(f["five_channels"], rng.integers(0, 256, (48, 48, 5), dtype=np.uint8), photometric="minisblack",
                         planarconfig="contig")
        self.bad_images = f
        # accepted-or-rejected kinds (odd but legal files)
        o: dict[str, Path] = {}
        o["tiny_1x1"] = hf.small_png(r / "tiny.png", (1, 1))
        o["rgba16"] = r / "rgba16.png"
        _write_png16(o["rgba16"], rng.integers(0, 65536, (48, 48, 4)).astype(np.uint16))
        Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).convert("P").save(r / "palette.png")
        o["palette"] = r / "palette.png"
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).convert("CMYK").save(r / "cmyk.jpg")
        o["cmyk_jpeg"] = r / "cmyk.jpg"
        Image.fromarray(rng.integers(0, 256, (48, 48, 2), dtype=np.uint8), "LA").save(r / "la.png")
        o["gray_alpha"] = r / "la.png"
        o["tif_as_png"] = r / "tiff_named.png"
        tifffile.imwrite(o["tif_as_png"], rng.integers(0, 256, (48, 48), dtype=np.uint8))
        o["wide_strip"] = hf.small_png(r / "strip.png", (2, 3000))
        self.odd_images = o
        # model / checkpoint / data files
        m: dict[str, Path] = {}
        (r / "empty.bin").write_bytes(b"")
        m["empty"] = r / "empty.bin"
        m["text"] = f["text"]
        m["pickle_pt"] = hf.malicious_pickle(r / "evil.pt")
        m["pickle_ckpt"] = hf.malicious_pickle(r / "evil.ckpt")
        m["pickle_npz"] = hf.malicious_pickle(r / "evil.npz")
        m["npz_lie"] = hf.npz_lie(r / "lie.npz")
        m["npz_object"] = hf.npz_object(r / "object.npz")
        m["npy_lie"] = hf.npy_lie(r / "lie.npy")
        m["safetensors_lie"] = hf.safetensors_lie(r / "lie.safetensors")
        (r / "list.json").write_text("[1, 2, 3]")
        m["json_list"] = r / "list.json"
        (r / "huge_shape.json").write_text(json.dumps({"shape": [1 << 20, 1 << 20], "n_atoms": 10**12, "patch_size": 10**6}))
        m["json_huge"] = r / "huge_shape.json"
        (r / "nan.json").write_text('{"alpha": NaN, "threshold": Infinity}')
        m["json_nan"] = r / "nan.json"
        m["image_as_model"] = self.good
        with zipfile.ZipFile(r / "trunc.zip", "w") as zf:
            zf.writestr("a.npy", b"\x93NUMPY" + bytes(100))
        (r / "trunc.npz").write_bytes((r / "trunc.zip").read_bytes()[:40])
        m["trunc_npz"] = r / "trunc.npz"
        m["folder_empty"] = self.empty_dir
        m["missing"] = r / "missing_model.safetensors"
        m["dev_zero"] = Path("/dev/zero")
        ck = r / "hostile_checkpoint"
        ck.mkdir(exist_ok=True)
        for name in ("config.json", "metadata.json", "meta.json", "hparams.json", "checkpoint.json", "model.json"):
            (ck / name).write_text("[]")
        for name in ("model.safetensors", "weights.safetensors", "last.safetensors"):
            hf.safetensors_lie(ck / name)
        hf.malicious_pickle(ck / "last.ckpt")
        m["folder_hostile"] = ck
        self.bad_models = m
        d: dict[str, Path] = {}
        d["empty_folder"] = self.empty_dir
        d["missing"] = r / "missing_data"
        d["regular_file"] = f["text"]
        d["dev_zero"] = Path("/dev/zero")
        cif = r / "cifar-10-batches-py"
        cif.mkdir(exist_ok=True)
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
            hf.malicious_pickle(cif / name)
        d["cifar_pickles"] = cif
        bomb_dir = r / "bomb_folder"
        bomb_dir.mkdir(exist_ok=True)
        hf.png_bomb(bomb_dir / "bomb.png", 20000, 20000)
        d["bomb_folder"] = bomb_dir
        self.bad_data = d
        self.snapshot_roots = [self.dir]
        self._pristine: dict[Path, tuple[tuple[int, int], bytes]] = {}
        for dirpath, _dirs, files in os.walk(self.dir):
            for name in files:
                p = Path(dirpath) / name
                st = p.stat()
                self._pristine[p] = ((st.st_size, st.st_mtime_ns), p.read_bytes())

    def restore(self) -> list[str]:
        """Re-write the inputs a case overwrote or removed (an accepted OUT == IN); returns their names."""
        changed = []
        for p, (stamp, data) in self._pristine.items():
            try:
                st = p.stat()
                same = (st.st_size, st.st_mtime_ns) == stamp
            except OSError:
                same = False
            if not same:
                changed.append(p.name)
                p.write_bytes(data)
                st = p.stat()
                self._pristine[p] = ((st.st_size, st.st_mtime_ns), data)
        return changed


def _write_png16(path: Path, arr: np.ndarray) -> None:
    import zlib

    h = arr.shape[0]
    ctype = {3: 2, 4: 6}[arr.shape[2]]
    raw = b"".join(b"\x00" + arr[i].astype(">u2").tobytes() for i in range(h))
    ihdr = struct.pack(">IIBBBBB", arr.shape[1], h, 16, ctype, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + hf._chunk(b"IHDR", ihdr) + hf._chunk(b"IDAT", zlib.compress(raw)) + hf._chunk(b"IEND", b""))


# ---------------------------------------------------------------- case generation

NUMERIC_REJECT = {"nan": "nan", "inf": "inf"}
NUMERIC_EITHER = {"huge": "1e308", "minus1": "-1"}
STR_EITHER = {"unknown": "no-such-value", "empty": ""}


def _baseline_value(slot: Slot, ws: Workspace, outdir: Path) -> list[str] | None:
    """argv pieces for a harmless value of ``slot`` (None: leave the option out)."""
    if slot.kind == "output":
        target = outdir / ("out.png" if slot.positional else "out_" + slot.name)
        if slot.opt in ("-o", "--out") and not slot.positional and slot.name not in ("out",):
            target = outdir / "out"
        value = str(target) if not slot.positional else str(outdir / "out.png")
    elif slot.kind == "image":
        value = str(ws.good2 if slot.name in ("encrypted", "mask", "mask_path") else ws.good)
    elif slot.required and slot.opt in REQUIRED_DEFAULTS:
        value = REQUIRED_DEFAULTS[slot.opt]
    elif slot.required and slot.kind in ("model", "data"):
        value = str(ws.empty_dir)
    elif slot.required:
        value = "1"
    else:
        return None
    if slot.kind == "output" and not slot.required and not slot.positional:
        return None  # optional outputs stay off in the baseline (they are hostile slots themselves)
    return [value] if slot.positional else [slot.opt, value]


def _argv_builder(cmd: Command, target: Slot, value: Callable[[Workspace, Path], str]) -> Callable[[Workspace, Path], list[str]]:
    def build(ws: Workspace, outdir: Path) -> list[str]:
        argv = list(cmd.path)
        positional: list[str] = []
        options: list[str] = []
        for s in cmd.slots:
            if s is target:
                v = value(ws, outdir)
                if s.positional:
                    positional.append(v)
                else:
                    options += [s.opt, v]
                continue
            piece = _baseline_value(s, ws, outdir)
            if piece is None:
                continue
            (positional if s.positional else options).extend(piece)
        return argv + positional + options

    return build


def generate_cases(commands: list[Command] | None = None) -> list[Case]:
    """Every (command, slot, hostile value) case."""
    commands = discover_commands() if commands is None else commands
    cases: list[Case] = []
    image_bad = ["empty", "text", "trunc_png", "trunc_jpg", "trunc_tif", "png_bomb16", "png_bomb8", "tiff_header", "jpeg_header",
                 "bmp_header", "float255", "float_signed", "float_nan", "pickle_as_image", "npz_as_image", "folder", "missing",
                 "dev_zero", "stack_tif", "five_channels"]
    image_odd = ["tiny_1x1", "rgba16", "palette", "cmyk_jpeg", "gray_alpha", "tif_as_png", "wide_strip"]
    model_bad = ["empty", "text", "pickle_pt", "pickle_ckpt", "pickle_npz", "npz_lie", "npz_object", "npy_lie", "safetensors_lie",
                 "json_list", "json_huge", "json_nan", "image_as_model", "trunc_npz", "folder_empty", "missing", "dev_zero",
                 "folder_hostile"]
    data_bad = ["empty_folder", "missing", "regular_file", "dev_zero", "cifar_pickles", "bomb_folder"]
    for cmd in commands:
        inputs = [s for s in cmd.slots if s.kind == "image"]
        for slot in cmd.slots:
            def add(value_id: str, expect: str, fn: Callable[[Workspace, Path], str], slot: Slot = slot) -> None:
                cases.append(Case(cmd, slot.name, value_id, expect, _argv_builder(cmd, slot, fn)))

            if slot.kind == "image":
                for k in image_bad:
                    add(k, "reject", lambda ws, o, k=k: str(ws.bad_images[k]))
                for k in image_odd:
                    add(k, "either", lambda ws, o, k=k: str(ws.odd_images[k]))
            elif slot.kind == "model":
                for k in model_bad:
                    add(k, "reject", lambda ws, o, k=k: str(ws.bad_models[k]))
            elif slot.kind == "data":
                for k in data_bad:
                    add(k, "either" if k in ("empty_folder",) else "reject", lambda ws, o, k=k: str(ws.bad_data[k]))
            elif slot.kind == "output":
                add("below_a_file", "reject", lambda ws, o: str(ws.a_file / "sub" / "out.png"))
                add("empty_name", "either", lambda ws, o: "")  # "" is "." for a folder output
                add("existing_folder", "either", lambda ws, o: str(o))
                add("unknown_ext", "either", lambda ws, o: str(o / "out.xyz"))
                if inputs:
                    add("equals_input", "reject", lambda ws, o: str(ws.good))
            elif slot.kind in ("int", "float"):
                for k, v in NUMERIC_REJECT.items():
                    add(k, "reject", lambda ws, o, v=v: v)
                for k, v in NUMERIC_EITHER.items():
                    add(k, "either", lambda ws, o, v=v: v)
            elif slot.kind == "str":
                for k, v in STR_EITHER.items():
                    add(k, "either", lambda ws, o, v=v: v)
    return cases


# ---------------------------------------------------------------- running one case


def _snapshot(roots: list[Path]) -> dict[str, tuple[int, int]]:
    snap = {}
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files + _dirs:
                p = os.path.join(dirpath, name)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                snap[p] = (st.st_size, st.st_mtime_ns) if name in files else (-1, 0)
    return snap


@dataclass
class Outcome:
    case_id: str
    ok: bool
    rc: int | None
    reason: str
    seconds: float
    stderr: str = ""


_APP_CACHE: dict[str, Any] = {}


def warm_imports() -> None:
    """Import every nlvision module and the heavy libraries once, outside any case's time limit.

    A time limit that fires in the middle of a first ``import torch`` would leave a half-initialised
    module behind for every later case (and a loaded machine can take more than 10 s to import it).
    """
    import importlib
    import pkgutil

    import nlvision

    for mod in ("torch", "torch._dynamo", "lightning.pytorch", "pytorch_lightning", "safetensors.torch", "scipy.ndimage",
                "skimage.metrics", "sklearn.linear_model", "tifffile", "cv2", "matplotlib.pyplot", "pywt"):
        try:
            importlib.import_module(mod)
        except Exception:
            pass
    for info in pkgutil.walk_packages(nlvision.__path__, "nlvision."):
        if info.name.endswith("__main__"):
            continue  # importing it would run the CLI
        try:
            importlib.import_module(info.name)
        except Exception:
            pass


def prepare() -> None:
    """Warm the imports and build the app once; call outside any time limit."""
    import typer

    import nlvision.cli as cli

    if "command" not in _APP_CACHE:
        warm_imports()
        app = cli.build_app()
        _APP_CACHE["command"] = typer.main.get_command(app)
        _APP_CACHE["app"] = app


@contextlib.contextmanager
def _cached_app():
    """Reuse the app and its click command (typer's get_command costs ~50 ms a call)."""
    import typer

    import nlvision.cli as cli

    prepare()
    original_build, original_get = cli.build_app, typer.main.get_command
    cli.build_app = lambda: _APP_CACHE["app"]
    typer.main.get_command = lambda app: _APP_CACHE["command"] if app is _APP_CACHE["app"] else original_get(app)
    try:
        yield
    finally:
        cli.build_app, typer.main.get_command = original_build, original_get


def run_argv(argv: list[str], workdir: Path) -> tuple[int, str, str]:
    """Run the app on ``argv`` in ``workdir`` (no time limit): (exit code, stdout, stderr)."""
    from nlvision.cli import main

    prepare()
    out_buf, err_buf = io.StringIO(), io.StringIO()
    old_cwd = os.getcwd()
    try:
        os.chdir(workdir)
        with contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf), _cached_app():
            rc = main(argv)
    finally:
        os.chdir(old_cwd)
    return rc, out_buf.getvalue(), err_buf.getvalue()


def run_case(case: Case, ws: Workspace, workdir: Path, *, timeout: float = 20.0) -> Outcome:
    """Run one case in-process and check the contract."""
    from nlvision import imageio, limits
    from nlvision.cli import main

    outdir = workdir / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    argv = case.argv(ws, outdir)
    roots = ws.snapshot_roots + [workdir]
    before = _snapshot(roots)
    out_buf, err_buf = io.StringIO(), io.StringIO()
    rc: int | None = None
    crash = ""

    def on_alarm(signum, frame):
        raise CaseTimeout()

    prepare()

    old_cwd = os.getcwd()
    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.perf_counter()
    try:
        os.chdir(workdir)
        with contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf), _cached_app():
            rc = main(argv)
    except CaseTimeout:
        crash = f"timeout after {timeout:g} s (the hostile value was accepted and the computation ran)"
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # a traceback in a real run
        crash = f"uncaught {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(old_cwd)
        limits.set_max_pixels(None)
        imageio.set_default_range(None)
    seconds = time.perf_counter() - start
    err = err_buf.getvalue()
    overwritten = ws.restore()
    if overwritten:
        return Outcome(case.id, False, rc, f"overwrote its input {', '.join(overwritten)}", seconds, err[-500:])
    marker = list(ws.dir.glob("*.PWNED")) + list(ws.bad_models["folder_hostile"].glob("*.PWNED"))
    if marker:
        for m in marker:
            m.unlink()
        return Outcome(case.id, False, rc, "unpickled a malicious file", seconds)
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    error_lines = [ln for ln in lines if ln.startswith("error:")]
    if crash and case.expect == "either" and crash.startswith("timeout") and "Traceback" not in err:
        return Outcome(case.id, True, rc, "accepted (ran past the time limit)", seconds)
    if crash:
        return Outcome(case.id, False, rc, crash, seconds, err[-500:])
    if "Traceback" in err:
        return Outcome(case.id, False, rc, "traceback on stderr", seconds, err[-500:])
    if rc not in (0, 1, 2):
        return Outcome(case.id, False, rc, f"exit code {rc}", seconds, err[-500:])
    if rc == 0:
        if case.expect == "reject":
            return Outcome(case.id, False, rc, "accepted a hostile value (exit 0)", seconds, err[-500:])
        return Outcome(case.id, True, rc, "accepted", seconds)
    if rc == 2 and (len(error_lines) != 1 or len(lines) != 1):
        return Outcome(case.id, False, rc, f"exit 2 with {len(lines)} stderr line(s), {len(error_lines)} 'error:' line(s)", seconds,
                       err[-500:])
    if rc == 1 and not error_lines:
        return Outcome(case.id, False, rc, "exit 1 without an 'error:' line", seconds, err[-500:])
    if rc == 2:
        after = _snapshot(roots)
        changed = sorted(p for p in after if p not in before or (after[p] != before[p] and after[p][0] >= 0))
        changed = [p for p in changed if p != str(outdir)]
        if changed:
            return Outcome(case.id, False, rc, f"wrote despite the error: {', '.join(os.path.relpath(p, workdir) for p in changed[:3])}",
                           seconds, err[-500:])
    return Outcome(case.id, True, rc, "rejected" if rc == 2 else "batch with skips", seconds)
