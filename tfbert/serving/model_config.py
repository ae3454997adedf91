"""`ModelConfig`: one served model, read from TF Serving's `--model_config_file` or built from
the single-model flags.

The file is the text-format `ModelServerConfig` TF Serving reads: a `model_config_list` whose
`config` entries have `name`, `base_path`, `model_platform`, `model_version_policy` and
`version_labels`. As TF Serving's server core validates it: names are unique, base paths are
absolute (a relative one is refused, not resolved against anything), and the platform is
"tensorflow" (or unset).

>>> import tempfile
>>> path = tempfile.mktemp(suffix=".config")
>>> _ = open(path, "w").write('model_config_list { config { name: "a" base_path: "/m/a" '
...                           'model_version_policy { all {} } version_labels { key: "stable" '
...                           'value: 1 } } }')
>>> [(m.name, m.base_path, str(m.policy), m.version_labels) for m in read_model_config(path)]
[('a', '/m/a', 'all', {'stable': 1})]
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfbert.serving.model_versions import VersionPolicy


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """A model to serve: `name`, the `base_path` of its integer version directories, the
    `policy` picking the versions, and `version_labels` (label -> version number)."""

    name: str
    base_path: str
    policy: VersionPolicy = VersionPolicy()
    version_labels: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a model name must be a non-empty string; got {self.name!r}")
        for label, version in self.version_labels.items():
            if not isinstance(label, str) or not label:
                raise ValueError(f"version labels must be non-empty strings; got {label!r}")
            if isinstance(version, bool) or not isinstance(version, int) or version < 0:
                raise ValueError(f"version label {label!r} must name a version number >= 0; "
                                 f"got {version!r}")


def _policy(proto) -> VersionPolicy:
    """TF Serving's ServableVersionPolicy as a `VersionPolicy` (unset: the latest version)."""
    choice = proto.WhichOneof("policy_choice")
    if choice == "all":
        return VersionPolicy("all")
    if choice == "specific":
        return VersionPolicy("specific", versions=tuple(sorted(set(proto.specific.versions))))
    if choice == "latest":  # num_versions 0 serves 1, as TF Serving's file-system source
        return VersionPolicy("latest", max(proto.latest.num_versions, 1))
    return VersionPolicy()


def validate_models(models: Sequence[ModelConfig]) -> None:
    """Refuses what TF Serving's ValidateModelConfigList refuses: a repeated name or a
    relative base path."""
    seen = set()
    for model in models:
        if model.name in seen:
            raise ValueError(f"Illegal to list model {model.name} multiple times in config list")
        seen.add(model.name)
        if not os.path.isabs(model.base_path) and "://" not in model.base_path:
            raise ValueError(f"Expected model {model.name} to have an absolute path or URI; "
                             f"got base_path()={model.base_path}")


def parse_model_config(text: str, source: str = "<string>") -> list[ModelConfig]:
    """The models of a text-format ModelServerConfig (`source` names it in errors)."""
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as error:
        raise ValueError(f"{source}: not a text-format ModelServerConfig: {error}") from None
    if config.WhichOneof("config") != "model_config_list":
        raise ValueError(f"{source}: expected a model_config_list {{ config {{ ... }} }}; got "
                         f"{config.WhichOneof('config') or 'an empty config'}")
    models = []
    for index, entry in enumerate(config.model_config_list.config):
        where = f"{source}: model_config_list.config[{index}] ({entry.name!r})"
        if entry.model_platform not in ("", "tensorflow"):
            raise ValueError(f"{where}: model_platform must be 'tensorflow' (or unset); got "
                             f"{entry.model_platform!r}")
        try:
            models.append(ModelConfig(entry.name, entry.base_path,
                                      _policy(entry.model_version_policy),
                                      dict(entry.version_labels)))
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    try:
        validate_models(models)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    return models


def read_model_config(path: str | os.PathLike) -> list[ModelConfig]:
    """The models of the text-format ModelServerConfig file at `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the model config file {path}: {error}") from None
    return parse_model_config(text, str(path))
