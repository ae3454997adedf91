"""sentence-transformers folders (random tiny BertModel, saved by `SentenceTransformer.save`)
convert with default flags, and `export --task embed` with default flags serves
`SentenceTransformer.encode`'s embeddings through the TF1 session loader."""
import json
import shutil

import numpy as np
import pytest
import torch
import transformers
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer

from tests.export import builders
from tfbert.cli import main
from tfbert.convert import read_hf
from tfbert.export import SessionModel, export_model
from tfbert.models.model_directory import ModelDirectory

TEXTS = ["The quick brown fox jumps over the lazy dog.", "", "Héllo, WÖRLD!",
         "Return a new list containing all items from the iterable in ascending order.",
         " ".join(["a long text that goes on and on"] * 20)]  # far past max_seq_length


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    return builders.write_test_vocab(tmp_path_factory.mktemp("vocab"))


def save_bert(directory, vocab_file, seed=0):
    """A tiny random HF BertModel (LayerNorm and biases random too) with its tokenizer."""
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(vocab_file.read_text().splitlines()), hidden_size=32,
        num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
        max_position_embeddings=64)
    model = transformers.BertModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
    model.save_pretrained(directory)
    transformers.BertTokenizerFast(str(vocab_file), do_lower_case=True).save_pretrained(directory)
    shutil.copyfile(vocab_file, directory / "vocab.txt")
    return directory


def save_sentence_transformer(directory, bert_dir, pooling, normalize, max_seq_length):
    transformer = Transformer(str(bert_dir), max_seq_length=max_seq_length)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling)]
    model = SentenceTransformer(modules=modules + ([Normalize()] if normalize else []))
    model.save(str(directory))
    assert not (directory / "vocab.txt").exists()  # transformers 5 writes tokenizer.json only
    return model


def served_embeddings(export, texts):
    model = SessionModel(export)  # the TF1 session loader, as TF Serving loads it
    try:
        return model.run("serving_default",
                         {"text": np.array([t.encode() for t in texts], object)})["embedding"]
    finally:
        model.close()


def test_mean_pooling_and_normalize_with_default_flags(vocab_file, tmp_path, capsys):
    bert = save_bert(tmp_path / "bert", vocab_file)
    reference = save_sentence_transformer(tmp_path / "st", bert, "mean", True, max_seq_length=24)
    assert main(["convert", "--from", "hf", str(tmp_path / "st"), "--out",
                 str(tmp_path / "model")]) == 0
    assert ModelDirectory(tmp_path / "model").embedding == {
        "pooling": "mean", "normalize": True, "seq_length": 24}
    # The vocabulary came from tokenizer.json, in id order.
    assert (tmp_path / "model" / "vocab.txt").read_text() == vocab_file.read_text()
    export = tmp_path / "saved_models" / "embedder" / "1"
    assert main(["export", "--model", str(tmp_path / "model"), "--task", "embed",
                 "--out", str(export)]) == 0
    capsys.readouterr()
    ours = served_embeddings(export, TEXTS)
    expected = SentenceTransformer(str(tmp_path / "st")).encode(TEXTS)
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(ours, reference.encode(TEXTS), atol=1e-5, rtol=0)
    info = json.loads((export / "assets.extra" / "tfbert.json").read_text())
    assert (info["pooling"], info["normalize"], info["seq_length"]) == ("mean", True, 24)


def test_cls_pooling_without_normalize(vocab_file, tmp_path):
    bert = save_bert(tmp_path / "bert", vocab_file, seed=1)
    save_sentence_transformer(tmp_path / "st", bert, "cls", False, max_seq_length=16)
    read_hf(tmp_path / "st").save(tmp_path / "model")
    export = export_model(tmp_path / "model", "embed", tmp_path / "saved_models" / "cls" / "1")
    ours = served_embeddings(export, TEXTS)
    reference = SentenceTransformer(str(tmp_path / "st"))
    np.testing.assert_allclose(ours, reference.encode(TEXTS), atol=1e-5, rtol=0)
    assert not np.allclose(np.linalg.norm(ours, axis=-1), 1.0, atol=1e-3)
    # The long text was cut at 16 tokens as sentence-transformers cuts it: at 17 it differs.
    reference.max_seq_length = 17
    assert np.abs(reference.encode(TEXTS[-1:]) - ours[-1:]).max() > 1e-3


def test_legacy_layout_transformer_subfolder_and_pooling_flags(vocab_file, tmp_path):
    """The older layout: 0_Transformer/ with sentence_bert_config.json max_seq_length, and the
    Pooling config's pooling_mode_*_tokens flags; sentence-transformers still loads it."""
    folder = tmp_path / "st"
    save_bert(folder / "0_Transformer", vocab_file, seed=2)
    (folder / "0_Transformer" / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 20, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 32, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False}))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "0_Transformer",
         "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))
    converted = read_hf(folder)
    assert converted.embedding == {"pooling": "mean", "normalize": False, "seq_length": 20}
    converted.save(tmp_path / "model")
    export = export_model(tmp_path / "model", "embed", tmp_path / "saved_models" / "old" / "1")
    expected = SentenceTransformer(str(folder)).encode(TEXTS)
    np.testing.assert_allclose(served_embeddings(export, TEXTS), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("pooling", ["max", "weightedmean", "lasttoken"])
def test_pooling_tfbert_cannot_export_is_refused(pooling, vocab_file, tmp_path):
    bert = save_bert(tmp_path / "bert", vocab_file)
    save_sentence_transformer(tmp_path / "st", bert, pooling, False, max_seq_length=24)
    with pytest.raises(ValueError, match=f"1_Pooling/config.json: pooling mode '{pooling}' "
                                         "cannot be exported by tfbert.*cls, mean"):
        read_hf(tmp_path / "st")


def test_other_modules_are_refused(vocab_file, tmp_path):
    bert = save_bert(tmp_path / "bert", vocab_file)
    transformer = Transformer(str(bert), max_seq_length=24)
    SentenceTransformer(modules=[transformer, Pooling(32, "mean"), Dense(32, 8)]).save(
        str(tmp_path / "st"))
    with pytest.raises(ValueError, match="modules.json: tfbert converts a sentence-transformers "
                                         "pipeline of Transformer, Pooling and optionally "
                                         "Normalize; got modules.*Dense"):
        read_hf(tmp_path / "st")


def test_export_flags_override_the_recorded_pooling(vocab_file, tmp_path):
    bert = save_bert(tmp_path / "bert", vocab_file, seed=3)
    reference = save_sentence_transformer(tmp_path / "st", bert, "mean", True, max_seq_length=24)
    read_hf(tmp_path / "st").save(tmp_path / "model")
    export = export_model(tmp_path / "model", "embed", tmp_path / "saved_models" / "o" / "1",
                          pooling="cls", normalize=False)  # seq_length still the recorded 24
    tokens = reference.encode(TEXTS, output_value="token_embeddings")
    np.testing.assert_allclose(served_embeddings(export, TEXTS),
                               np.stack([np.asarray(t[0]) for t in tokens]), atol=1e-5, rtol=0)


def test_a_default_prompt_is_a_note(vocab_file, tmp_path):
    bert = save_bert(tmp_path / "bert", vocab_file)
    transformer = Transformer(str(bert), max_seq_length=24)
    SentenceTransformer(modules=[transformer, Pooling(32, "mean")], prompts={"query": "query: "},
                        default_prompt_name="query").save(str(tmp_path / "st"))
    (note,) = read_hf(tmp_path / "st").notes
    assert "prepends the default prompt 'query' ('query: ')" in note
