import shutil
import socket
import time
from concurrent import futures

import grpc
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2, predict_pb2, prediction_service_pb2_grpc

import tfbert
from tests.export import builders
from tfbert.export import export_model
from tfbert.export.tasks import build_task
from tfbert.serving import ModelServer, PredictionClient, ServingError
from tfbert.serving.client import concatenate_outputs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_names_the_server():
    port = _free_port()
    client = PredictionClient(f"127.0.0.1:{port}", "bert", timeout=5)
    with pytest.raises(ServingError, match=f"cannot reach 127.0.0.1:{port}, model 'bert'") as error:
        client.predict(["hello"])
    assert error.value.code == grpc.StatusCode.UNAVAILABLE


class _SlowServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request, context):
        time.sleep(2)
        context.abort(grpc.StatusCode.INTERNAL, "too late")


def test_timeout_says_so():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_SlowServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        client = PredictionClient(f"127.0.0.1:{port}", "bert", timeout=0.3)
        with pytest.raises(ServingError, match="no answer from .* within 0.3 s \\(timeout\\)"):
            client.predict(["hello"])
    finally:
        server.stop(0)


@pytest.mark.parametrize("args, error, message", [
    (("localhost", "bert"), ValueError, "`server` must be 'host:port'; got 'localhost'"),
    (("localhost:8500", "bert", 0), ValueError, "`timeout` must be positive; got 0"),
])
def test_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        PredictionClient(*args)


def test_bad_texts_are_refused_before_sending():
    client = PredictionClient("127.0.0.1:1", "bert")
    with pytest.raises(TypeError, match="`texts` must be a sequence of strings; got str"):
        client.predict("one text")
    with pytest.raises(ValueError, match="same length; got 1 and 2"):
        client.predict(["a"], text_pair=["b", "c"])


# TF Serving's answer to a request larger than max_batch_size (its shared batch scheduler).
TOO_LARGE = "Task size {} is larger than maximum input batch size {}"


def _entities(texts):
    """Tag-like outputs of `texts` as one request gives them: each word an entity, padded to
    the most words of the request with "" / -1 / 0.0 as the tag export pads."""
    words = [text.split() for text in texts]
    width = max(map(len, words), default=0)

    def column(values, fill, dtype):
        return np.array([row + [fill] * (width - len(row)) for row in values],
                        dtype).reshape(len(words), width)

    starts = [[text.index(word) for word in row] for text, row in zip(texts, words)]
    return {"entity_texts": column([[w.encode() for w in row] for row in words], b"", object),
            "entity_starts": column(starts, -1, np.int32),
            "entity_scores": column([[len(w) / 10 for w in row] for row in words], 0.0,
                                    np.float32),
            "num_entities": np.array([len(row) for row in words], np.int32)}


