"""fastnn.nn.functional: torch's functional API; each call is one C++ op."""

from __future__ import annotations

import math
import numbers
import typing
import warnings

from fastnn import _C, _factories
from fastnn._errors import named_function as _named_function
from fastnn.autograd.grad_mode import no_grad as _no_grad

if typing.TYPE_CHECKING:
    from fastnn._C import Tensor

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _tensor(x, op, what="input"):
    """x, checked to be a Tensor (None or another object is a TypeError naming the op, not a crash or an
    AttributeError further down)."""
    if not isinstance(x, _C.Tensor):
        raise TypeError(f"[{op}] {what} must be a Tensor, got {type(x).__name__}")
    return x


def _opt_tensor(x, op, what):
    return None if x is None else _tensor(x, op, what)


def _constant_tensor(x, op, what):
    """An optional tensor the op does not differentiate for (a loss's weights): refused when it requires grad, as
    torch does, rather than given no gradient."""
    x = _opt_tensor(x, op, what)
    if x is not None and x.requires_grad and _C.is_grad_enabled():
        raise RuntimeError(
            f"[{op}] The function '{op}' is not differentiable with respect to argument '{what}'. This input cannot "
            "have requires_grad True."
        )
    return x


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
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
            stacklevel=3,
        )
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


def relu(input: Tensor, inplace=False) -> Tensor:
    return _tensor(input, "relu").relu_() if _flag(inplace, "relu", "inplace") else _C.relu(input)


def sigmoid(input: Tensor) -> Tensor:
    return _C.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _C.tanh(input)


def _softmax_dim(input, dim, op, stacklevel):
    """dim, or torch's deprecated implicit choice (0 for 0-, 1- and 3-D inputs, else 1) with its warning."""
    if dim is not None:
        return dim
    if isinstance(stacklevel, bool) or not isinstance(stacklevel, int):
        raise TypeError(f"[{op}] _stacklevel must be an int, got {type(stacklevel).__name__}")
    warnings.warn(
        f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if _tensor(input, op).dim() in (0, 1, 3) else 1


def softmax(input: Tensor, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    dim = _softmax_dim(input, dim, "softmax", _stacklevel)
    return _C.softmax(input if dtype is None else _tensor(input, "softmax").to(_dtype(dtype, "softmax")), dim)


def softmin(input: Tensor, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    dim = _softmax_dim(input, dim, "softmin", _stacklevel)
    x = _tensor(input, "softmin")
    x = x if dtype is None else x.to(_dtype(dtype, "softmin"))
    if x.dtype == _C.dtype.bool:  # torch's words for the negation it computes
        raise TypeError(
            "[softmin] Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return _C.softmax(-x, dim)


def log_softmax(input: Tensor, dim=None, _stacklevel=3, dtype=None) -> Tensor:
    dim = _softmax_dim(input, dim, "log_softmax", _stacklevel)
    return _C.log_softmax(
        input if dtype is None else _tensor(input, "log_softmax").to(_dtype(dtype, "log_softmax")), dim
    )


def linear(input: Tensor, weight, bias=None) -> Tensor:
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


def conv2d(input: Tensor, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
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
    if input.dim() == 3:  # unbatched: as torch, through a batch of one (the result's grad_fn is SqueezeBackward1)
        return _C._conv2d(input.unsqueeze(0), weight, bias, stride, pad, dilation, groups).squeeze(0)
    return _C._conv2d(input, weight, bias, stride, pad, dilation, groups)


def max_pool2d(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
) -> typing.Any:
    out, indices = _C._max_pool2d_with_indices(
        _tensor(input, "max_pool2d"),
        _ints(kernel_size, "max_pool2d", "kernel_size"),
        []
        if stride is None or (isinstance(stride, (list, tuple)) and not stride)
        else _ints(stride, "max_pool2d", "stride"),
        _ints(padding, "max_pool2d", "padding"),
        _ints(dilation, "max_pool2d", "dilation"),
        ceil_mode,
    )
    return (out, indices) if return_indices else out


def max_pool2d_with_indices(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True
) -> tuple[Tensor, Tensor]:
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(
    input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Tensor:
    return _C._avg_pool2d(
        _tensor(input, "avg_pool2d"),
        _ints(kernel_size, "avg_pool2d", "kernel_size"),
        []
        if stride is None or (isinstance(stride, (list, tuple)) and not stride)
        else _ints(stride, "avg_pool2d", "stride"),
        _ints(padding, "avg_pool2d", "padding"),
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _warn_target_size(input, target, op):
    _tensor(input, op)
    _tensor(target, op, "target")
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def _weighted(errors, weight, reduction, input, op):
    """torch's weighted mse/l1 loss: errors * weight, summed, or divided by the weights' sum for 'mean'."""
    if tuple(_tensor(weight, op, "weight").shape) != tuple(input.shape):
        raise ValueError(f"[{op}] Weights and input must have the same size.")
    weighted = errors * weight
    return weighted if reduction == 0 else weighted.sum() if reduction == 2 else weighted.sum() / weight.sum()


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction="mean", weight=None) -> Tensor:
    _warn_target_size(input, target, "mse_loss")
    reduction = _reduction(reduction, size_average, reduce, "mse_loss")
    if weight is not None:
        return _weighted(_C.pow(input - target, 2), weight, reduction, input, "mse_loss")
    return _C._mse_loss(input, target, reduction)


def nll_loss(
    input: Tensor, target: Tensor, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"
) -> Tensor:
    return _C._nll_loss(
        input,
        target,
        _opt_tensor(weight, "nll_loss", "weight"),
        _reduction(reduction, size_average, reduce, "nll_loss"),
        ignore_index,
    )


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight=None,
    size_average=None,
    ignore_index=-100,
    reduce=None,
    reduction="mean",
    label_smoothing=0.0,
) -> Tensor:
    return _C._cross_entropy(
        input,
        target,
        _opt_tensor(weight, "cross_entropy", "weight"),
        _reduction(reduction, size_average, reduce, "cross_entropy"),
        ignore_index,
        _number(label_smoothing, "cross_entropy", "label_smoothing"),
    )


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction="mean", weight=None) -> Tensor:
    _warn_target_size(input, target, "l1_loss")
    reduction = _reduction(reduction, size_average, reduce, "l1_loss")
    if weight is not None:
        return _weighted(_C.abs(input - target), weight, reduction, input, "l1_loss")
    return _C._l1_loss(input, target, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction="mean", beta=1.0) -> Tensor:
    _warn_target_size(input, target, "smooth_l1_loss")
    beta = _number(beta, "smooth_l1_loss", "beta")
    if beta == 0.0:  # as torch: plain l1 (and its grad_fn names)
        return _C._l1_loss(input, target, _reduction(reduction, size_average, reduce, "smooth_l1_loss"))
    return _C._smooth_l1_loss(input, target, _reduction(reduction, size_average, reduce, "smooth_l1_loss"), beta)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight=None, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    return _C._binary_cross_entropy(
        input,
        target,
        _constant_tensor(weight, "binary_cross_entropy", "weight"),
        _reduction(reduction, size_average, reduce, "binary_cross_entropy"),
    )


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
) -> Tensor:
    op = "binary_cross_entropy_with_logits"
    return _C._binary_cross_entropy_with_logits(
        input,
        target,
        _constant_tensor(weight, op, "weight"),
        _constant_tensor(pos_weight, op, "pos_weight"),
        _reduction(reduction, size_average, reduce, op),
    )


def _check_dropout_p(p, op):
    p = _number(p, op, "p")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"[{op}] dropout probability has to be between 0 and 1, but got {p}")
    return p


def dropout(input: Tensor, p=0.5, training=True, inplace=False) -> Tensor:
    p = _check_dropout_p(p, "dropout")
    out = _C._dropout(_tensor(input, "dropout"), p, bool(_flag(training, "dropout", "training")))
    return input.copy_(out) if _flag(inplace, "dropout", "inplace") and out is not input else out


def dropout2d(input: Tensor, p=0.5, training=True, inplace=False) -> Tensor:
    p = _check_dropout_p(p, "dropout2d")
    if _tensor(input, "dropout2d").dim() not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated and will result "
            "in an error in a future release. To retain the behavior and silence this warning, please use "
            "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
            "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
            "inputs).",
            stacklevel=2,
        )
    if input.dim() == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
            "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
            "will change in a future release to interpret the input as one without a batch dimension, i.e. "
            "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
            "dropout1d instead.",
            stacklevel=2,
        )
    out = _C._feature_dropout(input, p, bool(_flag(training, "dropout2d", "training")))
    return input.copy_(out) if _flag(inplace, "dropout2d", "inplace") and out is not input else out


