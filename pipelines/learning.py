"""Training that learns, on 2 CPU cores in minutes: the numbers the demo shows.

1. Pretrain bert_tiny (MLM + NSP) with `tfbert.training.pretrain` on the docstrings of the
   Python standard library; held-out masked-LM accuracy before and after.
2. Fine-tune the result with `tfbert.training.finetuning.finetune` on a generated word-order
   task (which of two marker words comes first: only order tells the classes apart).
3. Plot the pretraining loss and accuracy per epoch (`pretraining.png`).

    .venv/bin/python pipelines/learning.py --out learning_output [--steps 1500]
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Standard-library modules whose docstrings make the corpus (present on every machine).
CORPUS_MODULES = ("argparse", "collections", "datetime", "email", "functools", "http.client",
                  "inspect", "json", "logging", "pathlib", "re", "shutil", "subprocess",
                  "tarfile", "threading", "unittest", "urllib.parse", "zipfile", "typing",
                  "asyncio", "decimal", "fractions", "statistics", "textwrap", "string")
SEQ_LENGTH = 64
MAX_PREDICTIONS = 10
FILLER = ("the", "file", "object", "returns", "value", "string", "list", "module", "name",
          "path", "data", "line")


def write_corpora(folder: Path) -> tuple[Path, Path]:
    """Docstrings as documents (one sentence per line, blank line between documents); every
    10th document goes to the held-out file."""
    documents = []
    for name in CORPUS_MODULES:
        module = importlib.import_module(name)
        for _, member in inspect.getmembers(module):
            doc = inspect.getdoc(member) if callable(member) or inspect.ismodule(member) else None
            text = " ".join((doc or "").split())
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]
            if len(sentences) >= 2:
                documents.append("\n".join(sentences))
    documents = list(dict.fromkeys(documents))
    train, held_out = folder / "corpus_train.txt", folder / "corpus_held_out.txt"
    train.write_text("\n\n".join(d for i, d in enumerate(documents) if i % 10) + "\n")
    held_out.write_text("\n\n".join(d for i, d in enumerate(documents) if not i % 10) + "\n")
    return train, held_out


def masked_lm_accuracy(model, held_out: Path, vocab: Path, seq_length: int = SEQ_LENGTH,
                       max_predictions: int = MAX_PREDICTIONS) -> float:
    """Masked-LM accuracy over a fixed masking of the held-out corpus."""
    import tfbert.data
    from tfbert.training import split_pretraining_features

    dataset = tfbert.data.pretraining_dataset(
        [str(held_out)], str(vocab), seq_length=seq_length, max_predictions_per_seq=max_predictions,
        batch_size=32, seed=1234, repeat=False)
    correct = total = 0.0
    for batch in dataset:
        x, y, weights = split_pretraining_features(batch)
        predicted = np.argmax(model(x, training=False)["mlm_logits"], -1)
        hits = (predicted == y["mlm_logits"].numpy()) * weights["mlm_logits"].numpy()
        correct += hits.sum()
        total += weights["mlm_logits"].numpy().sum()
    return float(correct / total)


def write_order_task(path: Path, count: int, seed: int) -> Path:
    """JSONL: filler words with "alpha" and "omega" inserted; label = which comes first."""
    rng = np.random.default_rng(seed)
    with path.open("w") as file:
        for _ in range(count):
            words = list(rng.choice(FILLER, 12))
            first, second = sorted(rng.choice(np.arange(13), 2, replace=False))
            alpha_first = bool(rng.integers(2))
            words.insert(first, "alpha" if alpha_first else "omega")
            words.insert(second + 1, "omega" if alpha_first else "alpha")
            file.write(json.dumps({"text": " ".join(words),
                                   "label": "alpha first" if alpha_first else "omega first"}) + "\n")
    return path


def plot(history: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [entry["step"] for entry in history]
    figure, loss_axis = plt.subplots(figsize=(7, 4))
    loss_axis.plot(steps, [e["mlm_logits_loss"] for e in history], label="MLM loss")
    loss_axis.plot(steps, [e["nsp_logits_loss"] for e in history], label="NSP loss")
    loss_axis.set_xlabel("step")
    loss_axis.set_ylabel("loss (training batches)")
    accuracy_axis = loss_axis.twinx()
    accuracy_axis.plot(steps, [e["mlm_logits_accuracy"] for e in history], "g--",
                       label="MLM accuracy")
    accuracy_axis.set_ylabel("accuracy")
    figure.legend(loc="center right", bbox_to_anchor=(0.88, 0.5))
    loss_axis.set_title("bert_tiny pretraining on standard-library docstrings")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def main(out: Path, steps: int, finetune_epochs: int = 3, progress: str = "epoch") -> dict:
    """Runs the three parts; returns the numbers (also written to `out/learning.json`)."""
    import tfbert
    from tfbert.text import learn_vocab, write_vocab
    from tfbert.training import TrainingOptions, pretrain
    from tfbert.training.finetuning import finetune

    out.mkdir(parents=True, exist_ok=True)
    train, held_out = write_corpora(out)
    vocab = out / "vocab.txt"
    write_vocab(learn_vocab([str(train)], 3000, lower_case=True), vocab)
    vocab_size = len(vocab.read_text(encoding="utf-8").splitlines())
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=vocab_size,
                                 max_position_embeddings=SEQ_LENGTH)
    options = TrainingOptions(learning_rate=1e-3, warmup_steps=steps // 20, weight_decay=0.01,
                              steps_per_epoch=max(steps // 10, 1), progress=progress)
    import keras

    keras.utils.set_random_seed(0)
    before = masked_lm_accuracy(tfbert.BertPretrainer(config), held_out, vocab)
    history = pretrain(corpus=[str(train)], vocab_file=str(vocab), out=out / "pretrained",
                       steps=steps, batch_size=32, seq_length=SEQ_LENGTH, config=config,
                       max_predictions_per_seq=MAX_PREDICTIONS, overwrite=True, options=options)
    after = masked_lm_accuracy(tfbert.load(out / "pretrained"), held_out, vocab)

    # The task's words must be in the vocabulary (they are common docstring words).
    task_train = write_order_task(out / "order_train.jsonl", 2000, seed=0)
    task_eval = write_order_task(out / "order_eval.jsonl", 500, seed=1)
    finetuned = finetune(model_dir=out / "pretrained", train_file=task_train, eval_file=task_eval,
                         out=out / "classifier", epochs=finetune_epochs, batch_size=32,
                         seq_length=32, overwrite=True,
                         options=TrainingOptions(learning_rate=1e-3, progress=progress))
    results = {"held_out_mlm_accuracy_before": before, "held_out_mlm_accuracy_after": after,
               "pretraining_steps": steps,
               "pretraining_examples_per_second": history[-1]["examples_per_second"],
               "finetune_eval_accuracy": finetuned[-1]["val_accuracy"],
               "plot": str(plot(history, out / "pretraining.png"))}
    (out / "learning.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("learning_output"))
    parser.add_argument("--steps", type=int, default=1500, help="pretraining steps")
    args = parser.parse_args()
    for key, value in main(args.out, args.steps).items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
