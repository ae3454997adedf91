"""`train`: the one training run that pretraining and every fine-tuning task share.

A run checks its output, builds the distribution strategy, seeds, builds the model under the
strategy's scope, warm-starts it from a model directory (a new head may be missing), creates the
optimizer, compiles, fits (`fit_model`: resumable, logged, checkpointed), and finally writes the
model directory `out` atomically with `history.json`, on the chief only. What differs between
pretraining and the tasks (data, head, loss, metrics) comes in as arguments.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable, Mapping

import keras
import tensorflow as tf

from tfbert.models.model_directory import ModelDirectory, save
from tfbert.models.task_model import TaskModel
from tfbert.training.options import TrainingOptions
from tfbert.training.strategy import is_chief, make_strategy
from tfbert.training.trainer import DatasetFn, finish, fit_model


@dataclasses.dataclass(frozen=True)
class WarmStart:
    """Start from the weights of `source`; variables under `allow_missing` (a new head) may be
    absent from it."""

    source: ModelDirectory
    allow_missing: tuple[str, ...] = ()


def check_output(out: str | os.PathLike, overwrite: bool) -> Path:
    """`out` as a Path, if it may be written: absent, empty, or `overwrite`."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass overwrite=True "
                              "(`--overwrite`) to replace it.")
    return out


def make_run_strategy(options: TrainingOptions) -> tf.distribute.Strategy:
    """The distribution strategy of `options`; call it before any other TensorFlow work of
    the process (logical CPU devices and TPU systems must be set up first)."""
    return make_strategy(options.strategy, num_cpu_devices=options.num_cpu_devices,
                         tpu=options.tpu)


def train(*, kind: str, out: str | os.PathLike, build: Callable[[str], TaskModel],
          compile_model: Callable[[TaskModel, keras.optimizers.Optimizer], None],
          dataset_fn: DatasetFn, total_steps: int, steps_per_epoch: int | None,
          batch_size: int, vocab_file: str | os.PathLike, lower_case: bool,
          options: TrainingOptions, warm_start: WarmStart | None = None,
          validation_data: Callable[[], tf.data.Dataset | None] | None = None,
          callbacks: Callable[[TaskModel], list[keras.callbacks.Callback]] | None = None,
          overwrite: bool = False,
          extra_files: Callable[[], Mapping[str, str]] | None = None,
          strategy: tf.distribute.Strategy | None = None) -> tuple[TaskModel, list[dict]]:
    """Trains the model `build(dtype)` makes and writes it as the model directory `out`.

    `kind` is "pretrain" or "finetune" (it picks the default learning rate). `compile_model`
    compiles the model with its optimizer (loss and metrics of the task); `dataset_fn` gives an
    input pipeline's `(x, y, sample_weight)` batches (see `fit_model`); `batch_size` is global.
    `validation_data` (called after the strategy exists) gives the data evaluated after every
    epoch; `callbacks(model)` adds task callbacks; `extra_files()` gives files (name -> text)
    for `out` and every checkpoint, beside `history.json`. `strategy` is the one `options` describe, made by the caller
    when it must run TensorFlow before the run (it has to exist before TF's first op; see
    `make_run_strategy`). `dtype` is the Keras dtype policy `options.resolved_dtype()` picks
    (printed on the chief, with why, and whether the step runs under XLA). Returns the trained
    model and the per-epoch history.
    """
    out = check_output(out, overwrite)
    strategy = strategy or make_run_strategy(options)
    keras.utils.set_random_seed(options.seed)
    dtype, reason = options.resolved_dtype()
    if is_chief(strategy):
        print(f"dtype {dtype}: {reason}", flush=True)
    with strategy.scope():
        model = build(dtype)
        if warm_start is not None:
            warm_start.source.warm_start(model, allow_missing=warm_start.allow_missing)
        optimizer = options.create_optimizer(model, total_steps, kind)
        compile_model(model, optimizer)
    if is_chief(strategy):
        print(f"training step: {'XLA' if model.jit_compile else 'TensorFlow graph, no XLA'}",
              flush=True)

    def files() -> dict[str, str]:
        return dict(extra_files()) if extra_files else {}

    # Training tokenizes as its source directory does (fine-tuning via ModelDirectory.tokenizer,
    # continued pretraining via the data pipeline); a model trained from scratch as original BERT.
    compat = warm_start.source.tokenizer_compat if warm_start else "google"

    def save_checkpoint(trained: keras.Model, path: Path) -> None:
        save(trained, path, vocab_file=vocab_file, do_lower_case=lower_case, overwrite=True,
             extra_files=files(), tokenizer_compat=compat)

    work_dir = options.resolved_work_dir(out)
    history = fit_model(model, dataset_fn, strategy=strategy, total_steps=total_steps,
                        steps_per_epoch=steps_per_epoch, global_batch_size=batch_size,
                        work_dir=work_dir, save_checkpoint=save_checkpoint,
                        checkpoint_every=options.checkpoint_every,
                        validation_data=validation_data() if validation_data else None,
                        task_callbacks=callbacks(model) if callbacks else (),
                        verbose=options.keras_verbose())
    if is_chief(strategy):
        save(model, out, vocab_file=vocab_file, do_lower_case=lower_case, overwrite=overwrite,
             extra_files={"history.json": json.dumps(history, indent=1) + "\n", **files()},
             tokenizer_compat=compat)
    finish(work_dir, strategy)
    return model, history
