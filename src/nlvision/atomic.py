"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or a bad input never leaves a half-written file at the destination. The guarantees:

* **Permissions**: the final file gets ``0666 & ~umask`` (0644 under the usual 022), like a file
  created by ``open()``; when it replaces an existing file, that file's permission bits are kept.
* **Recognisable temporaries**: ``.nlvision-tmp-<host>-<pid>-<random>-<name>`` in the destination
  folder (hidden, ending with the destination's name so format-by-extension writers still work).
* **Cleanup**: removed on any exception, on KeyboardInterrupt (SIGINT) and on SIGTERM (a handler
  removes the live temporaries, then lets the signal take its usual effect); temporaries left by a
  killed run (SIGKILL, power loss) are removed the next time nlvision writes into that folder when
  their process is gone (same host) or they are older than a day (other hosts), and
  :func:`nlvision.imageio.list_images` ignores them meanwhile.
* **Messages name OUT**: a failed write raises ``OSError``/``ValueError`` whose message names the
  destination, never the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import IO, Any, Iterator

__all__ = ["TEMP_PREFIX", "OutputError", "atomic_path", "atomic_open", "write_text_atomic", "write_bytes_atomic", "write_json_atomic",
           "savefig_atomic", "clean_stale_temporaries", "output_mode"]

#: Prefix of every temporary file nlvision creates.
TEMP_PREFIX = ".nlvision-tmp-"
#: Temporaries of other hosts (shared folders) older than this are stale.
STALE_SECONDS = 24 * 3600

_HOST = f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFF:04x}"
_live: set[str] = set()
_live_lock = threading.Lock()
_cleaned_dirs: set[str] = set()
_handler_installed = False
_previous_handlers: dict[int, Any] = {}


