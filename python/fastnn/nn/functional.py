"""fastnn.nn.functional: torch's functional API; each call is one C++ op."""

import warnings

from fastnn import _C

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _reduction(reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:  # torch's deprecated pair
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                      stacklevel=3)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
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
    return input.relu_() if inplace else _C.relu(input)


def sigmoid(input):
    return _C.sigmoid(input)


def tanh(input):
    return _C.tanh(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        raise TypeError("[softmax] the dim argument is required (implicit dim choice is deprecated in torch)")
    return _C.softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        raise TypeError("[log_softmax] the dim argument is required (implicit dim choice is deprecated in torch)")
    return _C.log_softmax(input if dtype is None else input.to(dtype), dim)


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
        input, _ints(kernel_size, "max_pool2d", "kernel_size"),
        [] if stride is None or stride == [] else _ints(stride, "max_pool2d", "stride"),
        _ints(padding, "max_pool2d", "padding"), _ints(dilation, "max_pool2d", "dilation"), ceil_mode)
    return (out, indices) if return_indices else out


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _C._avg_pool2d(input, _ints(kernel_size, "avg_pool2d", "kernel_size"),
                          [] if stride is None or stride == [] else _ints(stride, "avg_pool2d", "stride"),
                          _ints(padding, "avg_pool2d", "padding"), ceil_mode, count_include_pad, divisor_override)


def _warn_target_size(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_target_size(input, target)
    return _C._mse_loss(input, target, _reduction(reduction, size_average, reduce))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    return _C._nll_loss(input, target, weight, _reduction(reduction, size_average, reduce), ignore_index)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    return _C._cross_entropy(input, target, weight, _reduction(reduction, size_average, reduce), ignore_index,
                             float(label_smoothing))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_target_size(input, target)
    return _C._l1_loss(input, target, _reduction(reduction, size_average, reduce))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _warn_target_size(input, target)
    if beta == 0.0:  # as torch: plain l1 (and its grad_fn names)
        return _C._l1_loss(input, target, _reduction(reduction, size_average, reduce))
    return _C._smooth_l1_loss(input, target, _reduction(reduction, size_average, reduce), float(beta))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    return _C._binary_cross_entropy(input, target, weight, _reduction(reduction, size_average, reduce))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    return _C._binary_cross_entropy_with_logits(input, target, weight, pos_weight,
                                                _reduction(reduction, size_average, reduce))


def _check_dropout_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    _check_dropout_p(p)
    out = _C._dropout(input, float(p), bool(training))
    return input.copy_(out) if inplace and out is not input else out


def dropout2d(input, p=0.5, training=True, inplace=False):
    _check_dropout_p(p)
    if input.dim() not in (3, 4):
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
    out = _C._feature_dropout(input, float(p), bool(training))
    return input.copy_(out) if inplace and out is not input else out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    return _C._batch_norm(input, weight, bias, running_mean, running_var, bool(training), float(momentum), float(eps))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if not inplace:
        return _C._leaky_relu(input, float(negative_slope))
    # the op saves its input for backward: give it a copy, since `input` is overwritten here
    return input.copy_(_C._leaky_relu(input.clone() if input.requires_grad else input, float(negative_slope)))


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"[gelu] approximate argument must be either none or tanh, got {approximate!r}")
    return _C._gelu(input, approximate == "tanh")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("[embedding] max_norm, scale_grad_by_freq and sparse are not supported")
    if padding_idx is not None:
        n = weight.shape[0]
        if not -n <= padding_idx < n:
            raise ValueError(f"[embedding] padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        padding_idx %= n
    return _C._embedding(weight, input, padding_idx)


def adaptive_avg_pool2d(input, output_size):
    size = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size, output_size]
    # None keeps the input's size along that dim
    size = [input.shape[-2 + i] if s is None else s for i, s in enumerate(size)]
    if size == [1, 1] and input.dim() in (3, 4):
        return input.mean((-2, -1), keepdim=True)  # global pooling: torch records MeanBackward1 here too
    return _C._adaptive_avg_pool2d(input, _ints(size, "adaptive_avg_pool2d", "output_size"))
