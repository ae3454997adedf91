"""TF Serving's REST API on `tfbert serve`: requests shaped as in TF Serving's REST docs
(g3doc/api_rest.md), float formatting and error codes as its source and tests
(util/json_tensor.cc and json_tensor_test.cc, model_servers/http_server.cc), and the same
outputs as the gRPC API for every signature of the exports."""
import base64
import concurrent.futures
import http.client
import json
import shutil
import socket

import grpc
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from tests.export import builders
from tfbert.serving import ModelServer, PredictionClient, ServingError, VersionPolicy
from tfbert.serving.rest import RestServer
from tfbert.serving.rest_client import RestClient

TOY = "half_plus_three"
CLF = "clf"


class _Toy(tf.Module):
    """TF Serving's half_plus_three test model, plus signatures for every JSON type."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def half_plus_three(self, x):
        return {"y": 0.5 * x + 3.0}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_x(self, inputs):
        x = tf.io.parse_example(inputs, {"x": tf.io.FixedLenFeature([], tf.float32)})["x"]
        return {"outputs": 0.5 * x + 3.0}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_text(self, inputs):
        text = tf.io.parse_example(inputs, {"text": tf.io.FixedLenFeature([], tf.string)})
        return {"outputs": tf.cast(tf.strings.length(text["text"]), tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_pair(self, inputs):
        spec = {name: tf.io.FixedLenFeature([], tf.string) for name in ("text_a", "text_b")}
        texts = tf.io.parse_example(inputs, spec)
        difference = tf.strings.length(texts["text_a"]) - tf.strings.length(texts["text_b"])
        return {"outputs": tf.cast(difference, tf.float32)[:, tf.newaxis]}  # [B, 1] is allowed

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float16, name="x")])
    def half(self, x):
        return {"y": tf.cast(x, tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="x")])
    def echo(self, x):
        return {"y": tf.identity(x)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="tag"),
                                  tf.TensorSpec([None, 5], tf.int32, name="signal"),
                                  tf.TensorSpec([None, 2, 2], tf.float32, name="sensor")])
    def tensors(self, tag, signal, sensor):
        total = tf.reduce_sum(signal, axis=1)
        return {"tag": tag, "tag_bytes": tag, "tag_length": tf.strings.length(tag),
                "signal_sum": total,
                "sensor_max": tf.reduce_max(sensor, axis=[1, 2]), "big": total > 15}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy") / TOY
    module = _Toy()
    tf.saved_model.save(module, str(base / "1"), signatures={
        "serving_default": module.half_plus_three, "tensorflow/serving/regress": module.regress_x,
        "regress": module.regress_text, "regress_pair": module.regress_pair,
        "echo": module.echo, "tensors": module.tensors, "half": module.half})
    server = ModelServer(base, TOY, port=0, host="127.0.0.1", rest_api_port=0, poll_seconds=0,
                         log=lambda line: None)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clf(classifier_export, classifier_dir, tmp_path_factory):
    """The classifier as version 1 and its embed export as version 2, both served, labelled
    "stable" and "canary"."""
    from tfbert.export import export_model

    base = tmp_path_factory.mktemp("clf") / CLF
    shutil.copytree(classifier_export, base / "1")
    export_model(classifier_dir, "embed", base / "2", seq_length=16)
    server = ModelServer(base, CLF, port=0, host="127.0.0.1", rest_api_port=0, poll_seconds=0,
                         log=lambda line: None, version_policy=VersionPolicy("all"),
                         version_labels={"stable": 1, "canary": 2, "retired": 7},
                         allow_version_labels_for_unavailable_models=True)
    yield server
    server.stop()


def _http(server, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request to `server`'s REST port."""
    connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=60)
    try:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _json(server, method, path, body=None, status=200):
    code, headers, data = _http(server, method, path, body)
    assert code == status, data
    assert headers["Content-Type"] == "application/json"
    return json.loads(data.decode("utf-8", "surrogateescape"))  # strings may be raw bytes


def _tokens(data: bytes):
    """The JSON with every number as the text the server wrote."""
    return json.loads(data, parse_float=str, parse_int=str, parse_constant=str)


