"""Accuracy, macro-F1 and per-class precision/recall/F1, as scikit-learn computes them.

This reproduces `sklearn.metrics.accuracy_score`, `f1_score(average="macro")` and
`precision_recall_fscore_support(zero_division=0)` for single-label classification, with the same
`labels` argument: the classes to report, in that order (by default every class seen in either
argument, sorted). A score that divides by zero is 0.0.

It is written here rather than imported because tfbert needs four small metric functions at run
time and no dependency for them; the tests compare it with scikit-learn itself.

>>> classification_scores(["pos", "neg", "pos"], ["pos", "pos", "pos"])["accuracy"]
0.6666666666666666
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def classification_scores(true_labels: Sequence, pred_labels: Sequence,
                          labels: Sequence | None = None) -> dict:
    """`{"accuracy", "macro_f1", "per_class": {label: {"precision", "recall", "f1", "support"}}}`.

    `true_labels` and `pred_labels` hold one class per example (ints, strings: any hashable
    values). `macro_f1` is the unweighted mean of the F1 of the classes in `labels`; `accuracy`
    counts every example, whatever `labels` holds. `support` is the number of true examples of the
    class.

    >>> scores = classification_scores([0, 1, 1, 2], [0, 1, 2, 2])
    >>> scores["accuracy"], round(scores["macro_f1"], 4)
    (0.75, 0.7778)
    >>> scores["per_class"][1]
    {'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666, 'support': 2}
    """
    true_labels = _as_list(true_labels, "true_labels")
    pred_labels = _as_list(pred_labels, "pred_labels")
    if len(true_labels) != len(pred_labels):
        raise ValueError(f"`true_labels` has {len(true_labels)} examples but `pred_labels` has "
                         f"{len(pred_labels)}")
    if not true_labels:
        raise ValueError("`true_labels` and `pred_labels` are empty; there is nothing to score")
    if labels is None:
        try:
            labels = sorted(set(true_labels) | set(pred_labels))
        except TypeError as error:
            raise TypeError(f"the classes cannot be sorted ({error}); pass `labels` to give "
                            "their order") from None
    else:
        labels = _as_list(labels, "labels")
        if not labels:
            raise ValueError("`labels` is empty; give at least one class to score")
        if len(set(labels)) != len(labels):
            raise ValueError(f"`labels` must not repeat a class; got {labels!r}")

    per_class = {}
    for label in labels:
        correct = sum(1 for t, p in zip(true_labels, pred_labels) if t == label and p == label)
        predicted = pred_labels.count(label)
        support = true_labels.count(label)
        per_class[label] = {
            "precision": correct / predicted if predicted else 0.0,
            "recall": correct / support if support else 0.0,
            # scikit-learn forms F1 from the counts: 2·tp / (true + predicted).
            "f1": 2 * correct / (support + predicted) if support + predicted else 0.0,
            "support": support}
    accuracy = sum(1 for t, p in zip(true_labels, pred_labels) if t == p) / len(true_labels)
    macro_f1 = float(np.mean([scores["f1"] for scores in per_class.values()]))
    return {"accuracy": accuracy, "macro_f1": macro_f1, "per_class": per_class}


def _as_list(values, name: str) -> list:
    """The values as a list of Python objects (a NumPy array's scalars become Python ones)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"`{name}` must be a list of classes, one per example; got "
                        f"{type(values).__name__} {values!r:.80}")
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    for index, value in enumerate(values):
        try:
            hash(value)
        except TypeError:
            raise TypeError(f"`{name}`[{index}] must be a class (an int, a string, ...); got "
                            f"{type(value).__name__} {value!r:.80}") from None
    return values
