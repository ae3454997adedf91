"""`export_model`: a model directory -> a validated, versioned raw-string SavedModel.

The SavedModel is written to a hidden sibling staging directory, validated (op audit, reload
through the TF1 session loader, every signature compared with the Keras model), and only then
renamed to `VERSION`; a failure removes the staging directory, so TF Serving never sees half a
version. Layout of `saved_models/NAME/VERSION`:

    saved_model.pb, variables/      the graph (text -> model -> outputs) and the weights
    fingerprint.pb                  TF's fingerprint (hashes) of that saved_model.pb
    assets/vocab.txt                the WordPiece vocabulary (a SavedModel asset)
    assets.extra/tfbert.json        task, signatures, seq_length and the task's options
    assets.extra/labels.txt         classify, tag: the label names, one per line
    assets.extra/tf_serving_warmup_requests
                                    one warm-up request per signature (`tfbert.export.warmup`),
                                    replayed by TF Serving and `tfbert serve` before the
                                    version serves, and by the exporter before the rename
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
# TF has no public API that computes a SavedModel fingerprint: `tf.saved_model.save` writes
# fingerprint.pb with this C++ binding, and `tf.saved_model.experimental.read_fingerprint`
# only reads it. It is the one private TF module tfbert uses (typed in its .pyi since TF 2.12).
from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

from tfbert.export.serving_task import ServingTask
from tfbert.export.tasks import build_task
from tfbert.export.validation import validate
from tfbert.export.warmup import EXTRA_DIR, warmup_logs, write_warmup
from tfbert.models.model_directory import ModelDirectory, staged_directory
from tfbert.names import DEFAULT_SERVING_VERSION
from tfbert.text.serving_ops import check_serving_version

FINGERPRINT_FILE = "fingerprint.pb"
INFO_FILE = "tfbert.json"
LABELS_FILE = "labels.txt"


def _version_directory(out: str | os.PathLike, overwrite: bool) -> Path:
    """`out` after checking that it names an integer version that may be written."""
    out = Path(out)
    if not re.fullmatch(r"[0-9]+", out.name):
        raise ValueError(f"`out` must end in an integer version directory, as TF Serving "
                         f"expects (saved_models/NAME/1); got {str(out)!r}")
    if out.exists() and not overwrite:
        raise FileExistsError(f"version {out} exists; pass overwrite=True (`--overwrite`) to "
                              "replace it, or export to a new version number")
    return out


def _save(task: ServingTask, vocab_file: str, directory: Path) -> None:
    """Writes the SavedModel of `task` (signatures, weights, vocab asset) to `directory`."""
    module = tf.Module()
    concrete = {name: function.get_concrete_function()
                for name, function in task.signatures().items()}
    # The raw tf.Variables must be tracked on the module, or the TF1 session loader (TF
    # Serving) fails with "Could not find variable" (see DESIGN.md, platform facts).
    variables = {v.ref(): v for fn in concrete.values() for v in fn.variables}
    module.model_variables = list(variables.values())
    module.vocab_file = tf.saved_model.Asset(vocab_file)
    tf.saved_model.save(module, str(directory), signatures=concrete)
    if task.example_signatures:
        _mark_methods(directory / "saved_model.pb", task.example_signatures)
        _refresh_fingerprint(directory)


def _mark_methods(model_file: Path, signatures) -> None:
    """Gives each of `signatures` (name -> ExampleSignature) its TF Serving method (classify or
    regress): TF2's `tf.saved_model.save` writes every signature as a Predict one, and TF
    Serving's Classify and Regress refuse those when its method name check is on."""
    saved_model = saved_model_pb2.SavedModel.FromString(model_file.read_bytes())
    for meta_graph in saved_model.meta_graphs:
        for name, signature in signatures.items():
            meta_graph.signature_def[name].method_name = signature.method
    model_file.write_bytes(saved_model.SerializeToString(deterministic=True))  # as TF writes it


def _refresh_fingerprint(directory: Path) -> None:
    """Recomputes the fingerprint.pb that `tf.saved_model.save` wrote, after saved_model.pb
    changed (its checksum and SignatureDef hash change), the way TF computes it."""
    path = directory / FINGERPRINT_FILE
    if not path.exists():  # fingerprinting is off in this TF's configuration
        return
    try:
        path.write_bytes(fingerprinting.CreateFingerprintDef(str(directory)))
    except fingerprinting.FingerprintException as error:
        raise ValueError(f"cannot fingerprint the SavedModel in {directory}: {error}") from None


