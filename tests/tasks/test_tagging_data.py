"""Tagging data: readers, WordPiece alignment (against HF BertTokenizerFast), windows, decoding
(entities grouped by seqeval's chunking)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import transformers
from seqeval.metrics.sequence_labeling import get_entities

from tfbert.metrics import entities
from tfbert.tasks.tagging_data import (TagExample, check_tags, decode_tagging, encode_tagging,
                                       examples_from_texts, read_tagging_file, tag_vocabulary)
from tfbert.text import BertTokenizer

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "eu", "reject", "##s", "german", "call", "to", "boy", "##cott", "british", "lamb", ".",
    "peter", "black", "##burn", "cafe", "zurich", "na", "##ive", "u", "s", "e", "g", "(", ")",
    "ap", "-", ",", "北", "京", "欢", "迎", "in", "new", "york", "is", "fine", "john", "lives",
    "a", "##a", "the", "city", "of", "united", "nations", "met", "ann", "bo", "##b", "'", "##ing",
]

# CoNLL-2003 style: -DOCSTART-, POS and chunk columns, the tag last.
CONLL_2003 = """\
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP B-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

Café NNP B-NP B-LOC
in IN B-PP O
Zürich NNP B-NP B-LOC
is VBZ B-VP O
naïve JJ B-ADJP O
"""

# Words that stress alignment: accents, CJK, punctuation inside a word, unknown characters,
# a word of only a deleted (zero-width) character.
HARD_SENTENCES = [
    ["Café", "in", "Zürich", "is", "naïve", "."],
    ["北京", "欢迎", "john"],
    ["北", "京", "欢", "迎"],
    ["U.S.", "e.g.", "(AP)", "--", "John's", "New-York,"],
    ["😀", "x😀y", "lamb😀", "ß", "Boycotting"],
    ["the", "\u200b", "city", "\u200b\u200b", "of", "New", "York"],
]


@pytest.fixture(scope="module")
def vocab_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tokenizer(vocab_path):
    return BertTokenizer(vocab_path, lower_case=True)


@pytest.fixture(scope="module")
def hf_tokenizer(vocab_path):
    return transformers.BertTokenizerFast(str(vocab_path), do_lower_case=True)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def conll(sentences: list[list[tuple[str, str]]]) -> str:
    return "\n".join("".join(f"{word} {tag}\n" for word, tag in sentence)
                     for sentence in sentences)


def gold_logits(features, num_tags: int, seed: int = 0) -> np.ndarray:
    """One-hot logits of the gold labels at each word's max-context position, and a wrong
    tag everywhere else (so decoding must read exactly the max-context positions)."""
    rng = np.random.default_rng(seed)
    wrong = (features.labels + rng.integers(1, num_tags, features.labels.shape)) % num_tags
    best = np.where(features.max_context, features.labels, wrong)
    return np.eye(num_tags, dtype=np.float32)[best] * 4.0  # [W, T, C]


def gold_entities(example: TagExample) -> list[tuple[str, int, int, str]]:
    """(label, start, end, text) of the gold entities, by seqeval's chunking of the gold tags."""
    spans = []
    for label, first, last in get_entities(list(example.tags)):
        start, end = example.words[first][0], example.words[last][1]
        spans.append((label, start, end, example.text[start:end]))
    return spans


def predicted_entities(prediction) -> list[tuple[str, int, int, str]]:
    return [(e["label"], e["start"], e["end"], e["text"]) for e in prediction.entities]


def round_trip(examples, tokenizer, seq_length=64, stride=None, chunker=get_entities):
    """Encodes labelled `examples`, decodes gold one-hot logits; checks that the gold tags and
    seqeval's entities of them come back."""
    tags = tag_vocabulary(examples)
    features = encode_tagging(examples, tokenizer, tags, seq_length=seq_length, stride=stride)
    predictions = decode_tagging(examples, features, gold_logits(features, len(tags)), tags,
                                 chunker=chunker)
    assert len(predictions) == len(examples)
    for example, prediction in zip(examples, predictions):
        assert prediction.tags == example.tags
        assert predicted_entities(prediction) == gold_entities(example)
        for entity in prediction.entities:
            assert 0.0 < entity["score"] <= 1.0
    return features, predictions


# === Alignment against HF BertTokenizerFast ===

