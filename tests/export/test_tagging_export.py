"""`tag` export: entities computed in the graph equal the in-process predictor's
(`tfbert.tasks.tagging_data`, `tfbert.tasks.inference.Predictor`), windows equal
`encode_tagging`'s, the chunker equals seqeval's, and the SavedModel passes the op audit and
runs in the TF1 session loader."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from seqeval.metrics.sequence_labeling import get_entities

import tfbert
from tests.export import builders
from tfbert.export import SessionModel, export_model
from tfbert.export import tasks as export_tasks
from tfbert.export.tagging_export import TagTask, chunk_tags, words_of_pieces
from tfbert.metrics import entities
from tfbert.tasks import tagging_files
from tfbert.tasks.inference import Predictor
from tfbert.tasks.tagging_data import (TagExample, decode_tagging, encode_tagging,
                                       examples_from_texts)
from tfbert.text.serving_ops import check_serving_ops

SEQ_LENGTH = 16  # 14 pieces a window, stride 7
LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "peter", "black", "##burn", "lives", "in", "new", "york", ".", "cafe", "zurich", "is",
    "na", "##ive", ",", "tres", "!", "北", "京", "欢", "迎", "john", "and", "(", ")", "ap",
    "u", "s", "the", "city", "of", "fine", "boy", "##cott", "##ing", "a", "##a", "reject",
    "united", "nations", "x", "##y",
]
LONG = " ".join(["the city of new york is fine"] * 4 + ["Boycotting", "a" * 20, "rejects"]
                + ["John lives in the United Nations"] * 3)
TEXTS = ["Peter Blackburn lives in New York.", "Café in Zürich is naïve, très naïve!",
         "北京欢迎 John 😀 and x😀y (AP) U.S.", "", "  \t ", "the\u200b city \u200b of",
         LONG]


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tag_vocab") / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return path


def tagger(vocab_file, labels=LABELS, seed=0):
    """A random bert_tiny tagger whose head is scaled up, so that words get varied tags with
    clear margins (no near-ties between two ways of computing the same logits)."""
    keras.utils.set_random_seed(seed)
    model = tfbert.BertTokenClassifier(builders.tiny_config(vocab_file), num_labels=len(labels),
                                       labels=labels)
    head = model.get_layer("classifier")
    head.kernel.assign(head.kernel * 300.0)
    return model


@pytest.fixture(scope="module")
def model(vocab_file):
    return tagger(vocab_file)


@pytest.fixture(scope="module")
def task(model, vocab_file):
    return TagTask(model, str(vocab_file), True, SEQ_LENGTH)


def predictor(model, vocab_file, texts, stride=None):
    """(features, logits, predictions) of the in-process predictor's functions."""
    tokenizer = tfbert.BertTokenizer(vocab_file)
    examples = examples_from_texts(texts, tokenizer)
    features = encode_tagging(examples, tokenizer, LABELS, seq_length=SEQ_LENGTH, stride=stride)
    logits = np.asarray(model(features.inputs, training=False)["logits"])
    return features, logits, decode_tagging(examples, features, logits, LABELS)


def graph_entities(outputs) -> list[list[dict]]:
    """The entities of each text from the serving_default outputs, checking their padding."""
    outputs = {name: np.asarray(value) for name, value in outputs.items()}
    rows = []
    for row, count in enumerate(outputs["num_entities"].tolist()):
        assert (outputs["entity_labels"][row, count:] == b"").all()
        assert (outputs["entity_texts"][row, count:] == b"").all()
        assert (outputs["entity_starts"][row, count:] == -1).all()
        assert (outputs["entity_ends"][row, count:] == -1).all()
        assert (outputs["entity_scores"][row, count:] == 0).all()
        rows.append([{"label": outputs["entity_labels"][row, i].decode(),
                      "start": int(outputs["entity_starts"][row, i]),
                      "end": int(outputs["entity_ends"][row, i]),
                      "text": outputs["entity_texts"][row, i].decode(),
                      "score": float(outputs["entity_scores"][row, i])} for i in range(count)])
    assert outputs["entity_labels"].shape[1] == max(outputs["num_entities"], default=0)
    return rows


def assert_same_entities(actual: list[list[dict]], expected: list[list[dict]], texts):
    assert len(actual) == len(expected) == len(texts)
    for got, want, text in zip(actual, expected, texts):
        assert [(e["label"], e["start"], e["end"], e["text"]) for e in got] == \
               [(e["label"], e["start"], e["end"], e["text"]) for e in want]
        np.testing.assert_allclose([e["score"] for e in got], [e["score"] for e in want],
                                   atol=1e-5)
        assert all(text[e["start"]:e["end"]] == e["text"] for e in got)


