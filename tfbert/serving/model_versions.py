"""`ModelVersions`: the versions of one model under a base path, loaded and kept up to date.

Like TF Serving's file-system source: every directory of `base_path` whose name is an integer
is a version; a `VersionPolicy` (TF Serving's `model_version_policy`; by default the latest
one) picks the versions to serve; each is loaded through the TF1 session loader
(`SessionModel`) and, as TF Serving does before a version serves, its warm-up requests
(`assets.extra/tf_serving_warmup_requests`, see `tfbert.export.warmup`) are replayed; a poller
thread rescans every `poll_seconds`, so a new export is served without a restart. Hidden
directories (the exporter's staging area) are never versions. A version that fails to load (or
whose warm-up file is corrupt or has a failing request) is reported once and skipped until its
saved_model.pb or warm-up file changes. As in TF Serving, a version that the policy no longer
wants is unloaded only once a version it wants is loaded: a broken new export leaves the old one
serving.

>>> import os, tempfile
>>> base = tempfile.mkdtemp()
>>> os.makedirs(os.path.join(base, ".1.staging.x"))  # an export still being written: ignored
>>> versions = ModelVersions(base, poll_seconds=0, log=print)
>>> versions.versions
[]
>>> versions.close()
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from tfbert.export.session_model import SessionModel
from tfbert.export.warmup import replay_warmup, warmup_path

_VERSION = re.compile(r"[0-9]+")


class VersionNotFoundError(LookupError):
    """The requested version (or any version) is not loaded."""


class VersionState(NamedTuple):
    """Where a version is, as TF Serving's GetModelStatus says it: `state` LOADING, AVAILABLE
    or END (unloaded, or failed to load: then `error_code`, a canonical status code number such
    as 3 INVALID_ARGUMENT, and `error_message` say why; 0 and "" otherwise)."""

    state: str
    error_code: int = 0
    error_message: str = ""


_UNKNOWN = 2  # the canonical code of an error that has no other


def _error_state(error: Exception) -> VersionState:
    code = getattr(error, "error_code", None)  # a tf.errors.OpError's canonical code
    return VersionState("END", code if isinstance(code, int) and code else _UNKNOWN,
                        str(error).split("\n\t [[")[0])


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """Which versions to serve: the `count` latest (`latest`), every one (`all`) or the listed
    `versions` (`specific`), as TF Serving's `model_version_policy`.

    >>> policy = VersionPolicy.parse("latest:2")
    >>> sorted(policy.select([1, 2, 3])), str(policy)
    ([2, 3], 'latest:2')
    >>> sorted(VersionPolicy.parse("specific:1,3").select([1, 2]))
    [1]
    """

    kind: str = "latest"
    count: int = 1
    versions: tuple[int, ...] = ()

    def __post_init__(self):
        if self.kind not in ("latest", "all", "specific"):
            raise ValueError(f"version policy must be latest, all or specific; got {self.kind!r}")
        if self.kind == "latest" and self.count < 1:
            raise ValueError(f"`latest` must serve at least 1 version; got {self.count}")
        if self.kind == "specific" and not self.versions:
            raise ValueError("`specific` needs at least one version number")

    @classmethod
    def parse(cls, text: str) -> VersionPolicy:
        """`latest`, `latest:N`, `all` or `specific:V1,V2,...`."""
        kind, _, argument = text.strip().partition(":")
        try:
            if kind == "latest":
                return cls("latest", int(argument) if argument else 1)
            if kind == "specific":
                return cls("specific", versions=tuple(sorted(
                    {int(v) for v in argument.split(",") if v.strip()})))
        except ValueError:
            raise ValueError(f"bad version policy {text!r}: expected latest, latest:N, all or "
                             "specific:V1,V2,... with integers") from None
        if kind == "all" and not argument:
            return cls("all")
        raise ValueError(f"bad version policy {text!r}: expected latest, latest:N, all or "
                         "specific:V1,V2,...")

    def select(self, available: Iterable[int]) -> set[int]:
        """The versions of `available` this policy serves."""
        available = sorted(available)
        if self.kind == "latest":
            return set(available[-self.count:])
        if self.kind == "specific":
            return set(available) & set(self.versions)
        return set(available)

    def __str__(self) -> str:
        if self.kind == "latest":
            return f"latest:{self.count}"
        if self.kind == "specific":
            return "specific:" + ",".join(map(str, self.versions))
        return "all"


def _scan(base_path: Path) -> dict[int, tuple[Path, float]]:
    """Version -> (directory, latest mtime of its saved_model.pb and warm-up file) for the
    complete versions."""
    found = {}
    for entry in base_path.iterdir() if base_path.is_dir() else ():
        model_file = entry / "saved_model.pb"
        if _VERSION.fullmatch(entry.name) and model_file.is_file():
            files = (model_file, warmup_path(entry))
            found[int(entry.name)] = (entry, max(f.stat().st_mtime for f in files if f.exists()))
    return found


def _load(path: Path, warmup: bool) -> tuple[SessionModel, str]:
    """(model, what its warm-up did): the SavedModel at `path` loaded and, with `warmup`,
    warmed up; raises ValueError if a warm-up request fails, after freeing the model."""
    model = SessionModel(path)
    if not warmup:
        return model, "warm-up off"
    try:
        return model, f"warm-up requests replayed: {replay_warmup(model)}"
    except Exception:
        model.close()
        raise


class ModelVersions:
    """Loaded versions of the model in `base_path`; `get(version)` returns a `SessionModel`.

    `poll_seconds=0` scans once and never polls (call `refresh` to rescan). `log` receives one
    line per load, unload and load failure (stderr by default). With `warmup` (TF Serving's
    `--enable_model_warmup`, on by default there too) a version serves only once its warm-up
    requests ran; each signature's first run initialises its part of the session (about 0.7 s
    for bert_tiny on a CPU), so without it the first request of each signature waits instead.
    """

    def __init__(self, base_path: str | os.PathLike, poll_seconds: float = 1.0,
                 log: Callable[[str], None] | None = None,
                 policy: VersionPolicy = VersionPolicy(), warmup: bool = True):
        if poll_seconds < 0:
            raise ValueError(f"`poll_seconds` must be >= 0; got {poll_seconds!r}")
        self.base_path = Path(base_path)
        if not self.base_path.is_dir():
            raise FileNotFoundError(f"`base_path` is not a directory: {self.base_path}")
        self.poll_seconds = poll_seconds
        self.policy = policy
        self.warmup = warmup
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._models: dict[int, SessionModel] = {}
        self._loaded_mtime: dict[int, float] = {}
        self._failed: dict[int, float] = {}  # version -> mtime that failed to load
        self._states: dict[int, VersionState] = {}  # every version ever tried
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()  # one scan at a time (poller, set_policy)
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

    def states(self) -> dict[int, VersionState]:
        """Version -> its `VersionState`, for every version this has tried to load (unloaded
        and failed ones stay, at END, as in TF Serving's servable state monitor)."""
        with self._lock:
            return dict(self._states)

    def get(self, version: int | None = None) -> tuple[int, SessionModel]:
        """(version, model): the latest loaded version, or `version` if given."""
        with self._lock:
            if not self._models:
                raise VersionNotFoundError(
                    f"no version of the model is loaded; expected integer version directories "
                    f"with a saved_model.pb in {self.base_path} (version policy {self.policy})")
            if version is None:
                version = max(self._models)
            if version not in self._models:
                raise VersionNotFoundError(f"version {version} is not loaded; loaded versions "
                                           f"are {sorted(self._models)}")
            return version, self._models[version]

    def set_policy(self, policy: VersionPolicy) -> None:
        """Serves the versions `policy` picks from now on (loading and unloading at once)."""
        with self._refresh_lock:
            self.policy = policy
            self._refresh()

    def refresh(self) -> None:
        """Loads the versions the policy wants that are new (or whose saved_model.pb or warm-up
        file was rewritten), then unloads the ones it no longer wants (once one it wants is
        loaded) and the removed ones."""
        with self._refresh_lock:
            self._refresh()

    def _refresh(self) -> None:
        found = _scan(self.base_path)
        wanted = self.policy.select(found)
        for version in sorted(wanted):
            path, mtime = found[version]
            if self._loaded_mtime.get(version) == mtime or self._failed.get(version) == mtime:
                continue
            with self._lock:
                if version not in self._models:  # a reload of a served one stays AVAILABLE
                    self._states[version] = VersionState("LOADING")
            try:
                model, warmed = _load(path, self.warmup)
            except Exception as error:  # a bad version must not stop the others
                self._failed[version] = mtime
                with self._lock:
                    if version not in self._models:
                        self._states[version] = _error_state(error)
                self._log(f"failed to load version {version}: {error}")
                continue
            with self._lock:
                old = self._models.get(version)
                self._models[version] = model
                self._loaded_mtime[version] = mtime
                self._states[version] = VersionState("AVAILABLE")
            if old is not None:
                old.close()
            self._log(f"loaded version {version} from {path} "
                      f"(signatures: {', '.join(sorted(model.signatures))}; "
                      f"{warmed})")
        with self._lock:
            loaded = set(self._models)
        for version in sorted(loaded - wanted):
            if version in found and not loaded & wanted:
                continue  # nothing the policy wants is up yet: keep serving this one
            with self._lock:
                model = self._models.pop(version)
                self._loaded_mtime.pop(version)
                self._states[version] = VersionState("END")
            model.close()
            self._log(f"unloaded version {version}: " + (
                f"not in version policy {self.policy}" if version in found
                else "its directory is gone"))

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
            self._states.update({version: VersionState("END") for version, state
                                 in self._states.items() if state.state != "END"})
        for model in models:
            model.close()
