"""The TF Serving files shipped in pipelines/serving parse as TF Serving's own protos."""
import pathlib
import re

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

SERVING_DIR = pathlib.Path(__file__).resolve().parents[2] / "pipelines" / "serving"


def test_models_config_is_a_model_server_config():
    config = text_format.Parse((SERVING_DIR / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    models = config.model_config_list.config
    assert [m.name for m in models] == ["sentiment"]
    assert models[0].base_path == "/models/sentiment" and models[0].model_platform == "tensorflow"


def test_docker_script_uses_both_files_and_a_pinned_image():
    script = (SERVING_DIR / "run_tf_serving.sh").read_text()
    assert "--model_config_file=/config/models.config" in script
    assert "--batching_parameters_file=/config/batching_parameters.txt" in script
    assert re.search(r"tensorflow/serving:2\.\d+\.\d+", script)
    batching = (SERVING_DIR / "batching_parameters.txt").read_text()
    fields = re.findall(r"^(\w+) \{ value: \d+ \}$", batching, re.M)
    assert fields == ["max_batch_size", "batch_timeout_micros", "num_batch_threads",
                      "max_enqueued_batches"]
