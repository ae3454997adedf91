"""The strategy factory's checks, and the Keras multi-worker fix's version guard. (Strategies
that need their own process are tested in test_distributed.py.)"""
import keras
import pytest
import tensorflow as tf

from tfbert.training import keras_mwms_fix, make_strategy
from tfbert.training.strategy import is_chief, worker_index


def test_default_strategy_is_the_single_device_chief():
    strategy = make_strategy("default")
    assert strategy.num_replicas_in_sync == 1
    assert is_chief(strategy) and worker_index(strategy) == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "horovod"}, "`strategy` must be one of default, mirrored, multi_worker, tpu; "
                          "got 'horovod'"),
    ({"name": "mirrored", "tpu": "my-tpu"}, "`tpu` is only used with strategy='tpu'"),
    ({"name": "mirrored", "num_cpu_devices": 0}, "`num_cpu_devices` must be a positive integer"),
    # This process has initialised TensorFlow with one CPU device.
    ({"name": "mirrored", "num_cpu_devices": 3}, "must be set before TensorFlow initialises"),
])
def test_bad_arguments_are_named(kwargs, message):
    tf.constant(0)  # make sure devices are initialised
    with pytest.raises(ValueError) as error:
        make_strategy(**kwargs)
    assert message in str(error.value)


@pytest.mark.parametrize("tf_config, message", [
    (None, "needs the TF_CONFIG environment variable"),
    ('{"cluster": {}}', "TF_CONFIG must be JSON with 'cluster' and 'task'"),
])
def test_multi_worker_needs_a_valid_tf_config(monkeypatch, tf_config, message):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=message):
        make_strategy("multi_worker")
    assert not keras_mwms_fix.is_applied()


def test_fix_is_applied_only_on_the_verified_keras_version(monkeypatch):
    monkeypatch.setattr(keras, "__version__", "3.99.0")
    with pytest.warns(RuntimeWarning, match="verified on Keras 3.15.1; found Keras 3.99.0"):
        keras_mwms_fix.apply()
    assert not keras_mwms_fix.is_applied()


def test_fix_applies_once_and_reverts():
    assert keras.__version__ in keras_mwms_fix.VERIFIED_KERAS_VERSIONS
    try:
        keras_mwms_fix.apply()
        keras_mwms_fix.apply()
        assert keras_mwms_fix.is_applied()
    finally:
        keras_mwms_fix.revert()
    assert not keras_mwms_fix.is_applied()
