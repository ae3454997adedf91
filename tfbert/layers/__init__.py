"""Single BERT blocks. They know nothing about tasks; `tfbert.models` composes them."""
from tfbert.layers.classification_head import ClassificationHead
from tfbert.layers.embeddings import BertEmbeddings
from tfbert.layers.encoder_block import EncoderBlock
from tfbert.layers.hashed_dropout import HashedDropout
from tfbert.layers.masked_lm_head import MaskedLMHead
from tfbert.layers.next_sentence_head import NextSentenceHead
from tfbert.layers.pooler import Pooler
from tfbert.layers.residual_output import ResidualOutput
from tfbert.layers.self_attention import SelfAttention
from tfbert.layers.sequence_pooling import SequencePooling
from tfbert.layers.span_head import SpanHead

__all__ = [
    "BertEmbeddings", "ClassificationHead", "EncoderBlock", "HashedDropout", "MaskedLMHead", "NextSentenceHead",
    "Pooler", "ResidualOutput", "SelfAttention", "SequencePooling", "SpanHead",
]
