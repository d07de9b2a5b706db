"""Strong simple baselines: PatchCore-style kNN and PaDiM-style Gaussian on local descriptors.

Both use the same untrained **multi-scale local descriptor** at every pixel: the Gaussian
derivatives of orders 0 to 2 (``G, Gx, Gy, Gxx, Gxy, Gyy``) at scales ``sigma = 1, 2, 4, 8``
(24 numbers), each standardised on the training pixels and locally averaged over a 3x3
neighbourhood (PatchCore's "locally aware patch features") — the classic jet descriptor of
Koenderink & van Doorn in place of the pre-trained CNN features of the original methods (no
network weights are downloaded).

* :class:`PatchCoreBaseline` — memory bank of normal descriptors reduced by greedy k-center
  coreset selection; the score of a pixel is the distance to its nearest neighbour in the bank
  (Roth et al., CVPR 2022).
* :class:`PaDiMBaseline` — a multivariate Gaussian of the normal descriptors; the score is the
  Mahalanobis distance (Defard et al., ICPR 2021). Textures are not aligned, so one Gaussian is
  shared by all positions (``per_position=False``, default); aligned objects may use a Gaussian per
  (downsampled) position.

Both are calibrated exactly like the sparse detectors (:mod:`.calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nlvision.restoration.anomaly._util import as_gray, torch_threads
from nlvision.restoration.anomaly.calibration import CalibratedModel, ScoreCalibration, check_fpr

__all__ = ["local_descriptors", "PatchCoreBaseline", "PaDiMBaseline"]

_SIGMAS = (1.0, 2.0, 4.0, 8.0)
_ORDERS = ((0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0))


def local_descriptors(image: np.ndarray, sigmas: Sequence[float] = _SIGMAS) -> np.ndarray:
    """Multi-scale Gaussian-derivative descriptor (orders 0-2) at every pixel.

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Gray image.
    sigmas : sequence of float, default (1, 2, 4, 8)
        Scales of the Gaussian derivatives.

    Returns
    -------
    ndarray, shape (H, W, 6 * len(sigmas))
        Derivatives scaled by ``sigma ** order`` (scale-normalised), then averaged over 3x3.

    Raises
    ------
    ValueError
        A non-2-D image or a non-positive scale.

    References
    ----------
    J. J. Koenderink, A. J. van Doorn, "Representation of local geometry in the visual system",
    Biol. Cybern. 55, 1987 (the local jet); K. Roth et al., "Towards total recall in industrial
    anomaly detection", CVPR 2022 (local neighbourhood aggregation).

    Examples
    --------
    >>> local_descriptors(np.random.default_rng(0).random((32, 32))).shape
    (32, 32, 24)
    """
    from scipy.ndimage import gaussian_filter, uniform_filter

    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    if any(not (s > 0) for s in sigmas):
        raise ValueError(f"sigmas must be positive, got {sigmas!r}")
    out = []
    for s in sigmas:
        for oy, ox in _ORDERS:
            d = gaussian_filter(img, s, order=(oy, ox), mode="reflect") * s ** (oy + ox)
            out.append(uniform_filter(d, 3, mode="reflect"))
    return np.stack(out, axis=-1)


@dataclass
class _DescriptorModel(CalibratedModel):
    fpr: float = 0.01
    image_fpr: float = 0.05
    image_sigma: float = 4.0
    step: int = 2
    seed: int = 0
    threads: int | None = None
    d_mean: np.ndarray | None = field(default=None, init=False, repr=False)
    d_std: np.ndarray | None = field(default=None, init=False, repr=False)
    calibrations: list = field(default_factory=list, init=False, repr=False)

    def _desc(self, img):
        D = local_descriptors(img)
        return (D - self.d_mean) / self.d_std

    def _train_desc(self, images, rng, n_max):
        per_image = max(1, -(-2 * n_max // len(images)))  # bounded memory with hundreds of images
        parts = []
        for im in images:
            d = local_descriptors(im)[:: self.step, :: self.step].reshape(-1, 24)
            parts.append(d[rng.choice(d.shape[0], per_image, replace=False)] if d.shape[0] > per_image else d)
        D = np.concatenate(parts)
        self.d_mean = D.mean(0)
        self.d_std = np.maximum(D.std(0), 1e-8)
        D = (D - self.d_mean) / self.d_std
        if D.shape[0] > n_max:
            D = D[rng.choice(D.shape[0], n_max, replace=False)]
        return D

    def _fit_common(self, normal_images, val_images):
        check_fpr(self.fpr)
        check_fpr(self.image_fpr, "image_fpr")
        if not len(normal_images) or not len(val_images):
            raise ValueError("normal_images and val_images must each hold at least one image")
        imgs = [as_gray(im, f"normal_images[{i}]", 8) for i, im in enumerate(normal_images)]
        vals = [as_gray(im, f"val_images[{i}]", 8) for i, im in enumerate(val_images)]
        return imgs, vals

    def _calibrate(self, vals):
        self.calibrations = [ScoreCalibration.from_maps([self._raw_maps(v)[0][0] for v in vals], self.image_sigma)]

    def _grid_to_full(self, grid, shape):
        from nlvision.restoration.anomaly._util import grid_to_map

        cy = np.arange(0, shape[0], self.step, dtype=np.float64)
        cx = np.arange(0, shape[1], self.step, dtype=np.float64)
        return grid_to_map(grid, cy, cx, shape)


@dataclass
class PatchCoreBaseline(_DescriptorModel):
    """PatchCore-style anomaly detector: nearest-neighbour distance to a coreset of normal descriptors.

    Parameters
    ----------
    fpr : float, default 0.01
        Default target pixel FPR.
    image_fpr : float, default 0.05
        Default target image FPR.
    image_sigma : float, default 4
        Smoothing of the calibrated map for the image score.
    step : int, default 2
        Stride of the scored pixels (the map is interpolated in between).
    seed : int, default 0
        Seed of the subsampling and of the coreset's first point.
    threads : int or None
        Torch threads (``None``: half the available cores).
    memory : int, default 4000
        Size of the memory bank after coreset selection.
    k : int, default 1
        Neighbours averaged in the score.

    References
    ----------
    K. Roth, L. Pemula, J. Zepeda, B. Schölkopf, T. Brox, P. Gehler, "Towards total recall in
    industrial anomaly detection", CVPR 2022 (greedy coreset, nearest-neighbour score).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> b = PatchCoreBaseline(memory=100).fit([rng.random((32, 32))], [rng.random((32, 32))] * 2)
    >>> b.score(rng.random((24, 24))).shape
    (24, 24)
    """

    memory: int = 4000
    k: int = 1
    bank: np.ndarray | None = field(default=None, init=False, repr=False)

    def fit(self, normal_images: Sequence[np.ndarray], val_images: Sequence[np.ndarray]) -> "PatchCoreBaseline":
        """Build the coreset memory bank from ``normal_images``; calibrate on ``val_images``.

        Parameters
        ----------
        normal_images, val_images : sequence of ndarray
            Disjoint sets of normal images.

        Returns
        -------
        PatchCoreBaseline
        """
        import torch

        imgs, vals = self._fit_common(normal_images, val_images)
        if int(self.memory) < 1 or int(self.k) < 1:
            raise ValueError(f"memory and k must be >= 1, got {self.memory}, {self.k}")
        rng = np.random.default_rng(self.seed)
        with torch_threads(self.threads):
            D = torch.as_tensor(self._train_desc(imgs, rng, 40000), dtype=torch.float32)
            m = min(int(self.memory), D.shape[0])
            # greedy k-center coreset (Roth et al., Alg. 1) in a random 12-d projection
            P = D @ torch.as_tensor(rng.standard_normal((D.shape[1], 12)) / np.sqrt(12), dtype=torch.float32)
            sel = [int(rng.integers(D.shape[0]))]
            dmin = torch.cdist(P, P[sel[-1]][None]).squeeze(1)
            for _ in range(m - 1):
                j = int(torch.argmax(dmin))
                sel.append(j)
                dmin = torch.minimum(dmin, torch.cdist(P, P[j][None]).squeeze(1))
            self.bank = D[sel].numpy()
            self._calibrate(vals)
        return self

    def _raw_maps(self, image):
        import torch

        if self.bank is None:
            raise ValueError("PatchCoreBaseline is not fitted: call fit(normal_images, val_images)")
        img = as_gray(image, "image", 8)
        with torch_threads(self.threads):
            Q = self._desc(img)[:: self.step, :: self.step]
            gh, gw = Q.shape[:2]
            Qt = torch.as_tensor(Q.reshape(-1, Q.shape[-1]), dtype=torch.float32)
            B = torch.as_tensor(self.bank, dtype=torch.float32)
            out = []
            for s in range(0, Qt.shape[0], 8192):
                d = torch.cdist(Qt[s : s + 8192], B)
                out.append(torch.topk(d, min(self.k, B.shape[0]), dim=1, largest=False).values.mean(1))
            grid = torch.cat(out).double().numpy().reshape(gh, gw)
        return [self._grid_to_full(grid, img.shape)], img


@dataclass
class PaDiMBaseline(_DescriptorModel):
    """PaDiM-style anomaly detector: Mahalanobis distance under a Gaussian of normal descriptors.

    Parameters
    ----------
    fpr : float, default 0.01
        Default target pixel FPR.
    image_fpr : float, default 0.05
        Default target image FPR.
    image_sigma : float, default 4
        Smoothing of the calibrated map for the image score.
    step : int, default 2
        Stride of the scored pixels.
    seed : int, default 0
        Seed of the subsampling.
    threads : int or None
        Torch threads (unused; numpy only).
    per_position : bool, default False
        One Gaussian per position of a coarse grid (aligned objects) instead of one shared
        Gaussian (textures). Needs all images of the same size.
    cell : int, default 16
        Grid cell (pixels) of the per-position Gaussians.

    References
    ----------
    T. Defard, A. Setkaliev, A. Loesch, R. Audigier, "PaDiM: a patch distribution modeling
    framework for anomaly detection and localization", ICPR 2021.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> b = PaDiMBaseline().fit([rng.random((32, 32))], [rng.random((32, 32))] * 2)
    >>> b.score(rng.random((24, 24))).shape
    (24, 24)
    """

    per_position: bool = False
    cell: int = 16
    mean: np.ndarray | None = field(default=None, init=False, repr=False)
    precision: np.ndarray | None = field(default=None, init=False, repr=False)

    def fit(self, normal_images: Sequence[np.ndarray], val_images: Sequence[np.ndarray]) -> "PaDiMBaseline":
        """Fit the Gaussian(s) on ``normal_images``; calibrate on ``val_images``.

        Parameters
        ----------
        normal_images, val_images : sequence of ndarray
            Disjoint sets of normal images.

        Returns
        -------
        PaDiMBaseline
        """
        imgs, vals = self._fit_common(normal_images, val_images)
        rng = np.random.default_rng(self.seed)
        if not self.per_position:
            D = self._train_desc(imgs, rng, 200000)
            C = np.cov(D, rowvar=False) + 0.01 * np.eye(D.shape[1])
            self.mean, self.precision = D.mean(0)[None, None], np.linalg.inv(C)[None, None]
        else:
            if len({im.shape for im in imgs + vals}) != 1:
                raise ValueError("per_position: all images must have the same size")
            self._train_desc(imgs, rng, 1)  # standardisation statistics
            Ds = np.stack([self._desc(im) for im in imgs])  # (n, H, W, 24)
            c = int(self.cell)
            gh, gw = -(-Ds.shape[1] // c), -(-Ds.shape[2] // c)
            self.mean = np.zeros((gh, gw, 24))
            self.precision = np.zeros((gh, gw, 24, 24))
            for i in range(gh):
                for j in range(gw):
                    X = Ds[:, i * c : (i + 1) * c : self.step, j * c : (j + 1) * c : self.step].reshape(-1, 24)
                    self.mean[i, j] = X.mean(0)
                    self.precision[i, j] = np.linalg.inv(np.cov(X, rowvar=False) + 0.01 * np.eye(24))
        self._calibrate(vals)
        return self

    def _raw_maps(self, image):
        if self.mean is None:
            raise ValueError("PaDiMBaseline is not fitted: call fit(normal_images, val_images)")
        img = as_gray(image, "image", 8)
        Q = self._desc(img)[:: self.step, :: self.step]
        if self.mean.shape[:2] == (1, 1):
            Z = Q - self.mean[0, 0]
            grid = np.sqrt(np.maximum(np.einsum("hwi,ij,hwj->hw", Z, self.precision[0, 0], Z), 0))
        else:
            c = int(self.cell)
            yy = np.minimum(np.arange(0, img.shape[0], self.step) // c, self.mean.shape[0] - 1)
            xx = np.minimum(np.arange(0, img.shape[1], self.step) // c, self.mean.shape[1] - 1)
            M = self.mean[yy[:, None], xx[None, :]]
            Pm = self.precision[yy[:, None], xx[None, :]]
            Z = Q - M
            grid = np.sqrt(np.maximum(np.einsum("hwi,hwij,hwj->hw", Z, Pm, Z), 0))
        return [self._grid_to_full(grid, img.shape)], img
