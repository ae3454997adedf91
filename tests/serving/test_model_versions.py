import shutil

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from tfbert.export.warmup import read_warmup, warmup_path, write_warmup
from tfbert.serving import ModelVersions, VersionNotFoundError, VersionPolicy


def test_bad_and_hidden_versions_are_skipped(classifier_export, tmp_path):
    shutil.copytree(classifier_export, tmp_path / "1")
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "saved_model.pb").write_bytes(b"not a SavedModel")
    shutil.copytree(classifier_export, tmp_path / ".7.staging.abc")  # being written
    shutil.copytree(classifier_export, tmp_path / "latest")  # not an integer: not a version
    lines = []
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lines.append,
                             policy=VersionPolicy("all"), warmup=False)
    try:
        assert versions.versions == [1]
        assert versions.get()[0] == 1
        assert any(line.startswith("failed to load version 5") for line in lines)
        with pytest.raises(VersionNotFoundError, match="version 5 is not loaded; loaded "
                                                       "versions are \\[1\\]"):
            versions.get(5)
        versions.refresh()  # the broken version is not retried until it changes
        assert sum(line.startswith("failed to load version 5") for line in lines) == 1
    finally:
        versions.close()


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="`base_path` is not a directory"):
        ModelVersions(tmp_path / "missing")
    with pytest.raises(ValueError, match="`poll_seconds` must be >= 0; got -1"):
        ModelVersions(tmp_path, poll_seconds=-1)


def test_latest_policy_keeps_the_old_version_until_a_new_one_loads(classifier_export, tmp_path):
    shutil.copytree(classifier_export, tmp_path / "1")
    shutil.copytree(classifier_export, tmp_path / "2")
    lines = []
    # The latest version, as TF Serving by default (warm-up: tests/export/test_warmup.py).
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lines.append, warmup=False)
    try:
        assert versions.versions == [2]  # version 1 is never loaded
        (tmp_path / "3").mkdir()
        (tmp_path / "3" / "saved_model.pb").write_bytes(b"broken export")
        versions.refresh()
        assert versions.versions == [2]  # the broken version 3 leaves 2 serving
        assert any(line.startswith("failed to load version 3") for line in lines)
        shutil.rmtree(tmp_path / "3")
        shutil.copytree(classifier_export, tmp_path / "4")
        versions.refresh()
        assert versions.versions == [4]
        assert "unloaded version 2: not in version policy latest:1" in lines
        shutil.rmtree(tmp_path / "4")
        versions.refresh()  # the latest remaining version comes back
        assert versions.versions == [2]
    finally:
        versions.close()


@pytest.mark.parametrize("policy, served", [
    ("latest:2", [2, 3]), ("all", [1, 2, 3]), ("specific:1,3,9", [1, 3])])
def test_policies_choose_versions_like_tf_serving(classifier_export, tmp_path, policy, served):
    for version in (1, 2, 3):
        shutil.copytree(classifier_export, tmp_path / str(version))
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lambda line: None,
                             policy=VersionPolicy.parse(policy), warmup=False)
    try:
        assert versions.versions == served
        assert versions.get()[0] == served[-1]
    finally:
        versions.close()


@pytest.mark.parametrize("text", ["newest", "latest:0", "latest:x", "specific:", "all:2"])
def test_bad_policies_are_refused(text):
    with pytest.raises(ValueError, match="version policy|at least"):
        VersionPolicy.parse(text)


def _translate() -> prediction_log_pb2.PredictionLog:
    """A warm-up record for a signature the exports do not have."""
    log = prediction_log_pb2.PredictionLog()
    log.predict_log.request.model_spec.signature_name = "translate"
    log.predict_log.request.inputs["text"].CopyFrom(tf.make_tensor_proto([b"a"]))
    return log


def test_a_broken_warmup_fails_the_load_and_the_old_version_keeps_serving(classifier_export,
                                                                          tmp_path):
    serving_default = next(log for log in read_warmup(classifier_export)
                           if log.predict_log.request.model_spec.signature_name ==
                           "serving_default")
    shutil.copytree(classifier_export, tmp_path / "1")
    write_warmup(tmp_path / "1", [serving_default])  # one record: a faster test
    lines = []
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lines.append)  # latest
    try:
        assert versions.versions == [1]
        shutil.copytree(classifier_export, tmp_path / "2")  # a new version, its warm-up corrupt
        warmup_file = warmup_path(tmp_path / "2")
        data = bytearray(warmup_file.read_bytes())
        data[len(data) // 2] ^= 0xFF  # a flipped byte: its record's checksum does not match
        warmup_file.write_bytes(bytes(data))
        versions.refresh()
        # Version 1 is not unloaded: the version the policy wants did not load.
        assert versions.versions == [1]
        assert any(line.startswith("failed to load version 2: ") and
                   f"{warmup_file} is not a TFRecord file of PredictionLog records" in line
                   for line in lines), lines
        write_warmup(tmp_path / "2", [_translate()])
        versions.refresh()  # the warm-up file changed: version 2 is tried again
        assert versions.versions == [1]
        assert lines[-1].startswith(
            f"failed to load version 2: warm-up record 1 of 1 in {warmup_file} (signature "
            "'translate') failed: signature 'translate' not found; the model has")
        assert versions.get()[1].run("serving_default", {"text": np.array([b"a"], object)})
        write_warmup(tmp_path / "2", [serving_default])
        versions.refresh()
        assert versions.versions == [2]
        assert lines[-2].startswith("loaded version 2") and \
            lines[-2].endswith("; warm-up requests replayed: 1)")
        assert lines[-1] == "unloaded version 1: not in version policy latest:1"
    finally:
        versions.close()


def test_without_warmup_the_file_is_not_read(classifier_export, tmp_path):
    shutil.copytree(classifier_export, tmp_path / "1")
    warmup_path(tmp_path / "1").write_bytes(b"not TFRecords")  # as --enable_model_warmup=false
    lines = []
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lines.append, warmup=False)
    try:
        assert versions.versions == [1] and lines[-1].endswith("; warm-up off)")
    finally:
        versions.close()


def test_states_as_tf_servings_servable_states(classifier_export, tmp_path, monkeypatch):
    from tfbert.serving import model_versions

    shutil.copytree(classifier_export, tmp_path / "1")
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "saved_model.pb").write_bytes(b"broken export")
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lambda line: None,
                             policy=VersionPolicy("all"), warmup=False)
    try:
        states = versions.states()
        assert states[1] == ("AVAILABLE", 0, "")
        assert states[2].state == "END" and states[2].error_code != 0 and \
            str(tmp_path / "2") in states[2].error_message
        seen = []
        real_load = model_versions._load

        def observing_load(path, warmup):  # what a GetModelStatus during the load sees
            seen.append(versions.states()[int(path.name)].state)
            return real_load(path, warmup)

        monkeypatch.setattr(model_versions, "_load", observing_load)
        shutil.copytree(classifier_export, tmp_path / "3")
        shutil.rmtree(tmp_path / "1")
        versions.refresh()
        assert seen == ["LOADING"]
        assert versions.states() == {1: ("END", 0, ""), 2: states[2], 3: ("AVAILABLE", 0, "")}
    finally:
        versions.close()
    assert {v: s.state for v, s in versions.states().items()} == {1: "END", 2: "END", 3: "END"}
