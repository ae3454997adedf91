"""Callbacks of tfbert training: the resumable history log and throughput/learning-rate logs."""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import keras


class ThroughputLogger(keras.callbacks.Callback):
    """Adds `examples_per_second` (global) and `learning_rate` (the schedule's value at the end
    of the epoch) to each epoch's logs.

    Put it before the callbacks that read the logs (TensorBoard, `HistoryLog`): Keras hands
    every callback the same logs dict, in order.
    """

    def __init__(self, global_batch_size: int):
        super().__init__()
        if global_batch_size < 1:
            raise ValueError(f"`global_batch_size` must be >= 1; got {global_batch_size}.")
        self.global_batch_size = global_batch_size
        self._started = self._finished = 0.0
        self._first_step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = self._finished = time.perf_counter()
        self._first_step = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        self._finished = time.perf_counter()  # validation after the last batch is not counted

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        optimizer = self.model.optimizer
        steps = int(optimizer.iterations.numpy()) - self._first_step
        elapsed = self._finished - self._started
        logs["examples_per_second"] = steps * self.global_batch_size / max(elapsed, 1e-9)
        rate = optimizer.learning_rate  # the schedule's value at the current step
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))


class HistoryLog(keras.callbacks.Callback):
    """Keeps the per-epoch logs in a JSON file that survives restarts.

    Each epoch's logs (plus `epoch` and the optimizer `step`) are appended and the file is
    rewritten atomically. A resumed run starts at some epoch e (from `BackupAndRestore`); entries
    for epochs ≥ e, logged after the backup the run resumed from, are dropped, so the file
    always holds exactly one entry per completed epoch of the final trajectory.
    """

    def __init__(self, path: str | os.PathLike, write: bool = True):
        super().__init__()
        self.path = Path(path)
        self.write = write
        self.entries: list[dict[str, Any]] = []
        self._resumed = False

    def on_train_begin(self, logs=None):
        self.entries = read_history(self.path) if self.path.is_file() else []
        self._resumed = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._resumed:  # the first epoch of this run
            self.entries = [entry for entry in self.entries if entry["epoch"] < epoch]
            self._resumed = True

    def on_epoch_end(self, epoch, logs=None):
        entry = {"epoch": epoch, "step": int(self.model.optimizer.iterations.numpy())}
        entry.update({key: _plain(value) for key, value in (logs or {}).items()})
        self.entries.append(entry)
        if self.write:
            write_json_atomically(self.path, self.entries)


def read_history(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The entries of a `history.json` (a list of per-epoch dicts)."""
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path} must hold a JSON list of per-epoch entries; got "
                         f"{type(entries).__name__}.")
    return entries


def write_json_atomically(path: Path, value: Any) -> None:
    """Writes `value` as JSON to `path` via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(value, file, indent=1)
        file.write("\n")
    os.replace(temporary, path)


def _plain(value: Any) -> Any:
    value = float(keras.ops.convert_to_numpy(value))
    return value if math.isfinite(value) else str(value)


class PeriodicCheckpoint(keras.callbacks.Callback):
    """Every `every` epochs, writes the model as a model directory `directory/step_<N>`
    (with `save(model, path)`), keeping the newest `keep`. Each one is complete or absent
    (`tfbert.save` is atomic), so `--init` or `finetune --model` can start from any of them."""

    def __init__(self, directory: str | os.PathLike, save, every: int = 1, keep: int = 3):
        super().__init__()
        if every < 1 or keep < 1:
            raise ValueError(f"`every` and `keep` must be >= 1; got every={every}, keep={keep}.")
        self.directory = Path(directory)
        self.save = save
        self.every = every
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        step = int(self.model.optimizer.iterations.numpy())
        self.save(self.model, self.directory / f"step_{step}")
        saved = sorted((p for p in self.directory.glob("step_*") if p.name[5:].isdigit()),
                       key=lambda p: int(p.name[5:]))
        for old in saved[:-self.keep]:
            shutil.rmtree(old, ignore_errors=True)


class RandomState(keras.callbacks.Callback):
    """Saves and restores the model's random state (its dropout seed generators) with the
    backup, so a resumed run draws the same dropout masks as an uninterrupted one.

    Keras' weight files leave seed-generator states out. Here they are written at each epoch
    end, keyed by the epoch a resumption would start at, before `BackupAndRestore` writes (put
    this callback first); the two newest are kept, so whichever backup survives a crash, its
    states are in the file. They are restored when the first epoch of a run begins.
    """

    def __init__(self, path: str | os.PathLike, write: bool = True):
        super().__init__()
        self.path = Path(path)
        self.write = write
        self._restored = False

    def on_train_begin(self, logs=None):
        self._restored = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._restored:
            return
        self._restored = True
        if epoch == 0:
            return
        saved = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}
        if str(epoch) not in saved:
            raise ValueError(f"Resuming at epoch {epoch}, but {self.path} has no random state "
                             f"for it (it has epochs {sorted(saved)}); delete the backup to "
                             "start afresh.")
        states = saved[str(epoch)]
        variables = _seed_states(self.model)
        if len(states) != len(variables):
            raise ValueError(f"{self.path} holds {len(states)} random states for epoch {epoch}; "
                             f"the model has {len(variables)} seed generators.")
        for variable, state in zip(variables, states):
            variable.assign(state)

    def on_epoch_end(self, epoch, logs=None):
        if not self.write:
            return
        saved = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}
        # In model order: the paths carry process-wide counters (seed_generator_12).
        saved[str(epoch + 1)] = [v.numpy().tolist() for v in _seed_states(self.model)]
        newest = sorted(saved, key=int)[-2:]
        write_json_atomically(self.path, {key: saved[key] for key in newest})


def _seed_states(model: keras.Model) -> list[keras.Variable]:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]