class _BatchLimitServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Refuses requests of more than `limit` texts as TF Serving does; answers `_entities`."""

    def __init__(self, limit):
        self.limit = limit
        self.sizes = []

    def _check(self, size, context):
        self.sizes.append(size)
        if size > self.limit:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, TOO_LARGE.format(size, self.limit))

    def Predict(self, request, context):
        texts = [text.decode() for text in tf.make_ndarray(request.inputs["text"])]
        self._check(len(texts), context)
        response = predict_pb2.PredictResponse()
        for name, value in _entities(texts).items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    def Classify(self, request, context):
        examples = request.input.example_list.examples
        self._check(len(examples), context)
        response = classification_pb2.ClassificationResponse()
        for example in examples:
            text = example.features.feature["text"].bytes_list.value[0].decode()
            answer = response.result.classifications.add().classes.add()
            answer.label, answer.score = text, float(len(text))
        return response


@pytest.fixture
def limited_server():
    servicer = _BatchLimitServicer(limit=32)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(0)


def _texts(count):
    """Texts of 0 to 9 words, so that chunks differ in their widest row."""
    return [" ".join(f"w{i}x{j}" for j in range(i * 7 % 10)) for i in range(count)]


def test_many_texts_go_in_requests_the_server_accepts(limited_server):
    address, servicer = limited_server
    texts = _texts(1000)
    with PredictionClient(address, "bert", timeout=30) as client:
        outputs = client.predict(texts)
        scores = client.classify(texts)
    assert servicer.sizes == [32] * 31 + [8] + [32] * 31 + [8]
    expected = _entities(texts)  # what one request of all 1000 texts would give
    assert outputs["entity_texts"].tolist() == [[t.decode() for t in row]
                                                for row in expected["entity_texts"]]
    for name in ("entity_starts", "entity_scores", "num_entities"):
        assert outputs[name].dtype == expected[name].dtype
        np.testing.assert_array_equal(outputs[name], expected[name])
    assert scores == [{text: float(len(text))} for text in texts]


def test_a_request_over_the_servers_limit_names_its_texts(limited_server):
    address, servicer = limited_server
    with PredictionClient(address, "bert", timeout=30, max_batch_size=64) as client:
        with pytest.raises(ServingError, match=r"\(request 1 of 16: texts 0-63 of 1000\): "
                                               r"INVALID_ARGUMENT: Task size 64 is larger than "
                                               r"maximum input batch size 32") as error:
            client.predict(_texts(1000))
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with PredictionClient(address, "bert", timeout=30) as client:
        empty = client.predict([])  # an empty batch is one request too
    assert empty["entity_texts"].shape == (0, 0) and servicer.sizes == [64, 0]


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_max_batch_size_must_be_a_positive_int(size):
    with pytest.raises(ValueError, match="`max_batch_size` must be a positive int"):
        PredictionClient("localhost:8500", "bert", max_batch_size=size)


def test_concatenation_pads_each_output_as_the_exports_do():
    first = {"input_word_ids": np.array([[2, 7, 3]], np.int32),
             "input_mask": np.array([[1, 1, 1]], np.int32),
             "text_index": np.array([0], np.int32),
             "mask_positions": np.array([[1]], np.int32),
             "top_k_tokens": np.array([[[b"a", b"b"]]], object),
             "max_context": np.array([[True, True, True]])}
    second = {"input_word_ids": np.array([[2, 3, 5, 5], [2, 8, 9, 3]], np.int32),
              "input_mask": np.array([[1, 1, 0, 0], [1, 1, 1, 1]], np.int32),
              "text_index": np.array([0, 0], np.int32),  # two windows of its one text
              "mask_positions": np.array([[1, 2], [-1, -1]], np.int32),
              "top_k_tokens": np.array([[[b"c", b"d"], [b"e", b"f"]], [[b""] * 2] * 2], object),
              "max_context": np.array([[True, True, False, False], [True] * 4])}
    joined = concatenate_outputs([first, second], [0, 1])
    assert joined["input_word_ids"].tolist() == [[2, 7, 3, 5], [2, 3, 5, 5], [2, 8, 9, 3]]
    assert joined["input_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]
    assert joined["text_index"].tolist() == [0, 1, 1]
    assert joined["mask_positions"].tolist() == [[1, -1], [1, 2], [-1, -1]]
    assert joined["top_k_tokens"].tolist()[0] == [[b"a", b"b"], [b"", b""]]
    assert joined["max_context"].tolist()[0] == [True, True, True, False]
    with pytest.raises(ValueError, match="`chunks` and `starts` must be as long"):
        concatenate_outputs([first], [0, 1])


@pytest.fixture(scope="module")
def classifier_address(classifier_export, tmp_path_factory):
    """`tfbert serve` (a ModelServer in-process) of the shared classifier export."""
    base = tmp_path_factory.mktemp("client_classifier") / "classifier"
    shutil.copytree(classifier_export, base / "1")
    server = ModelServer(base, "classifier", port=0, host="127.0.0.1", poll_seconds=0,
                         log=lambda line: None)
    yield f"127.0.0.1:{server.port}"
    server.stop()


def test_a_thousand_texts_through_tfbert_serve_equal_the_keras_model(classifier_address,
                                                                     classifier_dir):
    texts = [f"Text number {i}: " + "a sorted list " * (i % 23) for i in range(1000)]
    with PredictionClient(classifier_address, "classifier", timeout=60) as client:
        outputs = client.predict(texts)
        scores = client.classify(texts)
        features = client.predict(texts, signature="preprocess")
    expected = builders.keras_classify(classifier_dir, texts)
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-5)
    assert outputs["label"].tolist() == expected["label"].tolist()
    assert [list(result) for result in scores] == [builders.LABELS] * 1000
    np.testing.assert_allclose([list(result.values()) for result in scores],
                               expected["probabilities"], atol=1e-5)
    # Padded to the longest text of all 1000, as one request would be, though each request
    # of 32 was padded to its own longest.
    reference = builders.keras_features(classifier_dir, texts)
    assert {name: value.tolist() for name, value in features.items()} == {
        name: value.tolist() for name, value in reference.items()}


TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


@pytest.fixture(scope="module")
def tagger(vocab_file, tmp_path_factory):
    """(model directory, export) of a random bert_tiny tagger whose head is scaled up, so
    that words get varied tags with clear margins, exported at seq_length 16 (windows)."""
    keras.utils.set_random_seed(0)
    model = tfbert.BertTokenClassifier(builders.tiny_config(vocab_file), num_labels=len(TAGS),
                                       labels=TAGS)
    head = model.get_layer("classifier")
    head.kernel.assign(head.kernel * 300.0)
    root = tmp_path_factory.mktemp("client_tagger")
    model_dir = builders.save_model(model, root / "tagger", vocab_file)
    export = export_model(model_dir, "tag", root / "saved_models" / "tagger" / "1",
                          seq_length=16)
    return model_dir, export


def test_entities_and_windows_of_many_texts_equal_the_in_process_predictor(tagger):
    model_dir, export = tagger
    server = ModelServer(export.parent, "tagger", port=0, host="127.0.0.1", poll_seconds=0,
                         log=lambda line: None)
    words = "return a new list of the items in the path file object".split()
    texts = [" ".join(words[(i * 3) % 7:(i * 3) % 7 + i % 12] * (1 + i % 3)) for i in range(150)]
    inputs = {"text": np.array([text.encode() for text in texts], object)}
    try:
        with PredictionClient(f"127.0.0.1:{server.port}", "tagger", timeout=60) as client:
            entities = client.predict_tensors(inputs)
            windows = client.predict_tensors(inputs, signature="preprocess")
    finally:
        server.stop()
    task = build_task("tag", tfbert.load(model_dir), str(model_dir / "vocab.txt"),
                      lower_case=True, seq_length=16)
    assert task.compare(entities, task.reference("serving_default", inputs), 1e-5) == []
    assert task.compare(windows, task.reference("preprocess", inputs), 0.0) == []
    # The texts were sent 32 a request, and requests differ in their most entities and
    # windows: the joined arrays are padded to the widest.
    widths = {int(entities["num_entities"][start:start + 32].max())
              for start in range(0, 150, 32)}
    assert len(widths) > 1 and entities["entity_starts"].shape[1] == max(widths)
    assert len(windows["text_index"]) > len(texts)  # long texts have several windows
