"""The distribution strategy from one flag: `default`, `mirrored`, `multi_worker`, `tpu`."""
from __future__ import annotations

import json
import os

import tensorflow as tf

from tfbert.training import keras_mwms_fix

from tfbert.names import STRATEGIES


def use_cpu_devices(count: int) -> list[str]:
    """Splits the host CPU into `count` logical devices (to test multi-replica code on a laptop).

    Must run before TensorFlow initialises its devices (before the first op); returns the
    logical device names.
    """
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"`num_cpu_devices` must be a positive integer; got {count!r}.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration()] * count
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != count:
        try:
            tf.config.set_logical_device_configuration(cpu, wanted)
        except RuntimeError:
            raise ValueError(
                f"`num_cpu_devices={count}` must be set before TensorFlow initialises its devices "
                f"(it already has {len(tf.config.list_logical_devices('CPU'))} CPU device(s)); "
                "create the strategy first thing in the process.") from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def make_strategy(name: str = "default", *, num_cpu_devices: int | None = None,
                  tpu: str | None = None) -> tf.distribute.Strategy:
    """Builds the strategy `name` names.

    - `default`: one device (the first GPU if there is one, else the CPU).
    - `mirrored`: synchronous data parallelism over all local GPUs, or over `num_cpu_devices`
      logical CPUs (a test set-up for multi-replica code).
    - `multi_worker`: synchronous data parallelism over the hosts of `TF_CONFIG` (every worker
      runs the same command with its own `task`); applies `keras_mwms_fix` so `fit` works.
    - `tpu`: a Cloud TPU (`tpu` is its name or grpc:// address; "" or "local" on a TPU VM).

    >>> make_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {', '.join(STRATEGIES)}; got {name!r}.")
    if tpu is not None and name != "tpu":
        raise ValueError(f"`tpu` is only used with strategy='tpu'; got strategy={name!r}.")
    devices = use_cpu_devices(num_cpu_devices) if num_cpu_devices is not None else None
    if name == "default":
        if devices and len(devices) > 1:
            raise ValueError(f"`num_cpu_devices={num_cpu_devices}` needs strategy='mirrored' or "
                             "'multi_worker'; the default strategy uses one device.")
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        _check_tf_config()
        keras_mwms_fix.apply()
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the shared outputs (model directory, logs, checkpoints)."""
    return bool(strategy.extended.should_checkpoint)


def worker_index(strategy: tf.distribute.Strategy) -> int:
    """This worker's task index under multi-worker training, else 0."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None and resolver.task_type else 0


def _check_tf_config() -> None:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError("strategy='multi_worker' needs the TF_CONFIG environment variable "
                         '(e.g. {"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                         '"task": {"type": "worker", "index": 0}}); it is not set.')
    try:
        config = json.loads(raw)
        config["cluster"], config["task"]["type"], config["task"]["index"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("TF_CONFIG must be JSON with 'cluster' and 'task' {'type', 'index'}; "
                         f"got {raw!r}.") from None
