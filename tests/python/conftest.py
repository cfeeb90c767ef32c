import os
import sys

import pytest

# Tests import the package under test; make the tests directory importable for the oracle helpers.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _restore_threads():
    import fastnn

    n = fastnn.get_num_threads()
    yield
    fastnn.set_num_threads(n)
