"""tfbert.metrics.squad_scores / best_threshold against the official SQuAD evaluation scripts.

The references are the copies of evaluate-v2.0.py and evaluate-v1.1.py that TF Model Garden
(`tf-models-official`, in requirements.txt) ships as `official.nlp.tools.squad_evaluate_v2_0` /
`squad_evaluate_v1_1`. Their scoring functions are the official ones; what Model Garden changed:
`evaluate` (v2.0) drops the questions without a prediction, always applies threshold 1.0 and names
the best-threshold keys `final_*`; v1.1's `evaluate` returns fractions, not percentages.
"""
import random

import pytest
from official.nlp.tools import squad_evaluate_v1_1 as official_v1
from official.nlp.tools import squad_evaluate_v2_0 as official_v2

from tfbert.metrics import best_threshold, squad_scores


def squad(*questions):
    """A one-article SQuAD v2.0 dataset from (id, gold answer texts or None for unanswerable)."""
    qas = []
    for qid, answers in questions:
        qas.append({"id": qid, "question": f"{qid}?", "is_impossible": answers is None,
                    "answers": [{"text": text, "answer_start": 0} for text in answers or []]})
    paragraph = {"context": "c", "qas": qas}
    return {"version": "v2.0", "data": [{"title": "t", "paragraphs": [paragraph]}]}


def squad_v1(*questions):
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
        {"id": qid, "question": "?", "answers": [{"text": t, "answer_start": 0} for t in answers]}
        for qid, answers in questions]}]}]}


def official_v2_main(dataset, predictions, na_probs=None, na_prob_thresh=1.0):
    """evaluate-v2.0.py's main() (its keys, its threshold option) from the official functions."""
    data = dataset["data"]
    has_na_probs = na_probs is not None
    if not has_na_probs:
        na_probs = {k: 0.0 for k in predictions}
    qid_to_has_ans = official_v2._make_qid_to_has_ans(data)
    has_ans_qids = [k for k, v in qid_to_has_ans.items() if v]
    no_ans_qids = [k for k, v in qid_to_has_ans.items() if not v]
    exact_raw, f1_raw = official_v2._get_raw_scores(data, predictions)
    exact = official_v2._apply_no_ans_threshold(exact_raw, na_probs, qid_to_has_ans, na_prob_thresh)
    f1 = official_v2._apply_no_ans_threshold(f1_raw, na_probs, qid_to_has_ans, na_prob_thresh)
    out = dict(official_v2._make_eval_dict(exact, f1))
    if has_ans_qids:
        official_v2._merge_eval(out, official_v2._make_eval_dict(exact, f1, has_ans_qids), "HasAns")
    if no_ans_qids:
        official_v2._merge_eval(out, official_v2._make_eval_dict(exact, f1, no_ans_qids), "NoAns")
    if has_na_probs:
        official_v2._find_all_best_thresh(out, predictions, exact_raw, f1_raw, na_probs,
                                          qid_to_has_ans)
        for key in ("exact", "exact_thresh", "f1", "f1_thresh"):
            out[f"best_{key}"] = out.pop(f"final_{key}")
    return out


def official_v1_scores(dataset, predictions):
    result = official_v1.evaluate(dataset["data"], predictions)
    # Model Garden's copy returns fractions; the official script multiplies by 100.
    return 100.0 * result["exact_match"], 100.0 * result["final_f1"]


def test_normalisation_cases_equal_official():
    dataset = squad(
        ("articles_punctuation", ["The Eiffel Tower."]),
        ("multiple_golds", ["Denver Broncos", "the Broncos", "Broncos!"]),
        ("partial", ["an old red car"]),
        ("unicode_case", ["Café Müller"]),
        ("cjk_one_token", ["北京大学"]),
        ("cjk_spaced", ["北京 大学"]),
        ("non_ascii_punctuation", ["«Paris»"]),
        ("gold_only_article", ["The", "a theatre"]),
        ("no_answer_empty", None),
        ("no_answer_given", None),
        ("no_answer_article", None))
    predictions = {"articles_punctuation": "eiffel tower", "multiple_golds": "Broncos",
                   "partial": "red car", "unicode_case": "café  müller", "cjk_one_token": "北京",
                   "cjk_spaced": "北京", "non_ascii_punctuation": "Paris",
                   "gold_only_article": "theatre", "no_answer_empty": "",
                   "no_answer_given": "Paris", "no_answer_article": "the"}
    ours = squad_scores(dataset, predictions)
    assert ours == official_v2_main(dataset, predictions)
    assert set(ours) == {"exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total",
                         "NoAns_exact", "NoAns_f1", "NoAns_total"}
    # By hand: the eight answerable questions score exact 1, 1, 0, 1, 0, 0, 0, 1 and F1 1, 1,
    # 2·(2/2·2/3)/(2/2+2/3) = 0.8 ("an" is dropped), 1, 0 (one CJK token each),
    # 2·(1·1/2)/(1+1/2) = 2/3, 0 (« » are not ASCII punctuation), 1 (the gold "The" normalises to
    # "" and is dropped); the three unanswerable 1, 0, 1 ("the" normalises to "").
    assert ours["HasAns_exact"] == pytest.approx(100 * 4 / 8)
    assert ours["HasAns_f1"] == pytest.approx(100 * (1 + 1 + 0.8 + 1 + 0 + 2 / 3 + 0 + 1) / 8)
    assert ours["NoAns_exact"] == ours["NoAns_f1"] == pytest.approx(100 * 2 / 3)


