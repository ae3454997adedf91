import json
import os
import shutil

import numpy as np
import pytest
import torch
import transformers
from tensorflow.core.protobuf import saved_model_pb2

from tests.export import builders
from tfbert.convert import READERS
from tfbert.export import SessionModel, export_model
from tfbert.text import serving_ops

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Return a sorted list of the items.",
         "", "Héllo, WÖRLD!", " ".join(["a long text that goes on"] * 40)]
QUESTIONS = ["What jumps?", "What does it return?", "Anything?", "Who?",
             " ".join(["a long question"] * 30)]
MASKED = ["The quick brown [MASK] jumps over the lazy dog.", "[MASK] a [MASK] list.",
          "no mask", "[MASK]"]


def _hf_model(kind: str, vocab_file, directory):
    """A random bert_tiny-sized HF model of `kind`, saved with the vocabulary (uncased)."""
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab_file.read_text().splitlines()), hidden_size=64,
        num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
        id2label={0: "sad", 1: "happy"}, label2id={"sad": 0, "happy": 1})
    model = getattr(transformers, kind)(config).eval()
    model.save_pretrained(directory)
    tokenizer = transformers.BertTokenizerFast(str(vocab_file), do_lower_case=True)
    tokenizer.save_pretrained(directory)
    (directory / "vocab.txt").write_text(vocab_file.read_text())  # transformers 5 may omit it
    return model, tokenizer


def _hf_outputs(kind, model, tokenizer, texts):
    """What the export must return, computed by HF transformers (PyTorch) alone."""
    with torch.inference_mode():
        batch = None if kind == "BertForQuestionAnswering" else tokenizer(
            texts, padding="longest", truncation=True, max_length=builders.SEQ_LENGTH,
            return_tensors="pt")
        if kind == "BertModel":  # masked mean of the last hidden states, L2-normalised
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"][:, :, None].float()
            mean = (hidden * mask).sum(1) / mask.sum(1)
            return {"embedding": torch.nn.functional.normalize(mean, dim=-1).numpy()}
        if kind == "BertForQuestionAnswering":  # best span of <= 30 context tokens
            questions, contexts = texts
            batch = tokenizer(questions, contexts, padding="longest", truncation="longest_first",
                              max_length=builders.SEQ_LENGTH, return_offsets_mapping=True,
                              return_tensors="pt")
            offsets = batch.pop("offset_mapping").numpy()
            outputs = model(**batch)
            start, end = outputs.start_logits.numpy(), outputs.end_logits.numpy()
            answers = {"answer": [], "answer_start": [], "answer_end": [], "score": []}
            for row, context in enumerate(contexts):
                tokens = [i for i, s in enumerate(batch.sequence_ids(row)) if s == 1]
                spans = [(start[row, i] + end[row, j], i, j) for i in tokens for j in tokens
                         if 0 <= j - i < 30]
                score, i, j = max(spans, default=(0.0, None, None))
                first, last = (offsets[row, i, 0], offsets[row, j, 1]) if spans else (-1, -1)
                answers["answer"].append(context[first:last] if spans else "")
                answers["answer_start"].append(first)
                answers["answer_end"].append(last)
                answers["score"].append(score)
            return answers
        if kind == "BertForTokenClassification":  # tokens after [CLS], up to [SEP]
            batch = tokenizer(texts, padding="longest", truncation=True,
                              max_length=builders.SEQ_LENGTH, return_offsets_mapping=True,
                              return_tensors="pt")
            offsets = batch.pop("offset_mapping").numpy()
            logits = model(**batch).logits.numpy()
            rows = [slice(1, int(n) - 1) for n in batch["attention_mask"].sum(1)]
            return {"logits": [logits[i, row] for i, row in enumerate(rows)],
                    "token_starts": [offsets[i, row, 0] for i, row in enumerate(rows)],
                    "token_ends": [offsets[i, row, 1] for i, row in enumerate(rows)],
                    "tokens": [tokenizer.convert_ids_to_tokens(batch["input_ids"][i, row])
                               for i, row in enumerate(rows)]}
        if kind == "BertForSequenceClassification":
            probabilities = model(**batch).logits.softmax(-1).numpy()
            return {"probabilities": probabilities,
                    "label": [model.config.id2label[i] for i in probabilities.argmax(-1)]}
        logits = model(**batch).logits
        is_mask = batch["input_ids"] == tokenizer.mask_token_id
        probabilities = logits[is_mask].softmax(-1)
        scores, ids = probabilities.topk(3, dim=-1)
        return {"top_k_scores": scores.numpy(), "top_k_ids": ids.numpy(),
                "mask_positions": is_mask.nonzero()[:, 1].numpy()}


