"""Training engine shared by the deep tasks (classify, reid, pose), built on PyTorch Lightning.

Lightning provides the progress bar, checkpoints, resume, mixed precision and multi-GPU /
multi-node DDP; this module fixes nlvision's conventions around it:

- ``OUT/config.json``: what ran — task, model and run configuration, the trainer options as
  given, the **resolved** accelerator, devices, strategy and precision, and a ``history`` entry per
  start (first run and every resume);
- ``OUT/checkpoints/last.ckpt`` (rewritten every epoch; + ``best-epoch=N.ckpt`` when a metric is
  monitored): resumable Lightning checkpoints;
- ``OUT/model.safetensors``: the trained weights with task name and model config
  (:func:`nlvision.nn.weights.save_checkpoint`), rewritten atomically after every epoch;
- ``OUT/logs/``: CSV metrics with the learning rate (``lr-<Optimizer>``) and ``hparams.yaml``
  (and TensorBoard events with the same hyper-parameters when tensorboard is installed); a
  resumed run keeps the earlier CSV as ``metrics.partN.csv``.

Multi-process runs (``--devices 2 --strategy ddp``): only rank zero writes files and prints;
:func:`is_rank_zero` tells a task which process it is in, :func:`run_inference` gathers the
predictions of every process on rank zero.

Exact resume: every training batch re-seeds Python's, NumPy's and torch's generators from
``(seed, epoch, rank, batch)`` (:func:`epoch_seed`) and :class:`EpochSampler` shuffles from the same
seed; a batch sampler with ``set_epoch`` is set to the epoch, and the ``generator`` attributes of
the model's submodules and of an in-process training data set are saved in every checkpoint. So a
run killed after epoch *k* and resumed replays epochs *k+1..n* as the uninterrupted run does. A resume with another hyper-parameter is refused (:func:`check_resume`); only the
number of epochs and the device options may change, and the change is recorded in ``history``.

A LightningModule used here must expose ``model`` (the plain ``nn.Module`` to export),
``task`` (str) and ``model_config`` (dict, enough to rebuild ``model``).

Lightning is the ``[train]`` extra: :func:`require_lightning` raises one line when it is missing.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch

from nlvision._extras import MissingExtraError, require_extra
from nlvision.atomic import atomic_path, write_json_atomic

__all__ = [
    "RESUME_MAY_CHANGE",
    "EpochSampler",
    "MissingExtraError",
    "TrainerConfig",
    "check_resume",
    "epoch_seed",
    "export_model",
    "fit",
    "is_rank_zero",
    "make_trainer",
    "require_lightning",
    "run_dir_checkpoint",
    "run_inference",
]

# Lightning 2.6 calls a torch.utils._pytree API that torch 2.13 deprecates, once per batch;
# the message is about Lightning's internals, not about anything a user can change.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")

#: Dotted keys of ``config.json`` that may differ on ``--resume`` (recorded in ``history``).
RESUME_MAY_CHANGE = ("trainer.epochs", "trainer.devices", "trainer.accelerator", "trainer.strategy", "trainer.num_nodes",
                     "trainer.progress", "trainer.log_every_n_steps", "trainer.limit_train_batches")

_ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
_PRECISIONS = ("auto", "64-true", "64", "32-true", "32", "16-mixed", "16", "bf16-mixed", "bf16", "16-true", "bf16-true",
               "transformer-engine", "transformer-engine-float16")


def require_lightning(what: str = "training") -> None:
    """Check that PyTorch Lightning (the ``[train]`` extra) is installed.

    Parameters
    ----------
    what : str
        What needs it, for the message (e.g. ``"classify train"``).

    Raises
    ------
    MissingExtraError
        One line: ``"<what> needs the [train] extra: pip install 'nlvision[train]'"``.

    Examples
    --------
    >>> require_lightning("classify evaluate")  # installed here: returns None
    """
    require_extra("pytorch_lightning", what=what)


def _require_export(fmt: str) -> None:
    require_extra("onnx", "onnxruntime", what=f"export to {fmt}")


def _lightning_strategies() -> list[str] | None:
    """Names of Lightning's registered strategies, or None when Lightning is not installed."""
    try:
        from pytorch_lightning.strategies import StrategyRegistry
    except ImportError:
        return None
    return list(StrategyRegistry.available_strategies())