def _stub(server, service=prediction_service_pb2_grpc.PredictionServiceStub):
    return service(grpc.insecure_channel(f"127.0.0.1:{server.port}"))


def _spec(spec, name, signature="", version=None):
    spec.name = name
    spec.signature_name = signature
    if version is not None:
        spec.version.value = version


def _grpc_predict(server, name, inputs, signature="", version=None):
    request = predict_pb2.PredictRequest()
    _spec(request.model_spec, name, signature, version)
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    response = _stub(server).Predict(request, timeout=60)
    return {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}


def _texts(values):
    return np.array([v.encode() for v in values], object)


def _assert_same(rest: dict, grpc_outputs: dict):
    """REST's JSON values equal gRPC's arrays exactly (floats read back as float32)."""
    assert sorted(rest) == sorted(grpc_outputs)
    for name, expected in grpc_outputs.items():
        if expected.dtype == object:
            assert rest[name] == np.vectorize(bytes.decode, otypes=[object])(expected).tolist()
        else:
            np.testing.assert_array_equal(np.array(rest[name], expected.dtype), expected)


def _rows_to_columns(predictions):
    return {name: [row[name] for row in predictions] for name in predictions[0]}


def test_tf_serving_docs_example_on_half_plus_three(toy):
    status = _json(toy, "GET", f"/v1/models/{TOY}")
    assert status == {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {
        "error_code": "OK", "error_message": ""}}]}
    assert _json(toy, "POST", f"/v1/models/{TOY}:predict", {"instances": [1.0, 2.0, 5.0]}) == {
        "predictions": [3.5, 4.0, 5.5]}
    regress = {"signature_name": "tensorflow/serving/regress",
               "examples": [{"x": 1.0}, {"x": 2.0}]}
    assert _json(toy, "POST", f"/v1/models/{TOY}:regress", regress) == {"results": [3.5, 4.0]}
    # The context's features go to every example; an example's own override them.
    context = {**regress, "context": {"x": 1.0}, "examples": [{}, {"x": 3.0}]}
    assert _json(toy, "POST", f"/v1/models/{TOY}:regress", context) == {"results": [3.5, 4.5]}
    code, _, data = _http(toy, "POST", "/v1/models/half:predict", {"instances": [1.0, 5.0]})
    assert code == 404 and list(json.loads(data)) == ["error"]


def test_regress_over_grpc_and_rest_and_the_rest_client(toy):
    request = regression_pb2.RegressionRequest()
    _spec(request.model_spec, TOY, "tensorflow/serving/regress")
    for x in (1.0, 2.0):
        request.input.example_list.examples.add().features.feature["x"].float_list.value.append(x)
    response = _stub(toy).Regress(request, timeout=60)
    assert [r.value for r in response.result.regressions] == [3.5, 4.0]
    assert response.model_spec.version.value == 1
    with RestClient(f"http://127.0.0.1:{toy.rest_port}", TOY) as client:
        assert client.regress(["ab", "", "abcd"]) == [2.0, 0.0, 4.0]
        assert client.regress(["abc", "a"], ["a", "abc"]) == [2.0, -2.0]  # [B, 1] outputs
        with pytest.raises(ServingError, match="Regress cannot run signature 'echo'") as error:
            client.regress(["a"], signature="echo")
        assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_floats_are_written_as_tf_serving_writes_them(toy):
    # The values and texts of TF Serving's json_tensor_test (six digits when they read back).
    body = {"signature_name": "echo",
            "instances": [[9000000, 999999, 0.5], [0.0003, 0.00003, 555557.5]]}
    _, _, data = _http(toy, "POST", f"/v1/models/{TOY}:predict", body)
    assert _tokens(data) == {"predictions": [["9e+06", "999999.0", "0.5"],
                                             ["0.0003", "3e-05", "555557.5"]]}
    _, _, data = _http(toy, "POST", f"/v1/models/{TOY}:predict",
                       b'{"signature_name": "echo", "inputs": [[NaN, Infinity], [3, -Infinity]]}')
    assert _tokens(data) == {"outputs": [["NaN", "Infinity"], ["3.0", "-Infinity"]]}
    third = np.float32(1) / np.float32(3)  # needs nine digits to read back
    _, _, data = _http(toy, "POST", f"/v1/models/{TOY}:predict",
                       {"signature_name": "echo", "inputs": [[float(third)]]})
    assert _tokens(data) == {"outputs": [["0.333333343"]]}
    assert np.float32(json.loads(data)["outputs"][0][0]) == third


