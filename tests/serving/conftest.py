"""The export tests' session fixtures (vocabulary, bert_tiny classifier and its export)."""
from tests.export.conftest import (  # noqa: F401 (fixtures)
    _shared, classifier_dir, classifier_export, vocab_file)
