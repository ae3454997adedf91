"""SQuAD reading, windowed features and answer decoding.

References: HF `BertTokenizerFast` (window ids, type ids and context offsets), the original BERT
`run_squad.py` rules for windows and max context (re-derived here by brute force), and the
exact characters of the original context.
"""
import dataclasses
import json
import re
import unicodedata

import numpy as np
import pytest
import transformers

from tfbert.tasks.squad_data import QAFeatures, decode_squad, encode_squad
from tfbert.tasks.squad_files import SquadExample, examples_from_pairs, read_squad
from tfbert.text import BertTokenizer

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["what", "where", "who", "is", "it", "?", ".", ",", "(", ")", "the", "cafe", "muller",
         "opened", "in", "paris", "by", "ren", "##ee", "and", "her", "brother", "of", "was",
         "capital", "not", "lyon", "un", "##aff", "##able", "indeed", "i", "ate", "pizza",
         "today", "🍕", "❤", "我", "住", "在", "北", "京", "。"]
NUMBERED = [f"w{i}" for i in range(60)]


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(SPECIAL + WORDS + NUMBERED) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tokenizer(vocab_file) -> BertTokenizer:
    return BertTokenizer(vocab_file, lower_case=True)


def example(question: str, context: str, answer: str | None, qid: str = "q") -> SquadExample:
    answers = () if answer is None else ((answer, context.index(answer)),)
    return SquadExample(qid, question, context, answers, answer is None, f"test: {qid}")


def one_hot_logits(features: QAFeatures, window: int, start: int, end: int):
    start_logits = np.zeros(features.input_word_ids.shape, np.float32)
    end_logits = np.zeros_like(start_logits)
    start_logits[window, start] = end_logits[window, end] = 10.0
    return start_logits, end_logits


HARD_CONTEXTS = [
    ("The Café Müller opened in Paris.", "Café Müller"),
    (unicodedata.normalize("NFD", "The Café Müller opened in Paris."),
     unicodedata.normalize("NFD", "Café Müller")),  # combining accents the tokenizer deletes
    ("Renée and her brother opened the café.", "Renée"),
    (unicodedata.normalize("NFD", "Renée and her brother opened the café."),
     unicodedata.normalize("NFD", "the café")),  # ends with a deleted combining accent
    ("The capital is (Paris), not Lyon.", "Paris"),
    ("The capital is (Paris), not Lyon.", "(Paris),"),
    ("I ate 🍕 pizza today.", "🍕 pizza"),
    ("I ate pizza ❤️ today.", "❤️"),  # U+FE0F, deleted by the uncased tokenizer, is kept
    ("我住在北京。", "北京"),
    ("It was unaffable indeed.", "unaffable"),
]


@pytest.mark.parametrize("context, answer", HARD_CONTEXTS)
def test_positions_decode_to_the_exact_original_answer(tokenizer, context, answer):
    examples = [example("What is it?", context, answer)]
    features = encode_squad(examples, tokenizer, seq_length=12, max_query_length=8,
                            doc_stride=2, training=True)
    assert len(features) >= 2
    gold_start, gold_end = context.index(answer), context.index(answer) + len(answer)
    decoded = 0
    for window in range(len(features)):
        start, end = features.start_positions[window], features.end_positions[window]
        context_at = features.token_start[window] >= 0
        has_whole_answer = (features.token_start[window][context_at].min() <= gold_start and
                            features.token_end[window][context_at].max() >= gold_end)
        assert (start > 0) == has_whole_answer, window
        if start == 0:
            assert end == 0
            continue
        # Every window with the answer decodes to it (max context is tested separately).
        every_start = dataclasses.replace(features, max_context=np.ones_like(features.max_context))
        prediction = decode_squad(examples, every_start,
                                  *one_hot_logits(features, window, start, end))["q"]
        assert (prediction.answer, prediction.start, prediction.end) == (answer, gold_start,
                                                                          gold_end)
        assert prediction.score == 20.0
        decoded += 1
    assert decoded >= 1


