"""LAMB (You et al. 2019): Adam's update plus weight decay, scaled per layer by a trust ratio."""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="tfbert")
class Lamb(keras.optimizers.Optimizer):
    """LAMB as in the paper and the large-batch BERT recipe.

    For each variable: `update = m̂ / (sqrt(v̂) + epsilon) + weight_decay · w`, then
    `w -= lr · (‖w‖ / ‖update‖) · update`. Variables excluded with
    `exclude_from_weight_decay` (LayerNorm and biases in tfbert) get neither the decay nor the
    trust ratio, as in the reference implementation. (Keras' own `Lamb` applies weight decay
    outside the trust ratio and never skips it.)

    >>> import numpy as np
    >>> variable = keras.Variable(np.ones(4, "float32"))
    >>> optimizer = Lamb(learning_rate=0.1, weight_decay=0.0)
    >>> optimizer.apply([keras.ops.convert_to_tensor(np.array([1, -1, 1, -1], "float32"))],
    ...                 [variable])
    >>> [round(x, 3) for x in variable.numpy().tolist()]  # trust ratio ‖w‖/‖update‖ = 1
    [0.9, 1.1, 0.9, 1.1]
    """

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-6, weight_decay: float = 0.01, name: str = "lamb",
                 **kwargs):
        # The decay is part of the update here, so the base class must not apply it again.
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.lamb_weight_decay = float(weight_decay)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        # Dense: an embedding's IndexedSlices must sum repeated ids before squaring.
        gradient = ops.cast(tf.convert_to_tensor(gradient), variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient))
        m_hat = m / (1.0 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        v_hat = v / (1.0 - ops.power(ops.cast(self.beta_2, variable.dtype), step))
        update = m_hat / (ops.sqrt(v_hat) + self.epsilon)
        ratio = 1.0
        if self._use_weight_decay(variable):  # not LayerNorm or a bias
            update = update + self.lamb_weight_decay * variable
            weight_norm = ops.sqrt(ops.sum(ops.square(variable)))
            update_norm = ops.sqrt(ops.sum(ops.square(update)))
            ratio = ops.where(ops.logical_and(weight_norm > 0, update_norm > 0),
                              weight_norm / ops.maximum(update_norm, 1e-30), 1.0)
        self.assign_sub(variable, ratio * lr * update)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "weight_decay": self.lamb_weight_decay})
        return config
