"""Readers for the public encrypted-image databases and their Table 1/2-style evaluation.

Nothing is downloaded: a user who has the databases points the readers at their folders.

PEID (Guo et al., IEEE TIFS 2019)
    ``PATH/data.mat`` (MATLAB v5, read with ``scipy.io.loadmat``) holding three equally long
    variables: the reference (plain) image names, the encrypted image names and the visual
    security scores. Accepted variable names (first found wins): references
    ``ref_names``/``reference``/``ref``/``refnames``/``org_names``; encrypted
    ``enc_names``/``encrypted``/``enc``/``dis_names``/``names``; scores
    ``scores``/``VS``/``vs``/``mos``/``MOS``/``dmos``. Image files are looked up by file name
    anywhere under ``PATH``. The encryption type is the ``encNN`` token of the encrypted name
    (``"enc09"``), or an optional ``types`` variable.

IVC-SelectEncrypt (Xiang et al.)
    ``PATH`` holds PGM images and a MOS text file (``mos.txt``, or the only ``*.txt``/``*.csv``)
    with one ``<encrypted file name> <MOS>`` pair per line (whitespace or comma separated; lines
    starting with ``#`` are skipped). Encrypted files are named
    ``<reference>_<type>_<level>.pgm`` (type may contain underscores, e.g. ``iwind_ec``) and the
    reference is ``<reference>.pgm``, both anywhere under ``PATH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Record", "read_peid", "read_ivc", "read_database", "evaluate_database", "DATABASES"]

DATABASES = ("peid", "ivc")


@dataclass(frozen=True)
class Record:
    """One (plain, encrypted, subjective score) entry of a database."""

    reference: Path
    encrypted: Path
    score: float
    kind: str


def _index_files(root: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix.lower() in suffixes:
            files.setdefault(p.name, p)
            files.setdefault(p.name.lower(), p)
    return files


def _strings(value) -> list[str]:
    arr = np.asarray(value, dtype=object).ravel()
    out = []
    for v in arr:
        while isinstance(v, np.ndarray) and v.dtype == object and v.size == 1:
            v = v.ravel()[0]
        if isinstance(v, np.ndarray):
            v = "".join(v.astype(str).ravel().tolist()) if v.dtype.kind in "UO" else str(v)
        out.append(str(v).strip())
    return out


def _first(mat: dict, names: tuple[str, ...], what: str, path: Path):
    for n in names:
        if n in mat:
            return mat[n]
    found = sorted(k for k in mat if not k.startswith("__"))
    raise ValueError(f"{path}: no {what} variable (looked for {', '.join(names)}; found {', '.join(found) or 'none'})")


def read_peid(path: str | Path) -> list[Record]:
    """Read the PEID layout described in the module docstring.

    Raises
    ------
    ValueError
        Missing folder/``data.mat``, missing variables, length mismatch, images not found.
    """
    from scipy.io import loadmat

    root = Path(path)
    mat_path = root / "data.mat" if root.is_dir() else root
    if not mat_path.is_file():
        raise ValueError(f"{mat_path}: no such file (expected the PEID data.mat)")
    if root.is_file():
        root = root.parent
    try:
        mat = loadmat(mat_path)
    except Exception as exc:
        raise ValueError(f"{mat_path}: cannot read MATLAB file ({type(exc).__name__}: {exc})") from None
    refs = _strings(_first(mat, ("ref_names", "reference", "ref", "refnames", "org_names"), "reference-name", mat_path))
    encs = _strings(_first(mat, ("enc_names", "encrypted", "enc", "dis_names", "names"), "encrypted-name", mat_path))
    scores = np.asarray(_first(mat, ("scores", "VS", "vs", "mos", "MOS", "dmos"), "score", mat_path), dtype=np.float64).ravel()
    types = _strings(mat["types"]) if "types" in mat else None
    if not (len(refs) == len(encs) == len(scores)) or (types is not None and len(types) != len(encs)):
        raise ValueError(f"{mat_path}: {len(refs)} reference names, {len(encs)} encrypted names and {len(scores)} scores differ in length")
    files = _index_files(root, (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".pgm", ".ppm"))
    records = []
    for i, (r, e, s) in enumerate(zip(refs, encs, scores)):
        rp, ep = files.get(Path(r).name) or files.get(Path(r).name.lower()), files.get(Path(e).name) or files.get(Path(e).name.lower())
        if rp is None or ep is None:
            raise ValueError(f"{mat_path}: image {r if rp is None else e!r} of entry {i} not found under {root}")
        m = re.search(r"enc\d+", Path(e).stem, flags=re.IGNORECASE)
        kind = types[i] if types is not None else (m.group(0).lower() if m else "all")
        records.append(Record(rp, ep, float(s), kind))
    if not records:
        raise ValueError(f"{mat_path}: no entries")
    return records


_IVC_NAME = re.compile(r"^(?P<ref>[^_]+)_(?P<kind>.+)_(?P<level>\d+)$")


def read_ivc(path: str | Path) -> list[Record]:
    """Read the IVC-SelectEncrypt layout described in the module docstring.

    Raises
    ------
    ValueError
        Missing folder or MOS file, malformed lines or names, images not found.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder (expected the IVC-SelectEncrypt folder)")
    mos = root / "mos.txt"
    if not mos.is_file():
        cands = sorted(p for p in root.iterdir() if p.suffix.lower() in (".txt", ".csv") and p.is_file())
        if len(cands) != 1:
            raise ValueError(f"{root}: expected mos.txt or exactly one .txt/.csv MOS file, found {len(cands)}")
        mos = cands[0]
    files = _index_files(root, (".pgm",))
    records = []
    for n, line in enumerate(mos.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p for p in re.split(r"[,\s]+", line) if p]
        if len(parts) < 2:
            raise ValueError(f"{mos}:{n}: expected '<file> <MOS>', got {line!r}")
        name, value = parts[0], parts[-1]
        try:
            score = float(value)
        except ValueError:
            if n == 1:
                continue  # header line
            raise ValueError(f"{mos}:{n}: MOS {value!r} is not a number") from None
        m = _IVC_NAME.match(Path(name).stem)
        if m is None:
            raise ValueError(f"{mos}:{n}: {name!r} is not named <reference>_<type>_<level>.pgm")
        ep = files.get(Path(name).name) or files.get(Path(name).name.lower())
        rp = files.get(m.group("ref") + ".pgm") or files.get((m.group("ref") + ".pgm").lower())
        if ep is None or rp is None:
            missing = name if ep is None else m.group("ref") + ".pgm"
            raise ValueError(f"{mos}:{n}: image {missing!r} not found under {root}")
        records.append(Record(rp, ep, score, m.group("kind")))
    if not records:
        raise ValueError(f"{mos}: no entries")
    return records


