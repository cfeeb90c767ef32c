"""use_deterministic_algorithms: fastnn's kernels are always deterministic (bitwise, at any thread count), so
the switch only records what was asked, for are_deterministic_algorithms_enabled() to report as torch does."""

_state = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    for what, v in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(v, bool):
            raise TypeError(f"[use_deterministic_algorithms] argument '{what}' must be bool, not {type(v).__name__}")
    _state.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled():
    return _state["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _state["warn_only"]
