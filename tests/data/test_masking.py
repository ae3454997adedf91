"""`DynamicMasker`: original BERT's masking rules, checked exactly where they are exact and
statistically (over more than 100,000 masked tokens) where they are random."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfbert.data import DynamicMasker, pretraining_dataset
from tfbert.text import load_vocab, special_token_ids

SEQ_LENGTH, PREDICTIONS = 128, 20
MIN_MASKED = 100_000
RATE_TOLERANCE = 0.01  # on shares near 0.8 / 0.1 over >= 100,000 tokens: about 8 standard errors


@pytest.fixture(scope="module")
def vocabulary(vocab_file) -> list[str]:
    return load_vocab(vocab_file)


@pytest.fixture(scope="module")
def ids(vocabulary) -> dict[str, int]:
    return special_token_ids(vocabulary)


def collect(corpus_files, vocab_file, whole_word_masking: bool) -> dict[str, np.ndarray]:
    """Batches from the docstring corpus until they hold at least MIN_MASKED masked tokens."""
    dataset = pretraining_dataset(
        corpus_files, vocab_file, seq_length=SEQ_LENGTH, max_predictions_per_seq=PREDICTIONS,
        batch_size=64, whole_word_masking=whole_word_masking, seed=3)
    batches, masked = [], 0
    for batch in dataset:
        batches.append({name: value.numpy() for name, value in batch.items()})
        masked += int(batch["masked_lm_weights"].numpy().sum())
        if masked >= MIN_MASKED:
            break
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


@pytest.fixture(scope="module")
def token_masked(corpus_files, vocab_file):
    return collect(corpus_files, vocab_file, whole_word_masking=False)


@pytest.fixture(scope="module")
def word_masked(corpus_files, vocab_file):
    return collect(corpus_files, vocab_file, whole_word_masking=True)


def original_ids(features) -> np.ndarray:
    """The unmasked ids: the masked-LM labels put back at their positions."""
    word_ids = features["input_word_ids"].copy()
    rows, slots = np.nonzero(features["masked_lm_weights"])
    positions = features["masked_lm_positions"][rows, slots]
    word_ids[rows, positions] = features["masked_lm_ids"][rows, slots]
    return word_ids


def expected_count(num_tokens: np.ndarray) -> np.ndarray:
    """min(P, max(1, round(0.15 · n))) with Python's round, as the original."""
    return np.array([min(PREDICTIONS, max(1, int(round(n * 0.15)))) for n in num_tokens])


def test_number_of_predictions_is_exactly_the_original(token_masked):
    weights = token_masked["masked_lm_weights"]
    assert weights.sum() >= MIN_MASKED
    counts = weights.sum(axis=1).astype(int)
    np.testing.assert_array_equal(counts, expected_count(token_masked["input_mask"].sum(axis=1)))
    # Measured masking rate over the tokens the formula lets us predict.
    assert abs(weights.sum() / token_masked["input_mask"].sum() - 0.15) < RATE_TOLERANCE


def test_unused_slots_are_zero_and_used_slots_sorted(token_masked):
    weights = token_masked["masked_lm_weights"]
    used = weights > 0
    counts = used.sum(axis=1)
    assert (used == (np.arange(PREDICTIONS)[None, :] < counts[:, None])).all()  # a prefix
    assert set(np.unique(weights).tolist()) <= {0.0, 1.0}
    assert (token_masked["masked_lm_positions"][~used] == 0).all()
    assert (token_masked["masked_lm_ids"][~used] == 0).all()
    positions = np.where(used, token_masked["masked_lm_positions"], SEQ_LENGTH)
    assert (np.diff(positions, axis=1) > 0)[used[:, 1:]].all()  # strictly increasing


def test_positions_are_never_special_or_padding(token_masked, ids):
    used = token_masked["masked_lm_weights"] > 0
    rows = np.nonzero(used)[0]
    positions = token_masked["masked_lm_positions"][used]
    assert (positions < token_masked["input_mask"].sum(axis=1)[rows]).all()
    labels = original_ids(token_masked)[rows, positions]
    assert not np.isin(labels, [ids["[CLS]"], ids["[SEP]"], ids["[PAD]"]]).any()
    np.testing.assert_array_equal(labels, token_masked["masked_lm_ids"][used])


def test_replacement_is_80_10_10(token_masked, ids, vocabulary):
    used = token_masked["masked_lm_weights"] > 0
    rows = np.nonzero(used)[0]
    now = token_masked["input_word_ids"][rows, token_masked["masked_lm_positions"][used]]
    labels = token_masked["masked_lm_ids"][used]
    is_mask = now == ids["[MASK]"]
    unchanged = now == labels
    random = ~is_mask & ~unchanged
    share = len(labels)
    assert abs(is_mask.sum() / share - 0.8) < RATE_TOLERANCE
    assert abs(unchanged.sum() / share - 0.1) < RATE_TOLERANCE
    assert abs(random.sum() / share - 0.1) < RATE_TOLERANCE
    # Random tokens are uniform over the whole vocabulary: mean and spread of a uniform.
    replaced = now[random]
    size = len(vocabulary)
    assert abs(replaced.mean() / (size - 1) - 0.5) < 0.02
    assert replaced.min() < 0.02 * size and replaced.max() > 0.98 * size