def long_example(answer: str | None = "w50 w51") -> SquadExample:
    """55 context pieces: with seq_length 32 and a 4-piece question, windows of 25 pieces."""
    context = " ".join(NUMBERED[:54]) + "."
    return example("Where is it?", context, answer, "long")


def piece_index(features: QAFeatures, window: int) -> np.ndarray:
    """Context piece number of each context position of `window` in `long_example`."""
    piece_starts = [match.start() for match in re.finditer(r"w\d+|\.", long_example().context)]
    return np.searchsorted(piece_starts, features.token_start[window][
        features.token_start[window] >= 0])


def test_long_context_windows_start_doc_stride_apart_and_cover_it(tokenizer):
    features = encode_squad([long_example()], tokenizer, seq_length=32, max_query_length=8,
                            doc_stride=10, training=True)
    assert len(features) == 4
    pieces = [piece_index(features, window) for window in range(4)]
    assert [window[0] for window in pieces] == [0, 10, 20, 30]
    for window in pieces:
        np.testing.assert_array_equal(window, np.arange(window[0], window[0] + len(window)))
    assert [len(window) for window in pieces] == [25, 25, 25, 25]
    assert set(np.concatenate(pieces)) == set(range(55))
    # [CLS] where is it ? [SEP] context [SEP], type 1 from the context on, nothing padded here.
    vocab = SPECIAL + WORDS + NUMBERED
    assert [vocab[i] for i in features.input_word_ids[3, :6]] == ["[CLS]", "where", "is", "it",
                                                                  "?", "[SEP]"]
    assert [vocab[i] for i in features.input_word_ids[3, -3:]] == ["w53", ".", "[SEP]"]
    np.testing.assert_array_equal(features.input_type_ids, np.repeat([[0] * 6 + [1] * 26], 4, 0))
    np.testing.assert_array_equal(features.input_mask, 1)
    # "w50 w51" (pieces 50, 51) is whole only in the last window (pieces 30..54).
    np.testing.assert_array_equal(features.start_positions, [0, 0, 0, 6 + 20])
    np.testing.assert_array_equal(features.end_positions, [0, 0, 0, 6 + 21])
    prediction = decode_squad([long_example()], features, *one_hot_logits(features, 3, 26, 27))
    assert prediction["long"].answer == "w50 w51"


def test_a_stride_longer_than_the_window_leaves_no_gap(tokenizer):
    features = encode_squad([long_example()], tokenizer, seq_length=32, max_query_length=8,
                            doc_stride=100, training=False)
    assert [piece_index(features, window)[0] for window in range(len(features))] == [0, 25, 50]
    assert features.start_positions is None and features.end_positions is None
    assert piece_index(features, 2).tolist() == [50, 51, 52, 53, 54]
    np.testing.assert_array_equal(features.input_word_ids[2, 12:], 0)  # padding
    np.testing.assert_array_equal(features.input_mask[2], [1] * 12 + [0] * 20)


def test_max_context_is_the_window_with_most_context_on_both_sides(tokenizer):
    features = encode_squad([long_example()], tokenizer, seq_length=32, max_query_length=8,
                            doc_stride=10, training=False)
    windows = [piece_index(features, window) for window in range(len(features))]
    best = {}
    for window, pieces in enumerate(windows):
        for position, piece in enumerate(pieces):
            context = min(position, len(pieces) - 1 - position)
            if piece not in best or context > best[piece][0]:
                best[piece] = (context, window)
    for window, pieces in enumerate(windows):
        expected = [best[piece][1] == window for piece in pieces]
        assert features.max_context[window][features.token_start[window] >= 0].tolist() == expected
        assert not features.max_context[window][features.token_start[window] < 0].any()
    assert sorted(best) == list(range(55))


