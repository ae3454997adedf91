"""RegressTask: a BertRegressor exported on raw strings gives HF transformers' values
(BertForSequenceClassification with num_labels=1, the same `classifier` weights)."""
import dataclasses
import json

import numpy as np
import pytest
import torch
import transformers

import tfbert
from tfbert.convert import READERS
from tfbert.export import SessionModel, export_model, tasks
from tfbert.export.regress_export import RegressTask
from tfbert.text import serving_ops

SEQ_LENGTH = 24
LETTERS = "abcdefghijklmnopqrstuvwxyz"
TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *LETTERS, *("##" + c for c in LETTERS),
          "the", "a", "cat", "dog", "sat", "on", "mat", "is", "##s", ".", ",", "!", "?", "中"]
TEXTS = ["The cat sat on the mat.", "", "  \t ", "Héllo, WÖRLD! 中文 🙂", "a dog is a dog",
         " ".join(["the cats sat on the mats"] * 10)]  # cut at SEQ_LENGTH
PAIRS = (["A cat.", "", "The dog sat!", "Ünïcödé?", " ".join(["a long one"] * 20), "x"],
         ["A dog.", "the mat", "", "中文", "short", " ".join(["mats"] * 30)])


@pytest.fixture(scope="module")
def hf_and_export(tmp_path_factory):
    """(HF model, HF tokenizer, export of its conversion as a BertRegressor)."""
    root = tmp_path_factory.mktemp("regress")
    vocab_file = root / "vocab.txt"
    vocab_file.write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(TOKENS), hidden_size=64, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=128, num_labels=1)
    hf_model = transformers.BertForSequenceClassification(config).eval()
    hf_model.save_pretrained(root / "hf")
    hf_tokenizer = transformers.BertTokenizerFast(str(vocab_file), do_lower_case=True)
    hf_tokenizer.save_pretrained(root / "hf")
    (root / "hf" / "vocab.txt").write_text(vocab_file.read_text())  # transformers 5 may omit it
    converted = READERS["hf"](root / "hf")  # a one-label BertClassifier: same weight names
    assert converted.task["class"] == "BertClassifier" and converted.task["num_labels"] == 1
    regressor = dataclasses.replace(converted, task={"class": "BertRegressor", "dropout": 0.1})
    model_dir = regressor.save(root / "model")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(tasks.TASKS, "regress", RegressTask)
        # Validated on the way: op audit, TF1 session loader, every signature vs Keras.
        export = export_model(model_dir, "regress", root / "saved_models" / "regress" / "1",
                              seq_length=SEQ_LENGTH)
    return hf_model, hf_tokenizer, export


def _hf_values(model, tokenizer, texts, text_pair=None):
    batch = tokenizer(texts, text_pair, padding="longest", truncation="longest_first",
                      max_length=SEQ_LENGTH, return_tensors="pt")
    with torch.inference_mode():
        return model(**batch).logits[:, 0].numpy()


def _strings(texts):
    return np.array([text.encode() for text in texts], object)


def test_export_matches_hugging_face_on_texts_and_pairs(hf_and_export):
    hf_model, hf_tokenizer, export = hf_and_export
    model = SessionModel(export)  # the TF1 session loader, as TF Serving loads it
    try:
        assert sorted(model.signatures) == ["preprocess", "serving_default", "text_pair"]
        serving_ops.check_serving_ops(model.meta_graph.graph_def)
        single = model.run("serving_default", {"text": _strings(TEXTS)})
        pair = model.run("text_pair", {"text_a": _strings(PAIRS[0]), "text_b": _strings(PAIRS[1])})
    finally:
        model.close()
    assert single["value"].dtype == np.float32 and single["value"].shape == (len(TEXTS),)
    np.testing.assert_allclose(single["value"], _hf_values(hf_model, hf_tokenizer, TEXTS),
                               atol=1e-5)
    np.testing.assert_allclose(pair["value"], _hf_values(hf_model, hf_tokenizer, *PAIRS),
                               atol=1e-5)


def test_export_info(hf_and_export):
    info = json.loads((hf_and_export[2] / "assets.extra" / "tfbert.json").read_text())
    assert info == {"task": "regress", "seq_length": SEQ_LENGTH,
                    "signatures": ["preprocess", "serving_default", "text_pair"]}


def test_needs_a_regressor(tmp_path):
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=len(TOKENS))
    model = tfbert.BertClassifier(config, num_labels=1)
    with pytest.raises(ValueError, match="needs a BertRegressor model directory; got "
                                         "BertClassifier"):
        RegressTask(model, str(vocab_file), True, SEQ_LENGTH)
