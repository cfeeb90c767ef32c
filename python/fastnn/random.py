"""fastnn.random: the global generator (``fastnn.default_generator``), its seed and its state, as
``torch.random``.

Every random number fastnn draws comes from a counter-based ``fastnn.Generator``: a seed and a counter
that each draw advances, the values a pure function of the two (so they never depend on the thread
count). ``generator=`` arguments take a ``fastnn.Generator``; without one, draws come from
``fastnn.default_generator``, which ``fastnn.manual_seed`` seeds. A generator's state (``get_state()``,
``fastnn.get_rng_state()``) is an int64 tensor ``[seed, counter]`` that ``fastnn.save`` can checkpoint.
"""

import contextlib

from fastnn._C import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from fastnn._tensor import _CPU

Generator.device = property(lambda self: _CPU)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, device_type="cpu"):
    """Restores the global generator's state on exit, so draws inside do not change the draws after."""
    if devices or str(device_type) != "cpu":
        raise RuntimeError(
            f"[fork_rng] fastnn's generators are CPU-only, got devices={devices!r}, device_type={device_type!r}"
        )
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


__all__ = [
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]
