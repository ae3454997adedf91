"""BERT pretraining with `model.fit`: masked LM (+ next sentence) on a text corpus."""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Sequence

import keras
import tensorflow as tf

from tfbert.config import BertConfig
from tfbert.models import FEATURES, BertPretrainer
from tfbert.models.model_directory import ModelDirectory, check_vocabulary
from tfbert.text.vocab import is_uncased, load_vocab
from tfbert.training.losses import MaskedLMLoss
from tfbert.training.options import TrainingOptions
from tfbert.training.run import WarmStart, train

# Model-side inputs of pretraining; the other features are targets and weights.
INPUTS = FEATURES + ("masked_lm_positions",)


def split_pretraining_features(features: dict[str, tf.Tensor], next_sentence: bool = True):
    """A `tfbert.data` batch (flat dict) -> `(x, y, sample_weight)` for `BertPretrainer.fit`.

    >>> import numpy as np
    >>> batch = {"input_word_ids": np.zeros((2, 8), "int32"),
    ...          "input_mask": np.ones((2, 8), "int32"),
    ...          "input_type_ids": np.zeros((2, 8), "int32"),
    ...          "masked_lm_positions": np.ones((2, 3), "int32"),
    ...          "masked_lm_ids": np.ones((2, 3), "int32"),
    ...          "masked_lm_weights": np.ones((2, 3), "float32"),
    ...          "next_sentence_labels": np.zeros((2, 1), "int32")}
    >>> x, y, weights = split_pretraining_features(batch)
    >>> sorted(x), sorted(y), sorted(weights)
    (['input_mask', 'input_type_ids', 'input_word_ids', 'masked_lm_positions'], ['mlm_logits', \
'nsp_logits'], ['mlm_logits', 'nsp_logits'])
    """
    required = INPUTS + ("masked_lm_ids", "masked_lm_weights")
    missing = [name for name in required if name not in features]
    if next_sentence and "next_sentence_labels" not in features:
        missing.append("next_sentence_labels")
    if missing:
        raise ValueError(f"Pretraining batches need the features {missing}; "
                         f"got {sorted(features)}.")
    x = {name: features[name] for name in INPUTS}
    y = {"mlm_logits": features["masked_lm_ids"]}
    weights = {"mlm_logits": features["masked_lm_weights"]}
    if next_sentence:
        labels = features["next_sentence_labels"]
        y["nsp_logits"] = labels
        weights["nsp_logits"] = tf.ones(tf.shape(labels)[:1], "float32")
    return x, y, weights


