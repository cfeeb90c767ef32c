"""Mistaken input raises a clear Python exception (type + a message naming the op and the numbers), never a crash.

Each row: (id, callable, exception type, regex the message must match). The crash-prone rows run again
in a subprocess so that a segfault shows as a failing test with its return code.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Using a target size")

ones, zeros = fastnn.ones, fastnn.zeros
i64, f64 = fastnn.int64, fastnn.float64


def _leaf(*shape):
    return fastnn.ones(*shape, requires_grad=True)


# ---------------------------------------------------------------------------------------------
# shapes

SHAPE_ERRORS = [
    # binary broadcasting
    (
        "add",
        lambda: ones(2, 3) + ones(4),
        ValueError,
        r"\[add\] shapes \(2, 3\) and \(4,\) cannot be broadcast: size 3 vs 4 at dimension 1",
    ),
    ("sub", lambda: ones(2, 3) - ones(3, 3), ValueError, r"\[sub\] shapes \(2, 3\) and \(3, 3\) cannot be broadcast"),
    ("mul", lambda: ones(2, 3) * ones(2, 2), ValueError, r"\[mul\] shapes \(2, 3\) and \(2, 2\)"),
    ("div", lambda: ones(5) / ones(4), ValueError, r"\[div\] shapes \(5,\) and \(4,\)"),
    ("pow", lambda: ones(5) ** ones(2), ValueError, r"\[pow\] shapes \(5,\) and \(2,\)"),
    ("eq", lambda: ones(5) == ones(2), ValueError, r"\[eq\] shapes \(5,\) and \(2,\)"),
    (
        "add_inplace",
        lambda: ones(3).add_(ones(2, 3)),
        ValueError,
        r"\[add_\] output with shape \[3\] doesn't match the broadcast shape \[2, 3\]",
    ),
    ("copy_", lambda: ones(3).copy_(ones(2)), ValueError, r"\[copy_\] shapes \(3,\) and \(2,\)"),
    ("setitem", lambda: ones(3).__setitem__(slice(0, 2), ones(3)), ValueError, r"\[copy_\] shapes \(2,\) and \(3,\)"),
    # matrix products
    (
        "mm",
        lambda: fastnn.mm(ones(2, 3), ones(4, 5)),
        ValueError,
        r"\[mm\] mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)",
    ),
    ("mm_1d", lambda: fastnn.mm(ones(3), ones(3, 5)), ValueError, r"\[mm\] expected 2-D matrices, got 1-D and 2-D"),
    (
        "addmm_inner",
        lambda: fastnn.addmm(ones(4), ones(2, 3), ones(2, 4)),
        ValueError,
        r"\[addmm\] mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x4\)",
    ),
    (
        "addmm_bias",
        lambda: fastnn.addmm(ones(5), ones(2, 3), ones(3, 4)),
        ValueError,
        r"\[addmm\] shapes \(5,\) and \(2, 4\) cannot be broadcast",
    ),
    ("bmm_batch", lambda: fastnn.bmm(ones(2, 3, 4), ones(3, 4, 5)), ValueError, r"\[bmm\] batch sizes differ: 2 vs 3"),
    (
        "bmm_inner",
        lambda: fastnn.bmm(ones(2, 3, 4), ones(2, 5, 5)),
        ValueError,
        r"\[bmm\] expected size 4 in dim 1 of the second operand, got 5",
    ),
    (
        "bmm_2d",
        lambda: fastnn.bmm(ones(3, 4), ones(4, 5)),
        ValueError,
        r"\[bmm\] expected 3-D tensors, got 2-D and 2-D",
    ),
    ("matmul_vec", lambda: ones(2, 3) @ ones(4), ValueError, r"shapes cannot be multiplied \(2x3 and 4x1\)"),
    ("matmul_1d", lambda: ones(3) @ ones(4), ValueError, r"\[matmul\] .*3 and 4"),
    (
        "matmul_batch",
        lambda: fastnn.matmul(ones(2, 2, 3), ones(3, 3, 4)),
        ValueError,
        r"\[matmul\] shapes \(2,\) and \(3,\) cannot be broadcast",
    ),
    (
        "matmul_0d",
        lambda: fastnn.matmul(ones(()), ones(3)),
        ValueError,
        r"\[matmul\] both arguments to matmul need to be at least 1D, but they are 0D and 1D",
    ),
    # views
    ("view_size", lambda: ones(2, 3).view(4), ValueError, r"\[view\] shape '\[4\]' is invalid for input of size 6"),
    (
        "view_infer",
        lambda: ones(2, 3).view(-1, 4),
        ValueError,
        (
            r"\[view\] shape '\[-1, 4\]' is invalid for input of "
            r"size 6"
        ),
    ),
    ("view_two_infer", lambda: ones(2, 3).view(-1, -1), ValueError, r"\[view\] only one dimension can be inferred"),
    ("view_negative", lambda: ones(2, 3).view(-2, 3), ValueError, r"\[view\] invalid shape dimension -2"),
    (
        "view_noncontiguous",
        lambda: ones(2, 3).t().view(6),
        RuntimeError,
        r"\[view\] view size is not compatible with input tensor's size and stride.*Use \.reshape",
    ),
    (
        "reshape_size",
        lambda: ones(2, 3).reshape(7),
        ValueError,
        (
            r"\[reshape\] shape '\[7\]' is invalid for input of "
            r"size 6"
        ),
    ),
    (
        "expand_size",
        lambda: ones(2, 3).expand(2, 4),
        ValueError,
        (
            r"\[expand\] the expanded size of the tensor \(4\) must match the existing size \(3\) at non-singleton "
            r"dimension 1"
        ),
    ),
    (
        "expand_fewer",
        lambda: ones(2, 3).expand(3),
        ValueError,
        (
            r"\[expand\] the number of sizes provided \(1\) must be greater or equal to the number of dimensions in the "
            r"tensor \(2\)"
        ),
    ),
    ("expand_negative", lambda: ones(1, 3).expand(-2, 3), ValueError, r"\[expand\] invalid size -2 at dimension 0"),
    (
        "expand_leading_minus_one",
        lambda: ones(3).expand(-1, 3),
        ValueError,
        r"\[expand\] the expanded size -1 is not allowed in a leading dimension",
    ),
    ("permute_len", lambda: ones(2, 3).permute(0), ValueError, r"\[permute\] .*the tensor has 2 dims but 1 were given"),
    ("permute_repeat", lambda: ones(2, 3).permute(0, 0), ValueError, r"\[permute\] repeated dim 0"),
    # convolution
    (
        "conv2d_channels",
        lambda: F.conv2d(ones(1, 3, 5, 5), ones(2, 2, 3, 3)),
        ValueError,
        r"\[conv2d\] expected input\(1, 3, 5, 5\) to have 2 channels, but got 3 channels instead",
    ),
    (
        "conv2d_kernel_too_big",
        lambda: F.conv2d(ones(1, 1, 2, 2), ones(1, 1, 3, 3)),
        ValueError,
        (
            r"\[conv2d\] Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\). Kernel size can't be "
            r"greater than actual input size"
        ),
    ),
    (
        "conv2d_groups_divide",
        lambda: F.conv2d(ones(1, 4, 5, 5), ones(3, 2, 3, 3), groups=2),
        ValueError,
        r"\[conv2d\] out_channels \(3\) must be divisible by groups \(2\)",
    ),
    (
        "conv2d_groups_zero",
        lambda: F.conv2d(ones(1, 4, 5, 5), ones(4, 4, 3, 3), groups=0),
        ValueError,
        r"\[conv2d\] groups must be a positive integer, got 0",
    ),
    (
        "conv2d_2d_input",
        lambda: F.conv2d(ones(5, 5), ones(1, 1, 3, 3)),
        ValueError,
        r"\[conv2d\] expected 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got 2-D input of shape \(5, 5\)",
    ),
    (
        "conv2d_weight_dims",
        lambda: F.conv2d(ones(1, 1, 3, 3), ones(3, 3)),
        ValueError,
        r"\[conv2d\] expected 4-D weight .*got shape \(3, 3\)",
    ),
    (
        "conv2d_bias",
        lambda: F.conv2d(ones(1, 1, 5, 5), ones(2, 1, 3, 3), ones(3)),
        ValueError,
        r"\[conv2d\] expected bias of shape \(2,\), got \(3,\)",
    ),
    (
        "conv2d_stride",
        lambda: F.conv2d(ones(1, 1, 5, 5), ones(1, 1, 3, 3), stride=0),
        ValueError,
        r"\[conv2d\] stride must be >= 1, got \(0, 0\)",
    ),
    (
        "conv2d_padding",
        lambda: F.conv2d(ones(1, 1, 5, 5), ones(1, 1, 3, 3), padding=-1),
        ValueError,
        r"\[conv2d\] padding must be >= 0, got \(-1, -1\)",
    ),
    (
        "conv2d_dilation",
        lambda: F.conv2d(ones(1, 1, 5, 5), ones(1, 1, 3, 3), dilation=0),
        ValueError,
        r"\[conv2d\] dilation must be >= 1, got \(0, 0\)",
    ),
    # pooling
    (
        "max_pool2d_too_small",
        lambda: F.max_pool2d(ones(1, 1, 2, 2), 3),
        ValueError,
        r"\[max_pool2d\] given input size \(2x2\) with kernel \(3x3\).*output size \(0x0\) is too small",
    ),
    (
        "max_pool2d_padding",
        lambda: F.max_pool2d(ones(1, 1, 6, 6), 2, padding=2),
        ValueError,
        (
            r"\[max_pool2d\] pad should be at most half of effective kernel size, but got pad=\(2, 2\) and "
            r"kernel_size=\(2, 2\)"
        ),
    ),
    (
        "max_pool2d_stride",
        lambda: F.max_pool2d(ones(1, 1, 6, 6), 2, stride=0),
        ValueError,
        r"\[max_pool2d\] stride must be >= 1, got \(0, 0\)",
    ),
    (
        "max_pool2d_kernel",
        lambda: F.max_pool2d(ones(1, 1, 6, 6), 0),
        ValueError,
        r"\[max_pool2d\] kernel_size must be >= 1, got \(0, 0\)",
    ),
    (
        "max_pool2d_2d",
        lambda: F.max_pool2d(ones(6, 6), 2),
        ValueError,
        r"\[max_pool2d\] expected 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got 2-D",
    ),
    (
        "max_pool2d_dilation",
        lambda: F.max_pool2d(ones(1, 1, 4, 4), 2, dilation=0),
        ValueError,
        r"\[max_pool2d\] dilation must be >= 1",
    ),
    (
        "avg_pool2d_too_small",
        lambda: F.avg_pool2d(ones(1, 1, 2, 2), 3),
        ValueError,
        r"\[avg_pool2d\] given input size \(2x2\) with kernel \(3x3\)",
    ),
    (
        "avg_pool2d_divisor",
        lambda: F.avg_pool2d(ones(1, 1, 4, 4), 2, divisor_override=0),
        ValueError,
        r"\[avg_pool2d\] divisor must be not zero",
    ),
    # linear and losses
    (
        "linear_in_features",
        lambda: F.linear(ones(2, 3), ones(4, 5)),
        ValueError,
        r"\[linear\] input's last dimension \(3\) does not match the weight's in_features \(5\)",
    ),
    (
        "linear_bias",
        lambda: F.linear(ones(2, 3), ones(4, 3), ones(5)),
        ValueError,
        r"\[linear\] expected bias of shape \(4,\), got \(5,\)",
    ),
    (
        "mse_loss",
        lambda: F.mse_loss(ones(2, 3), ones(3, 3)),
        ValueError,
        r"\[mse_loss\] shapes \(2, 3\) and \(3, 3\) cannot be broadcast",
    ),
    (
        "mse_loss_reduction",
        lambda: F.mse_loss(ones(2), ones(2), reduction="avg"),
        ValueError,
        r"avg is not a valid value for reduction",
    ),
    (
        "nll_loss_target_shape",
        lambda: F.nll_loss(ones(2, 3), fastnn.tensor([0, 1, 2])),
        ValueError,
        r"\[nll_loss\] expected target of shape \(2,\) for input of shape \(2, 3\), got \(3,\)",
    ),
    (
        "cross_entropy_target_shape",
        lambda: F.cross_entropy(ones(2, 3), fastnn.tensor([[0], [1]])),
        ValueError,
        r"expected target of shape \(2,\) for input of shape \(2, 3\), got \(2, 1\)",
    ),
    (
        "cross_entropy_weight",
        lambda: F.cross_entropy(ones(2, 3), fastnn.tensor([0, 1]), weight=ones(4)),
        ValueError,
        (
            r"weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: "
            r"\(4,\)"
        ),
    ),
    # cat / stack
    (
        "cat_sizes",
        lambda: fastnn.cat([ones(2, 3), ones(2, 4)]),
        ValueError,
        r"\[cat\] sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor number 1",
    ),
    (
        "cat_dims",
        lambda: fastnn.cat([ones(2, 3), ones(2, 3, 1)]),
        ValueError,
        r"\[cat\] tensors must have the same number of dimensions: got 2 and 3",
    ),
    ("cat_empty", lambda: fastnn.cat([]), ValueError, r"\[cat\] expected a non-empty list of Tensors"),
    (
        "cat_0d",
        lambda: fastnn.cat([fastnn.tensor(1.0), fastnn.tensor(2.0)]),
        ValueError,
        r"\[cat\] zero-dimensional tensor \(at position 0\) cannot be concatenated",
    ),
    (
        "stack_sizes",
        lambda: fastnn.stack([ones(2), ones(3)]),
        ValueError,
        r"\[stack\] stack expects each tensor to be equal size, but got \[2\] at entry 0 and \[3\] at entry 1",
    ),
    ("stack_empty", lambda: fastnn.stack([]), ValueError, r"\[stack\] expected a non-empty list of Tensors"),
]

# ---------------------------------------------------------------------------------------------
# dims and indices

INDEX_ERRORS = [
    (
        "index_float_tensor",
        lambda: ones(3)[fastnn.tensor([0.0, 1.0])],
        r"\[index\] tensors used as indices must be long, int, byte or bool tensors",
    ),
    (
        "index_tensor_out_of_range",
        lambda: ones(3)[fastnn.tensor([0, 3])],
        r"\[index\] index 3 is out of bounds for dimension 0 with size 3",
    ),
    ("sum", lambda: ones(2, 3).sum(2), r"\[sum\] dimension 2 out of range for a 2-d tensor \(expected in \[-2, 1\]\)"),
    ("sum_negative", lambda: ones(2, 3).sum(-3), r"\[sum\] dimension -3 out of range"),
    ("mean", lambda: ones(2, 3).mean(5), r"\[mean\] dimension 5 out of range"),
    ("softmax", lambda: ones(2, 3).softmax(2), r"\[softmax\] dimension 2 out of range for a 2-d tensor"),
    ("log_softmax", lambda: F.log_softmax(ones(2, 3), dim=-3), r"\[log_softmax\] dimension -3 out of range"),
    ("transpose", lambda: ones(2, 3).transpose(0, 2), r"\[transpose\] dimension 2 out of range"),
    ("squeeze", lambda: ones(2, 3).squeeze(3), r"\[squeeze\] dimension 3 out of range"),
    (
        "unsqueeze",
        lambda: ones(2, 3).unsqueeze(4),
        (
            r"\[unsqueeze\] dimension 4 out of range for a 3-d tensor "
            r"\(expected in \[-3, 2\]\)"
        ),
    ),
    ("flatten", lambda: ones(2, 3).flatten(0, 5), r"\[flatten\] dimension 5 out of range"),
    ("argmax", lambda: ones(2, 3).argmax(3), r"\[argmax\] dimension 3 out of range"),
    ("max_dim", lambda: ones(2, 3).max(3), r"\[max\] dimension 3 out of range"),
    ("size", lambda: ones(2, 3).size(2), r"\[size\] dimension 2 out of range"),
    ("cat_dim", lambda: fastnn.cat([ones(2, 3)], dim=2), r"\[cat\] dimension 2 out of range"),
    ("select_index", lambda: ones(3)[5], r"\[index\] index 5 is out of bounds for dimension 0 with size 3"),
    ("select_negative", lambda: ones(3)[-4], r"\[index\] index -4 is out of bounds for dimension 0 with size 3"),
    ("select_2d", lambda: ones(3, 2)[3], r"index 3 is out of bounds for dimension 0 with size 3"),
    ("too_many_indices", lambda: ones(3)[0, 0], r"\[index\] too many indices for tensor of dimension 1 \(got 2\)"),
    ("index_0d", lambda: fastnn.tensor(1.0)[0], r"too many indices for tensor of dimension 0"),
    ("two_ellipses", lambda: ones(2, 2)[..., ...], r"an index can only have a single ellipsis"),
    ("setitem_index", lambda: ones(3).__setitem__(3, 1.0), r"index 3 is out of bounds for dimension 0 with size 3"),
    ("select_column", lambda: ones(2, 3)[1, 5], r"\[index\] index 5 is out of bounds for dimension 1 with size 3"),
]

# ---------------------------------------------------------------------------------------------
# factories and dtypes

VALUE_ERRORS = [
    ("zeros", lambda: fastnn.zeros(-1), r"\[zeros\] negative dimension -1 in size \(-1,\)"),
    ("ones", lambda: fastnn.ones(2, -3), r"negative dimension -3 in size \(2, -3\)"),
    ("empty", lambda: fastnn.empty(-1), r"\[empty\] negative dimension -1"),
    ("full", lambda: fastnn.full((-1,), 2.0), r"\[full\] negative dimension -1"),
    ("randn", lambda: fastnn.randn(-1), r"\[randn\] negative dimension -1"),
    ("rand", lambda: fastnn.rand(3, -1), r"\[rand\] negative dimension -1 in size \(3, -1\)"),
    ("randint", lambda: fastnn.randint(0, 5, (-1,)), r"\[randint\] negative dimension -1"),
    ("randint_range", lambda: fastnn.randint(5, 5, (3,)), r"\[randint\] expected low < high, got low=5, high=5"),
    ("eye", lambda: fastnn.eye(-1), r"\[eye\] n and m must be non-negative, got n=-1"),
    ("arange_step", lambda: fastnn.arange(0, 5, 0), r"\[arange\] step must be nonzero"),
    ("arange_direction", lambda: fastnn.arange(0, 5, -1), r"\[arange\] .*inconsistent with step sign"),
    ("arange_nan", lambda: fastnn.arange(0, float("nan")), r"\[arange\] unsupported range: 0 -> nan"),
    (
        "ragged",
        lambda: fastnn.tensor([[1, 2], [3]]),
        (
            r"\[tensor\] could not build a tensor from the data.*"
            r"inhomogeneous"
        ),
    ),
    ("ragged_deep", lambda: fastnn.tensor([[1.0, 2.0], [3.0, [4.0]]]), r"\[tensor\] could not build a tensor"),
    (
        "overflow_int64",
        lambda: fastnn.empty(2**40, 2**40),
        r"\[empty\] size \(1099511627776, 1099511627776\) has more than 2\^63 elements",
    ),
    ("overflow_expand", lambda: ones(1, 1).expand(2**62, 2**62), r"\[expand\] size .* has more than 2\^63"),
    ("view_not_64_bits", lambda: ones(3).view(2**70), r"\[view\] size does not fit in 64 bits"),
    (
        "manual_seed",
        lambda: fastnn.manual_seed(2**64),
        r"\[manual_seed\] seed must be within \[-2\*\*63, 2\*\*64\), got 18446744073709551616",
    ),
    (
        "set_num_threads",
        lambda: fastnn.set_num_threads(0),
        (
            r"\[set_num_threads\] expected a positive number of "
            r"threads, got 0"
        ),
    ),
    (
        "set_num_threads_huge",
        lambda: fastnn.set_num_threads(10**6),
        (
            r"\[set_num_threads\] expected at most 4096 "
            r"threads, got 1000000"
        ),
    ),
]

TYPE_ERRORS = [
    (
        "mm_int",
        lambda: fastnn.mm(ones(2, 3, dtype=i64), ones(3, 2, dtype=i64)),
        (
            r"\[mm\] expected both operands to "
            r"have the same floating-point "
            r"dtype, but got int64 and int64"
        ),
    ),
    ("mm_mixed", lambda: fastnn.mm(ones(2, 3), ones(3, 2, dtype=f64)), r"\[mm\] .*float32 and float64"),
    (
        "conv2d_weight_float64",
        lambda: F.conv2d(ones(1, 1, 5, 5), ones(1, 1, 3, 3, dtype=f64)),
        r"\[conv2d\] expected input, weight and bias of the same floating-point dtype, got float32, float64",
    ),
    ("conv2d_int", lambda: F.conv2d(ones(1, 1, 5, 5, dtype=i64), ones(1, 1, 3, 3, dtype=i64)), r"\[conv2d\] .*int64"),
    ("linear_float64", lambda: F.linear(ones(2, 3), ones(4, 3, dtype=f64)), r"float32 and float64"),
    (
        "mse_loss_int",
        lambda: F.mse_loss(ones(2, dtype=i64), ones(2, dtype=i64)),
        (
            r"\[mse_loss\] expected "
            r"floating-point input, got int64"
        ),
    ),
    (
        "nll_loss_float_target",
        lambda: F.nll_loss(ones(2, 3), fastnn.tensor([0.0, 1.0])),
        r"\[nll_loss\] expected target of dtype int64 \(class indices\), got float32",
    ),
    ("mean_int", lambda: ones(2, dtype=i64).mean(), r"\[mean\] could not infer output dtype.*Got: int64"),
    (
        "add_inplace_cast",
        lambda: ones(2, dtype=i64).add_(1.5),
        (
            r"\[add_\] result type float32 can't be cast to the "
            r"desired output type int64"
        ),
    ),
    ("relu_bool", lambda: ones(2, dtype=fastnn.bool).relu(), r"\[relu\] not supported for bool tensors"),
    ("neg_bool", lambda: -ones(2, dtype=fastnn.bool), r"\[neg\] not supported for bool tensors"),
    ("sub_bool", lambda: ones(2, dtype=fastnn.bool) - ones(2, dtype=fastnn.bool), r"\[sub\] subtraction with a bool"),
    ("size_float", lambda: fastnn.zeros(2.5), r"\[zeros\] size must be a sequence of ints, got float"),
    ("view_float", lambda: ones(4).view(2.0, 2), r"\[view\] size must be an int, got float"),
    ("manual_seed_float", lambda: fastnn.manual_seed(1.5), r"\[manual_seed\] seed must be an int, got float"),
    (
        "from_numpy_uint16",
        lambda: fastnn.from_numpy(__import__("numpy").zeros(3, "uint16")),
        r"\[from_numpy\] can't convert np.ndarray of type uint16",
    ),
    ("index_float", lambda: ones(3)[1.5], r"\[index\] only integers, slices .* are valid indices \(got float\)"),
    (
        "index_sequence_of_str",
        lambda: ones(3)[["a"]],
        r"\[index\] a sequence used as an index must hold integers or bools",
    ),
    ("len_0d", lambda: len(fastnn.tensor(1.0)), r"len\(\) of a 0-d tensor"),
    ("iter_0d", lambda: iter(fastnn.tensor(1.0)), r"iteration over a 0-d tensor"),
    ("add_str", lambda: ones(2) + "a", r"unsupported operand type"),
    ("index_of_float_tensor", lambda: [1, 2][fastnn.tensor(1.0)], r"only integer tensors of a single element"),
    ("size_arg", lambda: fastnn.Size([2.5]), r"fastnn.Size\(\) takes an iterable of 'int' \(item 0 is 'float'\)"),
]

MEMORY_ERRORS = [
    ("empty", lambda: fastnn.empty(10**13), r"\[empty\] cannot allocate 40000000000000 bytes"),
    ("zeros", lambda: fastnn.zeros(10**6, 10**7), r"\[zeros\] cannot allocate 40000000000000 bytes"),
    ("randn", lambda: fastnn.randn(10**13), r"\[randn\] cannot allocate"),
    ("full", lambda: fastnn.full((10**13,), 1.0), r"\[full\] cannot allocate"),
    ("arange", lambda: fastnn.arange(0, 10**13), r"\[arange\] cannot allocate 80000000000000 bytes"),
    ("eye", lambda: fastnn.eye(10**7), r"cannot allocate 400000000000000 bytes"),
    (
        "float64_overflowing_bytes",
        lambda: fastnn.empty(2**62, dtype=f64),
        (
            r"\[empty\] size \(4611686018427387904,\) "
            r"is too large to allocate"
        ),
    ),
    ("clone_of_expanded", lambda: ones(1).expand(10**13).contiguous(), r"\[clone\] cannot allocate"),
    (
        "conv2d_huge_padding",
        lambda: F.conv2d(ones(1, 1, 3, 3), ones(1, 1, 3, 3), padding=10**9),
        r"\[conv2d\] cannot allocate",
    ),
]


def _ids(rows):
    return [r.values[0] if hasattr(r, "values") else r[0] for r in rows]


@pytest.mark.parametrize("name, fn, exc, match", SHAPE_ERRORS, ids=_ids(SHAPE_ERRORS))
def test_shape_errors(name, fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize("name, fn, match", INDEX_ERRORS, ids=_ids(INDEX_ERRORS))
def test_index_errors(name, fn, match):
    with pytest.raises(IndexError, match=match):
        fn()


@pytest.mark.parametrize("name, fn, match", VALUE_ERRORS, ids=_ids(VALUE_ERRORS))
def test_value_errors(name, fn, match):
    with pytest.raises(ValueError, match=match):
        fn()


@pytest.mark.parametrize("name, fn, match", TYPE_ERRORS, ids=_ids(TYPE_ERRORS))
def test_type_errors(name, fn, match):
    with pytest.raises(TypeError, match=match):
        fn()


@pytest.mark.parametrize("name, fn, match", MEMORY_ERRORS, ids=_ids(MEMORY_ERRORS))
def test_memory_errors(name, fn, match):
    with pytest.raises(MemoryError, match=match):
        fn()


def test_huge_allocation_fails_instantly():
    import time

    start = time.perf_counter()
    for _ in range(20):
        with pytest.raises(MemoryError):
            fastnn.empty(10**13)
    assert time.perf_counter() - start < 1.0
    assert fastnn.ones(3).sum().item() == 3.0  # still usable afterwards


def test_class_index_out_of_range():
    with pytest.raises(IndexError, match=r"\[nll_loss\] Target 3 is out of bounds \(expected a class in \[0, 3\)"):
        F.nll_loss(ones(2, 3), fastnn.tensor([0, 3]))
    with pytest.raises(IndexError, match=r"Target -5 is out of bounds"):
        F.nll_loss(ones(2, 3), fastnn.tensor([0, -5]))
    with pytest.raises(IndexError, match=r"Target 7 is out of bounds"):
        F.cross_entropy(ones(2, 3), fastnn.tensor([0, 7]))
    # ignore_index is not a class, so it may be out of range
    loss = F.nll_loss(-ones(2, 3), fastnn.tensor([5, 1]), ignore_index=5)
    assert loss.item() == 1.0


def test_requires_grad_on_integer_tensor():
    for dtype in (fastnn.int64, fastnn.bool):
        with pytest.raises(RuntimeError, match=r"only Tensors of floating point dtype can require gradients \(got "):
            fastnn.zeros(2, dtype=dtype).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point dtype can require gradients"):
        fastnn.tensor([1, 2], requires_grad=True)


def test_conversions_of_many_elements():
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        ones(2).item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(ones(2))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        bool(ones(0))
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        _leaf(2).numpy()


# ---------------------------------------------------------------------------------------------
# autograd misuse (messages as torch has them)


def test_backward_of_non_scalar_without_gradient():
    x = _leaf(3)
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    import torch

    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs"):
        (torch.ones(3, requires_grad=True) * 2).backward()


def test_second_backward_through_freed_buffers():
    x = _leaf(3)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(
        RuntimeError,
        match=r"Trying to backward through the graph a second time .*Specify "
        r"retain_graph=True",
    ):
        y.backward()


def test_in_place_change_of_saved_tensor():
    x = _leaf(3)
    y = x.exp()
    z = y.sum()
    with fastnn.no_grad():
        y.add_(1)
    with pytest.raises(
        RuntimeError,
        match=r"one of the variables needed for gradient computation has been modified "
        r"by an inplace operation: \[fastnn.FloatTensor \[3\]\], which was saved by "
        r"ExpBackward0, is at version 1; expected version 0 instead",
    ):
        (z + (y * 1).sum()).backward()


def test_in_place_change_of_leaf_that_requires_grad():
    x = _leaf(3)
    for op in (
        lambda: x.add_(1),
        lambda: x.mul_(2),
        lambda: x.zero_(),
        lambda: x.fill_(1.0),
        lambda: x.copy_(ones(3)),
        lambda: x.clamp_(0, 1),
        lambda: x.relu_(),
    ):
        with pytest.raises(
            RuntimeError,
            match=r"a leaf Variable that requires grad is being used in an in-place "
            r"operation",
        ):
            op()
    assert x._version == 0


def test_in_place_on_views_autograd_cannot_record_is_refused_clearly():
    x = _leaf(2)
    for op in (lambda: x[0].add_(1), lambda: x[1:].copy_(ones(1)), lambda: x[0].fill_(2.0)):
        with pytest.raises(
            RuntimeError,
            match=r"a view of a leaf Variable that requires grad is being used in an "
            r"in-place operation",
        ):
            op()
    assert x._version == 0
    # the base must be contiguous (the geometry gradients are mapped by), and the op one recorded step
    z = fastnn.from_numpy(np.ones((2, 3), np.float32).T)  # a non-contiguous tensor that owns its layout
    assert not z.is_contiguous() and z._base is None
    with pytest.raises(
        RuntimeError,
        match=r"\[copy_\] in-place modification of a view of a non-contiguous tensor "
        r"under autograd is not supported \(base of shape \[3, 2\], strides \[1, 3\]\)",
    ):
        z[0] = _leaf(2)
    w = x * 2
    with pytest.raises(
        RuntimeError,
        match=r"\[mul_\] an in-place op on a view that autograd records as more than "
        r"one step",
    ):
        w[0].mul_(_leaf(1).double().sum())  # float32 view, float64 operand: computed in float64, then converted
    assert w._version == 0


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match=r"element 0 of tensors does not require grad and does not have a grad_fn"):
        ones(2).sum().backward()
    x = _leaf(2)
    with pytest.raises(RuntimeError, match=r"element 0 of tensors does not require grad"):
        x.argmax().backward()
    with fastnn.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"element 0 of tensors does not require grad"):
        y.backward()


def test_backward_gradient_mismatch_and_unsupported_arguments():
    x = _leaf(3)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of \[2\]"):
        (x * 2).backward(ones(2))
    with pytest.raises(RuntimeError, match=r"\[backward\] create_graph=True .* through SoftmaxBackward0"):
        x.softmax(0).sum().backward(create_graph=True)
    with pytest.raises(RuntimeError, match=r"One of the differentiated Tensors \(input 0\) does not require grad"):
        fastnn.autograd.grad((x * 2).sum(), [ones(1)])


def test_changing_requires_grad_of_non_leaf():
    y = _leaf(2) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)


# ---------------------------------------------------------------------------------------------
# the same mistakes in a fresh interpreter: a crash shows as a return code, not a dead test run

CRASH_PRONE = [
    ("huge_empty", "fastnn.empty(10**13)", "MemoryError"),
    ("huge_zeros_2d", "fastnn.zeros(10**6, 10**7)", "MemoryError"),
    ("huge_arange", "fastnn.arange(0, 10**13)", "MemoryError"),
    ("overflow", "fastnn.empty(2**40, 2**40)", "ValueError"),
    ("clone_expanded", "fastnn.ones(1).expand(10**13).clone()", "MemoryError"),
    (
        "conv_padding",
        "fastnn.nn.functional.conv2d(fastnn.ones(1,1,3,3), fastnn.ones(1,1,3,3), padding=10**9)",
        "MemoryError",
    ),
    ("pool_kernel", "fastnn.nn.functional.max_pool2d(fastnn.ones(1,1,4,4), 10**12)", "ValueError"),
    ("threads", "fastnn.set_num_threads(10**6)", "ValueError"),
    (
        "leaf_root_backward",
        (
            "x = fastnn.ones(2, requires_grad=True); fastnn.autograd.backward([x], [fastnn.ones(2)]); "
            "assert x.grad.tolist() == [1.0, 1.0]"
        ),
        None,
    ),
    (
        "second_backward",
        "x = fastnn.ones(2, requires_grad=True); y = (x * x).sum(); y.backward(); y.backward()",
        "RuntimeError",
    ),
    (
        "saved_modified",
        (
            "x = fastnn.ones(2, requires_grad=True); y = x.exp(); fastnn.no_grad().__enter__(); y.zero_(); "
            "fastnn.set_grad_enabled(True); y.sum().backward()"
        ),
        "RuntimeError",
    ),
    ("writes_to_expanded", "fastnn.zeros(1).expand(3).copy_(fastnn.arange(3.0))", "RuntimeError"),
    (
        "function_raising_in_backward",
        textwrap.dedent("""
        class Boom(fastnn.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2
            @staticmethod
            def backward(ctx, g):
                raise ZeroDivisionError("boom")
        Boom.apply(fastnn.ones(2, requires_grad=True)).sum().backward()"""),
        "ZeroDivisionError",
    ),
    (
        "deep_graph_teardown",
        ("x = fastnn.ones(1, requires_grad=True)\ny = x\nfor _ in range(200000): y = y * 1.0\ndel y"),
        None,
    ),
    (
        "empty_inputs",
        (
            "fastnn.ones(0, 3).softmax(0); fastnn.nn.functional.conv2d(fastnn.ones(0, 1, 3, 3), "
            "fastnn.ones(1, 1, 3, 3)); fastnn.mm(fastnn.ones(2, 0), fastnn.ones(0, 3)); "
            "fastnn.nn.functional.max_pool2d(fastnn.ones(1, 0, 4, 4), 2)"
        ),
        None,
    ),
    ("max_of_empty", "fastnn.ones(0).max()", "IndexError"),
]


@pytest.mark.parametrize("name, code, exc", CRASH_PRONE, ids=_ids(CRASH_PRONE))
def test_no_crash_in_subprocess(name, code, exc):
    script = "import fastnn\n" + code
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    if exc is None:
        assert r.returncode == 0, f"return code {r.returncode}; stderr: {r.stderr[-1500:]}"
    else:
        # A Python exception exits with 1 and a traceback; a crash gives a negative code (a signal).
        assert r.returncode == 1, f"return code {r.returncode} (crash?); stderr: {r.stderr[-1500:]}"
        assert r.stderr.strip().splitlines()[-1].startswith(exc + ":"), r.stderr[-1500:]
