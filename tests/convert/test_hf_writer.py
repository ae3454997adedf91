"""`tfbert convert --to hf`: HF folders that transformers (PyTorch) loads without missing or
unexpected weights and that compute what the original HF model computes; tfbert -> HF -> tfbert
exact; tokenizers that give tfbert's ids; errors that name the file."""
import json

import numpy as np
import pytest
import torch
import transformers

import tfbert
from tests.convert.test_hf import CONFIGS, save_hf, torch_inputs
from tests.helpers import random_features
from tfbert.cli import main
from tfbert.convert import read_hf, write_hf
from tfbert.models.model_directory import ModelDirectory

HEADS = [  # HF class, extra config, output compared
    (transformers.BertModel, {}, "last_hidden_state"),
    (transformers.BertForPreTraining, {}, "prediction_logits"),
    (transformers.BertForMaskedLM, {}, "logits"),
    (transformers.BertForSequenceClassification,
     dict(id2label={0: "sad", 1: "neutral", 2: "happy"},
          label2id={"sad": 0, "neutral": 1, "happy": 2}), "logits"),
    (transformers.BertForSequenceClassification, dict(num_labels=1, problem_type="regression"),
     "logits"),
    (transformers.BertForTokenClassification, dict(num_labels=5), "logits"),
    (transformers.BertForQuestionAnswering, {}, "end_logits"),
]
WORDS = ["hello", "world", "the", "un", "##aff", "##able", "café", "Hello", "World", "naïve",
         "cafe", "naive", ",", "!"]
SENTENCES = ["Hello, world!", "the unaffable café", "Naïve HELLO world", "hello   world"]


def load_hf(model_class, folder):
    """The model HF loads from `folder`, checked: no missing, unexpected or mismatched weight."""
    model, info = model_class.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"], info
    assert not info["unexpected_keys"] and not info["mismatched_keys"], info
    return model.eval()


@pytest.mark.parametrize("hf_class, extra, output", HEADS,
                         ids=[f"{h[0].__name__}-{i}" for i, h in enumerate(HEADS)])
