"""tfbert.metrics.classification_scores against scikit-learn."""
import random

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from tfbert.metrics import classification_scores


def assert_matches_sklearn(true_labels, pred_labels, labels=None):
    ours = classification_scores(true_labels, pred_labels, labels)
    if labels is None:
        labels = sorted(set(true_labels) | set(pred_labels))  # sklearn's unique_labels order
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, pred_labels, labels=labels, zero_division=0)
    assert ours["accuracy"] == accuracy_score(true_labels, pred_labels)
    assert ours["macro_f1"] == f1_score(true_labels, pred_labels, labels=labels, average="macro",
                                        zero_division=0)
    assert list(ours["per_class"]) == list(labels)
    assert ours["per_class"] == {
        label: {"precision": p, "recall": r, "f1": f, "support": s}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)}


def test_random_labels_equal_sklearn():
    rng = random.Random(3)
    for _ in range(150):
        classes = rng.choice([[0, 1], [0, 1, 2, 3], ["neg", "neu", "pos"]])
        size = rng.randint(1, 30)
        true_labels = [rng.choice(classes) for _ in range(size)]
        pred_labels = [label if rng.random() < 0.6 else rng.choice(classes)
                       for label in true_labels]
        assert_matches_sklearn(true_labels, pred_labels)
        subset = rng.sample(classes, rng.randint(1, len(classes)))  # any order, some absent
        assert_matches_sklearn(true_labels, pred_labels, subset)


def test_labels_order_absent_class_and_zero_division():
    # Class 2 is never true nor predicted, class 1 never predicted: their scores are 0.0.
    assert_matches_sklearn([0, 1, 1, 0], [0, 0, 0, 0], labels=[2, 1, 0])
    scores = classification_scores([0, 1, 1, 0], [0, 0, 0, 0], labels=[2, 1, 0])
    assert scores["per_class"][2] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert scores["macro_f1"] == pytest.approx((0 + 0 + 2 * 2 / 6) / 3)


def test_numpy_arrays_give_python_labels():
    scores = classification_scores(np.array([1, 0, 1]), np.array([1, 1, 1]))
    assert list(scores["per_class"]) == [0, 1] and all(type(k) is int for k in scores["per_class"])
    assert_matches_sklearn([1, 0, 1], [1, 1, 1])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="`true_labels` has 2 examples but `pred_labels` has 1"):
        classification_scores([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        classification_scores([], [])
    with pytest.raises(ValueError, match="must not repeat"):
        classification_scores([0, 1], [0, 1], labels=[0, 0])
    with pytest.raises(TypeError, match="cannot be sorted.*pass `labels`"):
        classification_scores([0, "a"], [0, "a"])
    with pytest.raises(TypeError, match=r"`pred_labels`\[1\] must be a class"):
        classification_scores([0, 1], [0, [1]])
    with pytest.raises(TypeError, match="`true_labels` must be a list of classes"):
        classification_scores("abc", "abc")