def test_first_pieces_match_hf_word_ids(tmp_path, tokenizer, hf_tokenizer):
    path = write(tmp_path, "hard.conll", conll([[(w, "O") for w in s] for s in HARD_SENTENCES]))
    examples = read_tagging_file(path)
    assert [[e.word_text(i) for i in range(len(e.words))] for e in examples] == HARD_SENTENCES
    features = encode_tagging(examples, tokenizer, ["O"], seq_length=40)
    assert features.example_index.tolist() == list(range(len(HARD_SENTENCES)))  # one window each
    for row, words in enumerate(HARD_SENTENCES):
        encoding = hf_tokenizer(words, is_split_into_words=True)
        length = int(features.input_mask[row].sum())
        assert features.input_word_ids[row, :length].tolist() == encoding["input_ids"]
        word_ids = encoding.word_ids()
        hf_first = {position: word for position, word in enumerate(word_ids)
                    if word is not None and (position == 0 or word_ids[position - 1] != word)}
        ours = {position: int(word) for position, word in enumerate(features.word_index[row])
                if word >= 0}
        assert ours == hf_first
        assert np.flatnonzero(features.label_weights[row]).tolist() == sorted(hf_first)
        assert np.flatnonzero(features.max_context[row]).tolist() == sorted(hf_first)
    # The words of only a zero-width space have no piece (HF: no position) and decode as "O".
    assert 1 not in features.word_index[5] and 3 not in features.word_index[5]


def test_bert_words_match_hf_word_spans(tokenizer, hf_tokenizer):
    texts = [" ".join(words) for words in HARD_SENTENCES] + ["  Zürich\tin北京!😀 ", ""]
    examples = examples_from_texts(texts, tokenizer)
    for text, example in zip(texts, examples):
        encoding = hf_tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
        spans = {}
        for word, (start, end) in zip(encoding.word_ids(), encoding["offset_mapping"]):
            first_start = spans.get(word, (start, end))[0]
            spans[word] = (first_start, end)
        assert example.words == tuple(spans[word] for word in sorted(spans))
        assert example.tags is None
    assert examples[1].source == "text:2"


# === Windows ===

LONG_WORDS = [("John", "B-PER"), ("lives", "O"), ("in", "O"), ("New", "B-LOC"), ("York", "I-LOC"),
              ("City", "I-LOC"), (",", "O"), ("boycotts", "O"), ("Blackburn", "B-PER"),
              ("lamb", "O"), ("of", "O"), ("the", "O"), ("United", "B-ORG"), ("Nations", "I-ORG"),
              ("Peter", "B-PER"), ("Blackburn", "I-PER"), ("rejects", "O"), (".", "O")]


def test_long_sentence_windows(tmp_path, tokenizer, hf_tokenizer):
    seq_length = 16
    sentence = LONG_WORDS * 3  # 1 + 3 * 25 pieces ≈ 5 x seq_length
    path = write(tmp_path, "long.conll", conll([[("Ann", "B-PER")], sentence, [("met", "O")]]))
    examples = read_tagging_file(path)
    features, _ = round_trip(examples, tokenizer, seq_length=seq_length)
    words = [word for word, _ in sentence]
    hf = hf_tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    hf_ids, hf_words = hf["input_ids"], hf.word_ids()
    assert len(hf_ids) >= 3 * seq_length
    rows = np.flatnonzero(features.example_index == 1)
    assert len(rows) > 3 and features.example_index.tolist() == [0] + [1] * len(rows) + [2]
    seen = np.zeros(len(words), int)
    best_count = np.zeros(len(words), int)
    previous_start = -1
    for row in rows:
        length = int(features.input_mask[row].sum()) - 2
        ids = features.input_word_ids[row]
        assert ids[0] == VOCAB.index("[CLS]") and ids[length + 1] == VOCAB.index("[SEP]")
        # The window is a slice of the sentence's pieces that starts at a word's first piece
        # and ends before a word's first piece (or at the end).
        first_word = features.word_index[row, 1]
        assert first_word >= 0
        start = hf_words.index(first_word)
        assert start > previous_start
        previous_start = start
        assert ids[1:length + 1].tolist() == hf_ids[start:start + length]
        end = start + length
        assert end == len(hf_ids) or hf_words[end] != hf_words[end - 1]
        # Labels on first pieces only, one per word in the window.
        window_words = hf_words[start:end]
        first = [i == 0 or window_words[i] != window_words[i - 1] for i in range(length)]
        assert (features.label_weights[row, 1:length + 1] == first).all()
        assert not features.label_weights[row, [0] + list(range(length + 1, seq_length))].any()
        assert features.word_index[row, 1:length + 1][first].tolist() == sorted(set(window_words))
        seen[sorted(set(window_words))] += 1
        best_count[features.word_index[row][features.max_context[row]]] += 1
    assert (seen >= 1).all() and (seen >= 2).any()  # every word, some of them in two windows
    assert (best_count == 1).all()  # exactly one max-context position per word
    # The max-context window maximises min(pieces before, pieces after) among its windows.
    for word in range(len(words)):
        contexts, chosen = [], None
        for row in rows:
            positions = np.flatnonzero(features.word_index[row] == word)
            if len(positions):
                length = int(features.input_mask[row].sum()) - 2
                context = min(positions[0] - 1, length - positions[0])
                contexts.append(context)
                if features.max_context[row, positions[0]]:
                    chosen = context
        assert chosen == max(contexts)


