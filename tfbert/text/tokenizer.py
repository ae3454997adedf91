"""`BertTokenizer`: raw strings to WordPiece ids inside the TensorFlow graph.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "!", "ok"]
>>> _ = open(path, "w").write("\\n".join(tokens) + "\\n")
>>> tokenizer = BertTokenizer(path)
>>> ids = tokenizer(tf.constant(["UNAFFABLE!", "ok wat"]))
>>> ids.to_list()
[[5, 6, 7, 8], [9, 1]]
>>> _, starts, ends = tokenizer.tokenize_with_offsets(tf.constant(["UNAFFABLE!", "ok wat"]))
>>> starts.to_list(), ends.to_list()
([[0, 2, 5, 9], [0, 3]], [[2, 5, 9, 10], [2, 6]])
>>> tokenizer.detokenize(ids).numpy().tolist()
[b'unaffable !', b'ok [UNK]']
"""
from __future__ import annotations

import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from tfbert.text.fast_path import FastPath
from tfbert.text.normalizer import BertNormalizer
from tfbert.text.unicode_tables import COMPATS
from tfbert.text.vocab import UNK, load_vocab, special_token_ids

SUFFIX_INDICATOR = "##"
DEFAULT_MAX_CHARS_PER_WORD = {"google": 200, "hf": 100}  # original BERT's; HF's default


def _matchable(tokens: list[str]) -> list[str]:
    """`tokens` with the entries the original can never return replaced by unique placeholders.

    The original keeps the last id of a token listed twice and never matches an empty token or
    one with a NUL (it deletes NULs); FastWordpieceTokenizer rejects all three. The placeholders
    contain punctuation, which the normalizer always splits off, so no word can match them.
    """
    last = {token: index for index, token in enumerate(tokens)}
    return [
        token if token and "\0" not in token and last[token] == index
        else f"[tfbert unreachable {index}]"
        for index, token in enumerate(tokens)
    ]


def _char_index(char_byte_starts: tf.Tensor, byte_positions: tf.Tensor) -> tf.Tensor:
    """Index of the character that contains each byte position (starts are sorted)."""
    return tf.searchsorted(char_byte_starts, byte_positions, "right", out_type=tf.int64) - 1


def string_tensor(text, name: str) -> tf.Tensor:
    """`text` as a tf.string tensor, or a TypeError naming argument `name`."""
    if isinstance(text, tf.RaggedTensor):
        raise TypeError(f"`{name}` must be a dense tf.string tensor; got a RaggedTensor")
    text = tf.convert_to_tensor(text)
    if text.dtype != tf.string:
        raise TypeError(f"`{name}` must be a tf.string tensor; got dtype {text.dtype.name}")
    if text.shape.rank is None:
        raise ValueError(f"`{name}` must have a known rank; got shape {text.shape}")
    return text


