"""Trains a tiny `BertPretrainer` on synthetic batches with `fit_model`; the distributed and
resumption tests run it in subprocesses (strategies need a fresh process).

Writes `--result` (npz): the per-epoch losses and every final weight.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tfbert  # noqa: E402
from tests.training.synthetic import dataset_fn, pretraining_batches, tiny_config  # noqa: E402
from tfbert.models.checkpoint import model_weights  # noqa: E402
from tfbert.training import compile_pretrainer, create_optimizer, fit_model, make_strategy  # noqa: E402
from tfbert.training import keras_mwms_fix  # noqa: E402


class SlowEpochs(keras.callbacks.Callback):
    """Sleeps after each epoch, so a test can kill the process between backups."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", default="default")
    parser.add_argument("--num-cpu-devices", type=int)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--steps-per-epoch", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--optimizer", default="adamw")
    parser.add_argument("--clipnorm", type=float, default=0.0)
    parser.add_argument("--epoch-delay", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--no-fix", action="store_true", help="multi_worker without the fix")
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--result", required=True)
    args = parser.parse_args()

    if args.threads:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    strategy = make_strategy(args.strategy, num_cpu_devices=args.num_cpu_devices)
    if args.no_fix:
        keras_mwms_fix.revert()
    keras.utils.set_random_seed(0)
    config = tiny_config(hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout)
    with strategy.scope():
        model = tfbert.BertPretrainer(config)
        optimizer = create_optimizer(model, name=args.optimizer, learning_rate=1e-3,
                                     total_steps=args.steps, warmup_steps=2,
                                     clipnorm=args.clipnorm or None)
        compile_pretrainer(model, optimizer)
    features = pretraining_batches(args.steps, args.batch_size)
    extra = [SlowEpochs(args.epoch_delay)] if args.epoch_delay else []
    if extra:  # add the test callback after fit_model's own ones
        original_fit = model.fit
        model.fit = lambda *a, callbacks, **k: original_fit(*a, callbacks=callbacks + extra, **k)
    from tfbert.training.trainer import backup_path, resume_epoch
    print(f"resuming at epoch {resume_epoch(backup_path(args.work_dir, strategy))}", flush=True)
    history = fit_model(model, dataset_fn(features, args.batch_size), strategy=strategy,
                  total_steps=args.steps, steps_per_epoch=args.steps_per_epoch,
                  global_batch_size=args.batch_size, work_dir=args.work_dir,
                  save_checkpoint=None, verbose=0)
    weights = model_weights(model)
    np.savez(args.result, history=json.dumps(history),
             **{f"weight:{name}": value for name, value in weights.items()})


if __name__ == "__main__":
    main()
