"""Serving benchmarks: raw text in, classification out, over gRPC.

A bert_base `BertClassifier` (random weights, 2 labels) is exported with `tfbert export` and
served by `tfbert serve` in its own process on 127.0.0.1; the client is
`tfbert.serving.PredictionClient`. Peers on the same raw strings, in this process: Hugging Face
`BertTokenizerFast` + `BertForSequenceClassification` (PyTorch, 2 threads) and keras-hub
`BertTextClassifierPreprocessor` + `BertTextClassifier` in one `tf.function`. Also timed: the
exported signature called in-process through the TF1 session loader (what TF Serving runs), the
model alone on precomputed features (`tf.function` of the Keras model), and the model's dense
layers alone: its 2-D kernels and their biases chained as matmuls on as many rows as the model
sees tokens, which at a few tokens is the time to stream the weights from memory (340 MB of
float32 for bert_base), a floor no graph goes below. tfbert's candidates are timed in rounds of
their own, which give the share that tokenization and gRPC add; the peers in rounds with the
gRPC client, which give the ratios to them. gRPC requests timed in the peers' rounds took up to
a third longer than in tfbert's on a Zen 5 VM, for a reason not found; the note gives both.

The load tests: 8 client threads, each sending batch-1 requests back to back for 30 s to a
`tfbert serve` process holding a bert_tiny classifier export, over gRPC (`PredictionClient`)
and over REST (`RestClient`); requests/s, p50 and p99.
"""
import contextlib
import dataclasses
import inspect
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from harness import Row, measure_interleaved

REPO_DIR = pathlib.Path(__file__).resolve().parents[1]
SEQ_LENGTH = 128
VOCAB_SIZE = 8000
BATCH = 32
TORCH_THREADS = 2
LOAD_CLIENTS = 8
LOAD_SECONDS = 30
HF = "HF PyTorch"
KERAS_HUB = "keras-hub"
SHORT_TEXT = "Return the sorted list."  # a few WordPiece tokens (counted in the row)


def _docstring_lines() -> list[str]:
    """English text: standard-library docstrings, one paragraph per line."""
    import collections
    import json
    import os as os_module
    import re
    import shutil

    lines = []
    for module in (collections, json, os_module, re, shutil, inspect, pathlib):
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj)
            if doc:
                lines.extend(p.replace("\n", " ") for p in doc.split("\n\n") if p.strip())
    return lines


def _vocab_file(lines: list[str], directory: pathlib.Path) -> pathlib.Path:
    from tfbert.text import learn_vocab, write_vocab

    corpus = directory / "corpus.txt"
    corpus.write_text("\n".join(lines), encoding="utf-8")
    path = directory / "vocab.txt"
    write_vocab(learn_vocab([str(corpus)], VOCAB_SIZE, lower_case=True), path)
    return path


def _long_texts(lines: list[str], tokenizer, count: int) -> list[str]:
    """`count` texts of at least SEQ_LENGTH tokens (truncated to 128 by every candidate)."""
    import tensorflow as tf

    texts, current = [], ""
    for line in lines:
        current = f"{current} {line}".strip()
        if len(tokenizer(tf.constant([current]))[0]) >= SEQ_LENGTH:
            texts.append(current)
            current = ""
            if len(texts) == count:
                return texts
    raise RuntimeError("the docstring corpus is too small for the long texts")


