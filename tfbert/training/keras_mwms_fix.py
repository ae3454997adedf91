"""Makes Keras 3 `fit` work under `tf.distribute.MultiWorkerMirroredStrategy`.

Keras 3.15's TensorFlow trainer fails there in two places (keras-team/keras issue 20585):

1. `TensorFlowTrainer._maybe_symbolic_build` takes the first distributed batch and averages it
   over replicas with `strategy.reduce("MEAN", batch, axis=None)` to get one batch of the right
   structure; under multi-worker that raises "Attempt to convert a value (PerReplica...) to a
   Tensor". The build only needs the structure, shapes and dtypes, so one replica's batch serves.
2. `reduce_per_replica` then reduces the scalar metric results of every step with
   `strategy.reduce("MEAN", value, axis=0)` when the strategy is multi-worker, which raises
   "Invalid reduction dimension 0 for input with 0 dimensions". A scalar is reduced with
   `axis=None` (the cross-replica mean), which is what the single-worker branch computes.

`apply()` patches both, once, and only on the Keras version it was verified with; the strategy
factory calls it for `multi_worker`. MirroredStrategy and TPUStrategy do not need it.
"""
from __future__ import annotations

import functools
import warnings

import keras
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as tf_trainer

# Keras versions on which both failures were reproduced and this fix verified (tests/training).
VERIFIED_KERAS_VERSIONS = ("3.15.1",)

_original_reduce_per_replica = tf_trainer.reduce_per_replica
_original_symbolic_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build


def is_applied() -> bool:
    """Whether `apply()` has patched the Keras trainer."""
    return tf_trainer.reduce_per_replica is not _original_reduce_per_replica


def apply() -> None:
    """Patches the Keras TensorFlow trainer for multi-worker `fit` (idempotent).

    On a Keras version other than `VERIFIED_KERAS_VERSIONS` it warns and patches nothing: the
    trainer code it replaces may have changed, and the bug may be fixed there.
    """
    if keras.__version__ not in VERIFIED_KERAS_VERSIONS:
        warnings.warn(
            f"tfbert's fix for Keras `fit` under MultiWorkerMirroredStrategy was verified on Keras "
            f"{', '.join(VERIFIED_KERAS_VERSIONS)}; found Keras {keras.__version__}, so it is not "
            "applied. If `fit` fails with 'Attempt to convert a value (PerReplica...)' or "
            "'Invalid reduction dimension 0', pin keras==3.15.1.", RuntimeWarning, stacklevel=2)
        return
    if is_applied():
        return
    tf_trainer.reduce_per_replica = _reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build


def revert() -> None:
    """Undoes `apply()` (for tests that show the failure without the fix)."""
    tf_trainer.reduce_per_replica = _original_reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _original_symbolic_build


def _is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    # The same test Keras uses to pick its multi-worker branch.
    return tf_trainer._collective_all_reduce_multi_worker(strategy)


@functools.wraps(_original_reduce_per_replica)
def _reduce_per_replica(values, strategy, reduction):
    if reduction in ("auto", "mean") and _is_multi_worker(strategy):
        def reduce(value):
            if value.shape.rank == 0:  # scalar metric: mean over replicas
                return strategy.reduce("MEAN", value, axis=None)
            return _original_reduce_per_replica(value, strategy, reduction)
        return tf.nest.map_structure(reduce, values)
    return _original_reduce_per_replica(values, strategy, reduction)


@functools.wraps(_original_symbolic_build)
def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    strategy = self._distribute_strategy
    if iterator is None or strategy is None or not _is_multi_worker(strategy):
        return _original_symbolic_build(self, iterator=iterator, data_batch=data_batch)
    for _, _, distributed_iterator in iterator:
        batch = next(distributed_iterator)
        # One replica's batch has the structure, shapes and dtypes the build needs.
        data_batch = tf.nest.map_structure(
            lambda value: strategy.experimental_local_results(value)[0], batch)
        break
    with strategy.scope():
        self._symbolic_build(data_batch=data_batch)
