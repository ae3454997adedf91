"""BertTokenizer(compat="hf") against Hugging Face BertTokenizerFast, and its data file."""
from __future__ import annotations

import unicodedata

import keras
import pytest
import tensorflow as tf

from tests.text import hf_probe
from tfbert.text import unicode_tables
from tfbert.text.preprocessor import BertPreprocessor
from tfbert.text.serving_ops import disallowed_ops
from tfbert.text.tokenizer import BertTokenizer

SISYPHUS = "ΣΊΣΥΦΟΣ was punished."


@pytest.fixture(scope="module")
def hf_mode(vocab_file, lower_case) -> BertTokenizer:
    return BertTokenizer(vocab_file, lower_case=lower_case, compat="hf")


@pytest.fixture(scope="module")
def hf_reference(stress_lines, hf_tokenizer):
    return hf_tokenizer(stress_lines, add_special_tokens=False, return_offsets_mapping=True)


def _reordering_moves_a_kept_mark(line: str) -> bool:
    """Whether NFD's canonical reordering moves a mark that HF's accent stripping keeps (one
    that is not Mn in HF's tables; `tfbert.text.hf_tables` knows which)."""
    table = unicode_tables.char_table(True, "hf")
    decomposed = "".join(unicodedata.normalize("NFD", c) for c in line)
    reordered = unicodedata.normalize("NFD", line)
    return any(
        a != b and unicode_tables.expansion(table, a) != "" for a, b in zip(reordered, decomposed)
    )


def test_committed_data_file_matches_the_installed_tokenizers():
    """Regenerating tfbert/text/hf_table_data.py from `tokenizers` gives the committed file."""
    with open(hf_probe.DATA_FILE, encoding="utf-8") as committed:
        assert hf_probe.data_module() == committed.read()


def test_ids_match_hf_on_stress_corpus(stress_lines, hf_mode, hf_reference):
    """Both routes (fast and exact) give HF's ids on every line of the stress corpus."""
    text = tf.constant(stress_lines)
    want = hf_reference["input_ids"]
    for ids in (hf_mode(text).to_list(), hf_mode.tokenize_with_offsets(text)[0].to_list()):
        mismatches = [line for line, got, hf in zip(stress_lines, ids, want) if got != hf]
        assert not mismatches, mismatches[:3]


def test_offsets_match_hf(stress_lines, hf_mode, hf_reference, lower_case):
    """Offsets equal HF's offset mapping on every line with HF's ids, except (uncased) where
    NFD reorders a kept mark past a stripped one (HF reports the mark where it moved to)."""
    ids, starts, ends = hf_mode.tokenize_with_offsets(tf.constant(stress_lines))
    compared = 0
    for line, got_ids, want_ids, s, e, want in zip(
        stress_lines, ids.to_list(), hf_reference["input_ids"], starts.to_list(), ends.to_list(),
        hf_reference["offset_mapping"],
    ):
        if got_ids != want_ids or lower_case and _reordering_moves_a_kept_mark(line):
            continue
        compared += 1
        assert list(zip(s, e)) == [tuple(span) for span in want], line
    assert compared > 0.98 * len(stress_lines)


def test_sigma_everywhere_and_private_use(vocab_file, lower_case, hf_tokenizer, hf_mode):
    lines = [SISYPHUS, "ΟΔΟΣ\ue000x", "a\U0002B820b \U0002B920c", "x" * 100 + " " + "y" * 101]
    want = hf_tokenizer(lines, add_special_tokens=False)["input_ids"]
    assert hf_mode(tf.constant(lines)).to_list() == want
    google = BertTokenizer(vocab_file, lower_case=lower_case)
    assert google(tf.constant(lines)).to_list() != want


