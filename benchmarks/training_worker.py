"""One worker of the scaling benchmark (`bench_training.py` starts 1 or 2 of these).

Trains bert_tiny (MLM + NSP) with the tfbert.training pipeline on random full-length batches, on
one thread (one op at a time, each op single-threaded), under MultiWorkerMirroredStrategy
(TF_CONFIG set by the caller), and prints the examples/s of its last epoch as JSON. The CPU
allocator is the `tfbert` command line's unless TF_CPU_ALLOCATOR_USE_BFC says otherwise.
"""
import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-worker-batch", type=int, required=True)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--steps-per-epoch", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from tfbert.runtime import use_caching_cpu_allocator

    use_caching_cpu_allocator()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from tfbert import BertConfig, BertPretrainer
    from tfbert.training import (compile_pretrainer, create_optimizer, fit_model, make_strategy,
                                 split_pretraining_features)

    strategy = make_strategy("multi_worker")
    workers = strategy.num_replicas_in_sync
    global_batch = args.per_worker_batch * workers
    steps = args.steps_per_epoch * args.epochs
    config = BertConfig.preset("bert_tiny")
    with strategy.scope():
        model = BertPretrainer(config)
        compile_pretrainer(model, create_optimizer(model, total_steps=steps, warmup_steps=1))
    rng = np.random.default_rng(0)
    batch, length, masked = args.per_worker_batch, args.seq_length, 20
    features = {
        "input_word_ids": rng.integers(1000, config.vocab_size, (batch, length), dtype=np.int32),
        "input_mask": np.ones((batch, length), np.int32),
        "input_type_ids": (np.arange(length)[None] >= length // 2).astype(np.int32).repeat(batch, 0),
        "masked_lm_positions": np.sort(rng.integers(1, length, (batch, masked)), 1).astype(np.int32),
        "masked_lm_ids": rng.integers(1000, config.vocab_size, (batch, masked), dtype=np.int32),
        "masked_lm_weights": np.ones((batch, masked), np.float32),
        "next_sentence_labels": rng.integers(0, 2, (batch, 1), dtype=np.int32),
    }

    def dataset_fn(context):
        return tf.data.Dataset.from_tensors(features).map(split_pretraining_features).repeat()

    history = fit_model(model, dataset_fn, strategy=strategy, total_steps=steps,
                        steps_per_epoch=args.steps_per_epoch, global_batch_size=global_batch,
                        work_dir=args.work_dir, save_checkpoint=None, verbose=0)
    print(json.dumps({"examples_per_second": history[-1]["examples_per_second"],
                      "workers": workers}), flush=True)


if __name__ == "__main__":
    main()
