"""Anomaly detection: while on (with check_nan), backward checks every node's gradients and names the node
that returned NaN, as torch.autograd.detect_anomaly does. torch also prints the forward traceback of that
node: fastnn does not."""

from fastnn import _C
from fastnn.autograd.grad_mode import _decorate

_state = {"enabled": False, "check_nan": True}


def _set(enabled, check_nan):
    _state["enabled"], _state["check_nan"] = enabled, check_nan
    _C._set_anomaly_enabled(enabled and check_nan)  # the engine's NaN check


def _check_bool(op, what, v):
    if not isinstance(v, bool):
        raise TypeError(f"[{op}] {what} must be a bool, got {type(v).__name__}")


class detect_anomaly:
    """Context manager and decorator that turns anomaly detection on for its scope."""

    def __init__(self, check_nan=True):
        _check_bool("detect_anomaly", "check_nan", check_nan)
        self.check_nan = check_nan
        self._prev = None

    def __enter__(self):
        self._prev = (_state["enabled"], _state["check_nan"])
        _set(True, self.check_nan)

    def __exit__(self, *exc):
        _set(*self._prev)

    def __call__(self, fn):
        check_nan = self.check_nan
        return _decorate(lambda: detect_anomaly(check_nan), fn)


class set_detect_anomaly:
    """Sets anomaly detection on or off at once; as a context manager, restores the previous setting on exit."""

    def __init__(self, mode, check_nan=True):
        _check_bool("set_detect_anomaly", "mode", mode)
        _check_bool("set_detect_anomaly", "check_nan", check_nan)
        self._prev = (_state["enabled"], _state["check_nan"])
        _set(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _set(*self._prev)


def is_anomaly_enabled():
    return _state["enabled"]


def is_anomaly_check_nan_enabled():
    return _state["check_nan"]
