"""The tf.data pretraining pipeline: text files (or original BERT TFRecords) to masked batches.

`pretraining_dataset` streams original-BERT-style corpora (one sentence per line, blank lines
between documents) into `model.fit`, pairing, packing and masking in the graph;
`read_pretraining_records` / `write_pretraining_records` handle the TFRecord format of original
`create_pretraining_data.py`. Both give the same dict of features (see DESIGN.md).
"""
from tfbert.data.masking import DynamicMasker
from tfbert.data.pairs import ExampleSampler
from tfbert.data.pretraining import pretraining_dataset
from tfbert.data.records import read_pretraining_records, write_pretraining_records
from tfbert.data.stats import CorpusStats

__all__ = [
    "CorpusStats",
    "DynamicMasker",
    "ExampleSampler",
    "pretraining_dataset",
    "read_pretraining_records",
    "write_pretraining_records",
]