@pytest.mark.parametrize("stride", [None, 3])
def test_entities_equal_the_predictors(model, vocab_file, stride):
    task = TagTask(model, str(vocab_file), True, SEQ_LENGTH, stride=stride)
    outputs = task.signatures()["serving_default"](tf.constant(TEXTS))
    features, logits, predictions = predictor(model, vocab_file, TEXTS, stride)
    expected = [prediction.entities for prediction in predictions]
    assert_same_entities(graph_entities(outputs), expected, TEXTS)
    # The test has teeth: entities of several words and of every type, and words whose tag
    # depends on the window it is read from (so the max-context choice matters).
    assert any(last > first for prediction in predictions
               for _, first, last in entities(list(prediction.tags)))
    assert {e["label"] for row in expected for e in row} == {"LOC", "PER"}
    long_windows = features.example_index == TEXTS.index(LONG)
    tags = logits.argmax(-1)[long_windows]
    words = features.word_index[long_windows]
    chosen = features.max_context[long_windows]
    assert any(len(set(tags[words == word])) > 1 and
               (tags[words == word] != tags[(words == word) & chosen][0]).any()
               for word in range(words.max() + 1))
    # The task's own reference is the same.
    reference = task.reference("serving_default", {"text": np.array(
        [text.encode() for text in TEXTS], object)})
    assert task.compare({k: v.numpy() for k, v in outputs.items()}, reference, 1e-5) == []


def test_preprocess_gives_encode_taggings_windows(task, model, vocab_file):
    windows = task.signatures()["preprocess"](tf.constant(TEXTS))
    features, _, _ = predictor(model, vocab_file, TEXTS)
    width = windows["input_word_ids"].shape[1]
    assert width == features.input_mask.sum(axis=1).max()
    for name, value in features.inputs.items():
        np.testing.assert_array_equal(windows[name].numpy(), value[:, :width])
    np.testing.assert_array_equal(windows["text_index"].numpy(), features.example_index)
    assert (features.example_index == TEXTS.index(LONG)).sum() > 3  # the long text: > 3 windows


@pytest.mark.parametrize("seq_length, strides", [(16, (1, 2, 5, 7, 14)), (5, (1, 2, 3))])
def test_windows_and_max_context_positions_equal_encode_taggings(model, vocab_file, seq_length,
                                                                 strides):
    rng = np.random.default_rng(seq_length)
    words = ["a" * n for n in range(1, 25)] + ["blackburn", "boycotting", "new", "york", ",",
                                                "北", "😀"]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 30))) for _ in range(12)]
    tokenizer = tfbert.BertTokenizer(vocab_file)
    examples = examples_from_texts(texts, tokenizer)
    for stride in strides:
        features = encode_tagging(examples, tokenizer, LABELS, seq_length=seq_length,
                                  stride=stride)
        windows = TagTask(model, str(vocab_file), True, seq_length, stride=stride).windows(
            tf.constant(texts))
        width = windows["input_word_ids"].shape[1]
        np.testing.assert_array_equal(windows["input_word_ids"].numpy(),
                                      features.input_word_ids[:, :width])
        np.testing.assert_array_equal(windows["text_index"].numpy(), features.example_index)
        # Each word is read at its first piece in its max-context window, nowhere else.
        slots = windows["word_slot"].numpy()
        assert sorted(slots.tolist()) == np.flatnonzero(features.max_context[:, :width]).tolist()


def test_empty_batch_and_texts_without_words(task):
    serving = task.signatures()["serving_default"]
    empty = serving(tf.constant([], tf.string))
    assert {name: value.shape.as_list() for name, value in empty.items()} == {
        "entity_labels": [0, 0], "entity_starts": [0, 0], "entity_ends": [0, 0],
        "entity_texts": [0, 0], "entity_scores": [0, 0], "num_entities": [0]}
    blank = serving(tf.constant(["", " \t\n ", "\u200b"]))
    assert blank["num_entities"].numpy().tolist() == [0, 0, 0]
    assert blank["entity_labels"].shape == [3, 0]
    assert task.signatures()["preprocess"](tf.constant([], tf.string))["input_word_ids"].shape \
        == [0, 2]


LABEL_SETS = {
    "iob1": ["O", "I-PER", "I-LOC", "B-LOC", "I-ORG", "B-ORG"],
    "iob2": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
    "bioes": ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"],
    "mixed": ["O", "B", "I", "E", "S", "B-X", "I-X", "E-Y", "S-Y", "I-_"],
}


@pytest.mark.parametrize("scheme", sorted(LABEL_SETS))
def test_chunker_equals_seqeval_on_random_tags(scheme):
    rng = np.random.default_rng(len(scheme))
    labels = LABEL_SETS[scheme]
    sentences = [[labels[i] for i in rng.integers(len(labels), size=rng.integers(0, 15))]
                 for _ in range(200)]
    chunks = chunk_tags(tf.ragged.constant(sentences, tf.string))
    got = [list(zip([label.decode() for label in labels_], firsts, lasts))
           for labels_, firsts, lasts in zip(*(chunks[name].to_list()
                                              for name in ("label", "first", "last")))]
    assert got == [entities(sentence) for sentence in sentences]
    assert got == [get_entities(sentence) for sentence in sentences]
    assert sum(map(len, got)) > 100