@keras.saving.register_keras_serializable(package="tfbert")
class BertTokenizer(keras.layers.Layer):
    """Tokenizes strings into WordPiece ids exactly like the original BERT `FullTokenizer`.

    Input: tf.string of shape [N] (other ranks work too: the output gets one ragged dimension
    more than the input). Output: tf.RaggedTensor of int32 ids, shape [N, (tokens)], without
    [CLS]/[SEP]. Normalization reproduces the original `BasicTokenizer` under Python 3.11
    (Unicode 14.0): control and format characters are deleted, Unicode spaces split words, CJK
    ideographs and punctuation are split off and, with `lower_case`, text is lowercased like
    `str.lower()` and accents are stripped. WordPiece is greedy longest-match-first
    (FastWordpieceTokenizer); a word longer than `max_chars_per_word` characters becomes [UNK].

    Args:
        vocab_file: WordPiece vocabulary, one token per line; must contain [PAD], [UNK],
            [CLS], [SEP] and [MASK].
        lower_case: as the original `do_lower_case` (True for uncased models).
        max_chars_per_word: a longer word becomes [UNK]; by default 200 with
            `compat="google"` (original BERT) and 100 with `compat="hf"` (HF's default).
        compat: whose tokenizer to reproduce: "google", the original BERT `FullTokenizer`
            (above), or "hf", Hugging Face `BertTokenizerFast` (its BertNormalizer and
            BertPreTokenizer: Σ lowers to σ everywhere, private-use characters are deleted,
            its own CJK ranges and Unicode tables; see `tfbert.text.hf_tables`).
    """

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        lower_case: bool = True,
        max_chars_per_word: int | None = None,
        compat: str = "google",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if compat not in COMPATS:
            raise ValueError(f"`compat` must be one of {COMPATS}; got {compat!r}")
        if max_chars_per_word is None:
            max_chars_per_word = DEFAULT_MAX_CHARS_PER_WORD[compat]
        if not isinstance(max_chars_per_word, int) or max_chars_per_word < 1:
            raise ValueError(
                f"`max_chars_per_word` must be a positive int; got {max_chars_per_word!r}"
            )
        self.vocab_file = os.fspath(vocab_file)
        self.lower_case = bool(lower_case)
        self.max_chars_per_word = max_chars_per_word
        self.compat = compat
        self.vocabulary = load_vocab(self.vocab_file)
        self.special_ids = special_token_ids(self.vocabulary)
        matchable = _matchable(self.vocabulary)
        self._fast_path = FastPath(matchable, self.lower_case, max_chars_per_word, compat)
        self._normalizer = BertNormalizer(self.lower_case, compat)
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            matchable,
            suffix_indicator=SUFFIX_INDICATOR,
            max_bytes_per_word=4 * max_chars_per_word,  # never binding: we count characters
            token_out_type=tf.int32,
            unknown_token=UNK,
            no_pretokenization=True,
        )
        self._tokens = tf.constant(self.vocabulary)
        self.built = True  # no weights; also spares Keras a trial call to build the layer

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    @tf.autograph.experimental.do_not_convert  # plain TF ops; skip autograph's slow tracing
    def call(self, text) -> tf.RaggedTensor:
        """WordPiece ids of `text` (tf.string [N] → int32 [N, (tokens)])."""
        return self._apply_to_any_rank(text, self._tokenize, with_offsets=False)

    @tf.autograph.experimental.do_not_convert
    def tokenize_with_offsets(self, text):
        """Ids and, for every token, where it is in the input.

        Returns `(ids, starts, ends)`, each int32 with the shape of `call`'s output. Offsets
        count Unicode code points (Python `str` indices, like Hugging Face offset mappings):
        the token covers `text[start:end]`. A token inside a character that normalization
        expanded (e.g. a Hangul syllable split into jamo) covers that whole character; an
        [UNK] covers its whole word. Characters that normalization deleted (controls, format
        characters, stripped accents) belong to no token.
        """
        return self._apply_to_any_rank(text, self._tokenize, with_offsets=True)

    @tf.autograph.experimental.do_not_convert
    def detokenize(self, ids) -> tf.Tensor:
        """Joins the tokens of each row of `ids` ([N, (tokens)] → tf.string [N]).

        Tokens are joined by spaces and "##" suffixes are glued to the token before them, as
        the original BERT code does; normalization (case, accents, spacing) is not undone.
        """
        ids = ids if isinstance(ids, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(ids)
        tokens = tf.gather(self._tokens, ids)
        is_suffix = tf.strings.substr(tokens, 0, len(SUFFIX_INDICATOR)) == SUFFIX_INDICATOR
        glued = tf.ragged.map_flat_values(
            tf.where,
            is_suffix,
            tf.ragged.map_flat_values(tf.strings.regex_replace, tokens, "^##", ""),
            tf.ragged.map_flat_values(tf.strings.join, [" ", tokens]),
        )
        return tf.strings.strip(tf.strings.reduce_join(glued, axis=-1))

    def _tokenize(self, text: tf.Tensor, with_offsets: bool):
        """Rank-1 `text` → ids [N, (tokens)], plus (starts, ends) if `with_offsets`.

        Texts the fast path accepts go through it (same ids, faster); the others, and all
        texts when offsets are wanted, go through the exact character tables.
        """
        if with_offsets:
            return self._exact_tokenize(text, with_offsets=True)
        fast = self._fast_path.accepts(text)  # [N]
        fast_rows = tf.where(fast)[:, 0]
        exact_rows = tf.where(~fast)[:, 0]
        ids = tf.concat(
            [
                self._fast_path.tokenize(tf.gather(text, fast_rows)),
                self._exact_tokenize(tf.gather(text, exact_rows), with_offsets=False),
            ],
            axis=0,
        )
        return tf.gather(ids, tf.math.invert_permutation(tf.concat([fast_rows, exact_rows], 0)))

    def _exact_tokenize(self, text: tf.Tensor, with_offsets: bool):
        """`_tokenize` through the character tables, for any text."""
        normalized = self._normalizer(text)
        words = normalized.words.flat_values  # [W]
        too_long = normalized.word_chars.row_lengths() > self.max_chars_per_word  # [W]
        words = tf.where(too_long, UNK, words)  # "[UNK]" is in the vocabulary: one [UNK] piece
        pieces, byte_starts, byte_ends = self._wordpiece.tokenize_with_offsets(words)  # [W, (P)]
        ids = normalized.words.with_flat_values(pieces).merge_dims(1, 2)  # [N, (tokens)]
        if not with_offsets:
            return ids
        starts, ends = self._char_offsets(normalized, pieces, byte_starts, byte_ends, too_long)
        return ids, ids.with_flat_values(starts), ids.with_flat_values(ends)

    @staticmethod
    def _char_offsets(normalized, pieces, byte_starts, byte_ends, too_long):
        """Input code point offsets [P] of the pieces, from byte offsets within their words."""
        chars = normalized.word_chars.flat_values  # [K]
        utf8_bytes = 1 + tf.add_n([tf.cast(chars >= cp, tf.int32) for cp in (0x80, 0x800, 0x10000)])
        char_byte_starts = tf.cast(tf.cumsum(utf8_bytes, exclusive=True), tf.int64)  # [K]
        word_splits = normalized.word_chars.row_splits  # [W + 1]
        piece_words = pieces.value_rowids()  # [P]
        word_bases = tf.gather(char_byte_starts, tf.gather(word_splits, piece_words))  # [P]
        first = _char_index(char_byte_starts, word_bases + byte_starts.flat_values)  # [P]
        last = _char_index(char_byte_starts, word_bases + byte_ends.flat_values - 1)  # [P]
        # A word replaced by [UNK] for its length covers all its characters.
        whole_word = tf.gather(too_long, piece_words)
        first = tf.where(whole_word, tf.gather(word_splits, piece_words), first)
        last = tf.where(whole_word, tf.gather(word_splits, piece_words + 1) - 1, last)
        sources = normalized.char_sources.flat_values  # [K]
        return tf.gather(sources, first), tf.gather(sources, last) + 1

    def _apply_to_any_rank(self, text, fn, **kwargs):
        """Runs rank-1 `fn` on `text` of any rank; the outputs get `text`'s outer shape."""
        text = string_tensor(text, "text")
        rank = text.shape.rank
        outputs = fn(tf.reshape(text, [-1]), **kwargs)
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        if rank == 0:
            outputs = tuple(output.values for output in outputs)
        elif rank > 1:
            outer = tf.shape(text, out_type=tf.int64)
            for axis in range(rank - 1, 0, -1):
                outputs = tuple(
                    tf.RaggedTensor.from_uniform_row_length(output, outer[axis])
                    for output in outputs
                )
        return outputs[0] if single else outputs

    def compute_output_spec(self, text):
        shape = tuple(text.shape) + (None,)
        return keras.KerasTensor(shape, dtype="int32", ragged=True)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            vocab_file=self.vocab_file,
            lower_case=self.lower_case,
            max_chars_per_word=self.max_chars_per_word,
            compat=self.compat,
        )
        return config
