"""nn.functional against PyTorch: conv2d, pooling, linear, softmax, losses (values and gradients),
float64 gradchecks of every backward node, zero-size batches and argument errors."""

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as FF
from oracle import assert_close, check_op, torch


rng = np.random.default_rng(1234)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def f64(*shape):
    return fastnn.tensor(randn(*shape, dtype=np.float64), dtype=fastnn.float64).requires_grad_(True)


def gradcheck(fn, inputs, **kw):
    assert fastnn.autograd.gradcheck(fn, inputs, **kw)


# ---------------------------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------------------------
# (input shape, weight shape, bias?, kwargs)
CONV_CASES = [
    ((2, 3, 8, 8), (4, 3, 3, 3), True, {}),
    ((2, 3, 8, 8), (4, 3, 3, 3), False, {}),
    ((2, 3, 9, 7), (4, 3, 3, 2), True, dict(stride=2)),
    ((2, 3, 9, 7), (4, 3, 3, 3), True, dict(stride=(2, 1))),
    ((1, 2, 7, 8), (3, 2, 3, 3), True, dict(padding=1)),
    ((1, 2, 7, 8), (3, 2, 3, 5), True, dict(padding=(2, 1))),
    ((2, 2, 6, 6), (3, 2, 3, 3), True, dict(padding="same")),
    ((2, 2, 6, 6), (3, 2, 3, 3), True, dict(padding="same", dilation=2)),
    ((2, 2, 6, 6), (3, 2, 3, 3), True, dict(padding="valid")),
    ((2, 2, 7, 6), (3, 2, 2, 2), True, dict(padding="same")),  # odd total padding: torch pads more at the end
    ((2, 2, 7, 6), (3, 2, 2, 3), False, dict(padding="same", dilation=(3, 1))),
    ((3, 6, 5), (3, 3, 4, 2), True, dict(padding="same")),
    ((1, 2, 11, 10), (3, 2, 3, 3), True, dict(dilation=2)),
    ((1, 2, 11, 10), (3, 2, 3, 2), True, dict(dilation=(2, 3), padding=2, stride=2)),
    ((2, 4, 6, 6), (6, 2, 3, 3), True, dict(groups=2)),
    ((2, 4, 6, 6), (4, 1, 3, 3), False, dict(groups=4, padding=1)),  # depthwise
    ((2, 6, 7, 7), (9, 2, 2, 3), True, dict(groups=3, stride=2, padding=1, dilation=2)),
    ((3, 4, 5, 6), (5, 4, 1, 1), True, {}),  # 1x1: pointwise fast path
    ((3, 4, 5, 6), (5, 4, 1, 1), False, dict(stride=2)),  # 1x1 strided: im2col path
    ((3, 4, 5, 6), (6, 2, 1, 1), True, dict(groups=2)),
    ((3, 4, 5, 6), (5, 4, 1, 1), True, dict(padding=1)),
    ((3, 5, 5), (2, 3, 3, 3), True, dict(padding=1)),  # unbatched (C, H, W)
    ((3, 5, 5), (2, 3, 2, 2), True, dict(stride=2)),  # unbatched, stride
    ((5, 1, 12, 12), (6, 1, 5, 5), True, {}),  # LeNet's first layer
    ((9, 3, 6, 6), (4, 3, 3, 3), True, dict(padding=1)),  # batch not a multiple of the weight-grad chunk
    ((2, 3, 4, 4), (2, 3, 4, 4), True, {}),  # kernel covers the image: 1x1 output
    ((1, 1, 1, 1), (1, 1, 1, 1), True, {}),
]


def _conv_ids():
    return [f"{i}-{x}x{w}-{'b' if b else 'nob'}-{kw}" for i, (x, w, b, kw) in enumerate(CONV_CASES)]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("xs,ws,has_bias,kw", CONV_CASES, ids=_conv_ids())
