"""Helpers shared by the command modules: output, batch processing and the shared options.

Shared options (declare them as parameter defaults; they validate and apply themselves):

* ``jobs: int = JOBS`` and ``scheduler: Optional[str] = SCHEDULER`` — pass both to
  :func:`run_batch` (``run_batch(items, process, label=..., jobs=jobs, scheduler=scheduler)``);
* ``max_pixels: Optional[str] = MAX_PIXELS`` — sets :func:`nlvision.limits.set_max_pixels`;
* ``value_range: Optional[str] = RANGE`` — sets the default ``value_range`` of
  :func:`nlvision.imageio.load_image` (the float-range rule, ``--range LO,HI`` or ``auto``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import typer

from nlvision.batch import check_engine, run_batch  # noqa: F401  (run_batch: the commands' batch runner)


def emit(result: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``result`` as JSON (``--json``; NaN/inf become null: strict JSON) or as human-readable ``text``."""
    if as_json:
        clean = _finite(result)
        try:
            text = json.dumps(clean, indent=2, default=_jsonable, allow_nan=False)
        except ValueError:  # a NaN hidden in an object converted by _jsonable: still print the result
            text = json.dumps(clean, indent=2, default=_jsonable)
        typer.echo(text)
    else:
        typer.echo(text if text is not None else _format_plain(result))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return obj
    if isinstance(obj, np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.ndarray) and np.issubdtype(obj.dtype, np.floating):
        return [_finite(v) for v in obj.tolist()] if obj.ndim else _finite(float(obj))
    return obj


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _format_plain(result: Any) -> str:
    if isinstance(result, dict):
        width = max((len(str(k)) for k in result), default=0)
        return "\n".join(f"{str(k).ljust(width)}  {_fmt(v)}" for k, v in result.items())
    return str(result)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def failed_entries(failed: list) -> list[dict]:
    """``[{"input": path, "error": message}, ...]`` for a JSON summary of a batch's failures."""
    from nlvision.batch import item_name

    return [{"input": item_name(item), "error": message} for item, message in failed]


def check_output_folder(out: Path) -> None:
    """Refuse an output folder that is a file or lies below a file (before anything is written)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o/--out: {out} exists and is not a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"-o/--out: {parent} is not a folder")
            break


def is_batch_spec(spec: str) -> bool:
    """True when IN names many images: a folder, or a glob pattern that is not an existing file."""
    p = Path(spec)
    return p.is_dir() or (not p.exists() and any(ch in spec for ch in "*?["))


def check_batch_output_folder(out: Path, inputs: list[Path]) -> None:
    """``-o/--out`` of a batch command: a folder (existing or to create), not below a file, and
    not the folder of an input (inputs are never overwritten). Checked before anything is written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o/--out: {out} is a file; a folder is expected when IN is a folder or a glob")
    check_output_folder(out)
    if out.resolve() in {p.parent.resolve() for p in inputs}:
        raise ValueError(f"-o/--out: {out} is the input folder; choose another folder so inputs are not overwritten")


def check_training_inputs(what: str, out: Path, weights: Optional[Path] = None) -> None:
    """Validate what a ``train`` command needs before anything is trained or written.

    Checks that the ``[train]`` extra is installed, that ``out`` can be a run folder (not a
    file, not below a file), and that ``weights`` (if given) is a readable state dict (the same
    safe reader the training uses: no unpickling, sizes checked before allocating).
    """
    from nlvision.engine import require_lightning

    require_lightning(what)
    check_output_folder(out)
    if weights is not None:
        from nlvision.nn.weights import read_state_dict

        read_state_dict(weights)


def _check_jobs(value: int) -> int:
    check_engine(value, None)
    return value


def _apply_max_pixels(value: Optional[str]) -> Optional[str]:
    from nlvision.limits import set_max_pixels

    set_max_pixels(value)  # None resets to $NLVISION_MAX_PIXELS / the default
    return value


def _apply_range(value: Optional[str]) -> Optional[str]:
    from nlvision.imageio import set_default_range

    set_default_range(value)
    return value


# Options of the batch commands (denoise, inpaint, noise estimate, encrypt, anomaly detect, vsi).
JOBS = typer.Option(1, "--jobs", "-j", callback=_check_jobs, help="Local worker processes for a batch (outputs identical to --jobs 1).")
SCHEDULER = typer.Option(
    None, "--scheduler", help="Run the batch on a dask.distributed scheduler (tcp://host:8786), or 'local[:N]'; needs [scale]."
)
# Options of every command that reads images.
MAX_PIXELS = typer.Option(
    None, "--max-pixels", callback=_apply_max_pixels,
    help="Largest image (height x width) read; default 67108864 (8192x8192) or $NLVISION_MAX_PIXELS.",
)
RANGE = typer.Option(
    None, "--range", callback=_apply_range,
    help="How float images map to [0, 1]: LO,HI (e.g. 0,255) or auto; default: float files must lie in [0, 1].",
)


# Options of the Lightning trainer, shared by every `train`/`evaluate`/`predict` command (classify, reid, pose).
DEVICES = typer.Option("auto", "--devices", help="auto, a count (processes on the CPU, GPUs) or a list of GPU ids (0,1).")
ACCELERATOR = typer.Option("auto", "--accelerator", help="auto | cpu | gpu | mps")
STRATEGY = typer.Option("auto", "--strategy", help="auto | ddp (multi-GPU / multi-node / several CPU processes)")
NUM_NODES = typer.Option(1, "--num-nodes", min=1, help="Nodes for DDP.")
PRECISION = typer.Option("auto", "--precision", help="auto (bf16-mixed on GPU, fp32 on CPU) | 32-true | 16-mixed | ...")
LIMIT_BATCHES = typer.Option(1.0, "--limit-batches", help="Fraction (<= 1) or number of training batches per epoch.")
PROGRESS = typer.Option(True, "--progress/--no-progress")
SEED = typer.Option(0, "--seed", help="Global seed (initial weights, shuffling, augmentation, dropout).")
JSON = typer.Option(False, "--json", help="Print one JSON document on stdout.")
WEIGHTS = typer.Option(None, "--weights", help="Initial weights: .safetensors, or a torch.save file holding a state dict "
                       "(plain, under 'model'/'state_dict', 'module.' prefixes accepted; never unpickled).")
RESUME = typer.Option(False, "--resume", help="Continue OUT/checkpoints/last.ckpt exactly (same options; more --epochs allowed).")
BATCH_SIZE_EVAL = typer.Option(256, "--batch-size", min=1, help="Images per batch and device.")


def trainer_config(
    *, devices: str, accelerator: str, strategy: str, num_nodes: int, precision: str, seed: int = 0,
    limit_batches: float = 1.0, progress: bool = True, **kwargs: Any,
):
    """Build :class:`nlvision.engine.TrainerConfig` from the shared trainer options and check it on this machine.

    Raises ValueError (one line naming the option) for a bad value, a GPU request without a GPU,
    ``--devices 0``, ``--limit-batches -1``..., before anything is read or written.
    """
    from nlvision.engine import TrainerConfig

    cfg = TrainerConfig(devices=devices, accelerator=accelerator, strategy=strategy, num_nodes=num_nodes, precision=precision,
                        seed=seed, progress=progress, limit_train_batches=limit_batches, **kwargs)
    cfg.resolve()
    return cfg
