"""fastnn.nn.functional: torch's functional API; each call is one C++ op."""

import numbers
import warnings

from fastnn import _C
from fastnn._errors import named_function as _named_function

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _tensor(x, op, what="input"):
    """x, checked to be a Tensor (None or another object is a TypeError naming the op, not a crash or an
    AttributeError further down)."""
    if not isinstance(x, _C.Tensor):
        raise TypeError(f"[{op}] {what} must be a Tensor, got {type(x).__name__}")
    return x


def _opt_tensor(x, op, what):
    return None if x is None else _tensor(x, op, what)


def _number(v, op, what):
    """A real number argument as a float (bools count, as in torch; tensors and strings do not)."""
    if not isinstance(v, numbers.Real):
        raise TypeError(f"[{op}] {what} must be a number, got {type(v).__name__}")
    return float(v)


def _dtype(dtype, op):
    if not isinstance(dtype, _C.dtype):
        raise TypeError(f"[{op}] dtype must be a fastnn.dtype, got {dtype!r}")
    return dtype


def _flag(v, op, what):
    if v is not None and not isinstance(v, (bool, numbers.Integral)):
        raise TypeError(f"[{op}] {what} must be a bool, got {type(v).__name__}")
    return v


def _reduction(reduction, size_average=None, reduce=None, op="loss"):
    if size_average is not None or reduce is not None:  # torch's deprecated pair
        size_average = True if size_average is None else _flag(size_average, op, "size_average")
        reduce = True if reduce is None else _flag(reduce, op, "reduce")
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                      stacklevel=3)
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"[{op}] {reduction} is not a valid value for reduction")
    return _REDUCTIONS[reduction]


def _ints(v, op, what):
    """An int or a tuple/list of ints as a list (the C++ side expands a single int to a pair)."""
    values = list(v) if isinstance(v, (tuple, list)) else [v]
    for x in values:
        if isinstance(x, bool) or not isinstance(x, int):
            raise TypeError(f"[{op}] {what} must be an int or a tuple of ints, got {v!r}")
        if not -(1 << 63) <= x < (1 << 63):
            raise ValueError(f"[{op}] {what} {x} does not fit in 64 bits")
    return values


def relu(input, inplace=False):
    return _tensor(input, "relu").relu_() if _flag(inplace, "relu", "inplace") else _C.relu(input)


def sigmoid(input):
    return _C.sigmoid(input)


def tanh(input):
    return _C.tanh(input)


