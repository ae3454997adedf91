"""BERT's optimizers: AdamW or LAMB, a warmup/decay schedule, global-norm clipping.

Weight decay never touches LayerNorm parameters or biases (as in original BERT). Gradient
clipping uses the norm of the *global* gradient: Keras clips each replica's partial gradient
before the all-reduce, which under tf.distribute clips a different vector than the one applied;
here the gradients are summed over replicas first and the sum is clipped.

AdamW's per-variable update is TensorFlow's fused `ResourceApplyAdam` kernel on the dense
gradient, hand-written here because Keras' Adam gets two things wrong for BERT:
- with clipping off, it squares an embedding's IndexedSlices gradient slice by slice, before
  repeated token ids are summed, so every token that occurs twice in a batch gets a wrong
  second moment (clipping densifies the gradient first);
- it writes the update as separate elementwise ops, each a sweep over the whole model: without
  XLA, bert_base's update takes nearly twice as long as with the fused kernel.
"""
from __future__ import annotations

import threading

import keras
import tensorflow as tf

from tfbert.training.lamb import Lamb
from tfbert.training.schedules import WarmupPolynomialDecay

from tfbert.names import OPTIMIZERS
# Per tracing thread: ids of optimizers whose gradients `_clip_gradients` already summed.
_REDUCED = threading.local()


class _GlobalNormClipping:
    """Mixin: `global_clipnorm` measured on the gradient summed over replicas.

    With several replicas, `_clip_gradients` does the step's one all-reduce itself, clips the
    sum, and marks it done so that `_all_reduce_sum_gradients` (called later in the same
    `apply`, while tracing) does not reduce again. The mark is per thread: MirroredStrategy
    traces its replicas in parallel threads.
    """

    def _clip_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        if not self.global_clipnorm or context is None or context.num_replicas_in_sync == 1:
            return super()._clip_gradients(grads)
        summed = context.all_reduce("SUM", [g for g in grads if g is not None])
        clipped = iter(super()._clip_gradients(summed))  # Keras' own clipping, on the sum
        _REDUCED.optimizers = getattr(_REDUCED, "optimizers", set()) | {id(self)}
        return [None if g is None else next(clipped) for g in grads]

    def _all_reduce_sum_gradients(self, grads_and_vars):
        if id(self) in getattr(_REDUCED, "optimizers", set()):
            _REDUCED.optimizers = _REDUCED.optimizers - {id(self)}
            return list(grads_and_vars)
        return super()._all_reduce_sum_gradients(grads_and_vars)


@keras.saving.register_keras_serializable(package="tfbert")
class AdamW(_GlobalNormClipping, keras.optimizers.AdamW):
    """Keras AdamW whose `global_clipnorm` uses the global gradient norm and whose update
    runs as one fused kernel per variable.

    >>> variable = keras.Variable([1.0, -1.0])
    >>> optimizer = AdamW(learning_rate=0.1, weight_decay=0.0)
    >>> optimizer.apply([keras.ops.convert_to_tensor([0.5, -2.0])], [variable])
    >>> [round(x, 3) for x in variable.numpy().tolist()]  # Adam's first step: lr · sign(g)
    [0.9, -0.9]
    """

    def update_step(self, gradient, variable, learning_rate):
        gradient = tf.convert_to_tensor(gradient)  # sums the slices of repeated ids
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))


@keras.saving.register_keras_serializable(package="tfbert")
class LambOptimizer(_GlobalNormClipping, Lamb):
    """`Lamb` whose `global_clipnorm` uses the global gradient norm."""


def no_decay_variables(model: keras.Model) -> list[keras.Variable]:
    """The variables weight decay skips: LayerNorm parameters and biases."""
    return [v for v in model.trainable_variables
            if "LayerNorm" in v.path or v.path.rsplit("/", 1)[-1].endswith("bias")]


def create_optimizer(model: keras.Model, *, name: str = "adamw", learning_rate: float = 1e-4,
                     total_steps: int, warmup_steps: int = 0, end_learning_rate: float = 0.0,
                     power: float = 1.0, weight_decay: float = 0.01,
                     clipnorm: float | None = 1.0) -> keras.optimizers.Optimizer:
    """The optimizer for `model` (build it first, under the strategy scope if there is one).

    `name` is "adamw" (BERT's choice; epsilon 1e-6) or "lamb" (large batches). The learning
    rate warms up linearly over `warmup_steps`, then decays as `power` (1: linear) to
    `end_learning_rate` at `total_steps`. `clipnorm` caps the global gradient norm (None: off).

    >>> import tfbert
    >>> model = tfbert.BertClassifier(tfbert.BertConfig.preset("bert_tiny"), num_labels=2)
    >>> optimizer = create_optimizer(model, total_steps=100, warmup_steps=10)
    >>> type(optimizer).__name__, float(optimizer.learning_rate)
    ('AdamW', 0.0)
    >>> len(no_decay_variables(model))  # 5 LayerNorms × (gamma, beta) + 14 biases
    24
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {', '.join(OPTIMIZERS)}; got {name!r}.")
    if weight_decay < 0:
        raise ValueError(f"`weight_decay` must be >= 0; got {weight_decay}.")
    if clipnorm is not None and clipnorm <= 0:
        raise ValueError(f"`clipnorm` must be > 0 or None; got {clipnorm}.")
    schedule = WarmupPolynomialDecay(learning_rate, warmup_steps, total_steps,
                                     end_learning_rate=end_learning_rate, power=power)
    if name == "adamw":
        optimizer = AdamW(learning_rate=schedule, weight_decay=weight_decay, epsilon=1e-6,
                          global_clipnorm=clipnorm)
    else:
        optimizer = LambOptimizer(learning_rate=schedule, weight_decay=weight_decay,
                                  global_clipnorm=clipnorm)
    optimizer.exclude_from_weight_decay(var_list=no_decay_variables(model))
    return optimizer
