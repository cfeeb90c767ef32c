"""Every backward node of the engine, float64-gradchecked: the net that catches a node nobody tested.

NODES maps each node name the C++ engine can record (torch's grad_fn class names, e.g. "AddmmBackward0") to a
Case: a callable and the inputs that make the engine record that node. For each row one test
  - checks that the graph of the outputs really contains a node of that name (a row that builds some other
    node cannot pass for it), and
  - runs fastnn.autograd.gradcheck (torch.autograd.gradcheck's semantics: finite differences with eps 1e-6
    against the analytical Jacobian, atol 1e-5, rtol 1e-3) on the float64 inputs,
unless the row gives a reason why the node cannot be gradchecked (then only the first check runs).
test_registry_matches_the_engine scans cpp/fastnn for the node names the engine spells (string literals, the
unary op table, names composed from pieces) and fails listing any name missing here, or any row whose name the
engine no longer has. A new node therefore needs a row here: a callable, inputs, and nothing else.
"""

import re
import zlib
from pathlib import Path

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]


class Case:
    """fn(*inputs) records the node. Inputs: a shape tuple is a float64 leaf with values uniform in (low, high);
    a NumPy array is a tensor of its dtype (a float one is a leaf that requires grad); Const(array) a tensor
    that does not require grad. `no_gradcheck`: the reason the node cannot be gradchecked; `gradcheck`: other
    arguments of gradcheck (a step and tolerances for a row that goes through float32)."""

    def __init__(self, fn, *inputs, low=-1.0, high=1.0, no_gradcheck=None, gradcheck=None):
        self.fn, self.specs, self.low, self.high = fn, inputs, low, high
        self.no_gradcheck, self.gradcheck = no_gradcheck, gradcheck or {}

    def inputs(self, name):
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        out = []
        for s in self.specs:
            if isinstance(s, tuple):
                out.append(fastnn.tensor(rng.uniform(self.low, self.high, s), requires_grad=True))
            elif isinstance(s, Const):
                out.append(fastnn.tensor(s.array))
            else:
                s = np.asarray(s)
                out.append(fastnn.tensor(s.copy(), requires_grad=s.dtype.kind == "f"))
        return out


class Const:
    def __init__(self, array):
        self.array = np.asarray(array)


def seeded(fn):
    """fn with the generator reseeded on each call: random ops draw the same samples at every evaluation."""

    def run(*args):
        fastnn.manual_seed(0)
        return fn(*args)

    return run


def view_of_modified_base(x):
    """A view taken before its base is written in place: its history is regenerated (AsStridedBackward0)."""
    y = x * 1
    v = y[0]
    y[1].mul_(2)
    return v * 1


def write_into_a_view(x):
    """An in-place op on a view of a non-leaf: the base's history becomes CopySlices."""
    y = x * 1
    y[1].mul_(x[0])
    return y


def rnn(kind, **kw):
    def run(x):
        fastnn.manual_seed(0)
        layer = getattr(fastnn.nn, kind)(3, 2, **kw).double()
        return layer(x)[0]

    return run


IDX = Const(np.array([2, 0, 2], np.int64))
MASK = Const(np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]]))
POS = dict(low=0.5, high=2.0)
ZERO_GRAD_SAMPLE = (
    "torch defines the gradient of a sample with respect to its {} as zero, though the sample moves "
    "with it, so finite differences disagree (torch's own gradcheck fails the same way)"
)

