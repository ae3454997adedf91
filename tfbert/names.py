"""The named choices that the library and the command line share, importable without TensorFlow.

Each tuple is the one list of valid values for its option: the library validates against it and
`tfbert --help` lists it, without importing TensorFlow (so that `--help` answers at once).

>>> "multi_worker" in STRATEGIES, CONVERT_SOURCES[:2]
(True, ('garden', 'google'))
"""

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # tfbert.training.make_strategy
OPTIMIZERS = ("adamw", "lamb")  # tfbert.training.create_optimizer
# Keras dtype policies for training; auto: tfbert.runtime.choose_dtype picks one for the machine.
DTYPES = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
POOLING_MODES = ("cls", "mean")  # tfbert.layers.SequencePooling
EXPORT_TASKS = ("embed", "classify", "regress", "mlm", "tag", "qa")  # tfbert export --task
CONVERT_SOURCES = ("garden", "google", "hf", "keras-hub")  # tfbert convert --from
CONVERT_TARGETS = ("hf",)  # tfbert convert --to
FINETUNE_TASKS = ("classify", "regress", "tag", "qa")  # tfbert finetune --task (tasks.registry)
# TF Serving releases an export may target (tfbert export --serving-version); the oldest is
# the default, so an export runs on every supported release unless asked otherwise.
SERVING_VERSIONS = ("2.14", "2.15", "2.16", "2.17", "2.18", "2.19", "2.20")
DEFAULT_SERVING_VERSION = SERVING_VERSIONS[0]

__all__ = ["CONVERT_SOURCES", "CONVERT_TARGETS", "DEFAULT_SERVING_VERSION", "DTYPES",
           "EXPORT_TASKS", "FINETUNE_TASKS", "OPTIMIZERS", "POOLING_MODES", "SERVING_VERSIONS",
           "STRATEGIES"]
