import shutil

import pytest

from tfbert.serving import ModelVersions, VersionNotFoundError, VersionPolicy


def test_bad_and_hidden_versions_are_skipped(classifier_export, tmp_path):
    shutil.copytree(classifier_export, tmp_path / "1")
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "saved_model.pb").write_bytes(b"not a SavedModel")
    shutil.copytree(classifier_export, tmp_path / ".7.staging.abc")  # being written
    shutil.copytree(classifier_export, tmp_path / "latest")  # not an integer: not a version
    lines = []
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lines.append,
                             policy=VersionPolicy("all"))
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
    versions = ModelVersions(tmp_path, poll_seconds=0, log=lines.append)  # latest, as TF Serving
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
                             policy=VersionPolicy.parse(policy))
    try:
        assert versions.versions == served
        assert versions.get()[0] == served[-1]
    finally:
        versions.close()


@pytest.mark.parametrize("text", ["newest", "latest:0", "latest:x", "specific:", "all:2"])
def test_bad_policies_are_refused(text):
    with pytest.raises(ValueError, match="version policy|at least"):
        VersionPolicy.parse(text)
