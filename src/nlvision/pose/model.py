"""The pose model: its configuration and the checkpoint loader.

The network is :class:`nlvision.nn.hourglass.StackedHourglass` (Newell et al.'s stacked
hourglass with ACNN's attention masks, seed 002); :class:`PoseModelConfig` is its configuration
under the task's name, saved with the weights in ``model.safetensors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nlvision.nn.hourglass import HourglassConfig

TASK = "pose"


@dataclass
class PoseModelConfig(HourglassConfig):
    """Architecture of the pose model (seed 002 defaults).

    Parameters
    ----------
    num_stacks : int
        Number of hourglass stages (4 in the seed, section 3.1).
    channels : int
        Feature width (256).
    num_joints : int
        Heatmap channels (16 MPII joints).
    depth : int
        Down-sampling levels of each hourglass (4).
    num_blocks : int
        Residual modules per level (1).
    attention : bool
        ACNN attention masks (True) or the plain stacked hourglass (False).
    input_size : int
        Crop side (256); heatmaps are ``input_size // 4``.
    mask_bias_init : float
        Initial bias of the mask convolutions (sigmoid(4) ≈ 0.98: phase B starts from the
        phase-A function).
    mask_mode : {"soft", "binary"}
        Soft sigmoid masks or the seed's binary masks (hard threshold, straight-through
        gradient).

    References
    ----------
    Seed 002 (Sun, Ye and Wang), sections 3.1–3.2, eqs. (1)–(2); Newell et al., ECCV 2016.

    Examples
    --------
    >>> cfg = PoseModelConfig(num_stacks=2, channels=16, input_size=64, mask_mode="binary")
    >>> cfg.validate().heatmap_size
    16
    """


def build_pose_model(config: PoseModelConfig | None = None):
    """A freshly initialised :class:`~nlvision.nn.hourglass.StackedHourglass`.

    Parameters
    ----------
    config : PoseModelConfig, optional
        Architecture (the seed's by default).

    Returns
    -------
    StackedHourglass
        The untrained network.

    Raises
    ------
    ValueError
        If the configuration is invalid.

    Examples
    --------
    >>> m = build_pose_model(PoseModelConfig(num_stacks=2, channels=8, depth=2, input_size=32))
    >>> m.config.num_stacks
    2
    """
    from nlvision.nn.hourglass import StackedHourglass

    return StackedHourglass(config or PoseModelConfig())


def load_pose_model(path: str | Path):
    """Rebuild the pose model from an nlvision pose checkpoint (in eval mode).

    Parameters
    ----------
    path : path-like
        ``model.safetensors`` written by :func:`nlvision.pose.train_pose`, or its run folder.

    Returns
    -------
    StackedHourglass
        With ``config`` a :class:`PoseModelConfig`.

    Raises
    ------
    ValueError
        If the file is not a pose checkpoint, its configuration is invalid, or the weights do
        not match the configuration (missing / unexpected keys, shapes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nlvision.nn.weights import save_checkpoint
    >>> cfg = PoseModelConfig(num_stacks=2, channels=8, depth=2, input_size=32)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
    >>> _ = save_checkpoint(p, build_pose_model(cfg), task="pose", config=cfg.to_dict())
    >>> load_pose_model(p).config == cfg
    True
    """
    from nlvision.nn.hourglass import StackedHourglass
    from nlvision.nn.weights import load_checkpoint, load_weights

    p = Path(path)
    if p.is_dir():
        p = p / "model.safetensors"
    state, cfg = load_checkpoint(p, task=TASK)
    try:
        config = PoseModelConfig.from_dict(cfg)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{p}: invalid model configuration ({exc})") from None
    model = StackedHourglass(config)
    try:
        load_weights(model, state)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
    return model.eval()
