"""Learning-rate schedule of BERT training: linear warmup, then polynomial (linear) decay."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfbert")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`peak * step / warmup_steps` for the first `warmup_steps` steps, then decays to
    `end_learning_rate` at `decay_steps` as `(1 - progress) ** power` (power 1: linear, as in
    BERT) and stays there. `step` is the optimizer's `iterations` (0 for the first update).

    >>> schedule = WarmupPolynomialDecay(1e-3, warmup_steps=10, decay_steps=110)
    >>> [round(float(schedule(step)), 6) for step in (0, 5, 10, 60, 110, 200)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0, 0.0]
    """

    def __init__(self, peak_learning_rate: float, warmup_steps: int, decay_steps: int,
                 end_learning_rate: float = 0.0, power: float = 1.0):
        if peak_learning_rate <= 0:
            raise ValueError(f"`peak_learning_rate` must be > 0; got {peak_learning_rate}.")
        if not 0 <= warmup_steps <= decay_steps:
            raise ValueError("`warmup_steps` must be in [0, decay_steps]; got warmup_steps="
                             f"{warmup_steps}, decay_steps={decay_steps}.")
        if power <= 0:
            raise ValueError(f"`power` must be > 0; got {power}.")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.decay_steps = int(decay_steps)
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)

    def __call__(self, step):
        step = tf.cast(step, "float32")
        warmup = self.peak_learning_rate * step / max(self.warmup_steps, 1)
        decay_length = max(self.decay_steps - self.warmup_steps, 1)
        progress = tf.minimum((step - self.warmup_steps) / decay_length, 1.0)
        decayed = (self.end_learning_rate + (self.peak_learning_rate - self.end_learning_rate)
                   * (1.0 - progress) ** self.power)
        return tf.where(step < self.warmup_steps, warmup, decayed)

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power}
