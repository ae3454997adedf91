import pytest
import tensorflow as tf
from transformers import BertTokenizerFast

from tfbert.export.masked_text import MaskedTextTokenizer
from tfbert.text import BertTokenizer

TEXTS = ["The capital of France is [MASK].", "[MASK]", "[MASK][MASK] list", "no mask",
         "", "  [MASK]  ", "sorted([MASK]) returns a [MASK]list", "lower [mask] is text",
         "[MASK" + "] split", "héllo [MASK] wörld"]


@pytest.fixture(scope="module")
def hf(vocab_file):
    """HF keeps "[MASK]" whole (a special token); the vocabulary path goes in positionally."""
    return BertTokenizerFast(str(vocab_file), do_lower_case=True)


def test_mask_ids_match_hugging_face(vocab_file, hf):
    ours = MaskedTextTokenizer(vocab_file)(tf.constant(TEXTS)).to_list()
    assert ours == [hf(text, add_special_tokens=False)["input_ids"] for text in TEXTS]


def test_without_masks_it_is_the_plain_tokenizer(vocab_file):
    texts = tf.constant(["no mask here", "", "[mask] lower case", "Ünïcödé 中文"])
    assert (MaskedTextTokenizer(vocab_file)(texts).to_list()
            == BertTokenizer(vocab_file)(texts).to_list())


def test_works_in_tf_function_and_rejects_other_ranks(vocab_file):
    tokenizer = MaskedTextTokenizer(vocab_file)
    traced = tf.function(tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])
    assert traced(tf.constant(TEXTS)).to_list() == tokenizer(tf.constant(TEXTS)).to_list()
    with pytest.raises(ValueError, match="shape \\[batch\\]"):
        tokenizer(tf.constant([["a [MASK]"]]))
