"""Fine-tuning any model directory for a task with `model.fit`, and evaluating as it trains.

The task (`tfbert.tasks`) brings the data, the head, the loss and the metrics; the run is
`tfbert.training.run.train`, shared with pretraining. After every epoch the `--eval` file is
scored with the task's standard metrics (`val_accuracy`, `val_macro_f1`, `val_pearson`, ...),
which go to the epoch logs, `history.json` and TensorBoard.
"""
from __future__ import annotations

import os
from typing import Any

import keras
import tensorflow as tf

from tfbert.models.model_directory import FINE_TUNING_FILE, ModelDirectory
from tfbert.tasks import bucketing
from tfbert.tasks.registry import settings_json, task_class
from tfbert.tasks.task import Encoded, FineTuningTask, model_outputs
from tfbert.training.options import TrainingOptions
from tfbert.training.run import WarmStart, check_output, make_run_strategy, train


class TaskEvaluation(keras.callbacks.Callback):
    """Adds the task's scalar metrics on the eval examples to each epoch's logs (`val_NAME`)."""

    def __init__(self, task: FineTuningTask, examples, encoded: Encoded, batch_size: int,
                 bucketing: bool = True):
        super().__init__()
        self.task, self.examples, self.encoded = task, examples, encoded
        self.batch_size, self.bucketing = batch_size, bucketing

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        outputs = model_outputs(self.model, self.encoded, self.batch_size,
                                bucketing=self.bucketing)
        self.task.tune(self.examples, self.encoded, outputs)
        for name, value in self.task.scores(self.examples, self.encoded, outputs).items():
            if isinstance(value, (int, float)):
                logs[f"val_{name}"] = float(value)


