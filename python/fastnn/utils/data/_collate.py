"""default_collate / default_convert: turning a list of samples into a batch, as torch does."""

import collections.abc
import numbers

import numpy as np

from fastnn._C import Tensor, stack
from fastnn._errors import named_function as _named_function

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _from_numpy(arr):
    from fastnn._factories import tensor

    if arr.dtype.kind in "US" or arr.dtype == object:
        raise TypeError(_ERR.format(arr.dtype))
    return tensor(_supported(arr))


def _supported(arr):
    """A NumPy array in a dtype fastnn has: floats keep float32/float64, integers become int64."""
    kind = arr.dtype.kind
    if kind == "b" or arr.dtype in (np.float32, np.float64, np.int64):
        return arr
    if kind in "iu":
        return arr.astype(np.int64)
    if kind == "f":
        return arr.astype(np.float32 if arr.dtype.itemsize < 4 else np.float64)
    raise TypeError(_ERR.format(arr.dtype))


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


@_named_function
def default_collate(batch):
    """Stacks tensors and arrays, turns numbers into tensors, recurses into dicts, tuples and lists.

    As torch: Python floats give float64, ints int64, bools bool; strings stay a list; a tuple of
    fields comes back as a list (a namedtuple keeps its type).
    """
    from fastnn._factories import tensor
    from fastnn._dtype import float64

    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        return stack([_from_numpy(b) for b in batch], 0)
    if isinstance(elem, np.generic):
        return _from_numpy(np.array(batch))
    if isinstance(elem, bool):
        return tensor(list(batch))
    if isinstance(elem, numbers.Integral):
        return tensor(list(batch))
    if isinstance(elem, float):
        return tensor(list(batch), dtype=float64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed  # torch returns a list here too
        try:
            return type(elem)(transposed)
        except TypeError:
            return transposed
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """Turns NumPy arrays (also inside dicts, tuples and lists) into tensors; leaves the rest."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "USO" else _from_numpy(data)
    if isinstance(data, np.generic):
        return data if data.dtype.kind in "USO" else _from_numpy(np.array(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
