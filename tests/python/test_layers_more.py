"""Conv1d, transposed convolutions, 1-D and adaptive pools, F.pad, F.interpolate, pixel (un)shuffle and
fold/unfold against torch: outputs, input and parameter gradients, layouts, dtypes, gradchecks, errors,
modules with torch's weights, training steps and thread-count determinism."""

import warnings

import numpy as np
import pytest

import fastnn
from oracle import assert_close, check_op, gradcheck_op, layout_input, to_numpy

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")


def F(lib):
    return lib.nn.functional


# (id, fn(lib, *inputs), input shapes, torch grad_fn name of the output)
ROWS = [
    ("conv1d", lambda m, x, w, b: F(m).conv1d(x, w, b), [(2, 3, 9), (4, 3, 3), (4,)], "ConvolutionBackward0"),
    (
        "conv1d_args",
        lambda m, x, w, b: F(m).conv1d(x, w, b, stride=2, padding=2, dilation=2),
        [(2, 3, 11), (4, 3, 3), (4,)],
        "ConvolutionBackward0",
    ),
    ("conv1d_groups", lambda m, x, w: F(m).conv1d(x, w, groups=2), [(2, 4, 7), (6, 2, 3)], "ConvolutionBackward0"),
    (
        "conv1d_same_even",
        lambda m, x, w, b: F(m).conv1d(x, w, b, padding="same"),
        [(2, 3, 8), (4, 3, 4), (4,)],
        "ConvolutionBackward0",
    ),
    (
        "conv1d_valid_unbatched",
        lambda m, x, w: F(m).conv1d(x, w, padding="valid"),
        [(3, 8), (2, 3, 3)],
        "SqueezeBackward1",
    ),
    (
        "conv2d_unbatched",
        lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1),
        [(3, 5, 4), (2, 3, 3, 3), (2,)],
        "SqueezeBackward1",
    ),
    (
        "conv_t1d",
        lambda m, x, w, b: F(m).conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
        [(2, 3, 5), (3, 4, 3), (4,)],
        "ConvolutionBackward0",
    ),
    (
        "conv_t1d_groups_dil",
        lambda m, x, w: F(m).conv_transpose1d(x, w, groups=2, dilation=2),
        [(2, 4, 5), (4, 3, 3)],
        "ConvolutionBackward0",
    ),
    (
        "conv_t1d_unbatched",
        lambda m, x, w, b: F(m).conv_transpose1d(x, w, b, stride=3),
        [(3, 4), (3, 2, 2), (2,)],
        "SqueezeBackward1",
    ),
    (
        "conv_t2d",
        lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0)),
        [(2, 3, 4, 5), (3, 2, 3, 3), (2,)],
        "ConvolutionBackward0",
    ),
    (
        "conv_t2d_groups",
        lambda m, x, w, b: F(m).conv_transpose2d(x, w, b, stride=2, groups=3),
        [(2, 6, 3, 3), (6, 1, 2, 2), (3,)],
        "ConvolutionBackward0",
    ),
    (
        "conv_t2d_dil_outpad",
        lambda m, x, w: F(m).conv_transpose2d(x, w, dilation=2, output_padding=1),
        [(1, 2, 4, 4), (2, 3, 3, 3)],
        "ConvolutionBackward0",
    ),
    (
        "conv_t2d_unbatched",
        lambda m, x, w: F(m).conv_transpose2d(x, w, padding=1),
        [(2, 4, 4), (2, 3, 3, 3)],
        "SqueezeBackward1",
    ),
    ("max_pool1d", lambda m, x: F(m).max_pool1d(x, 3, 2, 1), [(2, 3, 9)], "SqueezeBackward1"),
    (
        "max_pool1d_idx",
        lambda m, x: F(m).max_pool1d(x, 2, dilation=2, ceil_mode=True, return_indices=True),
        [(2, 3, 10)],
        "SqueezeBackward1",
    ),
    ("max_pool1d_unbatched", lambda m, x: F(m).max_pool1d(x, 2), [(3, 9)], "SqueezeBackward1"),
    (
        "avg_pool1d",
        lambda m, x: F(m).avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        [(2, 3, 10)],
        "SqueezeBackward1",
    ),
    ("avg_pool1d_plain", lambda m, x: F(m).avg_pool1d(x, 2), [(3, 9)], "SqueezeBackward1"),
    (
        "adaptive_max_pool1d",
        lambda m, x: F(m).adaptive_max_pool1d(x, 4, return_indices=True),
        [(2, 3, 10)],
        "SqueezeBackward1",
    ),
    (
        "adaptive_max_pool2d",
        lambda m, x: F(m).adaptive_max_pool2d(x, (3, 4), return_indices=True),
        [(2, 3, 7, 9)],
        "AdaptiveMaxPool2DBackward0",
    ),
    (
        "adaptive_max_pool2d_none",
        lambda m, x: F(m).adaptive_max_pool2d(x, (None, 2)),
        [(3, 5, 7)],
        "AdaptiveMaxPool2DBackward0",
    ),
    ("adaptive_avg_pool1d", lambda m, x: F(m).adaptive_avg_pool1d(x, 4), [(2, 3, 10)], "SqueezeBackward1"),
    ("pad_constant", lambda m, x: F(m).pad(x, (1, 2)), [(2, 3, 4)], "ConstantPadNdBackward0"),
    (
        "pad_constant_value_3d",
        lambda m, x: F(m).pad(x, (1, 0, 2, 1, 0, 1), value=1.5),
        [(2, 3, 4)],
        "ConstantPadNdBackward0",
    ),
    ("pad_constant_crop", lambda m, x: F(m).pad(x, (-1, 2, 1, -2)), [(2, 5, 4)], "ConstantPadNdBackward0"),
    ("pad_reflect1d", lambda m, x: F(m).pad(x, (2, 3), mode="reflect"), [(2, 3, 5)], "ReflectionPad1DBackward0"),
    ("pad_reflect1d_neg", lambda m, x: F(m).pad(x, (-1, 2), mode="reflect"), [(3, 5)], "ReflectionPad1DBackward0"),
    (
        "pad_reflect2d",
        lambda m, x: F(m).pad(x, (1, 2, 3, 0), mode="reflect"),
        [(2, 3, 4, 5)],
        "ReflectionPad2DBackward0",
    ),
    (
        "pad_reflect3d",
        lambda m, x: F(m).pad(x, (1, 1, 0, 2, 1, 0), mode="reflect"),
        [(1, 2, 3, 4, 3)],
        "ReflectionPad3DBackward0",
    ),
    ("pad_replicate1d", lambda m, x: F(m).pad(x, (3, 1), mode="replicate"), [(2, 3, 4)], "ReplicationPad1DBackward0"),
    (
        "pad_replicate2d",
        lambda m, x: F(m).pad(x, (2, 1, 0, 3), mode="replicate"),
        [(3, 4, 5)],
        "ReplicationPad2DBackward0",
    ),
    (
        "pad_replicate3d",
        lambda m, x: F(m).pad(x, (1, 2, 1, 0, 0, 1), mode="replicate"),
        [(2, 3, 2, 3)],
        "ReplicationPad3DBackward0",
    ),
    ("pad_circular1d", lambda m, x: F(m).pad(x, (4, 1), mode="circular"), [(2, 3, 4)], "CopySlices"),
    ("pad_circular2d", lambda m, x: F(m).pad(x, (1, 2, -1, 2), mode="circular"), [(2, 3, 4, 5)], "CopySlices"),
    ("pad_circular1d_crop_left", lambda m, x: F(m).pad(x, (2, -1), mode="circular"), [(3, 4)], "CopySlices"),
    ("nearest1d_scale", lambda m, x: F(m).interpolate(x, scale_factor=2), [(2, 3, 5)], "UpsampleNearest1DBackward0"),
    ("nearest1d_size", lambda m, x: F(m).interpolate(x, size=7), [(2, 3, 5)], "UpsampleNearest1DBackward0"),
    (
        "nearest2d_frac",
        lambda m, x: F(m).interpolate(x, scale_factor=(1.7, 0.6)),
        [(2, 3, 5, 9)],
        "UpsampleNearest2DBackward0",
    ),
    (
        "nearest2d_equal_doubled",
        lambda m, x: F(m).interpolate(x, scale_factor=(2.2, 1.3)),
        [(1, 2, 3, 2)],
        "UpsampleNearest2DBackward0",
    ),
    (
        "nearest2d_recompute",
        lambda m, x: F(m).interpolate(x, scale_factor=1.7, recompute_scale_factor=True),
        [(1, 2, 5, 6)],
        "UpsampleNearest2DBackward0",
    ),
    (
        "nearest_exact1d",
        lambda m, x: F(m).interpolate(x, size=8, mode="nearest-exact"),
        [(2, 3, 5)],
        "UpsampleNearestExact1DBackward0",
    ),
    (
        "nearest_exact2d",
        lambda m, x: F(m).interpolate(x, scale_factor=(2.5, 0.5), mode="nearest-exact"),
        [(1, 2, 4, 6)],
        "UpsampleNearestExact2DBackward0",
    ),
    (
        "linear",
        lambda m, x: F(m).interpolate(x, scale_factor=2.5, mode="linear"),
        [(2, 3, 5)],
        "UpsampleLinear1DBackward0",
    ),
    (
        "linear_align",
        lambda m, x: F(m).interpolate(x, size=9, mode="linear", align_corners=True),
        [(2, 3, 5)],
        "UpsampleLinear1DBackward0",
    ),
    ("linear_down", lambda m, x: F(m).interpolate(x, size=3, mode="linear"), [(2, 3, 8)], "UpsampleLinear1DBackward0"),
    (
        "bilinear",
        lambda m, x: F(m).interpolate(x, scale_factor=(2, 1.5), mode="bilinear"),
        [(2, 3, 4, 5)],
        "UpsampleBilinear2DBackward0",
    ),
    (
        "bilinear_align_size",
        lambda m, x: F(m).interpolate(x, size=(7, 3), mode="bilinear", align_corners=True),
        [(2, 3, 4, 5)],
        "UpsampleBilinear2DBackward0",
    ),
    (
        "bicubic",
        lambda m, x: F(m).interpolate(x, scale_factor=1.5, mode="bicubic"),
        [(1, 2, 4, 5)],
        "UpsampleBicubic2DBackward0",
    ),
    (
        "bicubic_align",
        lambda m, x: F(m).interpolate(x, size=(6, 3), mode="bicubic", align_corners=True),
        [(1, 2, 4, 5)],
        "UpsampleBicubic2DBackward0",
    ),
    (
        "area2d",
        lambda m, x: F(m).interpolate(x, size=(3, 2), mode="area"),
        [(2, 3, 7, 5)],
        "AdaptiveAvgPool2DBackward0",
    ),
    ("area1d", lambda m, x: F(m).interpolate(x, scale_factor=0.5, mode="area"), [(2, 3, 9)], "SqueezeBackward1"),
    ("pixel_shuffle", lambda m, x: F(m).pixel_shuffle(x, 2), [(2, 8, 3, 4)], "PixelShuffleBackward0"),
    ("pixel_shuffle_5d", lambda m, x: F(m).pixel_shuffle(x, 3), [(2, 1, 9, 2, 3)], "PixelShuffleBackward0"),
    ("pixel_unshuffle", lambda m, x: F(m).pixel_unshuffle(x, 2), [(2, 3, 4, 6)], "PixelUnshuffleBackward0"),
    (
        "unfold",
        lambda m, x: F(m).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        [(2, 3, 5, 7)],
        "Im2ColBackward0",
    ),
    ("unfold_unbatched", lambda m, x: F(m).unfold(x, 2), [(3, 4, 4)], "Im2ColBackward0"),
    ("fold", lambda m, x: F(m).fold(x, (5, 6), (2, 3), padding=1, stride=(2, 1)), [(2, 12, 18)], "Col2ImBackward0"),
    ("fold_unbatched", lambda m, x: F(m).fold(x, (4, 4), 2, dilation=2), [(8, 4)], "Col2ImBackward0"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_op_vs_torch(row, layout, dtype):
    name, fn, shapes, node = row
    rng = np.random.default_rng(len(name))
    x, prep = layout_input(rng, shapes[0], layout, dtype)
    rest = [rng.uniform(-1, 1, size=s).astype(dtype) for s in shapes[1:]]
    ours, theirs = check_op(fn, [x] + rest, prep=[prep] + [None] * len(rest), uses_module=True)
    out = ours[0] if isinstance(ours, tuple) else ours
    ref = theirs[0] if isinstance(theirs, tuple) else theirs
    assert out.grad_fn.name() == type(ref.grad_fn).__name__ == node


GRADCHECK = [r for r in ROWS if not r[0].endswith("_idx")]


@pytest.mark.parametrize("row", GRADCHECK, ids=[r[0] for r in GRADCHECK])
def test_gradcheck(row):
    name, fn, shapes, _ = row
    rng = np.random.default_rng(1)
    arrays = [rng.uniform(-1, 1, size=s) for s in shapes]

    def f(*xs):
        out = fn(fastnn, *xs)
        return out[0] if isinstance(out, tuple) else out

    gradcheck_op(f, arrays)


def test_nearest_1d_scale_factor_rule():
    """1-D nearest uses floor(i / scale) even when the size comes out equal or doubled (2-D keeps i and i/2 there).
    (torch's 1-D backward maps those sizes as 2-D does, so only the forward is compared; fastnn's backward is the
    forward's adjoint, checked by the gradcheck rows.)"""
    for size, scale in ((2, 1.3), (3, 2.2)):
        x = np.arange(size, dtype=np.float32).reshape(1, 1, size)
        assert_close(
            F(fastnn).interpolate(fastnn.tensor(x), scale_factor=scale),
            F(torch).interpolate(torch.tensor(x), scale_factor=scale),
        )


def test_max_pool_ties_and_nan_indices():
    x = np.array([[[1.0, 3.0, 3.0, np.nan, 2.0, 2.0, 5.0, 5.0]]], dtype=np.float32)
    for fn in (
        lambda m, t: F(m).max_pool1d(t, 2, 1, return_indices=True),
        lambda m, t: F(m).adaptive_max_pool1d(t, 3, return_indices=True),
        lambda m, t: F(m).adaptive_max_pool2d(t.unsqueeze(0), (1, 3), return_indices=True),
    ):
        a, b = fn(fastnn, fastnn.tensor(x)), fn(torch, torch.tensor(x))
        assert_close(a[0], b[0])
        assert_close(a[1], b[1])


def test_zero_size_batch():
    cases = [
        (lambda m, x: F(m).conv1d(x, m.ones(4, 3, 3)), (0, 3, 7)),
        (lambda m, x: F(m).conv_transpose2d(x, m.ones(3, 2, 3, 3)), (0, 3, 4, 4)),
        (lambda m, x: F(m).max_pool1d(x, 2), (0, 3, 6)),
        (lambda m, x: F(m).adaptive_max_pool2d(x, 2), (0, 3, 4, 4)),
        (lambda m, x: F(m).pad(x, (1, 1), mode="reflect"), (0, 3, 4)),
        (lambda m, x: F(m).pad(x, (1, 1, 1, 1)), (0, 3, 4)),
        (lambda m, x: F(m).pad(x, (1, 1, -2, -2), mode="replicate"), (2, 3, 4, 5)),  # empty outputs
        (lambda m, x: F(m).pad(x, (-3, -2, 1, 1), mode="reflect"), (2, 3, 4, 5)),
        (lambda m, x: F(m).pad(x, (1, 2, -2, -2), mode="circular"), (2, 4, 3)),
        (lambda m, x: F(m).interpolate(x, scale_factor=2, mode="bilinear"), (0, 3, 4, 4)),
        (lambda m, x: F(m).unfold(x, 2), (0, 3, 4, 4)),
    ]
    for fn, shape in cases:
        check_op(fn, [np.zeros(shape, np.float32)], uses_module=True)
    for fn in (
        lambda t: F(fastnn).interpolate(t, size=(1 << 40, 2)),
        lambda t: F(fastnn).pad(t, (1 << 40, 2, 0, 0), mode="replicate"),
    ):
        x = fastnn.zeros(0, 2, 3, 3, requires_grad=True)  # huge but empty outputs allocate nothing
        y = fn(x)
        y.sum().backward()
        assert y.numel() == 0 and tuple(x.grad.shape) == (0, 2, 3, 3)
    x = fastnn.zeros(0, 4, 2, 2, requires_grad=True)  # (torch's own backward refuses an empty pixel_shuffle)
    y = F(fastnn).pixel_shuffle(x, 2)
    y.backward(fastnn.zeros(0, 1, 4, 4))
    assert tuple(y.shape) == (0, 1, 4, 4) and tuple(x.grad.shape) == (0, 4, 2, 2)


def _module_pairs():
    return [
        ("Conv1d", lambda m: m.nn.Conv1d(3, 4, 3, stride=2, padding=1, bias=True), (2, 3, 9)),
        ("Conv1d_same_reflect", lambda m: m.nn.Conv1d(3, 4, 4, padding="same", padding_mode="reflect"), (2, 3, 9)),
        ("Conv1d_circular", lambda m: m.nn.Conv1d(3, 2, 3, padding=2, padding_mode="circular", bias=False), (3, 6)),
        (
            "Conv1d_replicate_groups",
            lambda m: m.nn.Conv1d(4, 2, 3, padding=1, groups=2, padding_mode="replicate"),
            (2, 4, 7),
        ),
        ("Conv2d_reflect", lambda m: m.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="reflect"), (2, 3, 5, 6)),
        (
            "Conv2d_same_circular",
            lambda m: m.nn.Conv2d(2, 3, (2, 3), padding="same", padding_mode="circular"),
            (2, 4, 5),
        ),
        (
            "Conv2d_replicate",
            lambda m: m.nn.Conv2d(2, 2, 3, stride=2, padding=1, padding_mode="replicate"),
            (1, 2, 6, 5),
        ),
        ("ConvTranspose1d", lambda m: m.nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 5)),
        (
            "ConvTranspose2d",
            lambda m: m.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, groups=2, dilation=(1, 2)),
            (2, 4, 3, 4),
        ),
        ("ConvTranspose2d_nobias", lambda m: m.nn.ConvTranspose2d(3, 2, 3, padding=1, bias=False), (3, 5, 5)),
    ]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", _module_pairs(), ids=[c[0] for c in _module_pairs()])
