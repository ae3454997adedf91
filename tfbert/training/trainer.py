"""`fit_model`: `model.fit` for a fixed number of steps, fault tolerant and distributed.

Shared by pretraining and fine-tuning. Training runs `total_steps` optimizer steps as epochs
of `steps_per_epoch` steps; an epoch is the unit of logging (TensorBoard, `history.json`),
backup and checkpoints.

Resumption. `keras.callbacks.BackupAndRestore` writes the weights, the optimizer state and the
epoch count at the end of every epoch, per worker. A restarted command finds that backup and
`fit` continues at the next epoch. The data position follows from the epoch: the input pipeline
is deterministic for a seed, so the resumed run rebuilds it and skips the
`epoch · steps_per_epoch` batches already consumed (`Dataset.skip`, which runs only the input
pipeline, not the model). The batches after the restart are therefore exactly those an
uninterrupted run would have seen: none repeated, none skipped. Dropout's random state, which
Keras' weight files leave out, is saved alongside (`RandomState`), so the restarted run also
draws the same dropout masks.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Sequence

import keras
import tensorflow as tf

from tfbert.training.callbacks import HistoryLog, PeriodicCheckpoint, RandomState, ThroughputLogger
from tfbert.training.strategy import is_chief, worker_index

BACKUP_DIR = "backup"
LOG_DIR = "logs"
CHECKPOINT_DIR = "checkpoints"
HISTORY_FILE = "history.json"

DatasetFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


def default_steps_per_epoch(total_steps: int, largest: int = 1000) -> int:
    """The largest divisor of `total_steps` that is at most `largest`.

    >>> default_steps_per_epoch(1500), default_steps_per_epoch(300), default_steps_per_epoch(7)
    (750, 300, 7)
    """
    return max(d for d in range(1, min(total_steps, largest) + 1) if total_steps % d == 0)


def resume_epoch(backup_dir: str | Path) -> int:
    """The epoch a `BackupAndRestore` backup in `backup_dir` resumes at (0 if none)."""
    metadata = Path(backup_dir) / "training_metadata.json"
    if not metadata.is_file():
        return 0
    return int(json.loads(metadata.read_text(encoding="utf-8"))["epoch"])


def fit_model(model: keras.Model, dataset_fn: DatasetFn, *, strategy: tf.distribute.Strategy,
              total_steps: int, steps_per_epoch: int | None, global_batch_size: int,
              work_dir: str | Path, save_checkpoint: Callable[[keras.Model, Path], object] | None,
              checkpoint_every: int = 1, validation_data: tf.data.Dataset | None = None,
              task_callbacks: Sequence[keras.callbacks.Callback] = (),
              verbose: int | str = "auto") -> list[dict]:
    """Trains a compiled `model` for `total_steps` steps; returns the per-epoch history.

    `dataset_fn(input_context)` returns this input pipeline's dataset of `(x, y, sample_weight)`
    batches of `input_context.get_per_replica_batch_size(global_batch_size)` rows (deterministic
    for its seed; repeated as needed); consecutive batches go to the pipeline's replicas in turn.
    `work_dir` receives the backup (deleted by `finish`), TensorBoard logs, `history.json` and,
    if `save_checkpoint` is given, a model directory every `checkpoint_every` epochs (chief only).
    `task_callbacks` run after validation and before the epoch is logged, so metrics they add to
    the epoch's logs reach `history.json` and TensorBoard.
    """
    if total_steps < 1:
        raise ValueError(f"`steps` must be >= 1; got {total_steps}.")
    steps_per_epoch = steps_per_epoch or default_steps_per_epoch(total_steps)
    if steps_per_epoch < 1 or total_steps % steps_per_epoch:
        raise ValueError(f"`steps_per_epoch` must divide `steps`; got steps={total_steps}, "
                         f"steps_per_epoch={steps_per_epoch}.")
    if global_batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"`batch_size` (global) must be a multiple of the "
                         f"{strategy.num_replicas_in_sync} replicas; got {global_batch_size}.")
    work_dir = Path(work_dir)
    chief = is_chief(strategy)
    backup_dir = backup_path(work_dir, strategy)
    skip = resume_epoch(backup_dir) * steps_per_epoch

    def distributed_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        # Each step takes one batch per replica fed by this pipeline.
        replicas = input_context.num_replicas_in_sync // input_context.num_input_pipelines
        return dataset_fn(input_context).repeat().skip(skip * replicas)

    dataset = strategy.distribute_datasets_from_function(distributed_fn)
    callbacks: list[keras.callbacks.Callback] = [
        ThroughputLogger(global_batch_size),
        *task_callbacks,
        HistoryLog(work_dir / HISTORY_FILE, write=chief),
        RandomState(backup_dir / "random_state.json"),
        keras.callbacks.BackupAndRestore(str(backup_dir), save_freq="epoch",
                                         delete_checkpoint=False),
    ]
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(str(work_dir / LOG_DIR), update_freq="epoch"))
        if save_checkpoint is not None:
            callbacks.append(PeriodicCheckpoint(work_dir / CHECKPOINT_DIR, save_checkpoint,
                                                every=checkpoint_every))
    model.fit(dataset, epochs=total_steps // steps_per_epoch, steps_per_epoch=steps_per_epoch,
              callbacks=callbacks, validation_data=validation_data, verbose=verbose,
              shuffle=False)
    return next(c for c in callbacks if isinstance(c, HistoryLog)).entries


def backup_path(work_dir: str | Path, strategy: tf.distribute.Strategy) -> Path:
    """Where this worker's `BackupAndRestore` state lives (each worker has its own)."""
    return Path(work_dir) / BACKUP_DIR / f"worker_{worker_index(strategy)}"


def finish(work_dir: str | Path, strategy: tf.distribute.Strategy) -> None:
    """Deletes this worker's backup once the final model directory is written, so that a
    rerun starts afresh."""
    backup = backup_path(work_dir, strategy)
    if backup.exists():
        shutil.rmtree(backup)
    if backup.parent.is_dir() and not any(backup.parent.iterdir()):
        backup.parent.rmdir()
