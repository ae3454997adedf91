"""Converters from other BERT formats to tfbert model directories.

Each reader returns a `ConvertedModel` whose `save(directory)` writes the model directory;
`write_hf` writes a model directory back as an HF transformers folder.
"""
from tfbert.convert.converted import ConvertedModel
from tfbert.convert.garden import read_garden
from tfbert.convert.google import read_google
from tfbert.convert.hf import read_hf
from tfbert.convert.hf_writer import HFFolder, write_hf
from tfbert.convert.keras_hub import from_keras_hub_backbone, read_keras_hub

# `tfbert convert --from NAME` -> reader of a source path.
READERS = {"garden": read_garden, "google": read_google, "hf": read_hf,
           "keras-hub": read_keras_hub}

# `tfbert convert --to NAME` -> writer of a model directory.
WRITERS = {"hf": write_hf}

__all__ = ["ConvertedModel", "HFFolder", "READERS", "WRITERS", "from_keras_hub_backbone",
           "read_garden", "read_google", "read_hf", "read_keras_hub", "write_hf"]
