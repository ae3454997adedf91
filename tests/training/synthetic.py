"""Synthetic pretraining batches with the exact structure of `tfbert.data.pretraining_dataset`."""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

import tfbert

SEQ_LENGTH = 16
MAX_PREDICTIONS = 4
VOCAB_SIZE = 64


def tiny_config(**overrides) -> tfbert.BertConfig:
    """bert_tiny shrunk to a 64-token vocabulary and 16 positions; no dropout unless asked."""
    values = dict(vocab_size=VOCAB_SIZE, max_position_embeddings=SEQ_LENGTH,
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    values.update(overrides)
    return dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), **values)


def pretraining_batches(count: int, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """`count` · `batch` rows of flat pretraining features; rows hold 1 to MAX_PREDICTIONS real
    predictions, so masked counts differ between rows (and between replicas' halves)."""
    rng = np.random.default_rng(seed)
    rows = count * batch
    ids = rng.integers(5, VOCAB_SIZE, (rows, SEQ_LENGTH)).astype("int32")
    ids[:, 0] = 1
    positions = np.stack([np.sort(rng.choice(np.arange(1, SEQ_LENGTH), MAX_PREDICTIONS, False))
                          for _ in range(rows)]).astype("int32")
    real = rng.integers(1, MAX_PREDICTIONS + 1, rows)
    weights = (np.arange(MAX_PREDICTIONS)[None, :] < real[:, None]).astype("float32")
    positions = np.where(weights > 0, positions, 0).astype("int32")
    return {
        "input_word_ids": ids,
        "input_mask": np.ones_like(ids),
        "input_type_ids": (np.arange(SEQ_LENGTH)[None, :] >= SEQ_LENGTH // 2).astype("int32")
        .repeat(rows, 0),
        "masked_lm_positions": positions,
        "masked_lm_ids": np.where(weights > 0, np.take_along_axis(ids, positions, 1), 0)
        .astype("int32"),
        "masked_lm_weights": weights,
        "next_sentence_labels": rng.integers(0, 2, (rows, 1)).astype("int32"),
    }


def dataset_fn(features: dict[str, np.ndarray], global_batch: int, next_sentence: bool = True):
    """A `fit_model` dataset_fn: replica r of R gets rows [r·b, (r+1)·b) of every global batch
    (b = global_batch / R), so any number of replicas and workers sees the same global batches.
    A pipeline feeds its replicas consecutive batches, so pipeline p of P yields, per global
    batch, the R/P consecutive slices of its replicas."""
    from tfbert.training import split_pretraining_features

    def make(context: tf.distribute.InputContext) -> tf.data.Dataset:
        per_replica = context.get_per_replica_batch_size(global_batch)
        rows = global_batch // context.num_input_pipelines  # this pipeline's rows per step
        start = context.input_pipeline_id * rows
        dataset = tf.data.Dataset.from_tensor_slices(features).batch(global_batch,
                                                                     drop_remainder=True)
        dataset = dataset.map(lambda batch: {k: v[start:start + rows] for k, v in batch.items()})
        dataset = dataset.unbatch().batch(per_replica, drop_remainder=True)
        return dataset.map(lambda batch: split_pretraining_features(batch, next_sentence))
    return make