NODES = {
    # the unary op table (cpp/fastnn/ops/unary_table.h)
    "NegBackward0": Case(lambda x: -x, (3, 4)),
    "ExpBackward0": Case(lambda x: x.exp(), (3, 4)),
    "LogBackward0": Case(lambda x: x.log(), (3, 4), **POS),
    "SqrtBackward0": Case(lambda x: x.sqrt(), (3, 4), **POS),
    "AbsBackward0": Case(lambda x: x.abs(), (3, 4)),
    "ReluBackward0": Case(lambda x: x.relu(), (3, 4)),
    "SigmoidBackward0": Case(lambda x: x.sigmoid(), (3, 4)),
    "TanhBackward0": Case(lambda x: x.tanh(), (3, 4)),
    "ReciprocalBackward0": Case(lambda x: x.reciprocal(), (3, 4), **POS),
    "SignBackward0": Case(lambda x: x.sign(), (3, 4)),
    "FloorBackward0": Case(lambda x: x.floor(), (3, 4), low=-3, high=3),
    "CeilBackward0": Case(lambda x: x.ceil(), (3, 4), low=-3, high=3),
    "RoundBackward0": Case(lambda x: x.round(), (3, 4), low=-3, high=3),
    "TruncBackward0": Case(lambda x: x.trunc(), (3, 4), low=-3, high=3),
    "SinBackward0": Case(lambda x: x.sin(), (3, 4)),
    "CosBackward0": Case(lambda x: x.cos(), (3, 4)),
    "TanBackward0": Case(lambda x: x.tan(), (3, 4)),
    "Log1PBackward0": Case(lambda x: x.log1p(), (3, 4), **POS),
    "Expm1Backward0": Case(lambda x: x.expm1(), (3, 4)),
    "ErfBackward0": Case(lambda x: x.erf(), (3, 4)),
    "Log2Backward0": Case(lambda x: x.log2(), (3, 4), **POS),
    "Log10Backward0": Case(lambda x: x.log10(), (3, 4), **POS),
    "RsqrtBackward0": Case(lambda x: x.rsqrt(), (3, 4), **POS),
    "Exp2Backward0": Case(lambda x: x.exp2(), (3, 4)),
    "SiluBackward0": Case(F.silu, (3, 4), low=-3, high=3),
    "LogSigmoidBackward0": Case(F.logsigmoid, (3, 4), low=-3, high=3),
    "MishBackward0": Case(F.mish, (3, 4), low=-3, high=3),
    "HardswishBackward0": Case(F.hardswish, (3, 4), low=-4, high=4),
    "HardsigmoidBackward0": Case(F.hardsigmoid, (3, 4), low=-4, high=4),
    # activations
    "SoftmaxBackward0": Case(lambda x: F.softmax(x, 1), (3, 4)),
    "LogSoftmaxBackward0": Case(lambda x: F.log_softmax(x, 1), (3, 4)),
    "LeakyReluBackward0": Case(lambda x: F.leaky_relu(x, 0.1), (3, 4)),
    "GeluBackward0": Case(lambda x: (F.gelu(x), F.gelu(x, approximate="tanh")), (3, 4), low=-3, high=3),
    "SoftplusBackward0": Case(lambda x: F.softplus(x, beta=2.0), (3, 4)),
    "EluBackward0": Case(lambda x: (F.elu(x, 0.5), F.selu(x)), (3, 4)),
    "EluBackward1": Case(lambda x: F.elu(x.clone(), 0.5, inplace=True), (3, 4)),
    "CeluBackward0": Case(lambda x: F.celu(x, 0.7), (3, 4)),
    "CeluBackward1": Case(lambda x: F.celu(x.clone(), 0.7, inplace=True), (3, 4)),
    "HardtanhBackward0": Case(lambda x: F.hardtanh(x, -0.5, 0.5), (3, 4)),
    "HardshrinkBackward0": Case(lambda x: F.hardshrink(x, 0.3), (3, 4)),
    "SoftshrinkBackward0": Case(lambda x: F.softshrink(x, 0.3), (3, 4)),
    "ThresholdBackward0": Case(lambda x: F.threshold(x, 0.1, 20.0), (3, 4)),
    "ThresholdBackward1": Case(lambda x: F.threshold(x.clone(), 0.1, 20.0, inplace=True), (3, 4)),
    "ClampMinBackward0": Case(
        lambda x, y: F.margin_ranking_loss(x, y, fastnn.tensor(MASK.array).double() * 2 - 1), (3, 4), (3, 4)
    ),
    "GluBackward0": Case(lambda x: F.glu(x, 1), (3, 4)),
    "PreluKernelBackward0": Case(F.prelu, (2, 3, 4), (3,)),
    # elementwise with two operands
    "AddBackward0": Case(lambda x, y: x + y * 2, (3, 4), (4,)),
    "SubBackward0": Case(lambda x, y: x - y, (3, 4), (3, 1)),
    "RsubBackward1": Case(lambda x: 1.5 - x, (3, 4)),
    "MulBackward0": Case(lambda x, y: x * y, (3, 4), (4,)),
    "DivBackward0": Case(lambda x, y: x / y, (3, 4), (4,), **POS),
    "PowBackward0": Case(lambda x: x**2.5, (3, 4), **POS),
    "PowBackward1": Case(lambda x, y: x**y, (3, 4), (4,), **POS),
    "PowBackward2": Case(lambda x: 2.0**x, (3, 4)),
    "Atan2Backward0": Case(fastnn.atan2, (3, 4), (3, 4)),
    "FmodBackward0": Case(lambda x: fastnn.fmod(x, 0.7), (3, 4), low=-3, high=3),
    "FmodBackward1": Case(fastnn.fmod, (3, 4), (3, 4), **POS),
    "RemainderBackward0": Case(lambda x: fastnn.remainder(x, 0.7), (3, 4), low=-3, high=3),
    "RemainderBackward1": Case(fastnn.remainder, (3, 4), (3, 4), **POS),
    "MaximumBackward0": Case(fastnn.maximum, (3, 4), (3, 4)),
    "MinimumBackward0": Case(fastnn.minimum, (3, 4), (3, 4)),
    "ClampBackward1": Case(lambda x: x.clamp(-0.5, 0.5), (3, 4)),
    "RoundBackward1": Case(lambda x: x.round(decimals=1), (3, 4)),
    "WhereBackward0": Case(lambda x, y: fastnn.where(fastnn.tensor(MASK.array), x, y), (3, 4), (4,)),
    "MaskedFillBackward0": Case(lambda x: x.masked_fill(fastnn.tensor(MASK.array), 0.5), (3, 4)),
    "MaskedFillBackward1": Case(lambda x, v: x.masked_fill(fastnn.tensor(MASK.array), v), (3, 4), ()),
    # copies and dtypes
    "CloneBackward0": Case(lambda x: x.clone(), (3, 4)),
    # a float32 round trip: steps of 1e-6 are below float32's resolution, so a coarser step and tolerance
    "ToCopyBackward0": Case(
        lambda x: x.to(fastnn.float32).to(fastnn.float64), (3, 4), gradcheck=dict(eps=1e-3, atol=1e-3)
    ),
    "FillBackward2": Case(lambda x: x.clone().fill_(0.5), (3, 4)),
    "FillBackward3": Case(lambda x, v: x.clone().fill_(v), (3, 4), ()),
    "ZeroBackward0": Case(lambda x: x.clone().zero_(), (3, 4)),
    # views and shapes
    "ViewBackward0": Case(lambda x: x.view(12), (3, 4)),
    "UnsafeViewBackward0": Case(lambda x: x.t().reshape(12), (3, 4)),
    "ExpandBackward0": Case(lambda x: x.expand(3, 4), (1, 4)),
    "PermuteBackward0": Case(lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    "TransposeBackward0": Case(lambda x: x.transpose(0, 2), (2, 3, 4)),
    "TBackward0": Case(lambda x: x.t(), (3, 4)),
    "SqueezeBackward0": Case(lambda x: x.squeeze(), (1, 3, 1)),
    "SqueezeBackward1": Case(lambda x: x.squeeze(0), (1, 3, 1)),
    "SqueezeBackward2": Case(lambda x: x.squeeze((0, 2)), (1, 3, 1)),
    "UnsqueezeBackward0": Case(lambda x: x.unsqueeze(1), (3, 4)),
    "SelectBackward0": Case(lambda x: x[1], (3, 4)),
    "SliceBackward0": Case(lambda x: x[1:3, ::2], (3, 4)),
    "AsStridedBackward0": Case(view_of_modified_base, (3, 4)),
    "CopySlices": Case(write_into_a_view, (3, 4)),
    "CopyBackwards": Case(lambda x, s: (x * 1).copy_(s), (3, 4), (4,)),
    "SplitBackward0": Case(lambda x: x.split(2), (3, 4)),
    "SplitWithSizesBackward0": Case(lambda x: x.split([1, 2]), (3, 4)),
    "UnbindBackward0": Case(lambda x: x.unbind(1), (3, 4)),
    "CatBackward0": Case(lambda x, y: fastnn.cat([x, y], 1), (3, 4), (3, 2)),
    "FlipBackward0": Case(lambda x: x.flip(0), (3, 4)),
    "RollBackward0": Case(lambda x: x.roll(1, 1), (3, 4)),
    "RepeatBackward0": Case(lambda x: x.repeat(2, 1, 2), (3, 4)),
    "TrilBackward0": Case(lambda x: x.tril(), (3, 4)),
    "TriuBackward0": Case(lambda x: x.triu(1), (3, 4)),
    "DiagonalBackward0": Case(lambda x: x.diagonal(1), (3, 4)),
    "DiagonalBackward0_copy": Case(fastnn.diag, (3, 4)),
    "DiagEmbedBackward0": Case(fastnn.diag_embed, (2, 3)),
    "PixelShuffleBackward0": Case(lambda x: F.pixel_shuffle(x, 2), (1, 4, 2, 3)),
    "PixelUnshuffleBackward0": Case(lambda x: F.pixel_unshuffle(x, 2), (1, 1, 4, 2)),
    "Im2ColBackward0": Case(lambda x: F.unfold(x, 2, padding=1, stride=2), (1, 2, 3, 3)),
    "Col2ImBackward0": Case(lambda x: F.fold(x, (3, 3), 2, stride=1), (1, 8, 4)),
    # indexing
    "IndexBackward0": Case(lambda x, i: x[i], (3, 4), IDX),
    "IndexPutBackward0": Case(lambda x, v, i: x.index_put((i,), v), (3, 4), (4,), Const(np.array([2, 0]))),
    "MaskedSelectBackward0": Case(lambda x: x.masked_select(fastnn.tensor(MASK.array)), (3, 4)),
    "IndexSelectBackward0": Case(lambda x, i: x.index_select(0, i), (3, 4), IDX),
    "EmbeddingBackward0": Case(lambda w, i: F.embedding(i, w), (5, 3), Const(np.array([[1, 4], [1, 0]]))),
    "EmbeddingBagBackward0": Case(
        lambda w, i, o: F.embedding_bag(i, w, o, mode="mean"),
        (5, 3),
        Const(np.array([1, 4, 1, 0, 2])),
        Const(np.array([0, 2])),
    ),
    "GatherBackward0": Case(lambda x, i: x.gather(1, i), (3, 4), Const(np.array([[0, 3], [1, 1], [2, 0]]))),
    "ScatterBackward0": Case(
        lambda x, s, i: x.scatter(1, i, s), (3, 4), (3, 2), Const(np.array([[0, 3], [1, 2], [2, 0]]))
    ),
    "ScatterBackward1": Case(lambda x, i: x.scatter(1, i, 1.5), (3, 4), Const(np.array([[0, 3], [1, 2], [2, 0]]))),
    "ScatterAddBackward0": Case(
        lambda x, s, i: x.scatter_add(1, i, s), (3, 4), (3, 2), Const(np.array([[0, 0], [1, 2], [2, 0]]))
    ),
    "IndexAddBackward0": Case(lambda x, s, i: x.index_add(0, i, s), (3, 4), (3, 4), IDX),
    # reductions
    "SumBackward0": Case(lambda x: x.sum(), (3, 4)),
    "SumBackward1": Case(lambda x: x.sum(1), (3, 4)),
    "MeanBackward0": Case(lambda x: x.mean(), (3, 4)),
    "MeanBackward1": Case(lambda x: x.mean(0, keepdim=True), (3, 4)),
    "MaxBackward0": Case(lambda x: fastnn.max(x, 1)[0], (3, 4)),
    "MaxBackward1": Case(lambda x: x.max(), (3, 4)),
    "MinBackward0": Case(lambda x: fastnn.min(x, 1)[0], (3, 4)),
    "MinBackward1": Case(lambda x: x.min(), (3, 4)),
    "AmaxBackward0": Case(lambda x: x.amax(1), (3, 4)),
    "AminBackward0": Case(lambda x: x.amin(0), (3, 4)),
    "ProdBackward0": Case(lambda x: x.prod(), (3, 4), **POS),
    "ProdBackward1": Case(lambda x: x.prod(1), (3, 4)),
    "LogsumexpBackward0": Case(lambda x: x.logsumexp(1), (3, 4)),
    "LinalgVectorNormBackward0": Case(lambda x: fastnn.linalg.vector_norm(x, 3, dim=1), (3, 4)),
    "VarBackward0": Case(lambda x: x.var(1), (3, 4)),
    "StdBackward0": Case(lambda x: x.std(0, correction=0), (3, 4)),
    "VarMeanBackward0": Case(lambda x: fastnn.var_mean(x, 1), (3, 4)),
    "StdMeanBackward0": Case(lambda x: fastnn.std_mean(x, 1), (3, 4)),
    "CumsumBackward0": Case(lambda x: x.cumsum(1), (3, 4)),
    "CumprodBackward0": Case(lambda x: x.cumprod(1), (3, 4)),
    "CummaxBackward0": Case(lambda x: x.cummax(1)[0], (3, 4)),
    # (the matrices are shifted by 3 I: well away from singular)
    "LinalgInvExBackward0": Case(lambda a: fastnn.linalg.inv(a + 3 * fastnn.eye(3, dtype=a.dtype)), (2, 3, 3)),
    "LinalgDetBackward0": Case(lambda a: fastnn.linalg.det(a + 3 * fastnn.eye(3, dtype=a.dtype)), (2, 3, 3)),
    "LinalgSlogdetBackward0": Case(lambda a: fastnn.linalg.slogdet(a + 3 * fastnn.eye(3, dtype=a.dtype))[1], (3, 3)),
    "LinalgSolveExBackward0": Case(
        lambda a, b: fastnn.linalg.solve(a + 3 * fastnn.eye(3, dtype=a.dtype), b), (2, 3, 3), (3, 2)
    ),
    "CumminBackward0": Case(lambda x: x.cummin(0)[0], (3, 4)),
    "SortBackward0": Case(lambda x: x.sort(1)[0], (3, 4)),
    "TopkBackward0": Case(lambda x: x.topk(2)[0], (3, 4)),
    "KthvalueBackward0": Case(lambda x: x.kthvalue(2, 1)[0], (3, 4)),
    "MedianBackward0": Case(lambda x: x.median(), (3, 4)),
    "MedianBackward1": Case(lambda x: x.median(1)[0], (3, 4)),
    # products
    "MmBackward0": Case(lambda a, b: a.mm(b), (3, 4), (4, 2)),
    "AddmmBackward0": Case(fastnn.addmm, (2,), (3, 4), (4, 2)),
    "LinearReluBackward0": Case(fastnn._C._linear_relu, (3, 4), (2, 4), (2,)),
    "BmmBackward0": Case(fastnn.bmm, (2, 3, 4), (2, 4, 2)),
    "MvBackward0": Case(fastnn.mv, (3, 4), (4,)),
    "DotBackward0": Case(fastnn.dot, (4,), (4,)),
    "AddmvBackward0": Case(fastnn.addmv, (3,), (3, 4), (4,)),
    "AddbmmBackward0": Case(fastnn.addbmm, (3, 2), (2, 3, 4), (2, 4, 2)),
    "BaddbmmBackward0": Case(fastnn.baddbmm, (2, 3, 2), (2, 3, 4), (2, 4, 2)),
    "ConvolutionReluBackward0": Case(
        lambda x, w, b: fastnn._C._conv2d_relu(x, w, b, [1, 1], [1, 1], [1, 1], 1), (2, 2, 5, 5), (3, 2, 3, 3), (3,)
    ),
    "ConvolutionBackward0": Case(
        lambda x, w, b: (F.conv2d(x, w, b, padding=1, stride=2), F.conv1d(x[:, :, 0], w[:, :, 0], b)),
        (1, 2, 4, 4),
        (3, 2, 2, 3),
        (3,),
    ),
    "ScaledDotProductFlashAttentionForCpuBackward0": Case(
        F.scaled_dot_product_attention, (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4)
    ),
    # normalization
    "NativeBatchNormBackward0": Case(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (4, 3), (3,), (3,)
    ),
    "NativeLayerNormBackward0": Case(lambda x, w, b: F.layer_norm(x, (4,), w, b), (3, 4), (4,), (4,)),
    "FusedRmsNormBackward0": Case(lambda x, w: F.rms_norm(x, (4,), w), (3, 4), (4,)),
    "NativeGroupNormBackward0": Case(lambda x, w, b: F.group_norm(x, 2, w, b), (2, 4, 3), (4,), (4,)),
    # padding, pooling, resampling
    "ConstantPadNdBackward0": Case(lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), (3, 4)),
    "ReflectionPad1DBackward0": Case(lambda x: F.pad(x, (2, 1), mode="reflect"), (1, 2, 4)),
    "ReflectionPad2DBackward0": Case(lambda x: F.pad(x, (2, 1, 1, 0), mode="reflect"), (1, 1, 3, 4)),
    "ReflectionPad3DBackward0": Case(lambda x: F.pad(x, (1, 0, 1, 1, 0, 1), mode="reflect"), (1, 1, 2, 3, 3)),
    "ReplicationPad1DBackward0": Case(lambda x: F.pad(x, (2, 1), mode="replicate"), (1, 2, 4)),
    "ReplicationPad2DBackward0": Case(lambda x: F.pad(x, (2, 1, 1, 0), mode="replicate"), (1, 1, 3, 4)),
    "ReplicationPad3DBackward0": Case(lambda x: F.pad(x, (1, 0, 1, 1, 0, 1), mode="replicate"), (1, 1, 2, 3, 3)),
    "MaxPool2DWithIndicesBackward0": Case(lambda x: F.max_pool2d(x, 2, stride=1), (1, 2, 4, 4)),
    "AvgPool2DBackward0": Case(lambda x: F.avg_pool2d(x, 2, stride=1, padding=1), (1, 2, 4, 4)),
    "AdaptiveAvgPool2DBackward0": Case(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (1, 2, 5, 4)),
    "AdaptiveMaxPool2DBackward0": Case(lambda x: F.adaptive_max_pool2d(x, (2, 3)), (1, 2, 5, 4)),
    "UpsampleNearest1DBackward0": Case(lambda x: F.interpolate(x, scale_factor=2), (1, 2, 3)),
    "UpsampleNearest2DBackward0": Case(lambda x: F.interpolate(x, size=(4, 5)), (1, 1, 3, 3)),
    "UpsampleNearestExact1DBackward0": Case(lambda x: F.interpolate(x, size=5, mode="nearest-exact"), (1, 2, 3)),
    "UpsampleNearestExact2DBackward0": Case(
        lambda x: F.interpolate(x, size=(4, 5), mode="nearest-exact"), (1, 1, 3, 3)
    ),
    "UpsampleLinear1DBackward0": Case(lambda x: F.interpolate(x, size=5, mode="linear"), (1, 2, 3)),
    "UpsampleBilinear2DBackward0": Case(
        lambda x: F.interpolate(x, size=(4, 5), mode="bilinear", align_corners=True), (1, 1, 3, 3)
    ),
    "UpsampleBicubic2DBackward0": Case(lambda x: F.interpolate(x, size=(4, 5), mode="bicubic"), (1, 1, 3, 3)),
    # losses
    "MseLossBackward0": Case(F.mse_loss, (3, 4), (3, 4)),
    "HuberLossBackward0": Case(lambda x, y: F.huber_loss(x, y, delta=0.5), (3, 4), (3, 4)),
    "SmoothL1LossBackward0": Case(lambda x, y: F.smooth_l1_loss(x, y, beta=0.5), (3, 4), (3, 4)),
    "SoftMarginLossBackward0": Case(F.soft_margin_loss, (3, 4), Const(np.sign(np.arange(12.0).reshape(3, 4) - 5.5))),
    "BinaryCrossEntropyBackward0": Case(
        F.binary_cross_entropy, (3, 4), Const(np.linspace(0, 1, 12).reshape(3, 4)), low=0.1, high=0.9
    ),
    "BinaryCrossEntropyWithLogitsBackward0": Case(
        lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, pos_weight=w),
        (3, 4),
        Const(np.linspace(0, 1, 12).reshape(3, 4)),
        Const(np.array([0.5, 1.0, 2.0, 3.0])),
    ),
    "NllLossBackward0": Case(lambda x, t: F.nll_loss(x, t), (3, 4), Const(np.array([1, 0, 3]))),
    "NllLoss2DBackward0": Case(
        lambda x, t: F.nll_loss(x, t), (2, 3, 2, 2), Const(np.array([[[1, 0], [2, 2]], [[0, 1], [1, 2]]]))
    ),
    "MulBackward1": Case(lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2), (3, 4), Const(np.array([1, 0, 3]))),
    "DivBackward1": Case(lambda x, t: F.cross_entropy(x, t), (3, 4), Const(np.full((3, 4), 0.25))),
    "MultiMarginLossBackward0": Case(F.multi_margin_loss, (3, 4), Const(np.array([1, 0, 3]))),
    "MultilabelMarginLossBackward0": Case(
        F.multilabel_margin_loss, (2, 4), Const(np.array([[3, 0, -1, 1], [1, 2, 0, -1]]))
    ),
    # recurrent layers (gradchecked with respect to the input sequence)
    "RnnTanhLayerBackward0": Case(rnn("RNN"), (2, 1, 3)),
    "RnnReluLayerBackward0": Case(rnn("RNN", nonlinearity="relu"), (2, 1, 3)),
    "LstmLayerBackward0": Case(rnn("LSTM", proj_size=1), (2, 1, 3)),
    "GruLayerBackward0": Case(rnn("GRU", bidirectional=True), (2, 1, 3)),
    # random: reseeded at each evaluation, the samples (and their zero gradient) are fixed
    "UniformBackward0": Case(seeded(lambda x: x.clone().uniform_() * x), (3, 4)),
    "NormalBackward0": Case(seeded(lambda x: x.clone().normal_() * x), (3, 4)),
    "ExponentialBackward0": Case(seeded(lambda x: x.clone().exponential_() * x), (3, 4)),
    "RandomBackward0": Case(seeded(lambda x: x.clone().random_(1, 5) * x), (3, 4)),
    "RandomBackward1": Case(seeded(lambda x: x.clone().random_(5) * x), (3, 4)),
    "RandomBackward2": Case(seeded(lambda x: x.clone().random_() * x), (3, 4)),
    "BernoulliBackward0": Case(seeded(lambda p: fastnn.bernoulli(p) * p), (3, 4), low=0.1, high=0.9),
    "BernoulliBackward1": Case(
        seeded(lambda x, p: x.clone().bernoulli_(p.detach()) * x), (3, 4), (3, 4), low=0.1, high=0.9
    ),
    "BernoulliBackward2": Case(seeded(lambda x: x.clone().bernoulli_(0.3) * x), (3, 4)),
    "NormalBackward1": Case(
        seeded(lambda m: fastnn.normal(m, 0.5)), (3, 4), no_gradcheck=ZERO_GRAD_SAMPLE.format("mean")
    ),
    "NormalBackward2": Case(
        seeded(lambda s: fastnn.normal(0.5, s)),
        (3, 4),
        **POS,
        no_gradcheck=ZERO_GRAD_SAMPLE.format("standard deviation"),
    ),
    "NormalBackward3": Case(
        seeded(fastnn.normal),
        (3, 4),
        (3, 4),
        **POS,
        no_gradcheck=ZERO_GRAD_SAMPLE.format("mean and standard deviation"),
    ),
    # the leaves' gradient accumulator (in every graph)
    "AccumulateGrad": Case(lambda x: x * 1, (3, 4)),
}


