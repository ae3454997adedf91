import numpy as np
import pytest
import tensorflow as tf

from tfbert.export import SessionModel, SignatureNotFoundError


@pytest.fixture(scope="module")
def session_model(classifier_export):
    model = SessionModel(classifier_export)
    yield model
    model.close()


def test_runs_signatures_through_the_tf1_loader(session_model, classifier_export):
    assert sorted(session_model.signatures) == ["classify", "classify_pair", "preprocess",
                                             "serving_default", "text_pair"]
    outputs = session_model.run("serving_default", {"text": np.array([b"a", "b"], object)},
                                output_filter=("label",))
    assert list(outputs) == ["label"] and outputs["label"].shape == (2,)
    # The same as the TF2 loader's signature function (a second, independent loader).
    loaded = tf.saved_model.load(str(classifier_export)).signatures["serving_default"]
    np.testing.assert_allclose(
        session_model.run("serving_default", {"text": np.array([b"a b c"], object)})["logits"],
        loaded(text=tf.constant(["a b c"]))["logits"].numpy(), atol=1e-6)


@pytest.mark.parametrize("signature, inputs, error, message", [
    ("nope", {"text": [b"a"]}, SignatureNotFoundError, "signature 'nope' not found"),
    ("serving_default", {}, ValueError, "takes the inputs \\['text'\\]; got \\[\\] "
                                        "\\(missing \\['text'\\]\\)"),
    ("serving_default", {"text": [b"a"], "x": [1]}, ValueError, "unknown \\['x'\\]"),
    ("serving_default", {"text": np.array([1.5])}, TypeError, "must be string; got float64"),
    ("serving_default", {"text": np.array([[b"a"]], object)}, ValueError,
     "must have shape \\[None\\]; got \\[1, 1\\]"),
    ("text_pair", {"text_a": [b"a"], "text_b": [b"b", b"c"]}, tf.errors.InvalidArgumentError,
     "same batch size"),
])
def test_bad_inputs_are_explained(session_model, signature, inputs, error, message):
    with pytest.raises(error, match=message):
        session_model.run(signature, inputs)


def test_unknown_output_filter_and_missing_path(session_model, tmp_path):
    with pytest.raises(ValueError, match="output_filter asked for \\['score'\\]"):
        session_model.run("serving_default", {"text": [b"a"]}, output_filter=("score",))
    with pytest.raises(RuntimeError, match="cannot load the SavedModel at"):
        SessionModel(tmp_path)
