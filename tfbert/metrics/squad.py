"""SQuAD exact match and token F1, as the official SQuAD v2.0 and v1.1 evaluation scripts give them.

This reproduces `evaluate-v2.0.py`: answers are normalised (lower-cased, ASCII punctuation
removed, the articles a/an/the removed, whitespace collapsed), a question scores the best exact
match and the best token F1 over its gold answers, an unanswerable question (one whose `answers`
list is empty, as the script reads it) has "" as its only gold answer, scores are percentages,
and with no-answer probabilities it applies the threshold and finds the best one
(`find_best_thresh`). Tokens are the whitespace-separated words of the normalised answer, so an
answer in a language written without spaces (Chinese, Japanese) is one token: that is the
reference's behaviour and is kept. On a SQuAD v1.1 dataset (no question has `is_impossible` and
every question has answers) a question is scored as `evaluate-v1.1.py` scores it, which differs
from v2.0 only for a gold answer that normalises to "" (v2.0 drops it, v1.1 keeps it).

It is written here rather than imported because tfbert needs four small metric functions at run
time and no dependency for them; the tests compare it with the copies of both official scripts
that TF Model Garden (`tf-models-official`) ships.

>>> dataset = {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Paris.",
...   "qas": [
...     {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 0}]},
...     {"id": "q2", "question": "Who?", "answers": [], "is_impossible": True}]}]}]}
>>> squad_scores(dataset, {"q1": "paris!", "q2": "Paris"})["exact"]
50.0
"""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Mapping
from numbers import Real

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_scores(dataset: dict, predictions: Mapping[str, str],
                 no_answer_probabilities: Mapping[str, float] | None = None,
                 threshold: float = 1.0, *, allow_missing: bool = False) -> dict:
    """The official SQuAD scores of `predictions` (question id -> answer text, "" = no answer).

    `dataset` is a SQuAD JSON object (`{"data": [{"paragraphs": [{"qas": [...]}]}]}`). Returns
    `exact`, `f1` (percentages) and `total`; `HasAns_*` and `NoAns_*` (the same three) when such
    questions exist; and, given `no_answer_probabilities` (question id -> probability, or any score
    where higher means more likely unanswerable), `best_exact`, `best_exact_thresh`, `best_f1` and
    `best_f1_thresh`. A prediction whose probability is above `threshold` counts as "" (as the
    script's `--na-prob-thresh`, default 1.0).

    A prediction for a question the dataset does not have is a ValueError. So is a question
    without a prediction, unless `allow_missing=True`: then such questions are left out of every
    score and total, as `evaluate-v2.0.py` skips them (`evaluate-v1.1.py` would count them as 0).

    >>> dataset = {"data": [{"paragraphs": [{"context": "The Eiffel Tower.", "qas": [
    ...     {"id": "q1", "question": "What?",
    ...      "answers": [{"text": "The Eiffel Tower.", "answer_start": 0}]},
    ...     {"id": "q2", "question": "Which?",
    ...      "answers": [{"text": "Eiffel", "answer_start": 4}]}]}]}]}
    >>> scores = squad_scores(dataset, {"q1": "eiffel tower", "q2": "the Eiffel Tower"})
    >>> scores["exact"], round(scores["f1"], 2), scores["total"]
    (50.0, 83.33, 2)
    """
    return _evaluate(dataset, predictions, no_answer_probabilities, threshold, allow_missing,
                     "no_answer_probabilities")


def best_threshold(dataset: dict, predictions: Mapping[str, str],
                   no_answer_scores: Mapping[str, float]) -> tuple[float, float]:
    """(threshold, F1) of the no-answer threshold that maximises F1, as `find_best_thresh` picks it.

    `no_answer_scores` maps every question id to a score, higher meaning more likely
    unanswerable (a probability, or e.g. the null span score minus the best span score). A
    question is then answered "" when its score is above the threshold. As in the official
    script, the threshold is 0.0 when no threshold beats answering "" everywhere; that threshold
    gives that F1 only if every score is above 0.

    >>> dataset = {"data": [{"paragraphs": [{"context": "Paris.", "qas": [
    ...     {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 0}]},
    ...     {"id": "q2", "question": "Who?", "answers": [], "is_impossible": True}]}]}]}
    >>> best_threshold(dataset, {"q1": "Paris", "q2": "Paris"}, {"q1": -2.0, "q2": 3.5})
    (-2.0, 100.0)
    """
    scores = _evaluate(dataset, predictions, no_answer_scores, 1.0, False, "no_answer_scores")
    return scores["best_f1_thresh"], scores["best_f1"]


