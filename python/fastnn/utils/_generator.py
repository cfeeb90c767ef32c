"""fastnn.Generator: a seedable source of random orders for the data pipeline (samplers,
random_split).

A Generator is a 64-bit seed plus a draw counter. Each draw (one permutation, one batch of integers)
uses a fresh NumPy ``Generator`` seeded from ``(seed, counter)`` and then bumps the counter, so the
whole state is two integers: ``get_state()`` returns them as an int64 tensor that ``fastnn.save``
can checkpoint, and ``set_state()`` puts them back, after which the same draws come out again.
"""

import os

import numpy as np

_MASK64 = (1 << 64) - 1


class Generator:
    """A random generator for shuffling and splitting, as ``torch.Generator`` is used there.

    ``fastnn.Generator().manual_seed(42)`` makes every order drawn from it reproducible.
    """

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError(
                f"[Generator] device '{device}' is not available: fastnn's generators are CPU-only"
            )
        self.device = device
        self._seed = 67280421310721  # torch's default seed, for familiarity
        self._counter = 0

    def manual_seed(self, seed):
        """Sets the seed (an integer in [-2**63, 2**64)) and rewinds the generator; returns self."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(
                f"[Generator.manual_seed] seed must be an int, got {type(seed).__name__}"
            )
        seed = int(seed)
        if not -(1 << 63) <= seed <= _MASK64:
            raise RuntimeError(
                f"[Generator.manual_seed] seed must be within [-2**63, 2**64), got {seed}"
            )
        self._seed = seed & _MASK64
        self._counter = 0
        return self

    def seed(self):
        """Seeds from the operating system's entropy and returns the new seed."""
        self.manual_seed(int.from_bytes(os.urandom(8), "little"))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as an int64 tensor of shape (2,): [seed (two's complement), draws]."""
        from fastnn._factories import tensor
        from fastnn._dtype import int64

        signed = self._seed - (1 << 64) if self._seed >= (1 << 63) else self._seed
        return tensor([signed, self._counter], dtype=int64)

    def set_state(self, new_state):
        """Restores a state from ``get_state()``; returns self."""
        from fastnn._C import Tensor
        from fastnn._dtype import int64

        if (
            not isinstance(new_state, Tensor)
            or new_state.dtype != int64
            or tuple(new_state.shape) != (2,)
        ):
            shape = tuple(new_state.shape) if isinstance(new_state, Tensor) else None
            raise RuntimeError(
                "[Generator.set_state] expected the int64 tensor of shape (2,) returned by "
                f"get_state(), got {type(new_state).__name__} "
                f"{'' if shape is None else f'{new_state.dtype} of shape {shape}'}"
            )
        seed, counter = (int(v) for v in new_state.tolist())
        if counter < 0:
            raise RuntimeError(
                f"[Generator.set_state] invalid state: negative draw count {counter}"
            )
        self._seed = seed & _MASK64
        self._counter = counter
        return self

    # ---- draws (private: used by samplers and random_split) ----
    def _numpy(self):
        """A NumPy generator for the next draw; advances the state by one."""
        rng = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([self._seed, self._counter]))
        )
        self._counter += 1
        return rng

    def _randperm(self, n):
        return self._numpy().permutation(n).astype(np.int64, copy=False)

    def __repr__(self):
        return f"<fastnn.Generator seed={self._seed} draws={self._counter}>"


def _resolve(generator):
    """The generator to draw from: the one given, or a fresh one seeded from fastnn's global RNG.

    Drawing the seed advances the global RNG (as torch does), so successive epochs differ and a run
    is reproducible after ``fastnn.manual_seed``.
    """
    if generator is not None:
        if not isinstance(generator, Generator):
            raise TypeError(f"expected a fastnn.Generator, got {type(generator).__name__}")
        return generator
    from fastnn._factories import randint

    return Generator().manual_seed(int(randint(0, 1 << 62, (1,)).item()))
