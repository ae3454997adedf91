"""The export tasks by name, and `build_task`, which checks the options and builds one.

A task turns a tfbert model plus its tokenizer into `tf.function`s over raw strings, one per
SavedModel signature: `serving_default` on `text`, `text_pair` on `text_a`/`text_b` where pairs
make sense, `preprocess` (the three int32 features), and for classifiers `classify` and
`classify_pair` on tf.Examples (TF Serving's Classify API). Texts are padded to the longest in
the batch and truncated at `seq_length`. `reference` computes the same outputs from the Keras model
called eagerly plus NumPy post-processing, which export validation compares the SavedModel to.

>>> import os, tempfile, tensorflow as tf, tfbert
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> _ = open(path, "w").write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]))
>>> model = tfbert.BertClassifier(tfbert.BertConfig.preset("bert_tiny"), num_labels=2,
...                               labels=["no", "yes"])
>>> task = build_task("classify", model, path, lower_case=True, seq_length=16)
>>> sorted(task.signatures())
['classify', 'classify_pair', 'preprocess', 'serving_default', 'text_pair']
>>> sorted(task.signatures()["serving_default"](tf.constant(["hi", ""])))
['label', 'logits', 'probabilities']
"""
from __future__ import annotations

from typing import Any, Mapping

from tfbert.export.masked_lm_task import MaskedLMTask
from tfbert.export.qa_export import QATask
from tfbert.export.regress_export import RegressTask
from tfbert.export.sequence_tasks import ClassifyTask, EmbedTask
from tfbert.export.serving_task import ServingTask
from tfbert.export.tagging_export import TagTask
from tfbert.models import TaskModel

TASKS: dict[str, type[ServingTask]] = {
    task.name: task for task in (EmbedTask, ClassifyTask, RegressTask, MaskedLMTask, TagTask,
                                 QATask)}
# The fine-tuning settings (finetuning.json) that shape a task's serving graph.
TASK_SETTINGS = {"tag": ("stride",),
                 "qa": ("max_query_length", "doc_stride", "max_answer_length", "n_best",
                        "null_threshold")}


def build_task(name: str, model: TaskModel, vocab_file: str, *, lower_case: bool,
               seq_length: int, pooling: str = "cls", normalize: bool = False,
               top_k: int = 5, settings: Mapping[str, Any] | None = None,
               compat: str = "google") -> ServingTask:
    """The `ServingTask` called `name` for `model`; options that do not apply must be defaults.

    `settings` are the model's fine-tuning settings; those in `TASK_SETTINGS[name]` (e.g.
    tagging's stride, QA's doc stride and no-answer threshold) shape the graph as they shaped
    the in-process predictions.
    """
    if name not in TASKS:
        raise ValueError(f"`task` must be one of {', '.join(TASKS)}; got {name!r}")
    if name != "embed" and (pooling != "cls" or normalize):
        raise ValueError(f"`pooling` and `normalize` apply to task 'embed' only; got task {name!r}")
    if name != "mlm" and top_k != 5:
        raise ValueError(f"`top_k` applies to task 'mlm' only; got task {name!r}")
    limit = model.config.max_position_embeddings
    if not isinstance(seq_length, int) or not 3 <= seq_length <= limit:
        raise ValueError(f"`seq_length` must be an int in [3, {limit}] (the model's "
                         f"max_position_embeddings); got {seq_length!r}")
    options = {"embed": {"pooling": pooling, "normalize": normalize},
               "mlm": {"top_k": top_k}}.get(name, {})
    options.update({key: value for key, value in (settings or {}).items()
                    if key in TASK_SETTINGS.get(name, ())})
    return TASKS[name](model, vocab_file, lower_case, seq_length, compat=compat, **options)
