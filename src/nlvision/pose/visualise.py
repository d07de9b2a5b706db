"""Figures: predicted skeleton, per-joint heatmaps (seed Fig. 1), attention masks (seed Fig. 6).

All functions write a PNG atomically with matplotlib's Agg backend and return its path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from nlvision.datasets.synthetic_figures import MPII_JOINTS, MPII_SKELETON

__all__ = ["draw_skeleton", "skeleton_figure", "heatmaps_figure", "attention_figure", "masked_views"]

_RIGHT = {0, 1, 2, 10, 11, 12}
_LEFT = {3, 4, 5, 13, 14, 15}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    from nlvision.atomic import savefig_atomic

    p = Path(path)
    savefig_atomic(fig, p, format="png", dpi=fig.dpi, bbox_inches="tight")
    _plt().close(fig)
    return p


def _check_joints(joints: np.ndarray) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.shape != (16, 2):
        raise ValueError(f"joints: expected shape (16, 2), got {j.shape}")
    return j


def draw_skeleton(ax, joints: np.ndarray, visible: np.ndarray | None = None, *, linewidth: float = 2.0) -> None:
    """Draw the MPII skeleton on a matplotlib axis (person's right in red, left in blue)."""
    j = _check_joints(joints)
    v = np.ones(16, bool) if visible is None else np.asarray(visible, bool)
    for a, b in MPII_SKELETON:
        if v[a] and v[b]:
            color = "tab:red" if {a, b} & _RIGHT and not {a, b} & _LEFT else "tab:blue" if {a, b} & _LEFT and not {a, b} & _RIGHT else "gold"
            ax.plot(j[[a, b], 0], j[[a, b], 1], "-", color=color, linewidth=linewidth)
    ax.plot(j[v, 0], j[v, 1], "o", color="white", markersize=3, markeredgecolor="black", markeredgewidth=0.5)


def skeleton_figure(image: np.ndarray, joints: np.ndarray, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Image with the predicted skeleton.

    Raises
    ------
    ValueError
        If ``image`` is not (H, W) or (H, W, 3) or ``joints`` is not (16, 2).
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3):
        raise ValueError(f"image: expected (H, W) or (H, W, 3), got shape {img.shape}")
    plt = _plt()
    h, w = img.shape[:2]
    fig, ax = plt.subplots(figsize=(4, 4 * h / max(w, 1)), dpi=100)
    ax.imshow(np.clip(img, 0, 1), cmap="gray" if img.ndim == 2 else None)
    draw_skeleton(ax, joints)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def heatmaps_figure(image: np.ndarray, heatmaps: np.ndarray, path: str | os.PathLike) -> Path:
    """The crop and its 16 per-joint heatmaps overlaid (seed Fig. 1, bottom).

    Parameters
    ----------
    image : ndarray (S, S, 3)
        Network input crop in [0, 1].
    heatmaps : ndarray (16, h, w)
        Final prediction ``P`` for each joint.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    if hm.ndim != 3 or hm.shape[0] != 16:
        raise ValueError(f"heatmaps: expected (16, h, w), got shape {hm.shape}")
    img = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    plt = _plt()
    fig, axes = plt.subplots(3, 6, figsize=(12, 6.2), dpi=80)
    axes = axes.ravel()
    axes[0].imshow(img)
    axes[0].set_title("input", fontsize=8)
    s = img.shape[0]
    for k in range(16):
        ax = axes[k + 1]
        ax.imshow(img.mean(-1) if img.ndim == 3 else img, cmap="gray", extent=(0, s, s, 0))
        ax.imshow(np.clip(hm[k], 0, None), cmap="jet", alpha=0.55, extent=(0, s, s, 0))
        ax.set_title(MPII_JOINTS[k], fontsize=8)
    axes[17].imshow(np.clip(hm.max(0), 0, None), cmap="jet")
    axes[17].set_title("all joints", fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    return _save(fig, path)


def masked_views(image: np.ndarray, masks: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The image with each mask's discarded regions (mask < threshold) blacked out.

    Parameters
    ----------
    image : ndarray (S, S, 3)
    masks : ndarray (M, h, w)
        Masks at heatmap resolution (nearest up-sampled to the image).

    Returns
    -------
    ndarray (M, S, S, 3)

    Examples
    --------
    >>> v = masked_views(np.ones((4, 4, 3)), np.array([[[1.0, 0.0], [1.0, 1.0]]]))
    >>> v[0, :, :, 0].tolist()[0]
    [1.0, 1.0, 0.0, 0.0]
    """
    img = np.asarray(image, dtype=np.float64)
    m = np.asarray(masks, dtype=np.float64)
    if img.ndim != 3 or m.ndim != 3:
        raise ValueError(f"image/masks: expected (S, S, 3) and (M, h, w), got {img.shape} and {m.shape}")
    ry, rx = img.shape[0] // m.shape[1], img.shape[1] // m.shape[2]
    if ry < 1 or rx < 1 or ry * m.shape[1] != img.shape[0] or rx * m.shape[2] != img.shape[1]:
        raise ValueError(f"masks: size {m.shape[1:]} does not divide the image size {img.shape[:2]}")
    up = np.repeat(np.repeat(m, ry, axis=1), rx, axis=2)
    keep = (up >= threshold)[..., None]
    return img[None] * keep


def attention_figure(
    images: Sequence[np.ndarray], masks: np.ndarray, path: str | os.PathLike, *, threshold: float = 0.5, show_soft: bool = True
) -> Path:
    """Seed Fig. 6: input, then every stage's attention mask with the discarded regions in black.

    Parameters
    ----------
    images : sequence of ndarray (S, S, 3)
        Network input crops in [0, 1].
    masks : ndarray (N, M, h, w)
        The masks ``M(1) … M(S-1)`` of each image (``PoseOutput.masks[:, 1:, 0]``).
    threshold : float
        Mask value below which a region counts as discarded.
    show_soft : bool
        Add a row of the raw sigmoid masks under each image.
    """
    m = np.asarray(masks, dtype=np.float64)
    if m.ndim != 4 or m.shape[0] != len(images):
        raise ValueError(f"masks: expected (N, M, h, w) with N = {len(images)}, got shape {m.shape}")
    if m.shape[1] == 0:
        raise ValueError("masks: a 1-stack model has no attention mask to show")
    plt = _plt()
    n, k = m.shape[0], m.shape[1]
    rows = n * (2 if show_soft else 1)
    fig, axes = plt.subplots(rows, k + 1, figsize=(2.2 * (k + 1), 2.2 * rows), dpi=80, squeeze=False)
    for i, img in enumerate(images):
        img = np.clip(np.asarray(img, dtype=np.float64), 0, 1)
        views = masked_views(img, m[i], threshold)
        r = i * (2 if show_soft else 1)
        axes[r, 0].imshow(img)
        axes[r, 0].set_title("input", fontsize=8)
        for s in range(k):
            axes[r, s + 1].imshow(views[s])
            axes[r, s + 1].set_title(f"M({s + 1}) kept {100 * (m[i, s] >= threshold).mean():.0f}%", fontsize=8)
        if show_soft:
            axes[r + 1, 0].set_visible(False)
            for s in range(k):
                axes[r + 1, s + 1].imshow(m[i, s], cmap="gray", vmin=0, vmax=1)
                axes[r + 1, s + 1].set_title(f"sigmoid M({s + 1})", fontsize=8)
    for ax in axes.ravel():
        ax.set_axis_off()
    return _save(fig, path)
