"""Trainable BERT models: the encoder and the task models built on it."""
from tfbert.models.bert_classifier import BertClassifier
from tfbert.models.bert_embedder import BertEmbedder
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.bert_pretrainer import BertPretrainer
from tfbert.models.bert_regressor import BertRegressor
from tfbert.models.bert_span_qa import BertSpanQA
from tfbert.models.bert_token_classifier import BertTokenClassifier
from tfbert.models.task_model import FEATURES, TaskModel

__all__ = ["BertClassifier", "BertEmbedder", "BertEncoder", "BertPretrainer", "BertRegressor",
           "BertSpanQA", "BertTokenClassifier", "FEATURES", "TaskModel"]
