"""BertPreprocessor: packing against Hugging Face and the original BERT code; contexts; errors."""
from __future__ import annotations

import keras
import pytest
import tensorflow as tf
from official.nlp.data.classifier_data_lib import _truncate_seq_pair

from tests.helpers import assert_round_trip
from tfbert.text.preprocessor import BertPreprocessor
from tfbert.text.tokenizer import BertTokenizer

HF_MAX_CHARS = 100
BATCH = 500  # pairs per call (padding="longest" pads each batch to its own longest)
SAMPLE = 1500  # lines for the fast packing test
NAMES = {  # Hugging Face's names -> ours
    "input_ids": "input_word_ids",
    "attention_mask": "input_mask",
    "token_type_ids": "input_type_ids",
}


@pytest.fixture(scope="module")
def hf_tokenizer_like(vocab_file, lower_case):
    """tfbert's tokenizer with Hugging Face's word limit."""
    return BertTokenizer(vocab_file, lower_case=lower_case, max_chars_per_word=HF_MAX_CHARS)


@pytest.fixture(scope="module")
def same_as_hf(stress_lines, hf_tokenizer_like, hf_tokenizer) -> list[str]:
    """Stress lines that Hugging Face tokenizes like the original (most of them)."""
    ours = hf_tokenizer_like(tf.constant(stress_lines)).to_list()
    hf = hf_tokenizer(stress_lines, add_special_tokens=False)["input_ids"]
    lines = [line for line, a, b in zip(stress_lines, ours, hf) if a == b]
    assert len(lines) > 0.6 * len(stress_lines)
    return lines


def _numpy(features: dict) -> dict:
    return {name: value.numpy().tolist() for name, value in features.items()}


def _check_packing_against_hf(lines, tokenizer, hf_tokenizer, seq_length, padding):
    """Single texts and pairs (each line with the next), in batches of `BATCH`."""
    preprocessor = BertPreprocessor(tokenizer, seq_length=seq_length, padding=padding)
    for start in range(0, len(lines) - 1, BATCH):
        a = lines[start : start + BATCH]
        b = lines[start + 1 : start + BATCH + 1]
        a = a[: len(b)]
        for args in ([a], [a, b]):
            hf = hf_tokenizer(
                *args, truncation="longest_first", max_length=seq_length, padding=padding
            )
            ours = _numpy(preprocessor(*(tf.constant(x) for x in args)))
            assert ours == {NAMES[name]: hf[name] for name in NAMES}


@pytest.mark.parametrize("seq_length", [16, 64])
@pytest.mark.parametrize("padding", ["max_length", "longest"])
def test_packing_matches_hf(same_as_hf, hf_tokenizer_like, hf_tokenizer, seq_length, padding):
    """On the first `SAMPLE` lines; the slow test below covers the whole corpus."""
    lines = same_as_hf[:SAMPLE]
    _check_packing_against_hf(lines, hf_tokenizer_like, hf_tokenizer, seq_length, padding)


@pytest.mark.slow
@pytest.mark.parametrize("seq_length", [8, 128])
@pytest.mark.parametrize("padding", ["max_length", "longest"])
def test_packing_matches_hf_on_whole_corpus(
    same_as_hf, hf_tokenizer_like, hf_tokenizer, seq_length, padding
):
    _check_packing_against_hf(same_as_hf, hf_tokenizer_like, hf_tokenizer, seq_length, padding)


def test_round_robin_packing_matches_original_bert(stress_lines, tokenizer, original_tokenizer):
    """As the original run_classifier.py packs pairs (with `_truncate_seq_pair`)."""
    seq_length = 32
    preprocessor = BertPreprocessor(tokenizer, seq_length=seq_length, truncation="round_robin")
    a, b = stress_lines[:-1:2], stress_lines[1::2]
    ours = preprocessor(tf.constant(a), tf.constant(b))["input_word_ids"].numpy().tolist()
    ids = original_tokenizer.convert_tokens_to_ids
    for text_a, text_b, got in zip(a, b, ours):
        tokens_a = original_tokenizer.tokenize(text_a)
        tokens_b = original_tokenizer.tokenize(text_b)
        _truncate_seq_pair(tokens_a, tokens_b, seq_length - 3)
        tokens = ["[CLS]", *tokens_a, "[SEP]", *tokens_b, "[SEP]"]
        assert got == ids(tokens) + [0] * (seq_length - len(tokens))


