"""fastnn.backends.cudnn: settable flags (scripts set deterministic/benchmark); no cuDNN is ever used."""

enabled = True
deterministic = False
benchmark = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None
