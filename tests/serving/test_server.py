import shutil
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from tests.export import builders
from tfbert.serving import ModelServer, PredictionClient, ServingError

MODEL = "classifier"


@pytest.fixture(scope="module")
def base_path(classifier_export, tmp_path_factory):
    """A fresh base path holding version 1 (tests add and remove versions)."""
    base = tmp_path_factory.mktemp("base") / MODEL
    shutil.copytree(classifier_export, base / "1")
    return base


@pytest.fixture(scope="module")
def server(base_path):
    server = ModelServer(base_path, MODEL, port=0, host="127.0.0.1", poll_seconds=0.2,
                         log=lambda line: None)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    with PredictionClient(f"127.0.0.1:{server.port}", MODEL, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def stub(server):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def _predict(stub, inputs, signature="", name=MODEL, version=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(value if not isinstance(value, np.ndarray)
                                     else tf.make_tensor_proto(value))
    return stub.Predict(request, timeout=60)


def _status(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value.code(), error.value.details()


def test_predict_with_raw_protos_equals_the_keras_model(stub, classifier_dir):
    texts = np.array([t.encode() for t in builders.TEXTS], object)
    response = _predict(stub, {"text": texts})
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    expected = builders.keras_classify(classifier_dir, builders.TEXTS)
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]),
                               expected["probabilities"], atol=1e-5)
    labels = [label.decode() for label in tf.make_ndarray(response.outputs["label"])]
    assert labels == list(expected["label"])


def test_text_pair_and_preprocess(client, classifier_dir):
    a, b = ["is it sorted?", "a"], ["it returns a sorted list", ""]
    outputs = client.predict(a, text_pair=b)
    expected = builders.keras_classify(classifier_dir, a, b)
    np.testing.assert_allclose(outputs["logits"], expected["logits"], atol=1e-5)
    features = client.predict(["a list"], signature="preprocess")
    expected = builders.keras_features(classifier_dir, ["a list"])
    assert {k: v.tolist() for k, v in features.items()} == {k: v.tolist()
                                                           for k, v in expected.items()}


def test_metadata_lists_the_signatures(client, stub):
    metadata = client.metadata()
    assert sorted(metadata) == ["classify", "classify_pair", "preprocess", "serving_default",
                              "text_pair"]
    assert metadata["serving_default"]["inputs"] == {"text": {"dtype": "string", "shape": [None]}}
    assert sorted(metadata["serving_default"]["outputs"]) == ["label", "logits", "probabilities"]
    assert metadata["text_pair"]["inputs"].keys() == {"text_a", "text_b"}
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MODEL
    response = stub.GetModelMetadata(request, timeout=60)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_map)
    assert signature_map.signature_def["serving_default"].outputs["label"].dtype == tf.string
    request.metadata_field[:] = ["everything"]
    code, message = _status(lambda: stub.GetModelMetadata(request, timeout=60))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "signature_def" in message


def test_classify_returns_every_label_with_its_probability(client, classifier_dir):
    results = client.classify(["a sorted list", "the fox"])
    expected = builders.keras_classify(classifier_dir, ["a sorted list", "the fox"])
    assert [list(result) for result in results] == [builders.LABELS] * 2
    np.testing.assert_allclose([list(r.values()) for r in results], expected["probabilities"],
                               atol=1e-5)
    pairs = client.classify(["is it sorted?", "the fox"], ["a sorted list", "jumps"])
    expected = builders.keras_classify(classifier_dir, ["is it sorted?", "the fox"],
                                       ["a sorted list", "jumps"])
    np.testing.assert_allclose([list(r.values()) for r in pairs], expected["probabilities"],
                               atol=1e-5)


