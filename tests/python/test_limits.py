"""Limits: shapes whose element count overflows 64 bits, allocations larger than memory, and sizes
that do not fit in 64 bits at all raise ValueError / MemoryError with the op's name; views may be
huge (as in torch, expand(2**62) of a size-1 dim is legal) but anything that would allocate for
them refuses cleanly; no layout can reach outside its storage.

Every case runs in one child process whose address space is capped (RLIMIT_AS), so an allocation
that slipped past a check fails there (and shows up as a wrong message here) instead of being
granted by overcommit and killing the machine; a crash or a hang of the child fails every case.

Index arithmetic cannot overflow by construction (see the comment on check_layout in
cpp/fastnn/tensor.cpp): Tensor::make, the only way to build a tensor, checks numel <= 2**63 - 1,
offset >= 0, strides >= 0 and that the last element lies inside the storage, whose size is at most
PTRDIFF_MAX; `_C._as_strided` (a test hook over Tensor::make) checks that guard directly below.
"""

import json
import os
import re
import subprocess
import sys

import pytest

import fastnn
from fastnn import _C

F = fastnn.nn.functional
H = 2**62
AS_LIMIT = 8 << 30  # the child's address space: far below what any refused request asks for
PHYS = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")


def ones(*s):
    return fastnn.ones(*s)


def big():
    return ones(1).expand(H)  # 2**62 elements, 4 bytes of storage


def loader(ds, **kw):
    return [tuple(b[0].shape) for b in fastnn.utils.data.DataLoader(ds, **kw)]


DS5 = None


def ds5():
    return fastnn.utils.data.TensorDataset(fastnn.arange(10.0).view(5, 2))


OOM = "MemoryError"
VAL = "ValueError"
IDX = "IndexError"
RT = "RuntimeError"
MACHINE = r"cannot allocate \d+ bytes \(this machine has \d+\)"

