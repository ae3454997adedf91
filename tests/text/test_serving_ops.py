"""The op audit, on graphs that use the preprocessor and on graphs that must fail it."""
from __future__ import annotations

import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from tfbert.text.preprocessor import BertPreprocessor
from tfbert.names import SERVING_VERSIONS
from tfbert.text.core_op_versions import ADDED_AFTER_2_14
from tfbert.text.serving_ops import ALLOWED_TEXT_OPS, check_serving_ops, disallowed_ops, graph_ops

STRING = tf.TensorSpec([None], tf.string)


def test_preprocessor_graph_uses_only_allowed_ops(tokenizer, lower_case):
    preprocessor = BertPreprocessor(tokenizer, seq_length=16, padding="longest")
    signature = tf.function(preprocessor).get_concrete_function(STRING, STRING)
    ops = graph_ops(signature)
    text_ops = {op for op in ops if not hasattr(tf.raw_ops, op)}
    expected = {"FastWordpieceTokenizeWithOffsets"}
    if lower_case:
        expected.add("FastBertNormalize")
    assert text_ops == expected
    assert text_ops <= ALLOWED_TEXT_OPS
    assert disallowed_ops(signature) == set()
    check_serving_ops(signature)


def test_tokenizer_with_offsets_and_detokenize_use_only_allowed_ops(tokenizer):
    function = tf.function(
        lambda text: tokenizer.detokenize(tokenizer.tokenize_with_offsets(text)[0]),
        input_signature=[STRING],
    )
    assert disallowed_ops(function) == set()


def test_other_tf_text_ops_are_reported_even_in_nested_functions():
    trimmer = tf_text.RoundRobinTrimmer(max_seq_length=8)

    @tf.function
    def inner(a, b):
        return trimmer.trim([a, b])[0].flat_values

    @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)] * 2)
    def outer(a, b):
        return inner(a, b)

    assert disallowed_ops(outer) == {"TFText>RoundRobinTrim"}
    with pytest.raises(ValueError, match=r"TF Serving 2.14 cannot run: TFText>RoundRobinTrim: "
                                         r"added in TF Serving 2.20"):
        check_serving_ops(outer)
    # keras-hub's trimmer: TF Serving links it from 2.20 on.
    assert disallowed_ops(outer, serving_version="2.19") == {"TFText>RoundRobinTrim"}
    assert disallowed_ops(outer, serving_version="2.20") == set()
    check_serving_ops(outer, serving_version="2.20")


@pytest.mark.parametrize("serving_version", SERVING_VERSIONS)
def test_python_callbacks_are_rejected_for_every_version(serving_version):
    """tf.py_function and tf.numpy_function are in tf.raw_ops, but TF Serving runs no Python."""
    @tf.function(input_signature=[STRING])
    def with_callbacks(text):
        upper = tf.py_function(lambda t: t.numpy().upper(), [text], tf.string)
        lower = tf.numpy_function(lambda t: t, [text], tf.string)
        return upper, lower

    assert disallowed_ops(with_callbacks, serving_version) == {"EagerPyFunc", "PyFunc"}
    with pytest.raises(ValueError, match=f"TF Serving {serving_version} cannot run: "
                                         "EagerPyFunc: a Python callback"):
        check_serving_ops(with_callbacks, serving_version)


def test_core_ops_newer_than_the_target_are_rejected():
    """DecodeWebP is in tf.raw_ops from TF 2.20, FFTND from 2.15 (read from each release)."""
    assert ADDED_AFTER_2_14["DecodeWebP"] == "2.20" and ADDED_AFTER_2_14["FFTND"] == "2.15"

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def webp(contents):
        return tf.raw_ops.DecodeWebP(contents=contents)

    @tf.function(input_signature=[tf.TensorSpec([4, 4], tf.complex64)])
    def fft(x):
        return tf.raw_ops.FFTND(input=x, fft_length=[4, 4], axes=[0, 1])

    with pytest.raises(ValueError, match="TF Serving 2.14 cannot run: DecodeWebP: added in TF "
                                         "Serving 2.20"):
        check_serving_ops(webp, "2.14")
    assert disallowed_ops(webp, "2.19") == {"DecodeWebP"}
    assert disallowed_ops(webp, "2.20") == set()
    assert disallowed_ops(fft, "2.14") == {"FFTND"}
    assert disallowed_ops(fft, "2.15") == set()


def test_serving_version_must_be_known():
    with pytest.raises(ValueError, match=r"`serving_version` must be one of \['2.14'.*got '2.13'"):
        disallowed_ops(tf.Graph(), serving_version="2.13")


def test_accepts_graphs_and_rejects_other_things():
    graph = tf.function(lambda x: x + 1).get_concrete_function(tf.TensorSpec([], tf.int32)).graph
    assert "AddV2" in graph_ops(graph) and "AddV2" in graph_ops(graph.as_graph_def())
    with pytest.raises(TypeError, match="`function` must be a ConcreteFunction"):
        graph_ops("not a graph")


def test_functions_marked_for_xla_are_rejected():
    doubled = tf.function(lambda x: x * 2.0, jit_compile=True)
    signature = tf.function(lambda x: doubled(x) + 1.0).get_concrete_function(
        tf.TensorSpec([None], tf.float32))
    [reason] = disallowed_ops(signature)
    assert reason.startswith("function ")
    with pytest.raises(ValueError, match="marked for XLA.*--xla_cpu_compilation_enabled"):
        check_serving_ops(signature)
