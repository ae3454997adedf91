import math

import numpy as np
import pytest
import tensorflow as tf

from tfbert.config import ACTIVATIONS
from tfbert.layers.activations import get_activation


def test_every_config_activation_is_implemented():
    for name in ACTIVATIONS:
        assert callable(get_activation(name))


def test_gelu_is_exact_and_gelu_new_is_the_tanh_approximation():
    x = np.linspace(-4, 4, 17)
    exact = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x]
    tanh = [0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))) for v in x]
    np.testing.assert_allclose(get_activation("gelu")(tf.constant(x)), exact, atol=1e-8)
    for name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        np.testing.assert_allclose(get_activation(name)(tf.constant(x)), tanh, atol=1e-8)


def test_unknown_activation():
    with pytest.raises(ValueError, match="got 'mish'"):
        get_activation("mish")
