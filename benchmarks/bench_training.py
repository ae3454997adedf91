"""Training-pipeline benchmarks: tfbert.training vs keras-hub BertMaskedLM and HF
BertForMaskedLM, the scaling of multi-worker training from 1 to 2 workers on loopback, and the
CPU allocator's share of a training step.

Each training candidate is a complete pipeline a user would run, with the same model sizes
(`BertConfig.preset`), random weights, one random full-length batch repeated, dropout on:

- tfbert: `BertPretrainer(next_sentence=False)` compiled by `compile_pretrainer` (global-batch
  `MaskedLMLoss`, masked-LM accuracy) with `create_optimizer` (AdamW, weight decay without
  LayerNorm/bias, warmup + linear decay, global-norm clipping), `fit` for a few steps per call;
- keras-hub: `BertMaskedLM(backbone, preprocessor=None)` with its default `compile` loss and
  weighted accuracy, Keras AdamW with `global_clipnorm=1.0` and the same schedule;
- HF: `BertForMaskedLM` (PyTorch eager, 2 threads), AdamW, `clip_grad_norm_`, linear warmup
  schedule, cross-entropy on the gathered masked positions.

Every Keras candidate runs with XLA; on bert_tiny also without (`graph`), and the faster path
is reported. Times are each candidate's fastest call over interleaved rounds.
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

from harness import Row, measure_interleaved, peak_matmul
from bench_model import (HF, KERAS_HUB, OURS, _build, _features, _fastest, _hf_config,
                         _keras_hub_masked_lm, _keras_inputs, forward_flops, hf_masked_lm_loss)

SEQ_LENGTH = 128
CASES = {"bert_tiny": (32, 4), "bert_base": (8, 1)}  # preset -> (batch, steps per timed call)
LEARNING_RATE = 1e-4
TOTAL_STEPS = 10_000  # schedule length (the benchmark runs far fewer steps)
WARMUP_STEPS = 100
SCALING_BATCH = 32  # per worker
WORKER = pathlib.Path(__file__).with_name("training_worker.py")


def _tfbert_pipeline(config, features, steps: int, jit: bool):
    import tensorflow as tf

    from tfbert import BertPretrainer
    from tfbert.training import compile_pretrainer, create_optimizer, split_pretraining_features

    model = BertPretrainer(config, next_sentence=False)
    optimizer = create_optimizer(model, learning_rate=LEARNING_RATE, total_steps=TOTAL_STEPS,
                                 warmup_steps=WARMUP_STEPS)
    compile_pretrainer(model, optimizer, jit_compile=jit)
    batch = split_pretraining_features(features, next_sentence=False)
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    return lambda: model.fit(dataset, steps_per_epoch=steps, shuffle=False, verbose=0)


def _keras_hub_pipeline(config, features, steps: int, jit: bool):
    import keras
    import tensorflow as tf

    from tfbert.training import WarmupPolynomialDecay

    model = _build(_keras_hub_masked_lm, config)
    schedule = WarmupPolynomialDecay(LEARNING_RATE, WARMUP_STEPS, TOTAL_STEPS)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, epsilon=1e-6,
                                                   global_clipnorm=1.0),
                  jit_compile=jit)  # keras-hub's default loss and weighted accuracy
    data = (_keras_inputs(KERAS_HUB, features, mlm=True), features["masked_lm_ids"],
            features["masked_lm_weights"])
    dataset = tf.data.Dataset.from_tensors(data).repeat()
    return lambda: model.fit(dataset, steps_per_epoch=steps, shuffle=False, verbose=0)


def _hf_pipeline(config, features, steps: int):
    import torch
    import transformers

    model = transformers.BertForMaskedLM(_hf_config(config)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01,
                                  eps=1e-6)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, WARMUP_STEPS, TOTAL_STEPS)
    masked_lm_loss = hf_masked_lm_loss(model, features)

    def step():
        loss = masked_lm_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()

    def run_steps():
        for _ in range(steps):
            step()

    return run_steps


def _pipeline_row(preset: str, quick: bool) -> Row:
    from tfbert import BertConfig

    config = BertConfig.preset(preset)
    batch, steps = CASES[preset]
    _progress(f"training pipeline {preset} {batch}×{SEQ_LENGTH}")
    features = _features(config, batch)
    paths = ("XLA",) if quick or preset == "bert_base" else ("XLA", "graph")
    candidates = {}
    for path in paths:
        candidates[f"{OURS}/{path}"] = _tfbert_pipeline(config, features, steps, path == "XLA")
        candidates[f"{KERAS_HUB}/{path}"] = _keras_hub_pipeline(config, features, steps,
                                                                path == "XLA")
    candidates[f"{HF}/eager"] = _hf_pipeline(config, features, steps)
    peak_fn, peak_flops = peak_matmul("float32")
    candidates["peak/matmul"] = peak_fn
    seconds = measure_interleaved(candidates, warmup=1, min_repeats=1 if quick else 3,
                                  min_time_s=0.0 if quick else 30.0, statistic=min)
    peak_gflops = peak_flops / seconds.pop("peak/matmul") / 1e9
    # Forward + backward ≈ 3 × the forward matmul FLOPs (MLM head not counted).
    train_flops = 3 * forward_flops(config, SEQ_LENGTH) * batch
    rates, notes = {}, []
    for framework in (OURS, KERAS_HUB, HF):
        fastest, path = _fastest(seconds, framework)
        rates[framework] = batch * steps / fastest
        notes.append(f"{framework} {path} {train_flops * steps / fastest / 1e9 / peak_gflops:.0%}")
    note = (f"% of float32 matmul peak ({peak_gflops:.0f} GFLOP/s), path: {', '.join(notes)}; "
            f"AdamW + clipping + schedule, dropout on")
    ours = rates.pop(OURS)
    return Row("training pipeline", f"{preset} MLM {batch}×{SEQ_LENGTH}, 20 masked", "examples/s",
               ours, rates, note)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(count: int, steps_per_epoch: int, allocator: str = "true") -> float:
    """Global examples/s of the last epoch of a `count`-worker run on 127.0.0.1; `allocator`
    is the workers' TF_CPU_ALLOCATOR_USE_BFC ("true": the `tfbert` command line's)."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(count)]}
    with tempfile.TemporaryDirectory() as work:
        processes = []
        for index in range(count):
            env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": allocator, "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}})}
            processes.append(subprocess.Popen(
                [sys.executable, str(WORKER), "--per-worker-batch", str(SCALING_BATCH),
                 "--steps-per-epoch", str(steps_per_epoch), "--work-dir", work],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = [process.communicate(timeout=1800) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        if process.returncode:
            raise RuntimeError(f"scaling worker failed: {stderr[-1000:]}")
    return json.loads(outputs[0][0].strip().splitlines()[-1])["examples_per_second"]


# Frees and re-allocates a 64 MB tensor 20 times; prints the process's minor page faults meanwhile.
_FAULTS_SCRIPT = """
import resource
import tensorflow as tf
f = tf.function(lambda x: tf.reduce_sum(tf.tile(x, [4096, 1])))
x = tf.ones([1, 4096])
f(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    f(x)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(allocator: str) -> int:
    """Minor page faults of 20 fresh 64 MB tensors under TF_CPU_ALLOCATOR_USE_BFC=`allocator`
    (320k pages if every tensor is mapped afresh; it depends on the CPU's code path and the
    kernel, which is why it is measured here and not asserted in a test)."""
    env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": allocator}
    result = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], env=env, check=True,
                            capture_output=True, text=True, timeout=300)
    return int(result.stdout.split()[-1])


def _worker_rows(quick: bool) -> list[Row]:
    """Scaling from 1 to 2 workers, and the CPU allocator's share of one worker's rate.

    The three runs alternate over the rounds; each keeps its best round.
    """
    steps, rounds = (5, 1) if quick else (20, 2)
    runs = {"1 worker": (1, "true"), "2 workers": (2, "true"), "default allocator": (1, "false")}
    best = dict.fromkeys(runs, 0.0)
    for round_index in range(rounds):
        for name, (count, allocator) in runs.items():
            _progress(f"{name}, {steps} steps per epoch, round {round_index + 1} of {rounds}")
            best[name] = max(best[name], _run_workers(count, steps, allocator))
    case = f"bert_tiny MLM+NSP {SCALING_BATCH}×{SEQ_LENGTH} per worker"
    return [
        Row("multi-worker scaling", case, "examples/s", best["2 workers"],
            {"1 worker": best["1 worker"]},
            "2 workers vs 1, one thread each, MultiWorkerMirroredStrategy on 127.0.0.1, "
            "tfbert.training fit; ratio = scaling (ideal ×2)"),
        Row("CPU allocator", f"{case}, 1 worker", "examples/s", best["1 worker"],
            {"default allocator": best["default allocator"]},
            "TF's BFC allocator (what `tfbert` commands select) vs TF's default CPU allocator; "
            f"page faults re-allocating 20×64 MB: BFC {_page_faults('true'):,}, default "
            f"{_page_faults('false'):,}"),
    ]


def _progress(message: str) -> None:
    print(f"[bench_training] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def run(quick: bool) -> list[Row]:
    import tensorflow as tf
    import torch

    tf.get_logger().setLevel("ERROR")
    torch.set_num_threads(2)
    return [_pipeline_row("bert_tiny", quick), _pipeline_row("bert_base", quick),
            *_worker_rows(quick)]
