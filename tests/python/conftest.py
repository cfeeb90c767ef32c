import os
import sys

import pytest

# Tests import the package under test; make the tests directory importable for the oracle helpers.
sys.path.insert(0, os.path.dirname(__file__))

try:  # PyTorch's own thread pool fights fastnn's for this machine's 2 cores; the oracle needs no threads.
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass


@pytest.fixture(autouse=True)
def _restore_threads():
    import fastnn

    n = fastnn.get_num_threads()
    yield
    fastnn.set_num_threads(n)
