"""Batched Orthogonal Matching Pursuit (plain and masked) and K-SVD dictionary learning.

The lecture's sparse-coding tools (seed 003, "Denoising via sparse coding", "Image
inpainting", the K-SVD dictionary): every patch ``s`` is represented as ``s ~ D x`` with few
non-zeros in ``x``; OMP finds ``x`` greedily, K-SVD learns ``D`` from data.

Implementation notes
--------------------
* :func:`omp` is Batch-OMP (Rubinstein, Zibulevsky & Elad 2008): the Gram matrix ``G = DᵀD``
  and the projections ``Dᵀs`` are computed once; the correlations of the residual with every
  atom are then ``Dᵀs - G_{:,I} γ``, so an iteration costs ``j·K`` per signal (the Gram rows of
  the ``j`` selected atoms) instead of the ``n·K`` of a residual product, which takes over only
  for large ``j``. All signals of a chunk advance in lock-step, so every step is one
  vectorised numpy operation over hundreds of signals; the inverse Cholesky factor ``L⁻¹`` of
  the selected atoms' Gram matrix and the coefficients grow by one row per iteration, so no
  triangular solve is needed. Signals that meet their stopping rule leave the working set.
* :func:`omp_masked` codes each signal against its own masked dictionary ``P_i D`` (only the
  observed entries). Atoms are *selected* with the correlations normalised by the masked atom
  norms ``||P_i d_k||`` and the coefficients are the least-squares fit on the un-normalised
  masked atoms, so that ``D x`` (the full dictionary) synthesises the whole patch.
* :func:`ksvd` alternates OMP coding and the rank-1 SVD update of every atom together with the
  coefficients that use it (Aharon, Elad & Bruckstein 2006).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SparseCodes",
    "omp",
    "omp_codes",
    "omp_masked",
    "omp_masked_codes",
    "KSVDConfig",
    "KSVDResult",
    "ksvd",
    "dct_dictionary",
    "normalize_atoms",
]

_EPS = np.finfo(np.float64).eps
# plain OMP updates the correlations from the j + 2 stored rows of W (Dᵀs and the Gram rows of
# the j + 1 selected atoms) while j + 2 <= _GRAM_UNTIL, then by the residual GEMM (n·K); measured
# on 64x256 dictionaries: Gram rows are faster up to 8-9 rows (so 8 non-zeros never switch)
_GRAM_UNTIL = 9


@dataclass
class SparseCodes:
    """Sparse codes of ``N`` signals in compact form.

    Parameters
    ----------
    indices : ndarray of int, shape (N, k)
        Selected atoms in selection order; ``-1`` pads unused slots.
    values : ndarray, shape (N, k)
        Coefficients of the selected atoms (0 in padded slots).
    n_atoms : int
        Number of atoms ``K`` of the dictionary.

    References
    ----------
    Rubinstein, Zibulevsky & Elad, Technion CS-2008-08 (Batch-OMP's compact codes).

    Examples
    --------
    >>> c = SparseCodes(np.array([[2, -1]]), np.array([[0.5, 0.0]]), n_atoms=3)
    >>> c.to_dense().tolist(), c.n_nonzero.tolist()
    ([[0.0, 0.0, 0.5]], [1])
    """

    indices: np.ndarray
    values: np.ndarray
    n_atoms: int

    @property
    def n_nonzero(self) -> np.ndarray:
        """Number of selected atoms per signal, shape (N,)."""
        return (self.indices >= 0).sum(axis=1)

    def to_dense(self) -> np.ndarray:
        """Dense coefficient matrix, shape (N, K)."""
        n = self.indices.shape[0]
        out = np.zeros((n, self.n_atoms), dtype=self.values.dtype)
        rows, slots = np.nonzero(self.indices >= 0)
        out[rows, self.indices[rows, slots]] = self.values[rows, slots]
        return out

    def to_sparse(self):
        """The codes as a ``scipy.sparse.csr_matrix`` of shape (N, K)."""
        from scipy import sparse as sp

        rows, slots = np.nonzero(self.indices >= 0)
        return sp.csr_matrix(
            (self.values[rows, slots], (rows, self.indices[rows, slots])),
            shape=(self.indices.shape[0], self.n_atoms),
        )

    def reconstruct(self, dictionary: np.ndarray) -> np.ndarray:
        """Synthesised signals ``D x`` as rows, shape (N, n) (sparse-dense product)."""
        return np.asarray(self.to_sparse() @ np.asarray(dictionary, dtype=np.float64).T)


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _check_dictionary(D: object, name: str = "D") -> np.ndarray:
    if not isinstance(D, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (n_features, n_atoms), got {type(D).__name__}")
    if D.ndim != 2 or D.shape[0] < 1 or D.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n_features, n_atoms), got {D.shape}")
    if not np.issubdtype(D.dtype, np.number) or np.iscomplexobj(D):
        raise TypeError(f"{name} must be real-valued, got dtype {D.dtype}")
    D = D.astype(np.float64, copy=False)
    if not np.all(np.isfinite(D)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return D


def _check_signals(X: object, n_features: int, name: str = "X") -> tuple[np.ndarray, bool]:
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape (n_signals, n_features), got {type(X).__name__}")
    single = X.ndim == 1
    X2 = X[None, :] if single else X
    if X2.ndim != 2 or X2.shape[1] != n_features:
        raise ValueError(
            f"{name} must have shape (n_signals, {n_features}) to match the dictionary, got {X.shape}"
        )
    if not np.issubdtype(X2.dtype, np.number) or np.iscomplexobj(X2):
        raise TypeError(f"{name} must be real-valued, got dtype {X2.dtype}")
    X2 = X2.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X2)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return X2, single


def _check_stopping(n_nonzero: object, tol: object, n_atoms: int, n_signals: int, default_k: int) -> tuple[int, np.ndarray | None]:
    if n_nonzero is not None:
        if isinstance(n_nonzero, bool) or not isinstance(n_nonzero, (int, np.integer)):
            raise TypeError(f"n_nonzero must be an int, got {n_nonzero!r}")
        if n_nonzero < 1:
            raise ValueError(f"n_nonzero must be >= 1, got {n_nonzero}")
        if n_nonzero > n_atoms:
            raise ValueError(f"n_nonzero={n_nonzero} is larger than the number of atoms ({n_atoms})")
    tol_arr = None
    if tol is not None:
        tol_arr = np.asarray(tol, dtype=np.float64)
        if tol_arr.ndim == 0:
            tol_arr = np.full(n_signals, float(tol_arr))
        if tol_arr.shape != (n_signals,):
            raise ValueError(f"tol must be a scalar or have shape ({n_signals},), got {tol_arr.shape}")
        if not np.all(np.isfinite(tol_arr)) or np.any(tol_arr < 0):
            raise ValueError("tol must be finite and >= 0 (squared residual norm)")
    if n_nonzero is None:
        k = n_atoms if tol_arr is not None else default_k
    else:
        k = int(n_nonzero)
    return min(k, n_atoms), tol_arr


# --------------------------------------------------------------------------------------------
# Batch-OMP
# --------------------------------------------------------------------------------------------


def _grow(a: np.ndarray, new: tuple[int, ...]) -> np.ndarray:
    """``a`` zero-padded to shape ``new`` (per-signal storage growth)."""
    out = np.zeros(new, dtype=a.dtype)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _omp_chunk(
    D: np.ndarray,
    Dt: np.ndarray,
    G: np.ndarray | None,
    X: np.ndarray,
    M: np.ndarray | None,
    k_max: int,
    tol: np.ndarray | None,
    gram_until: int = _GRAM_UNTIL,
) -> tuple[np.ndarray, np.ndarray]:
    """Batch-OMP on one chunk of signals (plain when ``M`` is None, masked otherwise).

    All signals advance together. Per signal, with ``I`` the selected atoms and ``γ`` their
    least-squares coefficients, the correlations of the residual with every atom are
    ``α = Dᵀs - G_{:,I} γ`` (Rubinstein, Zibulevsky & Elad 2008, Batch-OMP). ``W`` stacks
    ``Dᵀs`` and the Gram rows ``G[λ]`` of the selected atoms (one gathered row per iteration),
    so that ``α = [1, -γ] @ W`` is one batched product of ``(j+2)·K`` work per signal at
    iteration ``j`` (``j + 1`` atoms selected), instead of the ``n·K`` of a residual product
    ``Dᵀ(s - D_I γ)``. Once ``j + 2`` exceeds ``gram_until`` the residual product is the
    cheaper one (measured, see ``_GRAM_UNTIL``): ``W`` then stacks ``s`` and the selected
    atoms ``d_λ`` (signal space), ``r = [1, -γ] @ W`` and ``α = Dᵀ r`` (one GEMM). The masked
    variant always works in signal space, with the masked signal and atoms ``P_i s``,
    ``P_i d_λ``, and selects with the correlations divided by ``||P_i d_k||``.

    The inverse ``L⁻¹`` of the Cholesky factor of ``G_II`` grows by one row per iteration
    (``w = L⁻¹ G[I, λ]``, ``L_jj = sqrt(G[λ, λ] - |w|²)``) and so does ``γ = L⁻ᵀ c``, with
    ``c_j = α[λ] / L_jj``: no triangular solve. Signals that meet their stopping rule are
    stored and marked inactive; the working arrays are compacted when a quarter of them is
    inactive. Returns ``(indices, values)`` of shape (B, k_max).
    """
    B = X.shape[0]
    n_feat, K = D.shape
    out_idx = np.full((B, k_max), -1, dtype=np.int64)
    out_val = np.zeros((B, k_max))
    masked = M is not None
    Xw = X * M if masked else X
    live = np.arange(B)
    err = tl = None
    if tol is not None:  # squared residual norms, tracked only for the tol rule
        err = np.einsum("ij,ij->i", Xw, Xw)
        live = np.flatnonzero(err > tol)
        if live.size == 0:
            return out_idx, out_val
        err, tl = err[live], tol[live]
        if live.size < B:
            Xw = Xw[live]
            M = M[live] if masked else None
    b = live.size
    cap = min(k_max, 8)
    alpha3 = (Xw @ D)[:, None]  # (b, 1, K): correlations of the residual with every atom
    alpha = alpha3[:, 0]
    gram = not masked and gram_until >= 2  # W in Gram space (width K) or signal space (width n)
    W = np.empty((cap + 1, b, K if gram else n_feat))
    W[0] = alpha if gram else Xw
    resid3 = None if gram else np.empty((b, 1, n_feat))
    if masked:
        norm2 = M @ (D * D)  # ||P_i d_k||² = diagonal of the masked Gram matrix
        inv_norm = np.zeros_like(norm2)
        np.divide(1.0, np.sqrt(norm2), out=inv_norm, where=norm2 > _EPS)
    else:
        diag = np.diag(G).copy()
    score = np.empty_like(alpha)
    cw = np.zeros((b, 1, cap + 1))  # [1, -γ]
    cw[:, 0, 0] = 1.0
    chosen = np.zeros((b, K), dtype=bool)
    sel = np.zeros((b, cap), dtype=np.int64)
    Linv = np.zeros((b, cap, cap))  # L⁻¹, lower triangular
    flat = np.arange(b) * K  # flat index of row i's first entry in (b, K) arrays
    active = np.ones(b, dtype=bool)

    def store(which: np.ndarray, n: int) -> None:
        if n > 0:
            out_idx[live[which], :n] = sel[which, :n]
            out_val[live[which], :n] = -cw[which, 0, 1 : n + 1]

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(k_max):
            if j == cap:  # grow the per-signal storage
                cap = min(2 * cap, k_max)
                W, cw = _grow(W, (cap + 1,) + W.shape[1:]), _grow(cw, (b, 1, cap + 1))
                sel, Linv = _grow(sel, (b, cap)), _grow(Linv, (b, cap, cap))
            # select the atom most correlated with the residual
            np.abs(alpha, out=score)
            if masked:
                score *= inv_norm
            lam = np.argmax(score, axis=1)
            at = flat + lam
            ok = np.take(score, at) ** 2 >= _EPS
            a_lam = np.take(alpha, at)
            sel[:, j] = lam
            # new row of L⁻¹: w = L⁻¹ G[I, λ], d² = G[λ, λ] - |w|²
            if masked:
                d_lam = Dt[lam] * M  # P_i d_λ
                base = np.take(norm2, at)
            else:
                d_lam = None if gram else Dt[lam]
                base = np.take(diag, lam)
            if j == 0:
                d2 = base
            else:
                ok &= ~np.take(chosen, at)  # an atom selected twice: stop, as textbook OMP
                if gram:  # G[sel_i, λ], i < j, gathered from the stored Gram rows
                    g = np.take(W[1 : j + 1].reshape(j, -1), at, axis=1).T[:, :, None]
                else:  # (P_i d_sel_i)ᵀ P_i d_λ
                    g = np.matmul(W[1 : j + 1].transpose(1, 0, 2), d_lam[:, :, None])
                w = np.matmul(Linv[:, :j, :j], g)[:, :, 0]
                d2 = base - np.einsum("bi,bi->b", w, w)
                ok &= d2 > _EPS * np.maximum(base, 1.0)
            if k_max > 1:
                np.put(chosen, at, True)
            changed = False
            if not ok.all():  # premature stop (dependent atoms / nothing left to explain)
                bad = active & ~ok
                if bad.any():
                    store(bad, j)
                    active &= ok
                    changed = True
                d2 = np.where(ok, d2, 1.0)
            inv_d = 1.0 / np.sqrt(d2)
            Linv[:, j, j] = inv_d
            if j > 0:  # L⁻¹[j, :j] = -wᵀ L⁻¹[:j, :j] / L_jj
                np.multiply(np.matmul(w[:, None, :], Linv[:, :j, :j])[:, 0], -inv_d[:, None], out=Linv[:, j, :j])
            c_j = a_lam * inv_d  # = <new orthonormal direction, residual>
            n = j + 1
            cw[:, 0, 1 : n + 1] -= c_j[:, None] * Linv[:, j, :n]  # γ += c_j L⁻¹[j]
            if n == k_max:
                store(active, n)
                break
            if gram and n + 1 > gram_until:  # from now on the residual GEMM is cheaper
                gram = False
                W = np.empty((cap + 1, b, n_feat))
                W[0] = Xw
                W[1 : n + 1] = Dt[sel[:, :n].T]
                resid3 = np.empty((b, 1, n_feat))
            elif gram:  # G[λ] (mode="clip": an unbuffered gather, λ is always in range)
                np.take(G, lam, axis=0, out=W[n], mode="clip")
            else:
                W[n] = d_lam
            if tl is not None:
                err -= c_j * c_j
                done = active & (err <= tl)
                if done.any():
                    store(done, n)
                    active &= ~done
                    changed = True
            if changed:
                n_active = int(active.sum())
                if n_active == 0:
                    break
                if n_active < 0.75 * b:  # compact the working set
                    live, Xw, W, cw, alpha3, chosen, sel, Linv = (
                        live[active], Xw[active], W[:, active], cw[active], alpha3[active],
                        chosen[active], sel[active], Linv[active],
                    )
                    if masked:
                        M, norm2, inv_norm = M[active], norm2[active], inv_norm[active]
                    if tl is not None:
                        err, tl = err[active], tl[active]
                    b = live.size
                    flat = np.arange(b) * K
                    alpha = alpha3[:, 0]
                    score = np.empty_like(alpha)
                    resid3 = None if gram else np.empty((b, 1, n_feat))
                    active = np.ones(b, dtype=bool)
            Wn = W[: n + 1].transpose(1, 0, 2)
            if gram:  # α = Dᵀs - G_{:,I} γ: one batched product with the n + 1 rows of W
                np.matmul(cw[:, :, : n + 1], Wn, out=alpha3)
            else:  # residual r = s - D_I γ (masked: on the observed entries), α = Dᵀ r
                np.matmul(cw[:, :, : n + 1], Wn, out=resid3)
                np.matmul(resid3[:, 0], D, out=alpha)
    return out_idx, out_val


def omp_codes(
    D: np.ndarray,
    X: np.ndarray,
    n_nonzero: int | None = None,
    tol: float | np.ndarray | None = None,
    *,
    chunk_size: int = 512,
) -> SparseCodes:
    """Batched OMP returning compact codes instead of a dense matrix.

    Parameters
    ----------
    D : ndarray, shape (n_features, n_atoms)
        Dictionary, atoms as columns.
    X : ndarray, shape (n_signals, n_features) or (n_features,)
        Signals as rows.
    n_nonzero : int, optional
        Maximum number of atoms per signal (see :func:`omp`).
    tol : float or ndarray, optional
        Squared residual norm at which a signal stops (see :func:`omp`).
    chunk_size : int, optional
        Signals processed together (default 512).

    Returns
    -------
    SparseCodes
        Selected atoms and coefficients of every signal.

    Raises
    ------
    TypeError, ValueError
        As :func:`omp`.

    References
    ----------
    Rubinstein, Zibulevsky & Elad, "Efficient implementation of the K-SVD algorithm using batch
    orthogonal matching pursuit", Technion CS-2008-08.

    Examples
    --------
    >>> D = np.eye(3)
    >>> c = omp_codes(D, np.array([[0.0, 2.0, 0.5]]), n_nonzero=1)
    >>> c.indices.tolist(), c.values.tolist()
    ([[1]], [[2.0]])
    """
    D = _check_dictionary(D)
    X2, _ = _check_signals(X, D.shape[0])
    return _omp_batched(D, X2, None, n_nonzero, tol, chunk_size)


def omp(
    D: np.ndarray,
    X: np.ndarray,
    n_nonzero: int | None = None,
    tol: float | np.ndarray | None = None,
    *,
    chunk_size: int = 512,
) -> np.ndarray:
    """Orthogonal Matching Pursuit of many signals at once (Batch-OMP).

    Solves, for every row ``s`` of ``X``, ``min ||x||_0`` s.t. ``||s - D x||² <= tol`` or
    ``||x||_0 <= n_nonzero`` greedily: select the atom most correlated with the residual,
    re-fit all selected coefficients by least squares, repeat. Same supports and coefficients
    as :func:`sklearn.linear_model.orthogonal_mp_gram` (textbook OMP).

    Parameters
    ----------
    D : ndarray, shape (n_features, n_atoms)
        Dictionary, atoms as columns (unit l2 norm for textbook OMP).
    X : ndarray, shape (n_signals, n_features) or (n_features,)
        Signals as rows.
    n_nonzero : int, optional
        Maximum number of atoms per signal. Default: 10 % of ``n_features`` when ``tol`` is
        not given, otherwise unlimited.
    tol : float or ndarray of shape (n_signals,), optional
        Squared residual norm at which a signal stops (per signal allowed; e.g.
        ``n·(1.15σ)²`` for denoising). Signals already within ``tol`` get no atom.
        With both ``tol`` and ``n_nonzero`` a signal stops at whichever comes first.
    chunk_size : int, default 512
        Signals processed together; the working storage is about
        ``chunk_size · 10 · n_atoms · 8`` bytes (10 MB for 256 atoms).

    Returns
    -------
    ndarray, shape (n_signals, n_atoms) (or (n_atoms,) for a 1-D ``X``)
        Dense coefficients.

    Raises
    ------
    TypeError
        If ``D``/``X`` are not real arrays or ``n_nonzero`` is not an int.
    ValueError
        On shape mismatches, NaN/inf, ``n_nonzero`` larger than the number of atoms, or a
        negative ``tol``.

    References
    ----------
    Seed 003, "Denoising via sparse coding" (OMP replaces the thresholding of each patch).
    R. Rubinstein, M. Zibulevsky, M. Elad, "Efficient implementation of the K-SVD algorithm
    using batch orthogonal matching pursuit", Technion CS-2008-08.

    Examples
    --------
    >>> D = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.8]])
    >>> omp(D, np.array([0.6, 0.8]), n_nonzero=1).round(6).tolist()
    [0.0, 0.0, 1.0]
    """
    single = isinstance(X, np.ndarray) and X.ndim == 1
    codes = omp_codes(D, X, n_nonzero, tol, chunk_size=chunk_size)
    dense = codes.to_dense()
    return dense[0] if single else dense


# --------------------------------------------------------------------------------------------
# masked OMP
# --------------------------------------------------------------------------------------------


def omp_masked_codes(
    D: np.ndarray,
    X: np.ndarray,
    mask: np.ndarray,
    n_nonzero: int | None = None,
    tol: float | np.ndarray | None = None,
    *,
    chunk_size: int = 512,
) -> SparseCodes:
    """Masked batched OMP returning compact codes (see :func:`omp_masked`).

    Parameters
    ----------
    D : ndarray, shape (n_features, n_atoms)
        Full dictionary; each signal is coded against its rows at observed entries.
    X : ndarray, shape (n_signals, n_features)
        Signals as rows (values at unobserved entries are ignored).
    mask : ndarray of bool, shape of ``X``
        True where the entry is OBSERVED.
    n_nonzero : int, optional
        Maximum number of atoms per signal.
    tol : float or ndarray, optional
        Squared residual norm on the observed entries at which a signal stops.
    chunk_size : int, optional
        Signals processed together (default 512).

    Returns
    -------
    SparseCodes
        Selected atoms and coefficients of every signal.

    Raises
    ------
    TypeError, ValueError
        As :func:`omp`; also a mask of another shape or not boolean / 0-1.

    References
    ----------
    Seed 003, "Image inpainting" (OMP w.r.t. the inpainted dictionary P_i D).

    Examples
    --------
    >>> D = np.eye(2)
    >>> c = omp_masked_codes(D, np.array([[3.0, 9.0]]), np.array([[True, False]]), n_nonzero=1)
    >>> c.indices.tolist(), c.values.tolist()
    ([[0]], [[3.0]])
    """
    D = _check_dictionary(D)
    X2, _ = _check_signals(X, D.shape[0])
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"mask must be a numpy array, got {type(mask).__name__}")
    M = mask[None, :] if mask.ndim == 1 else mask
    if M.shape != X2.shape:
        raise ValueError(f"mask must have the shape of X {X2.shape}, got {mask.shape}")
    if M.dtype != bool:
        if not np.issubdtype(M.dtype, np.number) or not np.all(np.isin(M, (0, 1))):
            raise ValueError("mask must be boolean (True = observed) or contain only 0/1")
        M = M.astype(bool)
    return _omp_batched(D, X2, M, n_nonzero, tol, chunk_size)


def _omp_batched(
    D: np.ndarray, X2: np.ndarray, M: np.ndarray | None, n_nonzero: int | None, tol, chunk_size: int
) -> SparseCodes:
    """Run :func:`_omp_chunk` over chunks of validated signals (``M``: observed-pixel mask or None)."""
    n_feat, K = D.shape
    default_k = max(1, int(round(0.1 * n_feat)))  # scikit-learn's default: 10 % of features
    k_max, tol_arr = _check_stopping(n_nonzero, tol, K, X2.shape[0], default_k)
    if tol_arr is not None and n_nonzero is None:
        k_max = min(k_max, n_feat)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    G = D.T @ D if M is None else None
    Mf = M.astype(np.float64) if M is not None else None
    Dt = np.ascontiguousarray(D.T)
    N = X2.shape[0]
    idx = np.full((N, k_max), -1, dtype=np.int64)
    val = np.zeros((N, k_max))
    for s in range(0, N, chunk_size):
        t = tol_arr[s : s + chunk_size] if tol_arr is not None else None
        m = Mf[s : s + chunk_size] if Mf is not None else None
        idx[s : s + chunk_size], val[s : s + chunk_size] = _omp_chunk(D, Dt, G, X2[s : s + chunk_size], m, k_max, t)
    used = int((idx >= 0).sum(axis=1).max()) if N else 0
    return SparseCodes(idx[:, : max(used, 1)].copy(), val[:, : max(used, 1)].copy(), K)


def omp_masked(
    D: np.ndarray,
    X: np.ndarray,
    mask: np.ndarray,
    n_nonzero: int | None = None,
    tol: float | np.ndarray | None = None,
    *,
    chunk_size: int = 512,
) -> np.ndarray:
    """OMP of partially observed signals against their masked dictionaries ``P_i D``.

    For signal ``s_i`` with observed set ``P_i`` (``mask[i]``), OMP runs on the rows of ``D``
    that are observed. Atom selection uses the correlations normalised by the masked atom
    norms, ``|<P_i d_k, r>| / ||P_i d_k||`` (the masked atoms are no longer unit-norm), and the
    coefficients are the least-squares fit on ``P_i D_I``, so ``D @ x`` synthesises the full
    patch (the lecture's inpainting). Atoms that vanish on the observed set are never chosen.

    Parameters
    ----------
    D : ndarray, shape (n_features, n_atoms)
        Full dictionary.
    X : ndarray, shape (n_signals, n_features)
        Signals; values at unobserved entries are ignored.
    mask : ndarray of bool, shape (n_signals, n_features)
        True where the entry is observed.
    n_nonzero, tol : optional
        Stopping rules as in :func:`omp`; ``tol`` is the squared residual norm on the observed
        entries, per signal allowed (e.g. ``δ_i²``).
    chunk_size : int, default 512
        Signals processed together (bounds memory).

    Returns
    -------
    ndarray, shape (n_signals, n_atoms)
        Coefficients w.r.t. the full dictionary ``D``.

    Raises
    ------
    TypeError, ValueError
        As :func:`omp`, plus a mask of the wrong shape or with values other than 0/1.

    References
    ----------
    Seed 003, "Image inpainting": OMP w.r.t. the inpainted dictionary ``P_i D``, synthesis with
    the original ``D``.

    Examples
    --------
    >>> D = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) / np.sqrt([2.0, 2.0])
    >>> x = omp_masked(D, np.array([[2.0, 0.0, 0.0]]), np.array([[True, True, False]]), n_nonzero=1)
    >>> (D @ x[0]).round(6).tolist()
    [2.0, 0.0, 2.0]
    """
    single = isinstance(X, np.ndarray) and X.ndim == 1
    codes = omp_masked_codes(D, X, mask, n_nonzero, tol, chunk_size=chunk_size)
    dense = codes.to_dense()
    return dense[0] if single else dense


# --------------------------------------------------------------------------------------------
# dictionaries and K-SVD
# --------------------------------------------------------------------------------------------


def normalize_atoms(D: np.ndarray) -> np.ndarray:
    """Scale the columns of ``D`` to unit l2 norm (zero columns are left at zero).

    Parameters
    ----------
    D : ndarray, shape (n_features, n_atoms)
        Dictionary.

    Returns
    -------
    ndarray
        Dictionary with unit-norm atoms (float64).

    Raises
    ------
    TypeError, ValueError
        Not a real 2-D array, or NaN/inf.

    References
    ----------
    Seed 003, "Sparse coding" (atoms of unit norm).

    Examples
    --------
    >>> normalize_atoms(np.array([[3.0], [4.0]])).ravel().tolist()
    [0.6, 0.8]
    """
    D = _check_dictionary(D)
    n = np.linalg.norm(D, axis=0)
    out = np.zeros_like(D)
    np.divide(D, n, out=out, where=n > 0)
    return out


def dct_dictionary(patch_size: int = 8, n_atoms: int = 256) -> np.ndarray:
    """Overcomplete separable 2-D DCT dictionary (the usual K-SVD initialisation).

    1-D atoms ``cos(t k π / m)``, ``t < p``, ``k < m``, non-constant ones made zero-mean, unit
    norm, and their Kronecker products (as in Elad & Aharon's K-SVD denoising).

    Parameters
    ----------
    patch_size : int, default 8
        Patch side ``p``.
    n_atoms : int, default 256
        Number of atoms; must be a perfect square ``>= p²`` (``sqrt(n_atoms)`` 1-D atoms).

    Returns
    -------
    ndarray, shape (p*p, n_atoms)
        Unit-norm atoms; atom 0 is the constant (DC) atom.

    Examples
    --------
    >>> D = dct_dictionary(4, 25)
    >>> D.shape, bool(np.allclose(np.linalg.norm(D, axis=0), 1)), bool(np.ptp(D[:, 0]) == 0)
    ((16, 25), True, True)
    """
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive int, got {patch_size!r}")
    m = int(round(np.sqrt(n_atoms))) if isinstance(n_atoms, (int, np.integer)) else -1
    if m * m != n_atoms or m < patch_size:
        raise ValueError(f"n_atoms must be a perfect square >= patch_size² = {patch_size**2}, got {n_atoms!r}")
    t = np.arange(patch_size)[:, None]
    k = np.arange(m)[None, :]
    d1 = np.cos(t * k * np.pi / m)
    d1[:, 1:] -= d1[:, 1:].mean(axis=0)
    d1 /= np.linalg.norm(d1, axis=0)
    return np.kron(d1, d1)


@dataclass
class KSVDConfig:
    """K-SVD hyper-parameters (defaults from Aharon, Elad & Bruckstein 2006 / Elad & Aharon 2006).

    Parameters
    ----------
    n_iter : int
        K-SVD iterations (coding + dictionary update).
    n_nonzero : int or None
        Sparsity level of the coding stage (used when ``tol`` is None).
    tol : float or None
        Squared-residual stopping rule of the coding stage (overrides ``n_nonzero``; e.g.
        ``n·(1.15σ)²`` when training on noisy patches).
    dc_atom : bool
        Keep atom 0 fixed at the constant patch (never updated).
    init : str
        ``"data"`` (random training signals) or ``"dct"`` (overcomplete DCT).
    replace_threshold : float
        Atoms whose absolute inner product with another atom exceeds this, or that no signal uses, are
        replaced by the worst-represented training signal.
    seed : int or None
        Seed of the initialisation / replacement draws.

    References
    ----------
    M. Aharon, M. Elad, A. Bruckstein, "K-SVD", IEEE TSP 54(11), 2006.

    Examples
    --------
    >>> KSVDConfig(n_iter=5).n_nonzero
    8
    """

    n_iter: int = 10
    n_nonzero: int | None = 8
    tol: float | None = None
    dc_atom: bool = False
    init: str = "data"
    replace_threshold: float = 0.99
    seed: int | None = 0


@dataclass
class KSVDResult:
    """Output of :func:`ksvd`: the dictionary, the final codes and the error history.

    Parameters
    ----------
    dictionary : ndarray, shape (n_features, n_atoms)
        Learned unit-norm atoms.
    codes : SparseCodes
        Codes of the training signals at the last iteration.
    rmse_history : list of float
        RMS representation error after each iteration.
    n_replaced : int
        Number of atoms replaced (unused or duplicated) over the run.

    References
    ----------
    Aharon, Elad & Bruckstein, IEEE TSP 2006.

    Examples
    --------
    >>> r = ksvd(np.random.default_rng(0).normal(size=(50, 4)), 4, KSVDConfig(n_iter=1, n_nonzero=1))
    >>> r.dictionary.shape, len(r.rmse_history)
    ((4, 4), 1)
    """

    dictionary: np.ndarray
    codes: SparseCodes
    rmse_history: list[float]
    n_replaced: int


def ksvd(
    X: np.ndarray,
    n_atoms: int,
    config: KSVDConfig | None = None,
    *,
    init_dictionary: np.ndarray | None = None,
    callback=None,
) -> KSVDResult:
    """K-SVD dictionary learning (Aharon, Elad & Bruckstein 2006).

    Alternates (1) sparse coding of all training signals with :func:`omp` and (2) for every
    atom ``d_k`` the rank-1 SVD of the residual restricted to the signals that use it,
    ``E_k = X_ω - D X_ω + d_k x_k`` → ``d_k = u_1``, ``x_k = σ_1 v_1`` (coefficients and atom
    updated together, supports kept). Unused atoms and atoms nearly identical to another one are
    replaced by the (normalised) worst-represented training signal.

    Parameters
    ----------
    X : ndarray, shape (n_signals, n_features)
        Training signals as rows (e.g. mean-removed patches).
    n_atoms : int
        Dictionary size ``K``.
    config : KSVDConfig, optional
        Hyper-parameters (defaults: 10 iterations, 8 non-zeros, no DC atom, seed 0).
    init_dictionary : ndarray, shape (n_features, n_atoms), optional
        Starting dictionary (overrides ``config.init``).
    callback : callable, optional
        Called as ``callback(iteration, rmse)`` after every iteration.

    Returns
    -------
    KSVDResult
        ``dictionary`` (n_features, n_atoms) with unit-norm atoms, final ``codes``,
        ``rmse_history`` (RMSE of the coding stage per iteration), ``n_replaced``.

    Raises
    ------
    TypeError, ValueError
        Bad shapes, NaN, ``n_atoms < 1``, unknown ``init``, too few signals.

    References
    ----------
    M. Aharon, M. Elad, A. Bruckstein, "K-SVD: an algorithm for designing overcomplete
    dictionaries for sparse representation", IEEE TSP 54(11), 2006. Seed 003 ("The dictionary
    from KSVD").

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 16))
    >>> res = ksvd(X, 20, KSVDConfig(n_iter=2, n_nonzero=3))
    >>> res.dictionary.shape, bool(np.allclose(np.linalg.norm(res.dictionary, axis=0), 1))
    ((16, 20), True)
    """
    cfg = config if config is not None else KSVDConfig()
    if not isinstance(cfg, KSVDConfig):
        raise TypeError(f"config must be a KSVDConfig, got {type(cfg).__name__}")
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n_signals, n_features), got {getattr(X, 'shape', type(X).__name__)}")
    X, _ = _check_signals(X, X.shape[1])
    N, n = X.shape
    if isinstance(n_atoms, bool) or not isinstance(n_atoms, (int, np.integer)) or n_atoms < 1:
        raise ValueError(f"n_atoms must be a positive int, got {n_atoms!r}")
    if N < n_atoms:
        raise ValueError(f"need at least n_atoms={n_atoms} training signals, got {N}")
    if isinstance(cfg.n_iter, bool) or not isinstance(cfg.n_iter, (int, np.integer)) or cfg.n_iter < 0:
        raise ValueError(f"config.n_iter must be an int >= 0, got {cfg.n_iter!r}")
    if cfg.init not in ("data", "dct"):
        raise ValueError(f"config.init must be one of ['data', 'dct'], got {cfg.init!r}")
    if cfg.n_nonzero is None and cfg.tol is None:
        raise ValueError("config needs n_nonzero or tol")
    if cfg.n_nonzero is not None and cfg.n_nonzero > n_atoms:
        raise ValueError(f"config.n_nonzero={cfg.n_nonzero} is larger than n_atoms={n_atoms}")
    rng = np.random.default_rng(cfg.seed)

    if init_dictionary is not None:
        D = normalize_atoms(_check_dictionary(init_dictionary, "init_dictionary"))
        if D.shape != (n, n_atoms):
            raise ValueError(f"init_dictionary must have shape ({n}, {n_atoms}), got {D.shape}")
    elif cfg.init == "dct":
        p = int(round(np.sqrt(n)))
        if p * p != n:
            raise ValueError(f"init='dct' needs square patches, n_features={n}")
        D = dct_dictionary(p, n_atoms)
    else:
        pick = rng.choice(N, size=n_atoms, replace=False)
        D = X[pick].T.copy()
        nrm = np.linalg.norm(D, axis=0)
        bad = nrm < 1e-12
        D[:, bad] = rng.standard_normal((n, int(bad.sum())))
        D = normalize_atoms(D)
    D = D.copy()
    start = 0
    if cfg.dc_atom:
        D[:, 0] = 1.0 / np.sqrt(n)
        start = 1
    D = normalize_atoms(D)

    history: list[float] = []
    n_replaced = 0
    for it in range(cfg.n_iter):
        codes = omp_codes(D, X, cfg.n_nonzero, cfg.tol)
        R = X - codes.reconstruct(D)  # residual, updated in place atom by atom
        history.append(float(np.sqrt(np.mean(R**2))))
        flat_sig, flat_slot = np.nonzero(codes.indices >= 0)
        flat_atom = codes.indices[flat_sig, flat_slot]
        order = np.argsort(flat_atom, kind="stable")
        bounds = np.searchsorted(flat_atom[order], np.arange(D.shape[1] + 1))
        unused = []
        for k in rng.permutation(np.arange(start, D.shape[1])):
            o = order[bounds[k] : bounds[k + 1]]
            if o.size == 0:
                unused.append(k)
                continue
            sig, slot = flat_sig[o], flat_slot[o]
            xk = codes.values[sig, slot]
            E = R[sig] + np.outer(xk, D[:, k])  # (|ω|, n): residual without atom k
            # rank-1 approximation E ≈ (σ1 v1) u1ᵀ via the n×n eigenproblem (n small)
            C = E.T @ E
            evals, evecs = np.linalg.eigh(C)
            u = evecs[:, -1]
            xnew = E @ u
            D[:, k] = u
            codes.values[sig, slot] = xnew
            R[sig] = E - np.outer(xnew, u)
        # dead / duplicated atom replacement (worst-represented signals)
        Gm = np.abs(D.T @ D)
        np.fill_diagonal(Gm, 0.0)
        dup = [k for k in range(start, D.shape[1]) if Gm[k].max() > cfg.replace_threshold]
        # keep the first of each duplicated pair
        dup_set: list[int] = []
        for k in dup:
            partners = np.flatnonzero(Gm[k] > cfg.replace_threshold)
            if not any(pp in dup_set for pp in partners) or k in unused:
                dup_set.append(k)
        replace = sorted(set(unused) | set(dup_set))
        if replace:
            err = np.einsum("ij,ij->i", R, R)
            worst = np.argsort(err)[::-1][: len(replace)]
            for k, s in zip(replace, worst):
                v = X[s]
                nv = np.linalg.norm(v)
                D[:, k] = v / nv if nv > 1e-12 else rng.standard_normal(n) / np.sqrt(n)
            n_replaced += len(replace)
        D = normalize_atoms(D)
        if callback is not None:
            callback(it, history[-1])
    codes = omp_codes(D, X, cfg.n_nonzero, cfg.tol)
    return KSVDResult(D, codes, history, n_replaced)
