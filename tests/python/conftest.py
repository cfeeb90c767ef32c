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


try:  # property-based tests (test_properties.py, test_hostile.py): reproducible in CI, no example database
    from hypothesis import HealthCheck, Phase, settings

    _common = {
        "database": None,
        "deadline": None,
        "print_blob": True,
        "phases": [p for p in Phase if p != Phase.explain],
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    settings.register_profile("fastnn", derandomize=True, **_common)
    # local bug hunting: HYPOTHESIS_PROFILE=fastnn-random (new examples each run)
    settings.register_profile("fastnn-random", derandomize=False, **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fastnn"))
except ImportError:
    pass