@dataclass
class TrainerConfig:
    """Options of the Lightning trainer, exposed by every ``train``/``evaluate``/``predict`` command.

    Static checks run on construction; :meth:`resolve` checks the options against this machine.

    Parameters
    ----------
    epochs : int
        Number of epochs (>= 1).
    devices : str
        ``"auto"``, a count (``"2"``) or a list of GPU ids (``"0,1"``).
    accelerator : str
        ``"auto"``, ``"cpu"``, ``"gpu"`` (``"cuda"``) or ``"mps"``.
    strategy : str
        ``"auto"`` or a Lightning strategy (``"ddp"``: multi-GPU / multi-node / multi-process CPU).
    num_nodes : int
        Number of nodes for DDP.
    precision : str
        ``"auto"`` (bf16 mixed on CUDA, fp32 elsewhere) or a Lightning precision string.
    seed : int
        Global seed (``seed_everything``, workers included; per-epoch seeds derive from it).
    log_every_n_steps : int
        Logging interval.
    progress : bool
        Show the progress bar.
    limit_train_batches : float
        Fraction in (0, 1] or number (>= 1) of training batches per epoch, for quick runs.

    Raises
    ------
    ValueError
        Naming the option (``--devices``, ``--limit-batches``, ...) and what was expected.

    Examples
    --------
    >>> TrainerConfig(epochs=2, accelerator="cpu", devices="1").resolve()["precision"]
    '32-true'
    """

    epochs: int = 10
    devices: str = "auto"
    accelerator: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "auto"
    seed: int = 0
    log_every_n_steps: int = 10
    progress: bool = True
    limit_train_batches: float = 1.0

    def __post_init__(self) -> None:
        if not _is_int(self.epochs) or self.epochs < 1:
            raise ValueError(f"--epochs: expected a positive int, got {self.epochs!r}")
        self.devices = str(self.devices).strip()
        _devices(self.devices)
        self.accelerator = str(self.accelerator).lower()
        if self.accelerator not in _ACCELERATORS:
            raise ValueError(f"--accelerator: expected one of {list(_ACCELERATORS)}, got {self.accelerator!r}")
        if not isinstance(self.strategy, str) or not self.strategy:
            raise ValueError(f"--strategy: expected 'auto', 'ddp' or another Lightning strategy, got {self.strategy!r}")
        known = _lightning_strategies()
        if known is not None and self.strategy != "auto" and self.strategy not in known:
            raise ValueError(f"--strategy: unknown strategy {self.strategy!r}; valid: auto, {', '.join(sorted(known))}")
        if not _is_int(self.num_nodes) or self.num_nodes < 1:
            raise ValueError(f"--num-nodes: expected a positive int, got {self.num_nodes!r}")
        self.precision = str(self.precision)
        if self.precision not in _PRECISIONS:
            raise ValueError(f"--precision: expected one of {list(_PRECISIONS)}, got {self.precision!r}")
        if not _is_int(self.seed) or not 0 <= self.seed < 2**32:
            raise ValueError(f"--seed: expected an int in [0, 2**32), got {self.seed!r}")
        if not _is_int(self.log_every_n_steps) or self.log_every_n_steps < 1:
            raise ValueError(f"log_every_n_steps: expected a positive int, got {self.log_every_n_steps!r}")
        lim = self.limit_train_batches
        if isinstance(lim, bool) or not isinstance(lim, (int, float)) or not np.isfinite(lim) or lim <= 0 \
                or (lim > 1 and float(lim) != int(lim)):
            raise ValueError(f"--limit-batches: expected a fraction in (0, 1] or a whole number of batches >= 1, got {lim!r}")
        if lim > 1:
            self.limit_train_batches = int(lim)

    def resolved_precision(self) -> str:
        """The precision actually used.

        Returns
        -------
        str
            ``precision`` if given, else ``"bf16-mixed"`` on a CUDA GPU and ``"32-true"`` elsewhere.

        Examples
        --------
        >>> TrainerConfig(accelerator="cpu").resolved_precision()
        '32-true'
        """
        if self.precision != "auto":
            return self.precision
        gpu = torch.cuda.is_available() and self.accelerator in ("auto", "gpu", "cuda")
        return "bf16-mixed" if gpu else "32-true"

    def resolve(self) -> dict[str, Any]:
        """Check the options against this machine and return what will actually run.

        Returns
        -------
        dict
            ``accelerator`` (``"cpu"``, ``"cuda"`` or ``"mps"``), ``devices`` (GPU ids, or the
            number of CPU processes), ``num_devices``, ``num_nodes``, ``world_size``,
            ``strategy`` (``"ddp"`` whenever more than one process runs) and ``precision``.

        Raises
        ------
        ValueError
            For a GPU request without a GPU, more GPUs than present, GPU ids on the CPU.

        Examples
        --------
        >>> r = TrainerConfig(accelerator="cpu", devices="2", strategy="ddp").resolve()
        >>> r["accelerator"], r["world_size"], r["strategy"]
        ('cpu', 2, 'ddp')
        """
        cuda = torch.cuda.is_available()
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        if self.accelerator in ("gpu", "cuda") and not cuda:
            raise ValueError(f"--accelerator: {self.accelerator!r} requested but no CUDA GPU is available "
                             f"(torch {torch.__version__}); use --accelerator cpu or auto")
        if self.accelerator == "mps" and not mps:
            raise ValueError("--accelerator: 'mps' requested but Apple's MPS is not available; use --accelerator cpu or auto")
        kind = {"gpu": "cuda", "cuda": "cuda", "mps": "mps", "cpu": "cpu"}.get(self.accelerator, "cuda" if cuda else "cpu")
        dev = _devices(self.devices)
        if kind == "cuda":
            available = torch.cuda.device_count()
            if dev == "auto" or dev == -1:
                ids = list(range(available))
            elif isinstance(dev, int):
                if dev > available:
                    raise ValueError(f"--devices: {dev} GPUs requested, {available} available")
                ids = list(range(dev))
            else:
                bad = [d for d in dev if d >= available]
                if bad:
                    raise ValueError(f"--devices: GPU ids {bad} do not exist ({available} GPU(s): 0..{available - 1})")
                ids = list(dev)
            devices: Any = ids
            n = len(ids)
        else:
            if isinstance(dev, list):
                raise ValueError(f"--devices: a list of device ids ({self.devices!r}) needs GPUs; on the {kind} give a count")
            n = 1 if dev in ("auto", -1) else int(dev)
            if kind == "mps" and n != 1:
                raise ValueError(f"--devices: MPS has one device, got {n}")
            devices = n
        world = n * self.num_nodes
        strategy = self.strategy
        if strategy == "auto" and world > 1:
            strategy = "ddp"
        precision = self.precision if self.precision != "auto" else ("bf16-mixed" if kind == "cuda" else "32-true")
        return {"accelerator": kind, "devices": devices, "num_devices": n, "num_nodes": self.num_nodes, "world_size": world,
                "strategy": strategy, "precision": precision}


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _devices(value: str) -> Any:
    v = str(value).strip()
    if v == "auto":
        return "auto"
    try:
        if "," in v:
            ids = [int(x) for x in v.split(",") if x.strip()]
            if not ids or any(i < 0 for i in ids) or len(set(ids)) != len(ids):
                raise ValueError
            return ids
        n = int(v)
    except ValueError:
        raise ValueError(f"--devices: expected 'auto', a count >= 1 or a comma-separated list of distinct ids, got {value!r}") from None
    if n == 0 or n < -1:
        raise ValueError(f"--devices: expected 'auto', a count >= 1 (or -1: all GPUs) or a list of ids, got {value!r}")
    return n


