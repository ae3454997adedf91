"""Hub names as conversion sources: HF hub ids and keras-hub preset names, each resolved by
its hub's own client into that client's normal cache.

A local folder always wins over a hub name of the same spelling. Without network (or with
`HF_HUB_OFFLINE=1`) a name resolves only from the cache; if the cache has no copy, the error
names the model and the cache directory and says how to get it there.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

# What `read_hf` reads of an HF repo: the config, tokenizer files and weights of a BERT folder,
# and a sentence-transformers pipeline (modules.json, its module folders' config.json, and a
# Transformer saved in a subfolder such as 0_Transformer/).
_HF_FILES = ("config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
             "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
             "tokenizer.json")  # tokenizer.json: the vocabulary when vocab.txt is missing
_HF_SAFETENSORS = ("model.safetensors", "model.safetensors.index.json",
                   "model-*-of-*.safetensors")
_HF_PYTORCH = ("pytorch_model.bin",)  # fetched only when a repo has no safetensors weights


def _with_subfolders(names: tuple[str, ...]) -> list[str]:
    return [pattern for name in names for pattern in (name, f"*/{name}")]


# `snapshot_download` allow_patterns: first these; then, if no safetensors came, the second.
HF_PATTERNS = _with_subfolders(_HF_FILES + _HF_SAFETENSORS)
HF_PYTORCH_PATTERNS = _with_subfolders(_HF_FILES + _HF_PYTORCH)

# "name" or "org/name" as the HF hub spells repo ids, optionally "@revision" (branch, tag, commit).
_HF_ID = re.compile(r"(?P<repo>(?:\w[\w.-]{0,95}/)?\w[\w.-]{0,95})"
                    r"(?:@(?P<revision>[^@\s]+))?")


def parse_hf_id(source: str) -> tuple[str, str | None] | None:
    """(repo id, revision or None) of an HF hub id `org/name[@revision]`, or None when `source`
    cannot be one (a path such as "./model" or "/data/bert").

    >>> parse_hf_id("google-bert/bert-base-uncased@main")
    ('google-bert/bert-base-uncased', 'main')
    >>> parse_hf_id("bert-base-uncased"), parse_hf_id("./models/bert"), parse_hf_id("a/b/c")
    (('bert-base-uncased', None), None, None)
    """
    match = _HF_ID.fullmatch(source)
    if match is None:
        return None
    repo = match["repo"]
    if "--" in repo or ".." in repo or repo.endswith((".git", ".")):
        return None
    return repo, match["revision"]


def hf_folder(source: str | os.PathLike) -> Path:
    """The local folder of `source`: itself when it exists, else the HF hub id
    `org/name[@revision]` fetched with `huggingface_hub.snapshot_download` (only the files
    tfbert reads; `pytorch_model.bin` only when there are no safetensors) into the HF cache
    (`HF_HUB_CACHE`). A `source` that is neither is returned as is, for the reader's error.

    >>> hf_folder("/no/such/folder")
    PosixPath('/no/such/folder')
    """
    path = Path(source)
    parsed = None if path.exists() else parse_hf_id(os.fspath(source))
    if parsed is None:
        return path
    repo_id, revision = parsed
    folder = _snapshot(repo_id, revision, HF_PATTERNS)
    if not any(folder.rglob("*.safetensors")):
        folder = _snapshot(repo_id, revision, HF_PYTORCH_PATTERNS)
    return folder


def _snapshot(repo_id: str, revision: str | None, patterns: list[str]) -> Path:
    try:
        import huggingface_hub
        from huggingface_hub import constants
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        raise ValueError(f"{repo_id!r} is not a local folder; converting it from the HF hub "
                         "needs huggingface_hub (pip install huggingface_hub).") from None
    try:
        return Path(huggingface_hub.snapshot_download(repo_id, revision=revision,
                                                      allow_patterns=patterns))
    except LocalEntryNotFoundError as error:
        cache = constants.HF_HUB_CACHE
        reason = ("HF_HUB_OFFLINE is set" if constants.is_offline_mode()
                  else "the HF hub cannot be reached")
        raise FileNotFoundError(
            f"{repo_id}{'@' + revision if revision else ''} is not a local folder, and the HF "
            f"cache {cache} has no copy of it while {reason}. Download it on a machine with "
            f"network (`hf download {repo_id}`, or this same command) and copy "
            f"{Path(cache) / ('models--' + repo_id.replace('/', '--'))} into this machine's "
            "HF_HUB_CACHE, or pass a local folder (save_pretrained / SentenceTransformer.save)."
        ) from error


def keras_hub_preset(preset: str) -> tuple[Any, Any]:
    """(`BertBackbone`, `BertTokenizer` or None) of the keras-hub preset `preset`, loaded by
    keras-hub's own `from_preset`: a local preset folder (it always wins; its tokenizer only if
    it saved one), a built-in name such as "bert_tiny_en_uncased", or a "kaggle://" / "hf://"
    handle, which keras-hub downloads through kagglehub into its cache (`KAGGLEHUB_CACHE`)."""
    try:
        import keras_hub
    except ImportError:
        raise ValueError("Reading keras-hub presets needs keras-hub (pip install "
                         "keras-hub).") from None
    models = keras_hub.models
    if Path(preset).exists():
        if not (Path(preset) / "config.json").is_file():
            raise FileNotFoundError(f"{preset} is not a keras-hub preset: config.json is "
                                    "missing.")
        tokenizer = (models.BertTokenizer.from_preset(preset)
                     if (Path(preset) / "tokenizer.json").is_file() else None)
        return models.BertBackbone.from_preset(preset), tokenizer
    if preset not in models.BertBackbone.presets and "://" not in preset:
        raise FileNotFoundError(f"{preset!r} is neither a keras-hub preset folder nor a "
                                f"keras-hub BERT preset name; the presets are "
                                f"{', '.join(sorted(models.BertBackbone.presets))}.")
    try:
        return (models.BertBackbone.from_preset(preset),
                models.BertTokenizer.from_preset(preset))
    except FileNotFoundError:
        raise
    except OSError as error:  # requests' ConnectionError (kagglehub) is an OSError
        raise FileNotFoundError(
            f"keras-hub preset {preset!r} is not a local folder, and the kagglehub cache "
            f"{_kagglehub_cache()} has no copy of it while Kaggle cannot be reached "
            f"({type(error).__name__}). Download it on a machine with network "
            f"(keras_hub.models.BertBackbone.from_preset({preset!r}), or this same command) "
            "and copy that cache here (or point KAGGLEHUB_CACHE at the copy), or pass a local "
            "preset folder (save_to_preset)."
        ) from error


def _kagglehub_cache() -> str:
    from kagglehub.config import get_cache_folder

    return get_cache_folder()
