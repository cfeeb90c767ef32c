"""RemovableHandle: what register_*hook returns; ``handle.remove()`` takes the hook off again."""


class RemovableHandle:
    """Removes one registered hook; also a context manager that removes it on exit (as torch's)."""

    def __init__(self, remove):
        self._remove = remove

    def remove(self):
        if self._remove is not None:
            self._remove()
            self._remove = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
