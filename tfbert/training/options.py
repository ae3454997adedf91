"""`TrainingOptions`: how to train (distribution, optimizer, precision, checkpoints), shared by
`pretrain` and `finetune` and by their command-line flags."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import keras

from tfbert.training.optimizers import OPTIMIZERS, create_optimizer
from tfbert.training.strategy import STRATEGIES

DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """How to train. Defaults follow BERT pretraining (AdamW, peak learning rate 1e-4,
    weight decay 0.01, gradient norm cap 1.0); the comment on each field says more.

    >>> TrainingOptions(learning_rate=5e-5).optimizer
    'adamw'
    """

    strategy: str = "default"  # default | mirrored | multi_worker | tpu
    num_cpu_devices: int | None = None  # logical CPUs for `mirrored` on a CPU-only host
    tpu: str | None = None  # TPU name or grpc:// address for `tpu`
    optimizer: str = "adamw"  # adamw | lamb
    learning_rate: float = 1e-4  # peak, reached after the warmup
    warmup_steps: int | None = None  # None: 10% of the steps
    end_learning_rate: float = 0.0
    decay_power: float = 1.0  # 1: linear decay, as in BERT
    weight_decay: float = 0.01  # never on LayerNorm or biases
    clipnorm: float | None = 1.0  # global gradient norm cap; None: off
    dtype: str = "float32"  # float32 | mixed_bfloat16 | mixed_float16 (loss scaling)
    jit_compile: bool | None = None  # None: XLA with the default strategy and TPU only
    steps_per_execution: int = 1  # steps per host call (raise it on TPU)
    steps_per_epoch: int | None = None  # steps between logs, backups and checkpoints
    checkpoint_every: int = 1  # epochs between kept model-directory checkpoints
    work_dir: str | None = None  # backup, logs, checkpoints; None: "<out>.work"
    seed: int = 0
    verbose: int | str = "auto"  # Keras progress bar: "auto", 0, 1 or 2

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"`strategy` must be one of {', '.join(STRATEGIES)}; "
                             f"got {self.strategy!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"`optimizer` must be one of {', '.join(OPTIMIZERS)}; "
                             f"got {self.optimizer!r}.")
        if self.dtype not in DTYPES:
            raise ValueError(f"`dtype` must be one of {', '.join(DTYPES)}; got {self.dtype!r}.")
        for name in ("steps_per_execution", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1; got {getattr(self, name)}.")
        if self.learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be > 0; got {self.learning_rate}.")

    def resolved_jit_compile(self) -> bool:
        """XLA by default where Keras can compile the whole step: one device, or TPU."""
        if self.jit_compile is not None:
            return self.jit_compile
        return self.strategy in ("default", "tpu")

    def resolved_work_dir(self, out: str | Path) -> Path:
        out = Path(out)
        return Path(self.work_dir) if self.work_dir else out.with_name(out.name + ".work")

    def resolved_warmup_steps(self, total_steps: int) -> int:
        return total_steps // 10 if self.warmup_steps is None else self.warmup_steps

    def create_optimizer(self, model: keras.Model, total_steps: int) -> keras.optimizers.Optimizer:
        """The optimizer these options describe, with its schedule over `total_steps`."""
        return create_optimizer(
            model, name=self.optimizer, learning_rate=self.learning_rate,
            total_steps=total_steps, warmup_steps=self.resolved_warmup_steps(total_steps),
            end_learning_rate=self.end_learning_rate, power=self.decay_power,
            weight_decay=self.weight_decay, clipnorm=self.clipnorm)

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Adds one flag per field to a command's parser (see `from_args`)."""
        group = parser.add_argument_group("training")
        group.add_argument("--strategy", choices=STRATEGIES, default="default",
                           help="default: one device; mirrored: all local GPUs (or "
                                "--num-cpu-devices CPUs); multi_worker: the hosts of TF_CONFIG; "
                                "tpu: a Cloud TPU (--tpu)")
        group.add_argument("--num-cpu-devices", type=int, metavar="N",
                           help="split the CPU into N logical devices (mirrored, for testing)")
        group.add_argument("--tpu", metavar="NAME", help="TPU name or grpc:// address")
        group.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
        group.add_argument("--learning-rate", type=float, default=None, metavar="LR",
                           help="peak learning rate (pretrain: 1e-4, finetune: 5e-5)")
        group.add_argument("--warmup-steps", type=int, metavar="N",
                           help="linear warmup steps (default: 10%% of the steps)")
        group.add_argument("--end-learning-rate", type=float, default=0.0, metavar="LR")
        group.add_argument("--decay-power", type=float, default=1.0, metavar="P",
                           help="polynomial decay power after warmup (1: linear)")
        group.add_argument("--weight-decay", type=float, default=0.01, metavar="W",
                           help="decoupled weight decay, never on LayerNorm or biases")
        group.add_argument("--clipnorm", type=float, default=1.0, metavar="C",
                           help="cap on the global gradient norm; 0 turns clipping off")
        group.add_argument("--dtype", choices=DTYPES, default="float32",
                           help="mixed_bfloat16 (TPU, recent CPUs) or mixed_float16 "
                                "(GPUs; adds loss scaling)")
        group.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=None,
                           help="compile the step with XLA (default: on for default and tpu)")
        group.add_argument("--steps-per-execution", type=int, default=1, metavar="N",
                           help="steps per host call; raise it on TPU")
        group.add_argument("--steps-per-epoch", type=int, metavar="N",
                           help="pretrain: steps between logs, backups and checkpoints "
                                "(finetune: an epoch is one pass over --train)")
        group.add_argument("--checkpoint-every", type=int, default=1, metavar="EPOCHS",
                           help="epochs between kept model-directory checkpoints")
        group.add_argument("--work-dir", metavar="DIR",
                           help="backup, TensorBoard logs, checkpoints (default: OUT.work)")
        group.add_argument("--seed", type=int, default=0)
        group.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                           help="0: silent, 1: progress bar, 2: one line per epoch")

    @classmethod
    def from_args(cls, args: argparse.Namespace, default_learning_rate: float) -> "TrainingOptions":
        return cls(strategy=args.strategy, num_cpu_devices=args.num_cpu_devices, tpu=args.tpu,
                   optimizer=args.optimizer,
                   learning_rate=args.learning_rate or default_learning_rate,
                   warmup_steps=args.warmup_steps, end_learning_rate=args.end_learning_rate,
                   decay_power=args.decay_power, weight_decay=args.weight_decay,
                   clipnorm=args.clipnorm or None, dtype=args.dtype, jit_compile=args.jit_compile,
                   steps_per_execution=args.steps_per_execution,
                   steps_per_epoch=args.steps_per_epoch, checkpoint_every=args.checkpoint_every,
                   work_dir=args.work_dir, seed=args.seed, verbose=args.verbose)