@_named_function
def dropout1d(input: Tensor, p=0.5, training=True, inplace=False) -> Tensor:
    """Channel-wise dropout of (N, C, L) or (C, L) inputs: whole channels zeroed, the rest scaled by 1 / (1 - p)."""
    p = _check_dropout_p(p, "dropout1d")
    if _tensor(input, "dropout1d").dim() not in (2, 3):
        raise RuntimeError(
            f"[dropout1d] dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
            "dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    x = input if input.dim() == 3 else input.unsqueeze(0)
    out = _C._feature_dropout(x, p, bool(_flag(training, "dropout1d", "training")))
    out = out if input.dim() == 3 else out.squeeze(0)
    return input.copy_(out) if _flag(inplace, "dropout1d", "inplace") and out is not input else out


def _alpha_dropout(input, p, training, inplace, feature, op):
    """torch's alpha dropout: kept values scaled by a, dropped ones set to SELU's negative saturation, then shifted by
    b, so that a SELU network's mean and variance are kept. `feature` drops whole channels."""
    p = _check_dropout_p(p, op)
    if p == 0 or not _flag(training, op, "training") or _tensor(input, op).numel() == 0:
        return input
    if p == 1:
        out = input * 0
    else:
        noise_shape = list(input.shape[:2]) + [1] * (input.dim() - 2) if feature else list(input.shape)
        keep = _C.bernoulli(_factories.full(noise_shape, 1 - p, dtype=input.dtype, device=input.device))
        alpha = 1.7580993408473766
        a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
        out = input * (keep * a) + ((keep - 1) * (alpha * a) + alpha * a * p)
    return input.copy_(out) if _flag(inplace, op, "inplace") else out


@_named_function
def alpha_dropout(input: Tensor, p=0.5, training=False, inplace=False) -> Tensor:
    return _alpha_dropout(input, p, training, inplace, False, "alpha_dropout")


@_named_function
def feature_alpha_dropout(input: Tensor, p=0.5, training=False, inplace=False) -> Tensor:
    return _alpha_dropout(input, p, training, inplace, True, "feature_alpha_dropout")


def batch_norm(
    input: Tensor, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
) -> Tensor:
    op = "batch_norm"
    return _C._batch_norm(
        input,
        _opt_tensor(weight, op, "weight"),
        _opt_tensor(bias, op, "bias"),
        _opt_tensor(running_mean, op, "running_mean"),
        _opt_tensor(running_var, op, "running_var"),
        bool(_flag(training, op, "training")),
        _number(momentum, op, "momentum"),
        _number(eps, op, "eps"),
    )


def leaky_relu(input: Tensor, negative_slope=0.01, inplace=False) -> Tensor:
    negative_slope = _number(negative_slope, "leaky_relu", "negative_slope")
    if not _flag(inplace, "leaky_relu", "inplace"):
        return _C._leaky_relu(input, negative_slope)
    # the op saves its input for backward: give it a copy, since `input` is overwritten here
    _tensor(input, "leaky_relu")
    return input.copy_(_C._leaky_relu(input.clone() if input.requires_grad else input, negative_slope))


def gelu(input: Tensor, approximate="none") -> Tensor:
    if not isinstance(approximate, str) or approximate not in ("none", "tanh"):
        raise ValueError(f"[gelu] approximate argument must be either none or tanh, got {approximate!r}")
    return _C._gelu(input, approximate == "tanh")


def softplus(input: Tensor, beta=1.0, threshold=20.0) -> Tensor:
    beta = _number(beta, "softplus", "beta")
    threshold = _number(threshold, "softplus", "threshold")
    return _C._softplus(_tensor(input, "softplus"), beta, threshold)


def silu(input: Tensor, inplace=False) -> Tensor:
    """x * sigmoid(x) (one fused C++ op, SiluBackward0); in place as torch's with inplace=True."""
    if not _flag(inplace, "silu", "inplace"):
        return _C._silu(_tensor(input, "silu"))
    _tensor(input, "silu")
    return input.copy_(_C._silu(input.clone() if input.requires_grad else input))


@_named_function
def normalize(input: Tensor, p=2.0, dim=1, eps=1e-12, out=None) -> Tensor:
    """input / max(||input||_p along dim, eps), composed of ops as torch's (the same graph: DivBackward0)."""
    if out is not None:
        raise NotImplementedError("[normalize] out= is not supported")
    p, eps = _number(p, "normalize", "p"), _number(eps, "normalize", "eps")
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"[normalize] dim must be an int or a tuple of ints, got {dim!r}")
    denom = _tensor(input, "normalize").norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    return input / denom


