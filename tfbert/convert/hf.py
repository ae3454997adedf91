"""Reads HF transformers BERT folders (`save_pretrained`: config.json + safetensors)."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import tensorflow as tf

from tfbert.config import BertConfig
from tfbert.convert.converted import ConvertedModel
from tfbert.convert.hub import hf_folder
from tfbert.convert.names import HF_ARCHITECTURES, HF_IGNORED, hf_key
from tfbert.models.model_directory import build_model

logger = logging.getLogger(__name__)

# HF may build these without a pooler; tfbert's encoder always has one, then left at initialization.
_NO_POOLER = ("BertPretrainer", "BertTokenClassifier", "BertSpanQA")
_ENCODER_PREFIXES = ("embeddings.", "encoder.", "pooler.")


def read_hf(source: str | Path) -> ConvertedModel:
    """Reads an HF BERT folder, or an HF hub id `org/name[@revision]` (fetched into the HF cache
    first, `tfbert.convert.hub`; a local folder of the same name wins), into tfbert names. A
    sentence-transformers folder (modules.json) keeps its pooling, normalisation and
    max_seq_length (`tfbert.convert.sentence_transformers`).
    """
    directory = hf_folder(source)
    if (directory / "modules.json").is_file():
        # sentence_transformers reads its Transformer with read_hf_folder: imported here, not
        # at the top, as that module imports this one.
        from tfbert.convert.sentence_transformers import read_sentence_transformers

        return read_sentence_transformers(directory)
    return read_hf_folder(directory)


def read_hf_folder(directory: str | Path) -> ConvertedModel:
    """Reads an HF BERT folder into tfbert names (no network; only local files).

    Weights come from `model.safetensors` (or its shards), or `pytorch_model.bin` when torch
    is installed; `vocab.txt` and `tokenizer_config.json`'s `do_lower_case` are kept.
    """
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{directory} is not an HF model folder: config.json is missing.")
    values = json.loads(config_path.read_text(encoding="utf-8"))
    config = BertConfig.from_dict(values)
    tensors = _normalize_keys(_read_hf_weights(directory))
    task = _task_spec(values, tensors)

    model = build_model(config, task)
    weights = {}
    for variable in model.weights:
        key, transposed = hf_key(variable.path)
        if key in tensors:
            tensor = tensors[key]
            weights[variable.path] = np.ascontiguousarray(tensor.T if transposed else tensor)
        elif variable.path.startswith("bert/pooler/") and task["class"] in _NO_POOLER:
            logger.info("HF %s has no pooler: %s keeps its initial value.", task["class"],
                        variable.path)
            weights[variable.path] = variable.numpy()
        else:
            raise ValueError(f"{directory}: no tensor {key!r} for {variable.path}.")
    used = {hf_key(path)[0] for path in weights}
    _check_tied_decoder(tensors)
    unused = sorted(set(tensors) - used - set(HF_IGNORED))
    if unused:
        raise ValueError(f"{directory}: {len(unused)} weight(s) have no place in a tfbert "
                         f"{task['class']}, e.g. {unused[:5]}; is this a BERT model?")
    vocab = directory / "vocab.txt"
    return ConvertedModel(config, task, weights, vocab if vocab.is_file() else None,
                          _do_lower_case(directory), tokenizer_compat="hf")


def _read_hf_weights(directory: Path) -> dict[str, np.ndarray]:
    single, index = directory / "model.safetensors", directory / "model.safetensors.index.json"
    if single.is_file():
        return read_safetensors(single)
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{index} is not a safetensors index (a JSON object with a "
                             f"`weight_map`): {error!r}") from None
        shards = sorted(set(weight_map.values()))
        return {k: v for shard in shards for k, v in read_safetensors(directory / shard).items()}
    legacy = directory / "pytorch_model.bin"
    if legacy.is_file():
        try:
            import torch
        except ImportError:
            raise ValueError(f"{legacy} is a PyTorch pickle: reading it needs torch. Install "
                             "torch, or re-save the model with safetensors.") from None
        try:
            state = torch.load(legacy, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises pickle, zip and runtime errors alike
            raise ValueError(f"{legacy} is not a readable PyTorch state dict: {error}") from None
        return {k: v.float().numpy() if v.is_floating_point() else v.numpy()
                for k, v in state.items()}
    raise FileNotFoundError(f"{directory} has no weights: expected model.safetensors, "
                            "model.safetensors.index.json or pytorch_model.bin.")


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, read with the `safetensors` library; floating
    tensors as float32 (bfloat16, which numpy lacks, comes through TensorFlow, widened
    exactly). A damaged file is a ValueError naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"Weights file not found: {path}")
    try:
        with safetensors.safe_open(path, framework="tf") as file:
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except safetensors.SafetensorError as error:
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from None
    return {name: (tf.cast(tensor, tf.float32) if tensor.dtype.is_floating else tensor).numpy()
            for name, tensor in tensors.items()}


def _normalize_keys(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Bare `BertModel` keys gain the `bert.` prefix; old LayerNorm gamma/beta become weight/bias."""
    normalized = {}
    for key, value in tensors.items():
        if key.startswith(_ENCODER_PREFIXES):
            key = "bert." + key
        if ".LayerNorm." in key:
            key = key.replace(".LayerNorm.gamma", ".LayerNorm.weight")
            key = key.replace(".LayerNorm.beta", ".LayerNorm.bias")
        normalized[key] = value
    return normalized


