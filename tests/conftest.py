"""Shared pytest set-up: quiet TensorFlow, the allocator of the `tfbert` command line, the
`slow` marker, a clean dtype policy per test."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402

from tfbert.runtime import use_caching_cpu_allocator  # noqa: E402

# The tests, and the `tfbert` processes they start, run on the allocator users' commands get.
use_caching_cpu_allocator()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running; `make test` skips it, "
                                       "`make test-all` runs it")
    # Keras' own numpy conversion, not ours.
    config.addinivalue_line("filterwarnings",
                            "ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.fixture(autouse=True)
def float32_policy():
    """Every test starts and ends with the float32 policy, whatever it set."""
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
