"""In-graph text processing: BERT normalization, WordPiece and input packing.

Raw strings become model inputs with TensorFlow ops only, the same way in `tf.data` for training
and in the exported serving graph, and exactly as Google's original BERT tokenizer does.
"""
from tfbert.text.preprocessor import BertPreprocessor
from tfbert.text.serving_ops import ALLOWED_TEXT_OPS, check_serving_ops, disallowed_ops
from tfbert.text.tokenizer import BertTokenizer
from tfbert.text.vocab import load_vocab, special_token_ids
from tfbert.text.vocab_learner import learn_vocab, write_vocab

__all__ = [
    "ALLOWED_TEXT_OPS",
    "BertPreprocessor",
    "BertTokenizer",
    "check_serving_ops",
    "disallowed_ops",
    "learn_vocab",
    "load_vocab",
    "special_token_ids",
    "write_vocab",
]
