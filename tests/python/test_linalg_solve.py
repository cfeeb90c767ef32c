"""linalg.inv, det, slogdet, solve (and torch.inverse/det/logdet/slogdet) against torch: values, gradients,
batches with broadcasting, vectors, empty and 0x0 matrices, singular inputs; float64 gradchecks."""

import fastnn
import numpy as np
import pytest
from oracle import check_op, gradcheck_op, torch

pytestmark = pytest.mark.skipif(torch is None, reason="needs PyTorch (the oracle)")

rng = np.random.default_rng(7)


def well_conditioned(*shape):
    n = shape[-1]
    return (rng.standard_normal(shape) + 3 * np.eye(n)).astype(np.float32)


OPS = {
    "inv": lambda lib, a, b: lib.linalg.inv(a),
    "inverse method": lambda lib, a, b: a.inverse(),
    "det": lambda lib, a, b: lib.linalg.det(a),
    "det method": lambda lib, a, b: a.det(),
    "slogdet": lambda lib, a, b: tuple(lib.linalg.slogdet(a)),
    "logdet": lambda lib, a, b: lib.logdet(a @ a.transpose(-1, -2)),
    "solve matrix": lambda lib, a, b: lib.linalg.solve(a, b),
    "solve vector": lambda lib, a, b: lib.linalg.solve(a, b[..., 0]),
    "solve broadcast batch": lambda lib, a, b: lib.linalg.solve(a[:1], b),
    "solve transposed A": lambda lib, a, b: lib.linalg.solve(a.transpose(-1, -2), b),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(name, dtype):
    a, b = well_conditioned(3, 4, 4).astype(dtype), rng.standard_normal((3, 4, 2)).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    check_op(OPS[name], [a, b], uses_module=True, atol=tol, rtol=tol)


def test_single_matrices_empty_batches_and_0x0():
    for shape in [(5, 5), (0, 3, 3), (2, 0, 0)]:
        a = well_conditioned(*shape) if shape[-1] else np.zeros(shape, np.float32)
        for fn in (lambda lib, x: lib.linalg.det(x), lambda lib, x: lib.linalg.inv(x)):
            check_op(fn, [a], uses_module=True, atol=1e-4, rtol=1e-4)


def test_singular_matrices():
    s = fastnn.tensor([[1.0, 2.0], [2.0, 4.0]])
    assert fastnn.linalg.det(s).item() == 0.0 and torch.linalg.det(torch.tensor(s.numpy())).item() == 0.0
    sign, logabs = fastnn.linalg.slogdet(s)
    assert sign.item() == 0.0 and logabs.item() == -float("inf")
    with pytest.raises(RuntimeError, match=r"\[linalg.inv\] The input matrix is singular"):
        fastnn.linalg.inv(s)
    with pytest.raises(RuntimeError, match=r"\[linalg.solve\] The input matrix is singular"):
        fastnn.linalg.solve(s, fastnn.ones(2))
    with pytest.raises(ValueError, match=r"\[linalg.inv\] A must be batches of square matrices"):
        fastnn.linalg.inv(fastnn.ones(2, 3))
    with pytest.raises(TypeError, match=r"\[linalg.det\] Expected a floating point tensor"):
        fastnn.linalg.det(fastnn.ones(2, 2, dtype=fastnn.int64))


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: fastnn.linalg.inv(a),
        lambda a, b: fastnn.linalg.det(a),
        lambda a, b: fastnn.linalg.slogdet(a).logabsdet,
        lambda a, b: fastnn.linalg.solve(a, b),
        lambda a, b: fastnn.linalg.solve(a, b[:, 0]),
    ],
)
def test_gradcheck(fn):
    gradcheck_op(fn, [well_conditioned(3, 3).astype(np.float64), rng.standard_normal((3, 2))])
