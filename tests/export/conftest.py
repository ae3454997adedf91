"""Session fixtures: a learned vocabulary and one saved and exported bert_tiny classifier,
built once per session (the serving and CLI tests import these fixtures too)."""
import pytest

from tests.export import builders


@pytest.fixture(scope="session")
def _shared(tmp_path_factory):
    return builders.shared_classifier(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def vocab_file(_shared):
    return _shared[0]


@pytest.fixture(scope="session")
def classifier_dir(_shared):
    return _shared[1]


@pytest.fixture(scope="session")
def classifier_export(_shared):
    """saved_models/classifier/1 of the classifier, exported at SEQ_LENGTH (read only)."""
    return _shared[2]