class _OffsetsTokenizer:
    """A stand-in tokenizer with fixed pieces, to give `words_of_pieces` offsets a real
    normalizer hardly produces: pieces of one expanded character that share it."""

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b", "c"]
    special_ids = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}

    def __init__(self, pieces):
        self.pieces = pieces  # per text: [(id, start, end)]

    def tokenize_with_offsets(self, text):
        return tuple(tf.ragged.constant([[piece[k] for piece in row] for row in self.pieces],
                                        tf.int32, ragged_rank=1, inner_shape=())
                     for k in range(3))


def test_words_of_pieces_merge_pieces_that_share_a_character():
    pieces = [[(5, 0, 2), (7, 0, 2), (5, 2, 3), (6, 2, 3), (7, 3, 4)],  # "a c" from one char
              [],
              [(1, 0, 3), (7, 2, 3), (6, 3, 4), (5, 5, 6), (7, 5, 7), (7, 6, 8)],
              [(6, 0, 1), (5, 2, 3)]]  # a first "##" piece: in no word
    texts = ["xyzw", "", "abcdefgh", "b a"]
    tokenizer = _OffsetsTokenizer(pieces)
    ids, starts, ends = tokenizer.tokenize_with_offsets(None)
    continuation = tf.constant([token.startswith("##") for token in tokenizer.vocabulary])
    words = words_of_pieces(ids, starts, ends, continuation)
    expected = tagging_files.bert_words(texts, tokenizer)
    assert expected == [((0, 2), (2, 3), (3, 4)), (), ((0, 4), (5, 8)), ((2, 3),)]  # merged
    rows = words["word_row"].numpy()
    got = [tuple(zip(words["word_start"].numpy()[rows == row].tolist(),
                     words["word_end"].numpy()[rows == row].tolist())) for row in range(4)]
    assert got == expected
    # The word of each first piece, as encode_tagging marks it (one window each here).
    examples = [TagExample(text, spans, None, f"t:{i}")
                for i, (text, spans) in enumerate(zip(texts, expected))]
    features = encode_tagging(examples, tokenizer, ["O"], seq_length=10)
    first = words["first_piece"].numpy()
    splits = ids.row_splits.numpy()
    piece_row = np.repeat(np.arange(4), np.diff(splits))
    local = words["piece_word"].numpy() - np.searchsorted(rows, piece_row)  # word in its text
    for row in range(4):
        piece = slice(splits[row], splits[row + 1])
        np.testing.assert_array_equal(np.where(first[piece], local[piece], -1),
                                      features.word_index[row, 1:1 + len(pieces[row])])


@pytest.mark.parametrize("arguments, message", [
    ({"stride": 0}, r"`stride` must be an int in \[1, seq_length - 2 = 14\]; got 0"),
    ({"stride": 15}, r"`stride` must be an int in \[1, seq_length - 2 = 14\]; got 15"),
    ({"labels": ["O", "PER"]}, "labels that are tags .* got 'PER' in \\['O', 'PER'\\]"),
    ({"labels": None}, "needs the model's tag names"),
    ({"classifier": True}, "task 'tag' needs a BertTokenClassifier model directory; got "
                           "BertClassifier"),
])
def test_bad_arguments_are_named(model, vocab_file, arguments, message):
    if "labels" in arguments or "classifier" in arguments:
        labels = arguments.get("labels")
        config = builders.tiny_config(vocab_file)
        model = (tfbert.BertClassifier(config, num_labels=2) if "classifier" in arguments
                 else tfbert.BertTokenClassifier(config, num_labels=2, labels=labels))
    with pytest.raises(ValueError, match=message):
        TagTask(model, str(vocab_file), True, SEQ_LENGTH, stride=arguments.get("stride"))


def test_export_loads_in_a_session_and_equals_the_predictor(model, vocab_file, tmp_path,
                                                            monkeypatch):
    settings = {"task": "tag", "seq_length": SEQ_LENGTH, "settings": {}}
    model_dir = tfbert.save(model, tmp_path / "tagger", vocab_file=vocab_file,
                            do_lower_case=True,
                            extra_files={"finetuning.json": json.dumps(settings)})
    monkeypatch.setitem(export_tasks.TASKS, "tag", TagTask)
    out = export_model(model_dir, "tag", tmp_path / "saved_models" / "tagger" / "1",
                       seq_length=SEQ_LENGTH)  # validates against the task's reference
    info = json.loads((out / "assets.extra" / "tfbert.json").read_text())
    assert info["task"] == "tag" and info["stride"] == 7 and info["labels"] == LABELS
    session = SessionModel(out)
    try:
        check_serving_ops(session.meta_graph.graph_def)
        assert set(session.signatures) == {"serving_default", "preprocess"}
        outputs = session.run("serving_default", {"text": np.array(TEXTS, object)})
        records = Predictor(model_dir).predict(TEXTS)
        assert_same_entities(graph_entities(outputs), [r["entities"] for r in records], TEXTS)
        empty = session.run("serving_default", {"text": np.array([], object)})
        assert empty["entity_texts"].shape == (0, 0) and empty["num_entities"].shape == (0,)
    finally:
        session.close()
