"""Safe weight files: safetensors or ``torch.load(weights_only=True)``, never unpickling.

nlvision checkpoints are safetensors files whose metadata carries the task name and the model
configuration (JSON), so ``evaluate CHECKPOINT`` can rebuild the model and reject a checkpoint
of another task or architecture with a clear message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from nlvision.atomic import atomic_path

_META_KEY = "nlvision"


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict from a ``.safetensors`` file or a ``.pth``/``.pt``/``.ckpt`` file.

    ``.pth`` files are read with ``torch.load(weights_only=True)``; a Lightning checkpoint's
    ``state_dict`` entry is used when present.

    Raises
    ------
    ValueError
        If the file is missing, unreadable, or does not hold a mapping of tensors.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such weights file")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(p))
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{p}: cannot read weights ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{p}: expected a state dict (mapping of parameter names to tensors)")
    return dict(obj)


def load_weights(
    model: nn.Module, path_or_state: str | os.PathLike | Mapping[str, torch.Tensor], *, strict: bool = True, prefix: str = ""
) -> nn.Module:
    """Load weights into ``model`` with key and shape checking.

    Parameters
    ----------
    model : nn.Module
        Target module.
    path_or_state : path or mapping
        Weights file (see :func:`read_state_dict`) or a state dict.
    strict : bool
        Require exactly the model's keys (default). With ``strict=False`` missing keys are kept
        at their current values and unexpected keys are ignored; shapes must still match.
    prefix : str
        Only keys starting with this prefix are used, with the prefix removed (e.g. ``"backbone."``).

    Raises
    ------
    ValueError
        Listing missing and unexpected keys (strict) or mismatched shapes.
    """
    state = read_state_dict(path_or_state) if not isinstance(path_or_state, Mapping) else dict(path_or_state)
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if strict and (missing or unexpected):
        raise ValueError(
            f"weights do not match {type(model).__name__}: {len(missing)} missing key(s) {_short(missing)}, "
            f"{len(unexpected)} unexpected key(s) {_short(unexpected)}"
        )
    mismatched = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own if k in state and state[k].shape != own[k].shape]
    if mismatched:
        raise ValueError(f"weights do not match {type(model).__name__}: shape mismatch {_short(mismatched)}")
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=strict)
    return model


def _short(keys: list[str], n: int = 5) -> str:
    if not keys:
        return "[]"
    return "[" + ", ".join(keys[:n]) + (f", ... (+{len(keys) - n})" if len(keys) > n else "") + "]"


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, task: str, config: Mapping[str, Any]) -> Path:
    """Save ``model``'s weights with the task name and model configuration, atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
    >>> _ = save_checkpoint(p, nn.Linear(2, 1), task="demo", config={"width": 2})
    >>> state, cfg = load_checkpoint(p, task="demo")
    >>> sorted(state), cfg
    (['bias', 'weight'], {'width': 2})
    """
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {_META_KEY: json.dumps({"task": task, "config": dict(config)}, default=str)}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, *, task: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint` and check its task.

    Returns
    -------
    (state_dict, config)

    Raises
    ------
    ValueError
        If the file is not an nlvision checkpoint or belongs to another task.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such checkpoint")
    try:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ValueError(f"{p}: not a safetensors checkpoint ({type(exc).__name__})") from None
    if _META_KEY not in meta:
        raise ValueError(f"{p}: not an nlvision checkpoint (no '{_META_KEY}' metadata)")
    info = json.loads(meta[_META_KEY])
    if info.get("task") != task:
        raise ValueError(f"{p}: checkpoint is for task {info.get('task')!r}, expected {task!r}")
    return state, info.get("config", {})
