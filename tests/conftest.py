"""Settings for the whole test session."""

import os

# Idle OpenMP threads that spin take the CPU from everything else on a 2-core machine; set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Test models and tensors are tiny: a thread pool only adds synchronisation, and costs seconds when busy."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