def test_conv2d_matches_torch(xs, ws, has_bias, kw):
    arrays = [randn(*xs), randn(*ws)] + ([randn(ws[0])] if has_bias else [])
    if has_bias:
        check_op(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, **kw), arrays, uses_module=True)
    else:
        check_op(lambda m, x, w: m.nn.functional.conv2d(x, w, **kw), arrays, uses_module=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_dtypes(dtype):
    f, t = check_op(
        lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1, stride=2),
        [randn(2, 3, 7, 7, dtype=dtype), randn(4, 3, 3, 3, dtype=dtype), randn(4, dtype=dtype)],
        uses_module=True,
    )
    assert f.dtype == (fastnn.float32 if dtype == np.float32 else fastnn.float64)


@pytest.mark.parametrize("view", ["transpose_hw", "strided", "channels_last"])
def test_conv2d_non_contiguous_input(view):
    def prep(m, x):
        if x.dim() != 4:
            return x
        if view == "transpose_hw":
            return x.transpose(2, 3)
        if view == "strided":
            return x[:, :, ::2, 1::2]
        return x.permute(0, 3, 1, 2)  # stored (N, H, W, C)

    shape = {"transpose_hw": (2, 3, 6, 7), "strided": (2, 3, 12, 10), "channels_last": (2, 6, 5, 3)}[view]
    x = randn(*shape)
    check_op(
        lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1),
        [x, randn(4, 3, 3, 3), randn(4)],
        uses_module=True,
        prep=prep,
    )


def test_conv2d_non_contiguous_weight():
    w = randn(3, 4, 3, 3)  # used transposed: (4, 3, 3, 3)
    check_op(lambda m, x, w: m.nn.functional.conv2d(x, w.transpose(0, 1)), [randn(2, 3, 6, 6), w], uses_module=True)


def test_conv2d_grad_of_input_only_and_weight_only():
    x, w = randn(2, 3, 6, 6), randn(4, 3, 3, 3)
    for need in ("x", "w"):
        fx = fastnn.tensor(x).requires_grad_(need == "x")
        fw = fastnn.tensor(w).requires_grad_(need == "w")
        tx = torch.tensor(x).requires_grad_(need == "x")
        tw = torch.tensor(w).requires_grad_(need == "w")
        fastnn.nn.functional.conv2d(fx, fw, stride=2, padding=1).sum().backward()
        torch.nn.functional.conv2d(tx, tw, stride=2, padding=1).sum().backward()
        if need == "x":
            assert fw.grad is None
            assert_close(fx.grad, tx.grad)
        else:
            assert fx.grad is None
            assert_close(fw.grad, tw.grad)


def test_conv2d_grad_fn_name_and_no_grad():
    x = fastnn.tensor(randn(1, 2, 5, 5)).requires_grad_(True)
    w = fastnn.tensor(randn(3, 2, 3, 3)).requires_grad_(True)
    y = FF.conv2d(x, w)
    assert y.grad_fn.name() == "ConvolutionBackward0"
    with fastnn.no_grad():
        z = FF.conv2d(x, w)
    assert not z.requires_grad and z.grad_fn is None


def test_conv2d_zero_batch():
    f, t = check_op(
        lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1),
        [randn(0, 3, 5, 5), randn(4, 3, 3, 3), randn(4)],
        uses_module=True,
    )
    assert tuple(f.shape) == (0, 4, 5, 5)


