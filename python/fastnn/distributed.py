"""fastnn.distributed: fastnn runs in one process; there is no process group to join."""


def is_available():
    return False


def is_initialized():
    return False


def init_process_group(*args, **kwargs):
    raise RuntimeError("[init_process_group] fastnn.distributed is not available: fastnn runs in a single process")
