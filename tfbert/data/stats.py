"""`CorpusStats`: counts of what the pretraining pipeline dropped, cut or kept, as it runs.

Bad input never stops an epoch: invalid bytes are dropped, lines without tokens skipped, long
sentences truncated. Pass a `CorpusStats` to `pretraining_dataset` to count these events (the
counts are int64 variables updated inside the tf.data graph), and `log()` them, e.g. at the end
of every epoch. The counts are of what the pipeline has read so far: a repeating pipeline reads
the corpus again on every pass, and reads ahead of training (prefetching), so a corpus of 253
lines can count thousands of documents; divide by the passes to get per-corpus figures.

>>> stats = CorpusStats()
>>> _ = stats.add(skipped_lines=tf.constant(2, tf.int64))
>>> stats.result()["skipped_lines"]
2
"""
from __future__ import annotations

import logging

import tensorflow as tf

logger = logging.getLogger(__name__)

COUNTS = {
    "documents": "documents with at least one sentence",
    "single_sentence_documents": "documents of one sentence (their B is always random)",
    "empty_documents": "documents whose lines have no tokens (skipped)",
    "sentences": "lines with tokens",
    "skipped_lines": "non-blank lines without tokens (skipped)",
    "invalid_utf8_lines": "lines with invalid UTF-8 (those bytes dropped)",
    "long_sentences": "sentences longer than a sequence (truncated)",
    "examples": "examples built",
}


class CorpusStats:
    """Counters for the pretraining pipeline; the names and meanings are in `COUNTS`."""

    def __init__(self):
        with tf.init_scope():  # plain local variables, even if created under a strategy scope
            self._counts = {
                name: tf.Variable(0, dtype=tf.int64, trainable=False, name=name)
                for name in COUNTS
            }

    def add(self, **increments: tf.Tensor) -> tf.Operation:
        """Adds int64 scalars to the named counters; returns the op that does it."""
        unknown = sorted(set(increments) - set(COUNTS))
        if unknown:
            raise ValueError(f"unknown counters {unknown}; expected names from {list(COUNTS)}")
        updates = [self._counts[name].assign_add(value) for name, value in increments.items()]
        return tf.group(updates)

    def result(self) -> dict[str, int]:
        """The current counts, by name."""
        return {name: int(variable.numpy()) for name, variable in self._counts.items()}

    def log(self) -> None:
        """Logs the counts (at INFO; at WARNING if anything was skipped or cut)."""
        counts = self.result()
        problems = counts["empty_documents"] + counts["skipped_lines"]
        problems += counts["invalid_utf8_lines"] + counts["long_sentences"]
        text = "; ".join(f"{counts[name]:,} {meaning}" for name, meaning in COUNTS.items())
        logger.log(logging.WARNING if problems else logging.INFO,
                   "pretraining input read so far (every pass over the corpus, and what is "
                   "prefetched, counts again): %s", text)