def graph_names(outputs):
    """Names of every node reachable from the outputs' grad_fns."""
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    seen, names = set(), set()
    todo = [t.grad_fn for t in outputs if isinstance(t, fastnn.Tensor) and t.grad_fn is not None]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        names.add(node.name())
        todo.extend(n for n, _ in node.next_functions if n is not None)
    return names


@pytest.mark.parametrize("name", sorted(NODES))
def test_node_is_recorded_and_gradchecks(name):
    case = NODES[name]
    inputs = case.inputs(name)
    found = graph_names(case.fn(*inputs))
    assert name in found, f"the row's graph has no {name}, only {sorted(found)}"
    if case.no_gradcheck:
        pytest.skip(case.no_gradcheck)
    assert fastnn.autograd.gradcheck(case.fn, inputs, **case.gradcheck)


# Names the engine composes from pieces: the piece as spelled in the source -> the names it makes.
COMPOSED = {
    "DBackward0": [
        "UpsampleNearest1DBackward0",
        "UpsampleNearest2DBackward0",
        "UpsampleNearestExact1DBackward0",
        "UpsampleNearestExact2DBackward0",
        "UpsampleLinear1DBackward0",
        "UpsampleBilinear2DBackward0",
        "UpsampleBicubic2DBackward0",
    ],
}