def test_word_longer_than_a_window_is_split_not_dropped(tmp_path, tokenizer):
    sentence = [("boycott", "O"), ("a" * 11, "B-MISC"), ("lamb", "I-MISC"), ("to", "O"),
                ("Peter", "B-PER"), ("eu", "B-ORG")]  # "aaaaaaaaaaa": 11 pieces
    path = write(tmp_path, "wide.conll", conll([sentence]))
    examples = read_tagging_file(path)
    features, _ = round_trip(examples, tokenizer, seq_length=8, stride=3)
    assert len(features) > 2
    # Some window starts inside the long word (a "##" piece), as no word start is near.
    mid_word = features.word_index[:, 1] == -1
    assert mid_word.any()
    assert all(VOCAB[i] == "##a" for i in features.input_word_ids[mid_word, 1])
    assert sorted(features.word_index[features.max_context].tolist()) == list(range(6))
    last = features.input_word_ids[-1][features.input_mask[-1] == 1]
    assert [VOCAB[i] for i in last[-3:]] == ["peter", "eu", "[SEP]"]


def test_unlabelled_and_pieceless_words_decode(tmp_path, tokenizer):
    path = write(tmp_path, "raw.txt", "John\n\u200b\nlives\n\nNew\nYork\n")
    examples = read_tagging_file(path)
    assert [e.tags for e in examples] == [None, None]
    tags = ["O", "B-LOC", "B-PER", "I-LOC"]
    features = encode_tagging(examples, tokenizer, tags, seq_length=16)
    assert not features.label_weights.any() and not features.labels.any()
    logits = np.zeros(features.labels.shape + (4,), np.float32)
    logits[0, 1, 2] = logits[1, 1, 1] = logits[1, 2, 3] = 5.0
    first, second = decode_tagging(examples, features, logits, tags, chunker=get_entities)
    assert first.tags == ("B-PER", "O", "O")  # the zero-width word has no piece: "O"
    assert first.scores[1] == 1.0
    assert predicted_entities(first) == [("PER", 0, 4, "John")]
    assert predicted_entities(second) == [("LOC", 0, 8, "New York")]
    probability = np.exp(5.0) / (np.exp(5.0) + 3)
    assert second.entities[0]["score"] == pytest.approx(probability)


# === Readers ===

def test_conll_2003(tmp_path, tokenizer):
    path = write(tmp_path, "train.txt", CONLL_2003)
    examples = read_tagging_file(path)
    assert [e.source for e in examples] == [f"{path}:3", f"{path}:13", f"{path}:18"]
    assert examples[0].text == "EU rejects German call to boycott British lamb ."
    assert examples[0].tags == ("B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O")
    assert examples[1].words == ((0, 5), (6, 15))
    assert tag_vocabulary(examples) == ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"]
    _, predictions = round_trip(examples, tokenizer)
    assert predicted_entities(predictions[1]) == [("PER", 0, 15, "Peter Blackburn")]
    assert predicted_entities(predictions[2]) == [("LOC", 0, 4, "Café"), ("LOC", 8, 14, "Zürich")]


