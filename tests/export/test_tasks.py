import numpy as np
import pytest
import tensorflow as tf

import tfbert
from tests.export import builders
from tfbert.export.tasks import build_task


@pytest.fixture(scope="module")
def classifier(classifier_dir):
    return tfbert.load(classifier_dir)


def _task(name, model, vocab_file, **options):
    return build_task(name, model, str(vocab_file), lower_case=True,
                      seq_length=options.pop("seq_length", builders.SEQ_LENGTH), **options)


def test_classify_outputs_and_labels(classifier, classifier_dir, vocab_file):
    task = _task("classify", classifier, vocab_file)
    outputs = task.signatures()["serving_default"](tf.constant(builders.TEXTS))
    expected = builders.keras_classify(classifier_dir, builders.TEXTS)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected["probabilities"],
                               atol=1e-6)
    np.testing.assert_allclose(outputs["logits"].numpy(), expected["logits"], atol=1e-6)
    assert [label.decode() for label in outputs["label"].numpy()] == list(expected["label"])
    assert outputs["probabilities"].dtype == tf.float32


def test_pads_to_the_longest_text_and_truncates_at_seq_length(classifier, vocab_file):
    preprocess = _task("classify", classifier, vocab_file, seq_length=16).signatures()["preprocess"]
    texts = ["a", "sorted list"]
    tokenized = tfbert.BertTokenizer(vocab_file)(tf.constant(texts)).to_list()
    lengths = [len(ids) + 2 for ids in tokenized]
    assert lengths[0] < lengths[1] < 16
    short = preprocess(tf.constant(texts))
    assert short["input_word_ids"].shape == [2, lengths[1]]  # [CLS] ... [SEP], no more
    assert short["input_mask"].numpy().sum(axis=1).tolist() == lengths
    long = preprocess(tf.constant(["word " * 1000]))
    assert long["input_word_ids"].shape == [1, 16]


def test_embed_mean_pooling_is_normalised(classifier, vocab_file):
    task = _task("embed", classifier, vocab_file, pooling="mean", normalize=True)
    embedding = task.signatures()["serving_default"](tf.constant(builders.TEXTS))["embedding"]
    assert embedding.shape == [len(builders.TEXTS), 128]
    np.testing.assert_allclose(np.linalg.norm(embedding.numpy(), axis=-1), 1.0, atol=1e-5)
    assert sorted(task.signatures()) == ["preprocess", "serving_default"]


def test_mlm_needs_a_pretrainer_and_tops_each_mask(classifier, vocab_file):
    with pytest.raises(ValueError, match="task 'mlm' needs a BertPretrainer.*BertClassifier"):
        _task("mlm", classifier, vocab_file)
    model = tfbert.BertPretrainer(builders.tiny_config(vocab_file))
    task = _task("mlm", model, vocab_file, top_k=3)
    outputs = task.signatures()["serving_default"](
        tf.constant(["the [MASK] of a [MASK]", "no mask"]))
    assert outputs["mask_positions"].numpy().tolist() == [[2, 5], [-1, -1]]
    scores = outputs["top_k_scores"].numpy()
    assert scores.shape == (2, 2, 3) and (np.diff(scores[0], axis=-1) <= 0).all()
    assert (scores[1] == 0).all() and (outputs["top_k_tokens"].numpy()[1] == b"").all()
    vocabulary = task.preprocessor.tokenizer.vocabulary
    tokens = [[vocabulary[i] for i in row] for row in outputs["top_k_ids"].numpy()[0]]
    assert tokens == [[t.decode() for t in row] for row in outputs["top_k_tokens"].numpy()[0]]


@pytest.mark.parametrize("name, options, message", [
    ("translate", {}, "`task` must be one of embed, classify, regress, mlm, tag, qa; got "
                      "'translate'"),
    ("qa", {}, "task 'qa' needs a BertSpanQA model directory; got BertClassifier"),
    ("tag", {}, "needs a BertTokenClassifier model directory; got BertClassifier"),
    ("regress", {}, "needs a BertRegressor model directory; got BertClassifier"),
    ("classify", {"pooling": "mean"}, "apply to task 'embed' only"),
    ("classify", {"top_k": 3}, "`top_k` applies to task 'mlm' only"),
    ("classify", {"seq_length": 513}, "`seq_length` must be an int in \\[3, 512\\].*got 513"),
    ("embed", {"pooling": "max"}, "`pooling` must be one of cls, mean; got 'max'"),
])
def test_bad_options_are_named(classifier, vocab_file, name, options, message):
    with pytest.raises(ValueError, match=message):
        _task(name, classifier, vocab_file, **options)


def test_vocabulary_larger_than_the_model_is_refused(vocab_file):
    model = tfbert.BertEncoder(tfbert.BertConfig.preset("bert_tiny").__class__.from_dict(
        {**builders.tiny_config(vocab_file).to_dict(), "vocab_size": 50}))
    with pytest.raises(ValueError, match="larger than the model's vocab_size \\(50\\)"):
        _task("embed", model, vocab_file)
