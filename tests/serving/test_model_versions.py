import shutil

import pytest

from tfbert.serving import ModelVersions, VersionNotFoundError


def test_bad_and_hidden_versions_are_skipped(classifier_export, tmp_path):
    shutil.copytree(classifier_export, tmp_path / "1")
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "saved_model.pb").write_bytes(b"not a SavedModel")
    shutil.copytree(classifier_export, tmp_path / ".7.staging.abc")  # being written
    shutil.copytree(classifier_export, tmp_path / "latest")  # not an integer: not a version
    lines = []
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lines.append)
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
