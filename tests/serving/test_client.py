import socket
import time
from concurrent import futures

import grpc
import pytest
from tensorflow_serving.apis import prediction_service_pb2_grpc

from tfbert.serving import PredictionClient, ServingError


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
