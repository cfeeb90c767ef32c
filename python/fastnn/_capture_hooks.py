"""What fastnn.compile (fastnn/_compile.py) needs from Module and Optimizer to guard a replay.

`watch` is set while a capture runs: Module.__call__ and Optimizer.step pass themselves to it, so that a replay can
check the modules' state and the optimizers' hyperparameters. `version` counts changes to any module's attributes,
parameters, buffers, submodules or hooks: while it stands still, the modules a graph was captured with need no
check (a replay's fast path)."""

import functools
from collections import OrderedDict

watch = None
version = 0


def bump():
    global version
    version += 1


def _bumping(method):
    @functools.wraps(method)
    def changed(self, *args, **kwargs):
        bump()
        return method(self, *args, **kwargs)

    return changed


class VersionedDict(OrderedDict):
    """A Module's parameter, buffer, submodule and hook dicts: every change bumps `version`."""

    __slots__ = ()
    __setitem__ = _bumping(OrderedDict.__setitem__)
    __delitem__ = _bumping(OrderedDict.__delitem__)
    __ior__ = _bumping(OrderedDict.__ior__)
    pop = _bumping(OrderedDict.pop)
    popitem = _bumping(OrderedDict.popitem)
    clear = _bumping(OrderedDict.clear)
    update = _bumping(OrderedDict.update)
    setdefault = _bumping(OrderedDict.setdefault)
    move_to_end = _bumping(OrderedDict.move_to_end)
