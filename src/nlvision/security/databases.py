"""Readers for the public encrypted-image databases, batch scoring and Table 1/2 evaluation.

Nothing is downloaded: a user who has the databases points the readers at their folders. The
layouts below are those of the public distributions (sources in ``docs/security.md``).

PEID (Guo, Xiang, Li, Yang, IEEE TIFS 2019)
    ``PEID/data.mat`` holds one MATLAB **struct** ``data``: ``data.textdata`` is a cell array
    whose column 1 is the reference file name and column 2 the encrypted file name (1,100 rows,
    20 of them reference–reference rows), ``data.mos.VS`` the visual-security MOS and
    ``data.mos.IQ`` the image-quality MOS. Encrypted images are
    ``PEID/encimg/<content>_<NN>_<level>.{j2k,jpg,bmp}`` (``NN`` = 01…10 the scheme; several
    schemes are JPEG 2000 codestreams), references ``PEID/refimg/<content>.bmp``.

IVC-SelectEncrypt (Stütz, Pankajakshan, Autrusseau, Uhl, Hofbauer, ACM MM&Sec 2010)
    ``SelectiveEncryption/images/<ref>-<level>-<type>.pgm`` with level ∈ {001, 007, 014, 021,
    029} and type ∈ {trad, trunc, iwind_ec, iwind_nec}, plus ``<ref>-res-<k>.pgm`` (k = 0…4)
    and references ``<ref>.pgm``; scores in ``SubjAndObjScoresTransparentEncryption.xls``
    (legacy Excel, read with pandas + xlrd: the ``[security]`` extra) or the user's CSV export
    of it. macOS ``__MACOSX/`` debris is ignored.

Generic CSV
    Columns ``plain, encrypted, mos[, type]`` (paths relative to the CSV's folder).

Every image path must resolve inside the database folder (``..`` or absolute names that leave
it are refused).
"""

from __future__ import annotations

import csv
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlvision._paths import resolves_inside
from nlvision._extras import require_extra
from nlvision.security.vsi import VSIConfig

__all__ = [
    "Record",
    "DATABASES",
    "PEID_TYPES",
    "IVC_TYPES",
    "read_peid",
    "read_ivc",
    "read_pairs_csv",
    "read_database",
    "load_database_image",
    "evaluate_database",
    "score_pairs",
    "sweep_parameters",
]

DATABASES = ("peid", "ivc")
#: Table 2 rows of PEID (scheme number NN of ``<content>_<NN>_<level>``).
PEID_TYPES = tuple(f"enc{k:02d}" for k in range(1, 11))
#: Table 2 rows of IVC-SelectEncrypt.
IVC_TYPES = ("trad", "trunc", "iwind_ec", "iwind_nec", "res")
#: Environment variable holding the largest image (pixels) a reader decodes.
MAX_PIXELS_ENV = "NLVISION_MAX_PIXELS"
_DEFAULT_MAX_PIXELS = 100_000_000
_IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".j2k", ".jp2", ".j2c")


@dataclass(frozen=True)
class Record:
    """One (plain, encrypted, subjective score) entry of a database.

    Parameters
    ----------
    reference : Path
        Plain (reference) image file.
    encrypted : Path
        Encrypted image file.
    score : float
        Subjective score (MOS) of the encrypted image.
    kind : str
        Encryption type (Table 2 row): ``enc01``…``enc10`` for PEID, ``trad``, ``trunc``,
        ``iwind_ec``, ``iwind_nec``, ``res`` for IVC, a CSV's ``type`` column or ``"all"``.

    Examples
    --------
    >>> Record(Path("a.bmp"), Path("a_09_1.bmp"), 0.2, "enc09").kind
    'enc09'
    """

    reference: Path
    encrypted: Path
    score: float
    kind: str


# ----------------------------------------------------------------------------- helpers


def _max_pixels() -> int:
    raw = os.environ.get(MAX_PIXELS_ENV, "")
    try:
        return int(raw) if raw else _DEFAULT_MAX_PIXELS
    except ValueError:
        raise ValueError(f"{MAX_PIXELS_ENV}: expected an integer pixel count, got {raw!r}") from None


def _inside(root: Path, name: str, what: str) -> Path:
    """``root / name`` resolved; refuse names that leave ``root``."""
    rel = str(name).replace("\\", "/").strip()
    candidate = (root / rel).resolve()
    if rel.startswith("/") or not resolves_inside(candidate, root):
        raise ValueError(f"{what}: path {name!r} resolves outside the data folder {root}")
    return candidate