def _write_extra(task: ServingTask, directory: Path, signatures: list[str],
                 serving_version: str) -> None:
    extra = directory / EXTRA_DIR
    extra.mkdir(exist_ok=True)  # the warm-up file is already there
    info = {**task.info(), "signatures": signatures, "serving_version": serving_version}
    (extra / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    if "labels" in info:
        (extra / LABELS_FILE).write_text("\n".join(info["labels"]) + "\n", encoding="utf-8")


def export_model(model_dir: str | os.PathLike, task: str, out: str | os.PathLike, *,
                 pooling: str | None = None, normalize: bool | None = None,
                 seq_length: int | None = None, top_k: int = 5, overwrite: bool = False,
                 serving_version: str = DEFAULT_SERVING_VERSION,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Exports the model directory `model_dir` for `task` to the version directory `out`.

    `task`: "embed" (any model; `pooling` "cls" or "mean" and `normalize`, by default those
    the model directory records, e.g. from a sentence-transformers folder, else "cls" and
    False), "classify" (a
    BertClassifier), "regress" (a BertRegressor), "mlm" (a BertPretrainer; `top_k` tokens per
    [MASK]), "tag" (a BertTokenClassifier: entities, long texts in windows) or "qa" (a
    BertSpanQA: `question` and `context`, long contexts in windows). `seq_length` caps the
    packed length (default: the fine-tuning `--seq-length` of a fine-tuned directory, so that
    served answers equal `tfbert predict --model`'s; for embed, the recorded embedding
    seq_length, e.g. sentence-transformers' max_seq_length; else max_position_embeddings);
    a fine-tuned directory's settings (tagging stride; QA doc stride, answer length, no-answer
    threshold) shape the graph too. The tokenizer lower-cases, and follows the tokenizer
    rules (`tokenizer_compat`), as the model directory says.
    `serving_version` (one of `tfbert.names.SERVING_VERSIONS`, default the oldest) is the
    oldest TF Serving release the export must run on: the op audit allows only what that
    release links, and assets.extra/tfbert.json records it. Returns `out`.

    Typical use (the CLI's `tfbert export`)::

        export_model("models/sentiment", "classify", "saved_models/sentiment/1")

    >>> export_model("models/sentiment", "classify", "saved_models/sentiment/latest")
    Traceback (most recent call last):
    ...
    ValueError: `out` must end in an integer version directory, as TF Serving expects \
(saved_models/NAME/1); got 'saved_models/sentiment/latest'
    """
    out = _version_directory(out, overwrite)
    check_serving_version(serving_version)
    report = progress or (lambda message: None)
    source = ModelDirectory(model_dir)
    vocab_file, lower_case = source.vocab_file, source.lower_case
    fine_tuning = source.fine_tuning()
    embedding = source.embedding if task == "embed" else {}
    pooling = embedding.get("pooling", "cls") if pooling is None else pooling
    normalize = embedding.get("normalize", False) if normalize is None else normalize
    if seq_length is None:
        seq_length = fine_tuning.get("seq_length", embedding.get(
            "seq_length", source.config.max_position_embeddings))
    report(f"loading {model_dir}")
    model = source.load()
    serving = build_task(task, model, str(vocab_file), lower_case=lower_case,
                         seq_length=seq_length, pooling=pooling, normalize=normalize, top_k=top_k,
                         settings=fine_tuning.get("settings"), compat=source.tokenizer_compat)
    with staged_directory(out) as staging:
        report(f"writing the SavedModel (task {task}, seq_length {seq_length})")
        _save(serving, str(vocab_file), staging)
        write_warmup(staging, warmup_logs(serving))
        report("validating: op audit, TF1 session loader, signatures vs the Keras model, "
               "warm-up requests")
        signatures = validate(staging, serving, serving_version=serving_version)
        _write_extra(serving, staging, signatures, serving_version)
    report(f"exported {out}: signatures {', '.join(signatures)}")
    return out
