"""The standard fine-tuning metrics as plain Python/NumPy functions, usable without a model.

Each equals the field's reference: seqeval's entity scores, the official SQuAD scripts,
scikit-learn's classification scores, SciPy's correlations.

>>> from tfbert.metrics import classification_scores
>>> classification_scores([1, 0], [1, 1])["accuracy"]
0.5
"""
from tfbert.metrics.classification import classification_scores
from tfbert.metrics.entities import entities, entity_scores
from tfbert.metrics.regression import regression_scores
from tfbert.metrics.squad import best_threshold, squad_scores

__all__ = ["entity_scores", "entities", "squad_scores", "best_threshold", "classification_scores",
           "regression_scores"]
