"""Batch runner: apply one function to many files, serially, on local processes or on a dask cluster.

The contract, the same on every engine:

* results come back **in input order**, so the output of ``--jobs 4`` or ``--scheduler`` is
  identical to the serial run;
* **one item's failure never stops the others**: a ``ValueError``, ``OSError``, ``MemoryError``
  (or any other ``Exception``) raised for one item is that item's failure, reported as one line
  ``error: <path>: <message>`` on stderr; a worker process that dies (killed, out of memory) fails
  the items it held and the run goes on with a fresh worker;
* process-wide settings (``--max-pixels``, ``--range``) travel to the workers.

Engines: ``jobs=1`` runs in this process; ``jobs=N`` uses N local processes (``fork`` where the
platform has it, so the processing function may be a closure; elsewhere it must pickle);
``scheduler="tcp://host:8786"`` submits to a running dask.distributed scheduler (the ``[scale]``
extra), ``scheduler="local"`` or ``"local:N"`` starts a LocalCluster of N worker processes.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from nlvision._extras import require_extra

__all__ = ["BatchResult", "run_batch", "item_name", "failure_message", "check_engine"]


@dataclass
class BatchResult:
    """Outcome of :func:`run_batch`, in input order.

    Parameters
    ----------
    done : list of (item, result)
        Items that succeeded, with their results.
    failed : list of (item, str)
        Items that failed, with a one-line message.

    Examples
    --------
    >>> done, failed = BatchResult([(1, 2)], [])
    >>> BatchResult(done, [(0, "bad")]).exit_code
    1
    """

    done: list = field(default_factory=list)
    failed: list = field(default_factory=list)

    def __iter__(self):  # ``done, failed = run_batch(...)`` keeps working
        return iter((self.done, self.failed))

    @property
    def exit_code(self) -> int:
        """0 when every item succeeded, 1 when some failed (the batch convention)."""
        return 1 if self.failed else 0


def item_name(item: Any) -> str:
    """Name of a batch item in messages: a path as text; for a tuple, its first element.

    Parameters
    ----------
    item : object
        A path, a string, or a tuple such as ``(input, output)``.

    Returns
    -------
    str
        Text naming the item.

    Examples
    --------
    >>> item_name(("in/a.png", "out/a.png"))
    'in/a.png'
    """
    while isinstance(item, (tuple, list)) and item:
        item = item[0]
    return str(item)


_EXPECTED = (ValueError, TypeError, OSError, KeyError, EOFError)


def failure_message(item: Any, exc: BaseException) -> str:
    """One-line message of an item's failure, without repeating the item's name.

    Parameters
    ----------
    item : object
        The failing item.
    exc : BaseException
        What it raised.

    Returns
    -------
    str
        The message (user errors as they are; ``MemoryError`` as "out of memory"; other
        exception types prefixed by their name).

    Examples
    --------
    >>> failure_message("a.png", ValueError("a.png: cannot decode image"))
    'cannot decode image'
    >>> failure_message("a.png", MemoryError())
    'out of memory'
    """
    if isinstance(exc, MemoryError):
        text = "out of memory" + (f" ({exc})" if str(exc) else "")
    else:
        text = str(exc).strip()
        text = text.splitlines()[0] if text else type(exc).__name__
        if isinstance(exc, KeyError):
            text = f"missing key {text}"
        elif not isinstance(exc, _EXPECTED):
            text = f"{type(exc).__name__}: {text}"
    name = item_name(item)
    for prefix in (f"{name}: ", f"{Path(name).name}: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    return text


def check_engine(jobs: int = 1, scheduler: str | None = None) -> None:
    """Validate ``--jobs`` / ``--scheduler`` before anything runs (so nothing is written on error).

    Parameters
    ----------
    jobs : int
        Local worker processes (>= 1).
    scheduler : str, optional
        Dask scheduler address (``tcp://host:port``, ``local`` or ``local:N``).

    Raises
    ------
    ValueError
        If ``jobs`` is not a positive integer, both are given, or the address is malformed.
    ImportError
        If ``scheduler`` is given and dask.distributed is not installed.

    Examples
    --------
    >>> check_engine(2)
    >>> check_engine(0)
    Traceback (most recent call last):
    ...
    ValueError: --jobs: expected an integer >= 1, got 0
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"--jobs: expected an integer >= 1, got {jobs!r}")
    if jobs > 1024:
        raise ValueError(f"--jobs: {jobs} processes is too many (at most 1024)")
    if scheduler is None:
        return
    if jobs != 1:
        raise ValueError("--jobs and --scheduler are exclusive: the cluster's workers do the work")
    text = str(scheduler).strip()
    if not text or any(ch.isspace() for ch in text):
        raise ValueError(f"--scheduler: expected an address such as tcp://host:8786 or 'local', got {scheduler!r}")
    if text.startswith("local"):
        n = text[len("local"):]
        if n and not (n.startswith(":") and n[1:].isdigit() and int(n[1:]) >= 1):
            raise ValueError(f"--scheduler: expected 'local' or 'local:N' (N >= 1), got {scheduler!r}")
    else:
        scheme, sep, rest = text.partition("://")
        if sep:  # tcp://host:port, tls://..., inproc://... (dask's own address forms)
            ok = bool(scheme.isalnum() and rest and not rest.startswith((":", "/")))
        else:  # host:port
            host, _, port = text.rpartition(":")
            ok = bool(host) and port.isdigit() and 0 < int(port) < 65536
        if not ok:
            raise ValueError(f"--scheduler: expected an address such as tcp://host:8786, 'local' or 'local:N', got {scheduler!r}")
    _import_distributed()


