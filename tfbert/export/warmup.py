"""TF Serving's warm-up file: one request per signature, written by every export and replayed
before a version serves.

When TF Serving loads a version (`--enable_model_warmup`, on by default) it reads
`assets.extra/tf_serving_warmup_requests`, a TFRecord file of `tensorflow.serving.PredictionLog`
records, runs each request once against the new version, and fails the load if a request fails,
if a record is not a PredictionLog or the file not TFRecords, or if there are more than 1,000
records; the first requests then meet an initialised session. A record's
`model_spec.signature_name` must be the signature's key (empty means `serving_default`); its
model name and version are not used, so the exports leave them empty. `tfbert serve` replays the
same file (`ModelVersions`), and so does the exporter, which also checks that every output has
the request's batch first, as TF Serving's request batching needs.

>>> from tensorflow_serving.apis import prediction_log_pb2
>>> log = prediction_log_pb2.PredictionLog()
>>> log.predict_log.request.model_spec.signature_name = "serving_default"
>>> log.predict_log.request.inputs["text"].CopyFrom(tf.make_tensor_proto([b"hello"]))
>>> import tempfile
>>> directory = tempfile.mkdtemp()
>>> _ = write_warmup(directory, [log])
>>> [record.predict_log.request.model_spec.signature_name for record in read_warmup(directory)]
['serving_default']
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow_serving.apis import (classification_pb2, predict_pb2, prediction_log_pb2,
                                     regression_pb2)

from tfbert.export.examples import (CLASSIFY_CLASSES, CLASSIFY_INPUTS, CLASSIFY_METHOD,
                                    CLASSIFY_SCORES, REGRESS_METHOD, REGRESS_OUTPUTS)
from tfbert.export.serving_task import ServingTask
from tfbert.export.session_model import SessionModel

EXTRA_DIR = "assets.extra"  # the SavedModel's extra files, beside assets/
WARMUP_FILE = "tf_serving_warmup_requests"  # the name TF Serving looks for in assets.extra
MAX_RECORDS = 1000  # TF Serving refuses a warm-up file with more records
DEFAULT_SIGNATURE = "serving_default"  # what an empty model_spec.signature_name means
# Small real inputs: a sentence and an empty text (a [MASK] for masked-LM exports). The
# `preprocess` records carry empty texts only: for tag and qa it returns one row per window,
# and only an empty text is one window whatever seq_length, as request batching needs.
WARMUP_TEXTS = ("The quick brown fox jumps over the lazy dog.", "")
WARMUP_MASKED_TEXTS = ("The quick brown [MASK] jumps over the lazy dog.", "")
PREPROCESS_TEXTS = ("", "")
_REPLAYED = ("predict_log", "classify_log", "regress_log")  # the record kinds tfbert runs


def warmup_path(directory: str | os.PathLike) -> Path:
    """`directory/assets.extra/tf_serving_warmup_requests`."""
    return Path(directory) / EXTRA_DIR / WARMUP_FILE


def warmup_logs(task: ServingTask) -> list[prediction_log_pb2.PredictionLog]:
    """One PredictionLog per signature of `task`, sorted by signature: a Classify (Regress)
    request for its classification (regression) signatures, on the Examples of that API, a
    Predict request for the others, each on two small texts (see WARMUP_TEXTS)."""
    # Imported here: validation replays the warm-up file this module writes.
    from tfbert.export.validation import sample_inputs

    texts = WARMUP_MASKED_TEXTS if task.name == "mlm" else WARMUP_TEXTS
    inputs = sample_inputs(task, texts)
    inputs["preprocess"] = sample_inputs(task, PREPROCESS_TEXTS)["preprocess"]
    logs = []
    for signature in sorted(inputs):
        log = prediction_log_pb2.PredictionLog()
        if signature in task.example_signatures:
            method = task.example_signatures[signature].method
            request = (log.classify_log if method == CLASSIFY_METHOD else log.regress_log).request
            for serialized in inputs[signature][CLASSIFY_INPUTS]:
                request.input.example_list.examples.add().ParseFromString(serialized)
        else:
            request = log.predict_log.request
            for name, value in inputs[signature].items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
        request.model_spec.signature_name = signature
        logs.append(log)
    return logs


def write_warmup(directory: str | os.PathLike,
                 logs: Sequence[prediction_log_pb2.PredictionLog]) -> Path:
    """Writes `logs` as the warm-up file of the SavedModel in `directory`; returns its path."""
    if not 1 <= len(logs) <= MAX_RECORDS:
        raise ValueError(f"a warm-up file holds 1 to {MAX_RECORDS} records (TF Serving's "
                         f"limit); got {len(logs)}")
    path = warmup_path(directory)
    path.parent.mkdir(exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def read_warmup(directory: str | os.PathLike) -> list[prediction_log_pb2.PredictionLog]:
    """The warm-up records of the SavedModel in `directory` ([] without a warm-up file).

    Raises ValueError naming the file if it is not TFRecords, a record is not a PredictionLog,
    or it has more than MAX_RECORDS records: TF Serving fails the load in each case.
    """
    path = warmup_path(directory)
    if not path.is_file():
        return []
    logs = []
    try:
        for index, record in enumerate(tf.data.TFRecordDataset(str(path))):
            if index == MAX_RECORDS:
                raise ValueError(f"{path} has more than {MAX_RECORDS} warm-up records, "
                                 "TF Serving's limit")
            try:
                logs.append(prediction_log_pb2.PredictionLog.FromString(record.numpy()))
            except DecodeError:
                raise ValueError(f"{path}: record {index + 1} is not a "
                                 "tensorflow.serving.PredictionLog") from None
    except tf.errors.OpError as error:
        raise ValueError(f"{path} is not a TFRecord file of PredictionLog records: "
                         f"{error.message}") from None
    return logs


def serialized_examples(request_input) -> np.ndarray:
    """The Examples of a Classify or Regress request's `input` (a `tensorflow.serving.Input`),
    serialized; with a context, each example gets the context's features, its own taking
    precedence (as TF Serving merges them). Raises ValueError for an input without examples."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples, context = request_input.example_list.examples, None
    elif kind == "example_list_with_context":
        examples = request_input.example_list_with_context.examples
        context = request_input.example_list_with_context.context
    else:
        raise ValueError("Classify and Regress take input.example_list or "
                         "input.example_list_with_context")
    if not examples:
        raise ValueError(f"input.{kind} has no examples")
    serialized = []
    for example in examples:
        if context is not None:
            merged = tf.train.Example()
            merged.CopyFrom(context)
            for key, feature in example.features.feature.items():
                merged.features.feature[key].CopyFrom(feature)
            example = merged
        serialized.append(example.SerializeToString())
    return np.array(serialized, object)