def _evaluate(dataset, predictions, no_answer, threshold, allow_missing, no_answer_name) -> dict:
    questions, v1_rules = _questions(dataset)
    has_answer = {qid: bool(golds) for qid, golds in questions}
    _check_predictions(predictions, has_answer, allow_missing)
    _check_number(threshold, "`threshold`")

    exact_raw, f1_raw = {}, {}  # question id -> score, in dataset order
    for qid, golds in questions:
        if qid in predictions:
            exact_raw[qid], f1_raw[qid] = _question_scores(golds, predictions[qid], v1_rules)
    if not exact_raw:
        raise ValueError("`predictions` answers none of the dataset's questions")
    probabilities = (_check_no_answer(no_answer, has_answer, exact_raw, no_answer_name)
                     if no_answer is not None else {qid: 0.0 for qid in predictions})

    def thresholded(raw: dict) -> dict:
        return {qid: float(not has_answer[qid]) if probabilities[qid] > threshold else score
                for qid, score in raw.items()}

    exact, f1 = thresholded(exact_raw), thresholded(f1_raw)
    result = _totals(exact, f1, list(exact), "")
    for prefix, wanted in (("HasAns_", True), ("NoAns_", False)):
        qids = [qid for qid in exact if has_answer[qid] == wanted]
        if qids:
            result.update(_totals(exact, f1, qids, prefix))
    if no_answer is not None:
        for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
            best, best_thresh = _find_best_threshold(raw, predictions, probabilities, has_answer)
            result[f"best_{name}"], result[f"best_{name}_thresh"] = best, best_thresh
    return result


def _totals(exact: dict, f1: dict, qids: list, prefix: str) -> dict:
    return {f"{prefix}exact": 100.0 * sum(exact[qid] for qid in qids) / len(qids),
            f"{prefix}f1": 100.0 * sum(f1[qid] for qid in qids) / len(qids),
            f"{prefix}total": len(qids)}


def _find_best_threshold(raw: dict, predictions: Mapping[str, str], probabilities: dict,
                         has_answer: dict) -> tuple[float, float]:
    """`find_best_thresh`: sweep the threshold up from 'every question unanswered'."""
    score = sum(1 for qid in raw if not has_answer[qid])
    best_score, best_thresh = score, 0.0
    for qid in sorted(probabilities, key=probabilities.__getitem__):
        if qid not in raw:
            continue
        if has_answer[qid]:
            score += raw[qid]
        elif predictions[qid]:
            score -= 1
        if score > best_score:
            best_score, best_thresh = score, probabilities[qid]
    return 100.0 * best_score / len(raw), best_thresh


def _normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(gold: str, prediction: str, v1_rules: bool) -> float:
    gold_tokens, pred_tokens = _normalize(gold).split(), _normalize(prediction).split()
    if not v1_rules and (not gold_tokens or not pred_tokens):
        return int(gold_tokens == pred_tokens)  # v2.0: two empty answers agree
    common = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if common == 0:
        return 0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _question_scores(golds: list[str], prediction: str, v1_rules: bool) -> tuple[int, float]:
    """Best exact match and best token F1 of `prediction` over the gold answers."""
    if not v1_rules:
        golds = [gold for gold in golds if _normalize(gold)] or [""]
    exact = max(int(_normalize(gold) == _normalize(prediction)) for gold in golds)
    return exact, max(_token_f1(gold, prediction, v1_rules) for gold in golds)


