"""How two token sequences share the room of a packed input, with core TF ops only.

Two strategies, for a budget of B tokens (the sequence length minus [CLS] and two [SEP]):

- `longest_first`, as Hugging Face tokenizers (`truncation="longest_first"`): if the shorter
  sequence fits in half the budget it is kept and the longer one gets the rest; otherwise each
  gets half, and the odd token goes to the longer one (to the second when they are equally long).
- `round_robin`, as tf-text's `RoundRobinTrimmer` and the original BERT `_truncate_seq_pair`
  (which drops one token at a time from the longer sequence, from the second on ties): the same,
  except that the odd token always goes to the first sequence.

The two differ only when both sequences are cut and B is odd (B = 125 for seq_length 128).

>>> a, b = tf.constant([3, 100, 80, 70]), tf.constant([100, 3, 80, 71])
>>> [n.numpy().tolist() for n in pair_lengths(a, b, 11, "longest_first")]
[[3, 8, 5, 5], [8, 3, 6, 6]]
>>> [n.numpy().tolist() for n in pair_lengths(a, b, 11, "round_robin")]
[[3, 8, 6, 6], [8, 3, 5, 5]]
>>> keep_first(tf.ragged.constant([[1, 2, 3], [4]]), tf.constant([2, 2])).to_list()
[[1, 2], [4]]
"""
from __future__ import annotations

import tensorflow as tf

TRUNCATION_STRATEGIES = ("longest_first", "round_robin")


def pair_lengths(length_a, length_b, budget, strategy: str) -> tuple[tf.Tensor, tf.Tensor]:
    """How many tokens of each sequence to keep (int [N] each) so both fit in `budget`."""
    if strategy not in TRUNCATION_STRATEGIES:
        raise ValueError(f"`truncation` must be one of {TRUNCATION_STRATEGIES}; got {strategy!r}")
    half_down = budget // 2
    half_up = budget - half_down
    if strategy == "round_robin":
        keep_a = tf.minimum(length_a, tf.maximum(half_up, budget - length_b))
        keep_b = tf.minimum(length_b, tf.maximum(half_down, budget - length_a))
        return keep_a, keep_b
    a_is_shorter = length_a <= length_b  # ties count the first as the shorter one
    shorter = tf.minimum(length_a, length_b)
    keep_shorter = tf.where(2 * shorter <= budget, shorter, half_down)
    keep_longer = budget - keep_shorter
    fits = length_a + length_b <= budget
    keep_a = tf.where(fits, length_a, tf.where(a_is_shorter, keep_shorter, keep_longer))
    keep_b = tf.where(fits, length_b, tf.where(a_is_shorter, keep_longer, keep_shorter))
    return keep_a, keep_b


def keep_first(ids: tf.RaggedTensor, lengths) -> tf.RaggedTensor:
    """The first `lengths[i]` items (or all, if fewer) of each row i of `ids`."""
    starts = ids.row_starts()
    lengths = tf.minimum(tf.cast(lengths, starts.dtype), ids.row_lengths())
    positions = tf.ragged.range(starts, starts + lengths)
    return positions.with_flat_values(tf.gather(ids.flat_values, positions.flat_values))