def test_tokens_not_predicted_are_unchanged(ids):
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(45)]
    masker = DynamicMasker(vocabulary, max_predictions_per_seq=8)
    word_ids = np.random.default_rng(0).integers(5, 50, (64, 40)).astype("int32")
    word_ids[:, 0], word_ids[:, 39] = 2, 3
    features = {"input_word_ids": tf.constant(word_ids), "input_mask": tf.ones_like(word_ids)}
    masked = masker(features, tf.constant([1, 1], tf.int64))
    selected = np.zeros_like(word_ids, bool)
    weights = masked["masked_lm_weights"].numpy() > 0
    selected[np.nonzero(weights)[0], masked["masked_lm_positions"].numpy()[weights]] = True
    np.testing.assert_array_equal(masked["input_word_ids"].numpy()[~selected], word_ids[~selected])


@pytest.mark.parametrize("length", range(3, 41))
def test_rounding_halves_to_even_like_python(length):
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]
    masker = DynamicMasker(vocabulary, max_predictions_per_seq=40)
    word_ids = tf.constant([[2] + [5] * (length - 2) + [3] + [0] * (40 - length)])
    mask = tf.cast(word_ids > 0, tf.int32)
    masked = masker({"input_word_ids": word_ids, "input_mask": mask}, tf.constant([0, 0], tf.int64))
    assert masked["masked_lm_weights"].numpy().sum() == max(1, round(length * 0.15))


def words(word_ids: np.ndarray, mask: np.ndarray, is_piece: np.ndarray, special: list[int]):
    """(row, [positions]) of every word: a non-special token and the "##" pieces after it."""
    found = []
    for row in range(len(word_ids)):
        current = None
        for position in range(int(mask[row].sum())):
            token = word_ids[row, position]
            if token in special:
                current = None
            elif is_piece[token] and current is not None:
                current.append(position)
            else:
                current = [position]
                found.append((row, current))
    return found


def test_whole_word_masking_never_splits_a_word(word_masked, vocabulary, ids):
    weights = word_masked["masked_lm_weights"]
    assert weights.sum() >= MIN_MASKED
    unmasked = original_ids(word_masked)
    is_piece = np.array([token.startswith("##") for token in vocabulary])
    special = [ids["[CLS]"], ids["[SEP]"], ids["[PAD]"]]
    selected = np.zeros_like(unmasked, bool)
    used = weights > 0
    selected[np.nonzero(used)[0], word_masked["masked_lm_positions"][used]] = True
    all_words = words(unmasked, word_masked["input_mask"], is_piece, special)
    multi_piece = 0
    for row, positions in all_words:
        chosen = selected[row, positions]
        assert chosen.all() or not chosen.any(), (row, positions)
        multi_piece += len(positions) > 1 and chosen.all()
    assert multi_piece > 1000  # the test saw many chosen multi-piece words
    # Words that would overflow are skipped, so the count never exceeds the original's budget
    # and falls short only by less than a word.
    budget = expected_count(word_masked["input_mask"].sum(axis=1))
    counts = weights.sum(axis=1)
    longest = max(len(positions) for _, positions in all_words)
    assert (counts <= budget).all() and (counts > budget - longest).all()
    assert abs(counts.sum() / budget.sum() - 1) < 0.02


def test_whole_words_get_one_replacement_choice_per_token(word_masked, ids):
    """As the original, each token of a chosen word draws its own 80/10/10 action."""
    used = word_masked["masked_lm_weights"] > 0
    rows = np.nonzero(used)[0]
    now = word_masked["input_word_ids"][rows, word_masked["masked_lm_positions"][used]]
    assert abs((now == ids["[MASK]"]).mean() - 0.8) < RATE_TOLERANCE


def test_different_seeds_give_different_masks(vocabulary):
    masker = DynamicMasker(vocabulary, max_predictions_per_seq=PREDICTIONS)
    word_ids = np.random.default_rng(0).integers(200, 900, (8, SEQ_LENGTH)).astype("int32")
    word_ids[:, 0], word_ids[:, -1] = 101, 102
    features = {"input_word_ids": tf.constant(word_ids), "input_mask": tf.ones_like(word_ids)}

    def positions(seed):
        return masker(features, tf.constant(seed, tf.int64))["masked_lm_positions"].numpy()

    np.testing.assert_array_equal(positions([4, 2]), positions([4, 2]))
    assert (positions([4, 2]) != positions([4, 3])).any()


def test_arguments_are_checked(vocabulary):
    with pytest.raises(ValueError, match="max_predictions_per_seq"):
        DynamicMasker(vocabulary, max_predictions_per_seq=0)
    with pytest.raises(ValueError, match="masking_rate"):
        DynamicMasker(vocabulary, max_predictions_per_seq=5, masking_rate=0.0)
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        DynamicMasker(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], max_predictions_per_seq=5)
