"""`DynamicMasker`: original BERT's masked-LM masking, for a batch, in the graph.

Per sequence, as in the original `create_masked_lm_predictions`:

- It predicts `min(max_predictions_per_seq, max(1, round(masking_rate × n)))` tokens, n counting
  [CLS] and [SEP] (`round` halves to even, like Python 3's).
- Candidates are all tokens but [CLS], [SEP] and padding. They are visited in random order and
  taken while they fit in the budget. With whole-word masking a candidate is a whole word (a
  token and the "##" pieces after it, or the characters of a Chinese word given as
  `continues_word`); a word that would overflow the budget is skipped, not cut.
- Each chosen token independently becomes [MASK] (80%), a random token (10%; uniform over the
  whole vocabulary, special tokens included, as the original) or stays itself (10%).
- `masked_lm_positions` are sorted; unused slots have position 0, id 0 and weight 0.

One deliberate difference: the original let a "##" piece that starts a segment (possible after
truncation from the front) join the last word before the [SEP]; here words never span a special
token.

>>> masker = DynamicMasker(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##c"],
...                        max_predictions_per_seq=2, masking_rate=0.5, whole_word_masking=True)
>>> features = {"input_word_ids": tf.constant([[2, 5, 6, 7, 3, 0]]),
...             "input_mask": tf.constant([[1, 1, 1, 1, 1, 0]])}
>>> masked = masker(features, seed=tf.constant([0, 7], tf.int64))
>>> masked["masked_lm_positions"].numpy().tolist(), masked["masked_lm_ids"].numpy().tolist()
([[2, 3]], [[6, 7]])
"""
from __future__ import annotations

import tensorflow as tf

from tfbert.data.seeds import fold
from tfbert.text.vocab import CLS, MASK, PAD, SEP, special_token_ids

MASKED_FEATURES = ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights")
REPLACE_WITH_MASK = 0.8  # then half of the rest random, half unchanged