def compile_pretrainer(model: BertPretrainer, optimizer: keras.optimizers.Optimizer, *,
                       jit_compile: bool = False, steps_per_execution: int = 1) -> None:
    """Compiles `model` with BERT's losses and metrics.

    Loss: `MaskedLMLoss` (global-batch normalised) + next-sentence cross-entropy. Logged
    metrics: `mlm_logits_loss`, `mlm_logits_accuracy` (over real predictions only),
    `nsp_logits_loss`, `nsp_logits_accuracy`, and their sum `loss`.
    """
    if not isinstance(model, BertPretrainer):
        raise TypeError(f"`model` must be a BertPretrainer; got {type(model).__name__}.")
    losses = {"mlm_logits": MaskedLMLoss()}
    weighted_metrics = {"mlm_logits": [keras.metrics.SparseCategoricalAccuracy("accuracy")]}
    if model.next_sentence:
        losses["nsp_logits"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        weighted_metrics["nsp_logits"] = [keras.metrics.SparseCategoricalAccuracy("accuracy")]
    model.compile(optimizer=optimizer, loss=losses, weighted_metrics=weighted_metrics,
                  jit_compile=jit_compile, steps_per_execution=steps_per_execution)


def pretrain(*, corpus: Sequence[str] = (), records: Sequence[str] = (),
             vocab_file: str | os.PathLike | None = None, out: str | os.PathLike, steps: int,
             batch_size: int, seq_length: int = 128, config: BertConfig | str | None = None,
             init: str | os.PathLike | None = None, max_predictions_per_seq: int = 20,
             masking_rate: float = 0.15, whole_word_masking: bool = False,
             next_sentence: bool = True, lower_case: bool | None = None, overwrite: bool = False,
             options: TrainingOptions = TrainingOptions()) -> list[dict]:
    """Pretrains a `BertPretrainer` and writes it as the model directory `out`.

    Data: text files (`corpus`, one sentence per line, blank line between documents; masked
    afresh by `tfbert.data`) or TFRecords of original BERT's `create_pretraining_data.py`
    (`records`). `batch_size` is global. The model is `config` (a preset name, whose
    `vocab_size` becomes the vocabulary's size; a `bert_config.json` path; or a `BertConfig`),
    or the model directory `init` (continued pretraining; its config, and its vocabulary and
    casing unless `vocab_file` / `lower_case` are given). `lower_case` None: the vocabulary's
    casing (uncased if no token has upper case). Returns the per-epoch history, also saved as
    `history.json` in `out`. Rerunning the same call after a crash resumes from the backup in
    the work directory.
    """
    if bool(corpus) == bool(records):
        raise ValueError("Pass exactly one of `corpus` (text files) and `records` (TFRecords).")
    if (config is None) == (init is None):
        raise ValueError("Pass exactly one of `config` (train from scratch) and `init` "
                         f"(start from a model directory); got config={config!r}, init={init!r}.")
    source = ModelDirectory(init) if init is not None else None
    if vocab_file is None:
        if source is None:
            raise ValueError("`vocab_file` is required unless `init` names a model directory "
                             "(whose vocabulary is then used).")
        vocab_file = source.vocab_file
    if not Path(vocab_file).is_file():
        raise FileNotFoundError(f"Vocabulary file not found: {vocab_file}")
    tokens = load_vocab(vocab_file)
    if lower_case is None:
        same_vocab = (source is not None
                      and Path(vocab_file).resolve() == source.vocab_file.resolve())
        lower_case = source.lower_case if same_vocab else is_uncased(tokens)
    bert_config = source.config if source else _resolve_config(config, len(tokens))
    check_vocabulary(vocab_file, bert_config)
    if seq_length > bert_config.max_position_embeddings:
        raise ValueError(f"`seq_length` must be <= max_position_embeddings="
                         f"{bert_config.max_position_embeddings}; got {seq_length}.")

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        import tfbert.data

        if corpus:
            dataset = tfbert.data.pretraining_dataset(
                list(corpus), vocab_file, seq_length=seq_length,
                max_predictions_per_seq=max_predictions_per_seq, batch_size=batch_size,
                masking_rate=masking_rate, whole_word_masking=whole_word_masking,
                next_sentence=next_sentence, lower_case=lower_case,
                tokenizer_compat=source.tokenizer_compat if source else "google",
                seed=options.seed,
                input_context=input_context)
        else:
            dataset = tfbert.data.read_pretraining_records(
                list(records), seq_length=seq_length,
                max_predictions_per_seq=max_predictions_per_seq, batch_size=batch_size,
                seed=options.seed, input_context=input_context)
        return dataset.map(functools.partial(split_pretraining_features,
                                             next_sentence=next_sentence))

    def compile_model(model: BertPretrainer, optimizer: keras.optimizers.Optimizer) -> None:
        compile_pretrainer(
            model, optimizer, jit_compile=options.resolved_jit_compile(model.dtype_policy.name),
            steps_per_execution=options.steps_per_execution)

    _, history = train(
        kind="pretrain", out=out, dataset_fn=dataset_fn, compile_model=compile_model,
        build=lambda dtype: BertPretrainer(bert_config, next_sentence=next_sentence,
                                           dtype=dtype),
        # An encoder-only directory (e.g. a converted Google BERT) leaves fresh heads.
        warm_start=WarmStart(source, allow_missing=("cls/",)) if source else None,
        total_steps=steps, steps_per_epoch=options.steps_per_epoch, batch_size=batch_size,
        vocab_file=vocab_file, lower_case=lower_case, options=options, overwrite=overwrite)
    return history


def _resolve_config(config: BertConfig | str, vocab_size: int) -> BertConfig:
    """The config `config` names; a preset takes the vocabulary's size."""
    if isinstance(config, BertConfig):
        return config
    if Path(str(config)).is_file():
        return BertConfig.from_json(config)
    return dataclasses.replace(BertConfig.preset(str(config)), vocab_size=vocab_size)
