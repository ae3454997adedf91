"""Writes a tfbert model directory as an HF transformers folder that `from_pretrained` loads:
config.json, model.safetensors, vocab.txt, tokenizer_config.json, special_tokens_map.json.

Weight names come from `tfbert.convert.names.hf_key`, the map the reader uses. HF ties the MLM
decoder to the word embeddings (and its bias to `cls.predictions.bias`) and `save_pretrained`
writes neither, so neither is written here. Heads whose HF class has no pooler (masked LM,
token classification, question answering) are written without tfbert's unused pooler.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from tfbert.config import BertConfig
from tfbert.convert.converted import match_model
from tfbert.convert.names import HF_ARCHITECTURES, HF_POOLED, hf_key
from tfbert.models.model_directory import CONFIG_FILE, ModelDirectory, staged_directory
from tfbert.text.vocab import SPECIAL_TOKENS, load_vocab

_SPECIAL_TOKEN_KEYS = ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")
_CLASSIFIERS = ("BertClassifier", "BertRegressor", "BertTokenClassifier")


@dataclasses.dataclass(frozen=True)
class HFFolder:
    """What `write_hf` wrote: the folder, its HF architecture, notes on what HF cannot hold."""

    path: Path
    architecture: str
    notes: tuple[str, ...] = ()


def write_hf(model_dir: str | os.PathLike, out: str | os.PathLike, *,
             overwrite: bool = False) -> HFFolder:
    """Writes the model directory `model_dir` as an HF folder `out`, atomically (staged beside
    it, then renamed); an existing `out` is replaced only with `overwrite=True`.

    >>> import tempfile, tfbert
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(f"{folder}/vocab.txt", "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nhi\\n")
    >>> config = tfbert.BertConfig(vocab_size=6, hidden_size=8, num_hidden_layers=1,
    ...                            num_attention_heads=2, intermediate_size=16)
    >>> _ = tfbert.save(tfbert.BertSpanQA(config), f"{folder}/qa", vocab_file=f"{folder}/vocab.txt")
    >>> written = write_hf(f"{folder}/qa", f"{folder}/hf")
    >>> written.architecture, sorted(p.name for p in written.path.iterdir())[:2]
    ('BertForQuestionAnswering', ['config.json', 'model.safetensors'])
    """
    source = _model_directory(Path(model_dir))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder; the HF folder needs its own "
                              "path.")
    if out.exists() and out.resolve() == source.path.resolve():
        raise ValueError(f"`out` ({out}) is the model directory being converted; write the HF "
                         "folder elsewhere.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass overwrite=True "
                              "(`--overwrite`) to replace it.")
    architecture = hf_architecture(source.task)
    tensors = hf_state_dict(source.config, source.task, source.weights(), architecture,
                            source.path)
    tokens = load_vocab(source.vocab_file)
    notes = []
    if source.model_class == "BertEmbedder":
        notes.append("BertEmbedder's pooling "
                     f"({source.task.get('pooling', 'cls')}, normalize="
                     f"{source.task.get('normalize', False)}) has no place in an HF BertModel; "
                     "the folder holds the encoder only.")
    if source.tokenizer_compat == "google":
        notes.append("the weights were trained with original BERT's tokenizer; HF's "
                     "BertTokenizerFast differs from it on rare text (words of 101-200 "
                     "characters, final Greek sigma, private-use and some newer Unicode "
                     "characters: README, tokenizer rules)")
    with staged_directory(out) as staging:
        safetensors.numpy.save_file(tensors, staging / "model.safetensors",
                                    metadata={"format": "pt"})
        _write_json(staging / "config.json",
                    hf_config(source.config, source.task, architecture, tokens))
        shutil.copyfile(source.vocab_file, staging / "vocab.txt")
        _write_json(staging / "tokenizer_config.json",
                    tokenizer_config(source.lower_case, source.config.max_position_embeddings))
        _write_json(staging / "special_tokens_map.json", dict(zip(_SPECIAL_TOKEN_KEYS,
                                                                   SPECIAL_TOKENS)))
    return HFFolder(out, architecture, tuple(notes))


def hf_architecture(task: dict[str, Any]) -> str:
    """The HF class that holds a tfbert task model (`BertRegressor`: sequence classification;
    `BertEmbedder`: the bare `BertModel`).

    >>> hf_architecture({"class": "BertPretrainer", "next_sentence": False})
    'BertForMaskedLM'
    """
    name = task.get("class")
    if name == "BertRegressor":
        return "BertForSequenceClassification"
    if name == "BertEmbedder":
        return "BertModel"
    for architecture, spec in HF_ARCHITECTURES.items():
        if all(task.get(key, True) == value for key, value in spec.items()):
            return architecture
    raise ValueError(f"No HF architecture holds a tfbert {name!r}.")


def hf_state_dict(config: BertConfig, task: dict[str, Any], weights: dict[str, np.ndarray],
                  architecture: str, source: object) -> dict[str, np.ndarray]:
    """The weights under HF keys, float32 and contiguous, as `save_pretrained` names them
    (no `bert.` prefix for a bare BertModel; no pooler where HF's class has none)."""
    tensors = {}
    for path, value in match_model(config, task, weights, source).items():
        if path.startswith("bert/pooler/") and architecture not in HF_POOLED:
            continue
        key, transposed = hf_key(path)
        if architecture == "BertModel":
            key = key.removeprefix("bert.")
        tensors[key] = np.ascontiguousarray(value.T if transposed else value, dtype=np.float32)
    return tensors


def hf_config(config: BertConfig, task: dict[str, Any], architecture: str,
              tokens: list[str]) -> dict[str, Any]:
    """HF's config.json for the model: the BERT fields (tfbert's `hidden_act` names are HF's),
    the architecture, and the head's labels, dropout and problem type."""
    values: dict[str, Any] = {"architectures": [architecture], "model_type": "bert",
                              **config.to_dict(), "pad_token_id": tokens.index(SPECIAL_TOKENS[0]),
                              "position_embedding_type": "absolute", "tie_word_embeddings": True}
    name = task["class"]
    if name in _CLASSIFIERS:
        values["classifier_dropout"] = task.get("dropout")  # None: hidden_dropout_prob
    if name == "BertRegressor":
        values.update(num_labels=1, problem_type="regression")
    elif name in ("BertClassifier", "BertTokenClassifier"):
        values["num_labels"] = task["num_labels"]
        if task.get("labels"):
            values["id2label"] = {str(i): label for i, label in enumerate(task["labels"])}
            values["label2id"] = {label: i for i, label in enumerate(task["labels"])}
        if name == "BertClassifier":
            values["problem_type"] = "single_label_classification"
    return values


def tokenizer_config(lower_case: bool, max_length: int) -> dict[str, Any]:
    """tokenizer_config.json of an HF `BertTokenizer` over vocab.txt."""
    return {"tokenizer_class": "BertTokenizer", "do_lower_case": lower_case,
            "model_max_length": max_length, "strip_accents": None,
            "tokenize_chinese_chars": True, **dict(zip(_SPECIAL_TOKEN_KEYS, SPECIAL_TOKENS))}


def _model_directory(path: Path) -> ModelDirectory:
    """The model directory at `path`; errors name the file at fault."""
    config_file = path / CONFIG_FILE
    try:
        return ModelDirectory(path)
    except json.JSONDecodeError as error:
        raise ValueError(f"{config_file} is not valid JSON: {error}") from None
    except (ValueError, TypeError) as error:
        if str(path) in str(error):
            raise
        raise ValueError(f"{config_file}: {error}") from None


def _write_json(path: Path, values: dict[str, Any]) -> None:
    path.write_text(json.dumps(values, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