@pytest.mark.parametrize(
    "args,exc,match",
    [
        (((1, 3, 5, 5), (4, 2, 3, 3)), ValueError, r"\[conv2d\] expected input.*to have 2 channels, but got 3"),
        (((3, 5), (4, 3, 3, 3)), ValueError, r"\[conv2d\] expected 3-D .* or 4-D .*got 2-D"),
        (((1, 3, 2, 2), (4, 3, 3, 3)), ValueError, r"\[conv2d\].*Kernel size: \(3 x 3\).*can't be greater"),
        (
            ((1, 4, 5, 5), (3, 2, 3, 3), dict(groups=2)),
            ValueError,
            r"\[conv2d\] out_channels \(3\) must be divisible by "
            r"groups \(2\)",
        ),
        (((1, 3, 5, 5), (4, 3, 3, 3), dict(stride=0)), ValueError, r"\[conv2d\] stride must be >= 1, got \(0, 0\)"),
        (((1, 3, 5, 5), (4, 3, 3, 3), dict(padding=-1)), ValueError, r"\[conv2d\] padding must be >= 0"),
        (
            ((1, 3, 5, 5), (4, 3, 3, 3), dict(padding="same", stride=2)),
            ValueError,
            "padding='same' is not supported for strided",
        ),
        (((1, 3, 5, 5), (4, 3, 3, 3), dict(padding="full")), ValueError, "Invalid padding string 'full'"),
    ],
)
def test_conv2d_errors(args, exc, match):
    xs, ws = args[0], args[1]
    kw = args[2] if len(args) > 2 else {}
    with pytest.raises(exc, match=match):
        FF.conv2d(fastnn.tensor(randn(*xs)), fastnn.tensor(randn(*ws)), **kw)


def test_conv2d_bias_shape_and_dtype_errors():
    x, w = fastnn.tensor(randn(1, 3, 5, 5)), fastnn.tensor(randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"\[conv2d\] expected bias of shape \(4,\)"):
        FF.conv2d(x, w, fastnn.tensor(randn(3)))
    with pytest.raises(TypeError, match=r"\[conv2d\].*same floating-point dtype"):
        FF.conv2d(x, fastnn.tensor(randn(4, 3, 3, 3, dtype=np.float64)))


# ---------------------------------------------------------------------------------------------
# max_pool2d
# ---------------------------------------------------------------------------------------------
POOL_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2)),
    ((2, 3, 9, 7), dict(kernel_size=(3, 2), stride=(2, 1))),
    ((1, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 7, 9), dict(kernel_size=(4, 2), stride=(2, 3), padding=(2, 1))),
    ((1, 2, 10, 10), dict(kernel_size=3, dilation=2)),
    ((1, 2, 10, 11), dict(kernel_size=2, stride=2, dilation=(3, 2), padding=1)),
    ((1, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 8, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),  # last window would start in the pad
    ((1, 2, 5, 5), dict(kernel_size=2, stride=3, ceil_mode=True)),
    ((3, 7, 7), dict(kernel_size=2)),  # unbatched
    ((3, 7, 7), dict(kernel_size=3, stride=1, padding=1)),
]


@pytest.mark.parametrize("xs,kw", POOL_CASES, ids=[f"{i}-{x}-{kw}" for i, (x, kw) in enumerate(POOL_CASES)])
def test_max_pool2d_matches_torch(xs, kw):
    f, t = check_op(
        lambda m, x: m.nn.functional.max_pool2d(x, return_indices=True, **kw), [randn(*xs)], uses_module=True
    )
    assert f[1].dtype == fastnn.int64


def test_max_pool2d_ties_pick_first_index():
    # Integer-valued data with many ties; the gradient goes to the first maximum in scan order, as in torch.
    x = rng.integers(0, 3, size=(2, 3, 8, 8)).astype(np.float32)
    for kw in [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=3, stride=2, dilation=2),
        dict(kernel_size=3, stride=2, ceil_mode=True),
    ]:
        check_op(lambda m, x: m.nn.functional.max_pool2d(x, return_indices=True, **kw), [x], uses_module=True)
    const = np.ones((1, 1, 4, 4), np.float32)
    f, t = check_op(lambda m, x: m.nn.functional.max_pool2d(x, 2, return_indices=True), [const], uses_module=True)
    assert f[1].numpy().reshape(-1).tolist() == [0, 2, 8, 10]


def test_max_pool2d_all_negative_with_padding():
    # Padding is -inf: a window of negative values must not pick a padded cell.
    x = -np.abs(randn(1, 2, 5, 5)) - 1
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True), [x], uses_module=True)


def test_max_pool2d_overlapping_windows_accumulate():
    # stride 1 with a 3x3 window: one input is the max of several windows; its gradient is their sum.
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 5
    check_op(lambda m, x: m.nn.functional.max_pool2d(x, 3, 1), [x], uses_module=True)