def test_conv_modules_vs_torch(case, dtype):
    _, make, shape = case
    torch.manual_seed(0)
    theirs = make(torch).to(dtype)
    ours = make(fastnn)
    if dtype == torch.float64:
        ours = ours.double()
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    ours.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape)
    xf = fastnn.tensor(x, requires_grad=True, dtype=fastnn.float64 if dtype == torch.float64 else fastnn.float32)
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    yf, yt = ours(xf), theirs(xt)
    assert_close(yf, yt)
    (yf * yf).sum().backward()
    (yt * yt).sum().backward()
    assert_close(xf.grad, xt.grad)
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, what=k)


def test_conv_module_init_matches_torch_bounds():
    for m in (
        fastnn.nn.Conv1d(6, 4, 5),
        fastnn.nn.ConvTranspose2d(6, 4, 3, groups=2),
        fastnn.nn.ConvTranspose1d(2, 8, 3),
    ):
        fan_in = m.weight.shape[1] * int(np.prod(m.weight.shape[2:]))
        bound = 1 / np.sqrt(fan_in)
        w, b = to_numpy(m.weight), to_numpy(m.bias)
        assert np.abs(w).max() <= bound and np.abs(w).max() > bound / 2 and np.abs(b).max() <= bound


def test_conv_transpose_output_size():
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=3, padding=1)
    ours = fastnn.nn.ConvTranspose2d(3, 2, 3, stride=3, padding=1)
    ours.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 4)).astype(np.float32)
    for size in [(10, 12), (1, 2, 11, 10), fastnn.Size([12, 12])]:
        tsize = tuple(size)
        assert_close(ours(fastnn.tensor(x), output_size=size), theirs(torch.tensor(x), output_size=tsize))
    with pytest.raises(ValueError, match=r"requested an output size of \[13, 10\], but valid sizes range from"):
        ours(fastnn.tensor(x), output_size=(13, 10))


