"""`BertConfig`: BERT hyper-parameters under the original `bert_config.json` field names."""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

# `hidden_act` values tfbert implements; HF spells the tanh approximation three ways.
ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "tanh")

# Fields of an HF `config.json` that say nothing about the network itself (bookkeeping,
# generation and tokenizer settings). They are accepted and dropped.
_HF_BOOKKEEPING = frozenset({
    "model_type", "architectures", "transformers_version", "torch_dtype", "dtype",
    "pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "use_cache",
    "classifier_dropout", "gradient_checkpointing", "id2label", "label2id", "num_labels",
    "problem_type", "output_attentions", "output_hidden_states", "return_dict",
    "torchscript", "tie_word_embeddings", "chunk_size_feed_forward", "finetuning_task",
    "tokenizer_class", "prefix", "task_specific_params", "_name_or_path", "_attn_implementation",
    "_attn_implementation_autoset", "pruned_heads", "tf_legacy_loss", "use_bfloat16",
    "directionality", "pooler_fc_size", "pooler_num_attention_heads", "pooler_num_fc_layers",
    "pooler_size_per_head", "pooler_type",
})

# HF fields that would change the network in a way tfbert does not implement: field -> the
# only value tfbert accepts.
_HF_REQUIRED_VALUES = {
    "position_embedding_type": "absolute",
    "is_decoder": False,
    "add_cross_attention": False,
}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The shape of a BERT network, as in the original `bert_config.json`.

    >>> config = BertConfig.preset("bert_tiny")
    >>> config.hidden_size, config.num_hidden_layers, config.num_attention_heads
    (128, 2, 2)
    >>> BertConfig(hidden_size=770, num_attention_heads=12)
    Traceback (most recent call last):
    ...
    ValueError: `hidden_size` must be divisible by `num_attention_heads`; got hidden_size=770, num_attention_heads=12.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"  # exact erf GELU; "gelu_new" is the tanh approximation.
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2  # 16 in a few old checkpoints; 2 is what every released BERT uses.
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12  # not in the original file: the original code hard-codes it.

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer; got {name}={value!r}.")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                "`hidden_size` must be divisible by `num_attention_heads`; got "
                f"hidden_size={self.hidden_size}, num_attention_heads={self.num_attention_heads}.")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(
                f"`hidden_act` must be one of {', '.join(ACTIVATIONS)}; got {self.hidden_act!r}.")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1); got {name}={value!r}.")
        for name in ("initializer_range", "layer_norm_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be positive; got {name}={getattr(self, name)!r}.")

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def preset(cls, name: str) -> "BertConfig":
        """The published BERT sizes: the compact BERTs of Turc et al. (2019), base and large.

        >>> BertConfig.preset("bert_large").num_hidden_layers
        24
        """
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; expected one of {', '.join(PRESETS)}.")
        return PRESETS[name]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "BertConfig":
        """Reads an original `bert_config.json`, an HF BERT `config.json` or `to_dict()` output.

        Unknown fields fail, so that a typo never silently falls back to a default.
        """
        values = dict(values)
        model_type = values.get("model_type")
        if model_type is not None and model_type != "bert":
            raise ValueError(f"Expected a BERT config; got model_type={model_type!r}.")
        if model_type == "bert":
            for field, required in _HF_REQUIRED_VALUES.items():
                if values.pop(field, required) != required:
                    raise ValueError(f"tfbert implements only {field}={required!r}; the config "
                                     f"has {field}={values.get(field, '?')!r}.")
            values = {k: v for k, v in values.items() if k not in _HF_BOOKKEEPING}
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown BERT config field(s): {', '.join(unknown)}. "
                             f"Known fields: {', '.join(sorted(known))}.")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "BertConfig":
        """Reads a JSON file; see `from_dict` for the formats understood."""
        with open(path, encoding="utf-8") as file:
            try:
                values = json.load(file)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} is not valid JSON: {error}") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a JSON object; got {type(values).__name__}.")
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _compact(layers: int, hidden: int) -> BertConfig:
    # Turc et al.: 64-dimensional heads and a 4x feed-forward, like BERT-base.
    return BertConfig(hidden_size=hidden, num_hidden_layers=layers,
                      num_attention_heads=hidden // 64, intermediate_size=4 * hidden)


PRESETS: dict[str, BertConfig] = {
    "bert_tiny": _compact(2, 128),
    "bert_mini": _compact(4, 256),
    "bert_small": _compact(4, 512),
    "bert_medium": _compact(8, 512),
    "bert_base": BertConfig(),
    "bert_large": BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                             intermediate_size=4096),
}
