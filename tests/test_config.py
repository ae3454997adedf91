import dataclasses
import json

import pytest
import transformers

from tfbert import BertConfig
from tfbert.config import PRESETS


def test_presets_match_published_sizes():
    # (layers, hidden, heads) of Turc et al. 2019 and the BERT paper.
    expected = {"bert_tiny": (2, 128, 2), "bert_mini": (4, 256, 4), "bert_small": (4, 512, 8),
                "bert_medium": (8, 512, 8), "bert_base": (12, 768, 12),
                "bert_large": (24, 1024, 16)}
    for name, (layers, hidden, heads) in expected.items():
        config = BertConfig.preset(name)
        assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (
            layers, hidden, heads)
        assert config.intermediate_size == 4 * hidden
    assert set(PRESETS) == set(expected)


def test_unknown_preset_names_choices():
    with pytest.raises(ValueError, match="bert_tiny"):
        BertConfig.preset("bert_huge")


def test_reads_original_bert_config_json(tmp_path):
    # The file of Google's BERT-Base uncased release, field for field.
    original = {"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
                "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
                "intermediate_size": 3072, "max_position_embeddings": 512,
                "num_attention_heads": 12, "num_hidden_layers": 12, "type_vocab_size": 2,
                "vocab_size": 30522}
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps(original))
    assert BertConfig.from_json(path) == BertConfig.preset("bert_base")


def test_reads_hf_config_json(tmp_path):
    hf = transformers.BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=3,
                                 num_attention_heads=4, intermediate_size=100,
                                 hidden_act="gelu_new", layer_norm_eps=1e-7, num_labels=3)
    hf.save_pretrained(tmp_path)
    config = BertConfig.from_json(tmp_path / "config.json")
    assert (config.vocab_size, config.hidden_size, config.num_hidden_layers) == (1000, 64, 3)
    assert (config.hidden_act, config.layer_norm_eps) == ("gelu_new", 1e-7)


def test_round_trips_through_dict():
    config = dataclasses.replace(BertConfig.preset("bert_mini"), hidden_act="relu")
    assert BertConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("values, message", [
    ({"hidden_size": 770, "num_attention_heads": 12},
     "hidden_size=770, num_attention_heads=12"),
    ({"hidden_act": "swish_x"}, "hidden_act"),
    ({"num_hidden_layers": 0}, "num_hidden_layers=0"),
    ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob=1.5"),
    ({"vocab_size": 10.5}, "vocab_size=10.5"),
    ({"hiden_size": 768}, "Unknown BERT config field.*hiden_size"),
    ({"model_type": "roberta"}, "model_type='roberta'"),
    ({"model_type": "bert", "position_embedding_type": "relative_key"},
     "position_embedding_type"),
])
def test_bad_configs_say_what_is_wrong(values, message):
    with pytest.raises(ValueError, match=message):
        BertConfig.from_dict(values)


def test_bad_json_file_is_named(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        BertConfig.from_json(path)
