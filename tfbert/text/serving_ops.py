"""Which ops a graph may use so that TF Serving can run it, and an audit of a graph's ops.

TF Serving links all core TensorFlow kernels, but of tensorflow-text only the kernels below
(since TF Serving 2.14). An op counts as core TensorFlow if `tf.raw_ops` has it.

>>> @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
... def lengths(text):
...     return tf.strings.length(tf.strings.lower(text))
>>> sorted(op for op in graph_ops(lengths) if op not in ("Const", "NoOp", "Identity"))
['Placeholder', 'StringLength', 'StringLower']
>>> disallowed_ops(lengths)
set()
"""
from __future__ import annotations

import tensorflow as tf

ALLOWED_TEXT_OPS = frozenset(
    {
        "FastBertNormalize",
        "FastWordpieceTokenizeWithOffsets",
        "NormalizeUTF8",
        "NormalizeUTF8WithOffsetsMap",
        "CaseFoldUTF8",
        "RegexSplitWithOffsets",
        "WordpieceTokenizeWithOffsets",
    }
)


def _graph_def(function) -> tf.compat.v1.GraphDef:
    if isinstance(function, tf.compat.v1.GraphDef):
        return function
    if isinstance(function, tf.Graph):
        return function.as_graph_def()
    if hasattr(function, "get_concrete_function"):  # a tf.function with an input signature
        function = function.get_concrete_function()
    if hasattr(function, "graph"):
        return function.graph.as_graph_def()
    raise TypeError(
        "`function` must be a ConcreteFunction, a tf.function with an input signature, a "
        f"tf.Graph or a GraphDef; got {type(function).__name__}"
    )


def graph_ops(function) -> set[str]:
    """Op types used by `function`'s graph, including every function in its library (calls of
    library functions by name are not ops and are left out)."""
    graph_def = _graph_def(function)
    ops = {node.op for node in graph_def.node}
    for library_function in graph_def.library.function:
        ops.update(node.op for node in library_function.node_def)
    return ops - {f.signature.name for f in graph_def.library.function}


def disallowed_ops(function) -> set[str]:
    """Ops of `function` that TF Serving cannot run (neither core TF nor an allowed text op)."""
    ops = graph_ops(function) - ALLOWED_TEXT_OPS
    return {op for op in ops if not hasattr(tf.raw_ops, op)}


def check_serving_ops(function) -> None:
    """Raises ValueError naming every op of `function` that TF Serving cannot run."""
    bad = disallowed_ops(function)
    if bad:
        raise ValueError(
            f"the graph uses ops TF Serving does not link: {sorted(bad)}; allowed are core "
            f"TensorFlow ops and {sorted(ALLOWED_TEXT_OPS)}"
        )
