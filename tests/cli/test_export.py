import json
import os
import re
import subprocess
import sys

import pytest

from tests.export import builders
from tests.export.conftest import _shared, classifier_dir, vocab_file  # noqa: F401 (fixtures)
from tfbert.cli import main


def test_export_command_writes_a_validated_version(classifier_dir, tmp_path, capsys):
    out = tmp_path / "saved_models" / "clf" / "3"
    assert main(["export", "--model", str(classifier_dir), "--task", "classify",
                 "--out", str(out), "--seq-length", "32"]) == 0
    printed = capsys.readouterr().out
    assert "validating" in printed and f"exported {out}" in printed
    info = json.loads((out / "assets.extra" / "tfbert.json").read_text())
    assert info["seq_length"] == 32 and info["labels"] == builders.LABELS
    # Again without --overwrite: refused, with the way out named.
    assert main(["export", "--model", str(classifier_dir), "--task", "classify",
                 "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_export_errors_are_clear(classifier_dir, tmp_path, capsys):
    assert main(["export", "--model", str(classifier_dir), "--task", "mlm",
                 "--out", str(tmp_path / "m" / "1")]) == 2
    assert "task 'mlm' needs a BertPretrainer model directory; got BertClassifier" in \
        capsys.readouterr().err
    assert main(["export", "--model", str(classifier_dir), "--task", "classify",
                 "--pooling", "mean", "--out", str(tmp_path / "m" / "1")]) == 2
    assert "apply to task 'embed' only" in capsys.readouterr().err
    assert not (tmp_path / "m" / "1").exists()


@pytest.mark.slow  # the shared log filter is covered in CI by test_pretrain's redirected log
def test_export_log_has_no_tensorflow_lines(classifier_dir, tmp_path):
    # As a user runs it: no TF_CPP_MIN_LOG_LEVEL of the test set-up, output to a pipe.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "tfbert", "export", "--model", str(classifier_dir), "--task",
         "classify", "--seq-length", "16", "--out", str(tmp_path / "clf" / "1")],
        env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert lines and all(not _is_tensorflow_log(line) for line in lines), lines
    assert len(lines) <= 6, lines
    assert lines[-1].startswith("exported ")


def _is_tensorflow_log(line: str) -> bool:
    """A C++ log line (`I0000 ...`, `2026-... W tensorflow/...`), absl's notice, a CUDA probe,
    oneDNN's notices, or a Python deprecation warning from TensorFlow."""
    return bool(re.match(r"^([IWEF]\d{4} |\d{4}-\d\d-\d\d [\d:.]+: [IWEF] )", line)) or any(
        marker in line for marker in ("absl::InitializeLog", "cuInit", "CUDA", "oneDNN",
                                      "cpu_feature_guard", "is deprecated", "WARNING:tensorflow"))
