"""tfbert.metrics.entity_scores / entities against seqeval's default (conlleval-style) mode."""
import random
import warnings

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from tfbert.metrics import entities, entity_scores

# Sentences that exercise every chunking rule of seqeval's lenient mode.
TRICKY = {
    "i_without_b": ([["O", "I-PER", "I-PER", "O", "I-LOC"]],
                    [["O", "B-PER", "I-PER", "O", "B-LOC"]]),
    "i_after_b_of_other_type": ([["B-PER", "I-LOC", "I-LOC", "O", "B-ORG", "I-PER"]],
                                [["B-PER", "B-LOC", "I-LOC", "O", "B-ORG", "B-PER"]]),
    "bioes": ([["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "E-ORG", "S-ORG", "E-ORG", "I-ORG"]],
              [["S-PER", "B-LOC", "E-LOC", "E-LOC", "O", "S-ORG", "S-ORG", "B-ORG", "E-ORG"]]),
    "iob1": ([["I-PER", "I-PER", "B-PER", "I-PER", "O", "I-LOC", "B-LOC"]],
             [["I-PER", "I-PER", "I-PER", "I-PER", "O", "I-LOC", "I-LOC"]]),
    "all_o": ([["O", "O"], ["O"]], [["O", "O"], ["O"]]),
    "empty_predictions": ([["B-PER", "O"], ["B-LOC", "I-LOC"]], [["O", "O"], ["O", "O"]]),
    "nothing_true": ([["O", "O"]], [["B-PER", "O"]]),
    "bare_prefixes": ([["B", "I", "O", "B-PER", "B", "E", "S", "I"]],
                      [["B", "I", "O", "B", "B-PER", "E", "S", "I-PER"]]),
    "across_sentences": ([["B-PER", "I-PER"], ["I-PER", "O"], [], ["E-PER"]],
                         [["B-PER", "I-PER"], ["B-PER", "O"], [], ["S-PER"]]),
}
SCHEME_MIX = ["O", "O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC",
              "I-MISC", "B", "I", "E", "S"]


def seqeval_scores(true_tags, pred_tags):
    """seqeval's numbers in entity_scores' layout (seqeval warns on 0/0 and gives 0.0)."""
    true_tags, pred_tags = [list(s) for s in true_tags], [list(s) for s in pred_tags]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(true_tags, pred_tags, output_dict=True)
        top = {"precision": precision_score(true_tags, pred_tags),
               "recall": recall_score(true_tags, pred_tags),
               "f1": f1_score(true_tags, pred_tags),
               "support": report["micro avg"]["support"]}
    per_type = {name: {"precision": row["precision"], "recall": row["recall"],
                       "f1": row["f1-score"], "support": row["support"]}
                for name, row in report.items() if not name.endswith(" avg")}
    return {**top, "per_type": per_type}


def assert_matches_seqeval(true_tags, pred_tags):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ours is warning-free, 0/0 included
        ours = entity_scores(true_tags, pred_tags)
    reference = seqeval_scores(true_tags, pred_tags)
    assert list(ours["per_type"]) == sorted(reference["per_type"])
    assert ours == reference  # same floats: the same arithmetic
    for sentence in [*true_tags, *pred_tags]:
        assert entities(sentence) == get_entities(list(sentence))


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_cases_equal_seqeval(name):
    assert_matches_seqeval(*TRICKY[name])


def test_tricky_cases_chunk_as_conlleval():
    assert entities(["O", "I-PER", "I-PER"]) == [("PER", 1, 2)]
    assert entities(["B-PER", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 1)]
    assert entities(["S-PER", "E-PER", "B", "I-X"]) == [("PER", 0, 0), ("PER", 1, 1), ("_", 2, 2),
                                                          ("X", 3, 3)]
    assert entity_scores(*TRICKY["empty_predictions"])["precision"] == 0.0
    assert entity_scores(*TRICKY["all_o"]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                               "support": 0, "per_type": {}}


def test_random_sequences_equal_seqeval():
    rng = random.Random(1234)
    for _ in range(300):
        true_tags, pred_tags = [], []
        for _ in range(rng.randint(1, 4)):
            sentence = [rng.choice(SCHEME_MIX) for _ in range(rng.randint(0, 9))]
            # Predictions close to the truth, so that some entities match.
            noisy = [rng.choice(SCHEME_MIX) if rng.random() < 0.25 else tag for tag in sentence]
            true_tags.append(sentence)
            pred_tags.append(noisy)
        assert_matches_seqeval(true_tags, pred_tags)


def test_accepts_tuples_and_returns_python_types():
    scores = entity_scores((("B-PER", "O"),), (("B-PER", "O"),))
    assert scores["f1"] == 1.0 and type(scores["f1"]) is float and type(scores["support"]) is int


def test_length_mismatch_names_sentence_and_lengths():
    message = "sentence 1: `true_tags` has 3 tags but `pred_tags` has 2"
    with pytest.raises(ValueError, match=message):
        entity_scores([["O"], ["O", "O", "O"]], [["O"], ["O", "O"]])
    with pytest.raises(ValueError, match="`true_tags` has 2 sentences but `pred_tags` has 1"):
        entity_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="empty"):
        entity_scores([], [])


@pytest.mark.parametrize("tag", ["X-PER", "B-", "b-PER", "BPER", "O-PER", "", "B_PER", 3, None])
def test_invalid_tag_names_tag_and_sentence(tag):
    with pytest.raises(ValueError, match=rf"`pred_tags` sentence 1: tag {tag!r} at position 1"):
        entity_scores([["O", "O"], ["O", "O"]], [["O", "O"], ["O", tag]])
    with pytest.raises(ValueError, match=rf"tag {tag!r} at position 0"):
        entities([tag])


def test_flat_tag_list_is_a_type_error():
    with pytest.raises(TypeError, match="`true_tags` sentence 0 must be a list of tags"):
        entity_scores(["B-PER", "O"], ["B-PER", "O"])
    with pytest.raises(TypeError, match="list of tags"):
        entities("B-PER")