def _import_distributed():
    require_extra("distributed", what="--scheduler")
    import distributed

    return distributed


def _call(process: Callable, item: Any, settings: dict | None) -> tuple[bool, Any]:
    """Run one item; never raises an ``Exception`` (the worker side of every engine)."""
    if settings is not None:
        from nlvision.limits import apply_settings

        apply_settings(settings)
    try:
        return True, process(item)
    except Exception as exc:  # one item's failure, whatever its type (MemoryError included), is that item's
        return False, failure_message(item, exc)


def run_batch(
    items: Iterable[Any],
    process: Callable[[Any], Any],
    *,
    label: str = "processing",
    show_progress: bool = True,
    jobs: int = 1,
    scheduler: str | None = None,
    report: Callable[[str], None] | None = None,
) -> BatchResult:
    """Apply ``process`` to every item; a failing item is reported and skipped.

    Parameters
    ----------
    items : iterable
        Work items (paths, or tuples whose first element names the item).
    process : callable
        ``process(item) -> result``; raises to fail the item. With ``jobs > 1`` or a
        scheduler, its results must pickle.
    label : str
        Progress-bar label.
    show_progress : bool
        Show a progress bar on stderr (batches of 2 or more items).
    jobs : int
        Local worker processes (1: this process).
    scheduler : str, optional
        Address of a dask.distributed scheduler, ``local`` or ``local:N``.
    report : callable, optional
        Receives each failure line (default: written to stderr above the progress bar).

    Returns
    -------
    BatchResult
        ``done`` and ``failed`` in input order; unpacks as ``done, failed``.

    Raises
    ------
    ValueError
        If ``jobs``/``scheduler`` are invalid (before any item runs).

    Examples
    --------
    >>> done, failed = run_batch([1, 0, 2], lambda x: 1 / x, show_progress=False, report=lambda line: None)
    >>> [r for _, r in done], failed
    ([1.0, 0.5], [(0, 'ZeroDivisionError: division by zero')])
    """
    check_engine(jobs, scheduler)
    items = list(items)
    from tqdm import tqdm

    bar = tqdm(total=len(items), desc=label, disable=not show_progress or len(items) < 2, file=sys.stderr)

    def emit_failure(item: Any, message: str) -> None:
        line = f"error: {item_name(item)}: {message}"
        if report is not None:
            report(line)
        else:
            tqdm.write(line, file=sys.stderr)

    outcomes: list[tuple[bool, Any] | None] = [None] * len(items)

    def record(index: int, outcome: tuple[bool, Any]) -> None:
        outcomes[index] = outcome
        if not outcome[0]:
            emit_failure(items[index], outcome[1])
        bar.update(1)

    try:
        if scheduler is not None:
            _run_dask(items, process, scheduler, record)
        elif jobs > 1 and len(items) > 1:
            _run_processes(items, process, min(jobs, len(items)), record)
        else:
            for i, item in enumerate(items):
                record(i, _call(process, item, None))
    finally:
        bar.close()
    result = BatchResult()
    for item, outcome in zip(items, outcomes):
        if outcome is None:  # pragma: no cover - every engine records every index
            outcome = (False, "not processed")
        (result.done if outcome[0] else result.failed).append((item, outcome[1]))
    return result


