"""Training with `model.fit` under tf.distribute: strategies, losses, optimizers, fault-tolerant
fit loops for pretraining and fine-tuning."""
from tfbert.training.losses import MaskedLMLoss
from tfbert.training.optimizers import create_optimizer
from tfbert.training.options import TrainingOptions
from tfbert.training.pretraining import compile_pretrainer, pretrain, split_pretraining_features
from tfbert.training.schedules import WarmupPolynomialDecay
from tfbert.training.strategy import make_strategy
from tfbert.training.trainer import fit_model

__all__ = ["MaskedLMLoss", "TrainingOptions", "WarmupPolynomialDecay", "compile_pretrainer",
           "create_optimizer", "fit_model", "make_strategy", "pretrain",
           "split_pretraining_features"]