MODULE_REPRS = [
    lambda m: m.nn.MaxPool1d(2),
    lambda m: m.nn.MaxPool1d(3, 1, 1, return_indices=True),
    lambda m: m.nn.AvgPool1d(3),
    lambda m: m.nn.AvgPool1d(3, 2, 1, ceil_mode=True),
    lambda m: m.nn.AdaptiveMaxPool1d(3),
    lambda m: m.nn.AdaptiveMaxPool2d((3, None)),
    lambda m: m.nn.AdaptiveAvgPool1d(2),
    lambda m: m.nn.ZeroPad1d(2),
    lambda m: m.nn.ZeroPad2d((1, 2, 3, 4)),
    lambda m: m.nn.ConstantPad1d((1, 2), 3.5),
    lambda m: m.nn.ConstantPad2d(2, -1.0),
    lambda m: m.nn.ReflectionPad1d(2),
    lambda m: m.nn.ReflectionPad2d((1, 0, 2, 1)),
    lambda m: m.nn.ReplicationPad1d((0, 2)),
    lambda m: m.nn.ReplicationPad2d(1),
    lambda m: m.nn.CircularPad1d(1),
    lambda m: m.nn.CircularPad2d((1, 2, 0, 1)),
    lambda m: m.nn.Upsample(scale_factor=2),
    lambda m: m.nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False),
    lambda m: m.nn.Upsample(scale_factor=(1.5, 2.0), mode="bicubic"),
    lambda m: m.nn.UpsamplingNearest2d(scale_factor=2),
    lambda m: m.nn.UpsamplingBilinear2d(size=(6, 5)),
    lambda m: m.nn.PixelShuffle(2),
    lambda m: m.nn.PixelUnshuffle(2),
    lambda m: m.nn.Unfold((2, 3), padding=1),
    lambda m: m.nn.Fold((5, 6), (2, 3), padding=1, stride=(2, 1)),
]
MODULE_INPUTS = [
    (2, 3, 8),
    (3, 7),
    (2, 3, 9),
    (2, 3, 9),
    (2, 3, 10),
    (2, 3, 7, 8),
    (3, 10),
    (2, 3, 5),
    (2, 3, 4, 5),
    (3, 4),
    (2, 3, 4),
    (2, 3, 5),
    (2, 3, 4, 5),
    (2, 3, 4),
    (3, 4, 5),
    (2, 3, 4),
    (2, 3, 4, 5),
    (2, 3, 4, 5),
    (2, 3, 4, 5),
    (1, 2, 4, 5),
    (1, 2, 3, 4),
    (1, 2, 3, 4),
    (2, 8, 3, 4),
    (2, 3, 4, 6),
    (2, 3, 5, 6),
    (2, 12, 18),
]


