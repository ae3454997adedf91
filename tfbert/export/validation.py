"""Export validation: a SavedModel is good only if TF Serving could run it and it gives the
Keras model's answers.

Four checks, each failing with a `ValueError` that says what is wrong: the op audit (only
core TensorFlow plus the tf-text kernels TF Serving links, see `tfbert.text.serving_ops`), a
reload through the TF1 session loader (as TF Serving's C++ loader does), every signature run
on sample texts and compared with the task's reference (max abs diff ≤ `tolerance`), and the
warm-up file, if written, replayed with every output batch-first (as TF Serving's batching
needs).
"""
from __future__ import annotations

import os

import numpy as np

from tfbert.export.examples import (CLASSIFY_INPUTS, CLASSIFY_METHOD, REGRESS_METHOD,
                                    REGRESS_OUTPUTS, serialize_examples)
from tfbert.export.session_model import SessionModel
from tfbert.export.warmup import replay_warmup
from tfbert.export.serving_task import ServingTask
from tfbert.names import DEFAULT_SERVING_VERSION
from tfbert.text.serving_ops import check_serving_ops

TOLERANCE = 1e-5

# Texts every export is run on: plain, empty, whitespace only, punctuation, accents, CJK and
# emoji, mixed case, and one far longer than any sequence length (so truncation is exercised).
SAMPLE_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "",
    "   \t ",
    "Héllo, WÖRLD! Ünïcödé, 中文 and emoji 🙂 (with punctuation).",
    "short",
    " ".join(["a long text that goes on and on"] * 150),
)
# For masked-LM exports: [MASK] anywhere, several per text, next to punctuation, and none.
SAMPLE_MASKED_TEXTS = (
    "The quick brown [MASK] jumps over the lazy dog.",
    "[MASK] [MASK], and [MASK]!",
    "no mask here",
    "",
    " ".join(["long text"] * 400) + " [MASK]",  # the [MASK] is truncated away
    "[MASK]",
)


def sample_inputs(task: ServingTask, texts: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Signature name -> inputs to validate it with: the task's `sample_inputs` of `texts`
    (default: SAMPLE_TEXTS, or SAMPLE_MASKED_TEXTS for mlm), plus tf.Examples for its
    classification and regression signatures."""
    if texts is None:
        texts = SAMPLE_MASKED_TEXTS if task.name == "mlm" else SAMPLE_TEXTS
    inputs = task.sample_inputs(tuple(texts))
    for signature, (_, source, _) in task.example_signatures.items():
        inputs[signature] = {CLASSIFY_INPUTS: serialize_examples(inputs[source])}
    return inputs


def validate(path: str | os.PathLike, task: ServingTask, texts: tuple[str, ...] | None = None,
             tolerance: float = TOLERANCE,
             serving_version: str = DEFAULT_SERVING_VERSION) -> list[str]:
    """Audits (for TF Serving `serving_version`), reloads and runs the SavedModel at `path`;
    returns the signatures checked.

    Raises ValueError describing the first failing check.
    """
    try:
        model = SessionModel(path)
    except RuntimeError as error:
        raise ValueError(f"export validation: the TF1 session loader (as in TF Serving) "
                         f"failed: {error}") from error
    try:
        try:
            check_serving_ops(model.meta_graph.graph_def, serving_version)
        except ValueError as error:
            raise ValueError(f"export validation: op audit failed: {error}") from error
        inputs = sample_inputs(task, texts)
        if set(model.signatures) != set(inputs):
            raise ValueError(f"export validation: the SavedModel has the signatures "
                             f"{sorted(model.signatures)}; expected {sorted(inputs)}")
        for signature, feed in inputs.items():
            method = model.signatures[signature].method_name
            wanted = task.example_signatures.get(signature)
            if wanted and method != wanted.method:
                api = "Classify" if wanted.method == CLASSIFY_METHOD else "Regress"
                raise ValueError(f"export validation: signature {signature!r} has method "
                                 f"{method!r}; TF Serving's {api} needs {wanted.method!r}")
            actual = model.run(signature, feed)
            regression = actual.get(REGRESS_OUTPUTS) if wanted and \
                wanted.method == REGRESS_METHOD else None
            if regression is not None and regression.dtype != np.float32:
                raise ValueError(f"export validation: output {REGRESS_OUTPUTS!r} of signature "
                                 f"{signature!r} is {regression.dtype.name}; TF Serving's "
                                 "Regress needs float32")
            problems = task.compare(actual, task.reference(signature, feed), tolerance)
            if problems:
                raise ValueError(f"export validation: signature {signature!r} does not match "
                                 f"the Keras model: {'; '.join(problems)}")
        try:
            replay_warmup(model, batch_first=True)
        except ValueError as error:
            raise ValueError(f"export validation: {error}") from error
    finally:
        model.close()
    return sorted(inputs)