@_named_function
def cosine_similarity(x1: Tensor, x2: Tensor, dim=1, eps=1e-8) -> Tensor:
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along dim, the operands broadcast together."""
    _tensor(x1, "cosine_similarity", "x1"), _tensor(x2, "cosine_similarity", "x2")
    eps = _number(eps, "cosine_similarity", "eps")
    from fastnn._shape_ops import broadcast_tensors

    x1, x2 = broadcast_tensors(x1, x2)

    def norm(x):  # clamped to eps as torch does it (in place under no_grad: the gradient is the norm's)
        n = x.norm(2, dim, keepdim=True)
        return n + (n.detach().clamp(min=eps) - n.detach())

    return ((x1 / norm(x1)) * (x2 / norm(x2))).sum(dim)


@_named_function
def pairwise_distance(x1: Tensor, x2: Tensor, p=2.0, eps=1e-6, keepdim=False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    _tensor(x1, "pairwise_distance", "x1"), _tensor(x2, "pairwise_distance", "x2")
    p, eps = _number(p, "pairwise_distance", "p"), _number(eps, "pairwise_distance", "eps")
    return _pairwise_distance(x1, x2, p, eps, bool(keepdim))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed without overflow (LogSigmoidBackward0)."""
    return _C._log_sigmoid(_tensor(input, "logsigmoid"))


def embedding(
    input: Tensor, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False
) -> Tensor:
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("[embedding] scale_grad_by_freq and sparse are not supported")
    _tensor(weight, "embedding", "weight")
    if max_norm is not None:  # as torch: the looked-up rows of weight renormalised in place, outside autograd
        _C._embedding_renorm_(
            weight,
            _tensor(input, "embedding"),
            _number(max_norm, "embedding", "max_norm"),
            _number(norm_type, "embedding", "norm_type"),
        )
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) or weight.dim() < 1:
            raise TypeError(f"[embedding] padding_idx must be an int and weight 2-D, got {padding_idx!r}")
        n = weight.shape[0]
        if not -n <= padding_idx < n:
            raise ValueError(f"[embedding] padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        padding_idx %= n
    return _C._embedding(weight, input, padding_idx)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    op = "adaptive_avg_pool2d"
    _tensor(input, op)
    size = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size, output_size]
    if len(size) != 2 or input.dim() < 2:
        raise ValueError(
            f"[{op}] output_size must be an int or a pair, and the input at least 2-D; got "
            f"{output_size!r} for an input of shape {tuple(input.shape)}"
        )
    # None keeps the input's size along that dim
    size = [input.shape[-2 + i] if s is None else s for i, s in enumerate(size)]
    _ints(size, op, "output_size")
    if size == [1, 1] and input.dim() in (3, 4):
        return input.mean((-2, -1), keepdim=True)  # global pooling: torch records MeanBackward1 here too
    return _C._adaptive_avg_pool2d(input, _ints(size, "adaptive_avg_pool2d", "output_size"))


def one_hot(tensor, num_classes=-1) -> Tensor:
    """int64 one-hot encodings, shape tensor.shape + (num_classes,); -1 takes the largest value + 1."""
    if isinstance(num_classes, (tuple, list)):
        raise TypeError(f"[one_hot] num_classes must be an int, got {type(num_classes).__name__}")
    return _C._one_hot(_tensor(tensor, "one_hot", "tensor"), _ints(num_classes, "one_hot", "num_classes")[0])


# ---- attention ----


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
) -> Tensor:
    """softmax(scale * query @ key^T + mask) @ value in one fused C++ op (ScaledDotProductFlashAttentionForCpuBackward0);
    dropout on the attention weights draws from fastnn's generator."""
    op = "scaled_dot_product_attention"
    for name, x in (("query", query), ("key", key), ("value", value)):
        _tensor(x, op, name)
    for name, flag in (("is_causal", is_causal), ("enable_gqa", enable_gqa)):
        if not isinstance(flag, bool):
            raise TypeError(f"[{op}] {name} must be a bool, got {type(flag).__name__}")
    return _C._scaled_dot_product_attention(
        query,
        key,
        value,
        _opt_tensor(attn_mask, op, "attn_mask"),
        _check_dropout_p(dropout_p, op),
        is_causal,
        None if scale is None else _number(scale, op, "scale"),
        enable_gqa,
    )


# ---- normalization: layer, RMS, group and instance norm (fused C++ ops) ----


def _normalized_shape(normalized_shape, op):
    """normalized_shape (a list/tuple/Size of ints: as torch, not a bare int) as a list of ints."""
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"[{op}] normalized_shape must be a tuple of ints, not {type(normalized_shape).__name__}")
    return _ints(normalized_shape, op, "normalized_shape")


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps=1e-5) -> Tensor:
    """Normalises over the trailing dims `normalized_shape` (NativeLayerNormBackward0)."""
    op = "layer_norm"
    return _C._layer_norm(
        _tensor(input, op),
        _normalized_shape(normalized_shape, op),
        _opt_tensor(weight, op, "weight"),
        _opt_tensor(bias, op, "bias"),
        _number(eps, op, "eps"),
    )