def test_chinese_character_per_line(tmp_path, tokenizer):
    path = write(tmp_path, "msra.bio", "北 B-LOC\n京 I-LOC\n欢 O\n迎 O\n")
    example, = read_tagging_file(path)
    assert example.text == "北 京 欢 迎" and example.words == ((0, 1), (2, 3), (4, 5), (6, 7))
    _, (prediction,) = round_trip([example], tokenizer)
    assert predicted_entities(prediction) == [("LOC", 0, 3, "北 京")]


def test_jsonl_code_point_spans(tmp_path, tokenizer):
    rows = [("😀 Café in Zürich, 北京 is fine", [("Café", "LOC"), ("Zürich", "LOC"), ("北京", "LOC")]),
            ("John😀 lives in New York", [("New York", "LOC")]),
            ("Peter Blackburn (AP)", [("Peter Blackburn", "PER"), ("AP", "ORG")]),
            ("", [])]
    lines = []
    for text, entities in rows:
        spans = [{"start": text.index(part), "end": text.index(part) + len(part), "label": label}
                 for part, label in entities]
        lines.append(json.dumps({"text": text, "entities": spans[::-1]}, ensure_ascii=False))
    path = write(tmp_path, "train.jsonl", "\n".join(lines) + "\n\n")
    examples = read_tagging_file(path, tokenizer)
    assert examples[0].tags == ("O", "B-LOC", "O", "B-LOC", "O", "B-LOC", "I-LOC", "O", "O")
    assert examples[1].tags == ("O", "O", "O", "B-LOC", "I-LOC")  # "john😀" is one [UNK] word
    assert examples[3].words == () and examples[3].source == f"{path}:4"
    _, predictions = round_trip(examples, tokenizer)
    for (text, entities), prediction in zip(rows, predictions):
        assert [(e["text"], e["label"]) for e in prediction.entities] == entities
        assert all(text[e["start"]:e["end"]] == e["text"] for e in prediction.entities)
    assert predictions[0].entities[0]["start"] == 2  # code points: the emoji is one


def test_jsonl_unlabelled(tmp_path, tokenizer):
    path = write(tmp_path, "test.jsonl", '{"text": "Zürich"}\n{"text": "New York"}\n')
    assert [(e.tags, e.words) for e in read_tagging_file(path, tokenizer)] == [
        (None, ((0, 6),)), (None, ((0, 3), (4, 8)))]


def test_iob1_and_bioes_keep_their_tags(tmp_path, tokenizer):
    iob1 = [[("John", "I-PER"), ("Peter", "B-PER"), ("Blackburn", "I-PER"), ("in", "O"),
             ("New", "I-LOC"), ("York", "I-LOC")]]
    bioes = [[("John", "S-PER"), ("lives", "O"), ("in", "O"), ("New", "B-LOC"), ("York", "I-LOC"),
              ("City", "E-LOC")], [("United", "B-ORG"), ("Nations", "E-ORG"), ("EU", "S-ORG")]]
    iob1_examples = read_tagging_file(write(tmp_path, "iob1.iob", conll(iob1)))
    bioes_examples = read_tagging_file(write(tmp_path, "bioes.conll", conll(bioes)))
    assert tag_vocabulary(iob1_examples) == ["O", "B-PER", "I-LOC", "I-PER"]
    assert tag_vocabulary(bioes_examples) == ["O", "B-LOC", "B-ORG", "E-LOC", "E-ORG", "I-LOC",
                                              "S-ORG", "S-PER"]
    # The default chunker (tfbert.metrics.entities) groups them as seqeval does.
    _, (iob1_prediction,) = round_trip(iob1_examples, tokenizer, chunker=entities)
    assert predicted_entities(iob1_prediction) == [
        ("PER", 0, 4, "John"), ("PER", 5, 20, "Peter Blackburn"), ("LOC", 24, 32, "New York")]
    _, bioes_predictions = round_trip(bioes_examples, tokenizer, chunker=entities)
    assert [[e[3] for e in predicted_entities(p)] for p in bioes_predictions] == [
        ["John", "New York City"], ["United Nations", "EU"]]


# === Errors name the file and line ===

@pytest.mark.parametrize("text, line, message", [
    ("John B-PER\nlives\n", 2, "one column 'lives'"),
    ("John B-PER\n\nlives O\nin PER\n", 4, "tag 'PER' is not a valid tag"),
    ("John X-PER\n", 1, "tag 'X-PER'"),
    ("John B-\n", 1, "tag 'B-'"),
])
def test_conll_errors(tmp_path, text, line, message):
    path = write(tmp_path, "bad.conll", text)
    with pytest.raises(ValueError, match=f"bad.conll:{line}: .*{message}"):
        read_tagging_file(path)


