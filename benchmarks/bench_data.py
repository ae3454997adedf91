"""Pretraining data pipeline benchmarks: examples/s of `tfbert.data.pretraining_dataset`.

Peers, measured in the same run on the same corpus and vocabulary:

- keras-hub: the pipeline its guides build, in `tf.data`: `keras_hub.tokenizers.BertTokenizer`,
  `MultiSegmentPacker` and `MaskedLMMaskGenerator` mapped over batches of text pairs (AUTOTUNE
  parallelism, prefetch). Its segments are runs of consecutive corpus lines sized to fill the
  sequence like tfbert's pairs do; it has no documents, no random next sentence and no pair
  sampling, so it does less work per example than tfbert.
- bert_base training step: the examples/s a `BertPretrainer(BertConfig.preset("bert_base"))`
  consumes (Adam, XLA, masked-LM + next-sentence losses) on the same 2 cores; the pipeline must
  outrun it by a wide margin, since in training it only gets what the step leaves.

tf.data keeps working in the background between timed calls, until its buffers are full (our
pool stage alone can hold thousands of examples); each timed call therefore first drains what
was made ahead, so a pipeline is credited only with what it makes during its own call.

The corpus is documents built from standard library docstrings (one per module, thousands of
tokens each), one sentence per line, written to 4 files. As tfbert's examples are not always
full (10% short targets, document ends), the note also gives the real tokens per example of
both pipelines and the ratio in tokens/s.
"""
import importlib
import inspect
import pathlib
import re
import sys
import tempfile
import time
import warnings

from harness import Row, measure, measure_interleaved

CASES = ((128, 20, 8), (512, 76, 2))  # seq_length, max_predictions_per_seq, training batch
BATCH = 32  # pipeline batch
BATCHES_PER_CALL = 60  # batches credited per timed call
BUFFERED_PULL_S = 0.001  # a pull faster than this came from a buffer filled while idle
VOCAB_SIZE = 8000
NUM_FILES = 4
OURS = "tfbert"
KERAS_HUB = "keras-hub"
STEP = "bert_base train step"
MODULES = ("argparse", "asyncio", "collections", "concurrent.futures", "configparser", "csv",
           "datetime", "decimal", "email.message", "fractions", "ftplib", "functools",
           "http.client", "imaplib", "inspect", "ipaddress", "json", "logging", "mailbox",
           "multiprocessing", "os", "pathlib", "pickle", "random", "re", "shutil", "smtplib",
           "socket", "sqlite3", "ssl", "statistics", "string", "subprocess", "tarfile",
           "tempfile", "textwrap", "threading", "typing", "unittest", "urllib.request",
           "uuid", "xml.dom.minidom", "zipfile")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _progress(message: str) -> None:
    print(f"[bench_data] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _sentences(obj) -> list[str]:
    text = inspect.getdoc(obj) or ""
    return [" ".join(s.split()) for s in _SENTENCE_END.split(text) if s.strip()]


def _documents() -> list[list[str]]:
    """One document per module: its docstring, its functions', its classes' and their methods'
    (documents of thousands of tokens, like encyclopedia articles)."""
    documents = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MODULES:
            module = importlib.import_module(name)
            document = _sentences(module)
            for _, value in sorted(vars(module).items()):
                if inspect.isclass(value) or inspect.isfunction(value):
                    document += _sentences(value)
                if inspect.isclass(value):
                    for _, member in sorted(vars(value).items()):
                        if inspect.isfunction(member):
                            document += _sentences(member)
            documents.append(document)
    return documents


def _corpus(directory: pathlib.Path) -> tuple[list[str], str]:
    """The corpus files and an uncased vocabulary learned from them."""
    from tfbert.text import learn_vocab, write_vocab

    documents = _documents()
    files = []
    for index in range(NUM_FILES):
        path = directory / f"corpus-{index}.txt"
        path.write_text("".join("\n".join(doc) + "\n\n" for doc in documents[index::NUM_FILES]))
        files.append(str(path))
    vocab_file = str(directory / "vocab.txt")
    write_vocab(learn_vocab(files, VOCAB_SIZE, lower_case=True), vocab_file)
    sentences = sum(len(doc) for doc in documents)
    _progress(f"corpus: {len(documents)} documents, {sentences} sentences")
    return files, vocab_file


def _ours(files, vocab_file, seq_length, predictions):
    from tfbert.data import pretraining_dataset

    return pretraining_dataset(files, vocab_file, seq_length=seq_length,
                               max_predictions_per_seq=predictions, batch_size=BATCH, seed=0)


def _keras_hub(files, vocab_file, seq_length, predictions, lines_per_segment):
    import keras_hub
    import tensorflow as tf

    from tfbert.text import load_vocab, special_token_ids

    vocabulary = load_vocab(vocab_file)
    ids = special_token_ids(vocabulary)
    tokenizer = keras_hub.tokenizers.BertTokenizer(
        vocabulary=vocabulary, lowercase=True, strip_accents=True)
    packer = keras_hub.layers.MultiSegmentPacker(
        sequence_length=seq_length, start_value=ids["[CLS]"], end_value=ids["[SEP]"],
        pad_value=ids["[PAD]"])
    masker = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=len(vocabulary), mask_selection_rate=0.15,
        mask_selection_length=predictions, mask_token_id=ids["[MASK]"],
        unselectable_token_ids=[ids["[CLS]"], ids["[SEP]"], ids["[PAD]"]])

    def preprocess(pairs):  # tf.string [B, 2]
        token_ids, segment_ids = packer((tokenizer(pairs[:, 0]), tokenizer(pairs[:, 1])))
        masked = masker(token_ids)
        return {
            "input_word_ids": masked["token_ids"],
            "input_mask": tf.cast(token_ids != ids["[PAD]"], tf.int32),
            "input_type_ids": segment_ids,
            "masked_lm_positions": masked["mask_positions"],
            "masked_lm_ids": masked["mask_ids"],
            "masked_lm_weights": masked["mask_weights"],
        }

    lines = tf.data.TextLineDataset(files).repeat()
    lines = lines.filter(lambda line: tf.strings.length(tf.strings.strip(line)) > 0)
    segments = lines.batch(lines_per_segment).map(
        lambda group: tf.strings.reduce_join(group, separator=" "))
    pairs = segments.batch(2, drop_remainder=True).shuffle(10_000, seed=0)
    dataset = pairs.batch(BATCH, drop_remainder=True)
    dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _lines_per_segment(files, vocab_file, seq_length) -> int:
    """Corpus lines per keras-hub segment so that a pair fills about `seq_length` tokens."""
    import tensorflow as tf

    from tfbert.text import BertTokenizer

    lines = [line for path in files for line in open(path, encoding="utf-8") if line.strip()]
    tokens = BertTokenizer(vocab_file)(tf.constant(lines)).row_lengths().numpy().mean()
    return max(1, round((seq_length - 3) / 2 / tokens))


