"""Anomaly detection with sparse and convolutional sparse models (seed 003).

The detector follows the lecture's three ingredients ("The three major ingredients"):

1. **background model** learned from normal data — a dictionary ``D`` learned from normal
   15x15 patches for the l1 (BPDN) model (``method="patch"``), a multiscale dictionary
   ``D = [D1 ... D4]`` learned from synthetically rescaled normal images (``"multiscale"``,
   counteracting domain shift), or a set of convolutional filters (``"csc"``);
2. **anomaly score** — every patch / region is sparse-coded and summarised by the data-driven
   feature vector ``f = [||Dx - s||^2, ||x||_1]`` (plus ``sum_g ||x_g||_2`` for the multiscale
   model, and the three-term per-region vector for CSC); the score is ``A(s) = -log phi0(f)``
   where ``phi0`` is a density of normal features fitted on a validation set ``V`` disjoint
   from the training set ``S``;
3. **decision rule** — ``A(s) > gamma`` (i.e. ``phi0(f) < exp(-gamma)``), with ``gamma`` the
   ``1 - FPR`` quantile of the validation scores so that the false-positive rate is controlled;
4. optional **post-processing** of the mask (median filter or morphological opening).

``fit(normal_images) -> detector``, ``score(image) -> anomaly map``, ``detect(image) -> mask``;
models are saved as one ``.npz`` (arrays + a JSON header, loaded with ``allow_pickle=False``).

References
----------
Seed 003, "Anomaly detection", "Convolutional sparsity", "Counteracting domain shift".
D. Carrera, F. Manganini, G. Boracchi, E. Lanzarone, "Defect detection in SEM images of
nanofibrous materials", IEEE TII 13(2), 2017.
D. Carrera, G. Boracchi, A. Foi, B. Wohlberg, "Scale-invariant anomaly detection with
multiscale group-sparse models", ICIP 2016.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "METHODS",
    "DENSITIES",
    "POSTPROCESS",
    "AnomalyConfig",
    "AnomalyDetector",
    "GaussianDensity",
    "pixel_auroc",
    "fpr_at_threshold",
    "check_fpr",
    "KNNPatchBaseline",
    "BENCH_METHODS",
    "quick_config",
    "run_benchmark",
]

#: Detector variants.
METHODS = ("patch", "multiscale", "csc")
#: Density models of the normal features.
DENSITIES = ("gaussian", "gmm")
#: Dictionary-learning algorithms of the patch / multiscale background model.
DICTIONARY_METHODS = ("bpdn", "ksvd")
#: Post-processing of the detection mask.
POSTPROCESS = ("none", "median", "open")
_FORMAT = "nlvision-anomaly"
_VERSION = 1


@dataclass
class AnomalyConfig:
    """Configuration of :class:`AnomalyDetector` (defaults follow seed 003 / Carrera et al.).

    Attributes
    ----------
    method : str
        ``"patch"`` (BPDN on 15x15 patches, Carrera et al. TII), ``"multiscale"`` (group-sparse
        coding on ``D = [D1 ... D4]``, Carrera et al. ICIP 2016) or ``"csc"`` (convolutional
        sparse coding with local group sparsity).
    patch_size : int
        Patch side (15, as the seed's assignment asks). For ``"csc"``: side of the regions
        ``Pi_c`` over which the per-region features are computed.
    n_atoms : int
        Atoms of the dictionary (per scale for ``"multiscale"``).
    lam : float
        l1 weight of BPDN (``1/2`` data-term convention, see :mod:`nlvision.restoration.bpdn`).
    mu : float
        Group-sparsity weight of the multiscale coding.
    scales : tuple of float
        Synthetic zoom levels of the training images (one sub-dictionary each).
    remove_mean : bool
        Subtract each patch's mean before coding. Off by default: the seed codes the patch
        ``s`` itself, and keeping the mean lets ``||x||_1`` see brightness defects (on the texture
        benchmark it also gave higher AUROC, see docs/restoration_anomaly.md).
    step : int
        Stride between the patches scored; the map is interpolated between patch centres.
    fit_step : int
        Stride of the patches extracted from the training and validation images.
    n_train_patches : int
        Training patches used to learn the dictionary (random subset).
    dl_iter : int
        Alternations of the dictionary learning.
    dictionary : str
        ``"bpdn"`` (BPDN-based learning, the seed's "BPDN-based learning" for the l1 model) or
        ``"ksvd"`` (K-SVD with OMP, 8 non-zeros, from :mod:`nlvision.restoration.sparse`).
    admm_iter : int
        ADMM iterations when coding test patches.
    density : str
        ``"gaussian"`` (multivariate normal) or ``"gmm"`` (Gaussian mixture, sklearn EM).
    n_components : int
        Mixture components for ``"gmm"``.
    val_fraction : float
        Fraction of the normal images (or of the rows of a single image) kept for validation.
    fpr : float
        Target false-positive rate used to set ``gamma``.
    postprocess : str
        ``"none"``, ``"median"`` or ``"open"`` (binary opening of the detections).
    post_size : int
        Size of the post-processing window / structuring element.
    n_filters, filter_size, csc_lam, csc_xi, csc_iter, cdl_iter : CSC options
        Number and side of the convolutional filters, l1 and local group-sparsity weights, ADMM
        iterations when coding, alternations of the convolutional dictionary learning.
    seed : int
        Seed of every random choice.
    """

    method: str = "patch"
    patch_size: int = 15
    n_atoms: int = 128
    lam: float = 0.02
    mu: float = 0.02
    scales: tuple = (0.5, 0.75, 1.0, 1.5)
    remove_mean: bool = False
    step: int = 4
    fit_step: int = 2
    n_train_patches: int = 8000
    dl_iter: int = 15
    dictionary: str = "bpdn"
    admm_iter: int = 40
    density: str = "gmm"
    n_components: int = 3
    val_fraction: float = 0.3
    fpr: float = 0.01
    postprocess: str = "none"
    post_size: int = 5
    n_filters: int = 16
    filter_size: int = 11
    csc_lam: float = 0.05
    csc_xi: float = 0.05
    csc_iter: int = 60
    cdl_iter: int = 10
    seed: int = 0

    def validate(self) -> "AnomalyConfig":
        """Check every option; raise ``ValueError`` naming the bad one."""
        if self.method not in METHODS:
            raise ValueError(f"method: unknown {self.method!r}; valid: {', '.join(METHODS)}")
        if self.density not in DENSITIES:
            raise ValueError(f"density: unknown {self.density!r}; valid: {', '.join(DENSITIES)}")
        if self.dictionary not in DICTIONARY_METHODS:
            raise ValueError(f"dictionary: unknown {self.dictionary!r}; valid: {', '.join(DICTIONARY_METHODS)}")
        if self.postprocess not in POSTPROCESS:
            raise ValueError(f"postprocess: unknown {self.postprocess!r}; valid: {', '.join(POSTPROCESS)}")
        for name in ("patch_size", "n_atoms", "step", "fit_step", "n_train_patches", "dl_iter", "admm_iter",
                     "n_components", "post_size", "n_filters", "filter_size", "csc_iter", "cdl_iter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.patch_size < 3:
            raise ValueError(f"patch_size must be >= 3, got {self.patch_size}")
        for name in ("lam", "mu", "csc_lam", "csc_xi"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        check_fpr(self.fpr)
        if not 0.0 < float(self.val_fraction) < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        sc = tuple(float(s) for s in self.scales)
        if len(sc) < 1 or any(not (s > 0 and math.isfinite(s)) for s in sc):
            raise ValueError(f"scales must be positive numbers, got {self.scales!r}")
        self.scales = sc
        return self

    @classmethod
    def from_dict(cls, d: dict) -> "AnomalyConfig":
        """Build from a dict, rejecting unknown keys (lists the valid ones)."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"config: unknown option(s) {sorted(unknown)}; valid: {', '.join(sorted(names))}")
        d = dict(d)
        if "scales" in d:
            d["scales"] = tuple(d["scales"])
        return cls(**d).validate()


def check_fpr(fpr) -> float:
    """Validate a target false-positive rate (must be in the open interval (0, 1)).

    Examples
    --------
    >>> check_fpr(0.01)
    0.01
    """
    if isinstance(fpr, bool) or not isinstance(fpr, (int, float, np.floating)):
        raise TypeError(f"fpr must be a number in (0, 1), got {type(fpr).__name__} {fpr!r}")
    if not (0.0 < float(fpr) < 1.0):
        raise ValueError(f"fpr must be in (0, 1), got {fpr}")
    return float(fpr)


# --------------------------------------------------------------------------- densities
@dataclass
class GaussianDensity:
    """Gaussian (mixture) density ``phi0`` of normal feature vectors; ``-log phi0`` is the score.

    Attributes
    ----------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @classmethod
    def fit(cls, F: np.ndarray, kind: str = "gaussian", n_components: int = 3, seed: int = 0) -> "GaussianDensity":
        """Fit to the rows of ``F`` (a Gaussian by moments, or a GMM by sklearn's EM).

        Examples
        --------
        >>> F = np.random.default_rng(0).normal(size=(500, 2))
        >>> d = GaussianDensity.fit(F)
        >>> d.means.shape, d.covariances.shape
        ((1, 2), (1, 2, 2))
        """
        F = np.asarray(F, dtype=np.float64)
        if F.ndim != 2 or F.shape[0] < F.shape[1] + 2:
            raise ValueError(f"features: need more than {F.shape[-1] + 1} feature vectors to fit a density, got shape {F.shape}")
        if kind not in DENSITIES:
            raise ValueError(f"density: unknown {kind!r}; valid: {', '.join(DENSITIES)}")
        reg = 1e-6 * np.maximum(F.var(axis=0), 1e-12)
        if kind == "gaussian":
            mean = F.mean(axis=0)
            cov = np.cov(F, rowvar=False).reshape(F.shape[1], F.shape[1]) + np.diag(reg)
            return cls(np.ones(1), mean[None], cov[None])
        from sklearn.mixture import GaussianMixture

        gm = GaussianMixture(n_components=int(n_components), covariance_type="full", random_state=int(seed),
                             reg_covar=float(reg.max()), n_init=1).fit(F)
        return cls(gm.weights_.copy(), gm.means_.copy(), gm.covariances_.copy())

    def neg_log_density(self, F: np.ndarray) -> np.ndarray:
        """``-log phi0(f)`` for every row of ``F`` (stable log-sum-exp over components)."""
        from scipy.special import logsumexp

        F = np.asarray(F, dtype=np.float64)
        d = F.shape[1]
        logs = []
        for w, m, C in zip(self.weights, self.means, self.covariances):
            L = np.linalg.cholesky(C)
            z = np.linalg.solve(L, (F - m).T)  # (d, N)
            maha = np.sum(z * z, axis=0)
            logdet = 2.0 * np.sum(np.log(np.diag(L)))
            logs.append(np.log(w) - 0.5 * (maha + logdet + d * np.log(2 * np.pi)))
        return -logsumexp(np.stack(logs, 0), axis=0)


# --------------------------------------------------------------------------- metrics
def pixel_auroc(scores: np.ndarray | Sequence[np.ndarray], masks: np.ndarray | Sequence[np.ndarray]) -> float:
    """Area under the ROC curve of pixel scores against pixel ground truth (ties averaged).

    Computed with the Mann-Whitney rank statistic.

    Examples
    --------
    >>> pixel_auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    from scipy.stats import rankdata

    s = np.concatenate([np.ravel(a) for a in scores]) if isinstance(scores, (list, tuple)) else np.ravel(scores)
    y = np.concatenate([np.ravel(a) for a in masks]) if isinstance(masks, (list, tuple)) else np.ravel(masks)
    y = y.astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"scores and masks must have the same number of pixels, got {s.shape} and {y.shape}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("masks: need both anomalous and normal pixels to compute an AUROC")
    r = rankdata(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fpr_at_threshold(scores, masks, gamma: float) -> float:
    """Fraction of normal pixels with ``score > gamma`` (the FPR actually obtained).

    Examples
    --------
    >>> fpr_at_threshold(np.array([0.1, 0.5, 0.9]), np.array([0, 0, 1]), 0.3)
    0.5
    """
    s = np.concatenate([np.ravel(a) for a in scores]) if isinstance(scores, (list, tuple)) else np.ravel(scores)
    y = np.concatenate([np.ravel(a) for a in masks]) if isinstance(masks, (list, tuple)) else np.ravel(masks)
    neg = ~y.astype(bool)
    if not neg.any():
        raise ValueError("masks: no normal pixels")
    return float(np.mean(s[neg] > gamma))


# --------------------------------------------------------------------------- helpers
def _as_gray(image, name: str, min_size: int) -> np.ndarray:
    from nlvision.imageio import to_gray, validate_image

    arr = validate_image(image, name=name)
    arr = to_gray(arr)
    if arr.shape[0] < min_size or arr.shape[1] < min_size:
        raise ValueError(f"{name}: image of shape {arr.shape} is smaller than the patch size {min_size}x{min_size}")
    return arr


def _interp_matrix(centres: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation weights from values at ``centres`` to pixels 0..length-1 (clamped)."""
    x = np.arange(length, dtype=np.float64)
    c = centres.astype(np.float64)
    W = np.zeros((length, c.size))
    if c.size == 1:
        W[:, 0] = 1.0
        return W
    j = np.clip(np.searchsorted(c, x, side="right") - 1, 0, c.size - 2)
    t = np.clip((x - c[j]) / (c[j + 1] - c[j]), 0.0, 1.0)
    W[np.arange(length), j] = 1.0 - t
    W[np.arange(length), j + 1] += t
    return W


def _rescale(image: np.ndarray, zoom: float) -> np.ndarray:
    if zoom == 1.0:
        return image
    from skimage.transform import rescale

    return rescale(image, zoom, order=3, anti_aliasing=zoom < 1, mode="reflect")


# --------------------------------------------------------------------------- detector
@dataclass
class AnomalyDetector:
    """Sparse-coding anomaly detector ``(D, phi0, gamma)`` of seed 003.

    Parameters
    ----------
    config : AnomalyConfig, optional

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> normal = [rng.random((40, 40)) for _ in range(2)]
    >>> cfg = AnomalyConfig(patch_size=5, n_atoms=8, dl_iter=2, n_train_patches=200, step=2)
    >>> det = AnomalyDetector(cfg).fit(normal)
    >>> det.score(rng.random((30, 30))).shape
    (30, 30)
    """

    config: AnomalyConfig = field(default_factory=AnomalyConfig)
    dictionary: np.ndarray | None = None
    groups: np.ndarray | None = None
    filters: np.ndarray | None = None
    density: GaussianDensity | None = None
    val_scores: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        normal_images: Sequence[np.ndarray],
        *,
        val_images: Sequence[np.ndarray] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> "AnomalyDetector":
        """Learn the background model on ``S``, then ``phi0`` and ``gamma`` on ``V`` (V ∩ S = ∅).

        Parameters
        ----------
        normal_images : sequence of ndarray
            Anomaly-free gray (or colour, converted to gray) images.
        val_images : sequence of ndarray, optional
            Separate validation images. Without them the last ``val_fraction`` of the images
            (or, with a single image, its bottom ``val_fraction`` rows) are held out.
        progress : callable(stage, i, total), optional
            Progress callback of the long stages.

        Returns
        -------
        AnomalyDetector
            ``self``, fitted.

        Raises
        ------
        ValueError
            No images, images smaller than the patch, or too few normal patches.
        """
        cfg = self.config.validate()
        p = cfg.patch_size
        if isinstance(normal_images, np.ndarray) and normal_images.ndim == 2:
            normal_images = [normal_images]
        if normal_images is None or len(normal_images) == 0:
            raise ValueError("normal_images: expected at least one normal image, got none")
        imgs = [_as_gray(im, f"normal_images[{i}]", p) for i, im in enumerate(normal_images)]
        if val_images is not None:
            if len(val_images) == 0:
                raise ValueError("val_images: expected at least one image, got none")
            train = imgs
            val = [_as_gray(im, f"val_images[{i}]", p) for i, im in enumerate(val_images)]
        elif len(imgs) >= 2:
            n_val = max(1, int(round(cfg.val_fraction * len(imgs))))
            n_val = min(n_val, len(imgs) - 1)
            train, val = imgs[:-n_val], imgs[-n_val:]
        else:
            im = imgs[0]
            cut = int(round(im.shape[0] * (1 - cfg.val_fraction)))
            if cut < p or im.shape[0] - cut < p:
                raise ValueError(
                    f"normal_images: a single image of shape {im.shape} is too small to split into training and "
                    f"validation parts of at least {p} rows; give more images or val_images"
                )
            train, val = [im[:cut]], [im[cut:]]
        rng = np.random.default_rng(cfg.seed)
        if cfg.method in ("patch", "multiscale"):
            self._fit_dictionary(train, rng, progress)
        else:
            self._fit_filters(train, rng, progress)
        # density of normal features on V
        F = np.concatenate([self._features(v, step=cfg.fit_step)[0].reshape(-1, self.n_features) for v in val])
        if F.shape[0] < 10 * self.n_features:
            raise ValueError(
                f"val_images: too few normal validation patches ({F.shape[0]}); need at least {10 * self.n_features}"
            )
        self.density = GaussianDensity.fit(F, cfg.density, cfg.n_components, cfg.seed)
        # gamma: quantiles of the validation anomaly maps (FPR control)
        vs = np.concatenate([self.score(v).ravel() for v in val])
        vs.sort()
        idx = np.round(np.linspace(0, vs.size - 1, min(vs.size, 20001))).astype(np.int64)
        self.val_scores = vs[idx]
        self.info = {"n_train_images": len(train), "n_val_images": len(val), "n_val_features": int(F.shape[0])}
        return self

    def _train_patches(self, images, rng, step):
        from nlvision.restoration.patches import extract_patches

        p = self.config.patch_size
        P = np.concatenate([extract_patches(im, p, step) for im in images if min(im.shape) >= p] or [np.zeros((0, p * p))])
        if P.shape[0] < self.config.n_atoms:
            raise ValueError(
                f"normal_images: too few normal patches to fit ({P.shape[0]} of size {p}x{p}); "
                f"need at least n_atoms={self.config.n_atoms}"
            )
        if self.config.remove_mean:
            P = P - P.mean(axis=1, keepdims=True)
        return P

    def _fit_dictionary(self, train, rng, progress):
        from nlvision.restoration.bpdn import DictionaryLearningConfig, learn_dictionary

        cfg = self.config
        scales = (1.0,) if cfg.method == "patch" else cfg.scales
        Ds, groups = [], []
        for k, s in enumerate(scales):
            imgs = [_rescale(im, s) for im in train]
            P = self._train_patches(imgs, rng, cfg.fit_step)
            dl = DictionaryLearningConfig(n_atoms=cfg.n_atoms, lam=cfg.lam, n_iter=cfg.dl_iter,
                                          n_samples=cfg.n_train_patches)
            cb = None
            if progress is not None:
                def cb(i, total, _k=k):
                    progress(f"dictionary {_k + 1}/{len(scales)}", i, total)
            if cfg.dictionary == "ksvd":
                from nlvision.restoration.sparse import KSVDConfig, ksvd

                if P.shape[0] > cfg.n_train_patches:
                    P = P[rng.choice(P.shape[0], size=cfg.n_train_patches, replace=False)]
                kcb = None if cb is None else (lambda i, rmse, _cb=cb: _cb(i + 1, cfg.dl_iter))
                kc = KSVDConfig(n_iter=cfg.dl_iter, n_nonzero=min(8, cfg.n_atoms), seed=int(rng.integers(2**31)))
                Ds.append(ksvd(P, cfg.n_atoms, kc, callback=kcb).dictionary)
            else:
                Ds.append(learn_dictionary(P, dl, rng=rng, progress=cb))
            groups.append(np.full(cfg.n_atoms, k))
        self.dictionary = np.concatenate(Ds, axis=1)
        self.groups = np.concatenate(groups).astype(np.int64)

    def _fit_filters(self, train, rng, progress):
        from nlvision.restoration.csc import CDLConfig, learn_filters

        cfg = self.config
        c = CDLConfig(n_filters=cfg.n_filters, filter_size=cfg.filter_size, lam=cfg.csc_lam, xi=cfg.csc_xi,
                      group_size=cfg.patch_size, n_iter=cfg.cdl_iter)
        cb = None
        if progress is not None:
            def cb(i, total):
                progress("filters", i, total)
        self.filters = learn_filters(train, c, rng=rng, progress=cb)

    # ------------------------------------------------------------------ features
    @property
    def n_features(self) -> int:
        """Length of the feature vector (2 for ``patch``, 3 otherwise)."""
        return 2 if self.config.method == "patch" else 3

    def _check_fitted(self):
        if self.density is None or self.val_scores is None:
            raise ValueError("detector is not fitted: call fit(normal_images) or AnomalyDetector.load(path)")

    def _features(self, image: np.ndarray, step: int | None = None):
        """Feature grid ``(gh, gw, k)`` and the pixel coordinates of its centres."""
        cfg = self.config
        p = cfg.patch_size
        step = cfg.step if step is None else step
        if cfg.method == "csc":
            from nlvision.restoration.csc import CSCConfig, region_features

            F = region_features(image, self.filters, CSCConfig(lam=cfg.csc_lam, xi=cfg.csc_xi, group_size=p,
                                                               max_iter=cfg.csc_iter), region_size=p)
            h, w = image.shape
            cy, cx = np.arange(0, h, step), np.arange(0, w, step)
            return F[cy[:, None], cx[None, :]], cy, cx
        from nlvision.restoration.bpdn import ADMMConfig, bpdn
        from nlvision.restoration.patches import extract_patches, patch_grid

        P = extract_patches(image, p, step)
        if cfg.remove_mean:
            P = P - P.mean(axis=1, keepdims=True)
        rows, cols = patch_grid(image.shape, p, step)
        mu = cfg.mu if cfg.method == "multiscale" else 0.0
        groups = self.groups if cfg.method == "multiscale" else None
        res = bpdn(self.dictionary, P, cfg.lam, mu=mu, groups=groups,
                   config=ADMMConfig(max_iter=cfg.admm_iter, rel_tol=1e-3, check_every=10),
                   dtype=np.float32, batch_size=4096)
        X = res.x.astype(np.float64)
        R = X @ self.dictionary.T - P
        feats = [np.sum(R * R, axis=1), np.sum(np.abs(X), axis=1)]
        if cfg.method == "multiscale":
            gsum = np.zeros(X.shape[0])
            for g in np.unique(self.groups):
                gsum += np.linalg.norm(X[:, self.groups == g], axis=1)
            feats.append(gsum)
        F = np.stack(feats, axis=1).reshape(rows.size, cols.size, -1)
        return F, rows + (p - 1) / 2.0, cols + (p - 1) / 2.0

    def features(self, image: np.ndarray) -> np.ndarray:
        """Feature vectors of the scored patches/regions, shape ``(gh, gw, k)``.

        ``k = 2`` (``[||Dx - s||^2, ||x||_1]``) for ``patch``, ``k = 3`` for ``multiscale``
        (``+ sum_g ||x_g||_2``) and ``csc`` (the seed's three-term region vector).
        """
        self._check_model()
        img = _as_gray(image, "image", self.config.patch_size)
        return self._features(img)[0]

    def _check_model(self):
        if self.config.method == "csc":
            if self.filters is None:
                raise ValueError("detector is not fitted: call fit(normal_images) or AnomalyDetector.load(path)")
        elif self.dictionary is None:
            raise ValueError("detector is not fitted: call fit(normal_images) or AnomalyDetector.load(path)")

    # ------------------------------------------------------------------ scoring
    def score(self, image: np.ndarray) -> np.ndarray:
        """Anomaly map ``A = -log phi0(f)`` at every pixel (higher = more anomalous).

        Patch scores sit at the patch centres and are interpolated bilinearly in between
        (clamped at the borders).

        Parameters
        ----------
        image : ndarray, shape (H, W) or (H, W, C)
            Image in [0, 1]; colour is converted to gray.

        Returns
        -------
        ndarray, shape (H, W)

        Raises
        ------
        ValueError
            Unfitted detector, or image smaller than the patch.
        """
        self._check_model()
        if self.density is None:
            raise ValueError("detector is not fitted: call fit(normal_images) or AnomalyDetector.load(path)")
        img = _as_gray(image, "image", self.config.patch_size)
        F, cy, cx = self._features(img)
        grid = self.density.neg_log_density(F.reshape(-1, F.shape[-1])).reshape(F.shape[:2])
        Wy = _interp_matrix(np.asarray(cy), img.shape[0])
        Wx = _interp_matrix(np.asarray(cx), img.shape[1])
        return Wy @ grid @ Wx.T

    def threshold(self, fpr: float | None = None) -> float:
        """``gamma``: the ``1 - fpr`` quantile of the validation anomaly scores.

        Raises
        ------
        ValueError
            ``fpr`` outside (0, 1), or unfitted detector.
        """
        self._check_fitted()
        f = check_fpr(self.config.fpr if fpr is None else fpr)
        q = np.linspace(0.0, 1.0, self.val_scores.size)
        return float(np.interp(1.0 - f, q, self.val_scores))

    def postprocess(self, mask: np.ndarray) -> np.ndarray:
        """Apply the configured post-processing (seed step 4) to a boolean mask."""
        cfg = self.config
        if cfg.postprocess == "none":
            return mask
        k = int(cfg.post_size)
        if cfg.postprocess == "median":
            from scipy.ndimage import median_filter

            return median_filter(mask.astype(np.uint8), size=k) > 0
        from scipy.ndimage import binary_opening

        return binary_opening(mask, structure=np.ones((k, k), bool))

    def detect(self, image: np.ndarray, fpr: float | None = None, *, anomaly_map: np.ndarray | None = None) -> np.ndarray:
        """Boolean anomaly mask ``A(s) > gamma`` (then post-processed).

        Parameters
        ----------
        image : ndarray
        fpr : float, optional
            Target false-positive rate in (0, 1); defaults to ``config.fpr``.
        anomaly_map : ndarray, optional
            Precomputed :meth:`score` of ``image``.

        Returns
        -------
        ndarray of bool, shape (H, W)
        """
        gamma = self.threshold(fpr)
        amap = self.score(image) if anomaly_map is None else np.asarray(anomaly_map)
        return self.postprocess(amap > gamma)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model as one ``.npz`` (arrays + JSON header), atomically; no pickle.

        Returns
        -------
        Path
        """
        from nlvision.atomic import atomic_path

        self._check_fitted()
        header = {
            "format": _FORMAT,
            "version": _VERSION,
            "method": self.config.method,
            "config": asdict(self.config),
            "info": self.info,
        }
        arrays = {
            "header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
            "density_weights": self.density.weights,
            "density_means": self.density.means,
            "density_covariances": self.density.covariances,
            "val_scores": self.val_scores,
        }
        if self.dictionary is not None:
            arrays["dictionary"] = self.dictionary
            arrays["groups"] = self.groups
        if self.filters is not None:
            arrays["filters"] = self.filters
        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, method: str | None = None) -> "AnomalyDetector":
        """Read a model written by :meth:`save` (``allow_pickle=False``).

        Parameters
        ----------
        path : path-like
        method : str, optional
            Expected method; a model of another method is rejected.

        Raises
        ------
        ValueError
            Missing, corrupt or foreign file, or a model of another method.
        """
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: no such model file")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
            header = json.loads(bytes(data["header"].astype(np.uint8)).decode("utf-8"))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as exc:
            raise ValueError(f"{path}: not a valid nlvision anomaly model ({type(exc).__name__})") from None
        if not isinstance(header, dict) or header.get("format") != _FORMAT:
            raise ValueError(f"{path}: not an nlvision anomaly model (format {header.get('format') if isinstance(header, dict) else None!r})")
        if header.get("version") != _VERSION:
            raise ValueError(f"{path}: unsupported model version {header.get('version')!r}; expected {_VERSION}")
        if method is not None and header.get("method") != method:
            raise ValueError(f"{path}: model of method {header.get('method')!r}, expected {method!r}")
        try:
            cfg = AnomalyConfig.from_dict(header["config"])
            det = cls(config=cfg, info=header.get("info", {}))
            det.density = GaussianDensity(data["density_weights"], data["density_means"], data["density_covariances"])
            det.val_scores = data["val_scores"]
            if cfg.method == "csc":
                det.filters = data["filters"]
                if det.filters.ndim != 3 or det.filters.shape[0] != cfg.n_filters:
                    raise ValueError("filters shape")
            else:
                det.dictionary = data["dictionary"]
                det.groups = data["groups"].astype(np.int64)
                n_sc = 1 if cfg.method == "patch" else len(cfg.scales)
                if det.dictionary.shape != (cfg.patch_size ** 2, cfg.n_atoms * n_sc) or det.groups.shape != (det.dictionary.shape[1],):
                    raise ValueError("dictionary shape")
            k = 2 if cfg.method == "patch" else 3
            if det.density.means.shape[-1] != k or det.density.covariances.shape[-2:] != (k, k) or det.val_scores.ndim != 1:
                raise ValueError("density shape")
            arrays = [det.density.weights, det.density.means, det.density.covariances, det.val_scores]
            arrays += [det.filters] if det.filters is not None else [det.dictionary]
            if not all(np.all(np.isfinite(a)) for a in arrays):
                raise ValueError("non-finite values")
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}: corrupt anomaly model ({exc})") from None
        return det


# --------------------------------------------------------------------------- kNN baseline
@dataclass
class KNNPatchBaseline:
    """k-nearest-neighbour patch-distance baseline (the idea behind PatchCore).

    Every patch of a test image is projected on the first ``n_components`` principal
    components of the normal training patches; its score is the mean Euclidean distance to its
    ``k`` nearest neighbours in a random memory bank of normal patches. ``gamma`` is set on a
    disjoint validation set exactly like :class:`AnomalyDetector`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> b = KNNPatchBaseline(patch_size=5, memory=200).fit([rng.random((30, 30))], [rng.random((30, 30))])
    >>> b.score(rng.random((20, 20))).shape
    (20, 20)
    """

    patch_size: int = 15
    n_components: int = 32
    k: int = 1
    memory: int = 10000
    step: int = 4
    fit_step: int = 2
    seed: int = 0
    fpr: float = 0.01
    mean: np.ndarray | None = None
    components: np.ndarray | None = None
    bank: np.ndarray | None = None
    val_scores: np.ndarray | None = None

    def _project(self, P):
        return (P - self.mean) @ self.components.T

    def fit(self, normal_images: Sequence[np.ndarray], val_images: Sequence[np.ndarray]) -> "KNNPatchBaseline":
        """Build the memory bank from ``normal_images`` and calibrate ``gamma`` on ``val_images``."""
        from nlvision.restoration.patches import extract_patches

        p = int(self.patch_size)
        if not normal_images or not val_images:
            raise ValueError("normal_images and val_images must each hold at least one image")
        imgs = [_as_gray(im, f"normal_images[{i}]", p) for i, im in enumerate(normal_images)]
        vals = [_as_gray(im, f"val_images[{i}]", p) for i, im in enumerate(val_images)]
        P = np.concatenate([extract_patches(im, p, self.fit_step) for im in imgs])
        if P.shape[0] < max(self.k, 2):
            raise ValueError(f"normal_images: too few normal patches ({P.shape[0]})")
        rng = np.random.default_rng(self.seed)
        self.mean = P.mean(axis=0)
        nc = min(int(self.n_components), P.shape[1], P.shape[0])
        sub = P[rng.choice(P.shape[0], size=min(P.shape[0], 20000), replace=False)]
        _, _, Vt = np.linalg.svd(sub - self.mean, full_matrices=False)
        self.components = Vt[:nc]
        bank = P[rng.choice(P.shape[0], size=min(P.shape[0], int(self.memory)), replace=False)]
        self.bank = self._project(bank)
        vs = np.concatenate([self.score(v).ravel() for v in vals])
        vs.sort()
        idx = np.round(np.linspace(0, vs.size - 1, min(vs.size, 20001))).astype(np.int64)
        self.val_scores = vs[idx]
        return self

    def score(self, image: np.ndarray) -> np.ndarray:
        """Anomaly map: mean distance of each patch to its ``k`` nearest normal patches."""
        import torch

        from nlvision.restoration.patches import extract_patches, patch_grid

        if self.bank is None:
            raise ValueError("baseline is not fitted: call fit(normal_images, val_images)")
        p = int(self.patch_size)
        img = _as_gray(image, "image", p)
        Q = torch.as_tensor(self._project(extract_patches(img, p, self.step)), dtype=torch.float32)
        B = torch.as_tensor(self.bank, dtype=torch.float32)
        out = []
        for start in range(0, Q.shape[0], 4096):
            d = torch.cdist(Q[start : start + 4096], B)
            out.append(torch.topk(d, min(self.k, B.shape[0]), dim=1, largest=False).values.mean(1))
        rows, cols = patch_grid(img.shape, p, self.step)
        grid = torch.cat(out).double().numpy().reshape(rows.size, cols.size)
        Wy = _interp_matrix(rows + (p - 1) / 2.0, img.shape[0])
        Wx = _interp_matrix(cols + (p - 1) / 2.0, img.shape[1])
        return Wy @ grid @ Wx.T

    def threshold(self, fpr: float | None = None) -> float:
        """``gamma`` for a target FPR (quantile of the validation scores)."""
        if self.val_scores is None:
            raise ValueError("baseline is not fitted: call fit(normal_images, val_images)")
        f = check_fpr(self.fpr if fpr is None else fpr)
        return float(np.interp(1.0 - f, np.linspace(0.0, 1.0, self.val_scores.size), self.val_scores))


# --------------------------------------------------------------------------- benchmark
#: Methods evaluated by :func:`run_benchmark` (the three detectors and the kNN baseline).
BENCH_METHODS = ("patch", "multiscale", "csc", "knn")


def quick_config(method: str) -> AnomalyConfig:
    """Reduced-cost configuration (fewer atoms/iterations) used by quick benchmarks and the demo."""
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; valid: {', '.join(METHODS)}")
    return AnomalyConfig(method=method, n_atoms=64, dl_iter=6, n_train_patches=3000, admm_iter=30,
                         n_filters=8, cdl_iter=4, csc_iter=40).validate()


def run_benchmark(
    textures: Sequence[str] = ("brick", "grass", "gravel"),
    methods: Sequence[str] = BENCH_METHODS,
    zooms: Sequence[float] = (1.0,),
    *,
    quick: bool = False,
    fpr: float = 0.01,
    n_test: int = 4,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Pixel AUROC and the FPR obtained at the target FPR on the texture benchmark.

    Every method is fitted on the training band of each texture (zoom 1), calibrated on the
    validation band, and evaluated on defective test images at each zoom in ``zooms``
    (zooms other than 1 are domain shifts not seen in training, except by the multiscale
    model's synthetic rescalings).

    Returns
    -------
    list of dict
        One row per (texture, method, zoom): ``auroc``, ``fpr_target``, ``fpr_obtained``,
        ``tpr`` (detected fraction of anomalous pixels), ``fit_s``, ``score_s``.
    """
    import time

    from nlvision.datasets.textures import make_texture_benchmark

    check_fpr(fpr)
    for m in methods:
        if m not in BENCH_METHODS:
            raise ValueError(f"methods: unknown {m!r}; valid: {', '.join(BENCH_METHODS)}")
    rows = []
    for tex in textures:
        bench = {z: make_texture_benchmark(tex, n_test=n_test, zoom=z, seed=seed) for z in zooms}
        base = bench[zooms[0]]
        for m in methods:
            t0 = time.perf_counter()
            if m == "knn":
                det = KNNPatchBaseline(fpr=fpr, seed=seed).fit(base.train, base.val)
            else:
                cfg = quick_config(m) if quick else AnomalyConfig(method=m)
                cfg.fpr = fpr
                cfg.seed = seed
                det = AnomalyDetector(cfg).fit(base.train, val_images=base.val)
            fit_s = time.perf_counter() - t0
            gamma = det.threshold(fpr)
            for z in zooms:
                t1 = time.perf_counter()
                maps = [det.score(t.image) for t in bench[z].test]
                score_s = (time.perf_counter() - t1) / len(maps)
                masks = [t.mask for t in bench[z].test]
                pos = np.concatenate([mp[mk] for mp, mk in zip(maps, masks)])
                row = {
                    "texture": tex, "method": m, "zoom": float(z),
                    "auroc": pixel_auroc(maps, masks),
                    "fpr_target": float(fpr),
                    "fpr_obtained": fpr_at_threshold(maps, masks, gamma),
                    "tpr": float(np.mean(pos > gamma)),
                    "fit_s": fit_s, "score_s": score_s,
                }
                rows.append(row)
                if progress is not None:
                    progress(f"{tex} {m} zoom={z}: AUROC {row['auroc']:.3f}, FPR {row['fpr_obtained']:.4f}")
    return rows