@pytest.mark.parametrize("i", range(len(MODULE_REPRS)))
def test_layer_modules_vs_torch(i):
    make, shape = MODULE_REPRS[i], MODULE_INPUTS[i]
    assert repr(make(fastnn)) == repr(make(torch))
    x = np.random.default_rng(i).standard_normal(shape).astype(np.float32)
    check_op(lambda m, t: make(m)(t), [x], uses_module=True)


def test_conv1d_text_classifier_training():
    """Embedding -> Conv1d -> ReLU -> AdaptiveMaxPool1d -> Linear, five SGD steps with torch's weights."""

    def build(m):
        class Net(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = m.nn.Embedding(20, 6)
                self.conv = m.nn.Conv1d(6, 8, 3, padding=1)
                self.pool = m.nn.AdaptiveMaxPool1d(1)
                self.fc = m.nn.Linear(8, 3)

            def forward(self, tokens):
                h = self.emb(tokens).transpose(1, 2)  # (N, C, L), non-contiguous
                h = self.pool(m.relu(self.conv(h))).squeeze(-1)
                return self.fc(h)

        return Net()

    _train_and_compare(
        build,
        lambda m: m.tensor(np.random.default_rng(0).integers(0, 20, (4, 10))),
        lambda m: m.tensor([0, 2, 1, 2]),
        lambda m, out, y: F(m).cross_entropy(out, y),
    )


def test_conv_transpose_decoder_training():
    """Linear -> view -> ConvTranspose2d -> ReLU -> Upsample -> ConvTranspose2d, five Adam steps."""

    def build(m):
        class Decoder(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = m.nn.Linear(4, 2 * 3 * 3)
                self.up1 = m.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)
                self.up2 = m.nn.Upsample(scale_factor=2, mode="bilinear")
                self.pad = m.nn.ReflectionPad2d(1)
                self.out = m.nn.ConvTranspose2d(3, 1, 3, padding=2)

            def forward(self, z):
                h = self.fc(z).view(-1, 2, 3, 3)
                return self.out(self.pad(self.up2(m.relu(self.up1(h)))))

        return Decoder()

    rng = np.random.default_rng(1)
    z, target = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 1, 12, 12)).astype(np.float32)
    _train_and_compare(
        build, lambda m: m.tensor(z), lambda m: m.tensor(target), lambda m, out, y: F(m).mse_loss(out, y), optim="Adam"
    )