def run_dir_checkpoint(out_dir: str | os.PathLike) -> Path:
    """Path of the resumable Lightning checkpoint of a run folder.

    Parameters
    ----------
    out_dir : path-like
        Run folder.

    Returns
    -------
    Path
        ``out_dir/checkpoints/last.ckpt``.

    Examples
    --------
    >>> run_dir_checkpoint("runs/a").as_posix()
    'runs/a/checkpoints/last.ckpt'
    """
    return Path(out_dir) / "checkpoints" / "last.ckpt"


# --------------------------------------------------------------------------- ranks and seeds


def is_rank_zero(trainer: Any = None) -> bool:
    """Whether this process is rank zero of a (possibly multi-process) run.

    Uses the trainer when given, else ``torch.distributed`` when initialised, else the launcher's
    environment (``RANK``; ``NODE_RANK`` and ``LOCAL_RANK`` as set by Lightning's DDP launcher,
    which starts the other processes of a ``--strategy ddp`` run by re-running the command).

    Parameters
    ----------
    trainer : pytorch_lightning.Trainer, optional
        A trainer that has started (``trainer.is_global_zero``).

    Returns
    -------
    bool
        True in a single-process run and in rank zero.

    Examples
    --------
    >>> is_rank_zero()
    True
    """
    if trainer is not None:
        return bool(trainer.is_global_zero)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    env = os.environ
    for key in ("RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if env.get(key, "").strip():
            return _int_env(key) == 0
    return _int_env("LOCAL_RANK") == 0 and _int_env("NODE_RANK", _int_env("GROUP_RANK")) == 0


def _int_env(key: str, default: int = 0) -> int:
    try:
        return int(os.environ.get(key, "").strip() or default)
    except ValueError:
        return default


def epoch_seed(seed: int, epoch: int, rank: int = 0, batch: int = -1) -> int:
    """Seed of one epoch (or one batch) of one process, derived from the run's seed (exact resume).

    Parameters
    ----------
    seed : int
        The run's seed (``--seed``).
    epoch : int
        Zero-based epoch.
    rank : int
        Global rank of the process.
    batch : int
        Zero-based batch within the epoch (-1: the epoch's seed).

    Returns
    -------
    int
        A 63-bit seed; the same arguments give the same seed in every process and session.

    Examples
    --------
    >>> epoch_seed(0, 3) == epoch_seed(0, 3) != epoch_seed(0, 4)
    True
    """
    digest = hashlib.sha256(f"nlvision:{int(seed)}:{int(epoch)}:{int(rank)}:{int(batch)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class EpochSampler(torch.utils.data.RandomSampler):
    """Random order of a data set that depends only on (seed, epoch): resumable shuffling.

    Lightning calls :meth:`set_epoch` before every epoch, so a resumed run draws the same order
    for epoch *k* as the uninterrupted one. In a multi-process run Lightning replaces it with a
    ``DistributedSampler`` (shuffled, seeded by ``--seed`` and the epoch, equally resumable).

    Parameters
    ----------
    data_source : Sized
        The data set.
    seed : int
        The run's seed.

    Examples
    --------
    >>> s = EpochSampler(range(5), seed=0)
    >>> a = list(s); s.set_epoch(1); b = list(s); s.set_epoch(0)
    >>> sorted(a) == [0, 1, 2, 3, 4] and a == list(s) and a != b
    True
    """

    def __init__(self, data_source, seed: int = 0) -> None:
        super().__init__(data_source)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order ``__iter__`` yields.

        Parameters
        ----------
        epoch : int
            Zero-based epoch.
        """
        self.epoch = int(epoch)

    def __iter__(self):
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        yield from torch.randperm(len(self.data_source), generator=g).tolist()

    def __len__(self) -> int:
        return len(self.data_source)


def _seed_step(seed: int, epoch: int, rank: int, batch: int) -> None:
    s = epoch_seed(seed, epoch, rank, batch)
    random.seed(s)
    np.random.seed(s % (1 << 32))
    torch.manual_seed(s)  # CPU and every CUDA device: dropout, augmentation drawn from the global generator


# --------------------------------------------------------------------------- resume


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def check_resume(previous: Mapping[str, Any], current: Mapping[str, Any], *, may_change: Iterable[str] = RESUME_MAY_CHANGE) -> None:
    """Refuse to resume a run with other settings than it started with.

    Compares the ``task``, ``model``, ``run`` and ``trainer`` entries of two ``config.json``
    records, key by key (nested keys dotted); keys present in both must be equal unless listed in
    ``may_change`` (or below a listed prefix). The number of epochs and the device options may
    change; a different learning rate, batch size, seed, precision, architecture or data may not:
    Lightning would silently keep the checkpoint's optimiser state and the run would no longer be
    what ``config.json`` says.

    Parameters
    ----------
    previous : mapping
        The run folder's ``config.json``.
    current : mapping
        The record of the resumed run.
    may_change : iterable of str
        Dotted keys allowed to differ.

    Raises
    ------
    ValueError
        One line listing every differing key with the run's value and the new one.

    Examples
    --------
    >>> old = {"run": {"train": {"lr": 0.01}}, "trainer": {"epochs": 2}}
    >>> check_resume(old, {"run": {"train": {"lr": 0.01}}, "trainer": {"epochs": 5}})  # more epochs: fine
    >>> check_resume(old, {"run": {"train": {"lr": 0.1}}, "trainer": {"epochs": 2}})
    Traceback (most recent call last):
    ...
    ValueError: --resume: the run was started with run.train.lr=0.01 (now 0.1); resume with the same options or use another --out
    """
    allowed = tuple(may_change)
    old = _flatten({k: previous.get(k, {}) for k in ("task", "model", "run", "trainer")})
    new = _flatten(_jsonable({k: current.get(k, {}) for k in ("task", "model", "run", "trainer")}))
    diffs = []
    for key in sorted(set(old) & set(new)):
        if any(key == a or key.startswith(a + ".") for a in allowed):
            continue
        if old[key] != new[key]:
            diffs.append(f"{key}={old[key]!r} (now {new[key]!r})")
    if diffs:
        raise ValueError("--resume: the run was started with " + ", ".join(diffs)
                         + "; resume with the same options or use another --out")


def _read_config(out: Path) -> dict[str, Any] | None:
    try:
        obj = json.loads((out / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


# --------------------------------------------------------------------------- training


def make_trainer(config: TrainerConfig, out_dir: str | os.PathLike, *, monitor: str | None = None, mode: str = "max",
                 resolved: Mapping[str, Any] | None = None):
    """Build a Lightning ``Trainer`` writing checkpoints and logs under ``out_dir``.

    Parameters
    ----------
    config : TrainerConfig
        Trainer options.
    out_dir : path-like
        Run folder (nothing is written until the trainer runs).
    monitor : str, optional
        Metric of the ``best-epoch=N.ckpt`` checkpoint.
    mode : str
        ``"max"`` or ``"min"`` for ``monitor``.
    resolved : mapping, optional
        :meth:`TrainerConfig.resolve` output (computed when omitted).

    Returns
    -------
    pytorch_lightning.Trainer
        With checkpointing, safetensors export, per-epoch seeding, learning-rate monitor,
        CSV (and TensorBoard) loggers.

    Raises
    ------
    ValueError
        For options Lightning rejects (one line).
    MissingExtraError
        Without Lightning.

    Examples
    --------
    >>> import tempfile
    >>> t = make_trainer(TrainerConfig(epochs=1, accelerator="cpu", devices="1", progress=False), tempfile.mkdtemp())
    >>> t.max_epochs
    1
    """
    require_lightning()
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger

    res = dict(resolved) if resolved is not None else config.resolve()
    out = Path(out_dir)
    if not config.progress:  # quiet runs (demo, tests, benchmarks): no GPU/TPU banners and tips
        import logging

        logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
        logging.getLogger("lightning_fabric").setLevel(logging.WARNING)
    # ``last.ckpt`` is rewritten after every epoch. (Lightning >= 2.5 writes ``save_last`` only when a
    # top-k checkpoint was saved in the same step, so ``save_top_k=0, save_last=True`` would leave no
    # checkpoint before the end of training and a crash would lose the whole run.)
    callbacks: list = [
        ModelCheckpoint(dirpath=out / "checkpoints", filename="last", save_top_k=1, monitor=None,
                        enable_version_counter=False),
        SafetensorsExport(out / "model.safetensors"),
        _EpochSeeding(config.seed),
        LearningRateMonitor(logging_interval="epoch"),
    ]
    if monitor:
        callbacks.insert(1, ModelCheckpoint(dirpath=out / "checkpoints", filename="best-{epoch}", save_top_k=1,
                                            monitor=monitor, mode=mode))
    loggers: list = [CSVLogger(str(out), name="logs", version="")]
    try:
        import tensorboard  # noqa: F401
        from pytorch_lightning.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(str(out), name="logs", version="tensorboard"))
    except ImportError:  # tensorboard is optional: CSV logging is enough
        pass
    return _trainer(res, callbacks=callbacks, logger=loggers, max_epochs=config.epochs,
                    log_every_n_steps=config.log_every_n_steps, enable_progress_bar=config.progress,
                    limit_train_batches=config.limit_train_batches, default_root_dir=str(out))


def _trainer(resolved: Mapping[str, Any], **kwargs: Any):
    import pytorch_lightning as pl

    accelerator = {"cuda": "gpu"}.get(resolved["accelerator"], resolved["accelerator"])
    if kwargs.get("enable_progress_bar"):  # a bar on stderr: stdout is for results (--json)
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), _stderr_progress_bar()]
    try:
        from pytorch_lightning.utilities.exceptions import MisconfigurationException
    except ImportError:  # pragma: no cover
        MisconfigurationException = RuntimeError  # noqa: N806
    try:
        return pl.Trainer(accelerator=accelerator, devices=resolved["devices"], strategy=resolved["strategy"],
                          num_nodes=resolved["num_nodes"], precision=resolved["precision"], enable_model_summary=False,
                          **kwargs)
    except (MisconfigurationException, ValueError, TypeError) as exc:
        raise ValueError(f"trainer options: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}") from None


def fit(
    module,
    train_loader,
    val_loader=None,
    *,
    config: TrainerConfig,
    out_dir: str | os.PathLike,
    run_config: dict | None = None,
    resume: bool = False,
    monitor: str | None = None,
    mode: str = "max",
    may_change: Iterable[str] = RESUME_MAY_CHANGE,
):
    """Train ``module`` and export its weights; returns the Lightning ``Trainer``.

    Everything is validated (options against this machine, resume settings) before anything is
    written. Only rank zero writes ``config.json``.

    Parameters
    ----------
    module : LightningModule
        With attributes ``model``, ``task`` and ``model_config`` (see module docstring).
    train_loader, val_loader : DataLoader
        Training and (optional) validation data. Shuffle the training data with
        :class:`EpochSampler` for exact resume.
    config : TrainerConfig
        Trainer options.
    out_dir : path-like
        Run folder; receives config.json, checkpoints/, model.safetensors, logs/.
    run_config : dict, optional
        Task configuration saved in config.json beside the trainer config (and logged as
        hyper-parameters).
    resume : bool
        Continue from ``out_dir/checkpoints/last.ckpt``.
    monitor : str, optional
        Metric of the best checkpoint.
    mode : str
        ``"max"`` or ``"min"``.
    may_change : iterable of str
        Dotted config keys allowed to change on resume (see :func:`check_resume`).

    Returns
    -------
    pytorch_lightning.Trainer
        The trainer after ``fit`` (use it for the final test pass, see :func:`run_inference`).

    Raises
    ------
    ValueError
        If ``resume`` is set and no checkpoint exists, the settings differ from the run's, or the
        trainer options do not fit this machine.
    MissingExtraError
        Without Lightning.

    Examples
    --------
    >>> import tempfile, pytorch_lightning as pl
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> class Tiny(pl.LightningModule):
    ...     task, model_config = "toy", {}
    ...     def __init__(self):
    ...         super().__init__(); self.model = torch.nn.Linear(2, 1)
    ...     def training_step(self, batch, i):
    ...         return self.model(batch[0]).pow(2).mean()
    ...     def configure_optimizers(self):
    ...         return torch.optim.SGD(self.parameters(), lr=0.1)
    >>> data = DataLoader(TensorDataset(torch.ones(4, 2)), batch_size=2)
    >>> cfg = TrainerConfig(epochs=1, accelerator="cpu", devices="1", progress=False)
    >>> fit(Tiny(), data, config=cfg, out_dir=tempfile.mkdtemp()).global_step
    2
    """
    require_lightning()
    import pytorch_lightning as pl

    out = Path(out_dir)
    ckpt = run_dir_checkpoint(out)
    if resume and not ckpt.is_file():
        raise ValueError(f"--resume: no checkpoint at {ckpt}")
    resolved = config.resolve()
    record: dict[str, Any] = {"task": module.task, "model": module.model_config, "run": dict(run_config or {}),
                              "trainer": dataclasses.asdict(config), "resolved": resolved, "precision": resolved["precision"]}
    previous = _read_config(out) if resume else None
    if previous is not None:
        check_resume(previous, record, may_change=may_change)
        record["run"] = {**previous.get("run", {}), **record["run"]}
    trainer = make_trainer(config, out, monitor=monitor, mode=mode, resolved=resolved)  # rejects bad options first
    pl.seed_everything(config.seed, workers=True, verbose=False)
    entry = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "resume": bool(resume),
             "epochs": config.epochs, **{k: resolved[k] for k in ("accelerator", "devices", "world_size", "strategy", "precision")}}
    record["history"] = list((previous or {}).get("history", [])) + [entry]
    if is_rank_zero():
        out.mkdir(parents=True, exist_ok=True)
        if resume:
            _keep_previous_csv_log(out)
        write_json_atomic(out / "config.json", _jsonable(record))
    _set_hparams(module, record)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*too few batches.*|.*number of training batches.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        warnings.filterwarnings("ignore", message=".*hparams.*|.*hyperparameters.*")
        warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
        trainer.fit(module, train_loader, val_loader, ckpt_path=str(ckpt) if resume else None)
    return trainer


def _set_hparams(module, record: Mapping[str, Any]) -> None:
    """Give the module the run's flattened settings so every logger records them (hparams.yaml, TensorBoard)."""
    flat = {k: (v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v, default=str))
            for k, v in _flatten(_jsonable({k: record[k] for k in ("task", "model", "run", "trainer", "resolved")})).items()}
    if hasattr(module, "save_hyperparameters"):
        existing = dict(getattr(module, "hparams", {}) or {})
        module.save_hyperparameters({**existing, **flat})


def _keep_previous_csv_log(out: Path) -> None:
    """Lightning's CSVLogger deletes ``logs/metrics.csv`` of the interrupted run when a run resumes;
    move it to ``logs/metrics.partN.csv`` first so no logged epoch is lost."""
    csv = out / "logs" / "metrics.csv"
    if csv.is_file():
        n = 1
        while (out / "logs" / f"metrics.part{n}.csv").exists():
            n += 1
        os.replace(csv, out / "logs" / f"metrics.part{n}.csv")


try:
    from pytorch_lightning.callbacks import Callback as _Callback
    from pytorch_lightning import LightningModule as _LightningModule
except ImportError:  # Lightning is the [train] extra; the classes below are only used with it
    _Callback = object
    _LightningModule = torch.nn.Module


class SafetensorsExport(_Callback):
    """Write the module's plain model to a safetensors checkpoint after each epoch and at the end."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _export(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            from nlvision.nn.weights import save_checkpoint

            save_checkpoint(self.path, pl_module.model, task=pl_module.task, config=pl_module.model_config)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._export(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self._export(trainer, pl_module)


def _stderr_progress_bar():
    """Lightning's tqdm progress bar, drawn on stderr (Lightning's own writes to stdout)."""
    import contextlib
    import sys

    from pytorch_lightning.callbacks import TQDMProgressBar

    class _StderrTQDM(TQDMProgressBar):
        def init_sanity_tqdm(self):
            with contextlib.redirect_stdout(sys.stderr):
                return super().init_sanity_tqdm()

        def init_train_tqdm(self):
            with contextlib.redirect_stdout(sys.stderr):
                return super().init_train_tqdm()

        def init_predict_tqdm(self):
            with contextlib.redirect_stdout(sys.stderr):
                return super().init_predict_tqdm()

        def init_validation_tqdm(self):
            with contextlib.redirect_stdout(sys.stderr):
                return super().init_validation_tqdm()

        def init_test_tqdm(self):
            with contextlib.redirect_stdout(sys.stderr):
                return super().init_test_tqdm()

    return _StderrTQDM()


#: Checkpoint entries of :class:`_EpochSeeding`: the model's own generators, the training data
#: set's generator.
_MODEL_GENERATORS_KEY = "nlvision_model_generators"
_DATA_GENERATOR_KEY = "nlvision_data_generator"


def _module_generators(model: torch.nn.Module) -> dict[str, torch.Generator]:
    """The ``generator`` attributes of a model's submodules (e.g. the erasing modules), by name."""
    return {name: m.generator for name, m in model.named_modules()
            if isinstance(getattr(m, "generator", None), torch.Generator)}