def rms_norm(input: Tensor, normalized_shape, weight=None, eps=None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims; eps=None is the dtype's machine epsilon
    (FusedRmsNormBackward0: torch's node for its fused kernel; its CPU composite records MulBackward0)."""
    op = "rms_norm"
    return _C._rms_norm(
        _tensor(input, op),
        _normalized_shape(normalized_shape, op),
        _opt_tensor(weight, op, "weight"),
        None if eps is None else _number(eps, op, "eps"),
    )


def group_norm(input: Tensor, num_groups, weight=None, bias=None, eps=1e-5) -> Tensor:
    """Normalises each sample's groups of channels of an (N, C, *) input (NativeGroupNormBackward0)."""
    op = "group_norm"
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral):
        raise TypeError(f"[{op}] num_groups must be an int, got {type(num_groups).__name__}")
    return _C._group_norm(
        _tensor(input, op),
        _ints(int(num_groups), op, "num_groups")[0],
        _opt_tensor(weight, op, "weight"),
        _opt_tensor(bias, op, "bias"),
        _number(eps, op, "eps"),
    )


def instance_norm(
    input: Tensor,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
) -> Tensor:
    """Normalises each (sample, channel) of an (N, C, *) input with its own statistics (updating the running
    ones when given), or with the running statistics when not use_input_stats."""
    op = "instance_norm"
    return _C._instance_norm(
        _tensor(input, op),
        _opt_tensor(weight, op, "weight"),
        _opt_tensor(bias, op, "bias"),
        _opt_tensor(running_mean, op, "running_mean"),
        _opt_tensor(running_var, op, "running_var"),
        bool(_flag(use_input_stats, op, "use_input_stats")),
        _number(momentum, op, "momentum"),
        _number(eps, op, "eps"),
    )


# ---- 1-D and transposed convolution, 1-D and adaptive max pooling, pad, interpolate, pixel shuffle, fold/unfold
# (C++ ops declared in cpp/fastnn/ops/layers.h; the 1-D pools are the 2-D ones over a height-1 view, as torch's) ----


def _n_ints(v, n, op, what):
    """An int or an n-sequence of ints as a list of n ints."""
    values = _ints(v, op, what)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ValueError(f"[{op}] {what} must be an int or a {n}-tuple of ints, got {v!r}")
    return values


def _spatial_padding(padding, weight, dilation, stride, n, op):
    """(padding list, [extra...]): 'same' pads one more at the end than at the start when d*(k-1) is odd."""
    if isinstance(padding, str):
        if padding == "valid":
            return [0] * n, [0] * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"[{op}] padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, _tensor(weight, op, "weight").shape[2:])]
            return [t // 2 for t in total], [t % 2 for t in total]
        raise ValueError(f"[{op}] Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    return _n_ints(padding, n, op, "padding"), [0] * n


def conv1d(input: Tensor, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    op = "conv1d"
    _tensor(input, op)
    _opt_tensor(bias, op, "bias")
    stride, dilation = _n_ints(stride, 1, op, "stride"), _n_ints(dilation, 1, op, "dilation")
    pad, extra = _spatial_padding(padding, weight, dilation, stride, 1, op)
    if isinstance(groups, int):
        _ints(groups, op, "groups")
    if extra[0] and input.dim() in (2, 3):  # the extra right column as explicit zeros
        input = _C._constant_pad_nd(input, [0, 1], 0.0)
    if input.dim() == 2:  # unbatched: as torch, through a batch of one (the result's grad_fn is SqueezeBackward1)
        return _C._conv1d(input.unsqueeze(0), weight, bias, stride, pad, dilation, groups).squeeze(0)
    return _C._conv1d(input, weight, bias, stride, pad, dilation, groups)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, n):
    op = f"conv_transpose{n}d"
    _tensor(input, op)
    _tensor(weight, op, "weight")
    _opt_tensor(bias, op, "bias")
    if isinstance(padding, str):
        raise ValueError(f"[{op}] padding must be an int or a tuple of ints, got {padding!r}")
    if isinstance(groups, int):
        _ints(groups, op, "groups")
    args = [
        _n_ints(v, n, op, what)
        for v, what in ((stride, "stride"), (padding, "padding"), (output_padding, "output_padding"))
    ]
    fn = _C._conv_transpose1d if n == 1 else _C._conv_transpose2d
    dilation = _n_ints(dilation, n, op, "dilation")
    if input.dim() == n + 1:  # unbatched, as torch: through a batch of one
        return fn(input.unsqueeze(0), weight, bias, *args, groups, dilation).squeeze(0)
    return fn(input, weight, bias, *args, groups, dilation)


def conv_transpose1d(
    input: Tensor, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(
    input: Tensor, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def _as_1d(op, op2d, input, fn):
    """fn(input viewed as (.., 1, L)), its errors named op rather than op2d; 2-D or 3-D input as torch's."""
    if _tensor(input, op).dim() not in (2, 3):
        raise ValueError(f"[{op}] Expected 2D or 3D input tensor, but got input of shape {tuple(input.shape)}")
    try:
        return fn(input.unsqueeze(-2))
    except (ValueError, TypeError, IndexError, RuntimeError) as e:
        prefix = f"[{op2d}]"
        if str(e).startswith(prefix):
            raise type(e)(f"[{op}]{str(e)[len(prefix) :]}") from None
        raise


def max_pool1d(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
) -> typing.Any:
    op = "max_pool1d"
    k = _n_ints(kernel_size, 1, op, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _n_ints(stride, 1, op, "stride")
    p, d = _n_ints(padding, 1, op, "padding"), _n_ints(dilation, 1, op, "dilation")
    out, indices = _as_1d(
        op,
        "max_pool2d",
        input,
        lambda x: _C._max_pool2d_with_indices(
            x, [1] + k, [1] + s, [0] + p, [1] + d, bool(_flag(ceil_mode, op, "ceil_mode"))
        ),
    )
    return (out.squeeze(-2), indices.squeeze(-2)) if return_indices else out.squeeze(-2)


@_named_function
def max_pool1d_with_indices(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True
) -> tuple[Tensor, Tensor]:
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, n, op):
    """Each value of `input` put at its index (h * W + w) of a zero output plane: max_pool's indices inverted."""
    k = _n_ints(kernel_size, n, op, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _n_ints(stride, n, op, "stride")
    p = _n_ints(padding, n, op, "padding")
    _tensor(input, op), _tensor(indices, op, "indices")
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(
            f"[{op}] expected {n + 1}D or {n + 2}D input, got {input.dim()}D input of shape {list(input.shape)}"
        )
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            f"[{op}] Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    spatial = list(input.shape[-n:])
    default = [(i - 1) * si - 2 * pi + ki for i, si, pi, ki in zip(spatial, s, p, k)]
    size = default if output_size is None else [int(v) for v in list(output_size)[-n:]]
    for got, want, si in zip(size, default, s):
        if not want - si < got < want + si:
            raise ValueError(
                f"[{op}] invalid output_size {size} (expected sizes between {[w - x + 1 for w, x in zip(default, s)]} and {[w + x - 1 for w, x in zip(default, s)]})"
            )
    lead = list(input.shape[:-n])
    plane = math.prod(size)
    flat_idx = indices.reshape(lead + [-1])
    if flat_idx.numel() and (int(flat_idx.min()) < 0 or int(flat_idx.max()) >= plane):
        raise RuntimeError(
            f"[{op}] Found an invalid max index: {int(flat_idx.max())} (output volumes are of size {'x'.join(map(str, size))})"
        )
    out = _factories.zeros(lead + [plane], dtype=input.dtype, device=input.device)
    return out.scatter(-1, flat_idx, input.reshape(lead + [-1])).reshape(lead + size)


@_named_function
def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


@_named_function
def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


@_named_function
def lp_pool1d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """(sum over each window of x^p)^(1/p), as torch composes it from avg_pool1d."""
    norm_type = _number(norm_type, "lp_pool1d", "norm_type")
    (k,) = _n_ints(kernel_size, 1, "lp_pool1d", "kernel_size")
    out = avg_pool1d(_tensor(input, "lp_pool1d").pow(norm_type), k, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(k).pow(1.0 / norm_type)


@_named_function
def lp_pool2d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """(sum over each window of x^p)^(1/p), as torch composes it from avg_pool2d."""
    norm_type = _number(norm_type, "lp_pool2d", "norm_type")
    kh, kw = _n_ints(kernel_size, 2, "lp_pool2d", "kernel_size")
    out = avg_pool2d(_tensor(input, "lp_pool2d").pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kh * kw).pow(1.0 / norm_type)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    op = "avg_pool1d"
    k = _n_ints(kernel_size, 1, op, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _n_ints(stride, 1, op, "stride")
    p = _n_ints(padding, 1, op, "padding")
    ceil_mode = bool(_flag(ceil_mode, op, "ceil_mode"))
    count_include_pad = bool(_flag(count_include_pad, op, "count_include_pad"))
    return _as_1d(
        op,
        "avg_pool2d",
        input,
        lambda x: _C._avg_pool2d(x, [1] + k, [1] + s, [0] + p, ceil_mode, count_include_pad, None),
    ).squeeze(-2)


def _adaptive_size(input, output_size, n, op):
    size = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * n
    if len(size) != n or _tensor(input, op).dim() < n:
        raise ValueError(
            f"[{op}] output_size must be an int or a {n}-tuple, and the input at least {n}-D; got "
            f"{output_size!r} for an input of shape {tuple(input.shape)}"
        )
    return _ints([input.shape[i - n] if s is None else s for i, s in enumerate(size)], op, "output_size")


def adaptive_max_pool2d(input: Tensor, output_size, return_indices=False) -> typing.Any:
    out, indices = _C._adaptive_max_pool2d(input, _adaptive_size(input, output_size, 2, "adaptive_max_pool2d"))
    return (out, indices) if return_indices else out


@_named_function
def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices=True) -> tuple[Tensor, Tensor]:
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices=False) -> typing.Any:
    op = "adaptive_max_pool1d"
    size = _adaptive_size(input, output_size, 1, op)
    out, indices = _as_1d(op, "adaptive_max_pool2d", input, lambda x: _C._adaptive_max_pool2d(x, [1] + size))
    return (out.squeeze(-2), indices.squeeze(-2)) if return_indices else out.squeeze(-2)


@_named_function
def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices=True) -> tuple[Tensor, Tensor]:
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    op = "adaptive_avg_pool1d"
    size = _adaptive_size(input, output_size, 1, op)
    return _as_1d(op, "adaptive_avg_pool2d", input, lambda x: _C._adaptive_avg_pool2d(x, [1] + size)).squeeze(-2)


_PAD_MODES = {"reflect": "_reflection_pad", "replicate": "_replication_pad", "circular": "_circular_pad"}


def pad(input: Tensor, pad, mode="constant", value=None) -> Tensor:
    _tensor(input, "pad")
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"[pad] pad must be a tuple of ints, got {type(pad).__name__}")
    pad = _ints(pad, "pad", "pad")
    if mode == "constant":
        return _C._constant_pad_nd(input, pad, 0.0 if value is None else _number(value, "pad", "value"))
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise NotImplementedError(f"[pad] Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise ValueError(f'[pad] Padding mode "{mode}" doesn\'t take in value argument')
    return getattr(_C, _PAD_MODES[mode])(input, pad)


_INTERP_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
) -> Tensor:
    op = "interpolate"
    n = _tensor(input, op).dim() - 2
    if not isinstance(mode, str) or mode not in ("nearest", "nearest-exact", "area", *_INTERP_DIMS):
        raise NotImplementedError(
            f"[{op}] Input Error: mode {mode!r} is not one of nearest, nearest-exact, linear, bilinear, bicubic, area"
        )
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError(
                f"[{op}] align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
        align_corners = False
    else:
        align_corners = bool(_flag(align_corners, op, "align_corners")) if align_corners is not None else False
    if _flag(antialias, op, "antialias"):
        raise NotImplementedError(f"[{op}] antialias=True is not supported")
    if n < 1:
        raise ValueError(
            f"[{op}] expected an input with a batch and a channel dim and 1 or 2 spatial dims, got shape "
            f"{tuple(input.shape)}"
        )
    if size is not None and scale_factor is not None:
        raise ValueError(f"[{op}] only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"[{op}] recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * n
        if len(sizes) != n:
            raise ValueError(
                f"[{op}] Input and output must have the same number of spatial dimensions, but got input "
                f"with spatial dimensions of {list(input.shape[2:])} and output size of {list(sizes)}. "
                "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                "(o1, o2, ...,oK) format."
            )
        sizes, scales = _ints(sizes, op, "size"), []
    elif scale_factor is not None:
        factors = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * n
        if len(factors) != n:
            raise ValueError(
                f"[{op}] Input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(input.shape[2:])} and scale_factor of "
                f"{list(factors)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                "scale_factor in (s1, s2, ...,sK) format."
            )
        scales = [_number(f, op, "scale_factor") for f in factors]
        try:
            sizes = [math.floor(float(s) * f) for s, f in zip(input.shape[2:], scales)]
        except (OverflowError, ValueError):
            raise ValueError(f"[{op}] scale_factor {scale_factor!r} gives no finite output size") from None
        if recompute_scale_factor:
            scales = []
    else:
        raise ValueError(f"[{op}] either size or scale_factor should be defined")
    if mode == "area":
        return adaptive_avg_pool1d(input, sizes) if n == 1 else adaptive_avg_pool2d(input, sizes)
    need = _INTERP_DIMS.get(mode, n)
    if need != n:
        raise NotImplementedError(f"[{op}] Got {n + 2}D input, but {mode} mode needs {need + 2}D input")
    if n > 2:
        raise NotImplementedError(f"[{op}] resampling {n} spatial dims is not supported (1 or 2)")
    return _C._upsample(input, sizes, scales, mode, align_corners)


@_named_function
def upsample(input: Tensor, size=None, scale_factor=None, mode="nearest", align_corners=None) -> Tensor:
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input: Tensor, upscale_factor) -> Tensor:
    return _C._pixel_shuffle(
        _tensor(input, "pixel_shuffle"), _n_ints(upscale_factor, 1, "pixel_shuffle", "upscale_factor")[0]
    )


def pixel_unshuffle(input: Tensor, downscale_factor) -> Tensor:
    return _C._pixel_unshuffle(
        _tensor(input, "pixel_unshuffle"), _n_ints(downscale_factor, 1, "pixel_unshuffle", "downscale_factor")[0]
    )


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    op = "unfold"
    return _C._unfold_im2col(
        _tensor(input, op),
        *(
            _n_ints(v, 2, op, what)
            for v, what in (
                (kernel_size, "kernel_size"),
                (dilation, "dilation"),
                (padding, "padding"),
                (stride, "stride"),
            )
        ),
    )


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    op = "fold"
    return _C._fold_col2im(
        _tensor(input, op),
        *(
            _n_ints(v, 2, op, what)
            for v, what in (
                (output_size, "output_size"),
                (kernel_size, "kernel_size"),
                (dilation, "dilation"),
                (padding, "padding"),
                (stride, "stride"),
            )
        ),
    )


# ---- more activations, losses and embedding_bag ----


def _maybe_inplace(input, op, inplace, fn, fn_):
    """fn(input), or with inplace=True fn_(input): input overwritten, taking over the op's node as in torch."""
    _tensor(input, op)
    return fn_(input) if _flag(inplace, op, "inplace") else fn(input)


def elu(input: Tensor, alpha=1.0, inplace=False) -> Tensor:
    alpha = _number(alpha, "elu", "alpha")
    return _maybe_inplace(input, "elu", inplace, lambda x: _C._elu(x, alpha), lambda x: _C._elu_(x, alpha))


def elu_(input: Tensor, alpha=1.0) -> Tensor:
    return elu(input, alpha, True)


def selu(input: Tensor, inplace=False) -> Tensor:
    return _maybe_inplace(input, "selu", inplace, _C._selu, _C._selu_)


def selu_(input: Tensor) -> Tensor:
    return selu(input, True)


def celu(input: Tensor, alpha=1.0, inplace=False) -> Tensor:
    alpha = _number(alpha, "celu", "alpha")
    return _maybe_inplace(input, "celu", inplace, lambda x: _C._celu(x, alpha), lambda x: _C._celu_(x, alpha))


def celu_(input: Tensor, alpha=1.0) -> Tensor:
    return celu(input, alpha, True)


def hardtanh(input: Tensor, min_val=-1.0, max_val=1.0, inplace=False) -> Tensor:
    lo, hi = _number(min_val, "hardtanh", "min_val"), _number(max_val, "hardtanh", "max_val")
    if lo > hi:
        raise ValueError(f"[hardtanh] min_val cannot be greater than max_val (got {min_val} and {max_val})")
    return _maybe_inplace(
        input, "hardtanh", inplace, lambda x: _C._hardtanh(x, lo, hi), lambda x: _C._hardtanh_(x, lo, hi)
    )


def hardtanh_(input: Tensor, min_val=-1.0, max_val=1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, True)


def relu6(input: Tensor, inplace=False) -> Tensor:
    """hardtanh(input, 0, 6), as torch (HardtanhBackward0)."""
    return _maybe_inplace(
        input, "relu6", inplace, lambda x: _C._hardtanh(x, 0.0, 6.0), lambda x: _C._hardtanh_(x, 0.0, 6.0)
    )


def hardswish(input: Tensor, inplace=False) -> Tensor:
    return _maybe_inplace(input, "hardswish", inplace, _C._hardswish, _C._hardswish_)


def hardsigmoid(input: Tensor, inplace=False) -> Tensor:
    return _maybe_inplace(input, "hardsigmoid", inplace, _C._hardsigmoid, _C._hardsigmoid_)


def mish(input: Tensor, inplace=False) -> Tensor:
    return _maybe_inplace(input, "mish", inplace, _C._mish, _C._mish_)


def _threshold(input, threshold, value, inplace):
    th, v = _number(threshold, "threshold", "threshold"), _number(value, "threshold", "value")
    return _maybe_inplace(
        input, "threshold", inplace, lambda x: _C._threshold(x, th, v), lambda x: _C._threshold_(x, th, v)
    )


def threshold(input: Tensor, threshold, value, inplace=False) -> Tensor:
    return _threshold(input, threshold, value, inplace)


def threshold_(input: Tensor, threshold, value) -> Tensor:
    return _threshold(input, threshold, value, True)


def glu(input: Tensor, dim=-1) -> Tensor:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"[glu] dim must be an int, got {type(dim).__name__}")
    return _C._glu(_tensor(input, "glu"), _ints(int(dim), "glu", "dim")[0])


@_named_function
def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input), composed as torch's (SubBackward0)."""
    return _tensor(input, "tanhshrink") - input.tanh()


@_named_function
def softsign(input: Tensor) -> Tensor:
    """input / (1 + |input|), composed as torch's (DivBackward0)."""
    return _tensor(input, "softsign") / (input.abs() + 1)


def hardshrink(input: Tensor, lambd=0.5) -> Tensor:
    return _C._hardshrink(_tensor(input, "hardshrink"), _number(lambd, "hardshrink", "lambd"))


def softshrink(input: Tensor, lambd=0.5) -> Tensor:
    return _C._softshrink(_tensor(input, "softshrink"), _number(lambd, "softshrink", "lambd"))


def prelu(input: Tensor, weight) -> Tensor:
    return _C._prelu(_tensor(input, "prelu"), _tensor(weight, "prelu", "weight"))


def _reduce(loss, reduction):
    return loss if reduction == 0 else loss.sum() if reduction == 2 else loss.mean()


def huber_loss(input: Tensor, target: Tensor, reduction="mean", delta=1.0, weight=None) -> Tensor:
    _warn_target_size(input, target, "huber_loss")
    reduction = _reduction(reduction, op="huber_loss")
    delta = _number(delta, "huber_loss", "delta")
    if weight is None:
        return _C._huber_loss(input, target, reduction, delta)
    if tuple(_tensor(weight, "huber_loss", "weight").shape) != tuple(input.shape):
        raise ValueError(
            f"[huber_loss] Weights and input must have the same size (got {tuple(weight.shape)} and "
            f"{tuple(input.shape)})."
        )
    return _reduce(_C._huber_loss(input, target, 0, delta) * weight, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction="mean") -> Tensor:
    return _C._soft_margin_loss(
        _tensor(input, "soft_margin_loss"),
        _tensor(target, "soft_margin_loss", "target"),
        _reduction(reduction, size_average, reduce, "soft_margin_loss"),
    )


def _xlogy_self(t):
    """t * log(t), 0 where t is 0 (torch's xlogy(t, t))."""
    zero = t == 0
    return t * _C.where(zero, 1.0, t).log()


@_named_function
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction="mean", log_target=False) -> Tensor:
    op = "kl_div"
    _tensor(input, op)
    _tensor(target, op, "target")
    batchmean = False
    if size_average is not None or reduce is not None:
        reduction = _reduction(reduction, size_average, reduce, op)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                stacklevel=3,
            )
        batchmean = reduction == "batchmean"
        reduction = 2 if batchmean else _reduction(reduction, op=op)
    if _flag(log_target, op, "log_target"):
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy_self(target) - target * input
    loss = _reduce(loss, reduction)
    return loss / input.shape[0] if batchmean and input.dim() != 0 else loss


@_named_function
def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input=True,
    full=False,
    size_average=None,
    eps=1e-8,
    reduce=None,
    reduction="mean",
) -> Tensor:
    op = "poisson_nll_loss"
    reduction = _reduction(reduction, size_average, reduce, op)
    _tensor(input, op)
    _tensor(target, op, "target")
    eps = _number(eps, op, "eps")
    if _flag(log_input, op, "log_input"):
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if _flag(full, op, "full"):
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