@pytest.mark.parametrize("kind, task, options, texts", [
    pytest.param("BertModel", "embed", {"pooling": "mean", "normalize": True}, TEXTS,
                 marks=pytest.mark.slow),  # CI: embed is checked against the Keras model
    ("BertForSequenceClassification", "classify", {}, TEXTS),
    ("BertForMaskedLM", "mlm", {"top_k": 3}, MASKED),
    ("BertForTokenClassification", "token-classify", {}, TEXTS),
    ("BertForQuestionAnswering", "qa", {}, (QUESTIONS, TEXTS)),
])
def test_export_matches_hugging_face_on_raw_text(kind, task, options, texts, vocab_file,
                                                tmp_path):
    hf_model, hf_tokenizer = _hf_model(kind, vocab_file, tmp_path / "hf")
    READERS["hf"](tmp_path / "hf").save(tmp_path / "model")
    path = export_model(tmp_path / "model", task, tmp_path / "saved_models" / task / "1",
                        seq_length=builders.SEQ_LENGTH, **options)
    model = SessionModel(path)  # the TF1 session loader, as TF Serving loads it
    if task == "qa":
        inputs = {"text_a": np.array([t.encode() for t in texts[0]], object),
                  "text_b": np.array([t.encode() for t in texts[1]], object)}
    else:
        inputs = {"text": np.array([t.encode() for t in texts], object)}
    ours = model.run("serving_default", inputs)
    model.close()
    expected = _hf_outputs(kind, hf_model, hf_tokenizer, texts)
    if task == "mlm":
        valid = ours["mask_positions"] >= 0
        np.testing.assert_array_equal(ours["mask_positions"][valid], expected["mask_positions"])
        np.testing.assert_allclose(ours["top_k_scores"][valid], expected["top_k_scores"],
                                   atol=1e-5)
        np.testing.assert_array_equal(ours["top_k_ids"][valid], expected["top_k_ids"])
        vocabulary = np.array(vocab_file.read_text().splitlines(), object)
        assert [t.decode() for t in ours["top_k_tokens"][valid].ravel()] == list(
            vocabulary[expected["top_k_ids"]].ravel())
        return
    if task == "token-classify":
        for row, length in enumerate(len(tokens) for tokens in expected["tokens"]):
            assert [t.decode() for t in ours["tokens"][row, :length]] == expected["tokens"][row]
            assert (ours["tokens"][row, length:] == b"").all()
            for name in ("token_starts", "token_ends", "logits"):
                np.testing.assert_allclose(ours[name][row, :length], expected[name][row],
                                           atol=1e-5)
        return
    for name, value in expected.items():
        if name in ("label", "answer"):
            assert [text.decode() for text in ours[name]] == value
        else:
            np.testing.assert_allclose(ours[name], value, atol=1e-5)


def test_export_layout_assets_and_info(classifier_export, vocab_file):
    assert (classifier_export / "assets" / "vocab.txt").read_text() == vocab_file.read_text()
    extra = classifier_export / "assets.extra"
    info = json.loads((extra / "tfbert.json").read_text())
    assert info == {"task": "classify", "seq_length": builders.SEQ_LENGTH,
                    "labels": builders.LABELS,
                    "signatures": ["classify", "classify_pair", "preprocess", "serving_default",
                                   "text_pair"]}
    assert (extra / "labels.txt").read_text().splitlines() == builders.LABELS
    # TF Serving's Classify runs only classification signatures; Predict the others.
    saved_model = saved_model_pb2.SavedModel.FromString(
        (classifier_export / "saved_model.pb").read_bytes())
    methods = {name: signature.method_name
               for name, signature in saved_model.meta_graphs[0].signature_def.items()
               if not name.startswith("__")}  # TF's init op entry
    assert methods == {"classify": "tensorflow/serving/classify",
                       "classify_pair": "tensorflow/serving/classify",
                       "preprocess": "tensorflow/serving/predict",
                       "serving_default": "tensorflow/serving/predict",
                       "text_pair": "tensorflow/serving/predict"}
    # Nothing but the version itself is left in saved_models/NAME (no staging directories).
    assert os.listdir(classifier_export.parent) == ["1"]


def test_versions_must_be_integers_and_new(classifier_dir, classifier_export, tmp_path):
    with pytest.raises(ValueError, match="integer version directory.*got '.*latest'"):
        export_model(classifier_dir, "classify", tmp_path / "latest")
    with pytest.raises(FileExistsError, match="version .*1 exists; pass overwrite=True"):
        export_model(classifier_dir, "classify", classifier_export)


def test_overwrite_replaces_a_version(classifier_dir, classifier_export, tmp_path):
    out = tmp_path / "clf" / "7"
    shutil.copytree(classifier_export, out)
    export_model(classifier_dir, "embed", out, seq_length=16, overwrite=True)
    assert json.loads((out / "assets.extra" / "tfbert.json").read_text())["task"] == "embed"
    assert os.listdir(out.parent) == ["7"]


def test_failed_audit_aborts_and_leaves_nothing(classifier_dir, tmp_path, monkeypatch):
    # As if TF Serving linked no tf-text kernel: the tokenizer's ops must be named.
    monkeypatch.setattr(serving_ops, "ALLOWED_TEXT_OPS", frozenset())
    with pytest.raises(ValueError, match="op audit failed.*FastWordpieceTokenizeWithOffsets"):
        export_model(classifier_dir, "classify", tmp_path / "clf" / "1", seq_length=16)
    assert os.listdir(tmp_path / "clf") == []


@pytest.mark.slow  # CI covers aborting with the failed audit above
def test_mismatch_with_the_keras_model_aborts(classifier_dir, tmp_path, monkeypatch):
    from tfbert.export.sequence_tasks import ClassifyTask

    reference = ClassifyTask.reference_outputs
    monkeypatch.setattr(ClassifyTask, "reference_outputs", lambda self, features, text: {
        **reference(self, features, text),
        "logits": reference(self, features, text)["logits"] + 1e-3})
    with pytest.raises(ValueError, match="'serving_default' does not match the Keras model: "
                                         "output 'logits' differs by 0.001"):
        export_model(classifier_dir, "classify", tmp_path / "clf" / "1", seq_length=16)
    assert os.listdir(tmp_path / "clf") == []


def test_model_directory_without_vocabulary(classifier_dir, tmp_path):
    model_dir = tmp_path / "no_vocab"
    model_dir.mkdir()
    for name in os.listdir(classifier_dir):
        if name != "vocab.txt":
            (model_dir / name).write_bytes((classifier_dir / name).read_bytes())
    with pytest.raises(FileNotFoundError, match="has no vocab.txt"):
        export_model(model_dir, "classify", tmp_path / "clf" / "1")
