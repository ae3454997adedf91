"""keras-hub's BertBackbone, random weights, saved as a preset with `save_to_preset`."""
import keras
import keras_hub
import numpy as np

from tests.helpers import random_features, write_vocab
from tfbert import BertEncoder, load
from tfbert.convert import read_keras_hub


def test_backbone_parity_through_a_preset(tmp_path):
    keras.utils.set_random_seed(3)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=211, num_layers=2, num_heads=4, hidden_dim=64, intermediate_dim=96,
        max_sequence_length=32, num_segments=2, dropout=0.1)
    rng = np.random.default_rng(0)
    for variable in backbone.weights:  # LayerNorm and biases random too
        variable.assign(rng.normal(0.0, 0.2, variable.shape).astype("float32"))
    backbone.save_to_preset(str(tmp_path / "preset"))

    read_keras_hub(tmp_path / "preset").save(tmp_path / "tfbert",
                                             vocab_file=write_vocab(tmp_path / "vocab.txt"))
    model = load(tmp_path / "tfbert")
    assert isinstance(model, BertEncoder) and model.config.hidden_act == "gelu_new"
    features = random_features(3, 20, 211, lengths=[20, 11, 4])
    reference = backbone({"token_ids": features["input_word_ids"],
                          "segment_ids": features["input_type_ids"],
                          "padding_mask": features["input_mask"]})
    outputs = model(features)
    # Padded positions too: both let a padded query attend to the real tokens only.
    np.testing.assert_allclose(outputs["sequence_output"], reference["sequence_output"],
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs["pooled_output"], reference["pooled_output"], atol=1e-5,
                               rtol=0)