@_named_function
def gaussian_nll_loss(input: Tensor, target: Tensor, var, full=False, eps=1e-6, reduction="mean") -> Tensor:
    op = "gaussian_nll_loss"
    _tensor(input, op)
    _tensor(target, op, "target")
    eps = _number(eps, op, "eps")
    if isinstance(var, numbers.Real):
        if var < 0:
            raise ValueError(f"[{op}] var has negative entry/entries")
        var = _factories.full_like(input, float(var))
    elif bool((_tensor(var, op, "var") < 0).any()):
        raise ValueError(f"[{op}] var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):  # homoscedastic: one variance per row
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError(
                f"[{op}] var is of incorrect size: {tuple(var.shape)} for an input of shape {tuple(input.shape)}"
            )
    reduction = _reduction(reduction, op=op)
    var = var.clone()
    with _no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if _flag(full, op, "full"):
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@_named_function
def multilabel_soft_margin_loss(
    input: Tensor, target: Tensor, weight=None, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(reduction, size_average, reduce, op)
    _tensor(input, op)
    _tensor(target, op, "target")
    if input.dim() == 0:
        raise ValueError(f"[{op}] expected an input with a class dim, got a 0-d tensor")
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * _tensor(weight, op, "weight")
    loss = loss.sum(dim=input.dim() - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def _clamp_min0(x):
    return _C._clamp_min(x, 0.0)


@_named_function
def cosine_embedding_loss(
    input1, input2, target: Tensor, margin=0, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    op = "cosine_embedding_loss"
    reduction = _reduction(reduction, size_average, reduce, op)
    _tensor(input1, op, "input1")
    _tensor(input2, op, "input2")
    _tensor(target, op, "target")
    margin = _number(margin, op, "margin")
    tdim = target.dim()
    if tdim not in (0, 1):
        raise ValueError(f"[{op}] 0D or 1D target tensor expected, multi-target not supported (got a {tdim}-D target)")
    if input1.dim() != tdim + 1 or input2.dim() != tdim + 1:
        raise ValueError(
            f"[{op}] {tdim}D target tensor expects {tdim + 1}D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}."
        )
    prod_sum = (input1 * input2).sum(tdim)
    mag1 = (input1 * input1).sum(tdim) + 1e-12
    mag2 = (input2 * input2).sum(tdim) + 1e-12
    cos = prod_sum / (mag1 * mag2).sqrt()
    zeros = _factories.zeros_like(cos)
    out = _C.where(target == 1, 1 - cos, zeros) + _C.where(target == -1, _clamp_min0(cos - margin), zeros)
    return _reduce(out, reduction)


@_named_function
def margin_ranking_loss(
    input1, input2, target: Tensor, margin=0, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    op = "margin_ranking_loss"
    reduction = _reduction(reduction, size_average, reduce, op)
    for t, what in ((input1, "input1"), (input2, "input2"), (target, "target")):
        _tensor(t, op, what)
    if not input1.dim() == input2.dim() == target.dim():
        raise ValueError(
            f"[{op}] All input tensors should have same dimension but got sizes: input1: "
            f"{tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: {tuple(target.shape)}"
        )
    return _reduce(_clamp_min0(-target * (input1 - input2) + _number(margin, op, "margin")), reduction)


@_named_function
def hinge_embedding_loss(
    input: Tensor, target: Tensor, margin=1.0, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    op = "hinge_embedding_loss"
    reduction = _reduction(reduction, size_average, reduce, op)
    _tensor(input, op)
    _tensor(target, op, "target")
    zeros = _factories.zeros_like(input)
    margin_clamp = _clamp_min0(_number(margin, op, "margin") - input)
    out = _C.where(target != 1, margin_clamp, zeros) + _C.where(target != -1, input, zeros)
    return _reduce(out, reduction)


def _pairwise_distance(x1, x2, p, eps, keepdim=False):
    return (x1 - x2 + eps).norm(p, max(x1.dim(), x2.dim()) - 1, keepdim=keepdim)


@_named_function
def triplet_margin_loss(
    anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    op = "triplet_margin_loss"
    reduction = _reduction(reduction, size_average, reduce, op)
    margin, p, eps = _number(margin, op, "margin"), _number(p, op, "p"), _number(eps, op, "eps")
    if margin <= 0:
        raise ValueError(f"[{op}] margin must be greater than 0, got {margin}")
    dims = [
        _tensor(t, op, what).dim() for t, what in ((anchor, "anchor"), (positive, "positive"), (negative, "negative"))
    ]
    if len(set(dims)) != 1:
        raise ValueError(
            f"[{op}] The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative {dims[2]}D inputs"
        )
    if dims[0] == 0:
        raise ValueError(f"[{op}] expected inputs with at least 1 dimension, got 0-d tensors")
    dist_pos = _pairwise_distance(anchor, positive, p, eps)
    dist_neg = _pairwise_distance(anchor, negative, p, eps)
    if _flag(swap, op, "swap"):
        dist_neg = _C.minimum(dist_neg, _pairwise_distance(positive, negative, p, eps))
    return _reduce(_clamp_min0(margin + dist_pos - dist_neg), reduction)


_BAG_MODES = {"sum": 0, "mean": 1, "max": 2}


@_named_function
def embedding_bag(
    input: Tensor,
    weight,
    offsets=None,
    max_norm=None,
    norm_type=2,
    scale_grad_by_freq=False,
    mode="mean",
    sparse=False,
    per_sample_weights=None,
    include_last_offset=False,
    padding_idx=None,
) -> Tensor:
    op = "embedding_bag"
    _tensor(input, op)
    _tensor(weight, op, "weight")
    _opt_tensor(offsets, op, "offsets")
    _opt_tensor(per_sample_weights, op, "per_sample_weights")
    if _flag(sparse, op, "sparse"):
        raise NotImplementedError(f"[{op}] sparse=True (sparse gradients) is not supported")
    if not isinstance(mode, str) or mode not in _BAG_MODES:
        raise ValueError(f"[{op}] mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"[{op}] per_sample_weights was not None. per_sample_weights is only supported for "
            f"mode='sum' (got mode='{mode}')."
        )
    if weight.dim() != 2:
        raise ValueError(
            f"[{op}] expected a 2-D weight (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}"
        )
    if padding_idx is None:
        padding_idx = -1
    else:
        n = weight.shape[0]
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral):
            raise TypeError(f"[{op}] padding_idx must be an int, got {type(padding_idx).__name__}")
        if not -n <= padding_idx < n:
            raise ValueError(
                f"[{op}] padding_idx must be within the number of embeddings, {-n} through {n - 1}, but "
                f"got {padding_idx}"
            )
        padding_idx %= n
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != tuple(input.shape):
        raise ValueError(
            f"[{op}] If per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, then it must "
            f"have the same shape as the input ({tuple(input.shape)})"
        )
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                f"[{op}] if input is 2D, then offsets has to be None, as input is treated is a mini-batch "
                "of fixed length sequences. However, found offsets of type Tensor"
            )
        bags, length = input.shape
        if length == 0:
            raise ValueError(f"[{op}] a 2-D input needs at least one index per bag, got shape {tuple(input.shape)}")
        offsets = _factories.arange(0, bags * length, length, dtype=input.dtype, device=input.device)
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError(f"[{op}] offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError(f"[{op}] offsets has to be a 1D Tensor, got shape {tuple(offsets.shape)}")
    else:
        raise ValueError(f"[{op}] input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if max_norm is not None:
        _C._embedding_renorm_(weight, input, _number(max_norm, op, "max_norm"), _number(norm_type, op, "norm_type"))
    return _C._embedding_bag(
        weight,
        input,
        offsets,
        _BAG_MODES[mode],
        bool(_flag(scale_grad_by_freq, op, "scale_grad_by_freq")),
        per_sample_weights,
        bool(_flag(include_last_offset, op, "include_last_offset")),
        padding_idx,
    )


def multi_margin_loss(
    input: Tensor, target: Tensor, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    op = "multi_margin_loss"
    if isinstance(p, bool) or not isinstance(p, numbers.Integral):
        raise TypeError(f"[{op}] p must be an int, got {type(p).__name__}")
    if p not in (1, 2):
        raise ValueError(f"[{op}] only p == 1 and p == 2 supported, got {p}")
    return _C._multi_margin_loss(
        _tensor(input, op),
        _tensor(target, op, "target"),
        int(p),
        _number(margin, op, "margin"),
        _opt_tensor(weight, op, "weight"),
        _reduction(reduction, size_average, reduce, op),
    )


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction="mean") -> Tensor:
    op = "multilabel_margin_loss"
    return _C._multilabel_margin_loss(
        _tensor(input, op), _tensor(target, op, "target"), _reduction(reduction, size_average, reduce, op)
    )
