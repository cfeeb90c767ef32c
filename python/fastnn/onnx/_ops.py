"""Converters: one function per fastnn op the exporter knows, taking the op's own arguments (torch's names and
defaults) after (graph, output), emitting ONNX nodes and returning the output's ONNX name (a list for several).

FUNCTIONAL holds nn.functional's ops, TENSOR the fastnn.<op> functions and Tensor methods (called with the
tensor first, as `input` or `self`)."""

import math

import numpy as np

from fastnn._C import Tensor
from fastnn._dtype import int64 as _INT64
from fastnn._size import Size
from fastnn.onnx._graph import SymInt, np_dtype, unsupported

INT64_MAX = 2**63 - 1


def _tuple(v, n):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,) * n
    return v * n if len(v) == 1 else v


def _axis(d, rank):
    return d + rank if d < 0 else d


def _unary(op):
    def convert(g, out, input):
        return g.node(op, [g.value(input)])

    return convert


def _identity(g, out, input, *args, **kwargs):
    if out is not input:
        g.aliased.update((id(input), id(out)))
    return g.value(input)


def _copy(g, out, input, *args, **kwargs):
    return g.value(input)


def _dropout(name):
    def convert(g, out, input, p=0.5, training=True, inplace=False):
        if training:
            raise unsupported(
                f"F.{name} with training=True is random: pass training=self.training (or use "
                f"nn.{name.capitalize()} modules), which the export runs in eval mode"
            )
        return _identity(g, out, input)

    return convert


# ---- elementwise arithmetic ----
def _operand(g, v, out):
    """v (a tensor or a number) as an ONNX value of out's dtype."""
    if isinstance(v, Tensor):
        return g.cast(g.value(v), v.dtype, out.dtype)
    return g.value(v, np_dtype(out.dtype))


def _binary(op, reverse=False):
    def convert(g, out, input, other, *, alpha=1, rounding_mode=None):
        if rounding_mode is not None:
            raise unsupported(f"{op} with rounding_mode={rounding_mode!r} is not supported")
        a, b = _operand(g, input, out), _operand(g, other, out)
        if alpha != 1:
            b = g.node("Mul", [b, g.scalar(alpha, np_dtype(out.dtype))])
        return g.node(op, [b, a] if reverse else [a, b])

    return convert


def _compare(op, negate=False):
    def convert(g, out, input, other):
        import fastnn

        dtype = fastnn.result_type(input, other)
        a = g.cast(g.value(input), input.dtype, dtype)
        b = g.cast(g.value(other), other.dtype, dtype) if isinstance(other, Tensor) else g.value(other, np_dtype(dtype))
        y = g.node(op, [a, b])
        return g.node("Not", [y]) if negate else y

    return convert


def where(g, out, condition, input, other):
    return g.node("Where", [g.value(condition), _operand(g, input, out), _operand(g, other, out)])


def pow_(g, out, input, exponent):
    if isinstance(exponent, Tensor):
        return _binary("Pow")(g, out, input, exponent)
    return g.node("Pow", [g.value(input), g.value(exponent, np_dtype(out.dtype))])


def matmul(g, out, input, other):
    return g.node("MatMul", [g.value(input), g.value(other)])


def clamp(g, out, input, min=None, max=None):
    dt = np_dtype(out.dtype)
    x = g.value(input)
    for bound, op in ((min, "Max"), (max, "Min")):
        if bound is not None:
            x = g.node(
                op,
                [
                    x,
                    g.cast(g.value(bound), bound.dtype, out.dtype)
                    if isinstance(bound, Tensor)
                    else g.scalar(bound, dt),
                ],
            )
    return x


# ---- reductions ----
def _reduce(op):
    def convert(g, out, input, dim=None, keepdim=False, *, dtype=None):
        x = g.cast(g.value(input), input.dtype, out.dtype)  # dtype=, or sum's int64 for bool/int inputs
        if dim is None:
            return g.node(op, [x], keepdims=0)
        return _reduce_node(g, op, x, [_axis(d, input.dim()) for d in _tuple(dim, 1)], keepdim)

    return convert