def read_database(name: str, path: str | Path) -> list[Record]:
    """Dispatch to :func:`read_peid` or :func:`read_ivc`; unknown names list the valid ones.

    Examples
    --------
    >>> read_database("tid", ".")
    Traceback (most recent call last):
    ...
    ValueError: database: unknown database 'tid'; valid: peid, ivc
    """
    key = str(name).lower()
    if key not in DATABASES:
        raise ValueError(f"database: unknown database {name!r}; valid: {', '.join(DATABASES)}")
    return read_peid(path) if key == "peid" else read_ivc(path)


def evaluate_database(records: list[Record], indices: tuple[str, ...] | None = None, progress: bool = False) -> dict:
    """Score every record with the VSI (C1–C4) and the baselines; Table 1/2-style agreement.

    Returns
    -------
    dict
        ``{"n": ..., "overall": {index: Agreement dict}, "per_type": {type: {index: SROCC}},
        "failed": [(file, message), ...]}``. Unreadable pairs are skipped and listed.
        Correlations are signed: a subjective *security* score correlates negatively with
        similarity-type indices (VSI, PSNR, ...), a *recognisability* score positively.
    """
    from scipy.stats import spearmanr
    from tqdm import tqdm

    from nlvision.imageio import load_image
    from nlvision.security.agreement import agreement
    from nlvision.security.ladder import INDICES, score_pair

    indices = tuple(INDICES if indices is None else indices)
    cache: dict[Path, np.ndarray] = {}
    scores, kept, failed = [], [], []
    for rec in tqdm(records, disable=not progress, desc="evaluate"):
        try:
            if rec.reference not in cache:
                cache[rec.reference] = load_image(rec.reference, as_gray=True)
            s = score_pair(cache[rec.reference], load_image(rec.encrypted, as_gray=True))
        except (ValueError, TypeError, OSError) as exc:
            failed.append((str(rec.encrypted), str(exc).splitlines()[0]))
            continue
        scores.append(s)
        kept.append(rec)
    if len(kept) < 6:
        raise ValueError(f"records: only {len(kept)} usable pairs, need at least 6 for the agreement statistics")
    mos = np.array([r.score for r in kept])
    overall = {}
    for i in indices:
        x = np.array([s[i] for s in scores])
        x = np.where(np.isposinf(x), np.nanmax(np.where(np.isfinite(x), x, np.nan)) + 1.0, x)
        overall[i] = agreement(x, mos).to_dict()
    per_type = {}
    for kind in sorted({r.kind for r in kept}):
        sel = [k for k, r in enumerate(kept) if r.kind == kind]
        per_type[kind] = {}
        for i in indices:
            x = np.array([scores[k][i] for k in sel], dtype=float)
            y = mos[sel]
            ok = len(sel) >= 3 and np.ptp(y) > 0 and np.ptp(x[np.isfinite(x)]) > 0 if np.isfinite(x).any() else False
            per_type[kind][i] = float(spearmanr(x, y)[0]) if ok else float("nan")
    return {"n": len(kept), "overall": overall, "per_type": per_type, "failed": failed}
