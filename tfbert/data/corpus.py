"""Reading a corpus in original BERT's format: a sentence per line, blank lines between documents.

`resolve_files` turns paths and glob patterns into a checked list of files, `shard_files` splits
them between input pipelines, and `document_dataset` streams the documents of the files, read in
parallel, as 1-D tf.string tensors of sentences.

Lines are read as the original `create_pretraining_data.py` reads them: invalid UTF-8 bytes are
dropped (it decoded with `errors="ignore"`), and a line that is empty once surrounding whitespace
(Python's `str.strip()` set) is removed ends a document. Runs of blank lines make no empty
documents.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "corpus.txt")
>>> _ = open(path, "wb").write(b"One.\\nTwo.\\n\\n\\n  \\nThree \\xff!\\n")
>>> [doc.numpy().tolist() for doc in document_dataset(resolve_files(path))]
[[b'One.', b'Two.'], [b'Three !']]
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import tensorflow as tf

from tfbert.data.stats import CorpusStats

logger = logging.getLogger(__name__)

LINES_PER_BLOCK = 1024  # lines decoded and split into documents per step
FILES_READ_AT_ONCE = 8  # files interleaved (and read in parallel) at a time
# What Python's str.strip() removes: Unicode White_Space plus the separators \x1c-\x1f.
_BLANK_LINE = r"[\t-\r\x{1c}-\x{20}\x{85}\p{Z}]*"


def resolve_files(files: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The sorted files named by `files`: paths or glob patterns, one or a list of them.

    Raises FileNotFoundError naming every path or pattern that matches no file, so a typo
    fails before training starts.
    """
    if isinstance(files, (str, bytes, os.PathLike)):
        files = [files]
    if not isinstance(files, Sequence) or isinstance(files, bytes):
        raise TypeError(f"`files` must be a path, a glob pattern or a list of them; got {files!r}")
    patterns = [os.fsdecode(os.fspath(pattern)) for pattern in files]
    if not patterns:
        raise ValueError("`files` must name at least one file; got an empty list")
    found: list[str] = []
    missing = []
    for pattern in patterns:
        matches = tf.io.gfile.glob(pattern)
        if not matches:
            missing.append(pattern)
        found.extend(matches)
    if missing:
        raise FileNotFoundError(f"`files`: no file matches {missing}")
    return sorted(dict.fromkeys(found))


def check_has_tokens(files: list[str], tokenize, lines_per_batch: int = LINES_PER_BLOCK) -> None:
    """Raises a ValueError naming `files` if no line of them has a token under `tokenize`
    (strings [N] -> ragged ids [N, (tokens)]).

    Reads only until the first line with a token, so a real corpus costs one block; a corpus
    that is empty, blank, or whose lines all tokenize to nothing would otherwise make a
    repeating pipeline search forever for its first example.
    """
    lines_read = 0
    for lines in tf.data.TextLineDataset(files).batch(lines_per_batch):
        lines_read += int(lines.shape[0])
        valid = tf.strings.unicode_transcode(lines, "UTF-8", "UTF-8", errors="ignore")
        if bool(tf.reduce_any(tokenize(valid).row_lengths() > 0)):
            return
    raise ValueError(f"The corpus has no text to train on: none of the {lines_read:,} lines of "
                     f"{files} has a token (the files are empty, blank, or hold only characters "
                     "the tokenizer drops).")


def shard_files(
    files: list[str], input_context: tf.distribute.InputContext | None
) -> tuple[list[str], tuple[int, int] | None]:
    """This input pipeline's files, and `(num_shards, index)` if documents must be sharded instead.

    With at least as many files as input pipelines, pipeline i reads files i, i + n, i + 2n, ...
    With fewer files, every pipeline reads all files and keeps every n-th document (a warning is
    logged: each pipeline then reads the whole corpus). Either way, pipelines see disjoint data.
    """
    if input_context is None or input_context.num_input_pipelines == 1:
        return files, None
    if not isinstance(input_context, tf.distribute.InputContext):
        raise TypeError(
            "`input_context` must be a tf.distribute.InputContext; "
            f"got {type(input_context).__name__}"
        )
    num, index = input_context.num_input_pipelines, input_context.input_pipeline_id
    if len(files) >= num:
        return files[index::num], None
    logger.warning(
        "%d input pipelines but only %d files: every pipeline reads all files and keeps every "
        "%d-th document; split the corpus into at least %d files to read less.",
        num, len(files), num, num,
    )
    return files, (num, index)


def is_blank(lines: tf.Tensor) -> tf.Tensor:
    """Whether each line is empty after Python's `str.strip()` (bool, the shape of `lines`)."""
    return tf.strings.regex_full_match(lines, _BLANK_LINE)


def _file_documents(path: tf.Tensor, stats: CorpusStats | None) -> tf.data.Dataset:
    """The documents of one file, each a 1-D tf.string tensor of its non-blank lines."""
    blocks = tf.data.TextLineDataset(path).batch(LINES_PER_BLOCK)
    blocks = blocks.concatenate(tf.data.Dataset.from_tensors(tf.constant([""])))  # ends the last

    @tf.autograph.experimental.do_not_convert
    def decode(lines):  # [L] raw bytes -> [L] valid UTF-8, as the original's decode("ignore")
        valid = tf.strings.unicode_transcode(lines, "UTF-8", "UTF-8", errors="ignore")
        if stats is not None:
            with tf.control_dependencies([stats.add(invalid_utf8_lines=tf.reduce_sum(
                    tf.cast(valid != lines, tf.int64)))]):
                valid = tf.identity(valid)
        return valid

    @tf.autograph.experimental.do_not_convert
    def complete_documents(carry, lines):
        """Splits `carry + lines` after its last blank line: (new carry, complete documents)."""
        lines = tf.concat([carry, lines], axis=0)
        blank_at = tf.where(is_blank(lines))[:, 0]  # [blanks]
        cut = tf.reduce_max(tf.concat([[-1], blank_at], axis=0)) + 1
        return lines[cut:], lines[:cut]

    @tf.autograph.experimental.do_not_convert
    def split_documents(lines):  # [L] lines, the last one blank -> ragged [docs, (lines)]
        blank = is_blank(lines)
        doc_ids = tf.cumsum(tf.cast(blank, tf.int64), exclusive=True)  # [L]
        docs = tf.RaggedTensor.from_value_rowids(
            lines[~blank], doc_ids[~blank], nrows=tf.reduce_sum(tf.cast(blank, tf.int64)))
        return tf.ragged.boolean_mask(docs, docs.row_lengths() > 0)

    blocks = blocks.map(decode)
    blocks = blocks.scan(tf.constant([], tf.string), complete_documents)
    return blocks.map(split_documents).unbatch()


def document_dataset(
    files: list[str],
    *,
    seed: int | None = None,
    shuffle_files: bool = False,
    repeat: bool = False,
    shard: tuple[int, int] | None = None,
    stats: CorpusStats | None = None,
) -> tf.data.Dataset:
    """Documents (1-D tf.string tensors of sentences) of `files`, interleaved file by file.

    Up to FILES_READ_AT_ONCE files are read in parallel, one document from each in turn.
    `shuffle_files` reshuffles the file order every pass (seeded by `seed`); `repeat` makes
    passes forever; `shard=(n, i)` keeps documents i, i + n, ... of each pass.
    """
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_files:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.interleave(
        lambda path: _file_documents(path, stats),
        cycle_length=min(len(files), FILES_READ_AT_ONCE),
        block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if shard is not None:
        dataset = dataset.shard(*shard)
    return dataset
