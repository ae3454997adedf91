"""`make demo`: the whole tfbert life cycle on an embedded default, on 2 CPU cores.

1. Learn a WordPiece vocabulary from the docstrings of Python's standard library (text every
   machine has) and tokenize with it in the graph.
2. Pretrain bert_tiny (masked LM + next sentence) on those docstrings with
   `tfbert.training.pretrain`, fed by `tfbert.data`; held-out masked-LM accuracy before and
   after, and a plot of the training curves.
3. Fine-tune a classifier on a generated word-order task with `tfbert.training.finetuning`.
4. Export it as a raw-string SavedModel (`saved_models/demo_classifier/1`), validated through
   the TF1 session loader as TF Serving loads it.
5. Start `tfbert serve` on 127.0.0.1 and classify plain text over gRPC; the answers must equal
   the Keras model's.

    .venv/bin/python pipelines/demo.py [--out demo_output] [--steps 1000]
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import learning  # pipelines/learning.py: steps 1-3

REPO = Path(__file__).resolve().parents[1]
MODEL_NAME = "demo_classifier"
TEXTS = ["alpha the file object omega returns value",
         "the omega list module name alpha path data",
         "omega alpha"]


def show_tokenizer(vocab: Path) -> None:
    import tensorflow as tf

    import tfbert

    tokenizer = tfbert.BertTokenizer(str(vocab), lower_case=True)
    text = tf.constant(["Return a new ZipFile object, opened for reading."])
    ids, starts, ends = tokenizer.tokenize_with_offsets(text)
    pieces = [tokenizer.vocabulary[i] for i in ids[0].numpy()]
    print(f"      {text[0].numpy().decode()!r} -> {pieces}")
    print(f"      offsets {list(zip(starts[0].numpy().tolist(), ends[0].numpy().tolist()))}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keras_probabilities(model_dir: Path, texts: list[str]) -> np.ndarray:
    """What the Keras classifier says, tokenized the way the export does (longest padding)."""
    import tensorflow as tf

    import tfbert

    model = tfbert.load(model_dir)
    tokenizer = tfbert.BertTokenizer(str(model_dir / "vocab.txt"), lower_case=True)
    preprocessor = tfbert.BertPreprocessor(tokenizer, seq_length=model.config.max_position_embeddings,
                                           padding="longest")
    logits = model(preprocessor(tf.constant(texts)))["logits"]
    return tf.nn.softmax(logits).numpy()


def serve_and_ask(base_path: Path, texts: list[str]) -> dict:
    """Runs `tfbert serve` in a subprocess, asks it over gRPC, stops it."""
    from tfbert.serving import PredictionClient, ServingError

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tfbert", "serve", "--model-base-path", str(base_path),
         "--model-name", MODEL_NAME, "--port", str(port), "--host", "127.0.0.1"],
        cwd=REPO)
    try:
        with PredictionClient(f"127.0.0.1:{port}", MODEL_NAME, timeout=10) as client:
            deadline = time.monotonic() + 120
            while True:  # the server imports TensorFlow and loads the model first
                try:
                    signatures = sorted(client.metadata())
                    break
                except ServingError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(1)
            return {"signatures": signatures, "predict": client.predict(texts),
                    "classify": client.classify(texts)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(out: Path, steps: int) -> None:
    from tfbert.export import export_model

    start = time.perf_counter()
    print(f"[1-3] vocabulary, pretraining ({steps} steps) and fine-tuning "
          "(pipelines/learning.py)")
    results = learning.main(out, steps, progress="epoch")
    show_tokenizer(out / "vocab.txt")
    print(f"      held-out masked-LM accuracy: {results['held_out_mlm_accuracy_before']:.3f} "
          f"before pretraining -> {results['held_out_mlm_accuracy_after']:.3f} after "
          f"({results['pretraining_examples_per_second']:.0f} examples/s); "
          f"plot: {results['plot']}")
    print(f"      fine-tuned classifier, held-out accuracy "
          f"{results['finetune_eval_accuracy']:.3f}")

    version = REPO / "saved_models" / MODEL_NAME / "1"
    print(f"[4] exporting {out / 'classifier'} -> {version.relative_to(REPO)}")
    export_model(out / "classifier", "classify", version, overwrite=True,
                 progress=lambda message: print(f"      {message}"))

    print("[5] tfbert serve on 127.0.0.1, then gRPC requests with raw strings")
    answers = serve_and_ask(version.parent, TEXTS)
    print(f"      signatures: {answers['signatures']}")
    for text, label, scores in zip(TEXTS, answers["predict"]["label"], answers["classify"]):
        print(f"      {text!r:50} -> {label!r}  {json.dumps(scores)}")
    expected = keras_probabilities(out / "classifier", TEXTS)
    difference = np.abs(answers["predict"]["probabilities"] - expected).max()
    print(f"      gRPC vs Keras model: max abs difference {difference:.1e}")
    if difference > 1e-5:
        raise SystemExit("the served model does not answer like the Keras model")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "demo_output")
    parser.add_argument("--steps", type=int, default=1000, help="pretraining steps")
    args = parser.parse_args()
    from tfbert.cli import quiet_tensorflow

    quiet_tensorflow(verbose=False)  # the command line's quiet logs, before TensorFlow loads
    main(args.out, args.steps)