def brute_force_decode(features: QAFeatures, start_logits, end_logits, max_answer_length):
    """Best span over every (start, end) pair of every window, without top-n pruning."""
    best = (-np.inf, None)
    for window in range(len(features)):
        for start in range(features.input_word_ids.shape[1]):
            if features.token_start[window, start] < 0 or not features.max_context[window, start]:
                continue
            for end in range(start, start + max_answer_length):
                if end < features.input_word_ids.shape[1] and features.token_end[window, end] >= 0:
                    score = float(start_logits[window, start] + end_logits[window, end])
                    if score > best[0]:
                        best = (score, (features.token_start[window, start],
                                        features.token_end[window, end]))
    null = min(float(start_logits[w, 0] + end_logits[w, 0]) for w in range(len(features)))
    return best, null


@pytest.mark.parametrize("max_answer_length", [1, 3, 30])
def test_decoder_finds_the_best_valid_span_over_all_windows(tokenizer, max_answer_length):
    examples = [long_example()]
    features = encode_squad(examples, tokenizer, seq_length=32, max_query_length=8,
                            doc_stride=10, training=False)
    rng = np.random.default_rng(max_answer_length)
    for _ in range(5):
        start_logits, end_logits = rng.normal(size=(2, *features.input_word_ids.shape))
        (score, span), null = brute_force_decode(features, start_logits, end_logits,
                                                 max_answer_length)
        prediction = decode_squad(examples, features, start_logits, end_logits,
                                  max_answer_length=max_answer_length, n_best=32)["long"]
        assert (prediction.start, prediction.end) == span
        assert prediction.answer == examples[0].context[span[0]:span[1]]
        assert len(prediction.answer.split()) <= max_answer_length
        assert prediction.score == pytest.approx(score, abs=1e-5)
        assert prediction.null_score_diff == pytest.approx(null - score, abs=1e-5)


def test_max_answer_length_rejects_a_longer_best_span(tokenizer):
    examples = [long_example()]
    features = encode_squad(examples, tokenizer, seq_length=32, max_query_length=8,
                            doc_stride=10, training=False)
    start_logits, end_logits = one_hot_logits(features, 0, 6 + 5, 6 + 15)  # w5 .. w15
    end_logits[0, 6 + 7] = 5.0  # the best end within 5 pieces of w5
    assert decode_squad(examples, features, start_logits, end_logits)["long"].answer == \
        " ".join(NUMBERED[5:16])
    short = decode_squad(examples, features, start_logits, end_logits, max_answer_length=5)
    assert short["long"].answer == "w5 w6 w7"


def test_unanswerable_questions_and_the_null_threshold(tokenizer):
    examples = [long_example(None)]
    features = encode_squad(examples, tokenizer, seq_length=32, max_query_length=8,
                            doc_stride=10, training=True)
    np.testing.assert_array_equal(features.start_positions, 0)
    np.testing.assert_array_equal(features.end_positions, 0)
    start_logits, end_logits = one_hot_logits(features, 2, 6 + 12, 6 + 13)  # span score 20
    start_logits[:, 0] = [9.0, 4.0, 8.0, 7.0]
    end_logits[:, 0] = [2.0, 3.0, 1.0, 3.0]  # null score: min of 11, 7, 9, 10 = 7
    v1 = decode_squad(examples, features, start_logits, end_logits)["long"]
    assert (v1.answer, v1.score, v1.null_score_diff) == ("w32 w33", 20.0, 7.0 - 20.0)
    for threshold, answer in ((-12.5, "w32 w33"), (-13.5, "")):
        v2 = decode_squad(examples, features, start_logits, end_logits,
                          null_threshold=threshold)["long"]
        assert v2.answer == answer and v2.null_score_diff == -13.0
    assert (v2.start, v2.end, v2.score) == (-1, -1, 7.0)
    # With n_best=1, each window's best start is after its best end: no valid span.
    start_logits = np.tile(np.arange(32.0), (4, 1))
    end_logits = -start_logits
    none = decode_squad(examples, features, start_logits, end_logits, n_best=1)["long"]
    assert (none.answer, none.start, none.end, none.null_score_diff) == ("", -1, -1, np.inf)


HF_CONTEXT = ("The café of Müller was opened in Paris by Renée and her brother. "
              "Renée, her brother and the café of Müller: Paris. ")


