"""Google BERT folders: a TF1 checkpoint written by a TF1 Saver (with Adam slots and
global_step, as run_pretraining.py leaves them) converts to a model that computes what Model
Garden's own converter of that checkpoint computes."""
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
from official.legacy.bert import configs as garden_configs
from official.nlp.tools import tf2_bert_encoder_checkpoint_converter as garden_converter

from tests.helpers import random_features
from tfbert import BertClassifier, BertConfig, BertPretrainer, BertSpanQA, load
from tfbert.cli import main
from tfbert.convert import read_google
from tfbert.models.checkpoint import model_weights

CONFIG = dataclasses.replace(BertConfig.preset("bert_tiny"), vocab_size=150,
                             max_position_embeddings=40)
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "##s"]


def write_google_folder(directory, tensors, vocab=VOCAB, config=CONFIG, step_name="bert_model"):
    """Writes bert_config.json (with original BERT's `gelu`), vocab.txt and a TF1 checkpoint."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bert_config.json").write_text(
        json.dumps(dict(config.to_dict(), hidden_act="gelu")))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=value)
                     for name, value in tensors.items()]
        for variable in list(variables):
            if variable.dtype.base_dtype == tf.float32:
                for slot in ("adam_m", "adam_v"):
                    variables.append(tf.compat.v1.get_variable(
                        f"{variable.op.name}/{slot}", initializer=tf.zeros_like(variable)))
        variables.append(tf.compat.v1.train.get_or_create_global_step())
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(directory / step_name),
                       global_step=None if step_name == "bert_model.ckpt" else 7)
    return directory


def random_tensors(model, seed=0):
    rng = np.random.default_rng(seed)
    return {path: rng.normal(0.0, 0.2, value.shape).astype("float32")
            for path, value in model_weights(model).items()}


def test_pretraining_checkpoint_matches_model_garden(tmp_path):
    tensors = random_tensors(BertPretrainer(CONFIG))
    folder = write_google_folder(tmp_path / "google", tensors, step_name="bert_model.ckpt")
    assert main(["convert", "--from", "google", str(folder), "--out", str(tmp_path / "out")]) == 0
    model = load(tmp_path / "out")
    assert isinstance(model, BertPretrainer) and model.config.hidden_act == "gelu_new"

    garden_config = garden_configs.BertConfig.from_dict(json.loads(
        (folder / "bert_config.json").read_text()))
    garden_converter.convert_checkpoint(
        garden_config, str(tmp_path / "garden" / "ckpt"), str(folder / "bert_model.ckpt"),
        checkpoint_model_name="model", converted_model="pretrainer")
    garden = garden_converter._create_bert_pretrainer_model(garden_config)
    tf.train.Checkpoint(model=garden).restore(
        tf.train.latest_checkpoint(tmp_path / "garden")).assert_consumed()

    features = random_features(2, 12, CONFIG.vocab_size)
    features["masked_lm_positions"] = np.array([[1, 2, 5], [0, 3, 3]], "int32")
    reference, outputs = garden(features), model(features)
    encoded = model.encoder(features)
    for ours, theirs in [(encoded["sequence_output"], reference["sequence_output"]),
                         (encoded["pooled_output"], reference["pooled_output"]),
                         (outputs["mlm_logits"], reference["mlm_logits"])]:
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("head, model_class", [
    ({"output_weights": (3, 128), "output_bias": (3,)}, BertClassifier),
    ({"cls/squad/output_weights": (2, 128), "cls/squad/output_bias": (2,)}, BertSpanQA),
])
def test_fine_tuning_output_dirs(tmp_path, head, model_class):
    rng = np.random.default_rng(1)
    tensors = {k: v for k, v in random_tensors(BertClassifier(CONFIG, 3)).items()
               if k.startswith("bert/")}
    tensors.update({name: rng.normal(size=shape).astype("float32")
                    for name, shape in head.items()})
    # A fine-tuning --output_dir: model.ckpt-7 named by a `checkpoint` file; cased vocabulary.
    folder = write_google_folder(tmp_path / "run", tensors, vocab=VOCAB + ["The"],
                                 step_name="model.ckpt")
    converted = read_google(folder)
    assert converted.task["class"] == model_class.__name__
    assert converted.do_lower_case is False
    kernel = next(v for k, v in converted.weights.items() if k.endswith("/kernel")
                  and not k.startswith("bert/"))
    weights_name = next(name for name in head if name.endswith("output_weights"))
    np.testing.assert_array_equal(kernel, tensors[weights_name].T)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="bert_config.json is missing"):
        read_google(tmp_path)
    tensors = random_tensors(BertPretrainer(CONFIG))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "bert_config.json").write_text(json.dumps(CONFIG.to_dict()))
    with pytest.raises(FileNotFoundError, match="has no checkpoint"):
        read_google(tmp_path / "empty")
    bigger = dataclasses.replace(CONFIG, intermediate_size=256)
    folder = write_google_folder(tmp_path / "shape", tensors, config=bigger,
                                 step_name="bert_model.ckpt")
    with pytest.raises(ValueError, match=r"intermediate/dense/kernel has shape \(128, 512\)"):
        read_google(folder)
    folder = write_google_folder(tmp_path / "extra", dict(tensors, **{"cls/other/w": np.ones(2)}),
                                 step_name="bert_model.ckpt")
    with pytest.raises(ValueError, match="cls/other/w"):
        read_google(folder)