def _softmax_dim(input, dim, op, stacklevel):
    """dim, or torch's deprecated implicit choice (0 for 0-, 1- and 3-D inputs, else 1) with its warning."""
    if dim is not None:
        return dim
    if isinstance(stacklevel, bool) or not isinstance(stacklevel, int):
        raise TypeError(f"[{op}] _stacklevel must be an int, got {type(stacklevel).__name__}")
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an "
                  "argument.", stacklevel=stacklevel)
    return 0 if _tensor(input, op).dim() in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    dim = _softmax_dim(input, dim, "softmax", _stacklevel)
    return _C.softmax(input if dtype is None else _tensor(input, "softmax").to(_dtype(dtype, "softmax")), dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    dim = _softmax_dim(input, dim, "softmin", _stacklevel)
    x = _tensor(input, "softmin")
    x = x if dtype is None else x.to(_dtype(dtype, "softmin"))
    if x.dtype == _C.dtype.bool:  # torch's words for the negation it computes
        raise TypeError("[softmin] Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                        "invert a mask, use the `~` or `logical_not()` operator instead.")
    return _C.softmax(-x, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    dim = _softmax_dim(input, dim, "log_softmax", _stacklevel)
    return _C.log_softmax(input if dtype is None else _tensor(input, "log_softmax").to(_dtype(dtype, "log_softmax")),
                          dim)


def linear(input, weight, bias=None):
    return _C._linear(input, weight, bias)


def _conv_padding(padding, weight, dilation, stride):
    """(padding list, (extra_h, extra_w)): 'same' with an odd total padding d*(k-1) pads one more at the
    bottom/right than at the top/left (torch's split); that extra row/column is returned to be added as zeros."""
    if isinstance(padding, str):
        if padding == "valid":
            return [0], (0, 0)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("[conv2d] padding='same' is not supported for strided convolutions")
            dil = dilation * 2 if len(dilation) == 1 else dilation
            total = [d * (k - 1) for d, k in zip(dil, weight.shape[2:])]
            return [t // 2 for t in total], tuple(t % 2 for t in total)
        raise ValueError(f"[conv2d] Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    return _ints(padding, "conv2d", "padding"), (0, 0)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    _tensor(input, "conv2d")
    _tensor(weight, "conv2d", "weight")
    _opt_tensor(bias, "conv2d", "bias")
    stride = _ints(stride, "conv2d", "stride")
    dilation = _ints(dilation, "conv2d", "dilation")
    pad, (extra_h, extra_w) = _conv_padding(padding, weight, dilation, stride)
    if isinstance(groups, int):
        _ints(groups, "conv2d", "groups")  # range check: ValueError rather than pybind's TypeError
    if (extra_h or extra_w) and input.dim() in (3, 4):
        # the extra bottom/right padding as explicit zeros (padding one more on both sides and dropping the first
        # output row/column instead would multiply that row's zero gradient with the weights: 0 * inf = nan)
        if extra_w:
            input = _C.cat([input, input.new_zeros(tuple(input.shape[:-1]) + (1,))], -1)
        if extra_h:
            input = _C.cat([input, input.new_zeros(tuple(input.shape[:-2]) + (1, input.shape[-1]))], -2)
    return _C._conv2d(input, weight, bias, stride, pad, dilation, groups)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    out, indices = _C._max_pool2d_with_indices(
        _tensor(input, "max_pool2d"), _ints(kernel_size, "max_pool2d", "kernel_size"),
        [] if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _ints(stride, "max_pool2d", "stride"),
        _ints(padding, "max_pool2d", "padding"), _ints(dilation, "max_pool2d", "dilation"), ceil_mode)
    return (out, indices) if return_indices else out


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _C._avg_pool2d(_tensor(input, "avg_pool2d"), _ints(kernel_size, "avg_pool2d", "kernel_size"),
                          [] if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _ints(stride, "avg_pool2d", "stride"),
                          _ints(padding, "avg_pool2d", "padding"), ceil_mode, count_include_pad, divisor_override)


def _warn_target_size(input, target, op):
    _tensor(input, op)
    _tensor(target, op, "target")
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _weighted(errors, weight, reduction, input, op):
    """torch's weighted mse/l1 loss: errors * weight, summed, or divided by the weights' sum for 'mean'."""
    if tuple(_tensor(weight, op, "weight").shape) != tuple(input.shape):
        raise ValueError(f"[{op}] Weights and input must have the same size.")
    weighted = errors * weight
    return weighted if reduction == 0 else weighted.sum() if reduction == 2 else weighted.sum() / weight.sum()


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_target_size(input, target, "mse_loss")
    reduction = _reduction(reduction, size_average, reduce, "mse_loss")
    if weight is not None:
        return _weighted(_C.pow(input - target, 2), weight, reduction, input, "mse_loss")
    return _C._mse_loss(input, target, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    return _C._nll_loss(input, target, _opt_tensor(weight, "nll_loss", "weight"),
                        _reduction(reduction, size_average, reduce, "nll_loss"), ignore_index)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    return _C._cross_entropy(input, target, _opt_tensor(weight, "cross_entropy", "weight"),
                             _reduction(reduction, size_average, reduce, "cross_entropy"), ignore_index,
                             _number(label_smoothing, "cross_entropy", "label_smoothing"))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_target_size(input, target, "l1_loss")
    reduction = _reduction(reduction, size_average, reduce, "l1_loss")
    if weight is not None:
        return _weighted(_C.abs(input - target), weight, reduction, input, "l1_loss")
    return _C._l1_loss(input, target, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _warn_target_size(input, target, "smooth_l1_loss")
    beta = _number(beta, "smooth_l1_loss", "beta")
    if beta == 0.0:  # as torch: plain l1 (and its grad_fn names)
        return _C._l1_loss(input, target, _reduction(reduction, size_average, reduce, "smooth_l1_loss"))
    return _C._smooth_l1_loss(input, target, _reduction(reduction, size_average, reduce, "smooth_l1_loss"), beta)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    return _C._binary_cross_entropy(input, target, _opt_tensor(weight, "binary_cross_entropy", "weight"),
                                    _reduction(reduction, size_average, reduce, "binary_cross_entropy"))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    op = "binary_cross_entropy_with_logits"
    return _C._binary_cross_entropy_with_logits(input, target, _opt_tensor(weight, op, "weight"),
                                                _opt_tensor(pos_weight, op, "pos_weight"),
                                                _reduction(reduction, size_average, reduce, op))


def _check_dropout_p(p, op):
    p = _number(p, op, "p")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"[{op}] dropout probability has to be between 0 and 1, but got {p}")
    return p


def dropout(input, p=0.5, training=True, inplace=False):
    p = _check_dropout_p(p, "dropout")
    out = _C._dropout(_tensor(input, "dropout"), p, bool(_flag(training, "dropout", "training")))
    return input.copy_(out) if _flag(inplace, "dropout", "inplace") and out is not input else out


def dropout2d(input, p=0.5, training=True, inplace=False):
    p = _check_dropout_p(p, "dropout2d")
    if _tensor(input, "dropout2d").dim() not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      "inputs).", stacklevel=2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    out = _C._feature_dropout(input, p, bool(_flag(training, "dropout2d", "training")))
    return input.copy_(out) if _flag(inplace, "dropout2d", "inplace") and out is not input else out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    op = "batch_norm"
    return _C._batch_norm(input, _opt_tensor(weight, op, "weight"), _opt_tensor(bias, op, "bias"),
                          _opt_tensor(running_mean, op, "running_mean"), _opt_tensor(running_var, op, "running_var"),
                          bool(_flag(training, op, "training")), _number(momentum, op, "momentum"),
                          _number(eps, op, "eps"))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    negative_slope = _number(negative_slope, "leaky_relu", "negative_slope")
    if not _flag(inplace, "leaky_relu", "inplace"):
        return _C._leaky_relu(input, negative_slope)
    # the op saves its input for backward: give it a copy, since `input` is overwritten here
    _tensor(input, "leaky_relu")
    return input.copy_(_C._leaky_relu(input.clone() if input.requires_grad else input, negative_slope))


def gelu(input, approximate="none"):
    if not isinstance(approximate, str) or approximate not in ("none", "tanh"):
        raise ValueError(f"[gelu] approximate argument must be either none or tanh, got {approximate!r}")
    return _C._gelu(input, approximate == "tanh")


def softplus(input, beta=1.0, threshold=20.0):
    beta = _number(beta, "softplus", "beta")
    threshold = _number(threshold, "softplus", "threshold")
    return _C._softplus(_tensor(input, "softplus"), beta, threshold)


def silu(input, inplace=False):
    """x * sigmoid(x) (one fused C++ op, SiluBackward0); in place as torch's with inplace=True."""
    if not _flag(inplace, "silu", "inplace"):
        return _C._silu(_tensor(input, "silu"))
    _tensor(input, "silu")
    return input.copy_(_C._silu(input.clone() if input.requires_grad else input))


@_named_function
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps), composed of ops as torch's (the same graph: DivBackward0)."""
    if out is not None:
        raise NotImplementedError("[normalize] out= is not supported")
    p, eps = _number(p, "normalize", "p"), _number(eps, "normalize", "eps")
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"[normalize] dim must be an int or a tuple of ints, got {dim!r}")
    denom = _tensor(input, "normalize").norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    return input / denom


def logsigmoid(input):
    """log(sigmoid(x)), computed without overflow (LogSigmoidBackward0)."""
    return _C._log_sigmoid(_tensor(input, "logsigmoid"))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("[embedding] max_norm, scale_grad_by_freq and sparse are not supported")
    _tensor(weight, "embedding", "weight")
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) or weight.dim() < 1:
            raise TypeError(f"[embedding] padding_idx must be an int and weight 2-D, got {padding_idx!r}")
        n = weight.shape[0]
        if not -n <= padding_idx < n:
            raise ValueError(f"[embedding] padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        padding_idx %= n
    return _C._embedding(weight, input, padding_idx)


def adaptive_avg_pool2d(input, output_size):
    op = "adaptive_avg_pool2d"
    _tensor(input, op)
    size = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size, output_size]
    if len(size) != 2 or input.dim() < 2:
        raise ValueError(f"[{op}] output_size must be an int or a pair, and the input at least 2-D; got "
                         f"{output_size!r} for an input of shape {tuple(input.shape)}")
    # None keeps the input's size along that dim
    size = [input.shape[-2 + i] if s is None else s for i, s in enumerate(size)]
    _ints(size, op, "output_size")
    if size == [1, 1] and input.dim() in (3, 4):
        return input.mean((-2, -1), keepdim=True)  # global pooling: torch records MeanBackward1 here too
    return _C._adaptive_avg_pool2d(input, _ints(size, "adaptive_avg_pool2d", "output_size"))


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encodings, shape tensor.shape + (num_classes,); -1 takes the largest value + 1."""
    if isinstance(num_classes, (tuple, list)):
        raise TypeError(f"[one_hot] num_classes must be an int, got {type(num_classes).__name__}")
    return _C._one_hot(_tensor(tensor, "one_hot", "tensor"), _ints(num_classes, "one_hot", "num_classes")[0])


# ---- normalization: layer, RMS, group and instance norm (fused C++ ops) ----

def _normalized_shape(normalized_shape, op):
    """normalized_shape (a list/tuple/Size of ints: as torch, not a bare int) as a list of ints."""
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"[{op}] normalized_shape must be a tuple of ints, not {type(normalized_shape).__name__}")
    return _ints(normalized_shape, op, "normalized_shape")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalises over the trailing dims `normalized_shape` (NativeLayerNormBackward0)."""
    op = "layer_norm"
    return _C._layer_norm(_tensor(input, op), _normalized_shape(normalized_shape, op), _opt_tensor(weight, op, "weight"),
                          _opt_tensor(bias, op, "bias"), _number(eps, op, "eps"))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims; eps=None is the dtype's machine epsilon
    (FusedRmsNormBackward0: torch's node for its fused kernel; its CPU composite records MulBackward0)."""
    op = "rms_norm"
    return _C._rms_norm(_tensor(input, op), _normalized_shape(normalized_shape, op), _opt_tensor(weight, op, "weight"),
                        None if eps is None else _number(eps, op, "eps"))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalises each sample's groups of channels of an (N, C, *) input (NativeGroupNormBackward0)."""
    op = "group_norm"
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral):
        raise TypeError(f"[{op}] num_groups must be an int, got {type(num_groups).__name__}")
    return _C._group_norm(_tensor(input, op), _ints(int(num_groups), op, "num_groups")[0],
                          _opt_tensor(weight, op, "weight"), _opt_tensor(bias, op, "bias"), _number(eps, op, "eps"))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalises each (sample, channel) of an (N, C, *) input with its own statistics (updating the running
    ones when given), or with the running statistics when not use_input_stats."""
    op = "instance_norm"
    return _C._instance_norm(_tensor(input, op), _opt_tensor(weight, op, "weight"), _opt_tensor(bias, op, "bias"),
                             _opt_tensor(running_mean, op, "running_mean"), _opt_tensor(running_var, op, "running_var"),
                             bool(_flag(use_input_stats, op, "use_input_stats")), _number(momentum, op, "momentum"),
                             _number(eps, op, "eps"))