@pytest.mark.parametrize("repeats, seq_length, doc_stride", [
    (1, 64, 128), (3, 24, 5), (4, 32, 8), (5, 40, 16), (2, 26, 17)])
def test_windows_match_hf_overflowing_tokens(vocab_file, tokenizer, repeats, seq_length,
                                             doc_stride):
    question = "Who opened the café?"
    context = (HF_CONTEXT * repeats).strip()
    hf = transformers.BertTokenizerFast(vocab_file, do_lower_case=True)
    question_length = len(hf(question, add_special_tokens=False)["input_ids"])
    room = seq_length - question_length - 3
    # HF's `stride` is the overlap of consecutive windows; original BERT's doc_stride the step.
    hf_windows = hf(question, context, truncation="only_second", max_length=seq_length,
                    stride=max(room - doc_stride, 0), return_overflowing_tokens=True,
                    return_offsets_mapping=True, padding="max_length")
    features = encode_squad(examples_from_pairs([question], [context]), tokenizer,
                            seq_length=seq_length, max_query_length=16, doc_stride=doc_stride,
                            training=False)
    np.testing.assert_array_equal(features.input_word_ids, hf_windows["input_ids"])
    np.testing.assert_array_equal(features.input_type_ids, hf_windows["token_type_ids"])
    np.testing.assert_array_equal(features.input_mask, hf_windows["attention_mask"])
    for window in range(len(features)):
        in_context = np.array(hf_windows.sequence_ids(window)) == 1
        offsets = np.where(in_context[:, None], hf_windows["offset_mapping"][window], -1)
        np.testing.assert_array_equal(features.token_start[window], offsets[:, 0])
        np.testing.assert_array_equal(features.token_end[window], offsets[:, 1])


def test_question_keeps_its_first_max_query_length_pieces(vocab_file, tokenizer):
    question = "Who opened the café of Müller in Paris?"
    features = encode_squad(examples_from_pairs([question], ["In Paris."]), tokenizer,
                            seq_length=16, max_query_length=4, training=False)
    hf = transformers.BertTokenizerFast(vocab_file, do_lower_case=True)
    question_ids = hf(question, add_special_tokens=False)["input_ids"]
    expected = [hf.cls_token_id, *question_ids[:4], hf.sep_token_id,
                *hf("In Paris.", add_special_tokens=False)["input_ids"], hf.sep_token_id]
    assert features.input_word_ids[0, :len(expected)].tolist() == expected
    assert features.input_type_ids[0].tolist() == [0] * 6 + [1] * 4 + [0] * 6


def test_predict_input_and_several_examples_share_contexts(tokenizer):
    contexts = ["In Paris.", "我住在北京。", "In Paris.", ""]
    examples = examples_from_pairs(["Where?"] * 4, contexts)
    assert [e.id for e in examples] == ["0", "1", "2", "3"]
    features = encode_squad(examples, tokenizer, seq_length=10, max_query_length=4,
                            doc_stride=2, training=False)
    assert features.example_index.tolist() == [0, 1, 1, 2, 3]  # 6 CJK pieces: two windows
    logits = np.where(features.token_start >= 0, 1.0, 0.0)
    predictions = decode_squad(examples, features, logits, logits, max_answer_length=2)
    # Ties go to the first span; the empty context has no span.
    assert [predictions[str(i)].answer for i in range(4)] == ["In", "我", "In", ""]
    with pytest.raises(ValueError, match="same length; got 2 questions and 1 contexts"):
        examples_from_pairs(["a", "b"], ["c"])
    with pytest.raises(ValueError, match=r"`start_logits` must have the features' shape"):
        decode_squad(examples, features, logits[:, :5], logits)
    with pytest.raises(ValueError, match="seq_length >= max_query_length \\+ 4"):
        encode_squad(examples, tokenizer, seq_length=8, max_query_length=5, training=False)


# --- reading SQuAD files --------------------------------------------------------------------