def test_max_pool2d_non_contiguous_and_float64():
    check_op(
        lambda m, x: m.nn.functional.max_pool2d(x, 2),
        [randn(2, 3, 8, 6)],
        uses_module=True,
        prep=lambda m, x: x.transpose(2, 3),
    )
    check_op(
        lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1), [randn(2, 3, 8, 6, dtype=np.float64)], uses_module=True
    )


def test_max_pool2d_module_and_default_stride():
    check_op(lambda m, x: m.nn.MaxPool2d(3)(x), [randn(1, 2, 9, 9)], uses_module=True)
    check_op(
        lambda m, x: m.nn.MaxPool2d(2, return_indices=True, ceil_mode=True)(x), [randn(1, 2, 5, 5)], uses_module=True
    )


def test_max_pool2d_zero_batch():
    f, _ = check_op(lambda m, x: m.nn.functional.max_pool2d(x, 2), [randn(0, 3, 4, 4)], uses_module=True)
    assert tuple(f.shape) == (0, 3, 2, 2)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(kernel_size=2, padding=2), r"\[max_pool2d\] pad should be at most half of effective kernel size"),
        (dict(kernel_size=5), r"\[max_pool2d\] given input size \(3x3\).*too small"),
        (dict(kernel_size=0), r"\[max_pool2d\] kernel_size must be >= 1"),
        (dict(kernel_size=2, stride=0), r"\[max_pool2d\] stride must be >= 1"),
    ],
)
def test_max_pool2d_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        FF.max_pool2d(fastnn.tensor(randn(1, 1, 3, 3)), **kw)


# ---------------------------------------------------------------------------------------------
# avg_pool2d
# ---------------------------------------------------------------------------------------------
AVG_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2)),
    ((1, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((1, 2, 7, 9), dict(kernel_size=(4, 2), stride=(2, 3), padding=(2, 1))),
    ((1, 2, 7, 9), dict(kernel_size=(4, 2), stride=(2, 3), padding=(2, 1), count_include_pad=False)),
    ((1, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 7, 7), dict(kernel_size=2, ceil_mode=True, count_include_pad=False)),
    ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((1, 2, 5, 5), dict(kernel_size=2, stride=3, ceil_mode=True)),
    ((1, 2, 6, 6), dict(kernel_size=3, divisor_override=2)),
    ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=5)),
    ((3, 7, 7), dict(kernel_size=3, stride=2, padding=1)),  # unbatched
    ((1, 2, 6, 6), dict(kernel_size=2, divisor_override=-3)),  # torch accepts a negative divisor
    ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=-1)),
]


@pytest.mark.parametrize("xs,kw", AVG_CASES, ids=[f"{i}-{x}-{kw}" for i, (x, kw) in enumerate(AVG_CASES)])
def test_avg_pool2d_matches_torch(xs, kw):
    check_op(lambda m, x: m.nn.functional.avg_pool2d(x, **kw), [randn(*xs)], uses_module=True)


def test_avg_pool2d_module_non_contiguous_float64_and_zero_batch():
    check_op(
        lambda m, x: m.nn.AvgPool2d(3, 2, 1, count_include_pad=False)(x),
        [randn(2, 3, 8, 6)],
        uses_module=True,
        prep=lambda m, x: x.transpose(2, 3),
    )
    check_op(
        lambda m, x: m.nn.functional.avg_pool2d(x, 2, ceil_mode=True),
        [randn(2, 3, 7, 5, dtype=np.float64)],
        uses_module=True,
    )
    f, _ = check_op(lambda m, x: m.nn.functional.avg_pool2d(x, 2), [randn(0, 3, 4, 4)], uses_module=True)
    assert tuple(f.shape) == (0, 3, 2, 2)


