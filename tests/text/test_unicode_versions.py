"""Same ids on every TF Serving release: the fast path keeps off characters that ICU 64.2
(Unicode 12.1, TF Serving 2.14-2.19) sees differently from this Python (Unicode 14.0)."""
from __future__ import annotations

import unicodedata

import tensorflow as tf
import unicodedata2

from tfbert.text.fast_path import safe_code_points
from tfbert.text.unicode12_data import CHANGED_RANGES
from tfbert.text.unicode_versions import OLD_UNICODE_VERSION, changed_code_points, changed_ranges

# Punctuation new in Unicode 13/14 (unassigned in ICU 64.2, so not split off there), in words.
NEW_PUNCTUATION = ["\u2e53", "\u2e52", "\U00010ead", "\U00011944", "\u2e55"]
TEXTS = [f"word{c}next and more" for c in NEW_PUNCTUATION] + [f"Plain{c}text, again"
                                                               for c in NEW_PUNCTUATION]


def test_committed_ranges_regenerate_from_unicodedata2():
    assert unicodedata2.unidata_version == OLD_UNICODE_VERSION
    assert changed_ranges(unicodedata2, unicodedata) == CHANGED_RANGES


def _properties(database, cp):
    char = chr(cp)
    return (database.category(char), database.bidirectional(char),
            database.decomposition(char), database.combining(char))


def test_no_fast_path_character_differs_in_unicode_12_1(lower_case):
    safe = safe_code_points(lower_case, allow_multibyte_words=True)
    assert len(safe) > 80_000  # ASCII, accented Latin, punctuation, CJK ideographs
    assert not set(safe) & changed_code_points()
    assert [cp for cp in safe if _properties(unicodedata2, cp) != _properties(unicodedata, cp)
            ] == []


def test_new_punctuation_takes_the_exact_route_with_original_ids(
        tokenizer, original_tokenizer, lower_case):
    # This machine's tf-text (ICU 77) splits these off as the original does; ICU 64.2 would not.
    assert all(unicodedata.category(c).startswith("P") for c in NEW_PUNCTUATION)
    assert all(unicodedata2.category(c) == "Cn" for c in NEW_PUNCTUATION)
    text = tf.constant(TEXTS)
    assert not tokenizer._fast_path.accepts(text).numpy().any()
    original = original_tokenizer
    want = [original.convert_tokens_to_ids(original.tokenize(t)) for t in TEXTS]
    assert tokenizer(text).to_list() == want
    signature = tf.function(tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])
    assert signature(text).to_list() == want
