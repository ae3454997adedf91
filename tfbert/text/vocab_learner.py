"""Learning a WordPiece vocabulary from a text corpus.

Words are counted with the same in-graph normalization `BertTokenizer` uses, so the vocabulary
fits the tokenizer exactly; the pieces are then chosen by tf-text's WordPiece learner
(`tensorflow_text.tools.wordpiece_vocab`). Special tokens keep the ids of Google's original
uncased vocabulary: [PAD]=0, [unused0]..[unused98]=1..99, [UNK]=100, [CLS]=101, [SEP]=102,
[MASK]=103; learned tokens follow from id 104 (single characters first, then by frequency).

>>> import os, tempfile
>>> corpus = os.path.join(tempfile.mkdtemp(), "corpus.txt")
>>> _ = open(corpus, "w").write("The cat sat.\\nThe cats sat!\\n" * 20)
>>> vocab = learn_vocab([corpus], vocab_size=150, lower_case=True)
>>> vocab[0], vocab[100:104], "cat" in vocab, "##s" in vocab
('[PAD]', ['[UNK]', '[CLS]', '[SEP]', '[MASK]'], True, True)
"""
from __future__ import annotations

import collections
import os
import time
from collections.abc import Callable, Sequence

import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

from tfbert.text.normalizer import BertNormalizer
from tfbert.text.vocab import CLS, MASK, PAD, SEP, UNK

RESERVED_TOKENS = [PAD, *(f"[unused{i}]" for i in range(99)), UNK, CLS, SEP, MASK]
BATCH_SIZE = 1024  # lines normalized per step
PROGRESS_EVERY = 100  # batches between progress reports
MAX_ALPHABET = 1000  # most frequent characters kept (tf-text's default); the rest become [UNK]


def count_words(
    files: Sequence[str],
    lower_case: bool,
    progress: Callable[[str], None] | None = None,
) -> collections.Counter:
    """How often each normalized word occurs in the lines of `files`."""
    if isinstance(files, (str, bytes, os.PathLike)):
        raise TypeError(f"`files` must be a list of paths; got a single path {files!r}")
    files = [os.fspath(path) for path in files]
    if not files:
        raise ValueError("`files` must name at least one text file; got none")
    missing = [path for path in files if not tf.io.gfile.exists(path)]
    if missing:
        raise FileNotFoundError(f"`files` must name existing text files; missing: {missing}")
    normalizer = BertNormalizer(lower_case)
    dataset = tf.data.TextLineDataset(files).batch(BATCH_SIZE)
    dataset = dataset.map(lambda lines: (tf.size(lines), normalizer(lines).words.flat_values))
    counts: collections.Counter = collections.Counter()
    lines = 0
    for batch, (num_lines, words) in enumerate(dataset.prefetch(tf.data.AUTOTUNE), start=1):
        counts.update(words.numpy().tolist())
        lines += int(num_lines)
        if progress and batch % PROGRESS_EVERY == 0:
            progress(f"{lines:,} lines read, {len(counts):,} distinct words")
    return collections.Counter({word.decode("utf-8"): n for word, n in counts.items()})


def learn_vocab(
    files: Sequence[str],
    vocab_size: int,
    lower_case: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """A WordPiece vocabulary of at most `vocab_size` tokens learned from `files`.

    Args:
        files: text files, one sentence or paragraph per line.
        vocab_size: the largest acceptable vocabulary, reserved tokens included; tf-text's
            learner aims within 5% below it. The alphabet is the `MAX_ALPHABET` most frequent
            characters, fewer if they would take more than half of the room.
        lower_case: count lowercased, accent-stripped words (for uncased models).
        progress: called with a short message as the work advances.
    """
    if not isinstance(vocab_size, int) or vocab_size <= len(RESERVED_TOKENS):
        raise ValueError(
            f"`vocab_size` must be an int above the {len(RESERVED_TOKENS)} reserved tokens; "
            f"got {vocab_size!r}"
        )
    counts = count_words(files, lower_case, progress)
    if not counts:
        raise ValueError(f"`files` contain no words: {list(files)}")
    if progress:
        progress(f"learning from {len(counts):,} distinct words")
    started = time.monotonic()
    # Each character of the alphabet costs two tokens (c and ##c): keep them to half the room.
    max_chars = min(MAX_ALPHABET, (vocab_size - len(RESERVED_TOKENS)) // 4)
    vocab = learner.learn(counts, vocab_size, RESERVED_TOKENS, max_unique_chars=max_chars)
    if progress:
        progress(f"learned {len(vocab):,} tokens in {time.monotonic() - started:.1f} s")
    return vocab


def write_vocab(tokens: Sequence[str], path: str | os.PathLike) -> None:
    """Writes `tokens` one per line (the format `load_vocab` reads)."""
    with tf.io.gfile.GFile(os.fspath(path), "w") as writer:
        writer.write("".join(f"{token}\n" for token in tokens))
