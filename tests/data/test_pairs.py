"""`ExampleSampler`: packing rules, and pair statistics against original BERT's own code."""
from __future__ import annotations

import random

import numpy as np
import pytest
import tensorflow as tf
from official.nlp.data import create_pretraining_data as original

from tfbert.data import ExampleSampler
from tfbert.text import BertTokenizer

SPECIAL = {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2}
PASSES = 16  # passes over the docstring corpus for the statistics (original: dupe_factor)


def seed(n: int) -> tf.Tensor:
    return tf.constant([n, 0], tf.int64)


def numpy_examples(sampler, documents, seed_value=0):
    return {name: value.numpy() for name, value in sampler(documents, seed(seed_value)).items()}


@pytest.fixture(scope="module")
def token_documents(documents, vocab_file) -> list[list[list[int]]]:
    """The docstring corpus tokenized by tfbert (ids per sentence per document)."""
    tokenizer = BertTokenizer(vocab_file)
    ids = tokenizer(tf.constant([s for doc in documents for s in doc])).to_list()
    result, start = [], 0
    for doc in documents:
        result.append([sentence for sentence in ids[start:start + len(doc)] if sentence])
        start += len(doc)
    return [doc for doc in result if doc]


def segments(features):
    """(A ids, B ids) of each example, from the packed features."""
    pairs = []
    for ids, types, mask in zip(features["input_word_ids"], features["input_type_ids"],
                                features["input_mask"]):
        length = int(mask.sum())
        a_end = int(np.argmax(types[:length])) if types[:length].any() else length
        pairs.append((ids[1:a_end - 1].tolist(), ids[a_end:length - 1].tolist()))
    return pairs


def test_packing_layout():
    sampler = ExampleSampler(12, SPECIAL, short_seq_prob=0.0)
    documents = tf.ragged.constant([[[10, 11], [12], [13, 14, 15]], [[20, 21], [22]]])
    features = numpy_examples(sampler, documents)
    for ids, types, mask in zip(features["input_word_ids"], features["input_type_ids"],
                                features["input_mask"]):
        length = int(mask.sum())
        assert mask.tolist() == [1] * length + [0] * (12 - length)
        assert ids[0] == 1 and ids[length - 1] == 2 and (ids[length:] == 0).all()
        assert (ids[1:length - 1] == 2).sum() == 1  # one [SEP] between A and B
        a_end = int(np.argmax(types))
        assert ids[a_end - 1] == 2
        assert types.tolist() == [0] * a_end + [1] * (length - a_end) + [0] * (12 - length)
    assert features["next_sentence_labels"].shape == (len(features["input_word_ids"]), 1)


def test_actual_next_is_the_rest_of_the_chunk(token_documents):
    """A and a non-random B are consecutive text of one document (when nothing was cut)."""
    sampler = ExampleSampler(64, SPECIAL)
    documents = tf.ragged.constant(token_documents)
    texts = [" " + " ".join(str(t) for s in doc for t in s) + " " for doc in token_documents]
    features = numpy_examples(sampler, documents)
    labels = features["next_sentence_labels"][:, 0]
    checked = 0
    for (a, b), label in zip(segments(features), labels):
        if label == 0 and len(a) + len(b) < 64 - 3:
            joined = " " + " ".join(str(t) for t in a + b) + " "
            assert any(joined in text for text in texts)
            checked += 1
    assert checked > 20


def test_single_segment_fills_from_consecutive_sentences(token_documents):
    sampler = ExampleSampler(64, SPECIAL, short_seq_prob=0.0, next_sentence=False)
    features = numpy_examples(sampler, tf.ragged.constant(token_documents[:100]))
    assert not features["input_type_ids"].any() and not features["next_sentence_labels"].any()
    mask = features["input_mask"]
    # Every token of every document is used exactly once, except what truncation cut.
    total = sum(len(s) for doc in token_documents[:100] for s in doc)
    assert mask.sum() - 2 * len(mask) <= total
    assert (mask.sum(axis=1) <= 64).all()
    assert (features["input_word_ids"][:, 0] == 1).all()


def test_empty_sentences_and_documents_are_ignored():
    sampler = ExampleSampler(8, SPECIAL)
    documents = tf.ragged.constant([[[], [5]], [], [[], []], [[6, 7], [8]]], ragged_rank=2)
    features = numpy_examples(sampler, documents)
    ids = features["input_word_ids"]
    assert len(ids) >= 2 and set(ids[features["input_mask"] > 0].tolist()) <= {1, 2, 5, 6, 7, 8}


