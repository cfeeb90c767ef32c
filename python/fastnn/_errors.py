"""Errors that name what failed: a class's constructor (and step, __iter__) re-raise an ordinary error whose
message does not name the class with "[ClassName] " in front, torch's text kept after it.

Layers, optimizers, schedulers, datasets and samplers are Python classes whose argument checks copy torch's
messages ("Invalid learning rate: -1"), and a mistaken argument can also fail inside Python itself ("'<' not
supported between instances of 'list' and 'float'"): either way the message then says which class it was.
"""

import functools
import inspect

_PLAIN = (TypeError, ValueError, IndexError, RuntimeError, NotImplementedError)


def _named(fn):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except _PLAIN as e:
            name = type(self).__name__
            if type(e) not in _PLAIN or name in str(e):  # subclasses may take other arguments; already named
                raise
            raise type(e)(f"[{name}] {e}") from e

    wrapper._fastnn_named = True
    return wrapper


def name_errors(cls, methods=("__init__", "step", "__iter__")):
    """Wraps the methods `cls` itself defines (call from __init_subclass__, and once on the base). Only fastnn's
    own classes: a user's subclass keeps its errors as it raises them."""
    if not cls.__module__.startswith("fastnn."):
        return cls
    for m in methods:
        f = cls.__dict__.get(m)
        if f is None or getattr(f, "_fastnn_named", False) or not inspect.isfunction(f):
            continue
        if inspect.isgeneratorfunction(f):  # errors surface while iterating, not from the call
            continue
        setattr(cls, m, _named(f))
    return cls
