"""Entity-level precision, recall and F1 for tagged sequences, as seqeval computes them by default.

This reproduces `seqeval.metrics` (1.2.2) called without `mode`/`scheme`: conlleval-style lenient
chunking, which reads IOB2, IOB1 and BIOES tags alike. A chunk starts at a B- or S- tag, at an I-
or E- tag that follows O, E- or S-, and wherever the type changes; it ends before a B-, S- or O
after B-/I-, after every E- or S-, and wherever the type changes. So an I- without a B- opens an
entity, and `B-PER I-LOC` is two entities. Bare prefixes (`B`, `I`, `E`, `S`) are one nameless type,
reported as `"_"` as seqeval does.

It is written here rather than imported because tfbert needs four small metric functions at run
time and no dependency for them; the tests compare it with seqeval itself.

>>> entity_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])["f1"]
0.6666666666666666
"""
from __future__ import annotations

from collections.abc import Sequence

_PREFIXES = ("B", "I", "E", "S")
_NAMELESS = "_"  # the type seqeval gives bare prefixes (and O)


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one tag sequence as (type, first index, last index inclusive).

    Same chunks as seqeval's default `get_entities`.

    >>> entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "S-ORG", "E"])
    [('PER', 0, 1), ('LOC', 3, 3), ('LOC', 4, 4), ('ORG', 5, 5), ('_', 6, 6)]
    """
    return _chunks(tags, "`tags`")


def entity_scores(true_tags: Sequence[Sequence[str]],
                  pred_tags: Sequence[Sequence[str]]) -> dict:
    """Micro-averaged entity precision, recall and F1, and the same per entity type.

    `true_tags` and `pred_tags` hold one tag sequence per sentence, of equal lengths. An entity
    counts as correct when its type, first and last word all match. Where a score divides by zero
    (no predicted or no true entities) it is 0.0, as seqeval's default gives, without a warning.

    Returns `{"precision", "recall", "f1", "support", "per_type": {type: {...the same four}}}`,
    with `support` the number of true entities and `per_type` sorted by type name (types seen in
    either argument).

    >>> true_tags = [["B-PER", "O"], ["B-LOC", "I-LOC"]]
    >>> scores = entity_scores(true_tags, [["B-PER", "O"], ["B-LOC", "O"]])
    >>> scores["precision"], scores["recall"], scores["support"]
    (0.5, 0.5, 2)
    >>> scores["per_type"]["PER"]
    {'precision': 1.0, 'recall': 1.0, 'f1': 1.0, 'support': 1}
    """
    _check_sentences(true_tags, "true_tags")
    _check_sentences(pred_tags, "pred_tags")
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"`true_tags` has {len(true_tags)} sentences but `pred_tags` has "
                         f"{len(pred_tags)}; they must hold one tag sequence per sentence each")
    if not true_tags:
        raise ValueError("`true_tags` and `pred_tags` are empty; there is nothing to score")
    true_spans: dict[str, set] = {}
    pred_spans: dict[str, set] = {}
    for index, (true_sentence, pred_sentence) in enumerate(zip(true_tags, pred_tags)):
        if len(true_sentence) != len(pred_sentence):
            raise ValueError(f"sentence {index}: `true_tags` has {len(true_sentence)} tags but "
                             f"`pred_tags` has {len(pred_sentence)}")
        for spans, sentence, name in ((true_spans, true_sentence, "true_tags"),
                                      (pred_spans, pred_sentence, "pred_tags")):
            for type_, first, last in _chunks(sentence, f"`{name}` sentence {index}"):
                spans.setdefault(type_, set()).add((index, first, last))

    counts = {}  # type -> (correct, predicted, true)
    for type_ in sorted(true_spans.keys() | pred_spans.keys()):
        true_set, pred_set = true_spans.get(type_, set()), pred_spans.get(type_, set())
        counts[type_] = (len(true_set & pred_set), len(pred_set), len(true_set))
    correct, predicted, support = (sum(column) for column in zip((0, 0, 0), *counts.values()))
    return {**_scores(correct, predicted, support),
            "per_type": {type_: _scores(*count) for type_, count in counts.items()}}


def _scores(correct: int, predicted: int, support: int) -> dict:
    """Precision, recall and F1 from counts, in seqeval's arithmetic (0.0 for 0/0)."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / support if support else 0.0
    # seqeval forms F1 from precision and recall (not from the counts): same floats as it.
    f1 = 2.0 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def _check_sentences(sentences: Sequence[Sequence[str]], name: str) -> None:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"`{name}` must be a list of tag sequences, one per sentence; "
                        f"got {type(sentences).__name__}")
    for index, sentence in enumerate(sentences):
        if isinstance(sentence, str) or not isinstance(sentence, Sequence):
            raise TypeError(f"`{name}` sentence {index} must be a list of tags; got "
                            f"{type(sentence).__name__} {sentence!r}")


def _parse(tag: str, where: str, position: int) -> tuple[str, str]:
    """(prefix, type) of a tag; O is ("O", "_") and a bare prefix has type "_"."""
    if isinstance(tag, str):
        if tag == "O":
            return "O", _NAMELESS
        if tag in _PREFIXES:
            return tag, _NAMELESS
        if len(tag) > 2 and tag[0] in _PREFIXES and tag[1] == "-":
            return tag[0], tag[2:]
    raise ValueError(f"{where}: tag {tag!r} at position {position} is not a tag; expected 'O', "
                     f"B-/I-/E-/S- followed by a type (e.g. 'B-PER'), or a bare B, I, E or S")


def _chunks(tags: Sequence[str], where: str) -> list[tuple[str, int, int]]:
    """seqeval's lenient chunking of one sentence; `where` names the sentence in errors."""
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise TypeError(f"{where} must be a list of tags; got {type(tags).__name__} {tags!r}")
    parsed = [_parse(tag, where, position) for position, tag in enumerate(tags)]
    chunks = []
    prev_prefix, prev_type, first = "O", "", 0  # seqeval starts from an O of no type
    for position, (prefix, type_) in enumerate([*parsed, ("O", _NAMELESS)]):
        inside = prev_prefix != "O"
        type_changed = prev_type != type_
        ends = (prev_prefix in ("E", "S")
                or (prev_prefix in ("B", "I") and prefix in ("B", "S", "O"))
                or (inside and type_changed))
        starts = (prefix in ("B", "S")
                  or (prefix in ("I", "E") and prev_prefix in ("O", "E", "S"))
                  or (prefix != "O" and type_changed))
        if ends:
            chunks.append((prev_type, first, position - 1))
        if starts:
            first = position
        prev_prefix, prev_type = prefix, type_
    return chunks
