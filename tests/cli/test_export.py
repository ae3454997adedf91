import json

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


@pytest.mark.parametrize("command", ["export", "serve", "predict"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    help_text = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "example:" in help_text and f"tfbert {command}" in help_text