def _export(model, vocab_file: pathlib.Path, directory: pathlib.Path, name: str) -> pathlib.Path:
    """Saves `model` as a model directory and exports it to directory/saved_models/name/1."""
    import tfbert
    from tfbert.export import export_model

    model_dir = tfbert.save(model, directory / name, vocab_file=vocab_file, do_lower_case=True)
    base = directory / "saved_models" / name
    export_model(model_dir, "classify", base / "1", seq_length=SEQ_LENGTH)
    return base


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _served(base_path: pathlib.Path, name: str, threads: int = 8, rest: bool = False):
    """`tfbert serve` for `base_path` in a child process; yields "127.0.0.1:PORT" (gRPC), or
    with `rest` "http://127.0.0.1:PORT" (its REST API)."""
    port, rest_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tfbert", "serve", "--model-base-path", str(base_path),
         "--model-name", name, "--host", "127.0.0.1", "--port", str(port),
         "--threads", str(threads), "--poll-seconds", "0",
         *(["--rest-api-port", str(rest_port)] if rest else [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO_DIR,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    output: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            output.append(line)
            if line.startswith("serving model"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        while not ready.wait(1):
            if process.poll() is not None:
                raise RuntimeError("tfbert serve exited:\n" + "".join(output[-20:]))
        yield f"http://127.0.0.1:{rest_port}" if rest else f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclasses.dataclass
class _Candidates:
    """The callables timed for one batch of texts."""

    grpc: object
    signature: object
    model_only: object
    dense_only: object
    hf: object
    keras_hub: object

    def own(self) -> dict:
        """tfbert's candidates: the gRPC client, the signature in process, the model, its
        matmuls."""
        return {"ours": self.grpc, "signature": self.signature, "model": self.model_only,
                "dense": self.dense_only}

    def peers(self) -> dict:
        """The gRPC client and the peers."""
        return {"ours": self.grpc, HF: self.hf, KERAS_HUB: self.keras_hub}


def _dense_chain(model):
    """A tf.function running `model`'s dense layers alone, in order (each 2-D kernel but the
    embeddings, with its bias) on a [rows, hidden] input: the weight bytes a request streams."""
    import tensorflow as tf

    weights = [w for w in model.weights if "embeddings" not in w.path]
    layers = [(w, b) for w, b in zip(weights, weights[1:])
              if len(w.shape) == 2 and w.path.endswith("kernel") and b.path.endswith("bias")]
    for (kernel, _), (following, _) in zip(layers, layers[1:]):
        if kernel.shape[1] != following.shape[0]:
            raise RuntimeError(f"dense kernels do not chain: {kernel.path} {kernel.shape} then "
                               f"{following.path} {following.shape}")

    @tf.function(input_signature=[tf.TensorSpec([None, layers[0][0].shape[0]], tf.float32)])
    def chain(x):
        for kernel, bias in layers:
            x = tf.nn.bias_add(tf.matmul(x, kernel), bias)
        return x

    return chain


def _peers(config, vocab_file: pathlib.Path, vocabulary: list[str]):
    """(HF tokenizer, HF model, keras-hub preprocess+classify tf.function), bert_base, random."""
    import keras_hub
    import tensorflow as tf
    import torch
    import transformers

    torch.set_num_threads(TORCH_THREADS)
    hf_tokenizer = transformers.BertTokenizerFast(str(vocab_file), do_lower_case=True)
    hf_model = transformers.BertForSequenceClassification(
        transformers.BertConfig(**dataclasses.asdict(config), num_labels=2)).eval()
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads, hidden_dim=config.hidden_size,
        intermediate_dim=config.intermediate_size,
        max_sequence_length=config.max_position_embeddings)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.tokenizers.BertTokenizer(vocabulary=vocabulary, lowercase=True,
                                           strip_accents=True),
        sequence_length=SEQ_LENGTH)
    classifier = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None)
    keras_hub_serve = tf.function(
        lambda text: tf.nn.softmax(classifier(preprocessor(text), training=False)),
        input_signature=[tf.TensorSpec([None], tf.string)])
    return hf_tokenizer, hf_model, keras_hub_serve


