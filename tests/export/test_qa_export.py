"""QATask: the in-graph SQuAD answers equal squad_data's encode_squad + decode_squad, through
tf.function and through an exported SavedModel loaded by the TF1 session loader."""
import dataclasses
import functools
import json

import numpy as np
import pytest
import tensorflow as tf
import transformers

import tfbert
from tfbert.export import SessionModel, export_model, tasks
from tfbert.export.qa_export import QATask
from tfbert.text import serving_ops

SEQ_LENGTH = 32
SETTINGS = {"max_query_length": 8, "doc_stride": 10}  # windows of 21 to 29 context pieces
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Letters as pieces give long piece sequences (many windows) from short texts.
TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *LETTERS, *("##" + c for c in LETTERS),
          "the", "cafe", "who", "what", "where", "is", "in", "paris", "and", "##ing", "中", "文",
          "日", "本", ".", ",", "?", "!", "(", ")", "'", "-", ";", "&"]
LONG = " ".join(["the cafe is in paris and it is good"] * 6)  # 8 windows
ACCENTED = "Éàü ñöç Çàé Ôèï, ÂÛÎ ÿë"  # every letter has an accent the tokenizer strips
PAIRS = [
    ("Who is in Paris?", "Le café est à Paris, près de la Seine."),
    ("what", "Cafe\u0301 noir et naïve the\u0301 ole\u0301"),  # combining accents: deleted
    ("", "I love 🙂 pizza 🍕 and tea. 👍🏽 ok"),  # emoji are [UNK]; a skin tone modifier
    ("a very long question with many many words in it", "我在中文学校学习日本文化。"),
    ("Où?", "Wait... what?! (yes) -- no; 'quoted' & more"),
    ("where is the cafe?", LONG),
    ("x", ""),
    ("q", "  \t "),
    ("zero width", "a\u200bb c\u0000d e\ufe0ff"),  # zero-width space, NUL, variation selector
    ("accents?", ACCENTED),
    ("long", " ".join([ACCENTED] * 5)),
]


def _inputs(pairs):
    return {"question": np.array([q.encode() for q, _ in pairs], object),
            "context": np.array([c.encode() for _, c in pairs], object)}


@functools.cache
def _signatures(task):
    return task.signatures()  # traced once per task


def _run(task, signature, inputs):
    outputs = _signatures(task)[signature](tf.constant(inputs["question"]),
                                           tf.constant(inputs["context"]))
    return {name: value.numpy() for name, value in outputs.items()}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa")
    vocab_file = root / "vocab.txt"
    vocab_file.write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=len(TOKENS))
    tf.keras.utils.set_random_seed(3)
    model = tfbert.BertSpanQA(config)
    head = model.get_layer("qa_outputs")
    head.kernel.assign(head.kernel * 40.0)  # spread the logits: spans far from ties
    return tfbert.save(model, root / "model", vocab_file=vocab_file, do_lower_case=True)


def _task(model_dir, **settings):
    model = tfbert.load(model_dir)
    return QATask(model, str(model_dir / "vocab.txt"), True, SEQ_LENGTH, **SETTINGS, **settings)


@pytest.fixture(scope="module")
def plain(model_dir):
    """SQuAD v1.1 settings: no threshold, n_best 20, max_answer_length 30."""
    return _task(model_dir)


def _check_answers(outputs, pairs):
    """Every answer is the original context's characters [start, end) (Python code points)."""
    for (_, context), answer, start, end in zip(pairs, outputs["answer"], outputs["start"],
                                                outputs["end"]):
        if start >= 0:
            assert answer.decode() == context[start:end] != ""
        else:
            assert (answer, end) == (b"", -1)


def test_graph_equals_squad_reference(plain):
    inputs = _inputs(PAIRS)
    windows = _run(plain, "preprocess", inputs)
    assert plain.compare(windows, plain.reference("preprocess", inputs), 0.0) == []
    per_example = np.bincount(windows["window_example"], minlength=len(PAIRS))
    assert per_example[5] >= 3 and per_example[-1] >= 3  # long contexts: all their windows
    outputs = _run(plain, "serving_default", inputs)
    assert plain.compare(outputs, plain.reference("serving_default", inputs), 1e-4) == []
    _check_answers(outputs, PAIRS)
    # No threshold: every context with a piece is answered; those without have no span.
    assert [start >= 0 for start in outputs["start"]] == [bool(c.strip()) for _, c in PAIRS]
    assert np.isinf(outputs["null_score_diff"][[6, 7]]).all()
    # The uncased tokenizer strips the accents; the answer keeps the original characters.
    accented = outputs["answer"][9].decode()
    assert accented in ACCENTED and any(ord(c) > 127 for c in accented)


def test_empty_batch_and_mismatched_inputs(plain):
    outputs = _run(plain, "serving_default", _inputs([]))
    assert {name: value.shape for name, value in outputs.items()} == {
        name: (0,) for name in ("answer", "start", "end", "score", "null_score_diff")}
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        _signatures(plain)["serving_default"](tf.constant(["a", "b"]), tf.constant(["c"]))


def _threshold(model_dir, **settings):
    """A null_threshold between the examples' null_score_diffs: both outcomes happen."""
    probe = _task(model_dir, **settings)
    diffs = probe.reference("serving_default", _inputs(PAIRS))["null_score_diff"]
    finite = np.sort(diffs[np.isfinite(diffs)])
    middle = len(finite) // 2
    return float(finite[middle - 1] + finite[middle]) / 2


