"""Fine-tuning a classifier with `model.fit`, from any model directory."""
from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from tfbert.models import BertClassifier
from tfbert.models.checkpoint import assign_weights, read_checkpoint
from tfbert.models.model_directory import CHECKPOINT, read_config, save, vocabulary
from tfbert.text import BertPreprocessor, BertTokenizer
from tfbert.training.classification_data import (LabelledText, label_vocabulary,
                                                 read_labelled_text)
from tfbert.training.options import TrainingOptions
from tfbert.training.strategy import is_chief, make_strategy
from tfbert.training.trainer import fit_model, finish

TASKS = ("classify",)
# BERT's fine-tuning defaults (the paper's range is 2e-5 to 5e-5).
DEFAULT_OPTIONS = TrainingOptions(learning_rate=5e-5)


def compile_classifier(model: BertClassifier, optimizer: keras.optimizers.Optimizer, *,
                       jit_compile: bool = False, steps_per_execution: int = 1) -> None:
    """Cross-entropy on `logits`, accuracy as the metric (`accuracy`, `val_accuracy`)."""
    model.compile(optimizer=optimizer,
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  metrics={"logits": [keras.metrics.SparseCategoricalAccuracy("accuracy")]},
                  jit_compile=jit_compile, steps_per_execution=steps_per_execution)


def classification_dataset(examples: LabelledText, labels: list[str], preprocessor:
                           BertPreprocessor, batch_size: int) -> tf.data.Dataset:
    """Batches of `(features, {"logits": label_ids})`, tokenized in the graph."""
    dataset = tf.data.Dataset.from_tensor_slices(_rows(examples, labels)).batch(batch_size)
    return dataset.map(lambda batch: _encode(batch, preprocessor),
                       num_parallel_calls=tf.data.AUTOTUNE)


def finetune(*, model_dir: str | os.PathLike, train_file: str | os.PathLike,
             out: str | os.PathLike, eval_file: str | os.PathLike | None = None,
             task: str = "classify", epochs: int = 3, batch_size: int = 32, seq_length: int = 128,
             text_column: str = "text", text_pair_column: str = "text_pair",
             label_column: str = "label", overwrite: bool = False,
             options: TrainingOptions = DEFAULT_OPTIONS) -> list[dict]:
    """Fine-tunes a `BertClassifier` on `train_file` and writes it as the model directory `out`.

    `model_dir` is any model directory with a vocab.txt: a pretrained or converted encoder,
    a pretrainer, or a classifier (its head is kept when its labels are the training labels,
    otherwise a new head starts from scratch). `batch_size` is global; an epoch is one pass
    over the training file (the last partial batch is dropped). The labels (sorted) are
    stored in `out`; `eval_file` labels must be among them. Returns the per-epoch history
    (`loss`, `accuracy`, and `val_loss`, `val_accuracy` with `eval_file`), also saved as
    `history.json` in `out`.
    """
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {', '.join(TASKS)}; got {task!r}.")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"`epochs` and `batch_size` must be >= 1; got epochs={epochs}, "
                         f"batch_size={batch_size}.")
    if options.steps_per_epoch is not None:
        raise ValueError("`steps_per_epoch` does not apply to fine-tuning: an epoch is one pass "
                         f"over the training file; got steps_per_epoch={options.steps_per_epoch}.")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass overwrite=True "
                              "(`--overwrite`) to replace it.")
    config, source_task, _ = read_config(model_dir)
    vocab_file, lower_case = vocabulary(model_dir,
                                        "fine-tuning tokenizes with the model's vocabulary.")
    columns = dict(text_column=text_column, text_pair_column=text_pair_column,
                   label_column=label_column)
    train = read_labelled_text(train_file, **columns)
    labels = label_vocabulary(train)
    evaluation = read_labelled_text(eval_file, **columns) if eval_file is not None else None
    if evaluation is not None:
        evaluation.label_ids(labels)  # unknown labels fail now, not after training
    steps_per_epoch = len(train) // batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"`batch_size` ({batch_size}) must be at most the number of training "
                         f"examples ({len(train)} in {train_file}).")

    strategy = make_strategy(options.strategy, num_cpu_devices=options.num_cpu_devices,
                             tpu=options.tpu)
    keras.utils.set_random_seed(options.seed)
    weights = read_checkpoint(Path(model_dir) / CHECKPOINT)
    keep_head = source_task.get("class") == "BertClassifier" and source_task.get("labels") == labels
    if not keep_head:
        weights = {name: value for name, value in weights.items()
                   if not name.startswith("classifier/")}
    total_steps = epochs * steps_per_epoch
    with strategy.scope():
        model = BertClassifier(config, num_labels=len(labels), labels=labels,
                               dtype=options.dtype)
        assign_weights(model, weights, allow_missing=("classifier/",))
        optimizer = options.create_optimizer(model, total_steps)
        compile_classifier(model, optimizer, jit_compile=options.resolved_jit_compile(),
                           steps_per_execution=options.steps_per_execution)
    preprocessor = BertPreprocessor(BertTokenizer(str(vocab_file), lower_case=lower_case),
                                    seq_length=seq_length)

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
        indices = tf.data.Dataset.range(len(train)).shard(input_context.num_input_pipelines,
                                                          input_context.input_pipeline_id)
        # Reshuffled every pass, the same way in every run with this seed.
        indices = indices.shuffle(len(train), seed=options.seed, reshuffle_each_iteration=True)
        rows = _rows(train, labels)
        batches = indices.repeat().batch(per_replica, drop_remainder=True)
        # Lambdas, not functools.partial: after pretraining in the same process (the demo),
        # autograph ran the converted `_encode` for a partial of `_gather` here.
        batches = batches.map(lambda batch_indices: _gather(batch_indices, rows))
        return batches.map(lambda batch: _encode(batch, preprocessor),
                           num_parallel_calls=tf.data.AUTOTUNE)

    validation = (classification_dataset(evaluation, labels, preprocessor, batch_size)
                  if evaluation is not None else None)

    def save_checkpoint(trained: keras.Model, path: Path) -> None:
        save(trained, path, vocab_file=vocab_file, do_lower_case=lower_case, overwrite=True)

    work_dir = options.resolved_work_dir(out)
    history = fit_model(model, dataset_fn, strategy=strategy, total_steps=total_steps,
                        steps_per_epoch=steps_per_epoch, global_batch_size=batch_size,
                        work_dir=work_dir, save_checkpoint=save_checkpoint,
                        checkpoint_every=options.checkpoint_every, validation_data=validation,
                        verbose=options.verbose)
    if is_chief(strategy):
        save(model, out, vocab_file=vocab_file, do_lower_case=lower_case, overwrite=overwrite,
             extra_files={"history.json": json.dumps(history, indent=1) + "\n"})
    finish(work_dir, strategy)
    return history


def _rows(examples: LabelledText, labels: list[str]) -> dict[str, tf.Tensor]:
    rows = {"text": tf.constant(examples.texts),
            "label": tf.constant(examples.label_ids(labels))}
    if examples.pairs is not None:
        rows["text_pair"] = tf.constant(examples.pairs)
    return rows


def _gather(indices: tf.Tensor, rows: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    return {name: tf.gather(column, indices) for name, column in rows.items()}


def _encode(batch: dict[str, tf.Tensor], preprocessor: BertPreprocessor):
    if "text_pair" in batch:
        features = preprocessor(batch["text"], batch["text_pair"])
    else:
        features = preprocessor(batch["text"])
    return features, {"logits": batch["label"]}