def _questions(dataset: dict) -> tuple[list[tuple[str, list[str]]], bool]:
    """[(question id, gold answer texts)] in file order, and whether v1.1's rules apply."""
    articles = _field(dataset, "data", list, "`dataset`")
    questions, seen, v1_rules = [], set(), True
    for a, article in enumerate(articles):
        paragraphs = _field(article, "paragraphs", list, f"`dataset`['data'][{a}]")
        for p, paragraph in enumerate(paragraphs):
            where = f"`dataset`['data'][{a}]['paragraphs'][{p}]"
            for q, qa in enumerate(_field(paragraph, "qas", list, where)):
                qa_where = f"{where}['qas'][{q}]"
                qid = _field(qa, "id", str, qa_where)
                if qid in seen:
                    raise ValueError(f"{qa_where}: question id {qid!r} appears twice in `dataset`")
                seen.add(qid)
                golds = [_field(answer, "text", str, f"{qa_where}['answers'][{i}]")
                         for i, answer in enumerate(_field(qa, "answers", list, qa_where))]
                v1_rules = v1_rules and bool(golds) and "is_impossible" not in qa
                questions.append((qid, golds))
    if not questions:
        raise ValueError("`dataset` has no questions")
    return questions, v1_rules


def _field(obj, key: str, kind: type, where: str):
    if not isinstance(obj, Mapping):
        raise TypeError(f"{where} must be a JSON object with {key!r}; got {type(obj).__name__}")
    if key not in obj:
        raise ValueError(f"{where} has no {key!r}; a SQuAD dataset needs it")
    if not isinstance(obj[key], kind):
        raise TypeError(f"{where}[{key!r}] must be a {kind.__name__}; got "
                        f"{type(obj[key]).__name__} {obj[key]!r:.80}")
    return obj[key]


def _check_predictions(predictions: Mapping[str, str], has_answer: dict, allow_missing: bool):
    if not isinstance(predictions, Mapping):
        raise TypeError(f"`predictions` must map question ids to answer texts; got "
                        f"{type(predictions).__name__}")
    unknown = [qid for qid in predictions if qid not in has_answer]
    if unknown:
        raise ValueError(f"`predictions` has question ids that are not in the dataset: "
                         f"{_some(unknown)}")
    for qid, answer in predictions.items():
        if not isinstance(answer, str):
            raise TypeError(f"`predictions`[{qid!r}] must be an answer text (str, \"\" for no "
                            f"answer); got {type(answer).__name__} {answer!r:.80}")
    missing = [qid for qid in has_answer if qid not in predictions]
    if missing and not allow_missing:
        raise ValueError(f"`predictions` has no answer for {len(missing)} of the dataset's "
                         f"{len(has_answer)} questions: {_some(missing)}; predict \"\" for no "
                         f"answer, or pass allow_missing=True to score only the answered ones")


def _check_no_answer(no_answer: Mapping[str, float], has_answer: dict, scored: dict,
                     name: str) -> dict:
    if not isinstance(no_answer, Mapping):
        raise TypeError(f"`{name}` must map question ids to numbers; got "
                        f"{type(no_answer).__name__}")
    unknown = [qid for qid in no_answer if qid not in has_answer]
    if unknown:
        raise ValueError(f"`{name}` has question ids that are not in the dataset: "
                         f"{_some(unknown)}")
    missing = [qid for qid in scored if qid not in no_answer]
    if missing:
        raise ValueError(f"`{name}` has no value for {len(missing)} of the {len(scored)} "
                         f"questions with a prediction: {_some(missing)}")
    for qid, value in no_answer.items():
        _check_number(value, f"`{name}`[{qid!r}]")
    return {qid: float(value) for qid, value in no_answer.items()}


def _check_number(value, where: str) -> None:
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"{where} must be a number; got {type(value).__name__} {value!r:.80}")
    if math.isnan(value):
        raise ValueError(f"{where} must be a number; got NaN")


def _some(ids: list) -> str:
    shown = ", ".join(repr(qid) for qid in ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
