"""Distributed training gives the single-device result: MirroredStrategy on 2 logical CPUs,
and MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (which needs
`keras_mwms_fix`). Each run is a subprocess: a strategy's devices are fixed per process."""
import pytest

from tests.training.conftest import REFERENCE_ARGS
from tests.training.subprocesses import assert_same_training, load_result, run, start_workers

# Batches hold 1 to 4 real predictions per row, so the replicas' halves of a global batch have
# different masked counts: a per-replica loss normalisation would not match (see test_losses).


def test_mirrored_on_two_cpus_matches_one_device(single_device, tmp_path):
    mirrored = run(tmp_path / "work", tmp_path / "result.npz", "--strategy", "mirrored",
                   "--num-cpu-devices", "2", *REFERENCE_ARGS)
    assert_same_training(mirrored, single_device)


def test_two_workers_train_in_lockstep_and_match_one_process(single_device, tmp_path):
    workers = start_workers(tmp_path, *REFERENCE_ARGS)
    for process, _ in workers:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
    first, second = (load_result(result) for _, result in workers)
    assert_same_training(first, second, atol=0)  # identical weights on both workers
    assert_same_training(first, single_device)


@pytest.mark.slow  # the lockstep test above already needs the fix; this shows the failure
def test_two_workers_fail_without_the_keras_fix(tmp_path):
    workers = start_workers(tmp_path, "--no-fix")
    errors = []
    for process, _ in workers:
        _, stderr = process.communicate(timeout=300)
        errors.append((process.returncode, stderr))
    assert all(code != 0 for code, _ in errors)
    assert any("to a Tensor" in stderr for _, stderr in errors)
