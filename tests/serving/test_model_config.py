"""`tfbert serve --model-config-file`: several models from TF Serving's ModelServerConfig, their
version labels, config reloading, and TF Serving's validation of the file."""
import json
import pathlib
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import (get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)
from tensorflow_serving.config import model_server_config_pb2

from tests.export import builders
from tfbert.serving import ModelServer, PredictionClient, RestClient, ServingError
from tfbert.serving.model_config import ModelConfig, parse_model_config
from tfbert.serving.model_versions import VersionPolicy
from tfbert.serving.served_models import ServedModels

MODELS_CONFIG = pathlib.Path(__file__).parents[2] / "pipelines" / "serving" / "models.config"


def _config_text(*models: tuple) -> str:
    """A ModelServerConfig built with TF Serving's own proto, in its text format."""
    config = model_server_config_pb2.ModelServerConfig()
    for name, base_path, policy, labels in models:
        entry = config.model_config_list.config.add(name=name, base_path=str(base_path),
                                                    model_platform="tensorflow")
        if policy == "all":
            entry.model_version_policy.all.SetInParent()
        entry.version_labels.update(labels)
    return text_format.MessageToString(config)


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    staged = path.with_name(f".{path.name}.staged")
    staged.write_text(text)
    staged.replace(path)  # the poller never reads half a file
    return path


@pytest.fixture(scope="module")
def root(classifier_export, tmp_path_factory):
    """alpha/1, and beta/1 and beta/2 (copies of the classifier export)."""
    root = tmp_path_factory.mktemp("models")
    for model, version in (("alpha", 1), ("beta", 1), ("beta", 2)):
        shutil.copytree(classifier_export, root / model / str(version))
    return root


@pytest.fixture(scope="module")
def two(root):
    """alpha (latest) and beta (all versions, labelled stable 1 and canary 2) from one file."""
    path = _write(root / "two.config", _config_text(
        ("alpha", root / "alpha", "latest", {}),
        ("beta", root / "beta", "all", {"stable": 1, "canary": 2})))
    server = ModelServer(model_config_file=path, port=0, host="127.0.0.1", rest_api_port=0,
                         poll_seconds=0, log=lambda line: None, warmup=False)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    server.stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    yield server
    channel.close()
    server.stop()


def _predict(server, name, label=None, version=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    if label is not None:
        request.model_spec.version_label = label
    if version is not None:
        request.model_spec.version.value = version
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(np.array([b"the fox"], object)))
    return server.stub.Predict(request, timeout=60)


def _grpc_error(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value.code(), error.value.details()


def _rest(server, path, body=None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{server.rest_port}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_two_models_answer_under_their_names_over_grpc_and_rest(two, classifier_dir):
    expected = builders.keras_classify(classifier_dir, ["the fox"])["probabilities"]
    for name, version in (("alpha", 1), ("beta", 2)):
        response = _predict(two, name)
        assert (response.model_spec.name, response.model_spec.version.value) == (name, version)
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]), expected,
                                   atol=1e-5)
        status, body = _rest(two, f"/v1/models/{name}:predict", {"instances": ["the fox"]})
        assert status == 200
        np.testing.assert_allclose(body["predictions"][0]["probabilities"], expected[0],
                                   atol=1e-5)
        status, body = _rest(two, f"/v1/models/{name}/metadata")
        assert body["model_spec"]["name"] == name and body["model_spec"]["version"] == \
            str(version)
    code, details = _grpc_error(lambda: _predict(two, "gamma"))
    assert code == grpc.StatusCode.NOT_FOUND and "'gamma' not found" in details
    assert _rest(two, "/v1/models/gamma:predict", {"instances": ["a"]})[0] == 404
    channel = grpc.insecure_channel(f"127.0.0.1:{two.port}")
    try:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "beta"
        assert [v.version for v in stub.GetModelStatus(request, timeout=60)
                .model_version_status] == [2, 1]
        request.model_spec.name = "gamma"
        assert _grpc_error(lambda: stub.GetModelStatus(request, timeout=60))[0] == \
            grpc.StatusCode.NOT_FOUND
    finally:
        channel.close()


