"""RegressTask: a BertRegressor exported on raw strings gives HF transformers' values
(BertForSequenceClassification with num_labels=1, the same `classifier` weights), through its
Predict signatures and TF Serving's Regress API (`regress`, `regress_pair` on tf.Examples), over
gRPC and REST against `tfbert serve`'s server, with a RegressionLog warm-up record for each."""
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers
from tensorflow_serving.apis import prediction_log_pb2

import tfbert
from tfbert.cli import main
from tfbert.convert import READERS
from tfbert.export import SessionModel, export_model, tasks
from tfbert.export.examples import REGRESS_METHOD
from tfbert.export.regress_export import RegressTask
from tfbert.export.warmup import WARMUP_TEXTS, warmup_path
from tfbert.serving import ModelServer, PredictionClient, RestClient
from tfbert.text import serving_ops

SIGNATURES = ["preprocess", "regress", "regress_pair", "serving_default", "text_pair"]

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
    converted = READERS["hf"](root / "hf")  # a one-label head: the regressor's weight names
    assert converted.task["class"] in ("BertClassifier", "BertRegressor")
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
        assert sorted(model.signatures) == SIGNATURES
        assert {name: model.signatures[name].method_name for name in ("regress", "regress_pair")} \
            == {"regress": REGRESS_METHOD, "regress_pair": REGRESS_METHOD}
        outputs = {name: dict(model.signatures[name].outputs) for name in ("regress",
                                                                            "regress_pair")}
        assert all(list(o) == ["outputs"] and o["outputs"].dtype == tf.float32
                   for o in outputs.values())  # what TF Serving's regressor.cc requires
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
    # Converted from HF: the export tokenizes as BertTokenizerFast does.
    assert info == {"task": "regress", "seq_length": SEQ_LENGTH, "tokenizer_compat": "hf",
                    "serving_version": "2.14", "signatures": SIGNATURES}


def test_needs_a_regressor(tmp_path):
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=len(TOKENS))
    model = tfbert.BertClassifier(config, num_labels=1)
    with pytest.raises(ValueError, match="needs a BertRegressor model directory; got "
                                         "BertClassifier"):
        RegressTask(model, str(vocab_file), True, SEQ_LENGTH)


@pytest.fixture(scope="module")
def served(hf_and_export):
    """`tfbert serve`'s server (gRPC and REST) on the export, as model "sts"."""
    server = ModelServer(hf_and_export[2].parent, "sts", port=0, host="127.0.0.1",
                         poll_seconds=0, log=lambda line: None, rest_api_port=0)
    yield server
    server.stop()


def test_regress_api_over_grpc_and_rest_matches_hugging_face(hf_and_export, served):
    hf_model, hf_tokenizer, _ = hf_and_export
    single, pair = _hf_values(hf_model, hf_tokenizer, TEXTS), _hf_values(hf_model, hf_tokenizer,
                                                                         *PAIRS)
    clients = (PredictionClient(f"127.0.0.1:{served.port}", "sts", timeout=60, max_batch_size=4),
               RestClient(f"http://127.0.0.1:{served.rest_port}", "sts", timeout=60,
                          max_batch_size=4))  # 6 texts: two requests each
    for client in clients:
        with client:
            assert client.example_api("regress") == client.example_api("regress_pair") \
                == "regress"
            np.testing.assert_allclose(client.regress(TEXTS), single, atol=1e-5)
            np.testing.assert_allclose(client.regress(*PAIRS), pair, atol=1e-5)
            np.testing.assert_allclose(client.predict(TEXTS)["value"], single, atol=1e-5)


def test_tfbert_predict_calls_regress_over_grpc_and_rest(hf_and_export, served, capsys):
    hf_model, hf_tokenizer, _ = hf_and_export
    expected = _hf_values(hf_model, hf_tokenizer, PAIRS[0][:2], PAIRS[1][:2])
    pairs = [PAIRS[0][0], PAIRS[1][0], PAIRS[0][1], PAIRS[1][1]]
    for where in (["--server", f"127.0.0.1:{served.port}"],
                  ["--rest", f"http://127.0.0.1:{served.rest_port}"]):
        assert main(["predict", *where, "--model-name", "sts", "--signature", "regress_pair",
                     "--pair", *pairs]) == 0
        np.testing.assert_allclose(json.loads(capsys.readouterr().out), expected, atol=1e-5)


def test_warmup_has_a_regression_log_per_regress_signature(hf_and_export):
    export = hf_and_export[2]
    records = [prediction_log_pb2.PredictionLog.FromString(record.numpy())  # TF Serving's proto
               for record in tf.data.TFRecordDataset(str(warmup_path(export)))]
    kinds = {getattr(r, r.WhichOneof("log_type")).request.model_spec.signature_name:
             r.WhichOneof("log_type") for r in records}
    assert kinds == {"preprocess": "predict_log", "regress": "regress_log",
                     "regress_pair": "regress_log", "serving_default": "predict_log",
                     "text_pair": "predict_log"}
    regress = next(r.regress_log.request for r in records
                   if r.WhichOneof("log_type") == "regress_log"
                   and r.regress_log.request.model_spec.signature_name == "regress")
    texts = [e.features.feature["text"].bytes_list.value[0].decode()
             for e in regress.input.example_list.examples]
    assert texts == list(WARMUP_TEXTS)