def test_only_answerable_or_only_unanswerable_keys():
    answerable = squad(("q1", ["yes"]), ("q2", ["no"]))
    ours = squad_scores(answerable, {"q1": "yes", "q2": "maybe"})
    assert ours == official_v2_main(answerable, {"q1": "yes", "q2": "maybe"})
    assert "NoAns_total" not in ours and ours["HasAns_total"] == 2 and ours["exact"] == 50.0
    unanswerable = squad(("q1", None))
    assert squad_scores(unanswerable, {"q1": ""}) == {"exact": 100.0, "f1": 100.0, "total": 1,
                                                     "NoAns_exact": 100.0, "NoAns_f1": 100.0,
                                                     "NoAns_total": 1}


def test_thresholds_equal_official():
    dataset = squad(("a", ["Paris"]), ("b", ["Rome"]), ("c", None), ("d", None), ("e", ["red car"]))
    predictions = {"a": "Paris", "b": "Milan", "c": "Oslo", "d": "", "e": "car"}
    probabilities = {"a": 0.2, "b": 0.7, "c": 0.9, "d": 0.4, "e": 0.4}
    for threshold in (-1.0, 0.0, 0.2, 0.4, 0.5, 0.8, 1.0, 2.0):
        ours = squad_scores(dataset, predictions, probabilities, threshold)
        assert ours == official_v2_main(dataset, predictions, probabilities, threshold), threshold
    # By hand: sorted by probability a(.2) d(.4) e(.4) b(.7) c(.9); starting from 2 (both
    # unanswerable right), F1 adds a +1 → 3, d +0, e +2/3 → 3.667, b +0, c −1: best 3.667/5 at 0.4.
    ours = squad_scores(dataset, predictions, probabilities)
    assert ours["best_f1"] == pytest.approx(100 * (3 + 2 / 3) / 5) and ours["best_f1_thresh"] == 0.4
    assert best_threshold(dataset, predictions, probabilities) == (0.4, ours["best_f1"])


def test_best_threshold_with_any_scores_equals_find_best_thresh():
    dataset = squad(("a", ["one"]), ("b", None), ("c", ["three"]), ("d", None))
    predictions = {"a": "one", "b": "two", "c": "three four", "d": ""}
    scores = {"a": -3.5, "b": 2.0, "c": -0.5, "d": -7.0}
    f1_raw = official_v2._get_raw_scores(dataset["data"], predictions)[1]
    has_ans = official_v2._make_qid_to_has_ans(dataset["data"])
    best_f1, thresh = official_v2._find_best_thresh(predictions, f1_raw, scores, has_ans)
    assert best_threshold(dataset, predictions, scores) == (thresh, best_f1) == (-0.5, 100 * (
        2 + 1 + 2 / 3) / 4)
    # Nothing beats answering "" everywhere: the script's starting threshold, 0.0.
    assert best_threshold(dataset, {"a": "x", "b": "y", "c": "z", "d": "w"}, scores) == (0.0, 50.0)


def random_answer(rng):
    words = ["the", "a", "an", "Paris", "paris.", "Rome", "red", "car", "Car!", "北京", "大学",
             "café", "Café", "(1990)", "1990", "-", "«x»", "Ünïcode", "Theatre"]
    return " ".join(rng.choice(words) for _ in range(rng.randint(0, 4)))