def _is_debris(p: Path) -> bool:
    return "__MACOSX" in p.parts or p.name.startswith("._")


def _j2k_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) declared by a JPEG 2000 codestream's SIZ marker (or a JP2 box's ihdr)."""
    if data[:4] == b"\xff\x4f\xff\x51" and len(data) >= 24:
        xsiz, ysiz, xo, yo = (int.from_bytes(data[8 + 4 * i : 12 + 4 * i], "big") for i in range(4))
        return ysiz - yo, xsiz - xo
    k = data.find(b"ihdr")
    if k >= 0 and len(data) >= k + 12:
        return int.from_bytes(data[k + 4 : k + 8], "big"), int.from_bytes(data[k + 8 : k + 12], "big")
    return None


def load_database_image(path: str | Path) -> np.ndarray:
    """Read one database image as a gray float64 array in [0, 1] (JPEG 2000 included).

    ``.j2k``/``.jp2``/``.j2c`` files are decoded with ``imagecodecs.jpeg2k_decode`` (OpenJPEG),
    the ``[security]`` extra; the declared size is checked against ``NLVISION_MAX_PIXELS``
    (default 10^8) before decoding. Other formats go through :func:`nlvision.imageio.load_image`.

    Parameters
    ----------
    path : str or Path
        Image file.

    Returns
    -------
    ndarray (H, W)
        Luminance in [0, 1] (integer codestreams are divided by their bit depth's maximum).

    Raises
    ------
    ValueError
        Missing, undecodable or oversized file.
    ImportError
        A JPEG 2000 file without imagecodecs installed (one line naming the extra).

    References
    ----------
    PEID stores schemes 01, 03, 04, 05 and 06 as JPEG 2000 codestreams (``.j2k``).

    Examples
    --------
    >>> load_database_image("missing.j2k")
    Traceback (most recent call last):
    ...
    ValueError: missing.j2k: no such file
    """
    from nlvision.imageio import load_image, to_gray, validate_image

    p = Path(path)
    if p.suffix.lower() not in (".j2k", ".jp2", ".j2c"):
        img = load_image(p, as_gray=True)
    else:
        if not p.is_file():
            raise ValueError(f"{p}: no such file")
        data = p.read_bytes()
        size = _j2k_size(data)
        if size is None:
            raise ValueError(f"{p}: not a JPEG 2000 codestream (no SIZ marker)")
        if size[0] * size[1] > _max_pixels():
            raise ValueError(f"{p}: declares {size[0]}x{size[1]} pixels, above the limit of {_max_pixels()} ({MAX_PIXELS_ENV})")
        require_extra("imagecodecs", what="reading JPEG 2000 (.j2k) images")
        import imagecodecs
        try:
            raw = np.asarray(imagecodecs.jpeg2k_decode(data))
        except Exception as exc:
            raise ValueError(f"{p}: cannot decode JPEG 2000 ({type(exc).__name__}: {exc})") from None
        if raw.dtype.kind in "ui" and raw.dtype.itemsize > 1:
            bits = max(int(raw.max()).bit_length(), 8)
            img = raw.astype(np.float64) / float((1 << (16 if bits > 8 else 8)) - 1)
        else:
            img = validate_image(raw, str(p))
            if raw.dtype.kind in "ui":
                img = raw.astype(np.float64) / 255.0
        if img.ndim == 3:
            img = to_gray(img[..., :3] if img.shape[2] >= 3 else img[..., 0])
    if img.size > _max_pixels():
        raise ValueError(f"{p}: {img.shape[0]}x{img.shape[1]} pixels, above the limit of {_max_pixels()} ({MAX_PIXELS_ENV})")
    return np.clip(img, 0.0, 1.0)


# ----------------------------------------------------------------------------- MATLAB struct access


def _field(obj, name: str):
    """Field ``name`` of a MATLAB struct as scipy.io returns it (any loadmat option)."""
    if isinstance(obj, dict):
        return obj[name] if name in obj else None
    if isinstance(obj, np.ndarray) and obj.dtype.names:  # struct_as_record=True
        if name not in obj.dtype.names:
            return None
        v = obj[name]
        while isinstance(v, np.ndarray) and v.dtype == object and v.size == 1:
            v = v.ravel()[0]
        return v
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.size == 1:
        return _field(obj.ravel()[0], name)
    names = getattr(obj, "_fieldnames", None)  # struct_as_record=False: mat_struct
    if names is not None:
        return getattr(obj, name) if name in names else None
    return None


def _fields(obj) -> list[str]:
    if isinstance(obj, dict):
        return sorted(obj)
    if isinstance(obj, np.ndarray) and obj.dtype.names:
        return list(obj.dtype.names)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.size == 1:
        return _fields(obj.ravel()[0])
    return list(getattr(obj, "_fieldnames", []) or [])


def _cell_str(v) -> str:
    while isinstance(v, (np.ndarray, list)) and len(v) == 1 and not isinstance(v, str):
        v = v[0] if isinstance(v, list) else v.ravel()[0]
    if isinstance(v, np.ndarray):
        if v.size == 0:
            return ""
        return "".join(v.astype(str).ravel().tolist()) if v.dtype.kind in "UOS" else str(v)
    return "" if v is None else str(v).strip()


def _cell_table(value, what: str) -> list[list[str]]:
    """A 2-D MATLAB cell array of strings as rows of str."""
    if isinstance(value, list):
        rows = value
        if rows and not isinstance(rows[0], (list, np.ndarray)):
            raise ValueError(f"{what}: expected a 2-column cell array of file names")
        return [[_cell_str(c) for c in (r.tolist() if isinstance(r, np.ndarray) else r)] for r in rows]
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 1 and arr.size == 2 and all(isinstance(v, str) for v in arr):
        arr = arr[None, :]  # a single row, squeezed by loadmat
    if arr.ndim != 2:
        raise ValueError(f"{what}: expected a 2-column cell array of file names, got shape {arr.shape}")
    return [[_cell_str(c) for c in row] for row in arr]


def _vector(value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a numeric vector") from None
    return arr


_PEID_NAME = re.compile(r"^(?P<content>.+)_(?P<nn>\d{2})_(?P<level>\d+)$")


def read_peid(path: str | Path, score: str = "VS", *, include_references: bool = False, skip_missing: bool = False) -> list[Record]:
    """Read PEID from its public layout (``data.mat`` struct, ``refimg/``, ``encimg/``).

    Parameters
    ----------
    path : str or Path
        The ``PEID`` folder (holding ``data.mat``) or the ``data.mat`` file itself.
    score : {"VS", "IQ"}
        Which MOS of ``data.mos`` to use: visual security (default) or image quality.
    include_references : bool
        Keep the 20 reference–reference rows (type ``"reference"``); the paper's 1080 encrypted
        images are the rows without them (default).
    skip_missing : bool
        Drop entries whose image file is missing (reported on stderr) instead of failing.

    Returns
    -------
    list of Record
        One per row, typed ``enc01``…``enc10`` from ``<content>_<NN>_<level>``.

    Raises
    ------
    ValueError
        No ``data.mat``, not a MATLAB file, no ``data`` struct / ``textdata`` / ``mos.<score>``,
        lengths that differ, a name resolving outside the folder, a missing image (unless
        ``skip_missing``).

    References
    ----------
    S. Guo, T. Xiang, X. Li, Y. Yang, "PEID: a perceptually encrypted image database for visual
    security evaluation", IEEE TIFS 2019 (seed 004, ref. [10]).

    Examples
    --------
    >>> read_peid("no/such/folder")
    Traceback (most recent call last):
    ...
    ValueError: no/such/folder/data.mat: no such file (expected the PEID data.mat)
    """
    from scipy.io import loadmat

    root = Path(path)
    mat_path = root if root.suffix.lower() == ".mat" else root / "data.mat"
    if not mat_path.is_file():
        raise ValueError(f"{mat_path}: no such file (expected the PEID data.mat)")
    root = mat_path.parent
    key = str(score).upper()
    if key not in ("VS", "IQ"):
        raise ValueError(f"score: unknown PEID score {score!r}; valid: VS, IQ")
    try:
        mat = loadmat(mat_path, simplify_cells=True)
    except Exception as exc:
        raise ValueError(f"{mat_path}: cannot read MATLAB file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    data = mat.get("data")
    if data is None:
        found = ", ".join(sorted(k for k in mat if not k.startswith("__"))) or "none"
        raise ValueError(f"{mat_path}: no struct 'data' (found variables: {found}); expected data.textdata and data.mos.VS")
    textdata = _field(data, "textdata")
    mos = _field(data, "mos")
    if textdata is None or mos is None:
        raise ValueError(f"{mat_path}: struct 'data' lacks {'textdata' if textdata is None else 'mos'} (fields: {', '.join(_fields(data)) or 'none'})")
    values = _field(mos, key)
    if values is None:
        raise ValueError(f"{mat_path}: data.mos has no field {key!r} (fields: {', '.join(_fields(mos)) or 'none'})")
    rows = _cell_table(textdata, f"{mat_path}: data.textdata")
    y = _vector(values, f"{mat_path}: data.mos.{key}")
    if rows and len(rows) == y.size + 1 and Path(rows[0][0]).suffix.lower() not in _IMAGE_SUFFIXES:
        rows = rows[1:]  # a header row
    if len(rows) != y.size:
        raise ValueError(f"{mat_path}: data.textdata has {len(rows)} rows but data.mos.{key} has {y.size} scores")
    if any(len(r) < 2 for r in rows):
        raise ValueError(f"{mat_path}: data.textdata needs 2 columns (reference name, encrypted name)")
    records, missing = [], []
    for i, (row, s) in enumerate(zip(rows, y)):
        ref_name, enc_name = row[0], row[1]
        m = _PEID_NAME.match(Path(enc_name).stem)
        if m is None:
            kind = "reference"
            if not include_references:
                continue
        else:
            kind = f"enc{m.group('nn')}"
        if not np.isfinite(s):
            raise ValueError(f"{mat_path}: data.mos.{key}[{i}] is not a finite number")
        rp = _inside(root, f"refimg/{ref_name}", f"{mat_path}: row {i + 1}")
        ep = _inside(root, f"{'encimg' if kind != 'reference' else 'refimg'}/{enc_name}", f"{mat_path}: row {i + 1}")
        if kind == "reference" and not ep.is_file():
            ep = _inside(root, f"encimg/{enc_name}", f"{mat_path}: row {i + 1}")
        absent = [p for p in (rp, ep) if not p.is_file()]
        if absent:
            missing.append(absent[0])
            continue
        records.append(Record(rp, ep, float(s), kind))
    if missing:
        msg = f"{root}: {len(missing)} image(s) listed in data.mat are missing, first: {missing[0].relative_to(root.resolve())}"
        if not skip_missing:
            raise ValueError(msg + " (skip them with --skip-missing)")
        print(f"warning: {msg}; skipped", file=sys.stderr)
    if not records:
        raise ValueError(f"{mat_path}: no usable entries")
    return records


# ----------------------------------------------------------------------------- IVC-SelectEncrypt

_IVC_NAME = re.compile(
    r"^(?P<ref>.+?)-(?:(?P<level>\d{3})-(?P<kind>trad|trunc|iwind_ec|iwind_nec)|res-(?P<k>\d+))$", flags=re.IGNORECASE
)
IVC_SCORES_FILE = "SubjAndObjScoresTransparentEncryption.xls"


def _read_table(path: Path) -> list[dict]:
    """Rows of an .xls/.xlsx (pandas) or .csv file as dicts of str -> cell, header detected."""
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlsx"):
        require_extra("pandas", what="reading .xls score files")
        import pandas as pd

        if suffix == ".xls":
            require_extra("xlrd", what="reading .xls score files")
        try:
            frame = pd.read_excel(path, header=None, engine="xlrd" if suffix == ".xls" else None)
        except ImportError:
            raise ImportError("reading .xls score files needs the [security] extra (xlrd): pip install 'nlvision[security]'") from None
        except Exception as exc:
            raise ValueError(f"{path}: cannot read spreadsheet ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
        grid = [["" if (isinstance(v, float) and math.isnan(v)) else v for v in row] for row in frame.itertuples(index=False)]
    else:
        try:
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
        grid = [row for row in csv.reader(text.splitlines(), dialect) if any(c.strip() for c in row)]
    for h, row in enumerate(grid[:20]):  # header: the first row with a cell mentioning MOS
        if any(re.search(r"\bmos\b", str(c), flags=re.IGNORECASE) for c in row):
            header = [str(c).strip() for c in row]
            return [dict(zip(header, r)) for r in grid[h + 1 :]]
    cols = ", ".join(str(c) for c in (grid[0] if grid else []))
    raise ValueError(f"{path}: no 'MOS' column in the first rows (first row: {cols or 'empty'}); expected an image-name column and a MOS column")


def _name_column(rows: list[dict], path: Path) -> str:
    best, hits = None, 0
    for col in rows[0] if rows else {}:
        n = sum(bool(_IVC_NAME.match(Path(str(r.get(col, ""))).stem)) for r in rows)
        if n > hits:
            best, hits = col, n
    if best is None:
        raise ValueError(f"{path}: no column of image names like <ref>-<level>-<type>.pgm (columns: {', '.join(map(str, rows[0])) if rows else 'none'})")
    return best


def read_ivc(path: str | Path, scores: str | Path | None = None) -> list[Record]:
    """Read IVC-SelectEncrypt from its public layout (PGM images + the .xls score sheet).

    Parameters
    ----------
    path : str or Path
        The unpacked archive's folder (``SelectiveEncryption/`` or its parent); images are
        indexed wherever they lie below it, ``__MACOSX/`` debris excluded.
    scores : str or Path, optional
        Score file: ``SubjAndObjScoresTransparentEncryption.xls`` (found under ``path`` by
        default) or a CSV export of it. The header row is the first row with a cell ``MOS``;
        the image-name column is the one whose cells are named ``<ref>-<level>-<type>``.

    Returns
    -------
    list of Record
        Typed ``trad``, ``trunc``, ``iwind_ec``, ``iwind_nec`` or ``res``.

    Raises
    ------
    ValueError
        Missing folder or score file, a sheet without the expected columns, non-numeric MOS,
        an image outside the folder or missing.
    ImportError
        An .xls file without pandas/xlrd (one line naming the ``[security]`` extra).

    References
    ----------
    T. Stütz, V. Pankajakshan, F. Autrusseau, A. Uhl, H. Hofbauer, "Subjective and objective
    quality assessment of transparently encrypted JPEG2000 images", ACM MM&Sec 2010 (seed 004,
    ref. [14]).

    Examples
    --------
    >>> read_ivc("no/such/folder")
    Traceback (most recent call last):
    ...
    ValueError: no/such/folder: not a folder (expected the IVC-SelectEncrypt folder)
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder (expected the IVC-SelectEncrypt folder)")
    if scores is None:
        cands = sorted(p for p in root.rglob("*") if p.is_file() and not _is_debris(p) and p.suffix.lower() in (".xls", ".xlsx", ".csv"))
        named = [p for p in cands if p.name.lower() == IVC_SCORES_FILE.lower()]
        if named:
            score_path = named[0]
        elif len(cands) == 1:
            score_path = cands[0]
        else:
            raise ValueError(f"{root}: expected {IVC_SCORES_FILE} (or one CSV export of it), found {len(cands)} score files")
    else:
        score_path = Path(scores)
        if not score_path.is_file():
            raise ValueError(f"{score_path}: no such file (expected the IVC score sheet)")
    images = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix.lower() == ".pgm" and not _is_debris(p):
            images.setdefault(p.stem.lower(), p)
    rows = _read_table(score_path)
    if not rows:
        raise ValueError(f"{score_path}: no data rows")
    name_col = _name_column(rows, score_path)
    mos_cols = [c for c in rows[0] if re.search(r"\bmos\b", str(c), flags=re.IGNORECASE)]
    mos_col = next((c for c in mos_cols if str(c).strip().upper() == "MOS"), mos_cols[0])
    records = []
    for n, row in enumerate(rows, 1):
        name = str(row.get(name_col, "")).strip()
        m = _IVC_NAME.match(Path(name).stem)
        if m is None:
            continue  # reference rows, blank lines, notes
        try:
            value = float(row.get(mos_col, ""))
        except (TypeError, ValueError):
            raise ValueError(f"{score_path}: row {n}: MOS {row.get(mos_col)!r} of {name} is not a number") from None
        if not math.isfinite(value):
            continue
        stem = Path(name).stem
        _inside(root, stem + ".pgm", f"{score_path}: row {n}")
        ep = images.get(stem.lower())
        rp = images.get(m.group("ref").lower())
        if ep is None or rp is None:
            raise ValueError(f"{score_path}: row {n}: image {(stem if ep is None else m.group('ref')) + '.pgm'!r} not found under {root}")
        kind = "res" if m.group("k") is not None else m.group("kind").lower()
        records.append(Record(rp, ep, value, kind))
    if not records:
        raise ValueError(f"{score_path}: no rows name an encrypted image <ref>-<level>-<type>.pgm")
    return records