# (name, callable, expected: exception type name or "ok", regex on the message or on repr(result))
CASES = [
    # --- factories: element count overflow, allocation above memory, sizes beyond 64 bits
    (
        "empty_2^32x2^32",
        lambda: fastnn.empty(2**32, 2**32),
        VAL,
        r"\[empty\] size \(4294967296, 4294967296\) has more than 2\^63 elements",
    ),
    ("empty_2^31x2^31x4", lambda: fastnn.empty(2**31, 2**31, 4), VAL, r"more than 2\^63 elements"),
    (
        "empty_bytes_overflow",
        lambda: fastnn.empty(H),
        OOM,
        r"\[empty\] size \(4611686018427387904,\) is too large to allocate",
    ),
    ("empty_2^61_float", lambda: fastnn.empty(2**61), OOM, r"\[empty\] cannot allocate 9223372036854775808 bytes"),
    ("empty_2^63", lambda: fastnn.empty(2**63), VAL, r"\[empty\] size 9223372036854775808 does not fit in 64 bits"),
    ("empty_2^64", lambda: fastnn.empty(3, 2**64), VAL, r"\[empty\] size 18446744073709551616 does not fit in 64 bits"),
    ("empty_negative", lambda: fastnn.empty(2, -1), VAL, r"\[empty\] negative dimension -1"),
    ("empty_below_int64", lambda: fastnn.empty(-(2**63) - 1), VAL, r"does not fit in 64 bits"),
    (
        "empty_zero_size_huge_dims",
        lambda: (tuple(fastnn.empty(H, 0, H).shape), fastnn.empty(0, 2**61, 2).stride()),
        "ok",
        r"\(\(4611686018427387904, 0, 4611686018427387904\), \(4611686018427387904, 2, 1\)\)",
    ),
    (
        "empty_zero_size_stride_overflow",
        lambda: fastnn.empty(0, H, H),
        VAL,
        r"\[empty\] size \(0, 4611686018427387904, 4611686018427387904\): stride calculation overflows 64 bits",
    ),
    ("zeros_2^40", lambda: fastnn.zeros(2**40), OOM, r"\[zeros\] " + MACHINE),
    ("ones_2^40", lambda: fastnn.ones(2**40), OOM, MACHINE),
    ("full_2^40", lambda: fastnn.full((2**40,), 1.0), OOM, r"\[full\] " + MACHINE),
    (
        "full_int64_value_overflow",
        lambda: fastnn.full((2,), 1e30, dtype=fastnn.int64),
        VAL,
        r"\[full\] value 1e\+30 cannot be converted to type int64",
    ),
    ("full_int64_nan", lambda: fastnn.full((2,), float("nan"), dtype=fastnn.int64), VAL, r"\[full\] value nan"),
    ("rand_2^40", lambda: fastnn.rand(2**40), OOM, r"\[rand\] " + MACHINE),
    ("randn_2^40", lambda: fastnn.randn(2**40), OOM, r"\[randn\] " + MACHINE),
    ("randn_overflow", lambda: fastnn.randn(2**32, 2**32), VAL, r"\[randn\] size .* has more than 2\^63 elements"),
    ("randint_2^40", lambda: fastnn.randint(0, 5, (2**40,)), OOM, r"\[randint\] " + MACHINE),
    (
        "randint_high_2^63",
        lambda: fastnn.randint(0, 2**63, (3,)),
        VAL,
        r"\[randint\] high 9223372036854775808 does not fit",
    ),
    ("arange_2^40", lambda: fastnn.arange(2**40), OOM, r"\[arange\] " + MACHINE),
    (
        "arange_2^62",
        lambda: fastnn.arange(H),
        OOM,
        r"\[arange\] size \(4611686018427387904,\) is too large to allocate",
    ),
    (
        "arange_2^63_int",
        lambda: fastnn.arange(2**63),
        VAL,
        r"\[arange\] the range 0 -> 9\.22337e\+18 does not fit in int64",
    ),
    ("arange_1e300", lambda: fastnn.arange(0, 1e300), VAL, r"\[arange\] too many elements: 1e\+300"),
    ("arange_tiny_step", lambda: fastnn.arange(0.0, 1.0, 1e-300), VAL, r"\[arange\] too many elements"),
    (
        "arange_int64_out_of_range",
        lambda: fastnn.arange(1e30, 1e30 + 1, dtype=fastnn.int64),
        VAL,
        r"\[arange\] the range .* does not fit in int64",
    ),
    ("eye_2^32", lambda: fastnn.eye(2**32), VAL, r"more than 2\^63 elements"),
    ("eye_2^63", lambda: fastnn.eye(2**63), VAL, r"\[eye\] n 9223372036854775808 does not fit in 64 bits"),
    ("tensor_2^63", lambda: fastnn.tensor([2**63]), VAL, r"\[tensor\] value 9223372036854775808 does not fit in int64"),
    (
        "tensor_2^64",
        lambda: fastnn.tensor([1, 2**64]),
        VAL,
        r"\[tensor\] an integer in the data does not fit in 64 bits",
    ),
    ("tensor_below_int64", lambda: fastnn.tensor([-(2**63) - 1]), VAL, r"does not fit in 64 bits"),
    (
        "tensor_int64_extremes",
        lambda: fastnn.tensor([-(2**63), 2**63 - 1]).tolist(),
        "ok",
        r"\[-9223372036854775808, 9223372036854775807\]",
    ),
    # --- huge views: legal (as in torch), and whatever allocates for them refuses
    ("expand_2^62", lambda: (tuple(big().shape), big().stride()), "ok", r"\(\(4611686018427387904,\), \(0,\)\)"),
    (
        "expand_2^62_item",
        lambda: (big()[5].item(), big()[-1].item(), tuple(big()[2**61 :].shape)),
        "ok",
        r"\(1\.0, 1\.0, \(2305843009213693952,\)\)",
    ),
    ("expand_2^62_step_slice", lambda: tuple(big()[:: 2**61].shape), "ok", r"\(2,\)"),
    ("expand_2^62_reshape_view", lambda: tuple(big().reshape(2, -1).shape), "ok", r"\(2, 2305843009213693952\)"),
    (
        "expand_2d_flatten_view",
        lambda: tuple(ones(1, 1).expand(2**31, 2**31).reshape(-1).shape),
        "ok",
        r"\(4611686018427387904,\)",
    ),
    ("expand_2^62_add", lambda: big() + 1, OOM, r"\[add\] size \(4611686018427387904,\) is too large to allocate"),
    ("expand_2^62_sum", lambda: big().sum(), OOM, r"too large to allocate"),
    ("expand_2^62_mean", lambda: big().mean(), OOM, r"too large to allocate"),
    ("expand_2^62_contiguous", lambda: big().contiguous(), OOM, r"\[clone\] size .* is too large to allocate"),
    ("expand_2^62_clone", lambda: big().clone(), OOM, r"\[clone\]"),
    ("expand_2^62_relu", lambda: F.relu(big()), OOM, r"too large to allocate"),
    ("expand_2^62_to_double", lambda: big().double(), OOM, r"too large to allocate"),
    ("expand_2^62_index_select", lambda: big().index_select(0, fastnn.tensor([0, 1])), OOM, r"too large to allocate"),
    ("expand_2^40_sum", lambda: ones(1).expand(2**40).sum(), OOM, MACHINE),
    ("expand_2^40_mse", lambda: F.mse_loss(ones(1).expand(2**40), ones(1).expand(2**40)), OOM, MACHINE),
    ("expand_2^40_dropout", lambda: F.dropout(ones(1).expand(2**40), 0.5), OOM, MACHINE),
    ("expand_matmul", lambda: ones(1, 1).expand(2**20, 1) @ ones(1, 1).expand(1, 2**20), OOM, r"\[mm\] " + MACHINE),
    ("expand_linear", lambda: F.linear(ones(1, 4).expand(2**40, 4), ones(4, 4)), OOM, MACHINE),
    ("expand_2^62x2^62", lambda: ones(1, 1).expand(H, H), VAL, r"\[expand\] size .* has more than 2\^63 elements"),
    ("expand_0d_2^40x2^40", lambda: fastnn.tensor(1.0).expand(2**40, 2**40), VAL, r"more than 2\^63 elements"),
    ("expand_2^63", lambda: ones(1).expand(2**63), VAL, r"\[expand\] size does not fit in 64 bits"),
    # (2**62 + 1) * 4 wraps to 4 == numel in unchecked arithmetic (torch accepts the shape, then fails
    # with a misleading error); fastnn checks the product.
    ("view_wraps_to_numel", lambda: ones(4).view(H + 1, 4), VAL, r"\[view\] shape .* is invalid for input of size 4"),
    (
        "view_wraps_with_infer",
        lambda: ones(4).reshape(H + 1, 4, -1),
        VAL,
        r"\[reshape\] shape .* is invalid for input of size 4",
    ),
    (
        "view_huge",
        lambda: ones(1).view(H),
        VAL,
        r"\[view\] shape '\[4611686018427387904\]' is invalid for input of size 1",
    ),
    ("reshape_huge_infer", lambda: ones(4).reshape(H, -1), VAL, r"\[reshape\] shape .* is invalid for input of size 4"),
    ("view_2^63", lambda: ones(1).view(2**63), VAL, r"\[view\] size does not fit in 64 bits"),
    ("cat_sum_overflows", lambda: fastnn.cat([big(), big()]), VAL, r"\[cat\]"),
    ("cat_3x2^62", lambda: fastnn.cat([big()] * 3), VAL, r"\[cat\]"),
    ("cat_dim1_overflows", lambda: fastnn.cat([ones(1, 1).expand(1, H)] * 2, 1), VAL, r"\[cat\]"),
    ("stack_overflows", lambda: fastnn.stack([ones(1).expand(2**61)] * 8), VAL, r"more than 2\^63 elements"),
    ("cat_2^40", lambda: fastnn.cat([ones(1).expand(2**39)] * 2), OOM, MACHINE),
    # --- indices and dims far out of range
    (
        "index_2^62",
        lambda: ones(10)[H],
        IDX,
        r"index 4611686018427387904 is out of bounds for dimension 0 with size 10",
    ),
    ("index_2^63", lambda: ones(10)[2**63], VAL, r"\[index\] index does not fit in 64 bits"),
    ("index_-2^63", lambda: ones(10)[-(2**63)], IDX, r"out of bounds"),
    ("setitem_2^62", lambda: ones(10).__setitem__(H, 1.0), IDX, r"out of bounds"),
    (
        "slice_far_bounds",
        lambda: [tuple(ones(10)[a:b].shape) for a, b in ((H, None), (-(2**70), None), (None, 2**63), (-H, -H))],
        "ok",
        r"\[\(0,\), \(10,\), \(10,\), \(0,\)\]",
    ),
    (
        "slice_huge_step",
        lambda: (ones(4, 4)[:: 2**62].tolist(), ones(10)[3 :: 2**62].tolist()),
        "ok",
        r"\(\[\[1\.0, 1\.0, 1\.0, 1\.0\]\], \[1\.0\]\)",
    ),
    # (end - start + step - 1) / step would wrap with step = 2**63 - 1 and give an empty slice (torch's
    # bug); Python and NumPy give [x[3]].
    ("slice_max_step", lambda: ones(10)[3 :: 2**63 - 1].tolist(), "ok", r"^\[1\.0\]$"),
    (
        "index_select_2^62",
        lambda: ones(10).index_select(0, fastnn.tensor([H])),
        IDX,
        r"\[index_select\] index 4611686018427387904 is out of bounds",
    ),
    ("dim_2^62", lambda: ones(10).sum(H), IDX, r"\[sum\] dimension 4611686018427387904 out of range"),
    ("unsqueeze_2^62", lambda: ones(10).unsqueeze(H), IDX, r"\[unsqueeze\] dimension 4611686018427387904 out of range"),
    (
        "embedding_index_2^62",
        lambda: F.embedding(fastnn.tensor([H]), ones(10, 3)),
        IDX,
        r"\[embedding\] index 4611686018427387904 is out of range for 10 embeddings",
    ),
    (
        "nll_target_2^62",
        lambda: F.nll_loss(ones(2, 3), fastnn.tensor([H, 0])),
        IDX,
        r"Target 4611686018427387904 is out of bounds",
    ),
    (
        "nll_target_-2^62",
        lambda: F.cross_entropy(ones(2, 3), fastnn.tensor([-H, 0])),
        IDX,
        r"Target -4611686018427387904 is out of bounds",
    ),
    # --- convolution and pooling output-size arithmetic with huge kernels, padding, strides
    (
        "conv_pad_2^40",
        lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), padding=2**40),
        VAL,
        r"\[conv2d\] size .* has more than 2\^63 elements",
    ),
    ("conv_pad_1e9", lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), padding=10**9), OOM, r"\[conv2d\] "),
    ("conv_pad_2^62", lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), padding=H), VAL, r"\[conv2d\]"),
    (
        "conv_pad_2^63",
        lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), padding=2**63),
        VAL,
        r"\[conv2d\] padding 9223372036854775808 does not fit in 64 bits",
    ),
    ("conv_dilation_2^62", lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), dilation=H), VAL, r"\[conv2d\]"),
    (
        "conv_groups_2^63",
        lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), groups=2**63),
        VAL,
        r"\[conv2d\] groups 9223372036854775808 does not fit",
    ),
    (
        "conv_groups_2^62",
        lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), groups=H),
        VAL,
        r"must be divisible by groups",
    ),
    (
        "conv_stride_max",
        lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), stride=2**63 - 1).tolist(),
        "ok",
        r"\[\[\[\[9\.0\]\]\]\]",
    ),
    (
        "conv_expanded_input",
        lambda: F.conv2d(ones(1, 1, 1, 1).expand(1, 1, 2**31, 2**31), ones(1, 1, 3, 3)),
        OOM,
        r"too large to allocate",
    ),
    (
        "conv_expanded_weight",
        lambda: F.conv2d(ones(1, 1, 4, 4), ones(1, 1, 1, 1).expand(1, 1, 2**31, 2**31)),
        VAL,
        r"Kernel size can't be greater than actual input size",
    ),
    ("max_pool_kernel_2^62", lambda: F.max_pool2d(ones(1, 1, 4, 4), H), VAL, r"\[max_pool2d\] .* too small"),
    ("max_pool_kernel_max", lambda: F.max_pool2d(ones(1, 1, 4, 4), 2**63 - 1), VAL, r"\[max_pool2d\]"),
    ("avg_pool_kernel_max", lambda: F.avg_pool2d(ones(1, 1, 4, 4), 2**63 - 1), VAL, r"\[avg_pool2d\]"),
    # pad * 2 <= kernel would wrap for pad = 2**62; the check is pad <= kernel / 2
    (
        "max_pool_pad_2^62",
        lambda: F.max_pool2d(ones(1, 1, 4, 4), 2**63 - 1, padding=H),
        VAL,
        r"pad should be at most half",
    ),
    (
        "max_pool_stride_2^62",
        lambda: F.max_pool2d(ones(1, 1, 4, 4), 2, stride=H).tolist(),
        "ok",
        r"\[\[\[\[1\.0\]\]\]\]",
    ),
    ("max_pool_dilation_2^62", lambda: F.max_pool2d(ones(1, 1, 4, 4), 2, dilation=H), VAL, r"\[max_pool2d\]"),
    (
        "max_pool_kernel_2^63",
        lambda: F.max_pool2d(ones(1, 1, 4, 4), 2**63),
        VAL,
        r"\[max_pool2d\] kernel_size 9223372036854775808 does not fit",
    ),
    ("avg_pool_kernel_2^62", lambda: F.avg_pool2d(ones(1, 1, 4, 4), H), VAL, r"\[avg_pool2d\]"),
    (
        "avg_pool_stride_2^62",
        lambda: F.avg_pool2d(ones(1, 1, 4, 4), 2, stride=H).tolist(),
        "ok",
        r"\[\[\[\[1\.0\]\]\]\]",
    ),
    ("adaptive_2^62", lambda: F.adaptive_avg_pool2d(ones(1, 1, 4, 4), (H, H)), VAL, r"more than 2\^63 elements"),
    (
        "adaptive_2^40",
        lambda: F.adaptive_avg_pool2d(ones(1, 1, 4, 4), (2**40, 1)),
        OOM,
        r"\[adaptive_avg_pool2d\] " + MACHINE,
    ),
    # --- layers
    ("Linear_2^31", lambda: fastnn.nn.Linear(2**31, 2**31), OOM, r"too large to allocate"),
    ("Linear_2^40", lambda: fastnn.nn.Linear(2**40, 1), OOM, MACHINE),
    ("Linear_2^62", lambda: fastnn.nn.Linear(H, 4), VAL, r"more than 2\^63 elements"),
    ("Linear_2^63", lambda: fastnn.nn.Linear(2**63, 1), VAL, r"does not fit in 64 bits"),
    ("Linear_negative", lambda: fastnn.nn.Linear(-1, 4), VAL, r"negative dimension -1"),
    ("Embedding_2^62", lambda: fastnn.nn.Embedding(H, 4), VAL, r"more than 2\^63 elements"),
    ("Embedding_2^40", lambda: fastnn.nn.Embedding(2**40, 1), OOM, MACHINE),
    ("Conv2d_channels", lambda: fastnn.nn.Conv2d(2**31, 2**31, 3), VAL, r"more than 2\^63 elements"),
    ("Conv2d_kernel", lambda: fastnn.nn.Conv2d(1, 1, 2**32), VAL, r"more than 2\^63 elements"),
    ("BatchNorm2d_2^40", lambda: fastnn.nn.BatchNorm2d(2**40), OOM, MACHINE),
    ("Embedding_expanded_indices", lambda: fastnn.nn.Embedding(10, 3)(fastnn.tensor([1]).expand(2**40)), OOM, MACHINE),
    # --- data loading
    ("DataLoader_batch_2^62", lambda: loader(ds5(), batch_size=H), "ok", r"\[\(5, 2\)\]"),
    ("DataLoader_batch_max_shuffle", lambda: loader(ds5(), batch_size=2**63 - 1, shuffle=True), "ok", r"\[\(5, 2\)\]"),
    ("DataLoader_batch_2^64", lambda: loader(ds5(), batch_size=2**64), "ok", r"\[\(5, 2\)\]"),
    ("DataLoader_batch_2^62_drop_last", lambda: loader(ds5(), batch_size=H, drop_last=True), "ok", r"\[\]"),
    ("DataLoader_len_2^62", lambda: len(fastnn.utils.data.DataLoader(ds5(), batch_size=H)), "ok", r"1"),
    ("DataLoader_batch_0", lambda: loader(ds5(), batch_size=0), VAL, r"batch_size should be a positive integer value"),
    (
        "DataLoader_batch_negative",
        lambda: loader(ds5(), batch_size=-H),
        VAL,
        r"batch_size should be a positive integer value",
    ),
    # drawn lazily, 32 at a time (as torch): the first index comes at once
    (
        "RandomSampler_2^62_samples",
        lambda: next(iter(fastnn.utils.data.RandomSampler(ds5(), replacement=True, num_samples=H))),
        "ok",
        r"^[0-4]$",
    ),
    ("Subset_index_2^62", lambda: loader(fastnn.utils.data.Subset(ds5(), [H]), batch_size=1), IDX, r"out of bounds"),
    # --- the layout guard in Tensor::make (what makes index arithmetic overflow-free)
    (
        "as_strided_ok",
        lambda: _C._as_strided(fastnn.arange(12.0), [2, 2], [0, 5], 2).tolist(),
        "ok",
        r"\[\[2\.0, 7\.0\], \[2\.0, 7\.0\]\]",
    ),
    (
        "as_strided_last_element",
        lambda: _C._as_strided(fastnn.arange(12.0), [3, 4], [4, 1], 1),
        RT,
        r"\[tensor\] internal error: a view of size \(3, 4\), strides \(4, 1\) and offset 1 reaches outside its storage of 48 bytes",
    ),
    (
        "as_strided_stride_2^62",
        lambda: _C._as_strided(fastnn.arange(12.0), [2], [H], 0),
        RT,
        r"reaches outside its storage",
    ),
    (
        "as_strided_term_overflow",
        lambda: _C._as_strided(fastnn.arange(12.0), [4, 2], [2**62, 2**62], 0),
        RT,
        r"reaches outside its storage",
    ),
    (
        "as_strided_sum_overflow",
        lambda: _C._as_strided(fastnn.arange(12.0), [2, 2], [2**62 + 1, 2**62 + 1], 0),
        RT,
        r"reaches outside its storage",
    ),
    (
        "as_strided_bytes_overflow",
        lambda: _C._as_strided(fastnn.arange(12.0), [2], [2**61], 0),
        RT,
        r"reaches outside its storage",
    ),
    (
        "as_strided_negative_stride",
        lambda: _C._as_strided(fastnn.arange(12.0), [2], [-1], 5),
        RT,
        r"reaches outside its storage",
    ),
    (
        "as_strided_negative_offset",
        lambda: _C._as_strided(fastnn.arange(12.0), [1], [1], -1),
        RT,
        r"reaches outside its storage",
    ),
    (
        "as_strided_offset_2^62",
        lambda: _C._as_strided(fastnn.arange(12.0), [1], [1], H),
        RT,
        r"reaches outside its storage",
    ),
    (
        "as_strided_rank_mismatch",
        lambda: _C._as_strided(fastnn.arange(12.0), [3], [1, 1], 0),
        RT,
        r"1 sizes \(3,\) but 2 strides",
    ),
    (
        "as_strided_stride0_huge",
        lambda: tuple(_C._as_strided(fastnn.arange(12.0), [H], [0], 11).shape),
        "ok",
        r"\(4611686018427387904,\)",
    ),
    (
        "as_strided_empty_anywhere",
        lambda: tuple(_C._as_strided(fastnn.arange(12.0), [0, H], [H, H], H).shape),
        "ok",
        r"\(0, 4611686018427387904\)",
    ),
]


