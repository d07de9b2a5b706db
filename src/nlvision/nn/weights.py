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

__all__ = ["STATE_DICT_KEYS", "file_sha256", "load_checkpoint", "load_weights", "read_state_dict", "save_checkpoint",
           "unwrap_state_dict", "weights_record"]

_META_KEY = "nlvision"


#: Keys under which common training scripts nest the model's state dict (torchvision's reference
#: scripts: ``{"model": ...}``; Lightning: ``{"state_dict": ...}``; many others: ``model_state_dict``).
STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict", "module")


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict from any common packaging, without unpickling arbitrary objects.

    Accepted: ``.safetensors`` files; PyTorch zip files (``torch.save``, PyTorch >= 1.6) read with
    ``torch.load(weights_only=True)`` holding a plain state dict or one nested under ``"model"``
    (torchvision's training scripts), ``"state_dict"`` (Lightning), ``"model_state_dict"`` or
    ``"module"``; keys prefixed ``module.`` (``DataParallel``/DDP) lose the prefix. Declared tensor
    sizes are checked against the file before anything is allocated (safetensors and PyTorch's zip
    reader both check them; the legacy pre-1.6 format, which allocates first, is refused).

    Parameters
    ----------
    path : path-like
        The weights file.

    Returns
    -------
    dict of str to torch.Tensor
        The state dict (on the CPU).

    Raises
    ------
    ValueError
        If the file is missing, unreadable, in the legacy format, or does not hold a mapping of
        tensors.

    References
    ----------
    Hugging Face safetensors format specification (https://github.com/huggingface/safetensors);
    PyTorch documentation, "Serialization semantics" (``torch.load(weights_only=True)``);
    torchvision's reference training scripts (``{"model": ...}`` checkpoints).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ddp.pth"
    >>> torch.save({"model": {"module.weight": torch.ones(2)}, "epoch": 3}, p)
    >>> read_state_dict(p)
    {'weight': tensor([1., 1.])}
    """
    import zipfile

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such weights file")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(p))
        else:
            if not zipfile.is_zipfile(p):
                raise ValueError("not a PyTorch zip file (the legacy pre-1.6 format is refused: it allocates declared "
                                 "sizes before reading; re-save with a current torch.save or as .safetensors)")
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{p}: cannot read weights ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]})") from None
    return unwrap_state_dict(obj, source=str(p))


def unwrap_state_dict(obj: Any, *, source: str = "weights") -> dict[str, torch.Tensor]:
    """Find the state dict inside a loaded checkpoint object and strip a ``module.`` prefix.

    Parameters
    ----------
    obj : mapping
        What ``torch.load(weights_only=True)`` or safetensors returned.
    source : str
        Name used in error messages.

    Returns
    -------
    dict of str to torch.Tensor
        The plain state dict.

    Raises
    ------
    ValueError
        If no mapping of names to tensors is found.

    References
    ----------
    PyTorch documentation, "Serialization semantics" (``torch.load(weights_only=True)``);
    ``torch.nn.DataParallel`` / ``DistributedDataParallel`` (the ``module.`` prefix);
    Lightning checkpoints (``{"state_dict": ...}``).

    Examples
    --------
    >>> unwrap_state_dict({"state_dict": {"module.fc.bias": torch.zeros(1)}})
    {'fc.bias': tensor([0.])}
    """
    for _ in range(3):  # {"model": {"state_dict": ...}} and the like
        if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        nested = next((obj[k] for k in STATE_DICT_KEYS if isinstance(obj, Mapping) and isinstance(obj.get(k), Mapping)), None)
        if nested is None:
            break
        obj = nested
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise ValueError(f"{source}: expected a state dict (mapping of parameter names to tensors), plain or under one of "
                         f"{list(STATE_DICT_KEYS)}")
    state = dict(obj)
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str
        64 hexadecimal characters.

    Raises
    ------
    OSError
        If the file cannot be read.

    References
    ----------
    NIST FIPS 180-4, "Secure Hash Standard" (SHA-256; the digest of ``b"abc"`` starts
    ``ba7816bf8f01cfea``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
    >>> _ = p.write_bytes(b"abc")
    >>> file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_record(path: str | os.PathLike | None) -> dict[str, str] | None:
    """What a run records about a ``--weights`` file: absolute path and SHA-256.

    Parameters
    ----------
    path : path-like or None
        The weights file as the user typed it.

    Returns
    -------
    dict or None
        ``{"path": absolute path, "sha256": digest}``, or None without weights.

    Raises
    ------
    OSError
        If the file cannot be read.

    References
    ----------
    NIST FIPS 180-4, "Secure Hash Standard" (SHA-256, see :func:`file_sha256`).

    Examples
    --------
    >>> weights_record(None) is None
    True
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.bin"
    >>> _ = p.write_bytes(b"abc")
    >>> rec = weights_record(p)
    >>> rec["path"] == str(p.resolve()), rec["sha256"][:16]
    (True, 'ba7816bf8f01cfea')
    """
    if path is None:
        return None
    p = Path(path).resolve()
    return {"path": str(p), "sha256": file_sha256(p)}


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

    Returns
    -------
    nn.Module
        ``model`` itself, with the weights loaded in place.

    Raises
    ------
    ValueError
        Listing missing and unexpected keys (strict) or mismatched shapes; or if the weights file
        cannot be read (see :func:`read_state_dict`).

    References
    ----------
    PyTorch documentation, "Serialization semantics" (``torch.load(weights_only=True)``);
    ``torch.nn.Module.load_state_dict``. The key names of :class:`nlvision.nn.ResNet` are
    torchvision's, so its ResNet state dicts load strictly.

    Examples
    --------
    >>> src, dst = nn.Linear(2, 1), nn.Linear(2, 1)
    >>> _ = load_weights(dst, {"backbone." + k: v for k, v in src.state_dict().items()}, prefix="backbone.")
    >>> torch.equal(dst.weight, src.weight)
    True
    >>> load_weights(nn.Linear(2, 1), {"weight": torch.zeros(1, 2)})
    Traceback (most recent call last):
    ...
    ValueError: weights do not match Linear: 1 missing key(s) [bias], 0 unexpected key(s) []
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

    The file is a safetensors file; its metadata key ``"nlvision"`` holds the JSON
    ``{"task": task, "config": config}`` (values JSON cannot encode are written with ``str``).
    Tensors are detached, moved to the CPU and made contiguous first.

    Parameters
    ----------
    path : path-like
        Destination file (``.safetensors`` by convention); its folder is created if needed and
        the file only appears once completely written.
    model : nn.Module
        The model whose ``state_dict()`` is saved.
    task : str
        Task name checked by :func:`load_checkpoint` (e.g. ``"classify"``, ``"reid"``, ``"pose"``).
    config : mapping
        The model configuration needed to rebuild the model.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OSError
        If the destination is a folder or cannot be written (see :func:`nlvision.atomic.atomic_path`).

    References
    ----------
    Hugging Face safetensors format specification (https://github.com/huggingface/safetensors),
    header metadata (a string-to-string map).

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

    Parameters
    ----------
    path : path-like
        The checkpoint file.
    task : str
        The task the checkpoint must belong to.

    Returns
    -------
    state_dict : dict of str to torch.Tensor
        The weights (on the CPU).
    config : dict
        The model configuration saved with them (empty if none was saved).

    Raises
    ------
    ValueError
        If the file is missing, not a safetensors file, not an nlvision checkpoint (no or invalid
        ``"nlvision"`` metadata), or belongs to another task.

    References
    ----------
    Hugging Face safetensors format specification (https://github.com/huggingface/safetensors),
    header metadata.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
    >>> _ = save_checkpoint(p, nn.Linear(3, 2), task="reid", config={"depth": 50})
    >>> state, cfg = load_checkpoint(p, task="reid")
    >>> {k: tuple(v.shape) for k, v in state.items()}, cfg
    ({'bias': (2,), 'weight': (2, 3)}, {'depth': 50})
    >>> load_checkpoint(p, task="pose")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...: checkpoint is for task 'reid', expected 'pose'
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
    try:
        info = json.loads(meta[_META_KEY])
    except ValueError:
        raise ValueError(f"{p}: nlvision metadata is not valid JSON") from None
    if not isinstance(info, dict) or not isinstance(info.get("config", {}), dict):
        raise ValueError(f"{p}: nlvision metadata must be a JSON object with a 'config' object, got {type(info).__name__}")
    if info.get("task") != task:
        raise ValueError(f"{p}: checkpoint is for task {info.get('task')!r}, expected {task!r}")
    return state, info.get("config", {})