def output_mode(existing: str | os.PathLike | None = None) -> int:
    """Permission bits of a file nlvision writes: ``0o666 & ~umask``, or those of ``existing``.

    Parameters
    ----------
    existing : path-like, optional
        A file about to be replaced; its permission bits are kept when it exists.

    Returns
    -------
    int
        Mode bits for :func:`os.chmod`.

    Examples
    --------
    >>> old = os.umask(0o022); mode = output_mode(); _ = os.umask(old)
    >>> oct(mode)
    '0o644'
    """
    if existing is not None:
        try:
            return os.stat(existing).st_mode & 0o7777
        except OSError:
            pass
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where the system allows (thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _live_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def clean_stale_temporaries(folder: str | os.PathLike, *, max_age: float = STALE_SECONDS) -> list[Path]:
    """Remove temporary files of killed nlvision runs from ``folder``.

    A temporary is stale when it was made on this host by a process that no longer exists, or
    (any host) when it is older than ``max_age`` seconds. Live temporaries of running processes
    are left alone.

    Parameters
    ----------
    folder : path-like
        Folder to clean (not recursive).
    max_age : float
        Age in seconds after which any temporary is stale.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / f"{TEMP_PREFIX}{_HOST}-999999999-abc-x.png").write_bytes(b"half")
    >>> [p.name.endswith("x.png") for p in clean_stale_temporaries(d)]
    [True]
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        parts = entry.name[len(TEMP_PREFIX):].split("-", 3)
        stale = False
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if age > max_age:
            stale = True
        elif len(parts) >= 3 and parts[0] == _HOST and parts[1].isdigit():
            pid = int(parts[1])
            stale = pid != os.getpid() and not _pid_alive(pid)
        if stale:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def _cleanup_live(*_: Any) -> None:
    with _live_lock:
        names = list(_live)
        _live.clear()
    for name in names:
        try:
            os.unlink(name)
        except OSError:
            pass


def _on_signal(signum: int, frame: Any) -> None:
    _cleanup_live()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signum, signal.SIG_DFL)  # default action, with the usual exit status
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    """Remove live temporaries on SIGTERM/SIGHUP (SIGINT raises KeyboardInterrupt: ``finally`` cleans)."""
    global _handler_installed
    if _handler_installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        try:
            current = signal.getsignal(sig)
            if current is _on_signal:
                continue
            if current == signal.SIG_IGN:
                continue  # nohup: keep ignoring
            _previous_handlers[sig] = current if current is not None else signal.SIG_DFL
            signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # not the main thread of the main interpreter
            return
    _handler_installed = True


def _temp_name(dest: Path) -> tuple[str, str]:
    prefix = f"{TEMP_PREFIX}{_HOST}-{os.getpid()}-"
    tail = f"-{dest.name}"
    if len(prefix) + len(tail) + 8 > 250:  # keep the name legal; the suffix still picks the format
        tail = f"-{dest.suffix[-20:]}" if dest.suffix else ""
    return prefix, tail


class OutputError(OSError):
    """An output could not be written; ``str()`` is the one-line message naming the destination.

    Raised by the writers of this module (:func:`atomic_path` and those built on it) instead of
    a bare ``OSError`` whose message would name the temporary file. Being an ``OSError``, the
    CLI reports it as ``error: <message>`` (exit 2, no traceback). It is built like
    ``OSError``: ``OutputError(errno, strerror, filename)`` (the constructor is ``OSError``'s own,
    so it has no signature of its own to document).

    Attributes
    ----------
    errno : int
        The error number (``errno.EISDIR``, ``errno.ENOSPC``, ...).
    strerror : str
        The one-line message, naming the destination; ``str()`` returns it.
    filename : str
        The destination path.

    References
    ----------
    Python documentation, "Built-in Exceptions", ``OSError(errno, strerror[, filename])``;
    the atomic-output rule of the project conventions (issue #13, CLI convention).

    Examples
    --------
    >>> import errno
    >>> err = OutputError(errno.EISDIR, "out: is a folder, expected a file path", "out")
    >>> str(err), err.errno == errno.EISDIR, err.filename, isinstance(err, OSError)
    ('out: is a folder, expected a file path', True, 'out', True)
    """

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def _rename_message(exc: BaseException, tmp: Path, dest: Path) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace(str(tmp), str(dest)).replace(tmp.name, dest.name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the destination folder; rename it to ``path`` on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its parent folder is created if needed.
    suffix : str, optional
        Suffix of the temporary file (defaults to ``-<destination name>``, so writers that pick
        a format from the extension keep working).

    Yields
    ------
    pathlib.Path
        The temporary file to write (it exists, empty).

    Raises
    ------
    OSError
        If the destination is a folder, its folder cannot be created, or writing/renaming fails
        (the message names ``path``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    dest = Path(path)
    if dest.is_dir():
        raise OutputError(errno.EISDIR, f"{dest}: is a folder, expected a file path", str(dest))
    parent = dest.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((a for a in [parent, *parent.parents] if a.exists() and not a.is_dir()), parent)
        raise OutputError(errno.ENOTDIR, f"cannot write {dest}: {blocker} is not a folder", str(dest)) from None
    except OSError as exc:
        raise OutputError(exc.errno, f"cannot write {dest}: cannot create its folder ({exc.strerror})", str(dest)) from None
    key = str(parent.resolve())
    if key not in _cleaned_dirs:
        _cleaned_dirs.add(key)
        clean_stale_temporaries(parent)
    _install_handlers()
    prefix, tail = _temp_name(dest)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=tail if suffix is None else suffix, dir=parent)
    except OSError as exc:
        raise OutputError(exc.errno, f"cannot write {dest}: {exc.strerror}", str(dest)) from None
    os.close(fd)
    with _live_lock:
        _live.add(tmp_name)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
            os.chmod(tmp, output_mode(dest))
            os.replace(tmp, dest)
        except OSError as exc:
            if exc.filename not in (None, tmp_name, tmp) and exc.filename2 not in (tmp_name, tmp, str(dest)):
                raise  # about another file (an input the writer reads): keep its message
            raise OutputError(exc.errno, f"cannot write {dest}: {exc.strerror or _rename_message(exc, tmp, dest)}", str(dest)) from None
        except (ValueError, TypeError) as exc:
            text = str(exc)
            if str(tmp) in text or tmp.name in text:
                raise type(exc)(_rename_message(exc, tmp, dest)) from None
            raise
    finally:
        with _live_lock:
            _live.discard(tmp_name)
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        except OSError:  # pragma: no cover - best effort
            pass


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` when the block succeeds.

    Parameters
    ----------
    path : path-like
        Final destination.
    mode : str
        ``"w"`` (text, UTF-8 unless ``encoding`` is given) or ``"wb"``.
    **kwargs
        Passed to :func:`open`.

    Yields
    ------
    file object
        The open temporary file.

    Raises
    ------
    ValueError
        If ``mode`` is not a write mode.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> with atomic_open(p) as fh:
    ...     _ = fh.write("a,b\\n")
    >>> p.read_text()
    'a,b\\n'
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"mode: expected 'w' or 'wb', got {mode!r}")
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path.

    Parameters
    ----------
    path : path-like
        Destination.
    text : str
        Content (written as UTF-8).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "hi")
    >>> p.read_text()
    'hi'
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    Parameters
    ----------
    path : path-like
        Destination.
    data : bytes
        Content.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> write_bytes_atomic(pathlib.Path(tempfile.mkdtemp()) / "a.bin", b"ab").read_bytes()
    b'ab'
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically and return the path.

    Parameters
    ----------
    path : path-like
        Destination.
    obj : object
        JSON-serialisable object (other objects are written with ``str``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> write_json_atomic(pathlib.Path(tempfile.mkdtemp()) / "a.json", {"a": 1}).read_text()
    '{\\n  "a": 1\\n}\\n'
    """
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def savefig_atomic(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically (format from ``path``'s extension).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to save.
    path : path-like
        Destination (``.png``, ``.pdf``, ``.svg``, ...).
    **kwargs
        Passed to ``fig.savefig``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib, matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure(figsize=(1, 1))
    >>> savefig_atomic(fig, pathlib.Path(tempfile.mkdtemp()) / "f.png").exists()
    True
    >>> plt.close(fig)
    """
    dest = Path(path)
    fmt = kwargs.pop("format", None) or (dest.suffix[1:].lower() or None)
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format=fmt, **kwargs)
    return dest
