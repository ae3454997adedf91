"""tfbert.metrics.regression_scores against SciPy (pearsonr, spearmanr) and scikit-learn (MSE)."""
import math
import warnings

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import mean_squared_error

from tfbert.metrics import regression_scores

# Correlations are sums of products: equal to SciPy's up to rounding in the last bits.
CLOSE = {"rel": 1e-12, "abs": 1e-12}


def assert_matches_scipy(true_values, pred_values):
    ours = regression_scores(true_values, pred_values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's ConstantInputWarning: NaN, as ours
        pearson = pearsonr(true_values, pred_values).statistic
        spearman = spearmanr(true_values, pred_values).statistic
    assert ours["pearson"] == pytest.approx(pearson, nan_ok=True, **CLOSE)
    assert ours["spearman"] == pytest.approx(spearman, nan_ok=True, **CLOSE)
    assert ours["mse"] == pytest.approx(mean_squared_error(true_values, pred_values), **CLOSE)
    assert all(type(value) is float for value in ours.values())


def test_random_values_equal_scipy():
    rng = np.random.default_rng(5)
    for _ in range(100):
        size = int(rng.integers(2, 40))
        true_values = rng.normal(size=size)
        pred_values = 0.7 * true_values + rng.normal(scale=0.5, size=size)
        assert_matches_scipy(true_values, pred_values)
        # Many ties (STS-B-like scores on a 0-5 grid): Spearman ranks ties by their average rank.
        assert_matches_scipy(rng.integers(0, 6, size=size) / 1.0,
                             np.round(rng.uniform(0, 5, size=size) * 2) / 2)


def test_edge_cases_equal_scipy():
    assert_matches_scipy([1.0, 2.0], [3.0, 1.0])  # two points: r = -1
    with np.errstate(over="ignore"):  # the squared errors overflow to inf, in both
        assert_matches_scipy([1e200, -1e200, 3e199, 5.0], [1.0, 2.0, 3.0, 4.0])  # r does not
    assert_matches_scipy([5, 1, 4, 4, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7])  # ints, ties
    assert regression_scores([1, 2, 3, 4], [4, 3, 2, 1])["spearman"] == pytest.approx(-1.0)


def test_constant_input_gives_nan_like_scipy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's ConstantInputWarning
        assert math.isnan(pearsonr([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]).statistic)
        assert math.isnan(spearmanr([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]).statistic)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ours gives NaN without a warning
        scores = regression_scores([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert math.isnan(scores["pearson"]) and math.isnan(scores["spearman"])
    assert scores["mse"] == mean_squared_error([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="`true_values` has 3 values but `pred_values` has 2"):
        regression_scores([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 values; got 1"):
        regression_scores([1.0], [1.0])
    with pytest.raises(ValueError, match=r"`pred_values`\[1\] is nan; every value must be finite"):
        regression_scores([1.0, 2.0], [1.0, float("nan")])
    with pytest.raises(TypeError, match="`true_values` must be a list of numbers"):
        regression_scores(["a", "b"], [1.0, 2.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        regression_scores([[1.0, 2.0]], [[1.0, 2.0]])
