"""A pretraining process killed with SIGKILL and restarted resumes from its backup and ends
exactly where an uninterrupted run ends: same steps, same loss trajectory, same weights."""
import json
import signal
import subprocess
import time

import pytest

from tests.training.conftest import REFERENCE_ARGS
from tests.training.subprocesses import assert_same_training, command, run


@pytest.mark.slow
def test_killed_run_resumes_with_the_same_trajectory(single_device, tmp_path):
    work, result = tmp_path / "work", tmp_path / "result.npz"
    metadata = work / "backup" / "worker_0" / "training_metadata.json"
    process = subprocess.Popen(command(work, result, *REFERENCE_ARGS, "--epoch-delay", "3"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (metadata.is_file() and json.loads(metadata.read_text())["epoch"] >= 1):
            assert process.poll() is None, "training ended before it could be killed"
            assert time.monotonic() < deadline, "no backup after 240 s"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not result.exists()
    resumed_at = json.loads(metadata.read_text())["epoch"]
    assert 1 <= resumed_at < 3

    resumed = run(work, result, *REFERENCE_ARGS)
    assert f"resuming at epoch {resumed_at}" in resumed["stdout"]
    # history.json carries the epochs of both processes: the whole trajectory.
    assert [entry["step"] for entry in resumed["history"]] == [2, 4, 6]
    assert_same_training(resumed, single_device)