def test_conll_not_utf8(tmp_path):
    path = tmp_path / "latin1.conll"
    path.write_bytes(b"John B-PER\nZ\xfcrich B-LOC\n")
    with pytest.raises(ValueError, match="latin1.conll:2: not UTF-8"):
        read_tagging_file(path)


GOOD = '{"text": "New York", "entities": []}'


@pytest.mark.parametrize("line, message", [
    ('{"text": "New York"', "not valid JSON"),
    ('["New York"]', "must be a JSON object"),
    ('{"entities": []}', '"text" must be a string; got no "text"'),
    ('{"text": 5, "entities": []}', '"text" must be a string; got int'),
    ('{"text": "New York", "entities": [{"start": 4, "end": 9, "label": "LOC"}]}',
     r"0 <= start < end <= 8"),
    ('{"text": "New York", "entities": [{"start": -1, "end": 3, "label": "LOC"}]}',
     r"0 <= start < end"),
    ('{"text": "New York", "entities": [{"start": 3, "end": 3, "label": "LOC"}]}',
     r"span \[3, 3\)"),
    ('{"text": "New York", "entities": [{"start": 4, "end": 2, "label": "LOC"}]}',
     r"span \[4, 2\)"),
    ('{"text": "New York", "entities": [{"start": "0", "end": 3, "label": "LOC"}]}',
     "must be integers"),
    ('{"text": "New York", "entities": [{"start": 0, "end": 3}]}', '"label" must be'),
    ('{"text": "New York", "entities": {"start": 0}}', '"entities" must be a list'),
    ('{"text": "New York", "entities": [{"start": 0, "end": 8, "label": "LOC"}, '
     '{"start": 4, "end": 8, "label": "CITY"}]}', r"overlap: LOC \[0, 8\) and CITY \[4, 8\)"),
    ('{"text": "New York", "entities": [{"start": 0, "end": 6, "label": "LOC"}]}',
     r"boundary at 6, inside the word 'York' \[4, 8\)"),
    ('{"text": "Blackburn", "entities": [{"start": 5, "end": 9, "label": "LOC"}]}',
     r"boundary at 5, inside the word 'Blackburn' \[0, 9\)"),
    ('{"text": "New \\u200b York", "entities": [{"start": 4, "end": 5, "label": "LOC"}]}',
     "covers no word"),
    ('{"text": "New York"}', 'no "entities" but others do'),
])
def test_jsonl_errors(tmp_path, tokenizer, line, message):
    path = write(tmp_path, "bad.jsonl", f"{GOOD}\n\n{line}\n{GOOD}\n")
    with pytest.raises(ValueError, match=f"bad.jsonl:3: .*{message}"):
        read_tagging_file(path, tokenizer)


def test_jsonl_needs_the_tokenizer(tmp_path):
    with pytest.raises(ValueError, match="needs the model's tokenizer"):
        read_tagging_file(write(tmp_path, "train.jsonl", GOOD + "\n"))


def test_unknown_tag_in_eval_file(tmp_path, tokenizer):
    train = read_tagging_file(write(tmp_path, "train.conll", "John B-PER\nlives O\n"))
    dev = read_tagging_file(write(tmp_path, "dev.conll", "x O\n\nJohn B-PER\nin O\nZürich B-LOC\n"))
    with pytest.raises(ValueError, match=r"dev.conll:3: word 3 'Zürich' has tag 'B-LOC'"):
        check_tags(dev, tag_vocabulary(train))
    with pytest.raises(ValueError, match="dev.conll:3: .*'B-LOC'"):
        encode_tagging(dev, tokenizer, tag_vocabulary(train), seq_length=8)


def test_decode_checks_the_logits_shape(tmp_path, tokenizer):
    examples = read_tagging_file(write(tmp_path, "train.conll", "John B-PER\nlives O\n"))
    features = encode_tagging(examples, tokenizer, ["O", "B-PER"], seq_length=8)
    with pytest.raises(ValueError, match=r"\(1, 8, 2\); got \(1, 8, 3\)"):
        decode_tagging(examples, features, np.zeros((1, 8, 3)), ["O", "B-PER"],
                       chunker=get_entities)