def test_contexts_agree(tokenizer):
    preprocessor = BertPreprocessor(tokenizer, seq_length=16)
    a, b = ["Is it raining?", "", "ΟΔΟΣ"], ["No.", "Yes", "中文 text"]
    eager = _numpy(preprocessor(tf.constant(a), tf.constant(b)))
    spec = tf.TensorSpec([None], tf.string)
    function = tf.function(preprocessor, input_signature=[spec, spec])
    assert _numpy(function(tf.constant(a), tf.constant(b))) == eager
    dataset = tf.data.Dataset.from_tensor_slices((a, b)).batch(2).map(preprocessor)
    batches = list(dataset)
    assert {k: sum((x[k].numpy().tolist() for x in batches), []) for k in eager} == eager
    inputs = [keras.Input(shape=(), dtype="string"), keras.Input(shape=(1,), dtype="string")]
    model = keras.Model(inputs, preprocessor(*inputs))
    column = tf.constant(b)[:, None]  # [batch, 1] strings are accepted too
    assert _numpy(model([tf.constant(a), column])) == eager
    predicted = model.predict([tf.constant(a), column], verbose=0)
    assert {k: v.tolist() for k, v in predicted.items()} == eager
    single = preprocessor(tf.constant(a)).values()
    assert all(v.shape == (3, 16) and v.dtype == tf.int32 for v in single)


def test_longest_padding_is_capped(tokenizer):
    preprocessor = BertPreprocessor(tokenizer, seq_length=10, padding="longest")
    short = preprocessor(tf.constant(["a", "a b"]))["input_word_ids"]
    assert short.shape == (2, 4)
    long = preprocessor(tf.constant(["a " * 50, "b"]))["input_word_ids"]
    assert long.shape == (2, 10)


def test_config_round_trip(tokenizer):
    preprocessor = BertPreprocessor(
        tokenizer, seq_length=12, truncation="round_robin", padding="longest"
    )
    text = tf.constant(["Hello there", "General Kenobi!"])
    assert_round_trip(preprocessor, text, text[::-1])


def test_errors(tokenizer):
    preprocessor = BertPreprocessor(tokenizer, seq_length=8)
    with pytest.raises(TypeError, match="`text_pair` must be a tf.string tensor; got dtype int32"):
        preprocessor(tf.constant(["a"]), tf.constant([1]))
    with pytest.raises(ValueError, match=r"`text` must be a batch of strings of shape \[batch\]"):
        preprocessor(tf.constant("a"))
    with pytest.raises(ValueError, match=r"`text` must be a batch .* got shape \(1, 2\)"):
        preprocessor(tf.constant([["a", "b"]]))
    with pytest.raises(ValueError, match="same batch size; got 2 and 1"):
        preprocessor(tf.constant(["a", "b"]), tf.constant(["c"]))
    spec = tf.TensorSpec([None], tf.string)
    function = tf.function(preprocessor, input_signature=[spec, spec])
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        function(tf.constant(["a", "b"]), tf.constant(["c"]))
    with pytest.raises(TypeError, match="`tokenizer` must be a BertTokenizer"):
        BertPreprocessor("vocab.txt")
    with pytest.raises(ValueError, match="`seq_length` must be an int of at least 3; got 2"):
        BertPreprocessor(tokenizer, seq_length=2)
    with pytest.raises(ValueError, match="`truncation` must be one of"):
        BertPreprocessor(tokenizer, truncation="only_second")
    with pytest.raises(ValueError, match="`padding` must be one of"):
        BertPreprocessor(tokenizer, padding="do_not_pad")
