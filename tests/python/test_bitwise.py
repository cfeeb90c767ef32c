"""Bitwise ops (&, |, ^, ~ and bitwise_and/or/xor/not with their in-place forms) on bool and integer tensors,
against torch: values, dtypes (promotion included), broadcasting, strided and empty inputs, errors."""

import operator

import numpy as np
import pytest

import fastnn
from oracle import torch

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64"]
OPS = [("and", operator.and_, "bitwise_and"), ("or", operator.or_, "bitwise_or"), ("xor", operator.xor, "bitwise_xor")]


def make(lib, values, dtype):
    return lib.tensor(values).to(getattr(lib, dtype))


def same(ours, theirs):
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name,op,fn", OPS, ids=[o[0] for o in OPS])
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
def test_binary_ops_match_torch(name, op, fn, da, db):
    rng = np.random.default_rng(0)
    a = rng.integers(-100, 100, (3, 4))
    b = rng.integers(-100, 100, (4,))
    if "uint8" in (da, db):
        a, b = np.abs(a), np.abs(b)
    fa, ta = make(fastnn, a, da), make(torch, a, da)
    fb, tb = make(fastnn, b, db), make(torch, b, db)
    same(op(fa, fb), op(ta, tb))  # broadcasting (3, 4) with (4,)
    same(getattr(fastnn, fn)(fa.t(), fb.view(4, 1)), getattr(torch, fn)(ta.t(), tb.view(4, 1)))  # strided
    same(op(fa, 6), op(ta, 6))
    same(op(5, fa), op(5, ta))
    same(op(fa[:0], fb), op(ta[:0], tb))  # empty


@pytest.mark.parametrize("dtype", DTYPES)
def test_invert_matches_torch(dtype):
    a = np.array([[0, 1, 5], [100, 127, 3]])
    fa, ta = make(fastnn, a, dtype), make(torch, a, dtype)
    same(~fa, ~ta)
    same(fastnn.bitwise_not(fa.t()), torch.bitwise_not(ta.t()))
    fb, tb = fa.clone(), ta.clone()
    fb.bitwise_not_()
    tb.bitwise_not_()
    same(fb, tb)


@pytest.mark.parametrize("name,op,fn", OPS, ids=[o[0] for o in OPS])
def test_in_place_forms(name, op, fn):
    for lib_pair in ((fastnn, torch),):
        outs = []
        for lib in lib_pair:
            x = lib.tensor([[1, 2, 3], [4, 5, 6]])
            y = lib.tensor([3, 1, 7])
            getattr(x, fn + "_")(y)
            z = lib.tensor([True, False])
            z2 = z.clone()
            z2 = op(z2, lib.tensor([True, True]))
            m = lib.tensor([12, 10])
            if name == "and":
                m &= 6
            elif name == "or":
                m |= 1
            else:
                m ^= 3
            outs.append((x, z2, m))
        for o, t in zip(*outs):
            same(o, t)


def test_padding_mask_idiom():
    lengths = [3, 1, 2]
    outs = []
    for lib in (fastnn, torch):
        pad = lib.arange(4)[None, :] >= lib.tensor(lengths)[:, None]
        keep = ~pad & (lib.arange(4)[None, :] > 0)
        outs.append(keep)
    same(*outs)


def test_floating_operands_are_refused():
    x = fastnn.ones(2)
    for f, name in (
        (lambda: x & x, "bitwise_and"),
        (lambda: x | 1, "bitwise_or"),
        (lambda: x ^ x, "bitwise_xor"),
        (lambda: ~x, "bitwise_not"),
        (lambda: fastnn.tensor([1, 2]) & 1.5, "bitwise_and"),
    ):
        with pytest.raises(TypeError, match=rf"\[{name}\] \"{name}_cpu\" not implemented for 'float32'"):
            f()
    with pytest.raises(TypeError, match=r"unsupported operand|bitwise_and"):
        fastnn.tensor([1]) & "a"


def test_bool_add_and_mul_are_logical_or_and_and():
    """As torch: bool + bool is or (alpha non-zero), bool * bool is and; out of place, in place, with Python bools,
    broadcast and strided; sub stays refused."""
    a = np.array([[False, True], [False, True]])
    b = np.array([False, True])
    for name, run in [
        ("add", lambda L, x, y: x + y),
        ("mul", lambda L, x, y: x * y),
        ("add alpha", lambda L, x, y: L.add(x.t(), y, alpha=2)),
        ("add alpha 0", lambda L, x, y: L.add(x, y, alpha=0)),
        ("add number", lambda L, x, y: x + True),
        ("mul number", lambda L, x, y: False * x),
        ("add_", lambda L, x, y: x.clone().add_(y)),
        ("mul_", lambda L, x, y: x.t().clone().mul_(y)),
    ]:
        ours = run(fastnn, fastnn.tensor(a), fastnn.tensor(b))
        theirs = run(torch, torch.tensor(a), torch.tensor(b))
        same(ours, theirs)
    with pytest.raises(TypeError, match=r"\[sub\] subtraction with a bool tensor is not supported"):
        fastnn.tensor(a) - fastnn.tensor(b)
    with pytest.raises(TypeError, match=r"\[add_\] result type int64 can't be cast to the desired output type bool"):
        fastnn.tensor(a).add_(2)
