"""fastnn.Size: the tuple subclass that tensor.shape and tensor.size() return."""

import functools
import operator


class Size(tuple):
    """A tensor's shape; prints as ``fastnn.Size([6, 1, 3, 3])``."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError(f"fastnn.Size() takes an iterable of 'int' (got {type(sizes).__name__})") from None
        if any(type(s) is not int for s in sizes):
            sizes = tuple(_as_int(s, i) for i, s in enumerate(sizes))
        return tuple.__new__(cls, sizes)

    def __repr__(self):
        return f"fastnn.Size({list(self)})"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        if not isinstance(n, int):
            return NotImplemented
        return Size(tuple(self) * n)

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))


def _as_int(s, i):
    try:
        return operator.index(s)
    except TypeError:
        raise TypeError(f"fastnn.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')") from None


# What the C++ side calls to wrap a tuple of ints it built itself (skips the checks above).
_from_ints = functools.partial(tuple.__new__, Size)