def squad(*qas, context="In Paris, in 1950.", version="v2.0") -> dict:
    return {"version": version, "data": [{"title": "T", "paragraphs": [
        {"context": context, "qas": list(qas)}]}]}


def qa(qid="q1", answers=(("Paris", 3),), **extra) -> dict:
    return {"id": qid, "question": "Where?", **extra,
            "answers": [{"text": text, "answer_start": start} for text, start in answers]}


def write(tmp_path, data, name="train.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_read_squad_v1_and_v2(tmp_path):
    v1 = squad(qa("a", [("Paris", 3), ("Paris, in 1950", 3), ("1950", 13)]), version="1.1")
    dataset, examples = read_squad(write(tmp_path, v1, "dev-v1.1.json"))
    assert dataset == v1
    assert examples == [SquadExample("a", "Where?", "In Paris, in 1950.",
                                     (("Paris", 3), ("Paris, in 1950", 3), ("1950", 13)), False,
                                     f"{tmp_path / 'dev-v1.1.json'}: question id a")]
    v2 = squad(qa("a", is_impossible=False),
               qa("b", (), is_impossible=True, plausible_answers=[{"text": "x",
                                                                   "answer_start": 0}]))
    _, examples = read_squad(write(tmp_path, v2), training=True)
    assert [(e.id, e.answers, e.is_impossible) for e in examples] == [
        ("a", (("Paris", 3),), False), ("b", (), True)]


@pytest.mark.parametrize("data, message", [
    ('{"data": [', r"train.json:1:11: not valid JSON"),
    ({"version": "1.1"}, r"train.json: the file: missing 'data'"),
    ({"data": [{"title": "T"}]}, r"train.json: data\[0\]: missing 'paragraphs'"),
    ({"data": [{"paragraphs": [{"qas": [qa("q7")]}]}]},
     r"train.json: data\[0\].paragraphs\[0\] \(question id q7\): missing 'context'"),
    ({"data": [{"paragraphs": [{"context": "x"}]}]},
     r"train.json: data\[0\].paragraphs\[0\]: missing 'qas'"),
    (squad({"question": "Where?", "answers": []}),
     r"train.json: data\[0\].paragraphs\[0\].qas\[0\]: missing 'id'"),
    (squad({"id": "q9", "answers": []}), r"train.json: question id q9: missing 'question'"),
    (squad(qa("q2", [("Paris", 4)])),
     r"train.json: question id q2: answers\[0\] does not match the context: the text is "
     r"'Paris' but context\[4:9\] is 'aris,'"),
    (squad(qa("q3", [("Paris", "3")])),
     r"question id q3: answers\[0\]: 'answer_start' must be a JSON integer; got string '3'"),
    (squad(qa("q4"), qa("q4")), r"train.json: question id q4: the id is repeated"),
    (squad(qa("q5", ())), r"train.json: question id q5: an answerable question .* needs an "
                          r"answer to train on"),
    (squad(qa("q6", is_impossible=True)),
     r"train.json: question id q6: the question is marked is_impossible but lists 1 answer"),
])
def test_read_squad_errors_name_the_file_and_question(tmp_path, data, message):
    with pytest.raises(ValueError, match=message):
        read_squad(write(tmp_path, data), training=True)


def test_dev_files_may_have_questions_without_answers_but_not_to_train(tmp_path, tokenizer):
    _, examples = read_squad(write(tmp_path, squad(qa("q5", ())), "test.json"))
    assert examples[0].answers == ()
    assert encode_squad(examples, tokenizer, training=False).start_positions is None
    with pytest.raises(ValueError, match="test.json: question id q5: an answerable question"):
        encode_squad(examples, tokenizer, training=True)


def test_an_answer_of_deleted_characters_cannot_be_a_target(tokenizer):
    examples = [example("What?", "In \u200b Paris.", "\u200b", "zw")]
    message = "test: zw: the answer '\\u200b' at 3 covers no token"
    with pytest.raises(ValueError, match=re.escape(message)):
        encode_squad(examples, tokenizer, training=True)
