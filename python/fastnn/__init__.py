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
from fastnn._C import (  # noqa: F401  (advanced indexing and the index family)
    gather,
    index_add,
    index_put,
    index_put_,
    masked_select,
    scatter,
    scatter_add,
    take_along_dim,
)
from fastnn._C import (  # noqa: F401  (more elementwise ops: unary, binary, where/masked_fill/nonzero)
    allclose,
    arctan2,
    argwhere,
    atan2,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    ceil,
    cos,
    equal,
    erf,
    exp2,
    expm1,
    fix,
    floor,
    floor_divide,
    fmod,
    greater,
    greater_equal,
    isclose,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log10,
    log1p,
    log2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    masked_fill,
    maximum,
    minimum,
    nonzero,
    not_equal,
    remainder,
    round,
    rsqrt,
    sign,
    sin,
    square,
    tan,
    trunc,
    where,
)
from fastnn._dtype import (  # noqa: A004,F401
    bfloat16,
    bool,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from fastnn._C import can_cast, promote_types, result_type  # noqa: E402,F401
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
from fastnn._C import (  # noqa: F401  (shape family: splits, rearranging copies, products, einsum)
    addbmm,
    addmv,
    baddbmm,
    chunk,
    diag,
    diag_embed,
    diagonal,
    dot,
    einsum,
    flip,
    fliplr,
    flipud,
    ger,
    is_floating_point,
    moveaxis,
    movedim,
    mv,
    narrow,
    numel,
    outer,
    repeat_interleave,
    roll,
    split,
    squeeze,
    swapaxes,
    swapdims,
    tensor_split,
    tile,
    tril,
    triu,
    unbind,
    unflatten,
)
from fastnn._factories import linspace, logspace, randint_like  # noqa: F401,E402
from fastnn.linalg import det, inverse, logdet, slogdet  # noqa: F401,E402
from fastnn._math_ops import (  # noqa: F401,E402
    addcdiv,
    addcmul,
    aminmax,
    bincount,
    cdist,
    clamp_max,
    clamp_min,
    cross,
    diff,
    dist,
    histc,
    hypot,
    isin,
    kron,
    lerp,
    logaddexp,
    nanmean,
    nansum,
    searchsorted,
    tensordot,
    trace,
    unique,
)
from fastnn._shape_ops import (  # noqa: F401,E402
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    cartesian_prod,
    column_stack,
    dstack,
    hstack,
    is_tensor,
    meshgrid,
    vstack,
)
from fastnn.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled  # noqa: F401
from fastnn.autograd.grad_mode import inference_mode, is_inference_mode_enabled  # noqa: F401
from fastnn.autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: F401
from fastnn import autograd, nn, optim  # noqa: F401,E402
from fastnn.serialization import load, save  # noqa: F401,E402
from fastnn._C import (  # noqa: F401  (reductions, scans, sorting)
    all,
    amax,
    amin,
    any,
    argsort,
    count_nonzero,
    cummax,
    cummin,
    cumprod,
    cumsum,
    kthvalue,
    logsumexp,
    median,
    msort,
    norm,
    prod,
    sort,
    std,
    std_mean,
    topk,
    var,
    var_mean,
)
from fastnn import linalg  # noqa: F401
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
from fastnn._factories import normal, randperm  # noqa: F401
from fastnn import utils  # noqa: F401  (fastnn.utils.data, as torch.utils.data)

# devices, the CPU-only answers of torch's cuda/backends/accelerator/distributed/onnx, and the legacy API
from fastnn._device import device  # noqa: F401,E402
from fastnn import _legacy, accelerator, backends, cuda, distributed, onnx  # noqa: F401,E402
from fastnn._legacy import (  # noqa: F401,E402
    BFloat16Tensor,
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from fastnn._determinism import are_deterministic_algorithms_enabled, use_deterministic_algorithms  # noqa: F401,E402
from fastnn._determinism import is_deterministic_algorithms_warn_only_enabled  # noqa: F401,E402
from fastnn._config import show_config  # noqa: F401,E402  (the build: compiler, ISA kernels, threads)
from fastnn._out import (  # noqa: F401,E402,A004  (the same ops, with torch's out= keyword)
    abs,
    add,
    addmm,
    argmax,
    argmin,
    bmm,
    cat,
    clamp,
    clip,
    concat,
    div,
    eq,
    exp,
    ge,
    gt,
    index_select,
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
    pow,
    reciprocal,
    sigmoid,
    softmax,
    sqrt,
    stack,
    sub,
    sum,
    tanh,
)

from fastnn._dlpack import from_dlpack, to_dlpack  # noqa: F401,E402  (DLPack exchange, as torch's)

_C._set_size_class(_size._from_ints)  # fast path: C++ builds valid sizes


def get_default_dtype():
    """The dtype of floating-point tensors made without an explicit dtype (float32 unless set_default_dtype)."""
    return _C._get_default_dtype()


def set_default_dtype(d):
    """Sets the dtype of floating-point values made without one: factories, Python floats in tensor(), int / int,
    float ops on integers and new layers' parameters. Only floating dtypes, as torch."""
    _C._set_default_dtype(d)


from fastnn._compile import compile  # noqa: A001,E402  (whole-step capture and replay)

__version__ = _C.__version__  # pyproject.toml's, compiled into _C by CMake