class DynamicMasker:
    """Masks `input_word_ids` and adds the `masked_lm_*` features.

    Args:
        vocabulary: the WordPiece tokens, by id; must hold the special tokens.
        max_predictions_per_seq: P, the number of prediction slots per sequence.
        masking_rate: the share of tokens to predict (0.15 as original).
        whole_word_masking: choose whole words instead of single tokens.
    """

    def __init__(
        self,
        vocabulary: list[str],
        *,
        max_predictions_per_seq: int,
        masking_rate: float = 0.15,
        whole_word_masking: bool = False,
    ):
        if not isinstance(max_predictions_per_seq, int) or max_predictions_per_seq < 1:
            raise ValueError(
                "`max_predictions_per_seq` must be a positive int; "
                f"got {max_predictions_per_seq!r}"
            )
        if not 0.0 < masking_rate <= 1.0:
            raise ValueError(f"`masking_rate` must be in (0, 1]; got {masking_rate!r}")
        ids = special_token_ids(vocabulary)
        self.max_predictions_per_seq = max_predictions_per_seq
        self.masking_rate = float(masking_rate)
        self.whole_word_masking = bool(whole_word_masking)
        self.vocab_size = len(vocabulary)
        self.unmaskable = (ids[CLS], ids[SEP], ids[PAD])
        self.mask_id = ids[MASK]
        self._is_piece = tf.constant([token.startswith("##") for token in vocabulary])

    @tf.autograph.experimental.do_not_convert  # plain TF ops; skip autograph's slow tracing
    def __call__(self, features: dict[str, tf.Tensor], seed: tf.Tensor,
                 continues_word: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """`features` with masked `input_word_ids` and the three `masked_lm_*` [B, P] features.

        Needs `input_word_ids` and `input_mask` (int32 [B, T]); `seed` is int64 [2]. With
        whole-word masking, `continues_word` (bool [B, T], e.g. Chinese words from
        `tfbert.data.word_boundaries`) marks more tokens that belong to the word before them,
        besides "##" pieces.
        """
        word_ids = features["input_word_ids"]  # [B, T]
        in_sequence = features["input_mask"] > 0
        candidate = in_sequence
        for special in self.unmaskable:
            candidate &= word_ids != special
        selected = self._select(
            word_ids, candidate, in_sequence, fold(seed, 0), continues_word)  # [B, T]

        action = tf.random.stateless_uniform(tf.shape(word_ids), fold(seed, 1))
        keep = tf.random.stateless_uniform(tf.shape(word_ids), fold(seed, 2)) < 0.5
        random_ids = tf.random.stateless_uniform(
            tf.shape(word_ids), fold(seed, 3), maxval=self.vocab_size, dtype=tf.int32)
        replaced = tf.where(keep, word_ids, tf.cast(random_ids, word_ids.dtype))
        replaced = tf.where(action < REPLACE_WITH_MASK, self.mask_id, replaced)
        masked_ids = tf.where(selected, replaced, word_ids)

        where = tf.where(selected)  # [M, 2], row-major: positions sorted within each row
        shape = [word_ids.shape[0], self.max_predictions_per_seq]
        rows, nrows = where[:, 0], tf.shape(word_ids, out_type=tf.int64)[0]

        def slots(values, dtype):  # [M] -> [B, P], zero-padded
            ragged = tf.RaggedTensor.from_value_rowids(tf.cast(values, dtype), rows, nrows)
            return ragged.to_tensor(0, shape=shape)

        return {
            **features,
            "input_word_ids": masked_ids,
            "masked_lm_positions": slots(where[:, 1], tf.int32),
            "masked_lm_ids": slots(tf.gather_nd(word_ids, where), tf.int32),
            "masked_lm_weights": slots(tf.ones_like(rows), tf.float32),
        }

    def _select(self, word_ids, candidate, in_sequence, seed, continues_word) -> tf.Tensor:
        """Which positions to predict (bool [B, T])."""
        length = word_ids.shape[1] or tf.shape(word_ids)[1]
        starts_word = candidate
        if self.whole_word_masking:
            after_candidate = tf.pad(candidate[:, :-1], [[0, 0], [1, 0]])
            continues = tf.gather(self._is_piece, word_ids)
            if continues_word is not None:
                continues |= tf.cast(continues_word, tf.bool)
            starts_word &= ~(continues & after_candidate)
        # Word k of a row occupies slot k; slot `length` collects the non-candidates.
        slot = tf.where(candidate, tf.cumsum(tf.cast(starts_word, tf.int32), axis=1) - 1, length)
        batch = tf.shape(word_ids)[0]
        flat_slot = slot + tf.range(batch)[:, None] * (length + 1)
        sizes = tf.math.unsorted_segment_sum(
            tf.ones_like(flat_slot), flat_slot, batch * (length + 1))
        sizes = tf.reshape(sizes, [batch, length + 1])[:, :length]  # [B, T] tokens per word

        num_tokens = tf.reduce_sum(tf.cast(in_sequence, tf.float64), axis=1)  # [B]
        budget = tf.round(num_tokens * self.masking_rate)  # float64 and half-to-even, as Python
        budget = tf.clip_by_value(budget, 1, self.max_predictions_per_seq)

        keys = tf.random.stateless_uniform(tf.shape(sizes), seed)
        order = tf.argsort(tf.where(sizes > 0, keys, 2.0), axis=1, stable=True)  # random order
        taken = _greedy_take(tf.gather(sizes, order, batch_dims=1), tf.cast(budget, tf.int32))
        taken = tf.gather(taken, tf.argsort(order, axis=1), batch_dims=1)  # back to word slots
        taken = tf.pad(taken, [[0, 0], [0, 1]])  # the non-candidate slot is never taken
        return tf.gather(taken, slot, batch_dims=1)


def _greedy_take(sizes: tf.Tensor, budget: tf.Tensor) -> tf.Tensor:
    """Which words to take (bool [B, W]), visiting each row's words in order and taking a word
    when its `sizes` (int32 [B, W]; 0 = no word) still fits in the row's `budget` [B].

    Vectorized: each step takes the longest prefix of the still-possible words that fits; the
    word after it no longer fits, and words larger than the remaining budget never will. Every
    step takes at least one word, so the loop ends.
    """
    def possible(taken, budget):
        return (sizes > 0) & ~taken & (sizes <= budget[:, None])

    def step(taken, budget):
        still = possible(taken, budget)
        running = tf.cumsum(tf.where(still, sizes, 0), axis=1)
        take = still & (running <= budget[:, None])
        return taken | take, budget - tf.reduce_sum(tf.where(take, sizes, 0), axis=1)

    taken, _ = tf.while_loop(
        lambda taken, budget: tf.reduce_any(possible(taken, budget)),
        step,
        (tf.zeros_like(sizes, tf.bool), budget),
    )
    return taken
