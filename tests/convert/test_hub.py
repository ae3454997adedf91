"""Hub names as `convert` sources: HF hub ids through `huggingface_hub.snapshot_download` and
keras-hub preset names through keras-hub's `from_preset` (kagglehub). The "download" is a cache
prepared in each client's real layout, found by the client itself with the network off."""
import hashlib
import os
import shutil
import subprocess
import sys

import huggingface_hub
import keras
import keras_hub
import numpy as np
import pytest
import torch
import transformers
from huggingface_hub.utils import filter_repo_objects

from tests.convert.test_hf import CONFIGS, save_hf, torch_inputs
from tests.helpers import random_features, write_vocab
from tfbert import BertEncoder, load
from tfbert.cli import main
from tfbert.convert import read_hf, read_keras_hub
from tfbert.convert.hub import HF_PATTERNS, HF_PYTORCH_PATTERNS

REPO = "tfbert-test/tiny-bert"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PRESET = "bert_tiny_en_uncased"


def put_in_hf_cache(cache, repo_id, folder, commit=COMMIT, ref="main"):
    """`folder` as the HF cache holds a download: blobs, a snapshot of links to them, a ref."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, blob)
        link = repo / "snapshots" / commit / file.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / ref).write_text(commit)


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An HF cache with the hub unreachable (HF_HUB_OFFLINE): snapshot_download reads it only."""
    cache = tmp_path / "hf_cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub read both when it was imported; its calls read these module values.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def assert_same_encoder(model, hf, vocab_size):
    features = random_features(2, 9, vocab_size)
    with torch.no_grad():
        reference = hf(**torch_inputs(features)).last_hidden_state.numpy()
    np.testing.assert_allclose(model(features)["sequence_output"], reference, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", [REPO, f"{REPO}@main", f"{REPO}@{COMMIT}"])
def test_hf_hub_id_converts_from_the_cache(name, hf_cache, tmp_path, capsys):
    hf = save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    put_in_hf_cache(hf_cache, REPO, tmp_path / "hf")
    assert main(["convert", "--from", "hf", name, "--out", str(tmp_path / "model")]) == 0
    assert "wrote" in capsys.readouterr().out
    model = load(tmp_path / "model")
    assert isinstance(model, BertEncoder)
    assert_same_encoder(model, hf, CONFIGS["gelu"]["vocab_size"])


def test_a_local_folder_wins_over_the_hub_id(hf_cache, tmp_path, monkeypatch):
    save_hf(transformers.BertModel, tmp_path / "cached", seed=0, **CONFIGS["gelu"])
    put_in_hf_cache(hf_cache, REPO, tmp_path / "cached")
    local = save_hf(transformers.BertModel, tmp_path / "cwd" / REPO, seed=1, **CONFIGS["gelu"])
    monkeypatch.chdir(tmp_path / "cwd")
    converted = read_hf(REPO)
    np.testing.assert_array_equal(converted.weights["bert/embeddings/word_embeddings"],
                                  local.embeddings.word_embeddings.weight.detach().numpy())


def test_pytorch_weights_when_the_repo_has_no_safetensors(hf_cache, tmp_path):
    hf = save_hf(transformers.BertModel, tmp_path / "hf", **CONFIGS["gelu"])
    (tmp_path / "hf" / "model.safetensors").unlink()
    torch.save(hf.state_dict(), tmp_path / "hf" / "pytorch_model.bin")
    put_in_hf_cache(hf_cache, REPO, tmp_path / "hf")
    read_hf(REPO).save(tmp_path / "model")
    assert_same_encoder(load(tmp_path / "model"), hf, CONFIGS["gelu"]["vocab_size"])


def test_a_sentence_transformers_repo_keeps_its_pooling(hf_cache, tmp_path):
    from tests.convert.test_sentence_transformers import save_bert, save_sentence_transformer

    vocab = write_vocab(tmp_path / "vocab.txt", ("the", "quick", "fox"))
    bert = save_bert(tmp_path / "bert", vocab)
    save_sentence_transformer(tmp_path / "st", bert, "mean", True, max_seq_length=32)
    put_in_hf_cache(hf_cache, "sentence-transformers/tiny", tmp_path / "st")
    converted = read_hf("sentence-transformers/tiny")
    assert converted.embedding == {"pooling": "mean", "normalize": True, "seq_length": 32}


def test_download_patterns_keep_what_the_reader_needs():
    """HF's own pattern filter on the file lists of two typical repos."""
    sentence_repo = [
        ".gitattributes", "1_Pooling/config.json", "README.md", "config.json",
        "config_sentence_transformers.json", "data_config.json", "model.safetensors",
        "modules.json", "onnx/model.onnx", "openvino/openvino_model.bin", "pytorch_model.bin",
        "rust_model.ot", "sentence_bert_config.json", "special_tokens_map.json", "tf_model.h5",
        "tokenizer.json", "tokenizer_config.json", "train_script.py", "vocab.txt"]
    assert sorted(filter_repo_objects(sentence_repo, allow_patterns=HF_PATTERNS)) == [
        "1_Pooling/config.json", "config.json", "config_sentence_transformers.json",
        "model.safetensors", "modules.json", "sentence_bert_config.json",
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
    old_repo = ["0_BERT/config.json", "0_BERT/pytorch_model.bin", "0_BERT/vocab.txt",
                "0_BERT/sentence_bert_config.json", "1_Pooling/config.json", "modules.json",
                "flax_model.msgpack"]
    assert not list(filter_repo_objects(old_repo, allow_patterns=["*.safetensors"]))
    assert sorted(filter_repo_objects(old_repo, allow_patterns=HF_PYTORCH_PATTERNS)) == sorted(
        set(old_repo) - {"flax_model.msgpack"})
    sharded = ["config.json", "model-00001-of-00002.safetensors",
               "model-00002-of-00002.safetensors", "model.safetensors.index.json"]
    assert sorted(filter_repo_objects(sharded, allow_patterns=HF_PATTERNS)) == sharded


def test_hf_offline_message_names_the_id_and_the_cache(tmp_path):
    cache = tmp_path / "empty_cache"
    cache.mkdir()
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "tfbert", "convert", "--from", "hf", "tfbert-test/missing@v2",
         "--out", str(tmp_path / "model")], capture_output=True, text=True, env=env,
        timeout=300)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "tfbert-test/missing@v2 is not a local folder" in message
    assert f"the HF cache {cache} has no copy of it while HF_HUB_OFFLINE is set" in message
    assert "Download it on a machine with network" in message
    assert "or pass a local folder" in message
    assert not (tmp_path / "model").exists()


