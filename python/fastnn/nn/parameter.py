"""nn.Parameter: a Tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from fastnn._C import Tensor


class Parameter(Tensor):
    """A leaf tensor sharing `data`'s memory, with requires_grad=True by default."""

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            from fastnn import empty

            data = empty(0)
        super().__init__(data)
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        raise TypeError("fastnn tensors are not pickled; save state dicts with fastnn.save")
