"""A fast route for the texts on which tf-text's own BERT pipeline is exact.

tf-text's FastBertNormalize + FastWordpieceTokenizeWithOffsets (with its built-in split on
whitespace and punctuation) run in C++, several times faster than the character-table route of
`BertNormalizer`, but they differ from the original tokenizer on some characters (controls
become spaces, ICU case folding, a word limit counted in bytes). This module finds, once per
process, the characters on which they agree with the original *by running them*: each
candidate character c is tokenized inside "a" + c + "a" and compared with the original's words
from `tfbert.text.unicode_tables`. Both pipelines decide character by character (the one
context rule, Final_Sigma, concerns Greek, which is never a candidate), so a text made only of
such characters is tokenized identically by both routes, and `BertTokenizer` sends it here.

Candidates are characters whose normalized form is ASCII (so bytes equal characters and the
word limit can be counted in bytes) or becomes a one-character word (punctuation, CJK
ideographs). For uncased models that covers English, accented Latin and most punctuation;
other scripts take the exact route. Characters whose Unicode properties differ in the ICU of
TF Serving 2.14-2.19 (Unicode 12.1, see `tfbert.text.unicode_versions`) are never candidates,
so an export gives the same ids on every TF Serving release.

>>> fast = FastPath(["[UNK]", "cafe", "au", "la", "##it", "."], lower_case=True,
...                 max_chars_per_word=200)
>>> text = tf.constant(["Café au lait.", "ΟΔΟΣ", "a\\x00b"])
>>> fast.accepts(text).numpy().tolist()
[True, False, False]
>>> fast.tokenize(text[:1]).to_list()
[[1, 2, 3, 4, 5]]
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from tfbert.text import unicode_tables, unicode_versions
from tfbert.text.unicode_tables import BOUNDARY, ENTRY_MASK, MAX_CODE_POINT, SELF
from tfbert.text.vocab import UNK

PROBE_CONTEXT = "a"  # a plain letter on both sides of each probed character
_PROBE_VOCAB = [UNK, PROBE_CONTEXT]  # every probed word other than "a" becomes one [UNK]
PROBE_GROUP = 64  # one-character-word candidates probed together


def _candidates(
    lower_case: bool, allow_multibyte_words: bool, compat: str = "google"
) -> tuple[np.ndarray, np.ndarray]:
    """Code points whose original expansion is all ASCII, and those whose expansion is one
    single-character word (with that character, e.g. "," or "中" or ";" for U+037E)."""
    table = unicode_tables.char_table(lower_case, compat)
    cps = np.arange(MAX_CODE_POINT + 1)
    cps = cps[(cps < 0xD800) | (cps > 0xDFFF)]
    entries = table.info[cps] & ENTRY_MASK
    units = table.expansions
    used = np.arange(units.shape[1]) < table.lengths[:, None]
    has_self = ((units == SELF) & used).any(axis=1)
    ascii_literals = ~((units >= 0x80) & used).any(axis=1)
    single_word = (
        (table.lengths == 3) & (units[:, 0] == BOUNDARY) & (units[:, 2] == BOUNDARY)
        & (units[:, 1] != BOUNDARY)
    )
    # Same ids on every TF Serving release: no character whose Unicode properties differ in
    # TF Serving 2.14-2.19's ICU (Unicode 12.1), nor one that becomes such a character.
    stable = _stable_code_points()
    ascii_only = ascii_literals[entries] & (~has_self[entries] | (cps < 0x80)) & stable[cps]
    one_char = single_word[entries] & ~ascii_only & allow_multibyte_words & stable[cps]
    word_chars = np.where(units[entries, 1] == SELF, cps, units[entries, 1])
    one_char &= stable[np.where(one_char, word_chars, 0)]
    return cps[ascii_only], np.stack([cps[one_char], word_chars[one_char]], axis=1)


def _stable_code_points() -> np.ndarray:
    """bool [MAX_CODE_POINT + 1]: False where Unicode 12.1 and this Python's Unicode differ
    (`tfbert.text.unicode_versions`)."""
    stable = np.ones(MAX_CODE_POINT + 1, bool)
    for low, high in unicode_versions.CHANGED_RANGES:
        stable[low : high + 1] = False
    return stable


class _Probe(NamedTuple):
    text: str  # what tf-text's pipeline is run on
    words: list[bytes]  # what the original makes of it
    members: list[int]  # the code points it vouches for


@functools.lru_cache(maxsize=1)
def _uncased_normalizer() -> tf_text.FastBertNormalizer:
    """FastBertNormalize with lowercasing (building its model takes ~0.2 s, so once)."""
    with tf.init_scope():
        return tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=True)


@functools.lru_cache(maxsize=1)
def _probe_splitter() -> tf_text.FastWordpieceTokenizer:
    """FastWordpiece that splits like tf-text's BERT pipeline; each word becomes one token."""
    with tf.init_scope():
        return tf_text.FastWordpieceTokenizer(_PROBE_VOCAB, max_bytes_per_word=1000)