def test_row_and_columnar_formats_with_named_inputs(toy):
    # The three-input example of TF Serving's REST docs, in both formats.
    instances = [{"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
                 {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}]
    columns = {"tag": ["foo", "bar"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
               "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}
    expected = {"big": [False, False], "sensor_max": [4.0, 8.0], "signal_sum": [15, 15],
                "tag": ["foo", "bar"], "tag_bytes": [{"b64": "Zm9v"}, {"b64": "YmFy"}],
                "tag_length": [3, 3]}
    rows = _json(toy, "POST", f"/v1/models/{TOY}:predict",
                 {"signature_name": "tensors", "instances": instances})["predictions"]
    assert [sorted(row) for row in rows] == [sorted(expected)] * 2
    assert _rows_to_columns(rows) == expected
    outputs = _json(toy, "POST", f"/v1/models/{TOY}:predict",
                    {"signature_name": "tensors", "inputs": columns})["outputs"]
    assert outputs == expected
    # Any string may come as base64; it reaches the model as those bytes.
    binary = b"\xff\x00bin\xc3"
    columns["tag"] = [{"b64": base64.b64encode(binary).decode()}, "bär"]
    columns["signal"] = [[1, 2, 3, 4, 5], [9, 9, 0, 0, 0]]
    outputs = _json(toy, "POST", f"/v1/models/{TOY}:predict",
                    {"signature_name": "tensors", "inputs": columns})["outputs"]
    assert [base64.b64decode(v["b64"]) for v in outputs["tag_bytes"]] == [binary,
                                                                          "bär".encode()]
    assert outputs["tag_length"] == [6, 4] and outputs["big"] == [False, True]
    # A string output that is not UTF-8 comes back as its raw bytes (as TF Serving writes it);
    # the REST client gives the bytes gRPC gives.
    inputs = {"tag": np.array([binary, b"ok"], object),
              "signal": np.array(columns["signal"], np.int32),
              "sensor": np.array(columns["sensor"], np.float32)}
    with RestClient(f"http://127.0.0.1:{toy.rest_port}", TOY) as client:
        rest = client.predict_tensors(inputs, "tensors")
    expected = _grpc_predict(toy, TOY, inputs, "tensors")
    assert rest["tag"].tolist() == rest["tag_bytes"].tolist() == [binary, b"ok"]
    for name, value in expected.items():
        assert rest[name].dtype == value.dtype
        np.testing.assert_array_equal(rest[name], value)


def test_rest_equals_grpc_for_every_signature(clf, classifier_dir):
    texts = ["The quick brown fox.", "", "Héllo, WÖRLD! 中文 🙂", "word " * 100]
    rows = _json(clf, "POST", f"/v1/models/{CLF}/versions/1:predict",
                 {"instances": texts})["predictions"]
    expected = _grpc_predict(clf, CLF, {"text": _texts(texts)}, version=1)
    _assert_same(_rows_to_columns(rows), expected)
    np.testing.assert_allclose(expected["probabilities"],
                               builders.keras_classify(classifier_dir, texts)["probabilities"],
                               atol=1e-5)
    columns = _json(clf, "POST", f"/v1/models/{CLF}/versions/1:predict",
                    {"signature_name": "serving_default", "inputs": {"text": texts}})["outputs"]
    _assert_same(columns, expected)

    a, b = ["is it sorted?", "a"], ["it returns a sorted list", ""]
    pairs = [{"text_a": x, "text_b": y} for x, y in zip(a, b)]
    rows = _json(clf, "POST", f"/v1/models/{CLF}/labels/stable:predict",
                 {"signature_name": "text_pair", "instances": pairs})["predictions"]
    _assert_same(_rows_to_columns(rows), _grpc_predict(
        clf, CLF, {"text_a": _texts(a), "text_b": _texts(b)}, "text_pair", version=1))
    features = _json(clf, "POST", f"/v1/models/{CLF}/versions/1:predict",
                     {"signature_name": "preprocess", "inputs": texts})["outputs"]
    _assert_same(features, _grpc_predict(clf, CLF, {"text": _texts(texts)}, "preprocess", 1))

    embedding = _json(clf, "POST", f"/v1/models/{CLF}/labels/canary:predict",
                      {"instances": texts})["predictions"]  # one output: a list of values
    _assert_same({"embedding": embedding},
                 _grpc_predict(clf, CLF, {"text": _texts(texts)}, version=2))

    examples = [{"text": text} for text in texts]
    results = _json(clf, "POST", f"/v1/models/{CLF}/versions/1:classify",
                    {"signature_name": "classify", "examples": examples})["results"]
    request = classification_pb2.ClassificationRequest()
    _spec(request.model_spec, CLF, "classify", 1)
    for text in texts:
        request.input.example_list.examples.add().features.feature[
            "text"].bytes_list.value.append(text.encode())
    response = _stub(clf).Classify(request, timeout=60)
    assert [[[label, np.float32(score)] for label, score in row] for row in results] == [
        [[c.label, np.float32(c.score)] for c in row.classes]
        for row in response.result.classifications]

    body = {"signature_name": "classify_pair", "context": {"text_b": "a sorted list"},
            "examples": [{"text_a": "is it sorted?"}, {"text_a": "the fox"}]}
    results = _json(clf, "POST", f"/v1/models/{CLF}/versions/1:classify", body)["results"]
    expected = _grpc_predict(clf, CLF, {"text_a": _texts(["is it sorted?", "the fox"]),
                                        "text_b": _texts(["a sorted list"] * 2)}, "text_pair", 1)
    assert [[label for label, _ in row] for row in results] == [builders.LABELS] * 2
    np.testing.assert_array_equal(np.array([[s for _, s in row] for row in results], np.float32),
                                  expected["probabilities"])


def test_rest_client_returns_what_the_grpc_client_returns(clf):
    texts = ["a sorted list", "", "中文 🙂", "the fox"]
    # Both send 3 texts a request (so that both pad the same batches).
    with PredictionClient(f"127.0.0.1:{clf.port}", CLF, timeout=60, version=1,
                          max_batch_size=3) as grpc_client, \
            RestClient(f"http://127.0.0.1:{clf.rest_port}", CLF, timeout=60, version=1,
                       max_batch_size=3) as rest_client:
        for args, kwargs in [((texts,), {}), ((texts[:2], None, texts[2:]), {}),
                             ((texts,), {"signature": "preprocess"}), (([],), {})]:
            rest, expected = rest_client.predict(*args, **kwargs), grpc_client.predict(*args,
                                                                                     **kwargs)
            assert sorted(rest) == sorted(expected)
            for name in expected:
                assert rest[name].dtype == expected[name].dtype
                np.testing.assert_array_equal(rest[name], expected[name])
        bad_utf8 = [b"\xff\xfe ok \xc3", "fine"]
        for name, value in grpc_client.predict(bad_utf8).items():
            np.testing.assert_array_equal(rest_client.predict(bad_utf8)[name], value)
        assert rest_client.classify(texts) == grpc_client.classify(texts)
        assert rest_client.classify(texts[:2], texts[2:]) == grpc_client.classify(texts[:2],
                                                                                  texts[2:])
        assert rest_client.metadata() == grpc_client.metadata()
        assert rest_client.example_api("classify") == grpc_client.example_api("classify") \
            == "classify"
        assert rest_client.example_api("text_pair") is None
        with pytest.raises(ServingError, match="signature 'nope' not found") as error:
            rest_client.predict(["a"], signature="nope")
        assert error.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(ServingError, match=r"NOT_FOUND: .*version 5.*\(HTTP 404\)") as error:
        RestClient(f"http://127.0.0.1:{clf.rest_port}", CLF, version=5).predict(["a"])
    assert error.value.code == grpc.StatusCode.NOT_FOUND


def test_status_and_metadata_as_tf_serving_prints_them(clf):
    status = _json(clf, "GET", f"/v1/models/{CLF}")
    assert [v["version"] for v in status["model_version_status"]] == ["2", "1"]  # newest first
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = CLF
    response = _stub(clf, model_service_pb2_grpc.ModelServiceStub).GetModelStatus(request,
                                                                                  timeout=60)
    assert json_format.MessageToDict(response, always_print_fields_with_no_presence=True) == \
        status
    one = _json(clf, "GET", f"/v1/models/{CLF}/versions/1")["model_version_status"]
    assert [v["version"] for v in one] == ["1"]
    # As in TF Serving, the status of a label is the status of every version.
    assert _json(clf, "GET", f"/v1/models/{CLF}/labels/canary") == status
    error = _json(clf, "POST", f"/v1/models/{CLF}/labels/retired:predict", {"instances": ["a"]},
                  status=404)["error"]
    assert "version 7 is not loaded" in error

    metadata = _json(clf, "GET", f"/v1/models/{CLF}/versions/1/metadata")
    assert metadata["model_spec"] == {"name": CLF, "signature_name": "", "version": "1"}
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    _spec(request.model_spec, CLF, version=1)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    _stub(clf).GetModelMetadata(request, timeout=60).metadata["signature_def"].Unpack(
        signature_map)
    assert metadata["metadata"]["signature_def"] == json_format.MessageToDict(
        signature_map, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    text = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"][
        "text"]
    assert {key: text[key] for key in ("dtype", "tensor_shape")} == {
        "dtype": "DT_STRING", "tensor_shape": {"dim": [{"size": "-1", "name": ""}],
                                               "unknown_rank": False}}
    latest = _json(clf, "GET", f"/v1/models/{CLF}/metadata")
    assert latest["model_spec"]["version"] == "2"
    assert "embedding" in latest["metadata"]["signature_def"]["signature_def"][
        "serving_default"]["outputs"]


TOY_PREDICT = f"/v1/models/{TOY}:predict"
TENSORS = {"signature_name": "tensors"}
GOOD_TENSORS = {"tag": "a", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]}


@pytest.mark.parametrize("method, path, body, status, message", [
    ("POST", TOY_PREDICT, b'{"instances": [1.0,', 400, "JSON parse error: Expecting value"),
    ("POST", TOY_PREDICT, b"", 400, "the request body is empty"),
    ("POST", TOY_PREDICT, b'{"instances": ' + b"[" * 100_000, 400, "JSON parse error"),
    ("POST", TOY_PREDICT, [1.0, 2.0], 400, "must be a JSON object; got list"),
    ("POST", TOY_PREDICT, {"signature_name": 3, "instances": [1.0]}, 400,
     "'signature_name' must be a string"),
    ("POST", TOY_PREDICT, {"instance": [1.0]}, 400, "neither 'instances' (row format) nor"),
    ("POST", TOY_PREDICT, {"instances": [1.0], "inputs": [1.0]}, 400, "not both"),
    ("POST", TOY_PREDICT, {"instances": 1.0}, 400, "'instances' must be a list"),
    ("POST", TOY_PREDICT, {"instances": []}, 400, "'instances' is empty"),
    ("POST", TOY_PREDICT, {"instances": ["one"]}, 400,
     "instances[0]: string \"one\" is not a float32 value"),
    ("POST", TOY_PREDICT, {"instances": [True]}, 400, "boolean true is not a float32 value"),
    ("POST", TOY_PREDICT, {"instances": [[1.0]]}, 400, "must have shape [None]; got [1, 1]"),
    ("POST", TOY_PREDICT, {**TENSORS, "inputs": {**GOOD_TENSORS, "tag": ["a"],
                                                 "signal": [[1, 2, 3, 4, 5], [1, 2]]}},
     400, "inputs['signal']: ragged lists"),
    ("POST", TOY_PREDICT, {"signature_name": "echo", "instances": [[1.0, 2.0], [3.0]]}, 400,
     "instances[1] has shape [1], but instances[0] has [2]"),
    ("POST", TOY_PREDICT, {**TENSORS, "instances": [GOOD_TENSORS, [1.0]]}, 400,
     "instances[1] is not an object, unlike instances[0]"),
    ("POST", TOY_PREDICT, {**TENSORS, "instances": [{**GOOD_TENSORS, "extra": 1}]}, 400,
     "instances[0] has the keys ['extra', 'sensor', 'signal', 'tag']; the signature's inputs"),
    ("POST", TOY_PREDICT, {**TENSORS, "instances": ["a"]}, 400,
     "holds plain values, but the signature takes the inputs ['sensor', 'signal', 'tag']"),
    ("POST", TOY_PREDICT, {**TENSORS, "inputs": {"tag": ["a"]}}, 400,
     "'inputs' lacks ['sensor', 'signal']"),
    ("POST", TOY_PREDICT, {**TENSORS, "inputs": {**GOOD_TENSORS, "tag": {"b64": "@@@"}}}, 400,
     "inputs['tag']: \"@@@\" is not valid base64"),
    ("POST", TOY_PREDICT, {**TENSORS, "inputs": {**GOOD_TENSORS, "tag": {"b64": 1}}}, 400,
     "is neither a string nor a {\"b64\": \"...\"} object"),
    ("POST", TOY_PREDICT, {**TENSORS, "inputs": {**GOOD_TENSORS, "signal": [1, 2, 3, 4, 2**40]}},
     400, "1099511627776 is out of the range of int32"),
    ("POST", TOY_PREDICT, {"signature_name": "half", "instances": [1.0]}, 501,
     "instances[0]: a float16 input cannot be given in JSON"),
    ("POST", TOY_PREDICT, {"signature_name": "nope", "instances": [1.0]}, 400,
     "signature 'nope' not found"),  # INVALID_ARGUMENT: REST looks it up before Predict
    ("POST", "/v1/models/other:predict", {"instances": [1.0]}, 404, "model 'other' not found"),
    ("POST", f"/v1/models/{TOY}/versions/7:predict", {"instances": [1.0]}, 404,
     "version 7 is not loaded"),
    ("POST", f"/v1/models/{TOY}/labels/stable:predict", {"instances": [1.0]}, 400,
     "Unrecognized servable version label: stable"),
    ("POST", f"/v1/models/{TOY}/versions/99999999999999999999:predict", {"instances": [1.0]},
     400, "is not a 64-bit integer"),
    ("POST", f"/v1/models/{TOY}/versions/1/labels/a:predict", {}, 400, "malformed request"),
    ("POST", f"/v1/models/{TOY}:Predict", {}, 400, "malformed request: POST"),
    ("POST", f"/v1/models/{TOY}/metadata", {}, 400, "malformed request: POST"),
    ("GET", f"/v1/models/{TOY}:predict", None, 400, "malformed request: GET"),
    ("PUT", TOY_PREDICT, {}, 400, "malformed request: PUT"),
    ("GET", "/v1/models", None, 400, "the URL names no model"),
    ("GET", "/v2/models/x", None, 404, "TF Serving's REST API is under /v1/"),
    ("GET", f"/v1/models/{TOY}/versions/3", None, 404, "version 3 of model"),
    ("POST", f"/v1/models/{TOY}:regress", {"signature_name": "regress"}, 400,
     "the request has no 'examples'"),
    ("POST", f"/v1/models/{TOY}:regress", {"signature_name": "regress", "examples": []}, 400,
     "'examples' must be a non-empty list"),
    ("POST", f"/v1/models/{TOY}:regress", {"signature_name": "regress", "examples": ["a"]},
     400, "examples[0] must be an object"),
    ("POST", f"/v1/models/{TOY}:regress",
     {"signature_name": "regress", "examples": [{"text": ["a", 1]}]}, 400,
     "examples[0]['text']: the values mix bytes_list and int64_list"),
    ("POST", f"/v1/models/{TOY}:regress",
     {"signature_name": "regress", "examples": [{"text": None}]}, 400, "got null"),
    ("POST", f"/v1/models/{TOY}:regress",
     {"signature_name": "regress", "examples": [{"text": [[1]]}]}, 400, "got list"),
    ("POST", f"/v1/models/{TOY}:regress",
     {"signature_name": "regress", "examples": [{"text": 2**64 - 13}]}, 400,
     "does not fit an int64 feature"),
    ("POST", f"/v1/models/{TOY}:regress", {"signature_name": "regress",
                                           "examples": [{"other": "a"}]}, 400, "text"),
    ("POST", f"/v1/models/{TOY}:regress", {"examples": [{"x": 1.0}]}, 400,
     "Regress cannot run signature 'serving_default': one input 'inputs' is needed"),
    ("POST", f"/v1/models/{TOY}:classify", {"signature_name": "tensorflow/serving/regress",
                                            "examples": [{"x": 1.0}]}, 400,
     "Classify cannot run signature 'tensorflow/serving/regress'"),
    ("POST", f"/v1/models/{TOY}:classify", {"signature_name": "nope", "examples": [{}]}, 400,
     "signature 'nope' not found; this model has none for Classify"),
])
def test_bad_requests_get_tf_servings_codes(toy, method, path, body, status, message):
    code, headers, data = _http(toy, method, path, body)
    assert code == status and headers["Content-Type"] == "application/json"
    error = json.loads(data)
    assert list(error) == ["error"] and message in error["error"]
    assert _json(toy, "POST", TOY_PREDICT, {"instances": [1.0]}) == {"predictions": [3.5]}


def test_what_tf_serving_accepts_is_accepted(toy):
    answer = {"predictions": [3.5]}
    # Unknown top-level fields and text after the JSON object are ignored, as by TF Serving.
    assert _json(toy, "POST", TOY_PREDICT, {"instances": [1.0], "instance": 0}) == answer
    assert _json(toy, "POST", TOY_PREDICT, b'  {"instances": [1]} trailing') == answer
    # The columnar format takes an empty batch; names the signature does not have are ignored.
    assert _json(toy, "POST", TOY_PREDICT, {"inputs": {"x": [], "z": 1}}) == {"outputs": []}
    # Paths are case-insensitive, the method name is not; the model name is URL-decoded.
    assert _json(toy, "POST", f"/V1/MODELS/{TOY.replace('_', '%5F')}:predict",
                 {"instances": [1]}) == answer


def test_concurrent_requests_each_get_their_answer(toy):
    def predict(x):
        return _json(toy, "POST", TOY_PREDICT, {"instances": [x]})["predictions"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(predict, range(32)))
    assert answers == [[0.5 * x + 3] for x in range(32)]


def test_body_size_limit_chunked_bodies_and_keep_alive(toy):
    small = RestServer(toy.core, "127.0.0.1", 0, max_body_bytes=100)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", small.port, timeout=60)
        body = json.dumps({"instances": [1.0] * 50})
        connection.request("POST", TOY_PREDICT, body=body)
        response = connection.getresponse()
        assert response.status == 413
        assert f"the request body has {len(body)} bytes; this server takes at most 100" in \
            json.loads(response.read())["error"]
        connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", small.port, timeout=60)
        for _ in range(2):  # two requests on one connection
            connection.request("POST", TOY_PREDICT, body=iter([b'{"instances"', b": [1.0]}"]),
                               encode_chunked=True)
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())) == (200, {"predictions": [3.5]})
        connection.request("POST", TOY_PREDICT, body=iter([b"[" * 60, b"1" * 60]),
                           encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413 and b"this server takes at most 100" in response.read()
        connection.close()
    finally:
        small.stop()
    code, _, data = _http(toy, "POST", TOY_PREDICT, b"{}", {"Content-Length": "x"})
    assert code == 400 and b"Content-Length must be a number" in data
    assert _http(toy, "OPTIONS", TOY_PREDICT, None, {"Origin": "http://localhost:3000"})[0] == 200
    assert _http(toy, "OPTIONS", TOY_PREDICT)[0] == 400
    assert _json(toy, "POST", TOY_PREDICT, {"instances": [1.0]}) == {"predictions": [3.5]}


def test_bad_labels_and_a_busy_port_are_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="version label 'x' must name a version number"):
        ModelServer(tmp_path, "m", port=0, host="127.0.0.1", version_labels={"x": "1"})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError, match="cannot listen on 127.0.0.1:.* for the REST API"):
            ModelServer(tmp_path, "m", port=0, host="127.0.0.1",
                        rest_api_port=busy.getsockname()[1])
