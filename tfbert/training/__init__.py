"""Training with `model.fit` under tf.distribute: strategies, losses, optimizers, and the one
fault-tolerant run that pretraining and every fine-tuning task share."""
from tfbert.lazy_exports import lazy_exports

_EXPORTS = {
    "MaskedLMLoss": "tfbert.training.losses:MaskedLMLoss",
    "TrainingOptions": "tfbert.training.options:TrainingOptions",
    "WarmupPolynomialDecay": "tfbert.training.schedules:WarmupPolynomialDecay",
    "compile_pretrainer": "tfbert.training.pretraining:compile_pretrainer",
    "create_optimizer": "tfbert.training.optimizers:create_optimizer",
    "fit_model": "tfbert.training.trainer:fit_model",
    "make_strategy": "tfbert.training.strategy:make_strategy",
    "pretrain": "tfbert.training.pretraining:pretrain",
    "split_pretraining_features": "tfbert.training.pretraining:split_pretraining_features",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
