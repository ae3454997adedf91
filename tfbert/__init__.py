"""tfbert: BERT for TensorFlow and Keras 3, from raw text to TF Serving.

Names are imported on first use (TensorFlow loads then), so `import tfbert` is instant.

>>> import tfbert
>>> tfbert.BertConfig.preset("bert_base").hidden_size
768
"""
import os

from tfbert.lazy_exports import lazy_exports

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

_EXPORTS = {
    "BertConfig": "tfbert.config:BertConfig",
    "BertTokenizer": "tfbert.text.tokenizer:BertTokenizer",
    "BertPreprocessor": "tfbert.text.preprocessor:BertPreprocessor",
    "BertEncoder": "tfbert.models.bert_encoder:BertEncoder",
    "BertPretrainer": "tfbert.models.bert_pretrainer:BertPretrainer",
    "BertClassifier": "tfbert.models.bert_classifier:BertClassifier",
    "BertRegressor": "tfbert.models.bert_regressor:BertRegressor",
    "BertTokenClassifier": "tfbert.models.bert_token_classifier:BertTokenClassifier",
    "BertSpanQA": "tfbert.models.bert_span_qa:BertSpanQA",
    "BertEmbedder": "tfbert.models.bert_embedder:BertEmbedder",
    "Predictor": "tfbert.tasks.inference:Predictor",
    "load": "tfbert.models.model_directory:load",
    "save": "tfbert.models.model_directory:save",
    "data": "tfbert.data",
    "metrics": "tfbert.metrics",  # tfbert.data.pretraining_dataset, as DESIGN.md names it
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
