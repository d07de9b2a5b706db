"""Agreement between objective scores and subjective scores (seed 004, sec. 3.1–3.2).

SROCC and KRCC are computed on the raw scores; PLCC and RMSE after the 5-parameter logistic
mapping recommended by the VQEG (2003), ``Q(x) = β1 (1/2 - 1/(1 + exp(β2 (x - β3)))) + β4 x + β5``,
fitted to the subjective scores by least squares (``scipy.optimize.curve_fit``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["logistic5", "fit_logistic", "Agreement", "agreement"]


def logistic5(x: np.ndarray, b1: float, b2: float, b3: float, b4: float, b5: float) -> np.ndarray:
    """The VQEG 5-parameter logistic ``β1 (1/2 - 1/(1 + exp(β2 (x - β3)))) + β4 x + β5``.

    Examples
    --------
    >>> float(logistic5(np.array(2.0), 1.0, 1.0, 2.0, 0.5, 0.0))  # 1*(0.5 - 0.5) + 1
    1.0
    """
    z = np.clip(b2 * (np.asarray(x, dtype=np.float64) - b3), -500, 500)
    return b1 * (0.5 - 1.0 / (1.0 + np.exp(z))) + b4 * x + b5


def _check(scores, subjective) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(subjective, dtype=np.float64).ravel()
    if x.size != y.size:
        raise ValueError(f"subjective: expected {x.size} values to match scores, got {y.size}")
    if x.size < 6:
        raise ValueError(f"scores: need at least 6 pairs (the logistic has 5 parameters), got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("scores, subjective: contain NaN or infinite values")
    return x, y


def fit_logistic(scores, subjective, maxfev: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Fit the 5-parameter logistic; return ``(params, mapped scores)``.

    Starts from ``β1 = range(y)``, ``β2 = 1/std(x)`` (sign of the Pearson correlation),
    ``β3 = mean(x)``, ``β4 = 0``, ``β5 = mean(y)``. If the fit fails to converge, a linear
    least-squares fit (``β1 = 0``) is used instead.

    Parameters
    ----------
    scores : array_like
        Objective scores.
    subjective : array_like
        Subjective scores (MOS), same length (>= 6).
    maxfev : int
        Maximum function evaluations of ``curve_fit``.

    Returns
    -------
    params : ndarray (5,)
        The fitted β1…β5.
    mapped : ndarray
        ``Q(scores)``.

    Raises
    ------
    ValueError
        Different lengths, fewer than 6 pairs, NaN/inf values.

    References
    ----------
    VQEG, final report on the validation of objective models of video quality (2003), seed 004 ref. [15].

    Examples
    --------
    >>> x = np.linspace(0, 1, 20)
    >>> y = logistic5(x, 4.0, 8.0, 0.5, 0.3, 2.0)
    >>> _, q = fit_logistic(x, y)
    >>> bool(np.allclose(q, y, atol=1e-4))
    True
    """
    from scipy.optimize import curve_fit

    x, y = _check(scores, subjective)
    sx = float(np.std(x)) or 1.0
    r = np.corrcoef(x, y)[0, 1] if np.std(y) > 0 else 1.0
    p0 = [float(np.ptp(y)) or 1.0, (1.0 if r >= 0 else -1.0) / sx, float(np.mean(x)), 0.0, float(np.mean(y))]
    try:
        params, _ = curve_fit(logistic5, x, y, p0=p0, maxfev=maxfev)
        mapped = logistic5(x, *params)
        if not np.all(np.isfinite(mapped)):
            raise RuntimeError("non-finite fit")
    except (RuntimeError, ValueError):
        slope, intercept = np.polyfit(x, y, 1)
        params = np.array([0.0, 1.0, 0.0, slope, intercept])
        mapped = logistic5(x, *params)
    return np.asarray(params), mapped


@dataclass
class Agreement:
    """SROCC, KRCC (raw), PLCC and RMSE (after the logistic mapping), and the sample size.

    Parameters
    ----------
    srocc : float
        Spearman rank-order correlation.
    krcc : float
        Kendall rank correlation.
    plcc : float
        Pearson correlation after the VQEG logistic.
    rmse : float
        Root mean squared error after the VQEG logistic.
    n : int
        Number of pairs.

    Examples
    --------
    >>> Agreement(1.0, 1.0, 1.0, 0.0, 6).to_dict()["n"]
    6
    """

    srocc: float
    krcc: float
    plcc: float
    rmse: float
    n: int

    def to_dict(self) -> dict:
        """Plain-dict form."""
        return asdict(self)


def agreement(scores, subjective) -> Agreement:
    """Agreement statistics of objective ``scores`` with ``subjective`` scores (MOS).

    Parameters
    ----------
    scores, subjective : array_like
        Same length (>= 6), finite.

    Returns
    -------
    Agreement
        SROCC, KRCC, PLCC and RMSE (the last two after the VQEG logistic fit) and the fit itself.

    Raises
    ------
    ValueError
        Different lengths, fewer than 6 pairs, NaN/inf values.

    Examples
    --------
    >>> a = agreement([1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60])
    >>> round(a.srocc, 6), round(a.krcc, 6), round(a.plcc, 6)
    (1.0, 1.0, 1.0)
    """
    from scipy.stats import kendalltau, pearsonr, spearmanr

    x, y = _check(scores, subjective)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("scores, subjective: constant inputs have no defined correlation")
    _, q = fit_logistic(x, y)
    plcc = float(pearsonr(q, y)[0]) if np.ptp(q) > 0 else 0.0
    return Agreement(
        srocc=float(spearmanr(x, y)[0]),
        krcc=float(kendalltau(x, y)[0]),
        plcc=plcc,
        rmse=float(np.sqrt(np.mean((q - y) ** 2))),
        n=int(x.size),
    )
