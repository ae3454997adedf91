import subprocess
import sys

import torch
import transformers

from tfbert import BertEncoder, load
from tfbert.cli import main


def test_convert_hf_folder(tmp_path, capsys):
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32)
    transformers.BertModel(config).save_pretrained(tmp_path / "hf")
    assert main(["convert", "--from", "hf", str(tmp_path / "hf"), "--out",
                 str(tmp_path / "out")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert isinstance(load(tmp_path / "out"), BertEncoder)
    # A second run refuses to clobber the result, and says how to.
    assert main(["convert", "--from", "hf", str(tmp_path / "hf"), "--out",
                 str(tmp_path / "out")]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_missing_source_is_a_clear_error(tmp_path, capsys):
    assert main(["convert", "--from", "hf", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "out")]) == 2
    assert "config.json is missing" in capsys.readouterr().err


def test_help_shows_commands_and_examples():
    run = lambda *args: subprocess.run([sys.executable, "-m", "tfbert", *args],
                                       capture_output=True, text=True, check=True).stdout
    assert "convert" in run("--help")
    help_text = run("convert", "--help")
    assert "example:" in help_text and "--from" in help_text and "keras-hub" in help_text