def test_avg_pool2d_errors():
    x = fastnn.tensor(randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\[avg_pool2d\] divisor must be not zero"):
        FF.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match=r"\[avg_pool2d\] pad should be at most half"):
        FF.avg_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"\[avg_pool2d\] expected 3-D .* or 4-D"):
        FF.avg_pool2d(fastnn.tensor(randn(4, 4)), 2)


# ---------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("xs", [(5,), (4, 5), (2, 3, 5), (2, 1, 3, 5), (0, 5)])
@pytest.mark.parametrize("has_bias", [True, False])
def test_linear_matches_torch(xs, has_bias):
    arrays = [randn(*xs), randn(3, 5)] + ([randn(3)] if has_bias else [])
    if has_bias:
        check_op(lambda m, x, w, b: m.nn.functional.linear(x, w, b), arrays, uses_module=True)
    else:
        check_op(lambda m, x, w: m.nn.functional.linear(x, w), arrays, uses_module=True)


def test_linear_non_contiguous_and_float64():
    check_op(
        lambda m, x, w, b: m.nn.functional.linear(x, w, b),
        [randn(5, 4), randn(5, 3), randn(3)],
        uses_module=True,
        prep=lambda m, t: t.t() if t.dim() == 2 else t,
    )
    check_op(
        lambda m, x, w, b: m.nn.functional.linear(x, w, b),
        [randn(4, 5, dtype=np.float64), randn(3, 5, dtype=np.float64), randn(3, dtype=np.float64)],
        uses_module=True,
    )


def test_linear_2d_grad_fn_is_addmm():
    x = fastnn.tensor(randn(4, 5)).requires_grad_(True)
    lin = fastnn.nn.Linear(5, 3)
    assert lin(x).grad_fn.name() == "AddmmBackward0"


def test_linear_shape_error():
    with pytest.raises(ValueError, match=r"\[.*\]"):
        FF.linear(fastnn.tensor(randn(4, 5)), fastnn.tensor(randn(3, 4)))


# ---------------------------------------------------------------------------------------------
# softmax / log_softmax
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_every_dim(fn, shape):
    for dim in range(-len(shape), len(shape)):
        check_op(lambda m, x: getattr(m.nn.functional, fn)(x, dim=dim), [randn(*shape) * 3], uses_module=True)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_stability_non_contiguous_and_float64(fn):
    big = randn(3, 6) * 50 + 1000  # would overflow exp without the max shift
    check_op(lambda m, x: getattr(m.nn.functional, fn)(x, dim=1), [big], uses_module=True)
    check_op(
        lambda m, x: getattr(m.nn.functional, fn)(x, dim=0), [randn(4, 6)], uses_module=True, prep=lambda m, x: x.t()
    )
    check_op(lambda m, x: getattr(m.nn.functional, fn)(x, dim=-1), [randn(3, 4, dtype=np.float64)], uses_module=True)
    check_op(lambda m, x: getattr(m, fn)(x, 1), [randn(2, 3, 4)], uses_module=True)  # torch.softmax spelling
    check_op(
        lambda m, x: getattr(m.nn, "Softmax" if fn == "softmax" else "LogSoftmax")(dim=1)(x),
        [randn(2, 3)],
        uses_module=True,
    )


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_zero_dim_tensor(fn):
    for dim in (0, -1):
        f, _ = check_op(
            lambda m, x: getattr(m.nn.functional, fn)(x, dim=dim), [np.array(1.5, np.float32)], uses_module=True
        )
        assert f.shape == () and f.grad_fn.name() == ("SoftmaxBackward0" if fn == "softmax" else "LogSoftmaxBackward0")
    gradcheck(
        lambda x: getattr(FF, fn)(x, 0), [fastnn.tensor(np.array(0.3), dtype=fastnn.float64).requires_grad_(True)]
    )


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_zero_size_and_errors(fn):
    check_op(lambda m, x: getattr(m.nn.functional, fn)(x, dim=1), [randn(0, 4)], uses_module=True)
    with pytest.raises(IndexError, match=rf"\[{fn}\]"):
        getattr(FF, fn)(fastnn.tensor(randn(2, 3)), dim=2)


# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------
REDUCTIONS = ["none", "mean", "sum"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4, 5)])
def test_mse_loss(reduction, shape):
    check_op(
        lambda m, x, y: m.nn.functional.mse_loss(x, y, reduction=reduction),
        [randn(*shape), randn(*shape)],
        uses_module=True,
    )
    check_op(lambda m, x, y: m.nn.MSELoss(reduction=reduction)(x, y), [randn(*shape), randn(*shape)], uses_module=True)


def test_mse_loss_broadcast_warns_and_matches():
    with pytest.warns(UserWarning, match="different to the input size"):
        check_op(lambda m, x, y: m.nn.functional.mse_loss(x, y), [randn(4, 3), randn(3)], uses_module=True)


def test_mse_loss_target_without_grad_and_float64():
    check_op(lambda m, x, y: m.nn.functional.mse_loss(x, y.detach()), [randn(4, 3), randn(4, 3)], uses_module=True)
    check_op(
        lambda m, x, y: m.nn.functional.mse_loss(x, y, reduction="sum"),
        [randn(4, 3, dtype=np.float64), randn(4, 3, dtype=np.float64)],
        uses_module=True,
    )


def test_mse_loss_empty():
    # torch: mean of nothing is nan, sum is 0
    for reduction in REDUCTIONS:
        check_op(
            lambda m, x, y: m.nn.functional.mse_loss(x, y, reduction=reduction),
            [randn(0, 3), randn(0, 3)],
            uses_module=True,
        )


def targets(shape, classes, ignore=None):
    t = rng.integers(0, classes, size=shape).astype(np.int64)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("case", ["1d", "2d", "4d", "3d"])
def test_class_index_losses(loss, reduction, case):
    C = 5
    xs, ts = {"1d": ((C,), ()), "2d": ((6, C), (6,)), "4d": ((2, C, 3, 4), (2, 3, 4)), "3d": ((3, C, 4), (3, 4))}[case]
    x = randn(*xs)
    if loss == "nll_loss":
        x = np.log(np.exp(x) / np.exp(x).sum(axis=0 if len(xs) == 1 else 1, keepdims=True)).astype(np.float32)
    t = np.asarray(targets(ts, C))
    w = np.abs(randn(C)) + 0.1

    def run(m, x, w, t, **kw):
        return getattr(m.nn.functional, loss)(x, t, reduction=reduction, **kw)

    check_op(lambda m, x, t: run(m, x, None, t), [x, t], uses_module=True)
    check_op(lambda m, x, w, t: run(m, x, w.detach(), t, weight=w.detach()), [x, w, t], uses_module=True)
    if case != "1d":
        ti = np.asarray(targets(ts, C, ignore=-100))
        check_op(lambda m, x, t: run(m, x, None, t), [x, ti], uses_module=True)
        ti2 = np.asarray(targets(ts, C, ignore=2))
        check_op(
            lambda m, x, w, t: run(m, x, None, t, weight=w.detach(), ignore_index=2), [x, w, ti2], uses_module=True
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.1, 0.35, 1.0])
def test_cross_entropy_label_smoothing(reduction, smoothing):
    C = 4
    x, w = randn(6, C), np.abs(randn(C)) + 0.1
    t = targets((6,), C)
    ti = targets((6,), C, ignore=-100)
    for tt in (t, ti):
        check_op(
            lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
            [x, tt],
            uses_module=True,
        )
        check_op(
            lambda m, x, w, t: m.nn.functional.cross_entropy(
                x, t, weight=w.detach(), reduction=reduction, label_smoothing=smoothing
            ),
            [x, w, tt],
            uses_module=True,
        )
    x4, t4 = randn(2, C, 3, 3), targets((2, 3, 3), C, ignore=1)
    check_op(
        lambda m, x, w, t: m.nn.functional.cross_entropy(
            x, t, weight=w.detach(), ignore_index=1, reduction=reduction, label_smoothing=smoothing
        ),
        [x4, w, t4],
        uses_module=True,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets(reduction, smoothing):
    C = 5
    for xs in [(C,), (4, C), (2, C, 3, 2)]:
        p = np.exp(randn(*xs))
        p = (p / p.sum(axis=0 if len(xs) == 1 else 1, keepdims=True)).astype(np.float32)
        w = np.abs(randn(C)) + 0.1
        check_op(
            lambda m, x, p: m.nn.functional.cross_entropy(x, p, reduction=reduction, label_smoothing=smoothing),
            [randn(*xs), p],
            uses_module=True,
        )
        check_op(
            lambda m, x, p, w: m.nn.functional.cross_entropy(
                x, p, weight=w.detach(), reduction=reduction, label_smoothing=smoothing
            ),
            [randn(*xs), p, w],
            uses_module=True,
        )


def test_cross_entropy_module_and_float64():
    C = 3
    w = (np.abs(randn(C)) + 0.1).astype(np.float64)
    check_op(
        lambda m, x, w, t: m.nn.CrossEntropyLoss(weight=w.detach(), ignore_index=0, label_smoothing=0.1)(x, t),
        [randn(5, C, dtype=np.float64), w, targets((5,), C)],
        uses_module=True,
    )
    check_op(
        lambda m, x, t: m.nn.NLLLoss(reduction="sum")(m.nn.functional.log_softmax(x, dim=1), t),
        [randn(5, C), targets((5,), C)],
        uses_module=True,
    )


def test_losses_all_ignored():
    # every target ignored: mean is nan (0/0) in torch, sum is 0
    x, t = randn(3, 4), np.full((3,), -100, np.int64)
    for reduction in REDUCTIONS:
        check_op(lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction=reduction), [x, t], uses_module=True)
        check_op(lambda m, x, t: m.nn.functional.nll_loss(x, t, reduction=reduction), [x, t], uses_module=True)


