"""BertTokenizer: behaviour in every context, edge cases against the original, errors."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tokenizers
from official.nlp.tools import tokenization

from tfbert.text.tokenizer import BertTokenizer
from tfbert.text.vocab_learner import RESERVED_TOKENS

LINES = ["Hello, WORLD!", "", "ΟΔΟΣ σοφίας ΣΟΦΊΑΣ.", "naïve café 中文 x\u200by", "unknown qqqq"]


def _original(vocab_file, lower_case=True, max_chars=200):
    tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=lower_case)
    tokenizer.wordpiece_tokenizer.max_input_chars_per_word = max_chars
    return lambda text: tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))


@pytest.fixture(scope="module")
def small_vocab(tmp_path_factory) -> str:
    tokens = [*RESERVED_TOKENS, *"abcdefghijklmnopqrstuvwxyzçéï,.!中文αδοσςφι"]
    tokens += ["##" + t for t in "abcdefghijklmnopqrstuvwxyzαδοσςφι"]
    tokens += ["hello", "world", "cafe", "naive", "na", "##ive", "οδος", "σοφιας", "un", "##known"]
    path = tmp_path_factory.mktemp("small") / "vocab.txt"
    path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def small(small_vocab) -> BertTokenizer:
    return BertTokenizer(small_vocab)


def test_matches_original_on_examples(small, small_vocab):
    original = _original(small_vocab)
    assert small(tf.constant(LINES)).to_list() == [original(line) for line in LINES]


def test_eager_tf_function_tf_data_and_keras_model_agree(small):
    text = tf.constant(LINES)
    eager = small(text).to_list()
    function = tf.function(small, input_signature=[tf.TensorSpec([None], tf.string)])
    assert function(text).to_list() == eager
    dataset = tf.data.Dataset.from_tensor_slices(LINES).batch(2).map(small)
    assert [row for batch in dataset for row in batch.to_list()] == eager
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, small(inputs))
    assert model(text).to_list() == eager
    assert model.predict(text, verbose=0).to_list() == eager


def test_any_rank(small):
    flat = small(tf.constant(LINES[:4])).to_list()
    scalar = small(tf.constant(LINES[0]))
    assert scalar.numpy().tolist() == flat[0]
    grid = small(tf.constant([LINES[:2], LINES[2:4]]))
    assert grid.to_list() == [flat[:2], flat[2:4]]
    ids, starts, ends = small.tokenize_with_offsets(tf.constant([LINES[:2], LINES[2:4]]))
    assert ids.to_list() == grid.to_list() and starts.shape.rank == ends.shape.rank == 3


def test_word_length_limit_counts_characters(small, small_vocab):
    """Words of 199-201 characters, ASCII (fast route) and 2-byte (exact route)."""
    for max_chars in (200, 100):
        tokenizer = BertTokenizer(small_vocab, max_chars_per_word=max_chars)
        original = _original(small_vocab, max_chars=max_chars)
        lines = [c * n + " ok" for c in "aé" for n in (max_chars - 1, max_chars, max_chars + 1)]
        got = tokenizer(tf.constant(lines)).to_list()
        assert got == [original(line) for line in lines]
        assert [ids[0] == tokenizer.special_ids["[UNK]"] for ids in got] == [False, False, True] * 2


def test_final_sigma_follows_python_lower(small, small_vocab):
    """Σ lowers to ς only at the end of a word, looking past case-ignorable characters."""
    original = _original(small_vocab)
    lines = ["ΟΔΟΣ", "ΣΟΦΙΑΣ.", "ΑΣ'Β", "ΑΣ\u0301", "Σ", "ΑΣ\u200bΒ", "ΑΣ\x01", "ΑΣΣ", "αΣ1", "ΑΣ中",
             "ΑΣ:Β", "aΣ·b", "ΑΣ ΑΣ", "\u0301Σ", "ΑΣ\u0345"]
    assert small(tf.constant(lines)).to_list() == [original(line) for line in lines]
    assert small.detokenize(small(tf.constant(["ΟΔΟΣ ΣΟΦ"]))).numpy().tolist() == ["οδος σοφ".encode()]


def test_invalid_utf8_is_dropped_like_the_original(small, small_vocab):
    """The original decodes bytes with errors="ignore"."""
    original = _original(small_vocab)
    cases = [b"caf\xc3", b"\xff\xfeab", b"a\xe2\x82b", b"\xed\xa0\x80x", b"\xc0\xafz",
             b"ab\xf4\x90\x80\x80cd", b"x\xf0\x9f\x98y", b"\x80\x80abc"]
    assert small(tf.constant(cases)).to_list() == [original(case) for case in cases]


def test_vocabulary_quirks_follow_the_original(tmp_path):
    """A token listed twice keeps its last id; empty and NUL-containing tokens never match."""
    tokens = [*RESERVED_TOKENS, "a", "##b", "", "a", "x\x00", "x", "##b"]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(path)
    original = _original(str(path))
    lines = ["ab", "a x", "x\x00"]
    assert tokenizer(tf.constant(lines)).to_list() == [original(line) for line in lines]


def test_offsets_of_examples(small):
    """Code point offsets; deleted characters (here U+200B) belong to no token."""
    text = "naïves CAFÉ, x\u200byz ΟΔΟΣ"
    ids, starts, ends = small.tokenize_with_offsets(tf.constant([text]))
    spans = [text[s:e] for s, e in zip(starts.to_list()[0], ends.to_list()[0])]
    tokens = [small.vocabulary[i] for i in ids.to_list()[0]]
    assert list(zip(tokens, spans)) == [
        ("naive", "naïve"), ("##s", "s"), ("cafe", "CAFÉ"), (",", ","), ("x", "x"), ("##y", "y"),
        ("##z", "z"), ("οδος", "ΟΔΟΣ"),
    ]


def test_detokenize_matches_hf_wordpiece_decoder(stress_lines, tokenizer):
    """Joined like Hugging Face's WordPiece decoder without its English spacing clean-up."""
    decoder = tokenizers.decoders.WordPiece(prefix="##", cleanup=False)
    ids = tokenizer(tf.constant(stress_lines[:3000]))
    texts = tokenizer.detokenize(ids).numpy().tolist()
    tokens = [[tokenizer.vocabulary[i] for i in row] for row in ids.to_list()]
    assert [t.decode() for t in texts] == [decoder.decode(t) for t in tokens]


def test_config_round_trip(small):
    clone = BertTokenizer.from_config(small.get_config())
    assert clone.get_config() == small.get_config()
    assert clone(tf.constant(LINES)).to_list() == small(tf.constant(LINES)).to_list()
    assert small.get_config()["max_chars_per_word"] == 200


def test_errors(small, small_vocab, tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab_file"):
        BertTokenizer(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="`vocab_file` is empty"):
        BertTokenizer(empty)
    partial = tmp_path / "partial.txt"
    partial.write_text("[PAD]\n[UNK]\n[CLS]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lacks the special tokens \['\[SEP\]', '\[MASK\]'\]"):
        BertTokenizer(partial)
    with pytest.raises(ValueError, match="max_chars_per_word"):
        BertTokenizer(small_vocab, max_chars_per_word=0)
    with pytest.raises(TypeError, match="`text` must be a tf.string tensor; got dtype int32"):
        small(tf.constant([1, 2]))
    with pytest.raises(TypeError, match="`text` must be a dense tf.string tensor"):
        small(tf.ragged.constant([["a"], []]))
    with pytest.raises(TypeError, match="got dtype float32"):
        small(np.zeros([2], np.float32))
