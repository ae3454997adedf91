"""The reference run the distributed and resumption tests compare against."""
import pytest

from tests.training.subprocesses import run

# Arguments of every run compared with `single_device`; clipping at 0.5 is active in these
# steps, so the global-norm clipping is part of what must match.
REFERENCE_ARGS = ("--clipnorm", "0.5", "--steps", "6", "--steps-per-epoch", "2")


@pytest.fixture(scope="session")
def single_device(tmp_path_factory):
    """One process, default strategy, 3 epochs of 2 steps on synthetic batches."""
    path = tmp_path_factory.mktemp("single")
    return run(path / "work", path / "result.npz", *REFERENCE_ARGS)
