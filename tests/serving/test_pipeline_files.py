"""The TF Serving files shipped in pipelines/serving parse as TF Serving's own protos, serve what
`make demo` exports, and let the client's requests and the exports' warm-up requests through."""
import ast
import pathlib
import re

import pytest
from google.protobuf import (descriptor_pb2, descriptor_pool, message_factory, text_format,
                             wrappers_pb2)
from tensorflow_serving.config import model_server_config_pb2

from tfbert.export import warmup
from tfbert.serving import client

REPO = pathlib.Path(__file__).resolve().parents[2]
SERVING_DIR = REPO / "pipelines" / "serving"
# tensorflow-serving-api ships the apis and config protos, not
# tensorflow_serving/servables/tensorflow/session_bundle_config.proto, so the test describes its
# BatchingParameters message from TF Serving 2.20's field list: (name, number, type).
BATCHING_FIELDS = [("max_batch_size", 1, "Int64Value"), ("batch_timeout_micros", 2, "Int64Value"),
                   ("max_enqueued_batches", 3, "Int64Value"),
                   ("num_batch_threads", 4, "Int64Value"),
                   ("thread_pool_name", 5, "StringValue"), ("allowed_batch_sizes", 6, "int64"),
                   ("pad_variable_length_inputs", 7, "bool"),
                   ("enable_large_batch_splitting", 8, "BoolValue"),
                   ("max_execution_batch_size", 9, "Int64Value")]


def batching_parameters_class():
    """`tensorflow.serving.BatchingParameters`, built from BATCHING_FIELDS."""
    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="tfbert_test/batching_parameters.proto", package="tensorflow.serving",
        syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    message = proto.message_type.add(name="BatchingParameters")
    for name, number, kind in BATCHING_FIELDS:
        entry = message.field.add(name=name, number=number)
        if kind == "int64":
            entry.type, entry.label = field.TYPE_INT64, field.LABEL_REPEATED
        elif kind == "bool":
            entry.type, entry.label = field.TYPE_BOOL, field.LABEL_OPTIONAL
        else:
            entry.type, entry.label = field.TYPE_MESSAGE, field.LABEL_OPTIONAL
            entry.type_name = f".google.protobuf.{kind}"
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(wrappers)
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


@pytest.fixture(scope="module")
def batching():
    text = (SERVING_DIR / "batching_parameters.txt").read_text()
    return text_format.Parse(text, batching_parameters_class()())


def test_batching_parameters_parse_strictly():
    parameters = batching_parameters_class()
    with pytest.raises(text_format.ParseError, match="max_batch_size"):
        text_format.Parse("max_batch_size: 32", parameters())  # a wrapper, not a number
    with pytest.raises(text_format.ParseError, match="max_batch_sise"):
        text_format.Parse("max_batch_sise { value: 32 }", parameters())


def test_batching_takes_the_clients_requests_and_the_warmup_requests(batching):
    assert batching.HasField("max_batch_size")
    # PredictionClient's requests must fit: TF Serving refuses larger ones (INVALID_ARGUMENT).
    assert client.DEFAULT_MAX_BATCH_SIZE <= batching.max_batch_size.value
    # ... and so must every warm-up request, or TF Serving fails the load.
    assert max(map(len, (warmup.WARMUP_TEXTS, warmup.WARMUP_MASKED_TEXTS,
                         warmup.PREPROCESS_TEXTS))) <= batching.max_batch_size.value
    assert batching.num_batch_threads.value >= 1 and batching.max_enqueued_batches.value >= 1
    assert batching.batch_timeout_micros.value > 0
    # TF Serving refuses allowed_batch_sizes whose last entry is not max_batch_size.
    assert not batching.allowed_batch_sizes or \
        batching.allowed_batch_sizes[-1] == batching.max_batch_size.value
    # Splitting joins the pieces' outputs as if they had one shape after the batch dimension;
    # the outputs padded per batch ([B, T] features, [B, E] entities) do not.
    assert not batching.enable_large_batch_splitting.value
    assert not batching.HasField("max_execution_batch_size")


def _demo_model_directories() -> set[pathlib.PurePosixPath]:
    """The model directories (parents of integer version directories) that pipelines/demo.py
    writes under REPO, read from its `REPO / ... / NAME / "1"` expressions without running it."""
    tree = ast.parse((REPO / "pipelines" / "demo.py").read_text())
    constants = {target.id: node.value.value for node in tree.body
                 if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                 for target in node.targets if isinstance(target, ast.Name)}

    def parts(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = parts(node.left), parts(node.right)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.Name):
            return ["REPO"] if node.id == "REPO" else (
                [constants[node.id]] if isinstance(constants.get(node.id), str) else None)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        return None

    paths = [parts(node) for node in ast.walk(tree) if isinstance(node, ast.BinOp)]
    return {pathlib.PurePosixPath(*path[1:-1]) for path in paths
            if path and path[0] == "REPO" and len(path) > 2 and path[-1].isdigit()}


def _docker_mounts(script: str) -> dict[str, pathlib.PurePosixPath]:
    """Container path -> repository path of the `-v "$ROOT/...:/...[:ro]"` mounts."""
    mounts = re.findall(r'-v "\$ROOT/([^:"]+):([^:"]+)(?::ro)?"', script)
    return {container: pathlib.PurePosixPath(host) for host, container in mounts}


def test_models_config_serves_what_the_demo_exports():
    config = text_format.Parse((SERVING_DIR / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    models = config.model_config_list.config
    mounts = _docker_mounts((SERVING_DIR / "run_tf_serving.sh").read_text())
    demo_directories = _demo_model_directories()
    assert demo_directories == {pathlib.PurePosixPath("saved_models/demo_classifier")}
    assert models and all(m.model_platform == "tensorflow" for m in models)
    for model in models:
        base = pathlib.PurePosixPath(model.base_path)
        mounted = [(pathlib.PurePosixPath(container), host) for container, host in mounts.items()
                   if base.is_relative_to(container)]
        assert len(mounted) == 1, f"{base} is not under one docker mount of {mounts}"
        container, host = mounted[0]
        assert host / base.relative_to(container) in demo_directories
        assert model.name == base.name  # the name `tfbert predict --model-name` uses
    assert [m.name for m in models] == ["demo_classifier"]


def test_docker_script_uses_both_files_and_a_pinned_image():
    script = (SERVING_DIR / "run_tf_serving.sh").read_text()
    mounts = _docker_mounts(script)
    assert mounts["/config"] == pathlib.PurePosixPath("pipelines/serving")
    assert "--model_config_file=/config/models.config" in script
    assert "--enable_batching=true --batching_parameters_file=/config/batching_parameters.txt" \
        in script
    assert "--enable_model_warmup=true" in script
    assert re.search(r"tensorflow/serving:2\.\d+\.\d+", script)