# ---------------------------------------------------------------- local processes

_FORK_PROCESS: Callable | None = None


def _fork_call(index_item: tuple[int, Any], settings: dict) -> tuple[int, tuple[bool, Any]]:
    index, item = index_item
    return index, _call(_FORK_PROCESS, item, settings)  # type: ignore[arg-type]


def _pickled_call(process: Callable, index_item: tuple[int, Any], settings: dict) -> tuple[int, tuple[bool, Any]]:
    index, item = index_item
    return index, _call(process, item, settings)


def _worker_init(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        try:
            sys.modules["torch"].set_num_threads(threads)
        except Exception:  # pragma: no cover
            pass


def _run_processes(items: Sequence[Any], process: Callable, jobs: int, record: Callable) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from nlvision.limits import settings as current_settings

    global _FORK_PROCESS
    settings = current_settings()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    use_fork = "fork" in mp.get_all_start_methods()
    ctx = mp.get_context("fork" if use_fork else None)
    pending = list(range(len(items)))[::-1]  # stack of indices still to submit
    _FORK_PROCESS = process
    try:
        while pending:
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(threads,))
            broken = False
            in_flight: dict[Any, int] = {}
            try:
                while (pending or in_flight) and not broken:
                    while pending and len(in_flight) < 2 * jobs:
                        i = pending.pop()
                        if use_fork:
                            fut = pool.submit(_fork_call, (i, items[i]), settings)
                        else:
                            fut = pool.submit(_pickled_call, process, (i, items[i]), settings)
                        in_flight[fut] = i
                    done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = in_flight.pop(fut)
                        try:
                            index, outcome = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            record(i, (False, "worker process died (killed or out of memory)"))
                        except Exception as exc:  # results that do not pickle, ...
                            record(i, (False, failure_message(items[i], exc)))
                        else:
                            record(index, outcome)
                if broken:
                    for fut, i in in_flight.items():  # the dead pool's other items: run them again
                        pending.append(i)
                    in_flight.clear()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        _FORK_PROCESS = None


# ---------------------------------------------------------------- dask.distributed


def _run_dask(items: Sequence[Any], process: Callable, scheduler: str, record: Callable) -> None:
    distributed = _import_distributed()
    from nlvision.limits import settings as current_settings

    settings = current_settings()
    cluster = None
    text = scheduler.strip()
    if text.startswith("local"):
        n = int(text[6:]) if text[5:6] == ":" else min(4, os.cpu_count() or 1)
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        address: Any = cluster
    else:
        address = text
    try:
        try:
            client = distributed.Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise OSError(f"--scheduler: cannot reach {scheduler} ({type(exc).__name__}: {exc})") from None
        try:
            futures = {}
            for i, item in enumerate(items):
                fut = client.submit(_call, process, item, settings, pure=False, key=f"nlvision-{i}-{uuid.uuid4().hex}")
                futures[fut] = i
            for fut in distributed.as_completed(list(futures)):
                i = futures[fut]
                try:
                    record(i, fut.result())
                except Exception as exc:  # KilledWorker, a result that does not unpickle, ...
                    record(i, (False, failure_message(items[i], exc)))
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