def _candidates(texts, client, session_model, model_fn, dense_fn, preprocess, hf_tokenizer,
                hf_model, keras_hub_serve) -> _Candidates:
    import tensorflow as tf
    import torch

    encoded = np.array([t.encode() for t in texts], object)
    features = {k: tf.constant(v) for k, v in preprocess(tf.constant(texts)).items()}
    rows = tf.random.normal([int(tf.size(features["input_word_ids"])),
                             dense_fn.input_signature[0].shape[1]])
    tensor = tf.constant(texts)

    def hf():
        batch = hf_tokenizer(texts, padding="longest", truncation=True, max_length=SEQ_LENGTH,
                             return_tensors="pt")
        with torch.inference_mode():
            return hf_model(**batch).logits.softmax(-1).numpy()

    return _Candidates(
        grpc=lambda: client.predict(texts),
        signature=lambda: session_model.run("serving_default", {"text": encoded}),
        model_only=lambda: model_fn(features)["logits"].numpy(),
        dense_only=lambda: dense_fn(rows).numpy(),
        hf=hf,
        keras_hub=lambda: keras_hub_serve(tensor).numpy())


def _latency_rows(quick: bool, directory: pathlib.Path, lines: list[str]) -> list[Row]:
    import tensorflow as tf

    import tfbert
    from tfbert.export import SessionModel
    from tfbert.serving import PredictionClient

    vocab_file = _vocab_file(lines, directory)
    tokenizer = tfbert.BertTokenizer(str(vocab_file))
    config = tfbert.BertConfig.preset("bert_base")
    if quick:  # two layers: the same widths, a fraction of the time
        config = dataclasses.replace(config, num_hidden_layers=2)
    model = tfbert.BertClassifier(config, num_labels=2)
    base = _export(model, vocab_file, directory, "bert_base_classifier")
    preprocess = tfbert.BertPreprocessor(tokenizer, seq_length=SEQ_LENGTH, padding="longest")
    spec = {name: tf.TensorSpec([None, None], tf.int32, name=name)
            for name in ("input_word_ids", "input_mask", "input_type_ids")}
    model_fn = tf.function(lambda features: model(features, training=False),
                           input_signature=[spec])
    dense_fn = _dense_chain(model)
    peers = _peers(config, vocab_file, tokenizer.vocabulary)
    session_model = SessionModel(base / "1")
    long_texts = _long_texts(lines, tokenizer, BATCH)
    short_tokens = len(tokenizer(tf.constant([SHORT_TEXT]))[0])
    cases = [(f"batch 1, short text ({short_tokens} tokens)", [SHORT_TEXT]),
             (f"batch 1, {SEQ_LENGTH} tokens", long_texts[:1]),
             (f"batch {BATCH}, {SEQ_LENGTH} tokens", long_texts)]
    layers = f"{config.num_hidden_layers}-layer bert_base" if quick else "bert_base"
    rows, own, peer = [], {}, {}
    with _served(base, "bench") as address, PredictionClient(address, "bench",
                                                             timeout=600) as client:
        for case, texts in cases:
            candidates = _candidates(texts, client, session_model, model_fn, dense_fn,
                                     preprocess, *peers)
            heavy = len(texts) > 1
            timing = {"warmup": 1 if heavy else 3,
                      "min_repeats": 2 if quick else (3 if heavy else 10),
                      "min_time_s": 1.0 if quick else (20.0 if heavy else 15.0)}
            own[case] = seconds = measure_interleaved(candidates.own(), **timing)
            peer[case] = others = measure_interleaved(candidates.peers(), **timing)
            overhead = seconds["ours"] / seconds["model"] - 1
            rate = {name: len(texts) / s for name, s in others.items()}
            rows.append(Row(
                "serving", f"{layers} classify, {case}", "texts/s", rate["ours"],
                {HF: rate[HF], KERAS_HUB: rate[KERAS_HUB]},
                f"p50 ms in tfbert's rounds: gRPC {seconds['ours'] * 1e3:.1f}, in-process "
                f"signature {seconds['signature'] * 1e3:.1f}, model only "
                f"{seconds['model'] * 1e3:.1f} (tokenization + gRPC add {overhead:+.0%}), its "
                f"dense layers alone {seconds['dense'] * 1e3:.1f}; gRPC in the peers' rounds "
                f"{others['ours'] * 1e3:.1f}; keras-hub pads to {SEQ_LENGTH}"))
    session_model.close()
    (short, short_peer), (long, long_peer) = ((own[case], peer[case]) for case, _ in cases[:2])
    rows.append(Row(
        "serving", f"{layers} classify, short text vs {SEQ_LENGTH} tokens (batch 1)", "×",
        long["ours"] / short["ours"], {HF: long_peer[HF] / short_peer[HF],
                                        KERAS_HUB: long_peer[KERAS_HUB] / short_peer[KERAS_HUB]},
        f"p50 latency of a {SEQ_LENGTH}-token text over that of the short text, gRPC end to "
        f"end (tfbert's rounds): what padding to the longest saves over padding to the cap; "
        f"the dense layers alone bound it at {long['ours'] / short['dense']:.2f} (the "
        f"{SEQ_LENGTH}-token request over the short text's matmuls)"))
    return rows