def _task_spec(values: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    architectures = values.get("architectures") or []
    if architectures:
        name = architectures[0]
        if name not in HF_ARCHITECTURES:
            raise ValueError(f"HF architecture {name!r} is not supported; tfbert converts "
                             f"{', '.join(HF_ARCHITECTURES)}.")
    elif "cls.seq_relationship.weight" in tensors:
        name = "BertForPreTraining"
    elif "cls.predictions.bias" in tensors:
        name = "BertForMaskedLM"
    elif "qa_outputs.weight" in tensors:
        name = "BertForQuestionAnswering"
    elif "classifier.weight" in tensors:
        raise ValueError("config.json has no `architectures`, and a `classifier` head can be "
                         "sequence or token classification: add the architecture to config.json.")
    else:
        name = "BertModel"
    task = dict(HF_ARCHITECTURES[name])
    if task["class"] == "BertClassifier" and _is_regression(values, tensors):
        task = {"class": "BertRegressor"}
    if task["class"] in ("BertClassifier", "BertRegressor", "BertTokenClassifier") \
            and values.get("classifier_dropout") is not None:
        task["dropout"] = float(values["classifier_dropout"])
    if task["class"] in ("BertClassifier", "BertTokenClassifier"):
        num_labels = int(tensors["classifier.weight"].shape[0])
        id2label = values.get("id2label") or {}
        labels = [id2label.get(str(i), id2label.get(i)) for i in range(num_labels)]
        task.update(num_labels=num_labels, labels=labels if all(labels) else None)
    return task


def _is_regression(values: dict[str, Any], tensors: dict[str, np.ndarray]) -> bool:
    """HF's rule: problem_type "regression", or no problem_type and a single output."""
    problem_type = values.get("problem_type")
    if problem_type is not None:
        return problem_type == "regression"
    return "classifier.weight" in tensors and tensors["classifier.weight"].shape[0] == 1


def _check_tied_decoder(tensors: dict[str, np.ndarray]) -> None:
    decoder = tensors.get("cls.predictions.decoder.weight")
    embeddings = tensors.get("bert.embeddings.word_embeddings.weight")
    if decoder is not None and embeddings is not None and not np.array_equal(decoder, embeddings):
        raise ValueError("The MLM decoder is not tied to the word embeddings; tfbert ties them "
                         "(as BERT does), so this checkpoint cannot be converted exactly.")


def _do_lower_case(directory: Path) -> bool | None:
    path = directory / "tokenizer_config.json"
    if not path.is_file():
        return None
    value = json.loads(path.read_text(encoding="utf-8")).get("do_lower_case")
    return bool(value) if value is not None else None
