"""Every export's TF Serving warm-up file (assets.extra/tf_serving_warmup_requests): PredictionLog
TFRecords covering every signature within TF Serving's limits, replayed through the session
loader (a broken one failing a load: tests/serving/test_model_versions.py). Also the export's
fingerprint.pb after the classification rewrite of saved_model.pb."""
import shutil
import tempfile

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting
from tensorflow_serving.apis import prediction_log_pb2

import tfbert
from tests.export import builders
from tfbert.export import SessionModel
from tfbert.export.examples import CLASSIFY_METHOD
from tfbert.export.tasks import build_task
from tfbert.export.warmup import (MAX_RECORDS, PREPROCESS_TEXTS, WARMUP_TEXTS, read_warmup,
                                  replay_warmup, warmup_logs, warmup_path, write_warmup)
from tfbert.serving.client import DEFAULT_MAX_BATCH_SIZE


def _records(export) -> list[prediction_log_pb2.PredictionLog]:
    """The warm-up file read with TF's own TFRecord reader."""
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(str(warmup_path(export)))]


def test_one_record_per_signature_within_tf_servings_limits(classifier_export):
    records = _records(classifier_export)
    model = SessionModel(classifier_export)
    signatures = model.signatures
    model.close()
    kinds = {}
    for record in records:
        kind = record.WhichOneof("log_type")
        request = getattr(record, kind).request
        assert request.model_spec.name == "" and not request.model_spec.HasField("version")
        name = request.model_spec.signature_name  # the key, never left to the default
        kinds[name] = kind
        if kind == "classify_log":
            assert signatures[name].method_name == CLASSIFY_METHOD
            examples = request.input.example_list.examples
            features = {key for example in examples for key in example.features.feature}
            assert features == ({"text"} if name == "classify" else {"text_a", "text_b"})
            batch = len(examples)
        else:
            assert set(request.inputs) == set(signatures[name].inputs)
            batch = {tf.make_ndarray(proto).shape[0] for proto in request.inputs.values()}.pop()
        assert 1 <= batch <= DEFAULT_MAX_BATCH_SIZE  # what the batching parameters let in
    assert len(records) == len(kinds) == len(signatures) <= MAX_RECORDS
    assert kinds == {"classify": "classify_log", "classify_pair": "classify_log",
                     "preprocess": "predict_log", "serving_default": "predict_log",
                     "text_pair": "predict_log"}
    assert [_signature_of(r) for r in read_warmup(classifier_export)] == sorted(kinds)


def _signature_of(record) -> str:
    return getattr(record, record.WhichOneof("log_type")).request.model_spec.signature_name


def test_replaying_runs_every_record_with_real_answers(classifier_export, classifier_dir):
    model = SessionModel(classifier_export)
    try:
        assert replay_warmup(model, batch_first=True) == 5
        record = next(r for r in _records(classifier_export)
                      if _signature_of(r) == "serving_default")
        text = tf.make_ndarray(record.predict_log.request.inputs["text"])
        outputs = model.run("serving_default", {"text": text})
    finally:
        model.close()
    assert [t.decode() for t in text] == list(WARMUP_TEXTS)
    expected = builders.keras_classify(classifier_dir, list(WARMUP_TEXTS))
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-5)


def test_windowed_preprocess_records_stay_one_row_per_text(vocab_file):
    model = tfbert.BertSpanQA(builders.tiny_config(vocab_file))
    task = build_task("qa", model, str(vocab_file), lower_case=True, seq_length=72)
    records = {_signature_of(r): r.predict_log.request for r in warmup_logs(task)}
    assert sorted(records) == ["preprocess", "serving_default"]
    windows = {name: tf.make_ndarray(proto).tolist()
               for name, proto in records["preprocess"].inputs.items()}
    assert windows == {"question": [t.encode() for t in PREPROCESS_TEXTS],
                       "context": [t.encode() for t in PREPROCESS_TEXTS]}
    answers = tf.make_ndarray(records["serving_default"].inputs["context"]).tolist()
    assert answers == [t.encode() for t in WARMUP_TEXTS[::-1]]


