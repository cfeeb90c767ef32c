"""fastnn.linalg: torch.linalg's norms (vector_norm, matrix_norm, norm) over the C++ vector norm."""

import collections
import math

from fastnn import _C
from fastnn._errors import named_function

__all__ = ["cross", "det", "inv", "matrix_norm", "norm", "slogdet", "solve", "vector_norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ord-norm of x's elements along dim (all when None): as torch.linalg.vector_norm."""
    return _C._linalg_vector_norm(x, ord, dim, keepdim, dtype)


def _wrap_dim(d, ndim, op):
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"[{op}] dim must be an int, got {type(d).__name__}")
    if not -ndim <= d < ndim:
        raise IndexError(f"[{op}] dimension {d} out of range for a {ndim}-d tensor (expected in [{-ndim}, {ndim - 1}])")
    return d % ndim


def _matrix_dims(x, dim, op):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise TypeError(f"[{op}] dim must be a 2-tuple of ints, got {dim!r}")
    if x.dim() < 2:
        raise ValueError(f"[{op}] The input tensor A must have at least 2 dimensions.")
    d0, d1 = (_wrap_dim(d, x.dim(), op) for d in dim)
    if d0 == d1:
        raise ValueError(f"[{op}] dims must be different. Got ({d0}, {d1})")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms over the two dims `dim`: 'fro', and 1, -1, inf, -inf (max/min absolute column/row sums).

    The spectral (2, -2) and nuclear ('nuc') norms need singular values, which fastnn does not compute."""
    op = "linalg.matrix_norm"
    d0, d1 = _matrix_dims(A, dim, op)
    if isinstance(ord, str):
        if ord == "fro":
            return vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype)
        if ord == "nuc":
            raise NotImplementedError(f"[{op}] the nuclear norm (ord='nuc') is not supported")
        raise ValueError(f"[{op}] Order {ord} not supported.")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise TypeError(f"[{op}] ord must be a number or a string, got {type(ord).__name__}")
    if ord in (2, -2):
        raise NotImplementedError(f"[{op}] the spectral norm (ord={ord}) is not supported")
    if ord not in (1, -1, math.inf, -math.inf):
        raise ValueError(f"[{op}] Order {ord} not supported.")
    if dtype is not None:
        A = A.to(dtype)
    if not A.is_floating_point():
        raise TypeError(f"[{op}] Expected a floating point or complex tensor as input. Got {A.dtype}")
    # 1-norms sum |A| down the columns (over d0), inf-norms along the rows (over d1); then the max (min) of those
    summed, other = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = A.abs().sum(summed, keepdim=keepdim)
    if not keepdim and summed < other:
        other -= 1
    return sums.amax(other, keepdim=keepdim) if ord > 0 else sums.amin(other, keepdim=keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm (dim an int, or A 1-D, or ord None) or a matrix norm (dim a 2-tuple, or A 2-D)."""
    op = "linalg.norm"
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if dim is None and ord is not None:
        if A.dim() not in (1, 2):
            raise ValueError(f"[{op}] If dim is not specified but ord is, the input must be 1D or 2D. Got {A.dim()}D.")
        dim = tuple(range(A.dim()))
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise TypeError(f"[{op}] ord must be a number for a vector norm, got {ord!r}")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


@named_function
def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along dim (torch.linalg.cross: dim defaults to the last)."""
    from fastnn._math_ops import cross as _cross

    return _cross(input, other, dim)


slogdet_result = collections.namedtuple("slogdet", ["sign", "logabsdet"])


def _square(A, op):
    if not isinstance(A, _C.Tensor):
        raise TypeError(f"[{op}] expected a Tensor for 'A', got {type(A).__name__}")
    return A


@named_function
def inv(A, *, out=None):
    """The inverse of each square matrix of A (*, n, n); a singular one is an error."""
    if out is not None:
        raise NotImplementedError("[linalg.inv] out= is not supported")
    return _C._linalg_inv(_square(A, "linalg.inv"))


@named_function
def det(A, *, out=None):
    """The determinant of each square matrix of A (*, n, n)."""
    if out is not None:
        raise NotImplementedError("[linalg.det] out= is not supported")
    return _C._linalg_det(_square(A, "linalg.det"))


@named_function
def slogdet(A, *, out=None):
    """(sign, log|det|) of each square matrix of A: the determinant without overflow."""
    if out is not None:
        raise NotImplementedError("[linalg.slogdet] out= is not supported")
    return slogdet_result(*_C._linalg_slogdet(_square(A, "linalg.slogdet")))


@named_function
def solve(A, B, *, left=True, out=None):
    """X with A X = B for square A (*, n, n) and B (*, n, k) or a vector (*, n); batch dims broadcast."""
    if out is not None:
        raise NotImplementedError("[linalg.solve] out= is not supported")
    if not left:
        raise NotImplementedError("[linalg.solve] left=False (X A = B) is not supported; solve A^T X^T = B^T instead")
    if not isinstance(B, _C.Tensor):
        raise TypeError(f"[linalg.solve] expected a Tensor for 'B', got {type(B).__name__}")
    return _C._linalg_solve(_square(A, "linalg.solve"), B)


@named_function
def logdet(A):
    """log(det(A)): nan for a negative determinant, -inf for a singular matrix (torch.logdet)."""
    sign, logabs = slogdet(A)
    return _C.where(sign < 0, float("nan"), logabs)


@named_function
def inverse(input, *, out=None):
    """torch.inverse: linalg.inv."""
    return inv(input, out=out)