def test_round_trip_through_tfbert(hf_class, extra, output, tmp_path):
    config = CONFIGS["gelu_new"] if hf_class is transformers.BertForPreTraining else CONFIGS["gelu"]
    hf = save_hf(hf_class, tmp_path / "hf", **config, **extra)
    assert main(["convert", "--from", "hf", str(tmp_path / "hf"), "--out",
                 str(tmp_path / "tfbert")]) == 0
    assert main(["convert", "--to", "hf", str(tmp_path / "tfbert"), "--out",
                 str(tmp_path / "back")]) == 0
    written = json.loads((tmp_path / "back" / "config.json").read_text())
    assert written["architectures"] == [hf_class.__name__]
    assert written["hidden_act"] == config["hidden_act"]
    back = load_hf(hf_class, tmp_path / "back")
    features = random_features(3, 11, config["vocab_size"])
    with torch.no_grad():
        expected = getattr(hf(**torch_inputs(features)), output).numpy()
        actual = getattr(back(**torch_inputs(features)), output).numpy()
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)
    assert back.config.num_labels == hf.config.num_labels
    assert back.config.id2label == hf.config.id2label
    if "problem_type" in extra:
        assert back.config.problem_type == "regression"
        assert isinstance(tfbert.load(tmp_path / "tfbert"), tfbert.BertRegressor)

    # tfbert -> HF -> tfbert: every weight equal (the pooler of heads HF builds without one is
    # not written, so a reader gives it a fresh value; it never reaches these heads' outputs).
    read_hf(tmp_path / "back").save(tmp_path / "again")
    first = ModelDirectory(tmp_path / "tfbert")
    second = ModelDirectory(tmp_path / "again")
    assert second.task == first.task
    skip = () if hf_class.__name__ in ("BertModel", "BertForPreTraining",
                                       "BertForSequenceClassification") else ("bert/pooler/",)
    a, b = first.weights(), second.weights()
    assert set(a) == set(b)
    for name in a:
        if not name.startswith(skip):
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize("lower_case", [True, False])
def test_tokenizer_gives_tfbert_ids(lower_case, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    config = tfbert.BertConfig(vocab_size=len(WORDS) + 5, hidden_size=16, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=32,
                               max_position_embeddings=20)
    tfbert.save(tfbert.BertEncoder(config), tmp_path / "model", vocab_file=vocab,
                do_lower_case=lower_case)
    write_hf(tmp_path / "model", tmp_path / "hf")
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert hf_tokenizer.do_lower_case is lower_case and hf_tokenizer.model_max_length == 20
    ids = ModelDirectory(tmp_path / "model").tokenizer()(np.array(SENTENCES)).to_list()
    assert [hf_tokenizer(s, add_special_tokens=False)["input_ids"] for s in SENTENCES] == ids
    # The reference itself, on the same vocabulary and casing.
    reference = transformers.BertTokenizerFast(str(vocab), do_lower_case=lower_case)
    assert [reference(s, add_special_tokens=False)["input_ids"] for s in SENTENCES] == ids


def test_existing_out_is_refused_and_kept(tmp_path, capsys):
    save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    read_hf(tmp_path / "hf").save(tmp_path / "model")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    assert main(["convert", "--to", "hf", str(tmp_path / "model"), "--out",
                 str(tmp_path / "out")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    assert main(["convert", "--to", "hf", str(tmp_path / "model"), "--out",
                 str(tmp_path / "out"), "--overwrite"]) == 0
    assert not (tmp_path / "out" / "keep.txt").exists()
    load_hf(transformers.BertModel, tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_sources_name_the_file(tmp_path, capsys):
    assert main(["convert", "--to", "hf", str(tmp_path / "nothing"), "--out",
                 str(tmp_path / "out")]) == 2
    assert f"{tmp_path / 'nothing'} is not a model directory" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text('{"hidden_size": 16,')
    with pytest.raises(ValueError, match=r"broken/config.json is not valid JSON"):
        write_hf(tmp_path / "broken", tmp_path / "out")
    (tmp_path / "broken" / "config.json").write_text('{"hiden_size": 16}')
    with pytest.raises(ValueError, match=r"broken/config.json: Unknown BERT config field"):
        write_hf(tmp_path / "broken", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_safetensors_is_named(tmp_path):
    save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    weights = tmp_path / "hf" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"model.safetensors is not a readable safetensors"):
        read_hf(tmp_path / "hf")


def test_from_and_to_are_exclusive_and_one_is_required(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--from", "hf", "--to", "hf", str(tmp_path), "--out", str(tmp_path)])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", str(tmp_path), "--out", str(tmp_path / "x")])
    assert "one of the arguments --from --to is required" in capsys.readouterr().err


def test_pytorch_bin_is_read_with_torch(tmp_path):
    hf = save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    (tmp_path / "hf" / "model.safetensors").unlink()
    torch.save(hf.state_dict(), tmp_path / "hf" / "pytorch_model.bin")
    converted = read_hf(tmp_path / "hf")
    np.testing.assert_array_equal(converted.weights["bert/pooler/dense/kernel"],
                                  hf.pooler.dense.weight.detach().numpy().T)


def _finetune(task, encoder_dir, train, out, *extra):
    assert main(["finetune", "--task", task, "--model", str(encoder_dir), "--train", str(train),
                 "--out", str(out), "--epochs", "1", "--batch-size", "8", "--no-jit-compile",
                 "--progress", "none", *extra]) == 0
    return out


@pytest.mark.parametrize("task, hf_class, outputs", [
    ("classify", transformers.BertForSequenceClassification, ("logits",)),
    # Slow: their heads' weight mapping is also in test_round_trip_through_tfbert (in CI).
    pytest.param("tag", transformers.BertForTokenClassification, ("logits",),
                 marks=pytest.mark.slow),
    pytest.param("qa", transformers.BertForQuestionAnswering, ("start_logits", "end_logits"),
                 marks=pytest.mark.slow),
])
def test_finetuned_model_predicts_the_same_in_transformers(task, hf_class, outputs, tmp_path,
                                                           capsys):
    from tests.tasks.test_qa_task import CITIES, FILLER as QA_FILLER, _squad
    from tests.tasks.test_tag_task import FILLER, PEOPLE, PLACES, _conll
    from tests.helpers import write_vocab
    from tests.training.text_data import write_order_task
    from tfbert.tasks.inference import Predictor

    words = (PEOPLE + [w for place in PLACES for w in place] + FILLER
             + [w for city in CITIES for w in city] + QA_FILLER
             + ["where", "?", "alpha", "omega", "file", "object", "returns", "value"])
    vocab = write_vocab(tmp_path / "vocab.txt", sorted(set(words)))
    config = tfbert.BertConfig(vocab_size=5 + len(set(words)), hidden_size=32,
                               num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=32)
    encoder_dir = tfbert.save(tfbert.BertEncoder(config), tmp_path / "encoder", vocab_file=vocab)
    if task == "classify":
        train = write_order_task(tmp_path / "train.jsonl", 16, seed=0)
        out = _finetune(task, encoder_dir, train, tmp_path / "tuned", "--seq-length", "24")
        examples = Predictor(out).task.read(str(train), training=False)
    elif task == "tag":
        _conll(tmp_path / "train.conll", 8, seed=0)
        out = _finetune(task, encoder_dir, tmp_path / "train.conll", tmp_path / "tuned",
                        "--seq-length", "16")
        examples = Predictor(out).task.read(str(tmp_path / "train.conll"), training=False)
    else:
        _squad(tmp_path / "train.json", 8, seed=0)
        out = _finetune(task, encoder_dir, tmp_path / "train.json", tmp_path / "tuned",
                        "--seq-length", "24", "--doc-stride", "8", "--max-query-length", "4")
        examples = Predictor(out).task.read(str(tmp_path / "train.json"), training=False)
    capsys.readouterr()
    write_hf(out, tmp_path / "hf")
    hf = load_hf(hf_class, tmp_path / "hf")
    encoded, expected = Predictor(out).outputs(examples)
    with torch.no_grad():
        actual = hf(**torch_inputs(encoded.x))
    for name in outputs:
        np.testing.assert_allclose(getattr(actual, name).numpy(), expected[name], atol=1e-5,
                                   rtol=0, err_msg=name)
    if task == "tag":
        assert list(hf.config.id2label.values()) == list(ModelDirectory(out).labels)
    if task == "classify":  # HF's tokenizer from the folder gives the features tfbert gave
        tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
        hf_ids = tokenizer(examples.texts, examples.pairs, padding="max_length",
                           max_length=24, truncation=True)["input_ids"]
        np.testing.assert_array_equal(np.array(hf_ids), encoded.x["input_word_ids"])
