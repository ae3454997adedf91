"""Which ops a graph may use so that a given TF Serving version can run it, and an audit.

TF Serving links all core TensorFlow kernels of its own TF release, but of tensorflow-text
only the kernels below (since TF Serving 2.14; `TFText>RoundRobinTrim` since 2.20). An op
counts as core TensorFlow if `tf.raw_ops` has it, except the Python callbacks (`PyFunc`,
`EagerPyFunc`, `PyFuncStateless`: TF Serving has no Python) and, for a target below 2.20, the
core ops its TF release does not have yet (`tfbert.text.core_op_versions`, read from each
release's `tf.raw_ops`). Nor may a function be marked for XLA (`jit_compile=True`): the model
server compiles none unless started with `--xla_cpu_compilation_enabled`, and fails such a
request otherwise.

>>> @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
... def lengths(text):
...     return tf.strings.length(tf.strings.lower(text))
>>> sorted(op for op in graph_ops(lengths) if op not in ("Const", "NoOp", "Identity"))
['Placeholder', 'StringLength', 'StringLower']
>>> disallowed_ops(lengths, serving_version="2.14")
set()
"""
from __future__ import annotations

import tensorflow as tf

from tfbert.names import DEFAULT_SERVING_VERSION, SERVING_VERSIONS
from tfbert.text.core_op_versions import ADDED_AFTER_2_14

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
LATER_TEXT_OPS = {"TFText>RoundRobinTrim": "2.20"}  # tf-text op -> first TF Serving with it
PYTHON_OPS = frozenset({"PyFunc", "EagerPyFunc", "PyFuncStateless"})  # need a Python runtime


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check_serving_version(serving_version: str) -> str:
    """`serving_version` if it is one of `SERVING_VERSIONS`, else a ValueError."""
    if serving_version not in SERVING_VERSIONS:
        raise ValueError(f"`serving_version` must be one of {list(SERVING_VERSIONS)}; got "
                         f"{serving_version!r}")
    return serving_version


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


def _why_not(op: str, serving_version: str) -> str | None:
    """Why TF Serving `serving_version` cannot run `op`, or None if it can."""
    if op in PYTHON_OPS:
        return "a Python callback (TF Serving runs no Python)"
    if op in ALLOWED_TEXT_OPS:
        return None
    added = LATER_TEXT_OPS.get(op) or ADDED_AFTER_2_14.get(op)
    if added is not None:
        if _version_key(serving_version) >= _version_key(added):
            return None
        return f"added in TF Serving {added}"
    if not hasattr(tf.raw_ops, op):
        return "neither core TensorFlow nor a tf-text kernel TF Serving links"
    return None


def _xla_functions(function) -> set[str]:
    """Names of the library functions of `function`'s graph marked for XLA compilation."""
    return {f.signature.name for f in _graph_def(function).library.function
            if "_XlaMustCompile" in f.attr and f.attr["_XlaMustCompile"].b}


def _reasons(function, serving_version: str) -> dict[str, str]:
    """Ops (and XLA-marked functions) of `function` that TF Serving `serving_version` cannot
    run -> why."""
    check_serving_version(serving_version)
    reasons = {op: _why_not(op, serving_version) for op in graph_ops(function)}
    reasons.update({f"function {name}": "marked for XLA (jit_compile=True), which the model "
                    "server runs only when started with --xla_cpu_compilation_enabled"
                    for name in _xla_functions(function)})
    return {op: reason for op, reason in reasons.items() if reason is not None}


def disallowed_ops(function, serving_version: str = DEFAULT_SERVING_VERSION) -> set[str]:
    """Ops of `function` that TF Serving `serving_version` cannot run (and, as `function
    <name>`, its functions marked for XLA)."""
    return set(_reasons(function, serving_version))


def check_serving_ops(function, serving_version: str = DEFAULT_SERVING_VERSION) -> None:
    """Raises ValueError naming every op of `function` that TF Serving `serving_version`
    cannot run, and why."""
    bad = _reasons(function, serving_version)
    if bad:
        listed = "; ".join(f"{op}: {reason}" for op, reason in sorted(bad.items()))
        raise ValueError(
            f"the graph uses ops TF Serving {serving_version} cannot run: {listed}. Allowed "
            f"are core TensorFlow ops of TF {serving_version} (no Python callbacks) and "
            f"{sorted(ALLOWED_TEXT_OPS)}"
        )
