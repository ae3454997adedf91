"""Training learns, not just runs (slow: minutes on 2 cores): pretraining bert_tiny on the
standard library's docstrings lifts held-out masked-LM accuracy far above its start, and the
fine-tuned classifier solves a word-order task. This is `pipelines/learning.py`, smaller."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "pipelines"))


@pytest.mark.slow
def test_pretraining_and_finetuning_learn(tmp_path):
    import learning

    results = learning.main(tmp_path, steps=1000, finetune_epochs=3, progress="none")
    assert results["held_out_mlm_accuracy_before"] < 0.02  # random weights, 3,000-token vocab
    assert results["held_out_mlm_accuracy_after"] > 0.1  # 0.169 after 1,500 steps
    assert results["finetune_eval_accuracy"] > 0.9
    assert Path(results["plot"]).stat().st_size > 10_000