def test_classify_merges_the_context_into_each_example(stub, classifier_dir):
    request = _classify_request("classify_pair")
    context = request.input.example_list_with_context.context.features.feature
    context["text_b"].bytes_list.value.append(b"a sorted list")
    context["text_a"].bytes_list.value.append(b"overridden by every example")
    for text in (b"is it sorted?", b"the fox"):
        example = request.input.example_list_with_context.examples.add()
        example.features.feature["text_a"].bytes_list.value.append(text)
    response = stub.Classify(request, timeout=60)
    expected = builders.keras_classify(classifier_dir, ["is it sorted?", "the fox"],
                                       ["a sorted list"] * 2)
    scores = [[c.score for c in r.classes] for r in response.result.classifications]
    np.testing.assert_allclose(scores, expected["probabilities"], atol=1e-5)
    assert response.model_spec.signature_name == "classify_pair"


def test_awkward_texts_get_correct_results(client, classifier_dir):
    texts = ["", "   \t\n ", "\u200b", "word " * 200_000]  # the last is a 1 MB text
    outputs = client.predict(texts)
    expected = builders.keras_classify(classifier_dir, texts)
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-5)
    invalid_utf8 = client.predict([b"\xff\xfe ok \xc3"])  # decodes the way the tokenizer does
    assert invalid_utf8["probabilities"].shape == (1, 3)
    empty = client.predict([])  # an empty batch is a batch too
    assert empty["probabilities"].shape == (0, 3) and empty["label"].shape == (0,)
    many = client.predict([f"text number {i}" for i in range(1000)])
    assert many["probabilities"].shape == (1000, 3) and many["label"].shape == (1000,)
    np.testing.assert_allclose(many["probabilities"].sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("inputs, signature, model, version, code, message", [
    ({"text": np.array([1, 2], np.int32)}, "", MODEL, None, "INVALID_ARGUMENT",
     "input 'text' of signature 'serving_default' must be string; got int32"),
    ({"sentence": np.array([b"a"], object)}, "", MODEL, None, "INVALID_ARGUMENT",
     "takes the inputs ['text']; got ['sentence']"),
    ({"text": np.array([[b"a"]], object)}, "", MODEL, None, "INVALID_ARGUMENT",
     "must have shape [None]; got [1, 1]"),
    ({"text_a": np.array([b"a"], object), "text_b": np.array([b"a", b"b"], object)},
     "text_pair", MODEL, None, "INVALID_ARGUMENT", "same batch size"),
    ({"text": np.array([b"a"], object)}, "translate", MODEL, None, "FAILED_PRECONDITION",
     "signature 'translate' not found"),  # as TF Serving's predict_util.cc
    ({"text": np.array([b"a"], object)}, "", "", None, "INVALID_ARGUMENT",
     "model_spec.name is empty"),
    ({"text": np.array([b"a"], object)}, "", "other", None, "NOT_FOUND",
     "model 'other' not found; this server serves ['classifier']"),
    ({"text": np.array([b"a"], object)}, "", MODEL, 9, "NOT_FOUND",
     "version 9 is not loaded; loaded versions are [1"),
])
def test_bad_requests_get_clear_statuses(stub, client, inputs, signature, model, version, code,
                                         message):
    status, details = _status(lambda: _predict(stub, inputs, signature, model, version))
    assert status == getattr(grpc.StatusCode, code)
    assert message in details
    assert client.predict(["still serving"])["label"].shape == (1,)


def test_malformed_tensor_proto_is_invalid_argument(stub):
    proto = tf.make_tensor_proto(np.array([b"a", b"b"], object))
    proto.tensor_shape.dim[0].size = 1  # claims 1 string, holds 2
    status, details = _status(lambda: _predict(stub, {"text": proto}))
    assert status == grpc.StatusCode.INVALID_ARGUMENT and "'text'" in details


def _classify_request(signature: str) -> classification_pb2.ClassificationRequest:
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = MODEL
    request.model_spec.signature_name = signature
    return request


# As TF Serving's classifier.cc (with its default --enable_signature_method_name_check=false):
# any signature with one input `inputs` and `classes` and/or `scores` outputs; an unknown one is
# INVALID_ARGUMENT.
@pytest.mark.parametrize("signature, feature, code, message", [
    ("classify", "sentence", "INVALID_ARGUMENT", "text"),  # TF's own parse error names it
    ("", "text", "INVALID_ARGUMENT", "Classify cannot run signature 'serving_default': one "
                                     "input 'inputs' is needed; it takes ['text']"),
    ("text_pair", "text", "INVALID_ARGUMENT", "one input 'inputs' is needed; it takes "
                                              "['text_a', 'text_b']; this model's Classify "
                                              "signatures are ['classify', 'classify_pair']"),
    ("label", "text", "INVALID_ARGUMENT", "signature 'label' not found"),
])
def test_classify_refuses_what_tf_serving_refuses(stub, client, signature, feature, code,
                                                  message):
    request = _classify_request(signature)
    request.input.example_list.examples.add().features.feature[feature].bytes_list.value.append(
        b"a")
    status, details = _status(lambda: stub.Classify(request, timeout=60))
    assert status == getattr(grpc.StatusCode, code) and message in details
    empty = _classify_request("classify")
    status, details = _status(lambda: stub.Classify(empty, timeout=60))
    assert status == grpc.StatusCode.INVALID_ARGUMENT and "input is empty" in details
    assert len(client.classify(["still serving"])) == 1


@pytest.mark.parametrize("signature, code, message", [
    ("", "INVALID_ARGUMENT", "Regress cannot run signature 'serving_default': one input "
                             "'inputs' is needed; it takes ['text']; this model has none for "
                             "Regress; use Predict"),
    ("classify", "INVALID_ARGUMENT", "one output 'outputs' is needed; it gives ['classes', "
                                     "'scores']"),
    ("nope", "INVALID_ARGUMENT", "signature 'nope' not found"),  # as TF Serving's regressor.cc
])
def test_regress_refuses_what_tf_serving_refuses(stub, client, signature, code, message):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = MODEL
    request.model_spec.signature_name = signature
    request.input.example_list.examples.add().features.feature["text"].bytes_list.value.append(
        b"a")
    status, details = _status(lambda: stub.Regress(request, timeout=60))
    assert status == getattr(grpc.StatusCode, code) and message in details
    assert len(client.classify(["still serving"])) == 1


def test_get_model_status(server):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    status_stub = model_service_pb2_grpc.ModelServiceStub(channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = MODEL
    response = status_stub.GetModelStatus(request, timeout=60)
    assert [(s.version, s.state, s.status.error_code) for s in response.model_version_status] \
        == [(1, get_model_status_pb2.ModelVersionStatus.AVAILABLE, 0)]
    request.model_spec.version.value = 4
    code, details = _status(lambda: status_stub.GetModelStatus(request, timeout=60))
    assert code == grpc.StatusCode.NOT_FOUND and "version 4 of model 'classifier'" in details
    request.model_spec.name = "other"
    request.model_spec.ClearField("version")
    code, details = _status(lambda: status_stub.GetModelStatus(request, timeout=60))
    assert code == grpc.StatusCode.NOT_FOUND and "no version of model 'other'" in details
    code, _ = _status(lambda: status_stub.GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(), timeout=60))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()


def test_version_labels(stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.model_spec.version_label = "stable"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(np.array([b"a"], object)))
    code, details = _status(lambda: stub.Predict(request, timeout=60))
    assert code == grpc.StatusCode.INVALID_ARGUMENT  # unknown label, as TF Serving's server core
    assert "Unrecognized servable version label: stable" in details


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not pick up the change")
        time.sleep(0.1)


def test_new_versions_are_served_without_restart(server, client, base_path, classifier_dir):
    embed = base_path.parent / "embed_export" / "1"
    from tfbert.export import export_model
    export_model(classifier_dir, "embed", embed, seq_length=16)
    (base_path / ".2.staging").mkdir()  # hidden directories are never versions
    shutil.copytree(embed, base_path / "2")
    try:
        # As TF Serving by default: the new version replaces the old one.
        _wait_for(lambda: server.versions.versions == [2])
        assert list(client.predict(["a"])) == ["embedding"]
        with PredictionClient(client.server, MODEL, timeout=60, version=1) as pinned:
            with pytest.raises(ServingError, match="version 1 is not loaded") as error:
                pinned.predict(["a"])
            assert error.value.code == grpc.StatusCode.NOT_FOUND
    finally:
        shutil.rmtree(base_path / "2")
    _wait_for(lambda: server.versions.versions == [1])  # the latest again
    assert "label" in client.predict(["a"])


def test_a_model_without_versions_is_not_found(tmp_path):
    server = ModelServer(tmp_path, "empty", port=0, host="127.0.0.1", poll_seconds=0,
                         log=lambda line: None)
    try:
        with pytest.raises(ServingError, match="no version of the model is loaded") as error:
            PredictionClient(f"127.0.0.1:{server.port}", "empty", timeout=30).predict(["a"])
        assert error.value.code == grpc.StatusCode.NOT_FOUND
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "empty"
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        code, details = _status(lambda: model_service_pb2_grpc.ModelServiceStub(
            channel).GetModelStatus(request, timeout=30))
        assert code == grpc.StatusCode.NOT_FOUND and "no version of model 'empty'" in details
        channel.close()
    finally:
        server.stop()


def test_model_warmup_can_be_turned_off_as_in_tf_serving(classifier_export, tmp_path):
    from tfbert.cli import build_parser

    parse = build_parser().parse_args
    base = ["serve", "--model-base-path", str(tmp_path), "--model-name", MODEL]
    assert parse(base).enable_model_warmup is True  # TF Serving's default
    assert parse(base + ["--no-enable-model-warmup"]).enable_model_warmup is False
    shutil.copytree(classifier_export, tmp_path / "1")
    for warmup, said in ((False, "warm-up off"), (True, "warm-up requests replayed: 5")):
        lines = []
        server = ModelServer(tmp_path, MODEL, port=0, host="127.0.0.1", poll_seconds=0,
                             log=lines.append, warmup=warmup)
        server.stop()
        assert len(lines) == 1 and said in lines[0]
        assert lines[0].startswith(f"model {MODEL!r}: loaded version 1")


def test_get_model_status_lists_failed_and_unloaded_versions_over_grpc_and_rest(
        classifier_export, tmp_path):
    import json
    import urllib.request

    from tfbert.serving import VersionPolicy

    shutil.copytree(classifier_export, tmp_path / "1")
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "saved_model.pb").write_bytes(b"broken export")
    server = ModelServer(tmp_path, MODEL, port=0, host="127.0.0.1", poll_seconds=0,
                         log=lambda line: None, version_policy=VersionPolicy("all"),
                         rest_api_port=0, warmup=False)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = MODEL
        response = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
            request, timeout=60)
        url = f"http://127.0.0.1:{server.rest_port}/v1/models/{MODEL}"
        with urllib.request.urlopen(url, timeout=60) as answer:
            rest = json.load(answer)
    finally:
        channel.close()
        server.stop()
    states = get_model_status_pb2.ModelVersionStatus
    grpc_rows = [(s.version, s.state, s.status.error_code != 0) for s in
                 response.model_version_status]
    assert grpc_rows == [(2, states.END, True), (1, states.AVAILABLE, False)]  # newest first
    assert "broken" in response.model_version_status[0].status.error_message or \
        str(tmp_path / "2") in response.model_version_status[0].status.error_message
    # TF Serving's JSON: the proto's JSON mapping, enum names as strings, every field printed.
    assert [(row["version"], row["state"], row["status"]["error_code"])
            for row in rest["model_version_status"]] == [
        ("2", "END", get_model_status_pb2.ModelVersionStatus.DESCRIPTOR.fields_by_name[
            "status"].message_type.fields_by_name["error_code"].enum_type.values_by_number[
            response.model_version_status[0].status.error_code].name),
        ("1", "AVAILABLE", "OK")]