def _mean_tokens(dataset) -> float:
    """Real tokens per example (input_mask ones) over 20 batches."""
    return float(sum(batch["input_mask"].numpy().sum() for batch in dataset.take(20))
                 / (20 * BATCH))


def _pull(dataset):
    """A call that first drains what the pipeline made ahead while idle, then pulls
    BATCHES_PER_CALL batches (only those are credited; the drain's time is still counted)."""
    iterator = iter(dataset)

    def pull():
        slow = 0
        while slow < 2:  # two pulls in a row that had to wait: nothing is left in the buffers
            start = time.perf_counter()
            next(iterator)
            slow = slow + 1 if time.perf_counter() - start > BUFFERED_PULL_S else 0
        for _ in range(BATCHES_PER_CALL):
            batch = next(iterator)
        batch["input_word_ids"].numpy()

    return pull


def _train_step(seq_length, predictions, batch):
    """One optimizer step of bert_base pretraining on a fixed full-length batch."""
    import keras
    import numpy as np

    from tfbert import BertConfig, BertPretrainer

    rng = np.random.default_rng(0)
    shape = (batch, seq_length)
    positions = np.sort(np.stack([rng.choice(np.arange(1, seq_length), predictions, False)
                                  for _ in range(batch)]), axis=1).astype("int32")
    inputs = {
        "input_word_ids": rng.integers(1000, VOCAB_SIZE, shape).astype("int32"),
        "input_mask": np.ones(shape, "int32"),
        "input_type_ids": (np.arange(seq_length)[None, :] >= seq_length // 2).repeat(batch, 0)
        .astype("int32"),
        "masked_lm_positions": positions,
    }
    labels = {"mlm_logits": rng.integers(1000, VOCAB_SIZE, (batch, predictions)).astype("int32"),
              "nsp_logits": rng.integers(0, 2, (batch, 1)).astype("int32")}
    model = BertPretrainer(BertConfig.preset("bert_base"))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-4),
                  loss={"mlm_logits": loss, "nsp_logits": loss}, jit_compile=True)
    return lambda: model.train_on_batch(inputs, labels)


def run(quick: bool) -> list[Row]:
    """Pipeline examples/s at seq 128 and 512 against keras-hub and the training step."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    timing = dict(warmup=1, min_time_s=5.0 if quick else 20.0, min_repeats=2 if quick else 5)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        files, vocab_file = _corpus(pathlib.Path(directory))
        for seq_length, predictions, train_batch in CASES:
            _progress(f"pipelines at {seq_length}")
            segment_lines = _lines_per_segment(files, vocab_file, seq_length)
            pipelines = {
                OURS: _ours(files, vocab_file, seq_length, predictions),
                KERAS_HUB: _keras_hub(files, vocab_file, seq_length, predictions, segment_lines),
            }
            fill = {name: _mean_tokens(dataset) for name, dataset in pipelines.items()}
            candidates = {name: _pull(dataset) for name, dataset in pipelines.items()}
            seconds = measure_interleaved(candidates, **timing)
            rates = {name: BATCH * BATCHES_PER_CALL / s for name, s in seconds.items()}
            token_ratio = rates[OURS] * fill[OURS] / (rates[KERAS_HUB] * fill[KERAS_HUB])
            _progress(f"bert_base training step {train_batch}×{seq_length}")
            step = _train_step(seq_length, predictions, train_batch)
            step_seconds = measure(step, warmup=1, min_time_s=10.0 if quick else 30.0,
                                   min_repeats=2 if quick else 3, statistic=min)
            rates[STEP] = train_batch / step_seconds
            note = (f"batches of {BATCH}, P={predictions}; tokens/example: tfbert "
                    f"{fill[OURS]:.0f}, keras-hub {fill[KERAS_HUB]:.0f} ({segment_lines} lines "
                    f"per segment, no NSP sampling), tokens/s ×{token_ratio:.2f}; step: Adam, "
                    f"XLA, batch {train_batch}, fastest call")
            rows.append(Row("pretraining data", f"seq {seq_length}, next sentence + MLM",
                            "examples/s", rates.pop(OURS), rates, note))
    return rows
