import subprocess
import sys

import torch
import transformers

from tests.helpers import write_vocab
from tfbert import BertEncoder, load
from tfbert.cli import main


def test_convert_hf_folder(tmp_path, capsys):
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32)
    transformers.BertModel(config).save_pretrained(tmp_path / "hf")
    # A model saved without its tokenizer has no vocabulary: the directory would be incomplete.
    assert main(["convert", "--from", "hf", str(tmp_path / "hf"), "--out",
                 str(tmp_path / "out")]) == 2
    assert "The source has no vocab.txt" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    vocab = write_vocab(tmp_path / "vocab.txt")
    assert main(["convert", "--from", "hf", str(tmp_path / "hf"), "--out",
                 str(tmp_path / "out"), "--vocab", str(vocab)]) == 0
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "reading" in captured.err
    (tmp_path / "hf" / "vocab.txt").write_bytes(vocab.read_bytes())
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