def _load_rows(quick: bool, directory: pathlib.Path, lines: list[str]) -> list[Row]:
    """The load test over gRPC, then over REST, on one bert_tiny classifier export."""
    import tfbert

    vocab_file = directory / "vocab.txt"
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"),
                                 vocab_size=len(vocab_file.read_text().splitlines()))
    base = _export(tfbert.BertClassifier(config, num_labels=2), vocab_file, directory,
                   "bert_tiny_classifier")
    return [_load_row(quick, base, lines, rest) for rest in (False, True)]


def _load_row(quick: bool, base: pathlib.Path, lines: list[str], rest: bool) -> Row:
    from tfbert.serving import PredictionClient, RestClient

    client_class = RestClient if rest else PredictionClient
    duration = 5 if quick else LOAD_SECONDS
    texts = [line[:200] for line in lines[:1000]]
    latencies: list[list[float]] = [[] for _ in range(LOAD_CLIENTS)]
    errors: list[str] = []
    with _served(base, "load", threads=LOAD_CLIENTS, rest=rest) as address:
        def client_loop(index: int):
            with client_class(address, "load", timeout=30) as client:
                client.predict(["warm up"])
                start.wait()
                start_at = time.perf_counter()
                position = index
                while time.perf_counter() - start_at < duration:
                    begin = time.perf_counter()
                    try:
                        client.predict([texts[position % len(texts)]])
                    except Exception as error:  # noqa: BLE001 - counted and reported
                        errors.append(str(error))
                    latencies[index].append(time.perf_counter() - begin)
                    position += LOAD_CLIENTS

        start = threading.Event()
        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(LOAD_CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(2)  # every client connected and warmed up
        started = time.perf_counter()
        start.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    every = sorted(t for client in latencies for t in client)
    p50 = statistics.median(every)
    p99 = every[min(len(every) - 1, int(0.99 * len(every)))]
    return Row(
        "serving load test" + (" (REST)" if rest else ""),
        f"bert_tiny classify, {LOAD_CLIENTS} clients × {duration} s, batch 1"
        + (", RestClient" if rest else ", PredictionClient"),
        "requests/s", len(every) / elapsed, {},
        f"{len(every)} requests, {len(errors)} errors; latency p50 {p50 * 1e3:.1f} ms, "
        f"p99 {p99 * 1e3:.1f} ms; tfbert serve --threads {LOAD_CLIENTS} on 127.0.0.1"
        + (" (--rest-api-port)" if rest else "")
        + (f"; first error: {errors[0]}" if errors else ""))


def run(quick: bool) -> list[Row]:
    lines = _docstring_lines()
    with tempfile.TemporaryDirectory(prefix="bench_serving.") as tmp:
        directory = pathlib.Path(tmp)
        rows = _latency_rows(quick, directory, lines)
        rows += _load_rows(quick, directory, lines)
    return rows