def _train_and_compare(build, make_x, make_y, loss_fn, optim="SGD", steps=5):
    torch.manual_seed(0)
    theirs = build(torch)
    ours = build(fastnn)
    ours.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    opts = [getattr(m.optim, optim)(net.parameters(), lr=0.05) for m, net in ((fastnn, ours), (torch, theirs))]
    for _ in range(steps):
        losses = []
        for (m, net), opt in zip(((fastnn, ours), (torch, theirs)), opts):
            opt.zero_grad()
            loss = loss_fn(m, net(make_x(m)), make_y(m))
            loss.backward()
            opt.step()
            losses.append(loss)
        assert_close(losses[0], losses[1], atol=1e-5, rtol=1e-4)
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p, q, atol=1e-5, rtol=1e-4, what=k)


@pytest.mark.parametrize("case", ["conv_transpose2d", "interpolate", "pad", "fold"])
def test_bitwise_identical_at_1_and_2_threads(case):
    # shapes large enough that the work is split between the threads (conv: 3 chunks of 4 images)
    rng = np.random.default_rng(0)
    shape = (12, 8, 13, 11) if case == "conv_transpose2d" else (4, 8, 40, 40)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((8, 5, 3, 3)).astype(np.float32)
    fns = {
        "conv_transpose2d": lambda t, wt: F(fastnn).conv_transpose2d(t, wt, stride=2, padding=1, output_padding=1),
        "interpolate": lambda t, wt: F(fastnn).interpolate(t, scale_factor=1.7, mode="bicubic") * wt.sum(),
        "pad": lambda t, wt: F(fastnn).pad(t, (5, 7, 3, 4), mode="reflect") * wt.sum(),
        "fold": lambda t, wt: F(fastnn).fold(F(fastnn).unfold(t, 3, padding=1), (40, 40), 3, padding=1) * wt.sum(),
    }
    results = []
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        t, wt = fastnn.tensor(x, requires_grad=True), fastnn.tensor(w, requires_grad=True)
        y = fns[case](t, wt)
        y.backward(fastnn.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(np.float32)))
        results.append([to_numpy(y), to_numpy(t.grad), to_numpy(wt.grad)])
    for a, b in zip(*results):
        assert np.array_equal(a, b)


