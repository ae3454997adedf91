"""BERT pretraining with `model.fit`: masked LM (+ next sentence) on a text corpus."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Sequence

import keras
import tensorflow as tf

from tfbert.config import BertConfig
from tfbert.models import FEATURES, BertPretrainer
from tfbert.models.checkpoint import assign_weights, read_checkpoint
from tfbert.models.model_directory import CHECKPOINT, read_config, save
from tfbert.training.losses import MaskedLMLoss
from tfbert.training.options import TrainingOptions
from tfbert.training.strategy import is_chief, make_strategy
from tfbert.training.trainer import fit_model, finish

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


def pretrain(*, corpus: Sequence[str] = (), records: Sequence[str] = (), vocab_file: str,
             out: str | os.PathLike, steps: int, batch_size: int, seq_length: int = 128,
             config: BertConfig | str | None = None, init: str | os.PathLike | None = None,
             max_predictions_per_seq: int = 20, masking_rate: float = 0.15,
             whole_word_masking: bool = False, next_sentence: bool = True,
             lower_case: bool = True, overwrite: bool = False,
             options: TrainingOptions = TrainingOptions()) -> list[dict]:
    """Pretrains a `BertPretrainer` and writes it as the model directory `out`.

    Data: text files (`corpus`, one sentence per line, blank line between documents; masked
    afresh by `tfbert.data`) or TFRecords of original BERT's `create_pretraining_data.py`
    (`records`). `batch_size` is global. The model is `config` (a preset name, a
    `bert_config.json` path or a `BertConfig`), started from the model directory `init` if
    given (continued pretraining; its config is used and `config` must be None). Returns the
    per-epoch history, also saved as `history.json` in `out`. Rerunning the same call after a
    crash resumes from the backup in the work directory.
    """
    if bool(corpus) == bool(records):
        raise ValueError("Pass exactly one of `corpus` (text files) and `records` (TFRecords).")
    if (config is None) == (init is None):
        raise ValueError("Pass exactly one of `config` (train from scratch) and `init` "
                         f"(start from a model directory); got config={config!r}, init={init!r}.")
    if not Path(vocab_file).is_file():
        raise FileNotFoundError(f"Vocabulary file not found: {vocab_file}")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass overwrite=True "
                              "(`--overwrite`) to replace it.")
    strategy = make_strategy(options.strategy, num_cpu_devices=options.num_cpu_devices,
                             tpu=options.tpu)
    bert_config = _resolve_config(config, init)
    if seq_length > bert_config.max_position_embeddings:
        raise ValueError(f"`seq_length` must be <= max_position_embeddings="
                         f"{bert_config.max_position_embeddings}; got {seq_length}.")
    keras.utils.set_random_seed(options.seed)
    with strategy.scope():
        model = BertPretrainer(bert_config, next_sentence=next_sentence, dtype=options.dtype)
        if init is not None:
            # An encoder-only directory (e.g. a converted Google BERT) leaves fresh heads.
            assign_weights(model, read_checkpoint(Path(init) / CHECKPOINT), allow_missing=("cls/",))
        optimizer = options.create_optimizer(model, steps)
        compile_pretrainer(model, optimizer, jit_compile=options.resolved_jit_compile(),
                           steps_per_execution=options.steps_per_execution)

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        import tfbert.data

        if corpus:
            dataset = tfbert.data.pretraining_dataset(
                list(corpus), vocab_file, seq_length=seq_length,
                max_predictions_per_seq=max_predictions_per_seq, batch_size=batch_size,
                masking_rate=masking_rate, whole_word_masking=whole_word_masking,
                next_sentence=next_sentence, lower_case=lower_case, seed=options.seed,
                input_context=input_context)
        else:
            dataset = tfbert.data.read_pretraining_records(
                list(records), seq_length=seq_length,
                max_predictions_per_seq=max_predictions_per_seq, batch_size=batch_size,
                seed=options.seed, input_context=input_context)
        return dataset.map(functools.partial(split_pretraining_features,
                                             next_sentence=next_sentence))

    def save_checkpoint(trained: keras.Model, path: Path) -> None:
        save(trained, path, vocab_file=vocab_file, do_lower_case=lower_case, overwrite=True)

    work_dir = options.resolved_work_dir(out)
    history = fit_model(model, dataset_fn, strategy=strategy, total_steps=steps,
                        steps_per_epoch=options.steps_per_epoch, global_batch_size=batch_size,
                        work_dir=work_dir, save_checkpoint=save_checkpoint,
                        checkpoint_every=options.checkpoint_every, verbose=options.verbose)
    if is_chief(strategy):
        save(model, out, vocab_file=vocab_file, do_lower_case=lower_case, overwrite=overwrite,
             extra_files={"history.json": json.dumps(history, indent=1) + "\n"})
    finish(work_dir, strategy)
    return history


def _resolve_config(config: BertConfig | str | None, init: str | os.PathLike | None) -> BertConfig:
    if init is not None:
        return read_config(init)[0]
    if isinstance(config, BertConfig):
        return config
    if Path(str(config)).is_file():
        return BertConfig.from_json(config)
    return BertConfig.preset(str(config))