@pytest.fixture
def doubling_model():
    """A SavedModel whose `serving_default` returns twice as many rows as it gets."""
    module = tf.Module()
    module.double = tf.function(lambda x: {"y": tf.concat([x, x], 0)},
                                input_signature=[tf.TensorSpec([None], tf.int32, name="x")])
    path = tempfile.mkdtemp() + "/1"
    tf.saved_model.save(module, path, signatures={"serving_default": module.double})
    return path


def _predict_log(signature: str, **inputs) -> prediction_log_pb2.PredictionLog:
    log = prediction_log_pb2.PredictionLog()
    log.predict_log.request.model_spec.signature_name = signature
    for name, value in inputs.items():
        log.predict_log.request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return log


def test_batch_first_and_unsupported_records_are_named(doubling_model):
    write_warmup(doubling_model, [_predict_log("", x=np.array([1, 2], np.int32))])
    model = SessionModel(doubling_model)
    try:
        assert replay_warmup(model) == 1  # an empty signature name is serving_default
        with pytest.raises(ValueError, match=r"warm-up record 1 of 1 in .*/1/assets.extra/"
                                             r"tf_serving_warmup_requests \(signature "
                                             r"'serving_default'\): the outputs \['y'\] do not "
                                             r"have the request's batch size 2 first"):
            replay_warmup(model, batch_first=True)
        regress = prediction_log_pb2.PredictionLog()
        regress.regress_log.request.model_spec.signature_name = "serving_default"
        regress.regress_log.request.input.example_list.examples.add()
        write_warmup(doubling_model, [_predict_log("serving_default", x=np.array([1], np.int32)),
                                      regress])
        with pytest.raises(ValueError, match="record 2 of 2 .* failed: signature "
                                             "'serving_default' has method 'tensorflow/serving/"
                                             "predict'; a Regress request needs 'tensorflow/"
                                             "serving/regress'"):
            replay_warmup(model)
        multi = prediction_log_pb2.PredictionLog()
        multi.multi_inference_log.request.SetInParent()
        write_warmup(doubling_model, [multi])
        with pytest.raises(ValueError, match="record 1 of 1 .* failed: it is a "
                                             "multi_inference_log record; tfbert replays "
                                             "predict_log, classify_log and regress_log records "
                                             "only"):
            replay_warmup(model)
    finally:
        model.close()
    with pytest.raises(ValueError, match="a warm-up file holds 1 to 1000 records"):
        write_warmup(doubling_model, [_predict_log("")] * (MAX_RECORDS + 1))


def test_fingerprint_matches_the_rewritten_saved_model(classifier_export, tmp_path):
    model = saved_model_pb2.SavedModel.FromString(
        (classifier_export / "saved_model.pb").read_bytes())
    methods = {name: signature.method_name
               for name, signature in model.meta_graphs[0].signature_def.items()}
    assert methods["classify"] == methods["classify_pair"] == CLASSIFY_METHOD  # rewritten
    written = tf.saved_model.experimental.read_fingerprint(str(classifier_export))
    fresh = tf.saved_model.experimental.Fingerprint.from_proto(
        fingerprinting.CreateFingerprintDef(str(classifier_export)))
    assert written == fresh
    # As TF wrote it, before the rewrite, the fingerprint differs: a stale one is caught.
    shutil.copytree(classifier_export, tmp_path / "1")
    for name in ("classify", "classify_pair"):
        model.meta_graphs[0].signature_def[name].method_name = methods["serving_default"]
    (tmp_path / "1" / "saved_model.pb").write_bytes(model.SerializeToString(deterministic=True))
    before = tf.saved_model.experimental.Fingerprint.from_proto(
        fingerprinting.CreateFingerprintDef(str(tmp_path / "1")))
    assert before.signature_def_hash != written.signature_def_hash
    assert before.saved_model_checksum != written.saved_model_checksum
    assert before.checkpoint_hash == written.checkpoint_hash  # same weights
