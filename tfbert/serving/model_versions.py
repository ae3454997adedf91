"""`ModelVersions`: the versions of one model under a base path, loaded and kept up to date.

Like TF Serving's file-system source: every directory of `base_path` whose name is an integer
is a version; each is loaded through the TF1 session loader (`SessionModel`); a poller thread
rescans every `poll_seconds`, loads new versions and unloads removed ones, so a new export is
served without a restart. Hidden directories (the exporter's staging area) are never versions.
A version that fails to load is reported once and skipped until its directory changes.

>>> import os, tempfile
>>> base = tempfile.mkdtemp()
>>> os.makedirs(os.path.join(base, ".1.staging.x"))  # an export still being written: ignored
>>> versions = ModelVersions(base, poll_seconds=0, log=print)
>>> versions.versions
[]
>>> versions.close()
"""
from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path
from typing import Callable

from tfbert.export.session_model import SessionModel

_VERSION = re.compile(r"[0-9]+")


class VersionNotFoundError(LookupError):
    """The requested version (or any version) is not loaded."""


def _scan(base_path: Path) -> dict[int, tuple[Path, float]]:
    """Version -> (directory, mtime of its saved_model.pb) for the complete versions."""
    found = {}
    for entry in base_path.iterdir() if base_path.is_dir() else ():
        model_file = entry / "saved_model.pb"
        if _VERSION.fullmatch(entry.name) and model_file.is_file():
            found[int(entry.name)] = (entry, model_file.stat().st_mtime)
    return found


class ModelVersions:
    """Loaded versions of the model in `base_path`; `get(version)` returns a `SessionModel`.

    `poll_seconds=0` scans once and never polls (call `refresh` to rescan). `log` receives one
    line per load, unload and load failure (stderr by default).
    """

    def __init__(self, base_path: str | os.PathLike, poll_seconds: float = 1.0,
                 log: Callable[[str], None] | None = None):
        if poll_seconds < 0:
            raise ValueError(f"`poll_seconds` must be >= 0; got {poll_seconds!r}")
        self.base_path = Path(base_path)
        if not self.base_path.is_dir():
            raise FileNotFoundError(f"`base_path` is not a directory: {self.base_path}")
        self.poll_seconds = poll_seconds
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._models: dict[int, SessionModel] = {}
        self._loaded_mtime: dict[int, float] = {}
        self._failed: dict[int, float] = {}  # version -> mtime that failed to load
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.refresh()
        self._poller = None
        if poll_seconds > 0:
            self._poller = threading.Thread(target=self._poll, name="model-version-poller",
                                            daemon=True)
            self._poller.start()

    @property
    def versions(self) -> list[int]:
        """The loaded versions, ascending."""
        with self._lock:
            return sorted(self._models)

    def get(self, version: int | None = None) -> tuple[int, SessionModel]:
        """(version, model): the latest loaded version, or `version` if given."""
        with self._lock:
            if not self._models:
                raise VersionNotFoundError(
                    f"no version of the model is loaded; expected integer version directories "
                    f"with a saved_model.pb in {self.base_path}")
            if version is None:
                version = max(self._models)
            if version not in self._models:
                raise VersionNotFoundError(f"version {version} is not loaded; loaded versions "
                                           f"are {sorted(self._models)}")
            return version, self._models[version]

    def refresh(self) -> None:
        """Loads new (or rewritten) versions and unloads removed ones."""
        found = _scan(self.base_path)
        for version, (path, mtime) in sorted(found.items()):
            if self._loaded_mtime.get(version) == mtime or self._failed.get(version) == mtime:
                continue
            try:
                model = SessionModel(path)
            except Exception as error:  # a bad version must not stop the others
                self._failed[version] = mtime
                self._log(f"failed to load version {version}: {error}")
                continue
            with self._lock:
                old = self._models.get(version)
                self._models[version] = model
                self._loaded_mtime[version] = mtime
            if old is not None:
                old.close()
            self._log(f"loaded version {version} from {path} "
                      f"(signatures: {', '.join(sorted(model.signatures))})")
        for version in set(self._models) - set(found):
            with self._lock:
                model = self._models.pop(version)
                self._loaded_mtime.pop(version)
            model.close()
            self._log(f"unloaded version {version}: its directory is gone")

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except OSError as error:  # e.g. the base path is briefly unreadable
                self._log(f"scanning {self.base_path} failed: {error}")

    def close(self) -> None:
        """Stops polling and frees every loaded version."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        with self._lock:
            models, self._models = list(self._models.values()), {}
        for model in models:
            model.close()