def _reduce_node(g, op, x, dims, keepdim):
    if op == "ReduceSum" or g.opset >= 18:
        return g.node(op, [x, g.ints(dims)], keepdims=int(keepdim))
    return g.node(op, [x], axes=dims, keepdims=int(keepdim))


def argmax(g, out, input, dim=None, keepdim=False):
    x = g.value(input)
    if dim is None:
        x, dim = g.node("Reshape", [x, g.ints([-1])]), 0
    return g.node("ArgMax", [x], axis=_axis(dim, max(input.dim(), 1)), keepdims=int(keepdim))


def softmax(g, out, input, dim=None, _stacklevel=3, dtype=None, op="Softmax"):
    if dim is None:
        dim = 0 if input.dim() in (0, 1, 3) else 1
    x = g.value(input)
    if dtype is not None:
        x = g.cast(x, input.dtype, dtype)
    return g.node(op, [x], axis=_axis(dim, input.dim()))


def log_softmax(g, out, input, dim=None, _stacklevel=3, dtype=None):
    return softmax(g, out, input, dim, _stacklevel, dtype, op="LogSoftmax")


# ---- shapes ----
def _sizes(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def view(g, out, input, *shape):
    shape = _sizes(shape)
    if any(type(s) is int and s == 0 for s in shape):
        raise unsupported("view/reshape to a shape with a literal 0 is not supported (ONNX reads 0 as 'copy')")
    g.aliased.update((id(input), id(out)))
    return g.node("Reshape", [g.value(input), g.shape_value(shape)])


def view_as(g, out, input, other):
    g.aliased.update((id(input), id(out)))
    return g.node("Reshape", [g.value(input), g.node("Shape", [g.value(other)])])


def flatten(g, out, input, start_dim=0, end_dim=-1):
    rank = input.dim()
    if rank == 0:
        return g.node("Reshape", [g.value(input), g.ints([1])])
    start, end = _axis(start_dim, rank), _axis(end_dim, rank)
    if start == end:
        return _identity(g, out, input)
    g.aliased.update((id(input), id(out)))
    x = g.value(input)
    if end == rank - 1 and start == 1:
        return g.node("Flatten", [x], axis=1)
    sizes = [0] * start + [-1] + ([("value", g.shape_slice(x, end + 1))] if end < rank - 1 else [])
    return g.node("Reshape", [x, g.shape_value(sizes)])


def unflatten(g, out, input, dim, sizes):
    rank = input.dim()
    d = _axis(dim, rank)
    x = g.value(input)
    parts = [0] * d + list(sizes) + ([("value", g.shape_slice(x, d + 1))] if d < rank - 1 else [])
    g.aliased.update((id(input), id(out)))
    return g.node("Reshape", [x, g.shape_value(parts)])


def permute(g, out, input, *dims):
    g.aliased.update((id(input), id(out)))
    return g.node("Transpose", [g.value(input)], perm=[_axis(d, input.dim()) for d in _sizes(dims)])


def transpose(g, out, input, dim0, dim1):
    perm = list(range(input.dim()))
    a, b = _axis(dim0, input.dim()), _axis(dim1, input.dim())
    perm[a], perm[b] = perm[b], perm[a]
    g.aliased.update((id(input), id(out)))
    return g.node("Transpose", [g.value(input)], perm=perm)


def t(g, out, input):
    return transpose(g, out, input, 0, 1) if input.dim() == 2 else _identity(g, out, input)


def squeeze(g, out, input, dim=None):
    dims = (
        [d for d in range(input.dim()) if input.shape[d] == 1]
        if dim is None
        else [_axis(d, input.dim()) for d in _tuple(dim, 1) if input.shape[_axis(d, input.dim())] == 1]
    )
    if not dims:
        return _identity(g, out, input)
    g.aliased.update((id(input), id(out)))
    return g.node("Squeeze", [g.value(input), g.ints(dims)])


def unsqueeze(g, out, input, dim):
    g.aliased.update((id(input), id(out)))
    return g.node("Unsqueeze", [g.value(input), g.ints([_axis(dim, input.dim() + 1)])])


def cat(g, out, tensors, dim=0):
    names = [g.cast(g.value(x), x.dtype, out.dtype) for x in tensors if not (x.dim() == 1 and x.shape[0] == 0)]
    return g.node("Concat", names, axis=_axis(dim, out.dim()))


def stack(g, out, tensors, dim=0):
    d = g.ints([_axis(dim, out.dim())])
    return g.node(
        "Concat",
        [g.node("Unsqueeze", [g.cast(g.value(x), x.dtype, out.dtype), d]) for x in tensors],
        axis=_axis(dim, out.dim()),
    )


def chunk(g, out, input, chunks, dim=0):
    d = _axis(dim, input.dim())
    g.aliased.update([id(input)] + [id(o) for o in out])
    names = g.node("Split", [g.value(input), g.ints([o.shape[d] for o in out])], outputs=len(out), axis=d)
    return names if len(out) > 1 else [names]


def split(g, out, input, split_size_or_sections, dim=0):
    return chunk(g, out, input, len(out), dim)


def expand(g, out, input, *sizes):
    sizes = [1 if type(s) is int and s == -1 else s for s in _sizes(sizes)]  # -1 keeps the size: broadcast a 1
    g.aliased.update((id(input), id(out)))
    return g.node("Expand", [g.value(input), g.shape_value(sizes)])


def _filled(fill):
    def convert(g, out, *size, out_=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
        from onnx import numpy_helper

        shape = (
            size[0][1] if size and isinstance(size[0], tuple) and size[0][0] == "value" else g.shape_value(_sizes(size))
        )
        return g.node("ConstantOfShape", [shape], value=numpy_helper.from_array(np.full(1, fill, np_dtype(out.dtype))))

    return convert


def arange(g, out, start=0, end=None, step=1, dtype=None, requires_grad=False, device=None):
    start, end = (0, start) if end is None else (start, end)
    dt = np_dtype(out.dtype)

    def scalar(v):
        if isinstance(v, SymInt):
            return g.cast(g.node("Squeeze", [v.value(g), g.ints([0])]), _INT64, out.dtype)
        return g.scalar(v, dt)

    return g.node("Range", [scalar(start), scalar(end), scalar(step)])


def getitem(g, out, input, key):
    key = key if isinstance(key, tuple) else (key,)
    if any(not (k is None or k is Ellipsis or isinstance(k, (int, slice))) or isinstance(k, bool) for k in key):
        raise unsupported(
            "indexing a traced tensor with tensors, lists or bools is not supported (only ints, slices, None and ...)"
        )
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    expanded = []
    for k in key:
        expanded.extend([slice(None)] * (input.dim() - used) if k is Ellipsis else [k])
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    dim = 0
    for pos, k in enumerate(expanded):
        if k is None:
            new.append(pos - len([d for d in drop if d < dim]))
            continue
        if isinstance(k, int):
            starts.append(k)
            ends.append(INT64_MAX if k == -1 else k + 1)
            axes.append(dim)
            steps.append(1)
            drop.append(dim)
        elif k != slice(None):
            starts.append(0 if k.start is None else k.start)
            ends.append(INT64_MAX if k.stop is None else k.stop)
            axes.append(dim)
            steps.append(1 if k.step is None else int(k.step))
        dim += 1
    x = g.value(input)
    if axes:
        x = g.node("Slice", [x, g.shape_value(starts), g.shape_value(ends), g.ints(axes), g.ints(steps)])
    if drop:
        x = g.node("Squeeze", [x, g.ints(drop)])
    if new:
        x = g.node("Unsqueeze", [x, g.ints(new)])
    g.aliased.update((id(input), id(out)))
    return x


def size(g, out, input, dim=None):
    sizes = g.sym_sizes(input)
    return tuple.__new__(Size, sizes) if dim is None else sizes[_axis(dim, input.dim())]


def _cast_to(dtype):
    def convert(g, out, input, *args, **kwargs):
        return g.cast(g.value(input), input.dtype, dtype) if input.dtype != dtype else _identity(g, out, input)

    return convert


def to(g, out, input, *args, **kwargs):
    if input.dtype == out.dtype:
        return _copy(g, out, input)
    return g.cast(g.value(input), input.dtype, out.dtype)


# ---- layers ----
def linear(g, out, input, weight, bias=None):
    x, w = g.value(input), g.value(weight)
    if input.dim() == 2:
        return g.node("Gemm", [x, w] + ([g.value(bias)] if bias is not None else []), transB=1)
    y = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
    return y if bias is None else g.node("Add", [y, g.value(bias)])


def _conv(n):
    def convert(g, out, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        k = tuple(weight.shape[2:])
        dilation = _tuple(dilation, n)
        if isinstance(padding, str):
            total = [0] * n if padding == "valid" else [d * (kk - 1) for d, kk in zip(dilation, k)]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            pads = list(_tuple(padding, n)) * 2
        inputs = [g.value(input), g.value(weight)] + ([g.value(bias)] if bias is not None else [])
        return g.node(
            "Conv",
            inputs,
            kernel_shape=list(k),
            strides=list(_tuple(stride, n)),
            pads=pads,
            dilations=list(dilation),
            group=groups,
        )

    return convert


def _conv_transpose(n):
    def convert(g, out, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        inputs = [g.value(input), g.value(weight)] + ([g.value(bias)] if bias is not None else [])
        return g.node(
            "ConvTranspose",
            inputs,
            kernel_shape=list(weight.shape[2:]),
            strides=list(_tuple(stride, n)),
            pads=list(_tuple(padding, n)) * 2,
            dilations=list(_tuple(dilation, n)),
            output_padding=list(_tuple(output_padding, n)),
            group=groups,
        )

    return convert


def _pool_attrs(input, out, n, kernel_size, stride, padding, dilation, ceil_mode, op):
    kernel = _tuple(kernel_size, n)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _tuple(stride, n)
    padding, dilation = _tuple(padding, n), _tuple(dilation, n)
    if ceil_mode:  # exported only where it changes nothing (ONNX runtimes differ on torch's ceil-mode windows)
        floor = [
            (s + 2 * p - d * (k - 1) - 1) // st + 1
            for s, p, d, k, st in zip(input.shape[-n:], padding, dilation, kernel, stride)
        ]
        if list(out.shape[-n:]) != floor:
            raise unsupported(f"{op} with ceil_mode=True that adds a partial window is not supported")
    return {"kernel_shape": list(kernel), "strides": list(stride), "pads": list(padding) * 2}, dilation


def _max_pool(n):
    def convert(g, out, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        if return_indices:
            raise unsupported(f"max_pool{n}d with return_indices=True is not supported")
        attrs, dilation = _pool_attrs(input, out, n, kernel_size, stride, padding, dilation, ceil_mode, f"max_pool{n}d")
        return g.node("MaxPool", [g.value(input)], dilations=list(dilation), **attrs)

    return convert


def _avg_pool(n):
    def convert(
        g,
        out,
        input,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        if divisor_override is not None:
            raise unsupported(f"avg_pool{n}d with divisor_override is not supported")
        attrs, _ = _pool_attrs(input, out, n, kernel_size, stride, padding, 1, ceil_mode, f"avg_pool{n}d")
        return g.node("AveragePool", [g.value(input)], count_include_pad=int(bool(count_include_pad)), **attrs)

    return convert


def _adaptive(n, kind):
    def convert(g, out, input, output_size, return_indices=False):
        if return_indices:
            raise unsupported(f"adaptive_max_pool{n}d with return_indices=True is not supported")
        sizes, outs = tuple(input.shape[-n:]), tuple(out.shape[-n:])
        x = g.value(input)
        if outs == (1,) * n:
            return g.node("Global" + kind, [x])
        if any(s % o for s, o in zip(sizes, outs)):
            raise unsupported(
                f"adaptive_{kind[:3].lower()}_pool{n}d from {sizes} to {outs} is not supported (the "
                "input size must be a multiple of the output size)"
            )
        kernel = [s // o for s, o in zip(sizes, outs)]
        return g.node(kind, [x], kernel_shape=kernel, strides=kernel)

    return convert


def batch_norm(
    g, out, input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    if training or running_mean is None or running_var is None:
        raise unsupported(
            "batch_norm with batch statistics (training=True, or track_running_stats=False) is not "
            "supported: export a model with running statistics, in eval mode"
        )
    c, dt = input.shape[1], np_dtype(out.dtype)
    w = g.value(weight) if weight is not None else g.const(np.ones(c, dt))
    b = g.value(bias) if bias is not None else g.const(np.zeros(c, dt))
    return g.node(
        "BatchNormalization", [g.value(input), w, b, g.value(running_mean), g.value(running_var)], epsilon=float(eps)
    )


def layer_norm(g, out, input, normalized_shape, weight=None, bias=None, eps=1e-5):
    if g.opset < 17:
        raise unsupported("layer_norm needs opset_version >= 17 (LayerNormalization)")
    shape = tuple(_tuple(normalized_shape, 1))
    dt = np_dtype(out.dtype)
    w = g.value(weight) if weight is not None else g.const(np.ones(shape, dt))
    b = g.value(bias) if bias is not None else g.const(np.zeros(shape, dt))
    return g.node("LayerNormalization", [g.value(input), w, b], axis=-len(shape), epsilon=float(eps))


def embedding(
    g, out, input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False
):
    if max_norm is not None:
        raise unsupported("embedding with max_norm is not supported (it rewrites the weight while running)")
    return g.node("Gather", [g.value(weight), g.value(input)], axis=0)


def pad(g, out, input, pad, mode="constant", value=None):
    n = input.dim()
    begins, ends = [0] * n, [0] * n
    for i in range(len(pad) // 2):
        begins[n - 1 - i], ends[n - 1 - i] = int(pad[2 * i]), int(pad[2 * i + 1])
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    if mode == "circular" and g.opset < 19:
        raise unsupported("pad with mode='circular' needs opset_version >= 19")
    inputs = [g.value(input), g.ints(begins + ends)]
    if mode == "constant":
        inputs.append(g.scalar(0 if value is None else value, np_dtype(out.dtype)))
    return g.node("Pad", inputs, mode=onnx_mode)


# ---- activations ----
def _dt(out):
    return np_dtype(out.dtype)


def leaky_relu(g, out, input, negative_slope=0.01, inplace=False):
    return g.node("LeakyRelu", [g.value(input)], alpha=float(negative_slope))


def elu(g, out, input, alpha=1.0, inplace=False):
    return g.node("Elu", [g.value(input)], alpha=float(alpha))


def celu(g, out, input, alpha=1.0, inplace=False):
    return g.node("Celu", [g.value(input)], alpha=float(alpha))


def selu(g, out, input, inplace=False):
    return g.node(
        "Selu", [g.value(input)], alpha=1.6732632423543772848170429916717, gamma=1.0507009873554804934193349852946
    )


def hardtanh(g, out, input, min_val=-1.0, max_val=1.0, inplace=False):
    dt = _dt(out)
    return g.node("Clip", [g.value(input), g.scalar(min_val, dt), g.scalar(max_val, dt)])


def relu6(g, out, input, inplace=False):
    return hardtanh(g, out, input, 0.0, 6.0)


def hardsigmoid(g, out, input, inplace=False):
    return g.node("HardSigmoid", [g.value(input)], alpha=1.0 / 6, beta=0.5)


def hardswish(g, out, input, inplace=False):
    return g.node("HardSwish", [g.value(input)])


def silu(g, out, input, inplace=False):
    x = g.value(input)
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


def mish(g, out, input, inplace=False):
    x = g.value(input)
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


def softplus(g, out, input, beta=1.0, threshold=20.0):
    dt = _dt(out)
    x = g.value(input)
    bx = x if beta == 1 else g.node("Mul", [x, g.scalar(beta, dt)])
    sp = g.node("Softplus", [bx])
    if beta != 1:
        sp = g.node("Div", [sp, g.scalar(beta, dt)])
    return g.node("Where", [g.node("Greater", [bx, g.scalar(threshold, dt)]), x, sp])


def logsigmoid(g, out, input):
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [g.value(input)])])])


def gelu(g, out, input, approximate="none"):
    x = g.value(input)
    if g.opset >= 20:
        return g.node("Gelu", [x], approximate=approximate)
    dt = _dt(out)
    if approximate == "tanh":
        cube = g.node("Mul", [g.node("Pow", [x, g.scalar(3.0, dt)]), g.scalar(0.044715, dt)])
        inner = g.node("Mul", [g.node("Add", [x, cube]), g.scalar(math.sqrt(2 / math.pi), dt)])
        phi = g.node("Tanh", [inner])
    else:
        phi = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2), dt)])])
    half = g.node("Mul", [x, g.scalar(0.5, dt)])
    return g.node("Mul", [half, g.node("Add", [phi, g.scalar(1.0, dt)])])


