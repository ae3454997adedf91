import pytest
import transformers

from tfbert import BertConfig, BertPretrainer, BertClassifier, BertSpanQA
from tfbert.convert.names import HF_IGNORED, hf_key


@pytest.mark.parametrize("model, hf_class", [
    (lambda c: BertPretrainer(c), transformers.BertForPreTraining),
    (lambda c: BertClassifier(c, num_labels=2), transformers.BertForSequenceClassification),
    (lambda c: BertSpanQA(c), transformers.BertForQuestionAnswering),
])
def test_every_variable_has_exactly_one_hf_parameter(model, hf_class):
    """The rule + exceptions map tfbert onto HF's module tree one to one."""
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16)
    hf_config = transformers.BertConfig(**config.to_dict())
    hf = hf_class(hf_config)
    hf_keys = {k for k in hf.state_dict() if k not in HF_IGNORED}
    variables = {v.path: tuple(v.shape) for v in model(config).weights}
    mapped = {}
    for path, shape in variables.items():
        key, transposed = hf_key(path)
        mapped[key] = shape[::-1] if transposed else shape
    pooler = {"bert.pooler.dense.weight", "bert.pooler.dense.bias"}
    # HF builds QA and token heads without a pooler; tfbert's encoder always has one.
    assert set(mapped) - hf_keys <= pooler
    assert hf_keys <= set(mapped)
    for key in hf_keys:
        assert tuple(hf.state_dict()[key].shape) == mapped[key], key


def test_unknown_variable():
    with pytest.raises(ValueError, match="No HF name"):
        hf_key("bert/encoder/layer_0/mystery")
