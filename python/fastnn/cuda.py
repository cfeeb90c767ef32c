"""fastnn.cuda: torch.cuda's queries over fastnn's CUDA backend (built with -DFASTNN_CUDA=ON; docs/cuda.md).

In the default CPU-only build, and in a CUDA build on a machine without a GPU, it answers as torch does without
GPUs: is_available() is False, device_count() 0, memory counters 0, seeding accepted (there is no CUDA random
op yet to draw from a CUDA generator), and functions that need a GPU raise a RuntimeError naming themselves."""

import numbers

from fastnn import _C


def is_available():
    return _C._cuda_device_count() > 0


def device_count():
    return _C._cuda_device_count()


def is_initialized():
    return is_available()


def _seed_arg(seed, op):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"[cuda.{op}] seed must be an int, got {type(seed).__name__}")


def manual_seed(seed):
    """Accepted and checked; GPU draws (dropout) come from the default generator, which fastnn.manual_seed seeds, so
    there is no separate CUDA generator to seed (and the CPU's stream is left alone, as torch leaves it)."""
    _seed_arg(seed, "manual_seed")


def manual_seed_all(seed):
    _seed_arg(seed, "manual_seed_all")


def seed():
    pass


def seed_all():
    pass


def _require(name):
    if not _C._cuda_built():
        raise RuntimeError(f"[cuda.{name}] Torch not compiled with CUDA enabled: fastnn was built for the CPU only")


def _index(device, name):
    """The GPU ordinal a `device` argument names (None: GPU 0), checked."""
    from fastnn._factories import _cuda_index

    _require(name)
    return _cuda_index(device, f"cuda.{name}")


def _counter(name, read):
    def counter(device=None):
        """Bytes of the GPU's arena in fastnn's caching allocator (0 without a GPU, as torch)."""
        return read(_index(device, name)) if is_available() else 0

    counter.__name__ = counter.__qualname__ = name
    return counter


memory_allocated = _counter("memory_allocated", _C._allocator_in_use_bytes)
max_memory_allocated = _counter("max_memory_allocated", _C._allocator_peak_bytes)
memory_reserved = _counter("memory_reserved", lambda i: _C._allocator_in_use_bytes(i) + _C._allocator_cached_bytes(i))


def reset_peak_memory_stats(device=None):
    if is_available():
        _C._allocator_reset_peak(_index(device, "reset_peak_memory_stats"))


def empty_cache():
    """Gives the GPUs' cached blocks back to the driver (nothing to do without a GPU, as torch)."""
    for i in range(device_count()):
        _C._allocator_empty_cache(i)


def synchronize(device=None):
    """Waits for the work queued on the GPU (fastnn's copies are synchronous; its kernels are not)."""
    _C._cuda_synchronize(_index(device, "synchronize"))


def current_device():
    _index(None, "current_device")
    return 0


def _no_cuda(name):
    def refuse(*args, **kwargs):
        _index(None, name)  # no CUDA build, or no GPU: say so first
        raise NotImplementedError(f"[cuda.{name}] is not supported by fastnn's CUDA backend yet")

    refuse.__name__ = refuse.__qualname__ = name
    return refuse


set_device = _no_cuda("set_device")
get_device_name = _no_cuda("get_device_name")
get_device_properties = _no_cuda("get_device_properties")
get_device_capability = _no_cuda("get_device_capability")
initial_seed = _no_cuda("initial_seed")
get_rng_state = _no_cuda("get_rng_state")
set_rng_state = _no_cuda("set_rng_state")
