"""Reading the corpus: files and globs, documents and blank lines, invalid bytes, sharding."""
from __future__ import annotations

import logging

import pytest
import tensorflow as tf

from tfbert.data import CorpusStats
from tfbert.data.corpus import LINES_PER_BLOCK, document_dataset, resolve_files, shard_files


def original_documents(raw: bytes) -> list[list[bytes]]:
    """Documents as original BERT's `create_training_instances` reads them (before tokenizing):
    decode ignoring bad bytes, strip, blank lines end documents, empty documents dropped."""
    documents: list[list[bytes]] = [[]]
    for line in raw.split(b"\n"):
        line = line.decode("utf-8", "ignore").strip()
        if not line:
            documents.append([])
        else:
            documents[-1].append(line.encode("utf-8"))
    return [doc for doc in documents if doc]


def read(paths, **kwargs) -> list[list[bytes]]:
    return [doc.numpy().tolist() for doc in document_dataset(paths, **kwargs)]


def write(tmp_path, name: str, raw: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    return str(path)


@pytest.mark.parametrize("raw", [
    b"a b.\nc d.\n\ne f.\n",
    b"no trailing newline\nsecond",
    b"\n\n\nleading blanks\n\n\n\ntrailing blanks\n\n\n",
    b"tabs and spaces\n \t \n\xe3\x80\x80\nafter unicode spaces\n\xc2\x85\nlast\n",
    b"windows\r\nline ends\r\n\r\nsecond doc\r\n",
    b"bad \xff\xfe bytes\n\xff\nafter a line of only bad bytes\n",
    b"\x00control only\n\x01\nkeeps\n",
])
def test_documents_match_the_original_reader(tmp_path, raw):
    assert read([write(tmp_path, "c.txt", raw)]) == original_documents(raw)


def test_documents_longer_than_a_block(tmp_path):
    lines = [f"sentence {i}." for i in range(3 * LINES_PER_BLOCK + 7)]
    raw = ("\n".join(lines[:5]) + "\n\n" + "\n".join(lines[5:]) + "\n\nend.\n").encode()
    assert read([write(tmp_path, "big.txt", raw)]) == original_documents(raw)


def test_files_are_interleaved_and_all_read(tmp_path):
    paths = [write(tmp_path, f"{i}.txt", f"{i}a\n\n{i}b\n\n{i}c\n".encode()) for i in range(3)]
    documents = read(paths)
    assert sorted(documents) == sorted([[f"{i}{c}".encode()] for i in range(3) for c in "abc"])
    assert documents[:3] == [[b"0a"], [b"1a"], [b"2a"]]  # one document of each file in turn


def test_invalid_utf8_lines_are_counted(tmp_path):
    stats = CorpusStats()
    path = write(tmp_path, "bad.txt", b"ok\nbad \xff\n\xc3\n\nfine\n")
    read([path], stats=stats)
    assert stats.result()["invalid_utf8_lines"] == 2


def test_resolve_files_expands_globs_and_rejects_missing(tmp_path):
    for name in ("b.txt", "a.txt", "c.log"):
        write(tmp_path, name, b"x\n")
    assert resolve_files(str(tmp_path / "*.txt")) == [str(tmp_path / "a.txt"),
                                                       str(tmp_path / "b.txt")]
    assert resolve_files([tmp_path / "c.log", str(tmp_path / "c.log")]) == [str(tmp_path / "c.log")]
    with pytest.raises(FileNotFoundError, match="nope"):
        resolve_files([str(tmp_path / "a.txt"), str(tmp_path / "nope*.txt")])
    with pytest.raises(ValueError, match="at least one"):
        resolve_files([])
    with pytest.raises(TypeError, match="files"):
        resolve_files(3)


def context(pipelines: int, index: int) -> tf.distribute.InputContext:
    return tf.distribute.InputContext(pipelines, index, num_replicas_in_sync=pipelines)


def test_shard_files_by_file_then_by_document(caplog):
    files = [f"f{i}" for i in range(5)]
    assert shard_files(files, None) == (files, None)
    assert shard_files(files, context(2, 1)) == (["f1", "f3"], None)
    with caplog.at_level(logging.WARNING):
        assert shard_files(files[:1], context(2, 1)) == (["f0"], (2, 1))
    assert "2 input pipelines but only 1 files" in caplog.text


def test_stats_log_says_it_counts_every_pass(tmp_path, caplog):
    # A repeating pipeline reads the corpus again every pass: the log must not pass that off
    # as the size of the corpus.
    stats = CorpusStats()
    path = write(tmp_path, "c.txt", b"one\n\ntwo\n")
    for _ in range(3):
        read([path], stats=stats)
    with caplog.at_level(logging.INFO):
        stats.log()
    assert "every pass over the corpus" in caplog.text