def test_contexts_agree_and_use_only_serving_ops(hf_mode, stress_lines):
    lines = stress_lines[:64]
    eager = hf_mode(tf.constant(lines)).to_list()
    function = tf.function(hf_mode, input_signature=[tf.TensorSpec([None], tf.string)])
    assert function(tf.constant(lines)).to_list() == eager
    dataset = tf.data.Dataset.from_tensor_slices(lines).batch(16).map(hf_mode)
    assert [row for batch in dataset for row in batch.to_list()] == eager
    inputs = keras.Input(shape=(), dtype="string")
    assert keras.Model(inputs, hf_mode(inputs))(tf.constant(lines)).to_list() == eager
    preprocessor = BertPreprocessor(hf_mode, seq_length=16, padding="longest")
    spec = tf.TensorSpec([None], tf.string)
    assert disallowed_ops(tf.function(preprocessor).get_concrete_function(spec, spec)) == set()
    offsets = tf.function(lambda t: hf_mode.tokenize_with_offsets(t)[1], input_signature=[spec])
    assert disallowed_ops(offsets) == set()


def test_fast_path_is_used_and_exact(hf_mode, hf_tokenizer):
    lines = ["Plain English, with “quotes” — and 中文.", "ΣΊΣΥΦΟΣ", "Café au lait"]
    assert hf_mode._fast_path.accepts(tf.constant(lines)).numpy().tolist()[0]
    assert hf_mode(tf.constant(lines)).to_list() == hf_tokenizer(
        lines, add_special_tokens=False
    )["input_ids"]


def test_config_and_defaults(vocab_file):
    hf = BertTokenizer(vocab_file, compat="hf")
    assert hf.get_config()["compat"] == "hf" and hf.max_chars_per_word == 100
    assert BertTokenizer(vocab_file).max_chars_per_word == 200
    assert BertTokenizer(vocab_file, compat="hf", max_chars_per_word=50).max_chars_per_word == 50
    clone = BertTokenizer.from_config(hf.get_config())
    assert clone(tf.constant([SISYPHUS])).to_list() == hf(tf.constant([SISYPHUS])).to_list()
    with pytest.raises(ValueError, match=r"`compat` must be one of \('google', 'hf'\); got 'x'"):
        BertTokenizer(vocab_file, compat="x")


def test_model_directory_converted_from_hf_tokenizes_as_hf(tmp_path, vocab_file, lower_case):
    """`convert --from hf` records "hf"; the directory's tokenizer gives HF's ids (σ everywhere);
    a directory without the entry (older ones) tokenizes as original BERT."""
    import json

    import transformers

    from tfbert.convert.hf import read_hf
    from tfbert.models.model_directory import ModelDirectory

    vocab_size = sum(1 for _ in open(vocab_file, encoding="utf-8"))
    config = transformers.BertConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32)
    transformers.BertModel(config).save_pretrained(tmp_path / "hf")
    hf_tokenizer = transformers.BertTokenizerFast(vocab_file, do_lower_case=lower_case)
    (tmp_path / "hf" / "vocab.txt").write_bytes(open(vocab_file, "rb").read())
    (tmp_path / "hf" / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": lower_case}), encoding="utf-8"
    )
    read_hf(tmp_path / "hf").save(tmp_path / "converted")
    directory = ModelDirectory(tmp_path / "converted")
    assert directory.tokenizer_compat == "hf"
    tokenizer = directory.tokenizer()
    assert tokenizer.compat == "hf" and tokenizer.lower_case == lower_case
    want = hf_tokenizer([SISYPHUS], add_special_tokens=False)["input_ids"]
    assert tokenizer(tf.constant([SISYPHUS])).to_list() == want
    config_file = tmp_path / "converted" / "config.json"
    values = json.loads(config_file.read_text(encoding="utf-8"))
    assert values["tokenizer_compat"] == "hf"
    del values["tokenizer_compat"]
    config_file.write_text(json.dumps(values), encoding="utf-8")
    assert ModelDirectory(tmp_path / "converted").tokenizer().compat == "google"