def _train_loader(trainer) -> torch.utils.data.DataLoader | None:
    loader = trainer.train_dataloader
    return loader if isinstance(loader, torch.utils.data.DataLoader) else None


class _EpochSeeding(_Callback):
    """Exact resume: re-seed the global generators every batch, carry the rest in checkpoints.

    Python, NumPy and torch are re-seeded before every training batch from (seed, epoch, rank,
    batch). Per batch rather than per epoch: whatever Lightning or a data loader draws from the
    global generators between batches (e.g. a DataLoader's base seed when an epoch's iterator is
    created, which happens at another moment in a resumed run) cannot shift the randomness of a
    step. The generators the global seeding does not reach are handled here too: a batch
    sampler's epoch is set every epoch (Lightning sets a ``sampler``'s, not a ``batch_sampler``'s);
    the ``generator`` attributes of the model's submodules (RE / CRE / grayscale) and of an
    in-process training data set (flip / crop) are saved in every checkpoint and restored on
    resume (the data set's at the next epoch start: the loader does not exist yet at restore)."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._restored_data_generator: torch.Tensor | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        _seed_step(self.seed, trainer.current_epoch, trainer.global_rank, batch_idx)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        loader = _train_loader(trainer)
        if loader is None:
            return
        if hasattr(loader.batch_sampler, "set_epoch"):
            loader.batch_sampler.set_epoch(trainer.current_epoch)
        if self._restored_data_generator is not None and isinstance(getattr(loader.dataset, "generator", None), torch.Generator):
            loader.dataset.generator.set_state(self._restored_data_generator)
        self._restored_data_generator = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[_MODEL_GENERATORS_KEY] = {k: g.get_state() for k, g in _module_generators(pl_module.model).items()}
        loader = _train_loader(trainer)
        data_gen = getattr(loader.dataset, "generator", None) if loader is not None and loader.num_workers == 0 else None
        if isinstance(data_gen, torch.Generator):  # worker processes draw from their own copies
            checkpoint[_DATA_GENERATOR_KEY] = data_gen.get_state()

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        saved = checkpoint.get(_MODEL_GENERATORS_KEY, {})
        for name, g in _module_generators(pl_module.model).items():
            if name in saved:
                g.set_state(saved[name])
        self._restored_data_generator = checkpoint.get(_DATA_GENERATOR_KEY)


# --------------------------------------------------------------------------- inference


class _Indexed(torch.utils.data.Dataset):
    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        item = self.dataset[i]
        return (i, *item) if isinstance(item, tuple) else (i, item)


class _Inference(_LightningModule):
    def __init__(self, model: torch.nn.Module, forward: Callable[..., Any]):
        super().__init__()
        self.model = model
        self._forward = forward
        self.collected: list[dict[str, torch.Tensor]] = []

    def predict_step(self, batch, batch_idx: int):
        index, inputs = batch[0], batch[1:]
        out = self._forward(self.model, *inputs)
        if isinstance(out, torch.Tensor):
            out = {"output": out}
        row = {"index": index.detach().cpu()}
        for k, v in out.items():
            v = v.detach()
            row[k] = (v.float() if v.is_floating_point() else v).cpu()
        self.collected.append(row)
        return None


def _default_forward(model, x, *rest):
    return model(x)


def run_inference(
    model: torch.nn.Module,
    dataset,
    *,
    config: TrainerConfig | None = None,
    trainer=None,
    forward: Callable[..., Any] | None = None,
    batch_size: int = 256,
    num_workers: int = 0,
    collate_fn: Callable | None = None,
    progress: bool | None = None,
) -> dict[str, np.ndarray] | None:
    """Run a model over a data set on the chosen accelerator, batched, through Lightning.

    Every process of a multi-process run handles its share; rank zero receives all outputs in
    data-set order (each item once), the other ranks ``None``.

    Parameters
    ----------
    model : nn.Module
        The model (moved to the device, put in eval mode).
    dataset : Dataset
        Items are tuples ``(x, ...)`` or single tensors.
    config : TrainerConfig, optional
        Accelerator, devices, strategy, precision and progress (default: CPU, one device).
    trainer : pytorch_lightning.Trainer, optional
        Reuse a trainer (e.g. the one returned by :func:`fit`: the test pass runs on the training
        devices); ``config`` is then ignored.
    forward : callable, optional
        ``forward(model, *item)`` → tensor or dict of tensors, first dimension the batch
        (default: ``model(x)``).
    batch_size : int
        Batch size per process.
    num_workers : int
        DataLoader workers per process.
    collate_fn : callable, optional
        DataLoader collate function.
    progress : bool, optional
        Progress bar (default: ``config.progress``).

    Returns
    -------
    dict of str to np.ndarray or None
        ``index`` and each output, concatenated in data-set order, on rank zero.

    Raises
    ------
    ValueError
        For a bad batch size or trainer options.
    MissingExtraError
        Without Lightning.

    Examples
    --------
    >>> ds = torch.utils.data.TensorDataset(torch.arange(5.0)[:, None])
    >>> out = run_inference(torch.nn.Identity(), ds, batch_size=2,
    ...                     config=TrainerConfig(accelerator="cpu", devices="1", progress=False))
    >>> out["output"].ravel().tolist(), out["index"].tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0], [0, 1, 2, 3, 4])
    """
    require_lightning("inference")
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"--batch-size: expected a positive int, got {batch_size!r}")
    from torch.utils.data import DataLoader

    cfg = config or TrainerConfig(accelerator="cpu", devices="1", progress=False)
    show = cfg.progress if progress is None else bool(progress)
    if trainer is None:
        if not show:
            import logging

            logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
            logging.getLogger("lightning_fabric").setLevel(logging.WARNING)
        trainer = _trainer(cfg.resolve(), logger=False, enable_checkpointing=False, enable_progress_bar=show,
                           inference_mode=True, default_root_dir=None)
    wrapper = _Inference(model, forward or _default_forward)
    loader = DataLoader(_Indexed(dataset), batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=collate_fn)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*predict returned None.*")
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
        trainer.predict(wrapper, dataloaders=loader, return_predictions=False)
    local = wrapper.collected
    rows: list[list[dict[str, torch.Tensor]]] = [local]
    if torch.distributed.is_available() and torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        rows = [None] * torch.distributed.get_world_size()  # type: ignore[list-item]
        torch.distributed.all_gather_object(rows, local)
        if torch.distributed.get_rank() != 0:
            return None
    flat = [r for part in rows for r in part]
    if not flat:
        return {"index": np.zeros(0, dtype=np.int64)}
    keys = list(flat[0])
    merged = {k: torch.cat([r[k] for r in flat]).numpy() for k in keys}
    _, first = np.unique(merged["index"], return_index=True)  # sorted by index, each item once
    return {k: v[first] for k, v in merged.items()}


# --------------------------------------------------------------------------- export


def export_model(model: torch.nn.Module, example: torch.Tensor, path: str | os.PathLike, *, atol: float = 1e-4) -> dict[str, Any]:
    """Export a model to ONNX (``.onnx``) or ``torch.export`` (``.pt2``) and verify its outputs.

    The batch dimension is dynamic. The exported file is run on ``example`` and on a batch of
    another size (ONNX Runtime for ONNX, the loaded ``ExportedProgram`` for ``.pt2``) and must
    reproduce the model's outputs within ``atol``; otherwise nothing is written. The file is
    written atomically into an existing folder.

    Parameters
    ----------
    model : nn.Module
        Model, taking one tensor (exported in eval mode on the CPU).
    example : torch.Tensor
        Example input with batch size >= 2.
    path : path-like
        ``*.onnx`` or ``*.pt2``; its folder must exist.
    atol : float
        Largest allowed absolute difference.

    Returns
    -------
    dict
        ``path``, ``format``, ``max_abs_diff``, ``batch_sizes`` checked.

    Raises
    ------
    ValueError
        For another suffix, a missing folder, a failed export or outputs that differ.
    MissingExtraError
        For ONNX without onnx/onnxruntime (the ``[export]`` extra).

    Examples
    --------
    Exporting takes seconds (tested in ``tests/nn/test_nn_engine.py``), so it is skipped here:

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "lin.pt2"
    >>> r = export_model(torch.nn.Linear(3, 2), torch.rand(2, 3), p)  # doctest: +SKIP
    >>> r["format"], r["max_abs_diff"] <= 1e-4  # doctest: +SKIP
    ('pt2', True)
    """
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("onnx", "pt2"):
        raise ValueError(f"-o/--out: expected a .onnx or .pt2 file, got {out.name!r}")
    if not out.parent.is_dir():
        raise ValueError(f"-o/--out: folder {out.parent} does not exist")
    if out.is_dir():
        raise ValueError(f"-o/--out: {out} is a folder")
    if not isinstance(example, torch.Tensor) or example.ndim < 1 or example.shape[0] < 2:
        raise ValueError("example: expected a tensor with a batch dimension >= 2")
    if fmt == "onnx":
        _require_export("ONNX")
    model = model.eval().cpu()
    g = torch.Generator().manual_seed(0)
    other = torch.rand((example.shape[0] + 1, *example.shape[1:]), generator=g, dtype=example.dtype)
    inputs = [example, other]
    with torch.no_grad():
        refs = [model(x).float().numpy() for x in inputs]
    with atomic_path(out) as tmp:
        try:
            if fmt == "onnx":
                got = _export_onnx(model, example, tmp, inputs)
            else:
                got = _export_pt2(model, example, tmp, inputs)
        except (RuntimeError, TypeError, AssertionError, ImportError) as exc:
            raise ValueError(f"export to {fmt} failed: {(str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]}") from None
        diff = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(refs, got))
        if not diff <= atol:
            raise ValueError(f"export to {fmt}: outputs differ from the model's by {diff:.3g} > {atol:g}; nothing written")
    return {"path": str(out), "format": fmt, "max_abs_diff": diff, "batch_sizes": [int(x.shape[0]) for x in inputs]}


def _export_onnx(model, example, tmp: Path, inputs) -> list[np.ndarray]:
    import onnxruntime as ort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(tmp), input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=17, dynamo=False)
    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    return [sess.run(None, {"input": x.numpy()})[0] for x in inputs]


def _export_pt2(model, example, tmp: Path, inputs) -> list[np.ndarray]:
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp))
    loaded = torch.export.load(str(tmp)).module()
    with torch.no_grad():
        return [loaded(x).float().numpy() for x in inputs]