@pytest.fixture
def kaggle_cache(tmp_path, monkeypatch):
    """A kagglehub cache, with the Kaggle API pointed at a local address nothing answers."""
    cache = tmp_path / "kagglehub"
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(cache))
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    return cache


def put_in_kaggle_cache(cache, preset, folder):
    """`folder` as kagglehub caches a model version file by file, each marked complete."""
    handle = keras_hub.models.BertBackbone.presets[preset]["kaggle_handle"]
    owner, model, framework, variation, version = handle.removeprefix("kaggle://").split("/")
    base = cache / "models" / owner / model / framework / variation
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = file.relative_to(folder)
        (base / version / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, base / version / relative)
        marker = base / ".complete" / version / f"{relative}.complete"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def test_keras_hub_preset_name_through_its_loader(kaggle_cache, tmp_path, capsys):
    keras.utils.set_random_seed(5)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=12, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=24,
        max_sequence_length=20)
    rng = np.random.default_rng(0)
    for variable in backbone.weights:
        variable.assign(rng.normal(0.0, 0.2, variable.shape).astype("float32"))
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox",
                  "##es", "jump", "##s"]
    backbone.save_to_preset(str(tmp_path / "preset"))
    keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True).save_to_preset(
        str(tmp_path / "preset"))
    put_in_kaggle_cache(kaggle_cache, PRESET, tmp_path / "preset")

    assert main(["convert", "--from", "keras-hub", PRESET, "--out",
                 str(tmp_path / "model")]) == 0
    capsys.readouterr()
    assert (tmp_path / "model" / "vocab.txt").read_text().splitlines() == vocabulary
    model = load(tmp_path / "model")
    features = random_features(2, 10, 12, lengths=[10, 4])
    reference = backbone({"token_ids": features["input_word_ids"],
                          "segment_ids": features["input_type_ids"],
                          "padding_mask": features["input_mask"]})
    np.testing.assert_allclose(model(features)["sequence_output"], reference["sequence_output"],
                               atol=1e-5, rtol=0)


def test_keras_hub_offline_message_names_the_preset_and_the_cache(kaggle_cache):
    with pytest.raises(FileNotFoundError) as error:
        read_keras_hub(PRESET)
    message = str(error.value)
    assert f"keras-hub preset '{PRESET}' is not a local folder" in message
    assert f"the kagglehub cache {kaggle_cache} has no copy of it" in message
    assert "Download it on a machine with network" in message
    assert "or pass a local preset folder (save_to_preset)" in message


def test_unknown_keras_hub_name_lists_the_presets(kaggle_cache):
    with pytest.raises(FileNotFoundError, match="'bert_nano' is neither a keras-hub preset "
                                                "folder nor a keras-hub BERT preset name; the "
                                                "presets are .*bert_tiny_en_uncased"):
        read_keras_hub("bert_nano")


def test_hf_unreachable_hub_message(hf_cache, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # refused
    with pytest.raises(FileNotFoundError, match=f"{REPO} is not a local folder, and the HF cache "
                                                f"{hf_cache} has no copy of it while the HF hub "
                                                "cannot be reached"):
        read_hf(REPO)
