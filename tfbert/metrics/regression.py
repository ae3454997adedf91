"""Pearson and Spearman correlation and mean squared error, as SciPy and scikit-learn define them.

This reproduces `scipy.stats.pearsonr(...).statistic`, `scipy.stats.spearmanr(...).statistic`
(Pearson's r of the ranks, tied values sharing their average rank) and
`sklearn.metrics.mean_squared_error`. As in SciPy, a correlation with a constant input is NaN
(here without SciPy's `ConstantInputWarning`).

It is written here rather than imported because tfbert needs four small metric functions at run
time and no dependency for them; the tests compare it with SciPy and scikit-learn themselves.

>>> {name: round(value, 12) for name, value in
...  regression_scores([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]).items()}
{'pearson': 0.8, 'spearman': 0.8, 'mse': 0.5}
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def regression_scores(true_values: Sequence[float], pred_values: Sequence[float]) -> dict:
    """`{"pearson", "spearman", "mse"}` of predictions against true values (at least two each).

    >>> scores = regression_scores([0.0, 1.0, 2.0, 3.0], [0.5, 1.0, 1.0, 4.0])
    >>> round(scores["pearson"], 4), round(scores["spearman"], 4), scores["mse"]
    (0.8468, 0.9487, 0.5625)
    """
    true_values = _as_vector(true_values, "true_values")
    pred_values = _as_vector(pred_values, "pred_values")
    if true_values.shape != pred_values.shape:
        raise ValueError(f"`true_values` has {true_values.size} values but `pred_values` has "
                         f"{pred_values.size}")
    if true_values.size < 2:
        raise ValueError(f"correlations need at least 2 values; got {true_values.size}")
    return {"pearson": _pearson(true_values, pred_values),
            "spearman": _pearson(_average_ranks(true_values), _average_ranks(pred_values)),
            "mse": float(np.mean((true_values - pred_values) ** 2))}


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")  # r is undefined for a constant input
    x_centered = x - x.mean()
    y_centered = y - y.mean()
    # Scaled by the largest deviation first, so huge values cannot overflow the norms.
    x_centered /= np.abs(x_centered).max()
    y_centered /= np.abs(y_centered).max()
    r = np.dot(x_centered, y_centered) / (np.linalg.norm(x_centered) * np.linalg.norm(y_centered))
    return float(np.clip(r, -1.0, 1.0))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values get the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_group = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    first = np.flatnonzero(starts_group)  # 0-based first position of each group
    last = np.concatenate([first[1:], [values.size]])  # 1-based last rank of each group
    ranks = np.empty(values.size)
    ranks[order] = ((first + 1 + last) / 2)[np.cumsum(starts_group) - 1]
    return ranks


def _as_vector(values, name: str) -> np.ndarray:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"`{name}` must be a list of numbers; got a string {values!r:.80}")
    try:
        vector = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`{name}` must be a list of numbers; got {values!r:.80} "
                        f"({error})") from None
    if vector.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, one value per example; got shape "
                         f"{vector.shape}")
    bad = np.flatnonzero(~np.isfinite(vector))
    if bad.size:
        raise ValueError(f"`{name}`[{bad[0]}] is {vector[bad[0]]}; every value must be finite")
    return vector
