"""`tfbert --help` and every command's `--help`: examples, and no TensorFlow import."""
import subprocess
import sys

import pytest

from tfbert.cli import _COMMANDS

# Asks every command for its help in one fresh process; prints whether TF got imported.
_SCRIPT = """
import sys
from tfbert.cli import main
for command in sys.argv[1:]:
    try:
        main(([command] if command != "-" else []) + ["--help"])
    except SystemExit as exit_:
        assert exit_.code == 0, command
print("TENSORFLOW IMPORTED" if "tensorflow" in sys.modules else "NO TENSORFLOW")
"""


@pytest.fixture(scope="module")
def help_output():
    result = subprocess.run([sys.executable, "-c", _SCRIPT, "-", *_COMMANDS],
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def test_help_answers_without_importing_tensorflow(help_output):
    assert help_output.rstrip().endswith("NO TENSORFLOW")


@pytest.mark.parametrize("command", sorted(_COMMANDS))
def test_every_command_shows_an_example(help_output, command):
    usage = help_output.split(f"usage: tfbert {command} ")
    assert len(usage) == 2, f"no help for {command}"
    assert f"tfbert {command} " in usage[1].split("usage: tfbert")[0].split("example")[1]


def test_export_help_offers_the_serving_versions(help_output):
    export_help = help_output.split("usage: tfbert export ")[1].split("usage: tfbert")[0]
    assert "--serving-version {2.14,2.15,2.16,2.17,2.18,2.19,2.20}" in export_help