def read_pairs_csv(path: str | Path, *, require_mos: bool = True, root: str | Path | None = None) -> list[Record]:
    """Read a user's pair list: CSV columns ``plain, encrypted[, mos][, type]``.

    Parameters
    ----------
    path : str or Path
        CSV file with a header row.
    require_mos : bool
        Whether the ``mos`` column must be present (evaluation) or not (batch scoring; the
        score is then NaN).
    root : str or Path, optional
        Folder every image must lie in (default: the CSV's folder). Relative paths are taken
        from the CSV's folder.

    Returns
    -------
    list of Record
        ``kind`` is the ``type`` column or ``"all"``.

    Raises
    ------
    ValueError
        Missing file or columns, a non-numeric MOS, a path outside ``root``.

    Examples
    --------
    >>> read_pairs_csv("missing.csv")
    Traceback (most recent call last):
    ...
    ValueError: missing.csv: no such file (expected a CSV with columns plain, encrypted, mos)
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file (expected a CSV with columns plain, encrypted{', mos' if require_mos else ''})")
    base = p.parent
    top = Path(root) if root is not None else base
    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
        need = ["plain", "encrypted"] + (["mos"] if require_mos else [])
        lacking = [c for c in need if c not in cols]
        if lacking:
            raise ValueError(f"{p}: missing column(s) {', '.join(lacking)} (found: {', '.join(cols) or 'none'}); expected plain, encrypted, mos[, type]")
        records = []
        for n, row in enumerate(reader, 2):
            plain, enc = (row.get(cols["plain"]) or "").strip(), (row.get(cols["encrypted"]) or "").strip()
            if not plain and not enc:
                continue
            raw = (row.get(cols["mos"]) or "").strip() if "mos" in cols else ""
            try:
                score = float(raw) if raw else float("nan")
            except ValueError:
                raise ValueError(f"{p}:{n}: mos {raw!r} is not a number") from None
            if require_mos and not math.isfinite(score):
                raise ValueError(f"{p}:{n}: mos is empty or not finite")
            rp = _resolve_user(base, top, plain, f"{p}:{n}")
            ep = _resolve_user(base, top, enc, f"{p}:{n}")
            kind = (row.get(cols["type"]) or "").strip() if "type" in cols else ""
            records.append(Record(rp, ep, score, kind or "all"))
    if not records:
        raise ValueError(f"{p}: no rows")
    return records


def _resolve_user(base: Path, top: Path, name: str, what: str) -> Path:
    if not name:
        raise ValueError(f"{what}: empty image path")
    q = Path(name)
    resolved = (q if q.is_absolute() else base / q).resolve()
    if not resolves_inside(resolved, top):
        raise ValueError(f"{what}: path {name!r} resolves outside the data folder {top}")
    return resolved


def read_database(name: str, path: str | Path, **kwargs) -> list[Record]:
    """Read a database by name: ``"peid"`` (:func:`read_peid`), ``"ivc"`` (:func:`read_ivc`) or ``"csv"``.

    Parameters
    ----------
    name : {"peid", "ivc", "csv"}
        Database layout.
    path : str or Path
        Its folder (or the CSV file).
    **kwargs
        Passed to the reader (``score`` and ``skip_missing`` for PEID, ``scores`` for IVC).

    Returns
    -------
    list of Record
        The database's entries.

    Raises
    ------
    ValueError
        Unknown names (the valid ones are listed) and the readers' errors.

    Examples
    --------
    >>> read_database("tid", ".")
    Traceback (most recent call last):
    ...
    ValueError: database: unknown database 'tid'; valid: peid, ivc, csv
    """
    key = str(name).lower()
    if key == "peid":
        return read_peid(path, **kwargs)
    if key == "ivc":
        return read_ivc(path, **kwargs)
    if key == "csv":
        return read_pairs_csv(path, **kwargs)
    raise ValueError(f"database: unknown database {name!r}; valid: peid, ivc, csv")


# ----------------------------------------------------------------------------- scoring


class _ImageCache:
    """Keeps the last few decoded images (references repeat across consecutive rows)."""

    def __init__(self, size: int = 4):
        self.size, self.items = size, {}

    def get(self, path: Path) -> np.ndarray:
        if path not in self.items:
            if len(self.items) >= self.size:
                self.items.pop(next(iter(self.items)))
            self.items[path] = load_database_image(path)
        return self.items[path]


def score_pairs(records: list[Record], config: VSIConfig | None = None, *, baselines: bool = True, progress: bool = False) -> tuple[list[dict], list[tuple[str, str]]]:
    """Score many (plain, encrypted) pairs: VSI C1–C4 (sharing their work) and the baselines.

    Parameters
    ----------
    records : list of Record
        Pairs (e.g. from :func:`read_pairs_csv`).
    config : VSIConfig, optional
        Shared VSI parameters (α, β, γ, stride, edges, …); default the library default.
    baselines : bool
        Also compute PSNR, SSIM, LSS, ESS and the edge/texture index.
    progress : bool
        Progress bar on stderr.

    Returns
    -------
    rows : list of dict
        ``plain, encrypted, mos, type`` and every score (``vsi`` = C4, ``rd``, ``gs``, ``C1``…``C4``).
    failed : list of (str, str)
        ``(encrypted path, one-line message)`` of the pairs that could not be scored; they
        are skipped, the others are still scored.

    Examples
    --------
    >>> rows, failed = score_pairs([Record(Path("a.png"), Path("b.png"), 1.0, "all")])
    >>> rows, failed[0][1]
    ([], 'a.png: no such file')
    """
    from tqdm import tqdm

    from nlvision.security.ladder import score_pair
    from nlvision.security.vsi import vsi_ablation

    cache = _ImageCache()
    rows, failed = [], []
    bar = tqdm(records, disable=not progress, desc="vsi score", file=sys.stderr)
    for rec in bar:
        try:
            p = cache.get(rec.reference)
            e = load_database_image(rec.encrypted)
            if baselines:
                s = score_pair(p, e, config)
            else:
                s = dict(vsi_ablation(p, e, config))
        except (ValueError, TypeError, OSError, MemoryError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            failed.append((str(rec.encrypted), msg))
            if progress:
                tqdm.write(f"skipped {rec.encrypted}: {msg}", file=sys.stderr)
            continue
        rows.append({"plain": str(rec.reference), "encrypted": str(rec.encrypted), "mos": rec.score, "type": rec.kind,
                     "vsi": s["C4"], **s})
    return rows, failed


def _signed_index(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    finite = x[np.isfinite(x)]
    top = (finite.max() + 1.0) if finite.size else 1.0
    return np.where(np.isposinf(x), top, x)


def _per_type(rows: list[dict], indices, kinds: list[str]) -> dict:
    from scipy.stats import spearmanr

    out = {}
    for kind in kinds:
        sel = [r for r in rows if r["type"] == kind]
        out[kind] = {}
        for i in indices:
            x = _signed_index([r[i] for r in sel])
            y = np.array([r["mos"] for r in sel], dtype=float)
            ok = len(sel) >= 3 and np.ptp(y) > 0 and np.isfinite(x).all() and np.ptp(x) > 0
            out[kind][i] = float(spearmanr(x, y)[0]) if ok else float("nan")
    return out


def evaluate_database(records: list[Record], indices: tuple[str, ...] | None = None, progress: bool = False,
                      config: VSIConfig | None = None, type_order: tuple[str, ...] = ()) -> dict:
    """Score every record with the VSI (C1–C4) and the baselines; the seed's Tables 1 and 2.

    Parameters
    ----------
    records : list of Record
        From :func:`read_peid`, :func:`read_ivc` or :func:`read_pairs_csv`.
    indices : tuple of str, optional
        Indices to report (default :data:`nlvision.security.ladder.INDICES`).
    progress : bool
        Progress bar on stderr.
    config : VSIConfig, optional
        VSI parameters.
    type_order : tuple of str
        Table 2 row order (types present but not listed follow alphabetically).

    Returns
    -------
    dict
        ``{"n", "overall": {index: {srocc, krcc, plcc, rmse, n}}, "per_type": {type: {index:
        SROCC}}, "avg_std": {index: {avg, std}}, "failed": [(file, message)], "rows": [...]}``.
        Unreadable pairs are skipped and listed. Correlations are signed: a subjective
        *security* score correlates negatively with similarity-type indices (VSI, PSNR, ...), a
        *recognisability* score (PEID VS, where 1 = fully recognisable) positively.

    Raises
    ------
    ValueError
        Fewer than 6 usable pairs.

    References
    ----------
    Seed 004, sec. 3.1–3.3, Tables 1 and 2 (VQEG 2003 logistic for PLCC and RMSE).

    Examples
    --------
    >>> evaluate_database([])
    Traceback (most recent call last):
    ...
    ValueError: records: only 0 usable pairs, need at least 6 for the agreement statistics
    """
    from nlvision.security.agreement import agreement
    from nlvision.security.ladder import INDICES

    indices = tuple(INDICES if indices is None else indices)
    rows, failed = score_pairs(records, config, baselines=any(i not in ("C1", "C2", "C3", "C4") for i in indices), progress=progress) if records else ([], [])
    if len(rows) < 6:
        raise ValueError(f"records: only {len(rows)} usable pairs, need at least 6 for the agreement statistics")
    mos = np.array([r["mos"] for r in rows])
    overall = {}
    for i in indices:
        x = _signed_index([r[i] for r in rows])
        if np.ptp(x) == 0 or np.ptp(mos) == 0:  # a constant index (or MOS) has no correlation
            overall[i] = {"srocc": float("nan"), "krcc": float("nan"), "plcc": float("nan"), "rmse": float("nan"), "n": len(rows)}
        else:
            overall[i] = agreement(x, mos).to_dict()
    present = sorted({r["type"] for r in rows})
    kinds = [k for k in type_order if k in present] + [k for k in present if k not in type_order]
    per_type = _per_type(rows, indices, kinds)
    avg_std = {}
    for i in indices:
        v = np.array([per_type[k][i] for k in kinds], dtype=float)
        v = v[np.isfinite(v)]
        avg_std[i] = {"avg": float(v.mean()) if v.size else float("nan"), "std": float(v.std()) if v.size else float("nan")}
    return {"n": len(rows), "overall": overall, "per_type": per_type, "avg_std": avg_std, "failed": failed, "rows": rows}


#: Seed 004, sec. 3.4: α from 0.05 to 0.25 at β = 40, and β from 10 to 60 at α = 0.1.
SWEEP_ALPHAS = (0.05, 0.10, 0.15, 0.20, 0.25)
SWEEP_BETAS = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0)


def sweep_parameters(records: list[Record], config: VSIConfig | None = None, alphas: tuple[float, ...] = SWEEP_ALPHAS,
                     betas: tuple[float, ...] = SWEEP_BETAS, progress: bool = False) -> dict:
    """The seed's parameter study (sec. 3.4, Fig. 3): VSI SROCC over α (β = 40) and β (α = 0.1).

    Parameters
    ----------
    records : list of Record
        Database entries.
    config : VSIConfig, optional
        Other VSI parameters (stride, edges, pooling, ...).
    alphas, betas : tuple of float
        The grids (defaults: the paper's 0.05…0.25 step 0.05, and 10…60 step 10).
    progress : bool
        Progress bar on stderr.

    Returns
    -------
    dict
        ``{"alpha": [{"alpha", "beta", "srocc", "n"}, ...], "beta": [...], "failed": [...]}``.

    Raises
    ------
    ValueError
        Fewer than 6 usable pairs.

    References
    ----------
    Seed 004, sec. 3.4 and Fig. 3.

    Examples
    --------
    >>> sweep_parameters([])
    Traceback (most recent call last):
    ...
    ValueError: records: only 0 usable pairs, need at least 6 for the parameter study
    """
    from dataclasses import replace

    from scipy.stats import spearmanr
    from tqdm import tqdm

    from nlvision.security.vsi import vsi

    base = config if config is not None else VSIConfig()
    settings = [("alpha", a, 40.0) for a in alphas] + [("beta", 0.1, b) for b in betas]
    cache = _ImageCache()
    scores = {k: [] for k in range(len(settings))}
    mos, failed = [], []
    for rec in tqdm(records, disable=not progress, desc="vsi sweep", file=sys.stderr):
        try:
            p, e = cache.get(rec.reference), load_database_image(rec.encrypted)
            vals = [vsi(p, e, replace(base, alpha=a, beta=b)).vsi for _, a, b in settings]
        except (ValueError, TypeError, OSError, MemoryError) as exc:
            failed.append((str(rec.encrypted), str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
            continue
        for k, v in enumerate(vals):
            scores[k].append(v)
        mos.append(rec.score)
    if len(mos) < 6:
        raise ValueError(f"records: only {len(mos)} usable pairs, need at least 6 for the parameter study")
    out = {"alpha": [], "beta": [], "failed": failed}
    for k, (which, a, b) in enumerate(settings):
        out[which].append({"alpha": a, "beta": b, "srocc": float(spearmanr(scores[k], mos)[0]), "n": len(mos)})
    return out