def test_random_v2_datasets_equal_official():
    rng = random.Random(7)
    for _ in range(200):
        questions = []
        for index in range(rng.randint(1, 8)):
            answerable = rng.random() < 0.6
            golds = [random_answer(rng) or "x" for _ in range(rng.randint(1, 3))]
            questions.append((f"q{index}", golds if answerable else None))
        dataset = squad(*questions)
        predictions = {qid: random_answer(rng) if rng.random() < 0.8 else ""
                       for qid, _ in questions}
        probabilities = {qid: rng.choice([0.0, 0.1, 0.5, 0.5, 0.9, 1.0]) for qid, _ in questions}
        threshold = rng.choice([0.0, 0.3, 0.5, 1.0])
        assert squad_scores(dataset, predictions) == official_v2_main(dataset, predictions)
        assert (squad_scores(dataset, predictions, probabilities, threshold)
                == official_v2_main(dataset, predictions, probabilities, threshold))


def test_random_v1_datasets_equal_official_v1():
    rng = random.Random(11)
    for _ in range(200):
        # Gold answers may normalise to "" ("the", "-"), where v1.1 and v2.0 score differently.
        questions = [(f"q{i}", [random_answer(rng) or "the" for _ in range(rng.randint(1, 3))])
                     for i in range(rng.randint(1, 8))]
        dataset = squad_v1(*questions)
        predictions = {qid: random_answer(rng) for qid, _ in questions}
        ours = squad_scores(dataset, predictions)
        exact, f1 = official_v1_scores(dataset, predictions)
        assert ours["exact"] == pytest.approx(exact, rel=1e-12)
        assert ours["f1"] == pytest.approx(f1, rel=1e-12)
        assert ours["total"] == ours["HasAns_total"] == len(questions)


def test_v1_rules_only_without_is_impossible():
    # The gold "The" normalises to "": v1.1 matches it with the empty prediction, v2.0 drops it.
    questions = (("q1", ["The", "Paris"]),)
    assert squad_scores(squad_v1(*questions), {"q1": ""})["exact"] == 100.0
    assert official_v1_scores(squad_v1(*questions), {"q1": ""}) == (100.0, 0.0)
    answerable_v2 = squad(*questions)  # is_impossible: False marks a v2.0 file
    assert squad_scores(answerable_v2, {"q1": ""}) == official_v2_main(answerable_v2, {"q1": ""})
    assert squad_scores(answerable_v2, {"q1": ""})["exact"] == 0.0
    v2 = squad(*questions, ("q2", None))
    assert squad_scores(v2, {"q1": "", "q2": ""}) == official_v2_main(v2, {"q1": "", "q2": ""})
    assert squad_scores(v2, {"q1": "", "q2": ""})["HasAns_exact"] == 0.0


def test_missing_predictions():
    dataset = squad(("q1", ["a b"]), ("q2", None), ("q3", ["c"]))
    with pytest.raises(ValueError, match=r"no answer for 1 of the dataset's 3 questions: 'q3'"):
        squad_scores(dataset, {"q1": "b", "q2": ""})
    # allow_missing skips them, as Model Garden's evaluate (and evaluate-v2.0.py's raw scores) do.
    reference = dict(official_v2.evaluate(dataset["data"], {"q1": "b", "q2": ""}))
    ours = squad_scores(dataset, {"q1": "b", "q2": ""}, allow_missing=True)
    assert ours == {key: reference[key] for key in ours}
    assert ours["total"] == 2


def test_bad_input_is_named():
    dataset = squad(("q1", ["a"]))
    with pytest.raises(ValueError, match="question ids that are not in the dataset: 'q9'"):
        squad_scores(dataset, {"q1": "a", "q9": "b"})
    with pytest.raises(TypeError, match=r"`predictions`\['q1'\] must be an answer text"):
        squad_scores(dataset, {"q1": None})
    with pytest.raises(ValueError, match="`no_answer_probabilities` has no value for 1 of the 1 questions with a "
                                         "prediction: 'q1'"):
        squad_scores(dataset, {"q1": "a"}, {})
    with pytest.raises(ValueError, match=r"`no_answer_scores`\['q1'\] must be a number; got NaN"):
        best_threshold(dataset, {"q1": "a"}, {"q1": float("nan")})
    with pytest.raises(ValueError, match=r"`dataset`\['data'\]\[0\]\['paragraphs'\]\[0\]\['qas'\]"
                                         r"\[1\]: question id 'q1' appears twice"):
        squad_scores(squad(("q1", ["a"]), ("q1", ["b"])), {"q1": "a"})
    broken = squad(("q1", ["a"]))
    del broken["data"][0]["paragraphs"][0]["qas"][0]["answers"]
    with pytest.raises(ValueError, match=r"\['qas'\]\[0\] has no 'answers'"):
        squad_scores(broken, {"q1": "a"})
    with pytest.raises(TypeError, match="`dataset` must be a JSON object with 'data'"):
        squad_scores(dataset["data"], {"q1": "a"})
