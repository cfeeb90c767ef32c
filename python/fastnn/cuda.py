"""fastnn.cuda: what torch.cuda answers on a machine without a GPU. fastnn is built for the CPU only, so
is_available() is False and device_count() 0; seeding is accepted and does nothing (as torch without GPUs);
asking about a device that does not exist is a RuntimeError naming the function."""

import numbers


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def _seed_arg(seed, op):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"[cuda.{op}] seed must be an int, got {type(seed).__name__}")


def manual_seed(seed):
    """Accepted and ignored, as torch does without a GPU: there is no CUDA generator to seed."""
    _seed_arg(seed, "manual_seed")


def manual_seed_all(seed):
    _seed_arg(seed, "manual_seed_all")


def seed():
    pass


def seed_all():
    pass


def empty_cache():
    """Nothing to free: no CUDA memory was ever allocated (torch returns quietly too)."""


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def _no_cuda(name):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"[cuda.{name}] Torch not compiled with CUDA enabled: fastnn was built for the CPU only")

    refuse.__name__ = refuse.__qualname__ = name
    return refuse


synchronize = _no_cuda("synchronize")
current_device = _no_cuda("current_device")
set_device = _no_cuda("set_device")
get_device_name = _no_cuda("get_device_name")
get_device_properties = _no_cuda("get_device_properties")
get_device_capability = _no_cuda("get_device_capability")
initial_seed = _no_cuda("initial_seed")
get_rng_state = _no_cuda("get_rng_state")
set_rng_state = _no_cuda("set_rng_state")
