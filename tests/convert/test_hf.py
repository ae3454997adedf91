"""HF transformers (PyTorch) BERT folders, random weights, saved with `save_pretrained`."""
import json

import numpy as np
import pytest
import torch
import transformers

from tests.helpers import random_features, write_vocab
from tfbert import BertClassifier, BertEncoder, BertPretrainer, BertSpanQA, BertTokenClassifier
from tfbert import load
from tfbert.convert import read_hf

# Two configs: exact and tanh GELU, odd sizes, a 3-entry token-type table, another epsilon.
CONFIGS = {
    "gelu": dict(vocab_size=300, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                 intermediate_size=100, hidden_act="gelu", max_position_embeddings=40),
    "gelu_new": dict(vocab_size=257, hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                     intermediate_size=96, hidden_act="gelu_new", max_position_embeddings=24,
                     type_vocab_size=3, layer_norm_eps=1e-7),
}


def save_hf(model_class, directory, seed=0, **config):
    """Saves an HF model whose every parameter (LayerNorm too) is random."""
    torch.manual_seed(seed)
    model = model_class(transformers.BertConfig(**config)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
    model.save_pretrained(directory)
    write_vocab(directory / "vocab.txt")  # save_pretrained of a model writes no tokenizer
    return model


def torch_inputs(features):
    return dict(input_ids=torch.tensor(features["input_word_ids"], dtype=torch.long),
                attention_mask=torch.tensor(features["input_mask"], dtype=torch.long),
                token_type_ids=torch.tensor(features["input_type_ids"], dtype=torch.long))


def convert(source, target):
    read_hf(source).save(target)
    return load(target)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_pretraining_model_parity(name, tmp_path):
    config = CONFIGS[name]
    hf = save_hf(transformers.BertForPreTraining, tmp_path / "hf", **config)
    model = convert(tmp_path / "hf", tmp_path / "tfbert")
    assert isinstance(model, BertPretrainer) and model.next_sentence
    features = random_features(4, 20, config["vocab_size"], lengths=[20, 13, 7, 2])
    type_vocab_size = config.get("type_vocab_size", 2)
    features["input_type_ids"] = (np.arange(20) * type_vocab_size // 20 * features["input_mask"]
                                  ).astype("int32")  # every token type occurs
    positions = np.array([[1, 5, 19], [0, 3, 12], [2, 6, 6], [0, 1, 1]], "int32")
    with torch.no_grad():
        reference = hf(**torch_inputs(features), output_hidden_states=True)
        pooled = hf.bert(**torch_inputs(features)).pooler_output.numpy()
    outputs = model({**features, "masked_lm_positions": positions})
    encoded = model.encoder(features)
    # Padded positions are compared too: both attend only to real tokens from them.
    np.testing.assert_allclose(encoded["sequence_output"], reference.hidden_states[-1].numpy(),
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose(encoded["pooled_output"], pooled, atol=1e-5, rtol=0)
    mlm = np.take_along_axis(reference.prediction_logits.numpy(), positions[..., None], 1)
    np.testing.assert_allclose(outputs["mlm_logits"], mlm, atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs["nsp_logits"], reference.seq_relationship_logits.numpy(),
                               atol=1e-5, rtol=0)


def test_bare_bert_model(tmp_path):
    hf = save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    model = convert(tmp_path / "hf", tmp_path / "tfbert")
    assert isinstance(model, BertEncoder)
    features = random_features(2, 9, 300)
    with torch.no_grad():
        reference = hf(**torch_inputs(features))
    np.testing.assert_allclose(model(features)["sequence_output"],
                               reference.last_hidden_state.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(model(features)["pooled_output"],
                               reference.pooler_output.numpy(), atol=1e-5, rtol=0)


def test_sequence_classifier_keeps_label_names(tmp_path):
    hf = save_hf(transformers.BertForSequenceClassification, tmp_path / "hf",
                 id2label={0: "sad", 1: "neutral", 2: "happy"},
                 label2id={"sad": 0, "neutral": 1, "happy": 2}, **CONFIGS["gelu_new"])
    model = convert(tmp_path / "hf", tmp_path / "tfbert")
    assert isinstance(model, BertClassifier) and model.labels == ("sad", "neutral", "happy")
    features = random_features(3, 10, 257)
    with torch.no_grad():
        reference = hf(**torch_inputs(features)).logits.numpy()
    np.testing.assert_allclose(model(features)["logits"], reference, atol=1e-5, rtol=0)


@pytest.mark.parametrize("hf_class, tfbert_class, output, num_labels", [
    (transformers.BertForTokenClassification, BertTokenClassifier, "logits", 5),
    (transformers.BertForQuestionAnswering, BertSpanQA, "end_logits", 2),
])
def test_heads_without_pooler(hf_class, tfbert_class, output, num_labels, tmp_path):
    hf = save_hf(hf_class, tmp_path / "hf", num_labels=num_labels, **CONFIGS["gelu"])
    model = convert(tmp_path / "hf", tmp_path / "tfbert")
    assert isinstance(model, tfbert_class)
    features = random_features(2, 7, 300)
    with torch.no_grad():
        reference = getattr(hf(**torch_inputs(features)), output).numpy()
    np.testing.assert_allclose(model(features)[output], reference, atol=1e-5, rtol=0)


def test_masked_lm_without_nsp(tmp_path):
    hf = save_hf(transformers.BertForMaskedLM, tmp_path / "hf", **CONFIGS["gelu"])
    model = convert(tmp_path / "hf", tmp_path / "tfbert")
    assert isinstance(model, BertPretrainer) and not model.next_sentence
    features = random_features(2, 7, 300)
    positions = np.array([[0, 6], [3, 4]], "int32")
    with torch.no_grad():
        logits = hf(**torch_inputs(features)).logits.numpy()
    np.testing.assert_allclose(model({**features, "masked_lm_positions": positions})["mlm_logits"],
                               np.take_along_axis(logits, positions[..., None], 1), atol=1e-5,
                               rtol=0)


def test_bfloat16_weights_are_read_exactly(tmp_path):
    hf = save_hf(transformers.BertModel, tmp_path / "hf32", **CONFIGS["gelu"])
    hf.to(torch.bfloat16).save_pretrained(tmp_path / "hf16")
    converted = read_hf(tmp_path / "hf16")
    expected = hf.embeddings.word_embeddings.weight.float().detach().numpy()
    np.testing.assert_array_equal(converted.weights["bert/embeddings/word_embeddings"], expected)


def test_vocab_and_lower_case_are_kept(tmp_path):
    save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    vocab = tmp_path / "hf" / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello"]) + "\n")
    transformers.BertTokenizerFast(str(vocab), do_lower_case=False).save_pretrained(tmp_path / "hf")
    directory = read_hf(tmp_path / "hf").save(tmp_path / "tfbert")
    assert (directory / "vocab.txt").read_text() == vocab.read_text()
    assert json.loads((directory / "config.json").read_text())["do_lower_case"] is False


def test_unsupported_architecture(tmp_path):
    save_hf(transformers.BertForMultipleChoice, tmp_path / "hf", **CONFIGS["gelu"])
    with pytest.raises(ValueError, match="BertForMultipleChoice.*not supported"):
        read_hf(tmp_path / "hf")


def test_missing_weights_are_named(tmp_path):
    save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    (tmp_path / "hf" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        read_hf(tmp_path / "hf")
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        read_hf(tmp_path / "nothing")


def test_sharded_safetensors_are_read(tmp_path):
    hf = save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    hf.save_pretrained(tmp_path / "sharded", max_shard_size="100KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    (tmp_path / "sharded" / "vocab.txt").write_bytes((tmp_path / "hf" / "vocab.txt").read_bytes())
    whole, sharded = read_hf(tmp_path / "hf"), read_hf(tmp_path / "sharded")
    assert set(whole.weights) == set(sharded.weights)
    for name, value in whole.weights.items():
        np.testing.assert_array_equal(sharded.weights[name], value, err_msg=name)