def test_losses_zero_class_weights():
    # a class weight of 0 still writes -0 * g; when every target's weight is 0 the mean is 0/0: nan, gradient too
    x = randn(3, 4)
    for t in (np.array([0, 1, 3]), np.array([0, 1, 2])):
        for reduction in REDUCTIONS:
            for loss in ("nll_loss", "cross_entropy"):
                check_op(
                    lambda m, x, w, t: getattr(m.nn.functional, loss)(x, t, weight=w.detach(), reduction=reduction),
                    [x, np.array([0, 0, 0, 1], np.float32), t],
                    uses_module=True,
                )


def test_losses_zero_batch():
    # torch: 'mean' over an empty batch is nan, 'sum' is 0
    for reduction in REDUCTIONS:
        check_op(
            lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction=reduction),
            [randn(0, 4), np.zeros((0,), np.int64)],
            uses_module=True,
        )
        check_op(
            lambda m, x, t: m.nn.functional.nll_loss(x, t, reduction=reduction),
            [randn(0, 4), np.zeros((0,), np.int64)],
            uses_module=True,
        )
        check_op(
            lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction=reduction, label_smoothing=0.1),
            [randn(0, 4, 2, 2), np.zeros((0, 2, 2), np.int64)],
            uses_module=True,
        )
        check_op(
            lambda m, x, p: m.nn.functional.cross_entropy(x, p, reduction=reduction),
            [randn(0, 4), randn(0, 4)],
            uses_module=True,
        )


