"""Errors that name what failed: a class's constructor (and step, __iter__, ...) re-raise an ordinary error whose
message does not name the class with "[ClassName] " in front, torch's text kept after it. An AttributeError about
an argument (a number passed where a tensor belongs) becomes a TypeError, an ArithmeticError from an argument
(a zero step size) a ValueError.

Layers, optimizers, schedulers, datasets and samplers are Python classes whose argument checks copy torch's
messages ("Invalid learning rate: -1"), and a mistaken argument can also fail inside Python itself ("'<' not
supported between instances of 'list' and 'float'"): either way the message then says which class it was.
"""

import functools
import inspect
import typing

_PLAIN = (TypeError, ValueError, IndexError, RuntimeError, NotImplementedError)


def _builtin(e):
    """The builtin class to re-raise `e` as: its own if builtin, the builtin base of NumPy's (UFuncTypeError is a
    TypeError), else None (another subclass keeps its type and message)."""
    if type(e) in _PLAIN + (KeyError,):
        return type(e)
    if type(e).__module__.startswith("numpy"):
        return next((b for b in type(e).__mro__ if b in _PLAIN), None)
    return None


def _argument_error(e, args, kwargs, name):
    """An AttributeError about one of the arguments (a number where a tensor belongs) as the TypeError it is;
    an arithmetic error from an argument (step_size=0) as a ValueError. None for anything else."""
    if isinstance(e, AttributeError) and any(getattr(e, "obj", None) is a for a in (*args, *kwargs.values())):
        return TypeError(f"[{name}] an argument has the wrong type: {e}")
    if isinstance(e, ArithmeticError):
        return ValueError(f"[{name}] {type(e).__name__}: {e}")
    return None


def _named(fn, owner=None):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except (AttributeError, ArithmeticError) as e:
            err = _argument_error(e, args, kwargs, owner or type(self).__name__)
            if err is None:
                raise
            raise err from e
        except _PLAIN + (KeyError,) as e:
            name = owner or type(self).__name__
            text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)  # str() of a KeyError quotes it
            if name in str(text):
                raise
            kind = _builtin(e)
            if kind is None:  # a subclass that may take other arguments
                raise
            raise kind(f"[{name}] {text}") from e

    wrapper._fastnn_named = True
    return wrapper


def name_errors(cls, methods=("__init__", "step", "__iter__", "__len__", "__getitem__", "load_state_dict"), owner=None):
    """Wraps the methods `cls` itself defines (call from __init_subclass__, and once on the base). Only fastnn's
    own classes: a user's subclass keeps its errors as it raises them. `owner`: the name to give instead of the
    class's (a DataLoader's iterator reports as the DataLoader)."""
    if not cls.__module__.startswith("fastnn."):
        return cls
    for m in methods:
        f = cls.__dict__.get(m)
        if f is None or getattr(f, "_fastnn_named", False) or not inspect.isfunction(f):
            continue
        if inspect.isgeneratorfunction(f):  # errors surface while iterating, not from the call
            continue
        setattr(cls, m, _named(f, owner))
    return cls


_F = typing.TypeVar("_F", bound=typing.Callable[..., typing.Any])


def named_function(fn: _F) -> _F:
    """For a public function written in Python (nn.init, random_split): errors name it, and an AttributeError
    from an argument of the wrong type (a number where a tensor belongs) is the TypeError it really is."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AttributeError as e:
            raise TypeError(f"[{name}] an argument has the wrong type: {e}") from e
        except ArithmeticError as e:
            raise ValueError(f"[{name}] {type(e).__name__}: {e}") from e
        except _PLAIN + (KeyError,) as e:
            text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)  # str() of a KeyError quotes it
            kind = _builtin(e)
            if kind is None or name in str(text):
                raise
            raise kind(f"[{name}] {text}") from e

    return wrapper
