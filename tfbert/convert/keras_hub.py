"""Reads keras-hub `BertBackbone` presets (folders or preset names) and live backbones into
tfbert names."""
from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from tfbert.config import BertConfig
from tfbert.convert.converted import ConvertedModel
from tfbert.convert.hub import keras_hub_preset


def read_keras_hub(preset: str | Path) -> ConvertedModel:
    """Reads a keras-hub BertBackbone preset through keras-hub's own `from_preset`: a local
    preset folder (`save_to_preset` output; it always wins, and needs no network) or a preset
    name such as "bert_tiny_en_uncased" (downloaded by kagglehub into its cache: see
    `tfbert.convert.hub`). The vocabulary and casing come from the preset's `BertTokenizer`.
    """
    backbone, tokenizer = keras_hub_preset(str(preset))
    vocab = Path(preset) / "assets" / "tokenizer" / "vocabulary.txt"
    lower_case = None if tokenizer is None else bool(tokenizer.lowercase)
    if vocab.is_file() or tokenizer is None:
        return from_keras_hub_backbone(backbone, vocab if vocab.is_file() else None, lower_case)
    # A downloaded preset: its vocabulary, written out for as long as the conversion lives.
    folder = tempfile.mkdtemp(prefix="tfbert-keras-hub-")
    vocab = Path(folder) / "vocab.txt"
    vocab.write_text("".join(f"{token}\n" for token in tokenizer.get_vocabulary()),
                     encoding="utf-8")
    converted = from_keras_hub_backbone(backbone, vocab, lower_case)
    weakref.finalize(converted, shutil.rmtree, folder, True)
    return converted


def from_keras_hub_backbone(backbone: Any, vocab_file: Path | None = None,
                            do_lower_case: bool | None = None) -> ConvertedModel:
    """Converts a keras-hub BertBackbone object to a tfbert encoder."""
    hidden = backbone.hidden_dim
    config = BertConfig(
        vocab_size=backbone.vocabulary_size, hidden_size=hidden,
        num_hidden_layers=backbone.num_layers, num_attention_heads=backbone.num_heads,
        intermediate_size=backbone.intermediate_dim,
        hidden_act="gelu_new",  # keras-hub's BERT uses the tanh approximation
        hidden_dropout_prob=backbone.dropout, attention_probs_dropout_prob=backbone.dropout,
        max_position_embeddings=backbone.max_sequence_length,
        type_vocab_size=backbone.num_segments, layer_norm_eps=1e-12)
    weights = {
        "bert/embeddings/word_embeddings": backbone.token_embedding.embeddings,
        "bert/embeddings/position_embeddings": backbone.position_embedding.position_embeddings,
        "bert/embeddings/token_type_embeddings": backbone.segment_embedding.embeddings,
        **_layer_norm("bert/embeddings/LayerNorm", backbone.embeddings_layer_norm),
        **_dense("bert/pooler/dense", backbone.pooled_dense),
    }
    for index, layer in enumerate(backbone.transformer_layers):
        scope = f"bert/encoder/layer_{index}"
        attention = layer._self_attention_layer
        for name in ("query", "key", "value"):
            projection = getattr(attention, f"_{name}_dense")  # kernel (H, N, D), bias (N, D)
            weights[f"{scope}/attention/self/{name}/kernel"] = np.reshape(projection.kernel,
                                                                          (hidden, hidden))
            weights[f"{scope}/attention/self/{name}/bias"] = np.reshape(projection.bias, (hidden,))
        output = attention._output_dense  # kernel (N, D, H)
        weights[f"{scope}/attention/output/dense/kernel"] = np.reshape(output.kernel,
                                                                       (hidden, hidden))
        weights[f"{scope}/attention/output/dense/bias"] = output.bias
        weights.update(_layer_norm(f"{scope}/attention/output/LayerNorm",
                                   layer._self_attention_layer_norm))
        weights.update(_dense(f"{scope}/intermediate/dense", layer._feedforward_intermediate_dense))
        weights.update(_dense(f"{scope}/output/dense", layer._feedforward_output_dense))
        weights.update(_layer_norm(f"{scope}/output/LayerNorm", layer._feedforward_layer_norm))
    weights = {name: np.asarray(value, dtype=np.float32) for name, value in weights.items()}
    return ConvertedModel(config, {"class": "BertEncoder"}, weights, vocab_file, do_lower_case)


def _dense(scope: str, layer: Any) -> dict[str, Any]:
    return {f"{scope}/kernel": layer.kernel, f"{scope}/bias": layer.bias}


def _layer_norm(scope: str, layer: Any) -> dict[str, Any]:
    return {f"{scope}/gamma": layer.gamma, f"{scope}/beta": layer.beta}