def test_version_labels_from_the_config_over_grpc_and_rest(two):
    for label, version in (("stable", 1), ("canary", 2)):
        assert _predict(two, "beta", label=label).model_spec.version.value == version
        status, body = _rest(two, f"/v1/models/beta/labels/{label}/metadata")
        assert status == 200 and body["model_spec"]["version"] == str(version)
        status, body = _rest(two, f"/v1/models/beta/labels/{label}:predict",
                             {"instances": ["the fox"]})
        assert status == 200 and len(body["predictions"]) == 1
    code, details = _grpc_error(lambda: _predict(two, "beta", label="nope"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("Unrecognized servable version label: nope")
    status, body = _rest(two, "/v1/models/beta/labels/nope:predict", {"instances": ["a"]})
    assert status == 400 and body["error"].startswith("Unrecognized servable version label: nope")
    assert _grpc_error(lambda: _predict(two, "alpha", label="stable"))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT  # labels belong to one model


def test_a_label_for_an_unloaded_version_is_refused_unless_allowed(root):
    path = _write(root / "unloaded.config", _config_text(
        ("beta", root / "beta", "latest", {"stable": 1, "canary": 2})))  # only 2 is loaded
    with pytest.raises(ValueError, match="label 'stable' to version 1 of model beta, which is "
                                         "not currently available"):
        ModelServer(model_config_file=path, port=0, host="127.0.0.1", poll_seconds=0,
                    log=lambda line: None, warmup=False)
    server = ModelServer(model_config_file=path, port=0, host="127.0.0.1", poll_seconds=0,
                         log=lambda line: None, warmup=False,
                         allow_version_labels_for_unavailable_models=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    server.stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    try:
        assert _predict(server, "beta", label="canary").model_spec.version.value == 2
        code, details = _grpc_error(lambda: _predict(server, "beta", label="stable"))
        assert code == grpc.StatusCode.NOT_FOUND and "version 1 is not loaded" in details
    finally:
        channel.close()
        server.stop()


def test_an_existing_label_cannot_move_to_an_unavailable_version(root):
    beta = str(root / "beta")
    models = ServedModels([ModelConfig("beta", beta, VersionPolicy("latest"), {"canary": 2})],
                          poll_seconds=0, log=lambda line: None, warmup=False,
                          allow_unavailable_labels=True)
    try:
        with pytest.raises(ValueError, match="label 'canary' to version 1 of model beta"):
            models.apply([ModelConfig("beta", beta, VersionPolicy("latest"), {"canary": 1})])
        assert models.get("beta").labels == {"canary": 2}
        models.apply([ModelConfig("beta", beta, VersionPolicy("latest"),
                                  {"canary": 2, "next": 3})])  # a new label may wait for 3
        assert models.get("beta").labels == {"canary": 2, "next": 3}
        models.apply([ModelConfig("beta", beta, VersionPolicy("all"), {"canary": 1})])
        assert models.get("beta").labels == {"canary": 1}  # 1 is loaded by the new policy
        assert models.get("beta").versions.versions == [1, 2]
    finally:
        models.close()


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not apply the model config")
        time.sleep(0.05)


def test_the_config_file_is_polled_added_and_removed_models_and_a_broken_file(root):
    path = _write(root / "polled.config", _config_text(("alpha", root / "alpha", "latest", {})))
    lines = []
    server = ModelServer(model_config_file=path, model_config_file_poll_seconds=0.1, port=0,
                         host="127.0.0.1", poll_seconds=0, log=lines.append, warmup=False)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    server.stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    try:
        assert _grpc_error(lambda: _predict(server, "beta"))[0] == grpc.StatusCode.NOT_FOUND
        _write(path, _config_text(("alpha", root / "alpha", "latest", {}),
                                  ("beta", root / "beta", "latest", {"canary": 2})))
        _wait_for(lambda: server.models.names == ["alpha", "beta"])
        assert _predict(server, "beta", label="canary").model_spec.version.value == 2

        _write(path, "model_config_list { config { name: 'alpha' base_path: ")  # broken
        _wait_for(lambda: any("not applied" in line for line in lines))
        assert "polled.config" in next(line for line in lines if "not applied" in line)
        assert [_predict(server, name).model_spec.name for name in ("alpha", "beta")] == \
            ["alpha", "beta"]  # the old config serves on

        _write(path, _config_text(("beta", root / "beta", "all", {"stable": 1})))
        _wait_for(lambda: server.models.names == ["beta"])
        code, details = _grpc_error(lambda: _predict(server, "alpha"))
        assert code == grpc.StatusCode.NOT_FOUND and "'alpha' not found" in details
        assert _predict(server, "beta", label="stable").model_spec.version.value == 1
        assert _grpc_error(lambda: _predict(server, "beta", label="canary"))[0] == \
            grpc.StatusCode.INVALID_ARGUMENT  # the changed labels apply
    finally:
        channel.close()
        server.stop()


@pytest.mark.parametrize("config, message", [
    ('model_config_list { config { name: "a" base_path: "models/a" } }',
     "Expected model a to have an absolute path or URI; got base_path()=models/a"),
    ('model_config_list { config { name: "a" base_path: "/m/a" } '
     'config { name: "a" base_path: "/m/b" } }',
     "Illegal to list model a multiple times in config list"),
    ('model_config_list { config { name: "a" base_path: "/m/a" model_platform: "pytorch" } }',
     "model_platform must be 'tensorflow'"),
    ('model_config_list { config { name: "a" base_path: "/m/a" nonsense: 1 } }',
     r"bad.config: not a text-format ModelServerConfig: 1:\d+ : .*nonsense"),
])
def test_tf_servings_config_checks(tmp_path, config, message):
    path = _write(tmp_path / "bad.config", config)
    with pytest.raises(ValueError, match=message if "\\d" in message else
                       message.replace("(", r"\(").replace(")", r"\)")):
        ModelServer(model_config_file=path, port=0, host="127.0.0.1", poll_seconds=0)


def test_the_cli_takes_a_config_file_or_the_single_model_flags(tmp_path, capsys):
    from tfbert.cli import main

    config = _write(tmp_path / "m.config", 'model_config_list { config { name: "a" '
                                           f'base_path: "{tmp_path}" }} }}')
    for argv, message in (
            (["--model-config-file", str(config), "--model-name", "a"],
             "do not give --model-name with it"),
            (["--model-name", "a"], "give --model-base-path and --model-name (one model), or "
                                    "--model-config-file"),
            (["--model-base-path", str(tmp_path), "--model-name", "a",
              "--model-config-file-poll-wait-seconds", "1"], "needs --model-config-file")):
        assert main(["serve", "--port", "0", *argv]) == 2
        assert message in capsys.readouterr().err


def test_the_pipelines_models_config_serves_the_demo_export(classifier_export, classifier_dir,
                                                            tmp_path):
    text = MODELS_CONFIG.read_text()
    assert [m.base_path for m in parse_model_config(text)] == ["/models/demo_classifier"]
    mounted = tmp_path / "models"  # what run_tf_serving.sh mounts at /models
    shutil.copytree(classifier_export, mounted / "demo_classifier" / "1")
    path = _write(tmp_path / "models.config",
                  text.replace('base_path: "/models/', f'base_path: "{mounted}/'))
    server = ModelServer(model_config_file=path, port=0, host="127.0.0.1", poll_seconds=0,
                         log=lambda line: None)
    try:
        with PredictionClient(f"127.0.0.1:{server.port}", "demo_classifier",
                              timeout=60) as client:
            results = client.classify(["a sorted list", "the fox"])
    finally:
        server.stop()
    expected = builders.keras_classify(classifier_dir, ["a sorted list", "the fox"])
    assert [list(result) for result in results] == [builders.LABELS] * 2
    np.testing.assert_allclose([list(r.values()) for r in results], expected["probabilities"],
                               atol=1e-5)


def test_rest_client_fetches_the_metadata_once_and_again_after_an_error(two, monkeypatch):
    paths = []
    real_urlopen = urllib.request.urlopen

    def counting_urlopen(request, *args, **kwargs):
        paths.append(urllib.parse.urlsplit(request.full_url).path)
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counting_urlopen)
    url = f"http://127.0.0.1:{two.rest_port}"
    with RestClient(url, "beta", timeout=60, version_label="stable") as client:
        first = client.predict(["the fox"])
        second = client.predict(["the fox"])
        with pytest.raises(ServingError, match="signature 'nope' not found"):
            client.predict(["the fox"], signature="nope")
        client.predict(["the fox"])
    stable = "/v1/models/beta/labels/stable"
    assert paths == [f"{stable}/metadata", f"{stable}:predict", f"{stable}:predict",
                     f"{stable}/metadata", f"{stable}:predict"]
    np.testing.assert_array_equal(first["probabilities"], second["probabilities"])
    with PredictionClient(f"127.0.0.1:{two.port}", "beta", timeout=60,
                          version_label="stable") as grpc_client:
        np.testing.assert_array_equal(grpc_client.predict(["the fox"])["probabilities"],
                                      first["probabilities"])
    with RestClient(url, "beta", timeout=60, version_label="nope") as client:
        with pytest.raises(ServingError, match="Unrecognized servable version label: nope") as \
                error:
            client.predict(["a"])
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ValueError, match="give `version` or `version_label`, not both"):
        RestClient(url, "beta", version=1, version_label="stable")


def test_grpc_client_fetches_the_metadata_again_once_another_version_answers(two):
    with PredictionClient(f"127.0.0.1:{two.port}", "beta", timeout=60) as client:
        real = client._stub.GetModelMetadata
        calls = []
        client._stub.GetModelMetadata = lambda *a, **k: calls.append(1) or real(*a, **k)
        for _ in range(2):
            client.predict(["is it sorted?"], text_pair=["a sorted list"])
        assert len(calls) == 1  # version 2 answered both: the signatures kept hold
        client.version = 1
        client.predict(["is it sorted?"], text_pair=["a sorted list"])  # answered by 1
        client.predict(["is it sorted?"], text_pair=["a sorted list"])
        assert len(calls) == 2
    with PredictionClient(f"127.0.0.1:{two.port}", "beta", version_label="nope",
                          timeout=60) as client:
        with pytest.raises(ServingError, match="Unrecognized servable version label: nope"):
            client.predict(["a"])