def test_loss_errors():
    x = fastnn.tensor(randn(3, 4))
    with pytest.raises(IndexError, match=r"\[nll_loss\] Target 4 is out of bounds"):
        FF.nll_loss(x, fastnn.tensor(np.array([0, 4, 1])))
    with pytest.raises(IndexError, match=r"\[nll_loss\] Target -1 is out of bounds"):
        FF.cross_entropy(x, fastnn.tensor(np.array([0, -1, 1])))
    with pytest.raises(ValueError, match=r"\[nll_loss\] expected target of shape \(3\)|\[nll_loss\] expected target"):
        FF.nll_loss(x, fastnn.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"\[nll_loss\] weight tensor should be defined either for all 4 classes"):
        FF.nll_loss(x, fastnn.tensor(np.array([0, 1, 2])), weight=fastnn.ones(3))
    with pytest.raises(ValueError, match=r"\[cross_entropy\] label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        FF.cross_entropy(x, fastnn.tensor(np.array([0, 1, 2])), label_smoothing=1.5)
    with pytest.raises(ValueError, match="nonsense is not a valid value for reduction"):
        FF.mse_loss(x, x, reduction="nonsense")
    with pytest.raises(TypeError, match=r"\[nll_loss\] expected target of dtype int64"):
        FF.nll_loss(x, fastnn.tensor(np.array([0.0, 1.0, 2.0], np.float32)))


# ---------------------------------------------------------------------------------------------
# float64 gradchecks, one per backward node
# ---------------------------------------------------------------------------------------------
def test_gradcheck_convolution():
    x, w, b = f64(2, 4, 5, 5), f64(4, 2, 3, 2), f64(4)
    out = FF.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    assert out.grad_fn.name() == "ConvolutionBackward0"
    gradcheck(lambda x, w, b: FF.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), [x, w, b])
    gradcheck(lambda x, w: FF.conv2d(x, w), [f64(1, 3, 3, 4), f64(2, 3, 1, 1)])
    gradcheck(lambda x, w, b: FF.conv2d(x, w, b, padding=1), [f64(3, 4, 4), f64(2, 3, 3, 3), f64(2)])


def test_gradcheck_max_pool():
    # distinct values with gaps larger than eps, so the argmax is stable under perturbation
    vals = rng.permutation(2 * 3 * 6 * 6).astype(np.float64).reshape(2, 3, 6, 6) * 0.1
    x = fastnn.tensor(vals, dtype=fastnn.float64).requires_grad_(True)
    assert FF.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    gradcheck(lambda x: FF.max_pool2d(x, 3, 2, 1, ceil_mode=True), [x])
    gradcheck(lambda x: FF.max_pool2d(x, 2, 1, dilation=2), [x])


def test_gradcheck_avg_pool():
    x = f64(1, 2, 5, 6)
    assert FF.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
    gradcheck(lambda x: FF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    gradcheck(lambda x: FF.avg_pool2d(x, 2, 1, divisor_override=3), [x])


def test_gradcheck_softmax():
    x = f64(3, 4, 2)
    assert FF.softmax(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert FF.log_softmax(x, 1).grad_fn.name() == "LogSoftmaxBackward0"
    for dim in (0, 1, 2):
        gradcheck(lambda x: FF.softmax(x, dim), [x])
        gradcheck(lambda x: FF.log_softmax(x, dim), [x])


def test_gradcheck_mse():
    x, y = f64(3, 4), f64(3, 4)
    assert FF.mse_loss(x, y).grad_fn.name() == "MseLossBackward0"
    for reduction in REDUCTIONS:
        gradcheck(lambda x, y: FF.mse_loss(x, y, reduction=reduction), [x, y])


def test_gradcheck_nll():
    x = f64(4, 3, 2)
    t = fastnn.tensor(np.array([[0, 2], [1, 1], [2, 0], [1, -100]]))
    w = fastnn.tensor(np.array([0.5, 2.0, 1.5]), dtype=fastnn.float64)
    assert FF.nll_loss(x, t).grad_fn.name() == "NllLoss2DBackward0"  # torch: spatial dims go through nll_loss2d
    for reduction in REDUCTIONS:
        gradcheck(lambda x: FF.nll_loss(x, t, weight=w, reduction=reduction), [x])
        gradcheck(lambda x: FF.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=0.2), [x])


def test_gradcheck_addmm():
    x, w, b = f64(4, 5), f64(3, 5), f64(3)
    assert FF.linear(x, w, b).grad_fn.name() == "AddmmBackward0"
    gradcheck(lambda x, w, b: FF.linear(x, w, b), [x, w, b])
    gradcheck(lambda x, w, b: FF.linear(x, w, b), [f64(2, 3, 5), w, b])