ROWS = [c.values if hasattr(c, "values") else c for c in CASES]


def _child_main():
    """Runs every case (under RLIMIT_AS) and prints one JSON line per case."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    for name, fn, _, _ in ROWS:
        try:
            r = fn()
            out = {
                "name": name,
                "type": "ok",
                "message": repr(r) if not isinstance(r, fastnn.Tensor) else f"Tensor{tuple(r.shape)}",
            }
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            out = {"name": name, "type": type(e).__name__, "message": str(e)}
        print(json.dumps(out), flush=True)
    print(json.dumps({"name": "<done>"}), flush=True)


def _run_child(code, timeout=300):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(fastnn.__path__[0]), os.path.dirname(__file__)]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def results():
    proc = _run_child("import test_limits; test_limits._child_main()")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    by_name = {r["name"]: r for r in lines}
    return by_name, proc


@pytest.mark.parametrize("name, fn, expected, pattern", CASES, ids=[r[0] for r in ROWS])
def test_limit(results, name, fn, expected, pattern):
    by_name, proc = results
    assert "<done>" in by_name or name in by_name, (
        f"the child crashed or hung before this case (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    )
    r = by_name[name]
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert r["type"] in expected, f"{name}: expected {expected}, got {r['type']}: {r['message'][:300]}"
    assert re.search(pattern, r["message"]), f"{name}: message {r['message'][:300]!r} does not match {pattern!r}"


def test_child_finished(results):
    by_name, proc = results
    assert proc.returncode == 0 and "<done>" in by_name, f"exit {proc.returncode}:\n{proc.stderr[-3000:]}"


def test_machine_limit_is_what_allocations_are_checked_against():
    """The refusal names this machine's memory (so the figure in the messages above is real)."""
    with pytest.raises(MemoryError, match=rf"\(this machine has {PHYS}\)"):
        fastnn.empty(PHYS // 4 + 1)


@pytest.mark.slow
def test_offsets_beyond_2_31_are_exact():
    """A 2 GiB + 8 tensor (bool, in a child capped at 8 GiB): elements past 2**31 are addressed by
    indexing, slicing, views and gathers without int32 truncation."""
    code = f"""
import resource
resource.setrlimit(resource.RLIMIT_AS, ({AS_LIMIT}, {AS_LIMIT}))
import fastnn
n = 2 ** 31 + 8
x = fastnn.zeros(n, dtype=fastnn.bool)
x[2 ** 31 + 3] = True
x[2 ** 31 - 1] = True
assert x[2 ** 31 + 3].item() and not x[3].item() and x[2 ** 31 - 1].item()
assert x[2 ** 31:].tolist() == [False, False, False, True, False, False, False, False]
v = x.view(2, 2 ** 30 + 4)
assert v[1, 2 ** 30 - 1].item() and v[1, 2 ** 30 - 5].item() and not v[1, 2 ** 30 - 2].item()
assert x.index_select(0, fastnn.tensor([2 ** 31 + 3, 3, 2 ** 31 - 1])).tolist() == [True, False, True]
y = x[2 ** 31 - 4:].clone()
assert y.tolist() == [False, False, False, True, False, False, False, True, False, False, False, False]
print("OK")
"""
    proc = _run_child(code, timeout=240)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-3000:]
