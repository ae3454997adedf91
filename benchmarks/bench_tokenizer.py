"""Tokenizer and preprocessor benchmarks.

Tokenizer throughput (tokens/s, batches of `BATCH` lines) on English (standard library
docstrings) and on the Unicode stress corpus of the tests, against Hugging Face `tokenizers`
(Rust, `encode_batch`), keras-hub's `BertTokenizer` and tf-text's `FastBertTokenizer` (fast
but not exact: the gaps tfbert closes). All use one uncased vocabulary learned by tfbert from the
docstrings; throughput counts tfbert's tokens, so every tokenizer is credited the same work.

Preprocessor: strings to the three features in a serving `tf.function` (pad to longest, 128
max), against Hugging Face's `__call__` and keras-hub's `BertTextClassifierPreprocessor`; the
note gives its time as a share of a whole serving call (preprocessor, then a bert_base-sized
keras-hub `BertBackbone` with random weights, in one `tf.function`).
"""
import importlib.util
import pathlib
import tempfile

from harness import Row, measure_interleaved

BATCH = 1024  # lines per tokenizer call
SERVING_BATCH = 32  # examples per serving call
SEQ_LENGTH = 128
VOCAB_SIZE = 8000
HF = "HF tokenizers"
KERAS_HUB = "keras-hub"
TF_TEXT = "tf-text FastBert (inexact)"
CORPUS_FILE = pathlib.Path(__file__).resolve().parents[1] / "tests" / "text" / "unicode_corpus.py"


def _corpus_module():
    """tests/text/unicode_corpus.py: the same deterministic corpora the tests use."""
    spec = importlib.util.spec_from_file_location("unicode_corpus", CORPUS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vocab_file(lines: list[str], directory: str) -> str:
    from tfbert.text.vocab_learner import learn_vocab, write_vocab

    corpus = pathlib.Path(directory) / "corpus.txt"
    corpus.write_text("\n".join(lines), encoding="utf-8")
    path = str(pathlib.Path(directory) / "vocab.txt")
    write_vocab(learn_vocab([str(corpus)], VOCAB_SIZE, lower_case=True), path)
    return path


def _tokenizer_rows(vocab_file: str, corpora: dict[str, list[str]], timing: dict) -> list[Row]:
    import keras_hub
    import tensorflow as tf
    import tensorflow_text as tf_text
    from transformers import BertTokenizerFast

    from tfbert.text.tokenizer import BertTokenizer

    ours = BertTokenizer(vocab_file)
    vocabulary = ours.vocabulary
    keras_hub_tokenizer = keras_hub.tokenizers.BertTokenizer(
        vocabulary=vocabulary, lowercase=True, strip_accents=True
    )
    fast_bert = tf_text.FastBertTokenizer(
        vocabulary, token_out_type=tf.int32, lower_case_nfd_strip_accents=True
    )
    hf = BertTokenizerFast(vocab_file, do_lower_case=True).backend_tokenizer
    spec = [tf.TensorSpec([None], tf.string)]
    functions = {
        "ours": tf.function(lambda t: ours(t).flat_values, input_signature=spec),
        KERAS_HUB: tf.function(lambda t: keras_hub_tokenizer(t).flat_values, input_signature=spec),
        TF_TEXT: tf.function(lambda t: fast_bert.tokenize(t).flat_values, input_signature=spec),
    }
    rows = []
    for case, lines in corpora.items():
        batch = lines[:BATCH]
        text = tf.constant(batch)
        tokens = int(tf.size(functions["ours"](text)))
        candidates = {name: (lambda f=f: f(text).numpy()) for name, f in functions.items()}
        candidates[HF] = lambda: hf.encode_batch(batch, add_special_tokens=False)
        seconds = measure_interleaved(candidates, **timing)
        rate = {name: tokens / s for name, s in seconds.items()}
        fast = float(ours._fast_path.accepts(text).numpy().mean())
        rows.append(Row(
            "tokenizer", f"{case}, batch {BATCH}", "tokens/s", rate.pop("ours"), rate,
            f"{tokens / len(batch):.1f} tokens/line; {fast:.0%} of lines on the fast route",
        ))
    return rows


def _preprocessor_row(vocab_file: str, lines: list[str], timing: dict, quick: bool) -> Row:
    import keras_hub
    import tensorflow as tf
    from transformers import BertTokenizerFast

    from tfbert.text.preprocessor import BertPreprocessor
    from tfbert.text.tokenizer import BertTokenizer

    tokenizer = BertTokenizer(vocab_file)
    preprocessor = BertPreprocessor(tokenizer, seq_length=SEQ_LENGTH, padding="longest")
    spec = [tf.TensorSpec([None], tf.string)]
    preprocess = tf.function(preprocessor, input_signature=spec)
    hub_preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.tokenizers.BertTokenizer(
            vocabulary=tokenizer.vocabulary, lowercase=True, strip_accents=True
        ),
        sequence_length=SEQ_LENGTH,
    )
    hub_preprocess = tf.function(hub_preprocessor, input_signature=spec)
    hf = BertTokenizerFast(vocab_file, do_lower_case=True)
    layers = 2 if quick else 12  # bert_base: 12 layers of 768 units, 12 heads, 3072 inner
    encoder = keras_hub.models.BertBackbone(
        vocabulary_size=len(tokenizer.vocabulary), num_layers=layers, num_heads=12,
        hidden_dim=768, intermediate_dim=3072, max_sequence_length=512,
    )

    def encode(features):
        inputs = {
            "token_ids": features["input_word_ids"],
            "segment_ids": features["input_type_ids"],
            "padding_mask": features["input_mask"],
        }
        return encoder(inputs)["pooled_output"]

    serve = tf.function(lambda t: encode(preprocessor(t)), input_signature=spec)
    batch = lines[:SERVING_BATCH]
    text = tf.constant(batch)
    seconds = measure_interleaved(
        {
            "ours": lambda: {k: v.numpy() for k, v in preprocess(text).items()},
            HF: lambda: hf(batch, padding="longest", truncation=True, max_length=SEQ_LENGTH,
                           return_tensors="np"),
            KERAS_HUB: lambda: hub_preprocess(text)["token_ids"].numpy(),
            "serve": lambda: serve(text).numpy(),
        },
        **timing,
    )
    share = seconds["ours"] / seconds["serve"]
    rate = {name: SERVING_BATCH / seconds[name] for name in ("ours", HF, KERAS_HUB)}
    return Row(
        "preprocessor", f"serving call, batch {SERVING_BATCH}", "examples/s", rate.pop("ours"),
        rate, f"{seconds['ours'] * 1e3:.1f} ms per batch: {share:.2%} of a serving call with a "
        f"{layers}-layer bert_base-width encoder ({seconds['serve'] * 1e3:.0f} ms)",
    )


def run(quick: bool) -> list[Row]:
    """Tokenizer rows for English and Unicode stress text, and the preprocessor row."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    corpus = _corpus_module()
    english = list(corpus.docstring_lines())
    corpora = {"English": english, "Unicode stress": corpus.stress_lines(BATCH)}
    timing = {"warmup": 1, "min_repeats": 3, "min_time_s": 0.0} if quick else {"min_time_s": 5.0}
    with tempfile.TemporaryDirectory() as directory:
        vocab_file = _vocab_file(english[: 3000 if quick else None], directory)
        return [
            *_tokenizer_rows(vocab_file, corpora, timing),
            _preprocessor_row(vocab_file, english, timing, quick),
        ]
