"""fastnn.Size: the tuple subclass that tensor.shape and tensor.size() return."""


class Size(tuple):
    """A tensor's shape; prints as ``fastnn.Size([6, 1, 3, 3])``."""

    __slots__ = ()

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
        return Size(tuple(self) + tuple(other))