ERRORS = [
    (
        lambda: F(fastnn).conv1d(fastnn.ones(1, 2, 3), fastnn.ones(1, 2, 5)),
        ValueError,
        r"\[conv1d\] Calculated padded input size per channel: \(3\)\. Kernel size: \(5\)",
    ),
    (
        lambda: F(fastnn).conv1d(fastnn.ones(1, 2, 3, 4), fastnn.ones(1, 2, 5)),
        ValueError,
        r"\[conv1d\] expected 2-D \(C, L\) or 3-D \(N, C, L\) input, got 4-D",
    ),
    (
        lambda: F(fastnn).conv1d(fastnn.ones(1, 3, 6), fastnn.ones(1, 2, 2)),
        ValueError,
        r"\[conv1d\] expected input\(1, 3, 6\) to have 2 channels, but got 3",
    ),
    (
        lambda: F(fastnn).conv1d(fastnn.ones(1, 2, 6), fastnn.ones(1, 2, 2), stride=2, padding="same"),
        ValueError,
        r"\[conv1d\] padding='same' is not supported for strided convolutions",
    ),
    (
        lambda: F(fastnn).conv_transpose2d(
            fastnn.ones(1, 2, 3, 3), fastnn.ones(2, 2, 3, 3), stride=2, output_padding=2
        ),
        ValueError,
        r"\[conv_transpose2d\] output padding must be smaller than either stride or dilation, but got output_padding "
        r"\(2 x 2\), stride \(2 x 2\)",
    ),
    (
        lambda: F(fastnn).conv_transpose2d(fastnn.ones(1, 3, 3, 3), fastnn.ones(2, 2, 3, 3)),
        ValueError,
        r"\[conv_transpose2d\] Given transposed=1, weight of size \(2, 2, 3, 3\), expected input\(1, 3, 3, 3\) to have 2 "
        r"channels, but got 3 channels instead",
    ),
    (
        lambda: F(fastnn).conv_transpose1d(fastnn.ones(1, 2, 1), fastnn.ones(2, 2, 1), padding=1),
        ValueError,
        r"\[conv_transpose1d\] Given input size per channel: \(1\)\. Calculated output size per channel: \(-1\)",
    ),
    (lambda: F(fastnn).max_pool1d(fastnn.ones(1, 2, 3), 5), ValueError, r"\[max_pool1d\]"),
    (
        lambda: F(fastnn).max_pool1d(fastnn.ones(2, 3, 4, 5), 2),
        ValueError,
        r"\[max_pool1d\] Expected 2D or 3D input tensor",
    ),
    (
        lambda: F(fastnn).avg_pool1d(fastnn.ones(1, 2, 6), 2, padding=2),
        ValueError,
        r"\[avg_pool1d\] pad should be at most half of effective kernel size",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (3, 3), mode="reflect"),
        ValueError,
        r"\[pad\] Padding size should be less than the corresponding input dimension, but got: padding \(3, 3\) at "
        r"dimension 2 of input \(1, 2, 3\)",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (4, 0), mode="circular"),
        ValueError,
        r"\[pad\] Padding value causes wrapping around more than once",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (-1, 3), mode="circular"),
        ValueError,
        r"\[pad\] Padding value causes wrapping around more than once: padding \(-1, 3\) .* \(2 elements left after "
        r"cropping\)",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(3), (1, 1), mode="replicate"),
        ValueError,
        r"\[pad\] Padding size 2 is not supported for 1D input tensor",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(2, 3, 4, 5), (-3, -2, -2, -2), mode="reflect"),
        ValueError,
        r"\[pad\] input of shape \(2, 3, 4, 5\) is too small for padding \(-3, -2, -2, -2\) in mode 'reflect': every "
        r"padded dim of the output would be empty",
    ),
    (lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (1, 1, 1)), ValueError, r"\[pad\] Padding length must be divisible"),
    (
        lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (1,) * 8),
        ValueError,
        r"\[pad\] Padding length should be less than or equal to two times the input dimension",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (-2, -2)),
        ValueError,
        r"\[pad\] The input size 3, plus padding -2 and -2 resulted in an invalid output size",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (1, 1), mode="reflect", value=2),
        ValueError,
        r"\[pad\] Padding mode \"reflect\" doesn't take in value argument",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(1, 2, 3), (1, 1), mode="foo"),
        NotImplementedError,
        r"\[pad\] Unrecognised padding mode foo",
    ),
    (
        lambda: F(fastnn).pad(fastnn.ones(2, 0, 4), (1, 1), mode="reflect"),
        ValueError,
        r"\[pad\] mode 'reflect' expects a 2-D or 3-D \(batch mode\) tensor",
    ),
    (
        lambda: F(fastnn).interpolate(fastnn.ones(1, 2, 3), scale_factor=2, mode="bilinear"),
        NotImplementedError,
        r"\[interpolate\] Got 3D input, but bilinear mode needs 4D input",
    ),
    (
        lambda: F(fastnn).interpolate(fastnn.ones(1, 2, 3), size=4, scale_factor=2),
        ValueError,
        r"\[interpolate\] only one of size or scale_factor should be defined",
    ),
    (
        lambda: F(fastnn).interpolate(fastnn.ones(1, 2, 3), size=4, align_corners=True),
        ValueError,
        r"\[interpolate\] align_corners option can only be set with the interpolating modes",
    ),
    (
        lambda: F(fastnn).interpolate(fastnn.ones(1, 2, 3), size=(4, 4)),
        ValueError,
        r"\[interpolate\] Input and output must have the same number of spatial dimensions",
    ),
    (
        lambda: F(fastnn).interpolate(fastnn.ones(1, 2, 3), scale_factor=0.1),
        ValueError,
        r"\[interpolate\] Input and output sizes should be greater than 0",
    ),
    (
        lambda: F(fastnn).interpolate(fastnn.ones(1, 2, 3), scale_factor=2, mode="linear", antialias=True),
        NotImplementedError,
        r"\[interpolate\] antialias=True is not supported",
    ),
    (
        lambda: F(fastnn).pixel_shuffle(fastnn.ones(1, 5, 2, 2), 2),
        ValueError,
        r"\[pixel_shuffle\] expects its input's 'channel' dimension to be divisible by the square of upscale_factor, but "
        r"input.size\(-3\)=5 is not divisible by 4",
    ),
    (
        lambda: F(fastnn).pixel_unshuffle(fastnn.ones(1, 1, 5, 4), 2),
        ValueError,
        r"\[pixel_unshuffle\] expects height to be divisible by downscale_factor, but input.size\(-2\)=5",
    ),
    (
        lambda: F(fastnn).pixel_shuffle(fastnn.ones(4, 2), 2),
        ValueError,
        r"\[pixel_shuffle\] expects input to have at least 3 dimensions, but got input with 2 dimension",
    ),
    (
        lambda: F(fastnn).unfold(fastnn.ones(1, 2, 3, 3), 4),
        ValueError,
        r"\[unfold\] Given input with spatial size \(3, 3\), kernel_size=\(4, 4\).*calculated shape of the array of "
        r"sliding blocks as \(0, 0\)",
    ),
    (
        lambda: F(fastnn).fold(fastnn.ones(1, 8, 8), (4, 4), 2),
        ValueError,
        r"\[fold\] Given output_size=\(4, 4\), kernel_size=\(2, 2\).*expected size of input's dimension 2 to match the "
        r"calculated number of sliding blocks 3 \* 3 = 9, but got input.size\(2\)=8",
    ),
    (
        lambda: F(fastnn).fold(fastnn.ones(1, 5, 9), (4, 4), 2),
        ValueError,
        r"\[fold\] Expected size of input's dimension 1 to be divisible by the product of kernel_size",
    ),
    (
        lambda: F(fastnn).adaptive_max_pool2d(fastnn.ones(1, 2, 0, 3), 2),
        ValueError,
        r"\[adaptive_max_pool2d\] input of shape \(1, 2, 0, 3\) has an empty spatial dimension",
    ),
    (
        lambda: fastnn.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"),
        ValueError,
        r'Only "zeros" padding mode is supported for ConvTranspose2d',
    ),
    (lambda: fastnn.nn.Conv1d(2, 2, 3, padding_mode="mirror"), ValueError, r"padding_mode must be one of"),
    (
        lambda: F(fastnn).conv1d(fastnn.ones(1, 2, 5, dtype=fastnn.int64), fastnn.ones(1, 2, 2, dtype=fastnn.int64)),
        TypeError,
        r"\[conv1d\] expected input, weight and bias of the same floating-point dtype",
    ),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    fn, exc, pattern = ERRORS[i]
    with pytest.raises(exc, match=pattern):
        fn()


