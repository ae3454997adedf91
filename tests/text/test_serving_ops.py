"""The op audit, on graphs that use the preprocessor and on graphs that must fail it."""
from __future__ import annotations

import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from tfbert.text.preprocessor import BertPreprocessor
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
    with pytest.raises(ValueError, match=r"does not link: \['TFText>RoundRobinTrim'\]"):
        check_serving_ops(outer)


def test_accepts_graphs_and_rejects_other_things():
    graph = tf.function(lambda x: x + 1).get_concrete_function(tf.TensorSpec([], tf.int32)).graph
    assert "AddV2" in graph_ops(graph) and "AddV2" in graph_ops(graph.as_graph_def())
    with pytest.raises(TypeError, match="`function` must be a ConcreteFunction"):
        graph_ops("not a graph")
