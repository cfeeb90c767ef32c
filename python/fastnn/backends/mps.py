"""fastnn.backends.mps: Apple's Metal backend is not built."""


def is_available():
    return False


def is_built():
    return False
