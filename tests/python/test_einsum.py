"""fastnn.einsum against torch.einsum: explicit and implicit outputs, ellipses with broadcasting, repeated
subscripts (diagonals), sums over dropped subscripts, one to four operands; values, gradients, float64
gradchecks, empty sizes, integer operands and torch's errors for malformed equations."""

import fastnn
import numpy as np
import pytest
from oracle import check_op, gradcheck_op, torch

# (equation, operand shapes)
EQUATIONS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),  # matmul
    ("ij,jk", [(3, 4), (4, 5)]),  # implicit matmul
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),  # batch matmul
    ("bij,bjk", [(2, 3, 4), (2, 4, 5)]),
    ("ii", [(4, 4)]),  # trace
    ("ii->i", [(4, 4)]),  # diagonal
    ("ii->", [(3, 3)]),
    ("i,j->ij", [(3,), (4,)]),  # outer
    ("i,j", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),  # transpose
    ("ij", [(3, 4)]),
    ("ji", [(3, 4)]),  # implicit output is alphabetical: a transpose
    ("ij->", [(3, 4)]),  # sum
    ("ij->j", [(3, 4)]),  # column sums
    ("i,i->", [(5,), (5,)]),  # dot
    ("i,i->i", [(5,), (5,)]),  # elementwise
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),  # bilinear
    ("i,ij,j->", [(3,), (3, 4), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # chain
    ("ij,jk,kl,lm->im", [(2, 3), (3, 4), (4, 2), (2, 3)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),  # ellipsis broadcasting
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),
    ("...ii->...i", [(2, 3, 3)]),  # batched diagonal
    ("i...->...", [(3, 2, 4)]),
    ("...ij->ij", [(2, 3, 4)]),  # ellipsis dims summed when absent from the output
    ("ij->...", [(3, 4)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("iij->ij", [(3, 3, 4)]),
    ("iji->j", [(3, 4, 3)]),
    ("iii->i", [(3, 3, 3)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]),
    ("ij,kl->ijkl", [(2, 3), (4, 5)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("bhqk,bhkd->bhqd", [(2, 2, 3, 5), (2, 2, 5, 4)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]),  # upper-case subscripts
    ("aB,Ba", [(2, 3), (3, 2)]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),  # spaces
    ("ij,jk->ik", [(3, 1), (4, 2)]),  # a size-1 contracted dim broadcasts
    ("ij,j->i", [(3, 4), (1,)]),
    ("i,i->i", [(1,), (5,)]),
    ("", [()]),  # 0-d
    ("->", [()]),
    (",i->i", [(), (4,)]),
]
IDS = [e[0].replace(" ", "_") or "scalar" for e in EQUATIONS]


def _arrays(shapes, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("eq,shapes", EQUATIONS, ids=IDS)
def test_einsum(eq, shapes):
    check_op(lambda m, *xs: m.einsum(eq, *xs), _arrays(shapes), uses_module=True)


@pytest.mark.parametrize("eq,shapes", EQUATIONS, ids=IDS)
def test_einsum_gradcheck(eq, shapes):
    gradcheck_op(lambda *xs: fastnn.einsum(eq, *xs), _arrays(shapes, np.float64, seed=1))


@pytest.mark.parametrize("eq,shapes", EQUATIONS[:25], ids=IDS[:25])
def test_einsum_int64(eq, shapes):
    arrays = [np.random.default_rng(3).integers(-4, 5, s).astype(np.int64) for s in shapes]
    check_op(lambda m, *xs: m.einsum(eq, *xs), arrays, uses_module=True)


def test_einsum_list_and_layouts():
    a, b = _arrays([(4, 3), (5, 4)])
    check_op(lambda m, x, y: m.einsum("ij,jk->ik", [x.t(), y.t()]), [a, b], uses_module=True)
    check_op(lambda m, x, y: m.einsum("ij,jk->ik", x[::2].t(), y.t()[::2]), [a, b], uses_module=True)
    check_op(lambda m, x, y: m.einsum("bij,jk->bik", x.t().expand(2, 3, 4), y.t()), [a, b], uses_module=True)


@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(0, 4), (4, 5)]),
        ("ij,jk->ik", [(3, 0), (0, 5)]),
        ("bij,bjk->bik", [(0, 3, 4), (0, 4, 5)]),
        ("ii->i", [(0, 0)]),
        ("ij->", [(0, 3)]),
        ("i,j->ij", [(0,), (3,)]),
    ],
)
def test_einsum_empty(eq, shapes):
    check_op(lambda m, *xs: m.einsum(eq, *xs), _arrays(shapes), uses_module=True)


def test_einsum_matmul_node():
    x, y = fastnn.ones(3, 4, requires_grad=True), fastnn.ones(4, 5)
    t = torch.einsum("ij,jk->ik", torch.ones(3, 4, requires_grad=True), torch.ones(4, 5))
    assert fastnn.einsum("ij,jk->ik", x, y).grad_fn.name() == type(t.grad_fn).__name__


m33 = fastnn.zeros(3, 3)
ERRORS = [
    (
        lambda: fastnn.einsum("ij", m33, m33),
        ValueError,
        r"\[einsum\] einsum\(\): more operands were provided than "
        r"specified in the equation",
    ),
    (
        lambda: fastnn.einsum("ij,jk", m33),
        ValueError,
        r"\[einsum\] einsum\(\): fewer operands were provided than "
        r"specified in the equation",
    ),
    (
        lambda: fastnn.einsum("i1", m33),
        ValueError,
        r"\[einsum\] einsum\(\): invalid subscript given at index 1 in the "
        r"equation string, subscripts must be in \[a-zA-Z\]",
    ),
    (lambda: fastnn.einsum("ij->i->j", m33), ValueError, r"invalid subscript given at index 5"),
    (lambda: fastnn.einsum("ij->i,j", m33), ValueError, r"invalid subscript given at index 5"),
    (lambda: fastnn.einsum("ij>k", m33), ValueError, r"invalid subscript given at index 2"),
    (
        lambda: fastnn.einsum("i.j", m33),
        ValueError,
        r"\[einsum\] einsum\(\): found '\.' for operand 0 that is not "
        r"part of any ellipsis",
    ),
    (
        lambda: fastnn.einsum("......", m33),
        ValueError,
        r"\[einsum\] einsum\(\): found '\.' for operand 0 for which an "
        r"ellipsis was already found",
    ),
    (
        lambda: fastnn.einsum("ijk", m33),
        ValueError,
        r"\[einsum\] einsum\(\): the number of subscripts in the equation "
        r"\(3\) does not match the number of dimensions \(2\) for operand 0 "
        r"and no ellipsis was given",
    ),
    (
        lambda: fastnn.einsum("...ijk", m33),
        ValueError,
        r"\[einsum\] einsum\(\): the number of subscripts in the "
        r"equation \(3\) is more than the number of dimensions \(2\) for "
        r"operand 0",
    ),
    (
        lambda: fastnn.einsum("ij->k", m33),
        ValueError,
        r"\[einsum\] einsum\(\): output subscript k does not appear in "
        r"the equation for any input operand",
    ),
    (
        lambda: fastnn.einsum("ij->ii", m33),
        ValueError,
        r"\[einsum\] einsum\(\): output subscript i appears more than "
        r"once in the output",
    ),
    (
        lambda: fastnn.einsum("ij,jk", m33, fastnn.zeros(4, 2)),
        ValueError,
        r"\[einsum\] einsum\(\): subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3",
    ),
    (
        lambda: fastnn.einsum("ii", fastnn.zeros(2, 3)),
        ValueError,
        r"\[einsum\] einsum\(\): subscript i is repeated for operand 0 but the sizes don't match, 3 != 2",
    ),
    (
        lambda: fastnn.einsum("...i,...i->...", fastnn.zeros(2, 3), fastnn.zeros(4, 3)),
        ValueError,
        r"\[einsum\] einsum\(\): dimension 0 covered by ellipsis in operand 1 has size 4 which does not broadcast with "
        r"previously seen ellipsis with size 2 for the respective dimension",
    ),
    (
        lambda: fastnn.einsum("ij,jk", m33, m33.double()),
        TypeError,
        r"\[einsum\] expected scalar type float32 but found "
        r"float64",
    ),
    (lambda: fastnn.einsum("ij", m33.bool()), TypeError, r"\[einsum\] \"einsum\" is not implemented for bool"),
    (
        lambda: fastnn.einsum("ij"),
        ValueError,
        r"\[einsum\] einsum\(\): must specify the equation string and at least "
        r"one operand",
    ),
    (
        lambda: fastnn.einsum(3, m33),
        TypeError,
        r"\[einsum\] einsum\(\): argument 'equation' \(position 1\) must be "
        r"str, not int",
    ),
    (lambda: fastnn.einsum("ij", 3), TypeError, r"\[einsum\] expected Tensor as element 0 in argument 1, but got int"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_einsum_errors(i):
    fn, exc, pattern = ERRORS[i]
    with pytest.raises(exc, match=pattern):
        fn()
