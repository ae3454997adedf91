"""tfbert: BERT for TensorFlow and Keras 3, from raw text to TF Serving.

>>> import tfbert
>>> tfbert.BertConfig.preset("bert_base").hidden_size
768
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from tfbert.config import BertConfig  # noqa: E402
from tfbert.models import (  # noqa: E402
    BertClassifier, BertEmbedder, BertEncoder, BertPretrainer, BertSpanQA, BertTokenClassifier)
from tfbert.models.model_directory import load, save  # noqa: E402
from tfbert.text import BertPreprocessor, BertTokenizer  # noqa: E402
from tfbert import data  # noqa: E402  (tfbert.data.pretraining_dataset, as DESIGN.md names it)

__all__ = ["BertConfig", "BertTokenizer", "BertPreprocessor", "BertEncoder", "BertPretrainer", "BertClassifier",
           "BertTokenClassifier", "BertSpanQA", "BertEmbedder", "load", "save"]