def engine_node_names():
    """Node names spelled in cpp/fastnn: string literals naming a backward node, rows of the unary op table,
    literals returned by a node's name(), and the names composed from a `+ "...Backward0"` piece (COMPOSED)."""
    names, unknown = set(), set()
    for path in sorted((ROOT / "cpp" / "fastnn").rglob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        text = re.sub(r"//[^\n]*", "", path.read_text())
        for piece in re.findall(r'\+\s*"(\w*Backward\w*)"', text):
            if piece in COMPOSED:
                names.update(COMPOSED[piece])
            else:
                unknown.add(f"{path.name}: {piece}")
        names.update(n for n in re.findall(r'(?<!\+ )"([A-Z]\w*Backward\w*)"', text) if n not in COMPOSED)
        names.update(re.findall(r"^\s*X\(\w+,\s*(\w+Backward\d+),", text, re.M))
        names.update(re.findall(r'name\(\) const override \{ return "(\w+)"; \}', text))
    return names, unknown


@pytest.mark.skipif(not (ROOT / "cpp" / "fastnn").is_dir(), reason="needs the C++ sources (a source checkout)")
def test_registry_matches_the_engine():
    names, unknown = engine_node_names()
    assert not unknown, f"node names composed from pieces not in COMPOSED: {sorted(unknown)}"
    assert len(names) > 150, "the scan of cpp/fastnn found too few node names: has the naming changed?"
    missing, stale = sorted(names - set(NODES)), sorted(set(NODES) - names)
    assert not missing, f"backward nodes with no row in NODES (add one: a callable and inputs): {missing}"
    assert not stale, f"rows in NODES whose node the engine no longer has: {stale}"
