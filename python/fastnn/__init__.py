"""fastnn: a small, fast, deterministic deep-learning library with PyTorch's API.

The engine (tensors, kernels, autograd, optimizer updates) is C++ in ``fastnn._C``; this package
is the thin torch-shaped surface over it.
"""

from fastnn import _C
from fastnn._C import (  # noqa: F401  (re-exported torch names)
    Tensor,
    abs,
    add,
    addmm,
    argmax,
    argmin,
    bmm,
    cat,
    concat,
    clamp,
    clip,
    div,
    eq,
    exp,
    flatten,
    ge,
    get_num_threads,
    gt,
    index_select,
    is_grad_enabled,
    le,
    log,
    log_softmax,
    lt,
    matmul,
    max,
    mean,
    min,
    mm,
    mul,
    ne,
    neg,
    permute,
    pow,
    reciprocal,
    relu,
    reshape,
    set_num_threads,
    sigmoid,
    softmax,
    sqrt,
    stack,
    sub,
    sum,
    t,
    tanh,
    transpose,
    unsqueeze,
)
from fastnn._dtype import bool, dtype, double, float, float32, float64, int64, long  # noqa: A004
from fastnn import _size
from fastnn._size import Size
from fastnn import _tensor  # noqa: F401  (adds the Python-side Tensor methods)
from fastnn._factories import (  # noqa: F401
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from fastnn.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled  # noqa: F401
from fastnn import autograd, nn, optim  # noqa: F401,E402
from fastnn.serialization import load, save  # noqa: F401,E402
from fastnn import random  # noqa: F401  (torch.random: the global generator's seed and state)
from fastnn.random import (  # noqa: F401  (one counter-based generator type serves every draw)
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from fastnn._C import bernoulli, multinomial  # noqa: F401
from fastnn._factories import normal, randint_like, randperm  # noqa: F401
from fastnn import utils  # noqa: F401  (fastnn.utils.data, as torch.utils.data)

_C._set_size_class(_size._from_ints)  # fast path: C++ builds valid sizes


def get_default_dtype():
    """The dtype of floating-point tensors made without an explicit dtype: always fastnn.float32."""
    return float32


__version__ = "0.1.0"