def _probe_words(texts: list[str], lower_case: bool) -> list[list[bytes]]:
    """The words tf-text's pipeline makes of each text."""
    if not texts:
        return []
    with tf.init_scope():  # runs eagerly even if the layer is built inside a tf.function
        probes = tf.constant(texts)
        if lower_case:
            probes = _uncased_normalizer().normalize(probes)
        _, starts, ends = _probe_splitter().tokenize_with_offsets(probes)
        normalized, starts, ends = probes.numpy(), starts.to_list(), ends.to_list()
    return [[t[s:e] for s, e in zip(ss, es)] for t, ss, es in zip(normalized, starts, ends)]


def _passing(probes: list[_Probe], lower_case: bool) -> tuple[list[int], list[_Probe]]:
    """Code points vouched for by the probes that pass, and the probes that fail."""
    passed, failed = [], []
    for probe, words in zip(probes, _probe_words([p.text for p in probes], lower_case)):
        if words == probe.words:
            passed.extend(probe.members)
        else:
            failed.append(probe)
    return passed, failed


def _one_char_words_probe(pairs: np.ndarray) -> _Probe:
    """A probe of (code point, expected word character) `pairs` written side by side."""
    context = PROBE_CONTEXT.encode()
    return _Probe(
        text=PROBE_CONTEXT + "".join(map(chr, pairs[:, 0])) + PROBE_CONTEXT,
        words=[context, *(chr(c).encode() for c in pairs[:, 1]), context],
        members=[int(cp) for cp in pairs[:, 0]],
    )


@functools.lru_cache(maxsize=8)
def safe_code_points(
    lower_case: bool, allow_multibyte_words: bool, compat: str = "google"
) -> tuple[int, ...]:
    """Candidates on which tf-text's pipeline gives the original's words (probed, cached).

    Candidates with ASCII expansions are probed one by one; one-character-word candidates
    (mostly CJK ideographs) in groups of `PROBE_GROUP`, and one by one where a group disagrees.
    """
    table = unicode_tables.char_table(lower_case, compat)
    ascii_only, one_char = _candidates(lower_case, allow_multibyte_words, compat)
    probes = [
        _Probe(
            text=PROBE_CONTEXT + chr(cp) + PROBE_CONTEXT,
            words=(PROBE_CONTEXT + unicode_tables.expansion(table, chr(cp)) + PROBE_CONTEXT)
            .encode()
            .split(),
            members=[int(cp)],
        )
        for cp in ascii_only
    ]
    probes += [
        _one_char_words_probe(one_char[i : i + PROBE_GROUP])
        for i in range(0, len(one_char), PROBE_GROUP)
    ]
    safe, failed = _passing(probes, lower_case)
    retry = {member for probe in failed if len(probe.members) > 1 for member in probe.members}
    singles = [_one_char_words_probe(pair[None]) for pair in one_char if pair[0] in retry]
    safe += _passing(singles, lower_case)[0]
    return tuple(sorted(safe))


def _character_class(code_points: tuple[int, ...]) -> str:
    """An RE2 character class matching exactly `code_points` (sorted)."""
    ranges = []
    for cp in code_points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = [
        f"\\x{{{low:x}}}" + (f"-\\x{{{high:x}}}" if high > low else "") for low, high in ranges
    ]
    return "[" + "".join(parts) + "]"


class FastPath:
    """tf-text's BERT pipeline, restricted to the texts on which it is exact.

    Args:
        vocabulary: WordPiece tokens (no duplicates), including `UNK`.
        lower_case: as `BertTokenizer`.
        max_chars_per_word: as `BertTokenizer`; counted in bytes here, which is exact because
            accepted words are ASCII or a single character.
        compat: as `BertTokenizer`; candidates are probed against that mode's tables.
    """

    def __init__(
        self,
        vocabulary: list[str],
        lower_case: bool,
        max_chars_per_word: int,
        compat: str = "google",
    ):
        # A one-character word has up to 4 bytes; below that limit keep to ASCII words.
        safe = safe_code_points(lower_case, max_chars_per_word >= 4, compat)
        self._pattern = _character_class(safe) + "*"
        self._normalizer = _uncased_normalizer() if lower_case else None
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocabulary,
            max_bytes_per_word=max_chars_per_word,
            token_out_type=tf.int32,
            unknown_token=UNK,
        )

    def accepts(self, text: tf.Tensor) -> tf.Tensor:
        """Whether each string of `text` ([N]) is made only of safe characters ([N] bool)."""
        return tf.strings.regex_full_match(text, self._pattern)

    def tokenize(self, text: tf.Tensor) -> tf.RaggedTensor:
        """WordPiece ids [N, (tokens)] of accepted `text` ([N])."""
        if self._normalizer is not None:
            text = self._normalizer.normalize(text)
        return self._wordpiece.tokenize(text)