def finetune(*, model_dir: str | os.PathLike, train_file: str | os.PathLike,
             out: str | os.PathLike, eval_file: str | os.PathLike | None = None,
             task: str = "classify", epochs: int = 3, batch_size: int = 32, seq_length: int = 128,
             settings: dict[str, Any] | None = None, overwrite: bool = False,
             options: TrainingOptions = TrainingOptions()) -> list[dict]:
    """Fine-tunes `model_dir` for `task` on `train_file`; writes the model directory `out`.

    `model_dir` is any model directory: a pretrained or converted encoder, a pretrainer, or a
    model of this task (its head is kept when it fits the training data, e.g. the same labels;
    otherwise a new head starts from scratch). `settings` are the task's options (for
    classify/regress: `text_column`, `text_pair_column`, `label_column`). `batch_size` is
    global; an epoch is one pass over the training file (`len // batch_size` batches).
    With `options.bucketing` (the default) batches are cut to length buckets and shuffled
    across them (`tfbert.tasks.bucketing.training_dataset`): each epoch a random
    `len % batch_size` examples sit out, every other one is seen once. Without it, batches are
    `seq_length` wide and the remainder carries over into the next epoch's first batch.
    Every input problem (a bad file line, a label of `eval_file` unseen in training, a
    `seq_length` beyond the model's positions) is raised before training starts. Returns the
    per-epoch history, also saved as `history.json` in `out` (with `finetuning.json`, the
    task and its settings, which `tfbert evaluate` and `tfbert predict` read).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"`epochs` and `batch_size` must be >= 1; got epochs={epochs}, "
                         f"batch_size={batch_size}.")
    if options.steps_per_epoch is not None:
        raise ValueError("`steps_per_epoch` does not apply to fine-tuning: an epoch is one pass "
                         f"over the training file; got steps_per_epoch={options.steps_per_epoch}.")
    check_output(out, overwrite)
    strategy = make_run_strategy(options)  # before the tokenizer runs TensorFlow
    source = ModelDirectory(model_dir)
    limit = source.config.max_position_embeddings
    if not isinstance(seq_length, int) or not 3 <= seq_length <= limit:
        raise ValueError(f"`seq_length` must be an int in [3, {limit}] (the model's "
                         f"max_position_embeddings); got {seq_length!r}.")
    fine_tuning = task_class(task)(source.tokenizer(), seq_length, settings or {})
    train_examples = fine_tuning.read(str(train_file), training=True)
    fine_tuning.configure(train_examples)
    eval_examples = None
    if eval_file is not None:
        eval_examples = fine_tuning.read(str(eval_file), training=False)
        fine_tuning.check(eval_examples)
    train_encoded = fine_tuning.encode(train_examples, training=True)
    eval_encoded = fine_tuning.encode(eval_examples, training=False) if eval_examples else None
    steps_per_epoch = len(train_encoded) // batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"`batch_size` ({batch_size}) must be at most the number of training "
                         f"examples ({len(train_encoded)} in {train_file}).")
    keep_head = fine_tuning.keeps_head(source)
    # Under XLA a batch length compiles once: four buckets; a plain graph takes any length.
    # The model is built at the resolved dtype, so one answer serves data and step.
    compiled = options.resolved_jit_compile(options.resolved_dtype()[0],
                                            fixed_length=not options.bucketing)

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
        if options.bucketing:
            return bucketing.training_dataset(
                train_encoded, per_replica, seed=options.seed, epochs=epochs, compiled=compiled,
                num_replicas=input_context.num_replicas_in_sync,
                num_pipelines=input_context.num_input_pipelines,
                pipeline=input_context.input_pipeline_id)
        return training_dataset(train_encoded, per_replica, seed=options.seed,
                                num_shards=input_context.num_input_pipelines,
                                shard=input_context.input_pipeline_id)

    def compile_model(model, optimizer) -> None:
        fine_tuning.compile_model(
            model, optimizer, jit_compile=compiled,
            steps_per_execution=options.steps_per_execution)

    def validation() -> tf.data.Dataset | None:
        if eval_encoded is None or eval_encoded.y is None:
            return None
        if options.bucketing:
            return bucketing.evaluation_dataset(eval_encoded, batch_size, compiled)
        data = (eval_encoded.x, eval_encoded.y) if eval_encoded.sample_weight is None else (
            eval_encoded.x, eval_encoded.y, eval_encoded.sample_weight)
        return bucketing.without_autotune(tf.data.Dataset.from_tensor_slices(data).batch(
            batch_size))

    def callbacks(model) -> list[keras.callbacks.Callback]:
        if eval_examples is None:
            return []
        return [TaskEvaluation(fine_tuning, eval_examples, eval_encoded, batch_size,
                               bucketing=options.bucketing)]

    _, history = train(
        kind="finetune", out=out, dataset_fn=dataset_fn, compile_model=compile_model,
        build=lambda dtype: fine_tuning.build_model(source.config, dtype),
        warm_start=WarmStart(source, allow_missing=() if keep_head
                             else fine_tuning.head_prefixes),
        total_steps=epochs * steps_per_epoch, steps_per_epoch=steps_per_epoch,
        batch_size=batch_size, vocab_file=source.vocab_file, lower_case=source.lower_case,
        options=options, validation_data=validation, callbacks=callbacks, overwrite=overwrite,
        extra_files=lambda: {FINE_TUNING_FILE: settings_json(fine_tuning)},
        strategy=strategy)
    return history


def training_dataset(encoded: Encoded, batch_size: int, *, seed: int, num_shards: int = 1,
                     shard: int = 0) -> tf.data.Dataset:
    """Batches of `(x, y[, sample_weight])` rows of `encoded` at full length, reshuffled every
    pass (the same way in every run with this `seed`), this input pipeline's shard only,
    repeated (the `options.bucketing=False` pipeline)."""
    data = (encoded.x, encoded.y) if encoded.sample_weight is None else (
        encoded.x, encoded.y, encoded.sample_weight)
    rows = tf.nest.map_structure(tf.constant, data)
    indices = tf.data.Dataset.range(len(encoded)).shard(num_shards, shard)
    indices = indices.shuffle(len(encoded), seed=seed, reshuffle_each_iteration=True)
    batches = indices.repeat().batch(batch_size, drop_remainder=True)
    return bucketing.without_autotune(batches.map(lambda batch: tf.nest.map_structure(
        lambda column: tf.gather(column, batch), rows), num_parallel_calls=tf.data.AUTOTUNE))
