"""Reads sentence-transformers folders: a BERT `Transformer`, then `Pooling`, then optionally
`Normalize`, as listed in `modules.json`.

The Transformer's weights convert as an HF folder (`read_hf_folder`); its pooling,
normalisation and max_seq_length become the model directory's `embedding` entry, which
`tfbert export --task embed` follows so the served embeddings are `SentenceTransformer.encode`'s.
Both `modules.json` layouts are read: the Transformer at the root (`"path": ""`) or in a
subfolder (`0_Transformer/`, `0_BERT/`), and both Pooling configs (`"pooling_mode": "mean"`, or
the older `"pooling_mode_mean_tokens": true` flags). Without vocab.txt (transformers 5 saves
tokenizer.json only) the vocabulary is tokenizer.json's.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from tfbert.config import BertConfig
from tfbert.convert.converted import ConvertedModel
from tfbert.convert.hf import read_hf_folder
from tfbert.names import POOLING_MODES

MODULES_FILE = "modules.json"
_MODULE_CONFIG = "sentence_bert_config.json"  # the Transformer module's own settings
_TRANSFORMERS = ("Transformer", "BERT")  # module class names (last part of "type")
# The Pooling config's older flags -> sentence-transformers' mode names.
_POOLING_FLAGS = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean",
                  "pooling_mode_max_tokens": "max",
                  "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                  "pooling_mode_weightedmean_tokens": "weightedmean",
                  "pooling_mode_lasttoken": "lasttoken"}


def read_sentence_transformers(directory: str | Path) -> ConvertedModel:
    """Reads a sentence-transformers folder (`SentenceTransformer.save`) of a BERT Transformer,
    a Pooling with mode cls or mean, and an optional Normalize, offline. Other modules (Dense,
    a Router, ...) and pooling modes tfbert cannot export (max, weightedmean, lasttoken, ...)
    are refused with the file that names them.
    """
    directory = Path(directory)
    transformer, pooling, normalize = _pipeline(directory)
    converted = read_hf_folder(transformer)
    if converted.task["class"] != "BertEncoder":
        raise ValueError(f"{transformer / 'config.json'}: the Transformer of a "
                         f"sentence-transformers folder must be a BertModel; got a "
                         f"{converted.task['class']}.")
    settings = _json(transformer / _MODULE_CONFIG)
    if settings.get("transformer_task", "feature-extraction") != "feature-extraction":
        raise ValueError(f"{transformer / _MODULE_CONFIG}: transformer_task "
                         f"{settings['transformer_task']!r} is not supported; tfbert embeds "
                         "with feature-extraction (the last hidden states).")
    lower_case = converted.do_lower_case
    if settings.get("do_lower_case"):
        if lower_case is False:
            raise ValueError(f"{transformer / _MODULE_CONFIG}: do_lower_case is true but the "
                             "tokenizer is cased (tokenizer_config.json do_lower_case false): "
                             "tfbert cannot lower-case without stripping accents as well.")
        lower_case = True
    vocab = converted.vocab_file
    if vocab is None and (directory / "vocab.txt").is_file():  # a Transformer in a subfolder
        vocab = directory / "vocab.txt"
    embedding = {"pooling": pooling, "normalize": normalize,
                 "seq_length": _max_seq_length(transformer, settings, converted.config)}
    embedder = dataclasses.replace(converted, vocab_file=vocab, do_lower_case=lower_case,
                                   notes=converted.notes + _prompt_notes(directory),
                                   embedding=embedding)
    return embedder if vocab is not None else _with_tokenizer_json_vocabulary(embedder,
                                                                              transformer)


def _pipeline(directory: Path) -> tuple[Path, str, bool]:
    """(Transformer folder, pooling mode, normalize) of the modules listed in modules.json."""
    source = directory / MODULES_FILE
    modules = json.loads(source.read_text(encoding="utf-8"))
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    shape = "Transformer, Pooling and optionally Normalize"
    if len(kinds) not in (2, 3) or kinds[0] not in _TRANSFORMERS or kinds[1] != "Pooling" or (
            len(kinds) == 3 and kinds[2] != "Normalize"):
        raise ValueError(f"{source}: tfbert converts a sentence-transformers pipeline of "
                         f"{shape}; got modules {kinds}.")
    folders = [directory / module["path"] for module in modules]
    return folders[0], _pooling_mode(folders[1] / "config.json"), len(kinds) == 3


def _pooling_mode(path: Path) -> str:
    values = _json(path)
    mode = values.get("pooling_mode")
    if mode is None:
        mode = [name for flag, name in _POOLING_FLAGS.items() if values.get(flag)]
    if isinstance(mode, list) and len(mode) == 1:
        mode = mode[0]
    if mode not in POOLING_MODES:
        raise ValueError(f"{path}: pooling mode {mode!r} cannot be exported by tfbert, which "
                         f"pools with one of {', '.join(POOLING_MODES)}.")
    return mode


def _max_seq_length(transformer: Path, settings: dict[str, Any], config: BertConfig) -> int:
    """The length sentence-transformers truncates at (with [CLS] and [SEP]): the tokenizer
    arguments' model_max_length, else the module's max_seq_length, else the tokenizer's
    model_max_length; never above max_position_embeddings."""
    arguments = settings.get("processor_kwargs") or settings.get("tokenizer_args") or {}
    length = arguments.get("model_max_length", settings.get("max_seq_length"))
    if length is None:
        length = _json(transformer / "tokenizer_config.json").get("model_max_length")
    limit = config.max_position_embeddings
    return limit if length is None else min(int(length), limit)


def _with_tokenizer_json_vocabulary(embedder: ConvertedModel,
                                    transformer: Path) -> ConvertedModel:
    """`embedder` with the WordPiece vocabulary of the Transformer's tokenizer.json (written
    out, in id order, for as long as the conversion lives): transformers 5 writes no vocab.txt.
    Unchanged when there is no tokenizer.json either."""
    path = transformer / "tokenizer.json"
    if not path.is_file():
        return embedder
    model = json.loads(path.read_text(encoding="utf-8")).get("model") or {}
    if model.get("type") != "WordPiece":
        raise ValueError(f"{path}: expected a WordPiece tokenizer (BERT's); got "
                         f"{model.get('type')!r}.")
    by_id = {index: token for token, index in model["vocab"].items()}
    if sorted(by_id) != list(range(len(model["vocab"]))):
        raise ValueError(f"{path}: the WordPiece ids are not 0..{len(model['vocab']) - 1}, "
                         "so they cannot be written as vocab.txt lines.")
    folder = tempfile.mkdtemp(prefix="tfbert-vocab-")
    vocab = Path(folder) / "vocab.txt"
    vocab.write_text("".join(f"{by_id[index]}\n" for index in range(len(by_id))),
                     encoding="utf-8")
    embedder = dataclasses.replace(embedder, vocab_file=vocab)
    weakref.finalize(embedder, shutil.rmtree, folder, True)
    return embedder


def _prompt_notes(directory: Path) -> tuple[str, ...]:
    settings = _json(directory / "config_sentence_transformers.json")
    name = settings.get("default_prompt_name")
    if not name:
        return ()
    prompt = (settings.get("prompts") or {}).get(name, "")
    return (f"SentenceTransformer.encode prepends the default prompt {name!r} ({prompt!r}) to "
            "every text; the export does not: prepend it to the texts you send.",)


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
