"""Helpers shared by the command modules: output and batch processing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import typer


def emit(result: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``result`` as JSON (``--json``) or as human-readable ``text``."""
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=_jsonable))
    else:
        typer.echo(text if text is not None else _format_plain(result))


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


def run_batch(
    items: Iterable[Any],
    process: Callable[[Any], Any],
    *,
    label: str = "processing",
    show_progress: bool = True,
) -> tuple[list[tuple[Any, Any]], list[tuple[Any, str]]]:
    """Apply ``process`` to every item; a failing item is reported on stderr and skipped.

    Returns
    -------
    (done, failed)
        ``done`` holds ``(item, result)`` pairs, ``failed`` holds ``(item, message)`` pairs.
        Commands exit with code 1 when ``failed`` is not empty.
    """
    from tqdm import tqdm

    items = list(items)
    done, failed = [], []
    bar = tqdm(items, desc=label, disable=not show_progress or len(items) < 2, file=sys.stderr)
    for item in bar:
        try:
            done.append((item, process(item)))
        except (ValueError, TypeError, OSError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            failed.append((item, message))
            tqdm.write(f"error: {item}: {message}", file=sys.stderr)
    return done, failed


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