def test_a_pool_without_tokens_gives_no_examples():
    sampler = ExampleSampler(8, SPECIAL)
    features = sampler(tf.ragged.constant([[[]]], dtype=tf.int32, ragged_rank=2), seed(0))
    assert features["input_word_ids"].shape.as_list() == [0, 8]


def test_long_sentences_are_truncated_from_both_ends():
    sampler = ExampleSampler(10, SPECIAL, short_seq_prob=0.0, next_sentence=False)
    document = tf.ragged.constant([[list(range(100, 150))]])
    sample = tf.function(sampler)
    firsts = {int(sample(document, seed(n))["input_word_ids"][0, 1]) for n in range(20)}
    assert len(firsts) > 5  # cuts at the front vary: binomial, centred on the middle
    for n in range(5):
        ids = numpy_examples(sampler, document, n)["input_word_ids"][0]
        assert ids[9] == 2 and np.all(np.diff(ids[1:9]) == 1)  # 8 consecutive tokens


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="seq_length"):
        ExampleSampler(4, SPECIAL)
    with pytest.raises(ValueError, match="short_seq_prob"):
        ExampleSampler(16, SPECIAL, short_seq_prob=1.5)


def _original_statistics(token_documents, seq_length):
    """Pair statistics of original BERT's `create_instances_from_document` (Model Garden copy)."""
    documents = [[[str(t) for t in s] for s in doc] for doc in token_documents]
    rng = random.Random(0)
    a_lengths, b_lengths, labels = [], [], []
    for _ in range(PASSES):
        for index in range(len(documents)):
            for instance in original.create_instances_from_document(
                    documents, index, seq_length, 0.1, 0.15, 20, ["x"], rng):
                types = instance.segment_ids
                a_lengths.append(types.count(0) - 2)
                b_lengths.append(types.count(1) - 1)
                labels.append(int(instance.is_random_next))
    return np.array(a_lengths), np.array(b_lengths), np.array(labels)


def _our_statistics(token_documents, seq_length):
    sampler = tf.function(ExampleSampler(seq_length, SPECIAL))
    documents = tf.ragged.constant(token_documents)
    a_lengths, b_lengths, labels = [], [], []
    for n in range(PASSES):
        features = {name: value.numpy() for name, value in sampler(documents, seed(n)).items()}
        for a, b in segments(features):
            a_lengths.append(len(a))
            b_lengths.append(len(b))
        labels.extend(features["next_sentence_labels"][:, 0].tolist())
    return np.array(a_lengths), np.array(b_lengths), np.array(labels)


@pytest.mark.parametrize("seq_length", [pytest.param(32, marks=pytest.mark.slow), 128])
def test_pair_statistics_match_original_bert(token_documents, seq_length):
    """Examples per pass, next-sentence rate, segment and total lengths agree with the original
    code run on the same tokenized documents (its random B comes from any document; ours from
    the pool, here the whole corpus)."""
    ours = _our_statistics(token_documents, seq_length)
    reference = _original_statistics(token_documents, seq_length)
    count, reference_count = len(ours[0]), len(reference[0])
    assert abs(count / reference_count - 1) < 0.03, (count, reference_count)
    assert abs(ours[2].mean() - reference[2].mean()) < 0.02  # next-sentence labels
    for mine, theirs in zip(ours[:2], reference[:2]):  # A and B lengths
        assert abs(mine.mean() / theirs.mean() - 1) < 0.04, (mine.mean(), theirs.mean())
    total, reference_total = ours[0] + ours[1], reference[0] + reference[1]
    assert abs(total.mean() / reference_total.mean() - 1) < 0.03
    full = seq_length - 3
    assert abs((total == full).mean() - (reference_total == full).mean()) < 0.03
    assert total.max() <= full and ours[0].min() >= 1 and ours[1].min() >= 1


def test_next_sentence_labels_are_balanced():
    """With chunks that are never a single sentence, half the Bs are random (tolerance 0.02
    over more than 10,000 examples; the standard error is about 0.005)."""
    rng = np.random.default_rng(0)
    documents = tf.ragged.constant(
        [[rng.integers(10, 1000, 3).tolist() for _ in range(200)] for _ in range(100)])
    sampler = tf.function(ExampleSampler(128, SPECIAL, short_seq_prob=0.0))
    labels = np.concatenate([sampler(documents, seed(n))["next_sentence_labels"].numpy()[:, 0]
                             for n in range(16)])
    assert len(labels) > 10_000
    assert abs(labels.mean() - 0.5) < 0.02, labels.mean()