@pytest.mark.parametrize("case", ["pad", "pixel_shuffle", "unfold", "fold"])
def test_second_derivative_through_rearranging_ops(case):
    fns = {
        "pad": lambda m, x: F(m).pad(x, (1, -1, 2, 0), value=0.5),
        "pixel_shuffle": lambda m, x: F(m).pixel_unshuffle(F(m).pixel_shuffle(x, 2) ** 2, 2),
        "unfold": lambda m, x: F(m).unfold(x, 2, padding=1),
        "fold": lambda m, x: F(m).fold(x.reshape(1, 4, 4), (3, 3), 2),
    }
    x = np.random.default_rng(0).standard_normal((1, 4, 2, 2))
    grads = []
    for m in (fastnn, torch):
        t = m.tensor(x, requires_grad=True)
        (g,) = m.autograd.grad((fns[case](m, t) ** 3).sum(), t, create_graph=True)
        (g * g).sum().backward()
        grads.append(t.grad)
    assert_close(grads[0], grads[1])


def test_upsample_second_derivative_is_refused():
    x = fastnn.ones(1, 1, 2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="create_graph=True .* not supported through UpsampleNearest2DBackward0"):
        fastnn.autograd.grad((F(fastnn).interpolate(x, scale_factor=2) ** 2).sum(), x, create_graph=True)
