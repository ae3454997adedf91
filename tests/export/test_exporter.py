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
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def _hf_model(kind: str, vocab_file, directory):
    """A random bert_tiny-sized HF model of `kind`, saved with the vocabulary (uncased)."""
    torch.manual_seed(0)
    labels = TAGS if kind == "BertForTokenClassification" else ["sad", "happy"]
    config = transformers.BertConfig(
        vocab_size=len(vocab_file.read_text().splitlines()), hidden_size=64,
        num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    model = getattr(transformers, kind)(config).eval()
    model.save_pretrained(directory)
    tokenizer = transformers.BertTokenizerFast(str(vocab_file), do_lower_case=True)
    tokenizer.save_pretrained(directory)
    (directory / "vocab.txt").write_text(vocab_file.read_text())  # transformers 5 may omit it
    return model, tokenizer


def _hf_outputs(kind, model, tokenizer, texts):
    """What the export must return, computed by HF transformers (PyTorch) alone."""
    with torch.inference_mode():
        batch = tokenizer(
            texts, padding="longest", truncation=True, max_length=builders.SEQ_LENGTH,
            return_tensors="pt")
        if kind == "BertModel":  # masked mean of the last hidden states, L2-normalised
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"][:, :, None].float()
            mean = (hidden * mask).sum(1) / mask.sum(1)
            return {"embedding": torch.nn.functional.normalize(mean, dim=-1).numpy()}
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


def _hf_windowed(kind, model, vocab_file, texts, seq_length):
    """Entities or answers: tfbert's windows (checked against HF's tokenizer in tests/tasks),
    HF PyTorch's logits on them, and tfbert's in-process decoder."""
    from tfbert.tasks import squad_data, squad_files, tagging_data
    from tfbert.text import BertTokenizer

    ours = BertTokenizer(str(vocab_file), lower_case=True)

    def logits(features):
        ids = {"input_ids": features.input_word_ids, "attention_mask": features.input_mask,
               "token_type_ids": features.input_type_ids}
        with torch.inference_mode():
            return model(**{name: torch.from_numpy(value.astype("int64"))
                            for name, value in ids.items()})

    if kind == "BertForTokenClassification":
        examples = tagging_data.examples_from_texts(texts, ours)
        features = tagging_data.encode_tagging(examples, ours, TAGS, seq_length=seq_length)
        predictions = tagging_data.decode_tagging(examples, features,
                                                  logits(features).logits.numpy(), TAGS)
        return {"entities": [p.entities for p in predictions]}
    examples = squad_files.examples_from_pairs(*texts)
    features = squad_data.encode_squad(examples, ours, seq_length=seq_length, training=False)
    outputs = logits(features)
    predictions = squad_data.decode_squad(examples, features, outputs.start_logits.numpy(),
                                          outputs.end_logits.numpy())
    return {"answer": [predictions[e.id].answer for e in examples],
            "start": [predictions[e.id].start for e in examples],
            "end": [predictions[e.id].end for e in examples],
            "score": [predictions[e.id].score for e in examples]}


@pytest.mark.parametrize("kind, task, options, texts", [
    pytest.param("BertModel", "embed", {"pooling": "mean", "normalize": True}, TEXTS,
                 marks=pytest.mark.slow),  # CI: embed is checked against the Keras model
    ("BertForSequenceClassification", "classify", {}, TEXTS),
    ("BertForMaskedLM", "mlm", {"top_k": 3}, MASKED),
    ("BertForTokenClassification", "tag", {}, TEXTS),
    ("BertForQuestionAnswering", "qa", {"seq_length": 96}, (QUESTIONS, TEXTS)),
])
def test_export_matches_hugging_face_on_raw_text(kind, task, options, texts, vocab_file,
                                                tmp_path):
    hf_model, hf_tokenizer = _hf_model(kind, vocab_file, tmp_path / "hf")
    READERS["hf"](tmp_path / "hf").save(tmp_path / "model")
    options = {"seq_length": builders.SEQ_LENGTH, **options}
    path = export_model(tmp_path / "model", task, tmp_path / "saved_models" / task / "1",
                        **options)
    model = SessionModel(path)  # the TF1 session loader, as TF Serving loads it
    if task == "qa":
        inputs = {"question": np.array([t.encode() for t in texts[0]], object),
                  "context": np.array([t.encode() for t in texts[1]], object)}
    else:
        inputs = {"text": np.array([t.encode() for t in texts], object)}
    ours = model.run("serving_default", inputs)
    model.close()
    if task in ("tag", "qa"):
        expected = _hf_windowed(kind, hf_model, vocab_file, texts, options["seq_length"])
    else:
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
    if task == "tag":
        for row, entities in enumerate(expected["entities"]):
            count = int(ours["num_entities"][row])
            assert count == len(entities)
            assert [t.decode() for t in ours["entity_texts"][row, :count]] == [
                e["text"] for e in entities]
            assert [t.decode() for t in ours["entity_labels"][row, :count]] == [
                e["label"] for e in entities]
            assert ours["entity_starts"][row, :count].tolist() == [e["start"] for e in entities]
            np.testing.assert_allclose(ours["entity_scores"][row, :count],
                                       [e["score"] for e in entities], atol=1e-5)
        return
    for name, value in expected.items():
        if name in ("label", "answer"):
            assert [text.decode() for text in ours[name]] == value
        elif name in ("start", "end"):
            assert ours[name].tolist() == value
        else:
            np.testing.assert_allclose(ours[name], value, atol=1e-4)


def test_export_layout_assets_and_info(classifier_export, vocab_file):
    assert (classifier_export / "assets" / "vocab.txt").read_text() == vocab_file.read_text()
    extra = classifier_export / "assets.extra"
    info = json.loads((extra / "tfbert.json").read_text())
    assert info == {"task": "classify", "seq_length": builders.SEQ_LENGTH,
                    "labels": builders.LABELS,
                    "signatures": ["classify", "classify_pair", "preprocess", "serving_default",
                                   "text_pair"],
                    "tokenizer_compat": "google",  # a tfbert model: original BERT's rules
                    "serving_version": "2.14"}  # the default target: the oldest TF Serving
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
    export_model(classifier_dir, "embed", out, seq_length=16, overwrite=True,
                 serving_version="2.20")
    info = json.loads((out / "assets.extra" / "tfbert.json").read_text())
    assert (info["task"], info["serving_version"]) == ("embed", "2.20")
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