def _signature(log: prediction_log_pb2.PredictionLog) -> str:
    """The signature a predict, classify or regress record names ("" for other records)."""
    kind = log.WhichOneof("log_type")
    if kind not in _REPLAYED:
        return ""
    return getattr(log, kind).request.model_spec.signature_name or DEFAULT_SIGNATURE


def _run(model: SessionModel, log: prediction_log_pb2.PredictionLog, signature: str
         ) -> tuple[int, dict[str, np.ndarray]]:
    """(batch size, outputs) of one warm-up record run on `model`."""
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request: predict_pb2.PredictRequest = log.predict_log.request
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        outputs = model.run(signature, inputs, tuple(request.output_filter))
        return (len(next(iter(inputs.values()))) if inputs else 0), outputs
    if kind == "classify_log":
        request: classification_pb2.ClassificationRequest = log.classify_log.request
        method = model.signature(signature).method_name
        if method != CLASSIFY_METHOD:
            raise ValueError(f"signature {signature!r} has method {method!r}; a Classify "
                             f"request needs {CLASSIFY_METHOD!r}")
        examples = serialized_examples(request.input)
        outputs = model.run(signature, {CLASSIFY_INPUTS: examples})
        if not {CLASSIFY_CLASSES, CLASSIFY_SCORES} & set(outputs):
            raise ValueError(f"classification signature {signature!r} has neither a "
                             f"{CLASSIFY_CLASSES!r} nor a {CLASSIFY_SCORES!r} output")
        return len(examples), outputs
    if kind == "regress_log":
        request: regression_pb2.RegressionRequest = log.regress_log.request
        method = model.signature(signature).method_name
        if method != REGRESS_METHOD:
            raise ValueError(f"signature {signature!r} has method {method!r}; a Regress "
                             f"request needs {REGRESS_METHOD!r}")
        examples = serialized_examples(request.input)
        outputs = model.run(signature, {CLASSIFY_INPUTS: examples})
        values = outputs.get(REGRESS_OUTPUTS)
        if values is None or values.dtype != np.float32 or values.shape not in (
                (len(examples),), (len(examples), 1)):
            raise ValueError(f"regression signature {signature!r} must answer one float32 "
                             f"output {REGRESS_OUTPUTS!r} [{len(examples)}]; it gives "
                             f"{ {k: (v.dtype.name, list(v.shape)) for k, v in outputs.items()} }")
        return len(examples), outputs
    raise ValueError(f"it is a {kind or 'empty'} record; tfbert replays predict_log, "
                     "classify_log and regress_log records only")


def replay_warmup(model: SessionModel, batch_first: bool = False) -> int:
    """Runs every warm-up record of the SavedModel `model` was loaded from, in order, as TF
    Serving does before the version serves; returns how many ran (0 without a warm-up file).

    `batch_first` also requires every output to have the request's batch size first (TF
    Serving's request batching splits outputs along it). Raises ValueError naming the file,
    the record and its signature for the first record that fails.
    """
    logs = read_warmup(model.path)
    for index, log in enumerate(logs):
        signature = _signature(log)
        where = (f"warm-up record {index + 1} of {len(logs)} in {warmup_path(model.path)}"
                 + (f" (signature {signature!r})" if signature else ""))
        try:
            batch, outputs = _run(model, log, signature)
        except (ValueError, TypeError, LookupError, tf.errors.OpError) as error:
            message = (error.message.split("\n\t [[")[0]  # without the graph node dump
                       if isinstance(error, tf.errors.OpError) else str(error))
            raise ValueError(f"{where} failed: {message}") from None
        if batch_first:
            ragged = sorted(name for name, value in outputs.items()
                            if np.ndim(value) == 0 or len(value) != batch)
            if ragged:
                raise ValueError(f"{where}: the outputs {ragged} do not have the request's "
                                 f"batch size {batch} first, as TF Serving's request batching "
                                 "needs")
    return len(logs)