def prelu(g, out, input, weight):
    w = g.value(weight)
    if weight.numel() > 1 and input.dim() > 2:
        w = g.node("Reshape", [w, g.ints([weight.numel()] + [1] * (input.dim() - 2))])
    return g.node("PRelu", [g.value(input), w])


def scaled_dot_product_attention(
    g, out, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    if dropout_p:
        raise unsupported("scaled_dot_product_attention with dropout_p > 0 is random: pass 0 in eval mode")
    if enable_gqa and query.shape[-3] != key.shape[-3]:
        raise unsupported("scaled_dot_product_attention with grouped-query heads is not supported")
    dt = _dt(out)
    rank = key.dim()
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    kt = g.node("Transpose", [g.value(key)], perm=perm)
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    s = g.node("Mul", [g.node("MatMul", [g.value(query), kt]), g.scalar(scale, dt)])
    if is_causal or attn_mask is not None:
        minus_inf = g.scalar(-np.inf, dt)
    if is_causal:  # tril of ones (L, S), built from the runtime sizes
        if g.opset < 14:
            raise unsupported("scaled_dot_product_attention with is_causal=True needs opset_version >= 14 (Trilu)")
        size = g.node(
            "Concat",
            [
                g.shape_slice(g.value(query), query.dim() - 2, query.dim() - 1),
                g.shape_slice(g.value(key), rank - 2, rank - 1),
            ],
            axis=0,
        )
        from onnx import numpy_helper

        ones = g.node("ConstantOfShape", [size], value=numpy_helper.from_array(np.ones(1, np.bool_)))
        s = g.node("Where", [g.node("Trilu", [ones], upper=0), s, minus_inf])
    if attn_mask is not None:
        mask = g.value(attn_mask)
        s = (
            g.node("Where", [mask, s, minus_inf])
            if str(attn_mask.dtype).endswith("bool")
            else g.node("Add", [s, g.cast(mask, attn_mask.dtype, out.dtype)])
        )
    p = g.node("Softmax", [s], axis=-1)
    if is_causal or attn_mask is not None:  # a row masked entirely gives zeros, as torch's (not NaN)
        rowmax = _reduce_node(g, "ReduceMax", s, [-1], True)
        p = g.node("Where", [g.node("Equal", [rowmax, minus_inf]), g.scalar(0.0, dt), p])
    return g.node("MatMul", [p, g.value(value)])


def relu(g, out, input, inplace=False):
    return g.node("Relu", [g.value(input)])


FUNCTIONAL = {
    "relu": relu,
    "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "softmax": softmax,
    "log_softmax": log_softmax,
    "linear": linear,
    "conv1d": _conv(1),
    "conv2d": _conv(2),
    "conv_transpose1d": _conv_transpose(1),
    "conv_transpose2d": _conv_transpose(2),
    "max_pool1d": _max_pool(1),
    "max_pool2d": _max_pool(2),
    "avg_pool1d": _avg_pool(1),
    "avg_pool2d": _avg_pool(2),
    "adaptive_avg_pool1d": _adaptive(1, "AveragePool"),
    "adaptive_avg_pool2d": _adaptive(2, "AveragePool"),
    "adaptive_max_pool1d": _adaptive(1, "MaxPool"),
    "adaptive_max_pool2d": _adaptive(2, "MaxPool"),
    "dropout": _dropout("dropout"),
    "dropout2d": _dropout("dropout2d"),
    "batch_norm": batch_norm,
    "layer_norm": layer_norm,
    "embedding": embedding,
    "pad": pad,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "celu": celu,
    "selu": selu,
    "hardtanh": hardtanh,
    "relu6": relu6,
    "hardsigmoid": hardsigmoid,
    "hardswish": hardswish,
    "silu": silu,
    "mish": mish,
    "softplus": softplus,
    "logsigmoid": logsigmoid,
    "gelu": gelu,
    "prelu": prelu,
    "softsign": _unary("Softsign"),
    "scaled_dot_product_attention": scaled_dot_product_attention,
}

_ARITH = {
    "add": "Add",
    "sub": "Sub",
    "subtract": "Sub",
    "mul": "Mul",
    "multiply": "Mul",
    "div": "Div",
    "divide": "Div",
    "true_divide": "Div",
}

TENSOR = {
    **{name: _binary(op) for name, op in _ARITH.items()},
    **{name + "_": _binary(op) for name, op in _ARITH.items()},
    "__add__": _binary("Add"),
    "__radd__": _binary("Add", True),
    "__sub__": _binary("Sub"),
    "__rsub__": _binary("Sub", True),
    "__mul__": _binary("Mul"),
    "__rmul__": _binary("Mul", True),
    "__truediv__": _binary("Div"),
    "__rtruediv__": _binary("Div", True),
    "__iadd__": _binary("Add"),
    "__isub__": _binary("Sub"),
    "__imul__": _binary("Mul"),
    "__itruediv__": _binary("Div"),
    **{
        name: _compare(op, neg)
        for names, op, neg in (
            (("__gt__", "gt", "greater"), "Greater", False),
            (("__lt__", "lt", "less"), "Less", False),
            (("__ge__", "ge", "greater_equal"), "GreaterOrEqual", False),
            (("__le__", "le", "less_equal"), "LessOrEqual", False),
            (("__eq__", "eq"), "Equal", False),
            (("__ne__", "ne", "not_equal"), "Equal", True),
        )
        for name in names
    },
    "where": where,
    "__neg__": _unary("Neg"),
    "neg": _unary("Neg"),
    "negative": _unary("Neg"),
    "pow": pow_,
    "__pow__": pow_,
    "matmul": matmul,
    "__matmul__": matmul,
    "mm": matmul,
    "bmm": matmul,
    "clamp": clamp,
    "clip": clamp,
    "relu": relu,
    "relu_": relu,
    "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "exp": _unary("Exp"),
    "log": _unary("Log"),
    "sqrt": _unary("Sqrt"),
    "abs": _unary("Abs"),
    "__abs__": _unary("Abs"),
    "reciprocal": _unary("Reciprocal"),
    "erf": _unary("Erf"),
    "softmax": softmax,
    "log_softmax": log_softmax,
    "mean": _reduce("ReduceMean"),
    "sum": _reduce("ReduceSum"),
    "argmax": argmax,
    "view": view,
    "reshape": view,
    "view_as": view_as,
    "reshape_as": view_as,
    "flatten": flatten,
    "unflatten": unflatten,
    "permute": permute,
    "transpose": transpose,
    "swapaxes": transpose,
    "t": t,
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
    "cat": cat,
    "concat": cat,
    "concatenate": cat,
    "stack": stack,
    "__getitem__": getitem,
    "size": size,
    "chunk": chunk,
    "split": split,
    "expand": expand,
    "zeros": _filled(0),
    "ones": _filled(1),
    "arange": arange,
    "new_zeros": lambda g, out, input, *size, **kw: _filled(0)(g, out, *size, **kw),
    "new_ones": lambda g, out, input, *size, **kw: _filled(1)(g, out, *size, **kw),
    "zeros_like": lambda g, out, input, **kw: _filled(0)(g, out, ("value", g.node("Shape", [g.value(input)]))),
    "ones_like": lambda g, out, input, **kw: _filled(1)(g, out, ("value", g.node("Shape", [g.value(input)]))),
    "contiguous": _copy,
    "clone": _copy,
    "detach": _identity,
    "to": to,
    "float": to,
    "double": to,
    "long": to,
    "int": to,
    "type_as": to,
}

# Tensor properties (read on a traced tensor): "shape" gives SymInts; these give tensors
PROPERTIES = {"T": lambda g, out, input: permute(g, out, input, *reversed(range(input.dim()))), "data": _identity}

# Queries whose answers depend on the values: they cannot be part of a graph
DATA_DEPENDENT = {
    "item",
    "tolist",
    "numpy",
    "__array__",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__complex__",
    "__iter__",
    "equal",
    "allclose",
    "is_nonzero",
    "__setitem__",
}


# ---- recurrent layers (converted as whole modules) ----
_RNN = {
    "LSTM": ("LSTM", (0, 3, 1, 2)),
    "GRU": ("GRU", (1, 0, 2)),
    "RNN_TANH": ("RNN", (0,)),
    "RNN_RELU": ("RNN", (0,)),
}  # ONNX's op and its gate order from torch's (LSTM: ifgo -> iofc, GRU: rzn -> zrn)


def rnn(g, out, module, input, hx=None):
    """RNN/LSTM/GRU: one ONNX op per layer (both directions in one), the states sliced per layer."""
    if not isinstance(input, Tensor):
        raise unsupported(f"{type(module).__name__} on a PackedSequence is not supported")
    if getattr(module, "proj_size", 0):
        raise unsupported("LSTM with proj_size is not supported")
    op, order = _RNN[module.mode]
    hidden, dirs = module.hidden_size, 2 if module.bidirectional else 1
    batched = input.dim() == 3
    x = g.value(input)
    if not batched:
        x = g.node("Unsqueeze", [x, g.ints([1])])
    elif module.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    states = [] if hx is None else list(hx) if module.mode == "LSTM" else [hx]
    states = [g.value(s) if batched else g.node("Unsqueeze", [g.value(s), g.ints([1])]) for s in states]

    def gates(t):
        a = t.detach().numpy()
        return a.reshape(len(order), hidden, *a.shape[1:])[list(order)].reshape(a.shape)

    finals = [[] for _ in range(3 if op == "LSTM" else 2)][1:]
    for layer in range(module.num_layers):
        sfx = ["", "_reverse"][:dirs]
        w = np.stack([gates(getattr(module, f"weight_ih_l{layer}{s}")) for s in sfx])
        r = np.stack([gates(getattr(module, f"weight_hh_l{layer}{s}")) for s in sfx])
        inputs = [x, g.const(w, "W"), g.const(r, "R")]
        inputs.append(
            g.const(
                np.stack(
                    [
                        np.concatenate(
                            [
                                gates(getattr(module, f"bias_ih_l{layer}{s}")),
                                gates(getattr(module, f"bias_hh_l{layer}{s}")),
                            ]
                        )
                        for s in sfx
                    ]
                ),
                "B",
            )
            if module.bias
            else ""
        )
        inputs.append("")  # sequence_lens: every sequence has the full length
        inputs += [
            g.node("Slice", [s, g.ints([layer * dirs]), g.ints([(layer + 1) * dirs]), g.ints([0])]) for s in states
        ]
        attrs = {"hidden_size": hidden, "direction": "bidirectional" if dirs == 2 else "forward"}
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        if op == "RNN":
            attrs["activations"] = ["Tanh" if module.mode == "RNN_TANH" else "Relu"] * dirs
        y, *last = g.node(op, inputs, outputs=len(finals) + 1, **attrs)
        for acc, v in zip(finals, last):
            acc.append(v)
        x = g.node("Reshape", [g.node("Transpose", [y], perm=[0, 2, 1, 3]), g.ints([0, 0, -1])])
    if not batched:
        x = g.node("Squeeze", [x, g.ints([1])])
    elif module.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    finals = [v[0] if len(v) == 1 else g.node("Concat", v, axis=0) for v in finals]
    if not batched:
        finals = [g.node("Squeeze", [v, g.ints([1])]) for v in finals]
    return [x, finals[0] if op != "LSTM" else finals]