def test_threshold_answers_and_abstains(model_dir, plain):
    settings = {"n_best": 3, "max_answer_length": 4}
    threshold = _threshold(model_dir, **settings)
    task = _task(model_dir, null_threshold=threshold, **settings)
    inputs = _inputs(PAIRS)
    outputs = _run(task, "serving_default", inputs)
    assert task.compare(outputs, task.reference("serving_default", inputs), 1e-4) == []
    _check_answers(outputs, PAIRS)
    answered = outputs["start"] >= 0
    abstained = np.isfinite(outputs["null_score_diff"]) & ~answered
    assert answered.sum() >= 2 and abstained.sum() >= 2
    assert (outputs["null_score_diff"][answered] <= threshold).all()
    assert (outputs["null_score_diff"][abstained] > threshold).all()
    assert (outputs["end"][answered] - outputs["start"][answered] >= 1).all()


def test_windows_match_hugging_face_overflowing_tokens(plain, model_dir):
    """The windows as HF tokenizers cut them (`stride` = overlap = room - doc_stride)."""
    pairs = [PAIRS[i] for i in (0, 3, 5, 10)] + [("what", LONG + " end")]
    pairs[1] = ("where", pairs[1][1])  # HF keeps the whole question: keep it short
    hf = transformers.BertTokenizerFast(str(model_dir / "vocab.txt"), do_lower_case=True)
    windows = _run(plain, "preprocess", _inputs(pairs))
    for index, (question, context) in enumerate(pairs):
        room = SEQ_LENGTH - len(hf(question, add_special_tokens=False)["input_ids"]) - 3
        encoded = hf(question, context, truncation="only_second", max_length=SEQ_LENGTH,
                     stride=room - SETTINGS["doc_stride"], return_overflowing_tokens=True,
                     return_offsets_mapping=True)
        rows = np.flatnonzero(windows["window_example"] == index)
        assert len(rows) == len(encoded["input_ids"])
        for row, ids, types, offsets, sequence in zip(
                rows, encoded["input_ids"], encoded["token_type_ids"],
                encoded["offset_mapping"], (encoded.sequence_ids(i) for i in range(len(rows)))):
            length = windows["input_mask"][row].sum()
            assert windows["input_word_ids"][row, :length].tolist() == ids
            assert windows["input_type_ids"][row, :length].tolist() == types
            is_context = np.array([part == 1 for part in sequence])
            starts = windows["token_start"][row, :length]
            assert starts[is_context].tolist() == [start for start, _ in
                                                  np.array(offsets)[is_context]]
            assert (starts[~is_context] == -1).all()


def test_export_through_the_session_loader(model_dir, tmp_path, monkeypatch):
    settings = {"n_best": 5, "max_answer_length": 6}
    threshold = _threshold(model_dir, **settings)

    class SmallQATask(QATask):
        def __init__(self, model, vocab_file, lower_case, seq_length, compat):
            super().__init__(model, vocab_file, lower_case, seq_length, **SETTINGS, **settings,
                             null_threshold=threshold, compat=compat)

    monkeypatch.setitem(tasks.TASKS, "qa", SmallQATask)
    out = export_model(model_dir, "qa", tmp_path / "qa" / "1", seq_length=SEQ_LENGTH)
    info = json.loads((out / "assets.extra" / "tfbert.json").read_text())
    assert info == {"task": "qa", "seq_length": SEQ_LENGTH, **SETTINGS, **settings,
                    "null_threshold": threshold, "signatures": ["preprocess", "serving_default"],
                    "tokenizer_compat": "google", "serving_version": "2.14"}
    model = SessionModel(out)  # the TF1 session loader, as TF Serving loads it
    try:
        serving_ops.check_serving_ops(model.meta_graph.graph_def)
        assert "RoundRobinTrim" not in serving_ops.graph_ops(model.meta_graph.graph_def)
        inputs = _inputs(PAIRS)
        outputs = model.run("serving_default", inputs)
        windows = model.run("preprocess", inputs)
    finally:
        model.close()
    task = _task(model_dir, null_threshold=threshold, **settings)
    assert task.compare(outputs, task.reference("serving_default", inputs), 1e-4) == []
    assert task.compare(windows, task.reference("preprocess", inputs), 0.0) == []
    answered = outputs["start"] >= 0
    assert answered.any() and (np.isfinite(outputs["null_score_diff"]) & ~answered).any()


@pytest.mark.parametrize("settings, message", [
    ({"max_query_length": 29}, r"seq_length >= max_query_length \+ 4; got seq_length=32"),
    ({"doc_stride": 0}, "`doc_stride` must be a positive int; got 0"),
    ({"n_best": 2.0}, "`n_best` must be a positive int; got 2.0"),
    ({"null_threshold": "0.5"}, "`null_threshold` must be a number or None; got '0.5'"),
])
def test_bad_settings(model_dir, settings, message):
    model = tfbert.load(model_dir)
    with pytest.raises(ValueError, match=message):
        QATask(model, str(model_dir / "vocab.txt"), True, SEQ_LENGTH, **{**SETTINGS, **settings})


def test_needs_a_span_qa_model(model_dir):
    model = tfbert.BertRegressor(tfbert.load(model_dir).config)
    with pytest.raises(ValueError, match="needs a BertSpanQA model directory; got BertRegressor"):
        QATask(model, str(model_dir / "vocab.txt"), True, SEQ_LENGTH)
