"""The named choices that the library and the command line share, importable without TensorFlow.

Each tuple is the one list of valid values for its option: the library validates against it and
`tfbert --help` lists it, without importing TensorFlow (so that `--help` answers at once).

>>> "multi_worker" in STRATEGIES, CONVERT_SOURCES[:2]
(True, ('garden', 'google'))
"""

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # tfbert.training.make_strategy
OPTIMIZERS = ("adamw", "lamb")  # tfbert.training.create_optimizer
DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")  # Keras dtype policies for training
POOLING_MODES = ("cls", "mean")  # tfbert.layers.SequencePooling
EXPORT_TASKS = ("embed", "classify", "regress", "mlm", "tag", "qa")  # tfbert export --task
CONVERT_SOURCES = ("garden", "google", "hf", "keras-hub")  # tfbert convert --from
FINETUNE_TASKS = ("classify", "regress", "tag", "qa")  # tfbert finetune --task (tasks.registry)

__all__ = ["CONVERT_SOURCES", "DTYPES", "EXPORT_TASKS", "FINETUNE_TASKS", "OPTIMIZERS",
           "POOLING_MODES", "STRATEGIES"]
