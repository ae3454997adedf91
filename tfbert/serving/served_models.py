"""`ServedModels`: the models a server serves, by name, each with its `ModelVersions` and
version labels, reconfigured from a list of `ModelConfig`s as TF Serving's server core is.

`apply(configs)` loads the added models, unloads the removed ones, and applies changed
version policies and labels. As in TF Serving, a label must name a version that is loaded
(AVAILABLE) unless `allow_unavailable_labels` (TF Serving's
`--allow_version_labels_for_unavailable_models`), and even then an existing label cannot move
to a version that is not loaded. `watch(path,
seconds)` re-reads a model config file every `seconds` (TF Serving's
`--model_config_file_poll_wait_seconds`): a file that cannot be read, parsed or validated is
logged and the current config keeps serving.

>>> import tempfile
>>> from tfbert.serving.model_config import ModelConfig
>>> models = ServedModels([ModelConfig("demo", tempfile.mkdtemp())], poll_seconds=0,
...                       log=print)
>>> models.names
['demo']
>>> try:
...     models.get("other")
... except ModelNotFoundError as error:
...     print(error)
model 'other' not found; this server serves ['demo']
>>> models.close()
"""
from __future__ import annotations

import dataclasses
import os
import sys
import threading
from typing import Callable, NamedTuple, Sequence

from tfbert.serving.model_config import ModelConfig, read_model_config, validate_models
from tfbert.serving.model_versions import ModelVersions


class ModelNotFoundError(LookupError):
    """No model of the requested name is served."""


class ServedModel(NamedTuple):
    config: ModelConfig
    versions: ModelVersions
    labels: dict[str, int]


class ServedModels:
    """Models by name; see the module docstring. `poll_seconds`, `log` and `warmup` are passed
    to each model's `ModelVersions`."""

    def __init__(self, configs: Sequence[ModelConfig], poll_seconds: float = 1.0,
                 log: Callable[[str], None] | None = None, warmup: bool = True,
                 allow_unavailable_labels: bool = False):
        self.poll_seconds = poll_seconds
        self.warmup = warmup
        self.allow_unavailable_labels = allow_unavailable_labels
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._models: dict[str, ServedModel] = {}
        self._lock = threading.Lock()  # guards _models
        self._apply_lock = threading.Lock()  # one reconfiguration at a time
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        try:
            self.apply(configs)
        except Exception:
            self.close()
            raise

    @property
    def names(self) -> list[str]:
        """The served model names, sorted."""
        with self._lock:
            return sorted(self._models)

    def get(self, name: str) -> ServedModel:
        """The served model `name` (ModelNotFoundError if there is none)."""
        with self._lock:
            model = self._models.get(name)
            if model is None:
                raise ModelNotFoundError(f"model {name!r} not found; this server serves "
                                         f"{sorted(self._models)}")
            return model

    def _labels(self, config: ModelConfig, versions: ModelVersions,
                old: dict[str, int]) -> dict[str, int]:
        available = set(versions.versions)
        for label, version in config.version_labels.items():
            moved = label in old and old[label] != version
            if version not in available and (not self.allow_unavailable_labels or moved):
                raise ValueError(f"Request to assign label {label!r} to version {version} of "
                                 f"model {config.name}, which is not currently available for "
                                 f"inference (loaded versions: {sorted(available)})")
        return dict(config.version_labels)

    def apply(self, configs: Sequence[ModelConfig]) -> None:
        """Serves exactly `configs`: loads new models (and ones whose base path changed),
        re-applies changed policies, unloads the models no longer listed, then sets the
        labels. Raises ValueError if a label names a version that is not available (the
        models are then reconfigured, the labels stay as they were), or FileNotFoundError for a
        base path that is not a directory (then nothing changes)."""
        configs = list(configs)
        validate_models(configs)
        with self._apply_lock:
            with self._lock:
                current = dict(self._models)
            started: dict[str, ModelVersions] = {}
            try:
                for config in configs:
                    old = current.get(config.name)
                    if old is None or old.config.base_path != config.base_path:
                        started[config.name] = ModelVersions(
                            config.base_path, self.poll_seconds, log=self._prefixed(config.name),
                            policy=config.policy, warmup=self.warmup)
            except Exception:
                for versions in started.values():
                    versions.close()
                raise
            updated, retired, problems = {}, [], []
            for config in configs:
                old = current.get(config.name)
                versions = started.get(config.name) or old.versions
                if config.name not in started and old.config.policy != config.policy:
                    versions.set_policy(config.policy)
                labels = old.labels if old is not None and config.name not in started else {}
                try:
                    labels = self._labels(config, versions, labels)
                except ValueError as error:  # the model is reconfigured, its labels are not
                    problems.append(str(error))
                    config = dataclasses.replace(config, version_labels=labels)
                updated[config.name] = ServedModel(config, versions, labels)
                if old is not None and config.name in started:
                    retired.append(old.versions)
            retired += [model.versions for name, model in current.items() if name not in updated]
            if problems and not current:  # the first config: refuse to start
                for versions in started.values():
                    versions.close()
                raise ValueError("; ".join(problems))
            with self._lock:
                self._models = updated
            for versions in retired:
                versions.close()
            for name in sorted(set(current) - set(updated)):
                self._log(f"unloaded model {name!r}: no longer in the model config")
            if problems:
                raise ValueError("the models are reconfigured but these version labels are "
                                 "kept as they were: " + "; ".join(problems))

    def _prefixed(self, name: str) -> Callable[[str], None]:
        return lambda line: self._log(f"model {name!r}: {line}")

    def watch(self, path: str | os.PathLike, seconds: float) -> None:
        """Re-reads the model config file `path` every `seconds` in a background thread and
        applies it when it changed."""
        if seconds <= 0:
            raise ValueError(f"`seconds` must be > 0 to poll {path}; got {seconds!r}")

        def poll() -> None:
            with self._lock:
                tried = [model.config for model in self._models.values()]
            while not self._stop.wait(seconds):
                try:
                    configs = read_model_config(path)
                    if configs != tried:
                        tried = configs
                        self.apply(configs)
                        self._log(f"applied the model config {path}: serving {self.names}")
                except FileNotFoundError as error:  # tried again at the next poll
                    tried = None
                    self._log(f"model config {path} not applied: {error}")
                except Exception as error:  # noqa: BLE001 - logged; the old config serves on
                    self._log(f"model config {path} not applied: {error}")

        self._watcher = threading.Thread(target=poll, name="model-config-poller", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stops watching and unloads every model."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        with self._lock:
            models, self._models = list(self._models.values()), {}
        for model in models:
            model.versions.close()
