"""Autograd behaviour against PyTorch: graph structure, backward/grad, grad mode, versions, Functions."""

import gc
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest

import fastnn
from oracle import assert_close, torch

F_NN = {fastnn: fastnn.nn.functional, torch: torch.nn.functional}


def node_name(fn):
    """Class name of a grad_fn as torch prints it (fastnn exposes it as .name())."""
    name = fn.name()
    return name.replace("torch::autograd::", "")


def graph(fn):
    """A grad_fn's graph as nested (name, ((child, input_nr), ...)), comparable across libraries."""
    if fn is None:
        return None
    return (node_name(fn), tuple((graph(f), nr) for f, nr in fn.next_functions))


def leaves(lib, seed=0, shape=(2, 3)):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    b = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    return lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)


def _setitem(x, v):
    x[0] = v
    return x


# In-place writes into views (torch's CopySlices; views of the base then regenerate as AsStridedBackward0).
def _mul_into_view(m, a, b):
    x = a * 2
    x[:, 1:].mul_(b[:, :2])
    return x


def _views_regenerated(m, a, b):
    x = a * 1
    u = x.t()  # taken before the writes: its history is rebuilt from x's
    x[0].mul_(3)
    x[:, 2].clamp_(max=1.2)
    return u


def _into_grad_free_buffer(m, a, b):
    z = m.zeros(2, 3)
    z[1, :2] = b[0, 1:] * 3
    return z * a


def _add_then_fill(m, a, b):
    x = a * 1
    x[0].add_(b[1], alpha=2)
    x.view(6)[::2].fill_(0.5)
    return x


def _expanded_view_after_write(m, a, b):
    x = a * 1
    e = x[0:1].expand(3, 3)  # reaches each element of x[0] three times: gradients add up
    x[1].zero_()
    return e


def _into_transposed_view(m, a, b):
    x = (a * 1).t()
    x[1] = b[0, :2]
    return x


def _augmented_assignment(m, a, b):
    x = a * 1
    x[0] += b[1]
    x[1] *= 2
    return x


# name -> fn(lib, a, b) with a, b of shape (2, 3) requiring grad.
GRAPHS = [
    ("add", lambda m, a, b: a + b),
    ("add_scalar", lambda m, a, b: a + 1),
    ("radd", lambda m, a, b: 1 + a),
    ("rsub", lambda m, a, b: 1 - a),
    ("rmul", lambda m, a, b: 2 * a),
    ("rdiv", lambda m, a, b: 2 / a),
    ("rpow", lambda m, a, b: 2**a),
    ("reciprocal", lambda m, a, b: a.reciprocal()),
    ("number_first_pow", lambda m, a, b: m.pow(2, a)),
    ("number_first_sub", lambda m, a, b: m.sub(1, a, alpha=2)),
    ("sub", lambda m, a, b: a - b),
    ("mul", lambda m, a, b: a * b),
    ("mul_scalar", lambda m, a, b: a * 2),
    ("div", lambda m, a, b: a / b),
    ("neg", lambda m, a, b: -a),
    ("pow_scalar", lambda m, a, b: a**2),
    ("pow_tensor", lambda m, a, b: a**b),
    ("exp_log", lambda m, a, b: a.exp().log()),
    ("sigmoid_tanh", lambda m, a, b: a.sigmoid().tanh()),
    ("abs_sqrt", lambda m, a, b: a.abs().sqrt()),
    ("relu", lambda m, a, b: a.relu()),
    ("clamp", lambda m, a, b: a.clamp(0.7, 1.2)),
    ("sum", lambda m, a, b: a.sum()),
    ("sum_dim", lambda m, a, b: a.sum(0)),
    ("sum_keepdim", lambda m, a, b: a.sum(1, keepdim=True)),
    ("mean", lambda m, a, b: a.mean()),
    ("mean_dim", lambda m, a, b: a.mean(1)),
    ("max_all", lambda m, a, b: a.max()),
    ("max_dim", lambda m, a, b: a.max(1)[0]),
    ("view", lambda m, a, b: a.view(6)),
    ("reshape_contiguous", lambda m, a, b: a.reshape(3, 2)),
    ("flatten", lambda m, a, b: a.flatten()),
    ("t", lambda m, a, b: a.t()),
    ("transpose", lambda m, a, b: a.transpose(0, 1)),
    ("permute", lambda m, a, b: a.permute(1, 0)),
    ("T", lambda m, a, b: a.T),
    ("expand", lambda m, a, b: a[0].unsqueeze(0).expand(4, 3)),
    ("select", lambda m, a, b: a[0]),
    ("select_neg", lambda m, a, b: a[-1, 1]),
    ("slice_dim0", lambda m, a, b: a[1:]),
    ("slice_step", lambda m, a, b: a[::2]),
    ("unsqueeze", lambda m, a, b: a.unsqueeze(0)),
    ("squeeze", lambda m, a, b: a.unsqueeze(0).squeeze(0)),
    ("none_index", lambda m, a, b: a[None]),
    ("contiguous", lambda m, a, b: a.t().contiguous()),
    ("clone", lambda m, a, b: a.clone()),
    ("to_double", lambda m, a, b: a.double()),
    ("softmax", lambda m, a, b: a.softmax(1)),
    ("log_softmax", lambda m, a, b: a.log_softmax(1)),
    ("mm", lambda m, a, b: a.mm(b.t())),
    ("matmul_2d", lambda m, a, b: a @ b.t()),
    ("addmm", lambda m, a, b: m.addmm(b[0, :2], a, b.t())),
    ("bmm", lambda m, a, b: m.bmm(a.unsqueeze(0), b.t().unsqueeze(0))),
    ("linear", lambda m, a, b: F_NN[m].linear(a, b, b[0, :2])),
    ("linear_no_bias", lambda m, a, b: F_NN[m].linear(a, b)),
    ("mse_loss", lambda m, a, b: F_NN[m].mse_loss(a, b)),
    ("conv2d", lambda m, a, b: F_NN[m].conv2d(a.view(1, 1, 2, 3), b.view(1, 1, 2, 3))),
    ("conv2d_bias", lambda m, a, b: F_NN[m].conv2d(a.view(1, 1, 2, 3), b.view(1, 1, 2, 3), b[0, :1])),
    ("max_pool2d", lambda m, a, b: F_NN[m].max_pool2d(a.view(1, 1, 2, 3), 2)),
    ("avg_pool2d", lambda m, a, b: F_NN[m].avg_pool2d(a.view(1, 1, 2, 3), 2)),
    ("diamond", lambda m, a, b: (a * 2 + a * 3).sum()),
    ("detached_operand", lambda m, a, b: a * b.detach()),
    ("inplace_add", lambda m, a, b: (a * 1).add_(b)),
    ("inplace_mul_scalar", lambda m, a, b: (a * 1).mul_(2)),
    ("inplace_relu", lambda m, a, b: (a * 1).relu_()),
    ("mlp", lambda m, a, b: F_NN[m].linear(F_NN[m].linear(a, b).relu(), b.t()[1:]).sum()),
    ("slice_full_then_part", lambda m, a, b: a[:, 1:]),
    ("reshape_copy", lambda m, a, b: a.t().reshape(6)),
    ("cross_entropy", lambda m, a, b: F_NN[m].cross_entropy(a, m.tensor([0, 2]))),
    ("nll_loss_2d", lambda m, a, b: F_NN[m].nll_loss(a.view(1, 2, 3), m.tensor([[0, 1, 1]]))),
    ("cross_entropy_smoothing", lambda m, a, b: F_NN[m].cross_entropy(a, m.tensor([0, 2]), label_smoothing=0.1)),
    (
        "cross_entropy_smoothing_none",
        lambda m, a, b: F_NN[m].cross_entropy(a, m.tensor([0, -100]), reduction="none", label_smoothing=0.2),
    ),
    (
        "cross_entropy_smoothing_weighted",
        lambda m, a, b: F_NN[m].cross_entropy(a, m.tensor([1, 2]), b[0].detach(), label_smoothing=0.3),
    ),
    ("setitem", lambda m, a, b: _setitem(a * 1, b[1])),
    ("mul_into_view", _mul_into_view),
    ("views_regenerated", _views_regenerated),
    ("into_grad_free_buffer", _into_grad_free_buffer),
    ("add_then_fill", _add_then_fill),
    ("expanded_view_after_write", _expanded_view_after_write),
    ("into_transposed_view", _into_transposed_view),
    ("augmented_assignment", _augmented_assignment),
]


@pytest.mark.parametrize("name, fn", GRAPHS)
def test_graph_structure_matches_torch(name, fn):
    fa, fb = leaves(fastnn)
    ta, tb = leaves(torch)
    ours, theirs = fn(fastnn, fa, fb), fn(torch, ta, tb)
    assert graph(ours.grad_fn) == graph(theirs.grad_fn)
    assert repr(ours).replace("fastnn.", "") == repr(theirs).replace("torch.", "")
    # And the gradients the graph computes.
    g = np.random.default_rng(1).standard_normal(tuple(theirs.shape)).astype(np.float32)
    ours.backward(fastnn.tensor(g, dtype=ours.dtype))
    theirs.backward(torch.tensor(g, dtype=theirs.dtype))
    for x, y in ((fa, ta), (fb, tb)):
        if y.grad is None:
            assert x.grad is None
        else:
            assert_close(x.grad, y.grad, what=f"{name} gradient")


def test_accumulate_grad_node_is_shared_and_points_at_the_leaf():
    x = fastnn.ones(3, requires_grad=True)
    y = x * 2
    z = x + 1
    acc = y.grad_fn.next_functions[0][0]
    assert node_name(acc) == "AccumulateGrad"
    assert acc.variable is x
    # One AccumulateGrad per leaf while the graph lives, like torch.
    assert z.grad_fn.next_functions[0][0] is acc
    assert y.grad_fn is y.grad_fn
    assert y.grad_fn.next_functions == ((acc, 0), (None, 0))
    assert repr(y.grad_fn).startswith("<MulBackward0 object at 0x")


def test_multi_output_node_records_output_numbers():
    for m in (fastnn, torch):
        x = m.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
        values, indices = (x * 1).max(1)
        assert not indices.requires_grad and indices.grad_fn is None
        assert node_name(values.grad_fn) == "MaxBackward0"
    assert graph(values.grad_fn)[0] == "MaxBackward0"


# ---------------------------------------------------------------------------------------------
# leaves, requires_grad, .grad


def test_leaves_and_non_leaves():
    for m in (fastnn, torch):
        x = m.ones(2, 3, requires_grad=True)
        c = m.ones(2, 3)
        y = x * 2
        w = c * 2
        assert (x.is_leaf, x.requires_grad, x.grad_fn) == (True, True, None)
        assert (c.is_leaf, c.requires_grad) == (True, False)
        assert (y.is_leaf, y.requires_grad) == (False, True)
        assert node_name(y.grad_fn) == "MulBackward0"
        assert (w.is_leaf, w.requires_grad, w.grad_fn) == (True, False, None)
        assert x.detach().is_leaf and not x.detach().requires_grad
        assert y.detach().is_leaf and y.detach().grad_fn is None


def test_requires_grad_flags_only_on_leaves():
    x = fastnn.ones(2, requires_grad=True)
    y = x * 2
    for value in (True, False):
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
            y.requires_grad = value
    c = fastnn.ones(2)
    assert c.requires_grad_() is c and c.requires_grad
    c.requires_grad_(False)
    assert not c.requires_grad
    c.requires_grad = True
    assert c.requires_grad and c.is_leaf


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_requires_grad_needs_floating_point(dtype):
    t = fastnn.zeros(2, dtype=getattr(fastnn, dtype))
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        t.requires_grad = True
    with pytest.raises(RuntimeError, match="floating point"):
        fastnn.zeros(2, dtype=getattr(fastnn, dtype), requires_grad=True)
    t.requires_grad_(False)  # turning it off is fine
    assert not t.requires_grad


def test_grad_is_none_until_backward_then_readable():
    x = fastnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.grad is None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    assert x.grad is x.grad
    assert not x.grad.requires_grad and x.grad.grad_fn is None
    assert x.grad.dtype == x.dtype


def test_grad_is_settable_with_checks():
    x = fastnn.ones(2, 3, requires_grad=True)
    g = fastnn.full((2, 3), 0.5)
    x.grad = g
    assert x.grad is g
    (x * 2).sum().backward()  # accumulates into the assigned tensor, in place
    assert x.grad is g and g.tolist() == [[2.5] * 3] * 2
    x.grad = None
    assert x.grad is None
    with pytest.raises(RuntimeError, match=r"different size: \[3\] vs the tensor's \[2, 3\]"):
        x.grad = fastnn.ones(3)
    with pytest.raises(RuntimeError, match="different type: float64 vs the tensor's float32"):
        x.grad = fastnn.ones(2, 3, dtype=fastnn.float64)
    with pytest.raises(TypeError):
        x.grad = 3
    assert x.grad is None
    # torch agrees on the two checks
    t = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="size"):
        t.grad = torch.ones(3)
    with pytest.raises(RuntimeError, match="dtype"):
        t.grad = torch.ones(2, 3, dtype=torch.float64)


def test_non_leaf_grad_is_none_without_retain_grad():
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    (y * y).sum().backward()
    assert y.grad is None and not y.retains_grad
    assert x.grad.tolist() == [18.0, 36.0]


# ---------------------------------------------------------------------------------------------
# backward


def test_backward_scalar_default_gradient_and_explicit_gradient():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward(gradient=None)
        assert x.grad.tolist() == [2.0, 4.0, 6.0]
        x.grad = None
        (x * x).backward(m.tensor([1.0, 0.0, -1.0]))
        assert x.grad.tolist() == [2.0, 0.0, -6.0]
        x.grad = None
        (x * x).backward(gradient=m.tensor([1.0, 1.0, 1.0], dtype=m.float64))  # cast to the output's dtype
        assert x.grad.dtype == m.float32 and x.grad.tolist() == [2.0, 4.0, 6.0]


def test_backward_on_a_leaf_and_on_duplicated_roots():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        m.autograd.backward([x], [m.tensor([3.0, 4.0])])
        assert x.grad.tolist() == [3.0, 4.0]
        x.grad = None
        y = (x * x).sum()
        m.autograd.backward([y, y])  # the same root twice counts twice
        assert x.grad.tolist() == [4.0, 8.0]
        x.grad = None
        a = x * 2
        m.autograd.backward([a.sum(), (a * a).sum()])  # roots sharing a subgraph
        assert x.grad.tolist() == [2.0 + 8.0, 2.0 + 16.0]  # d/dx (2x + 4x^2)
        x.grad = None
        h = x * 3
        m.autograd.backward([(h * h).sum(), h], [None, m.ones(2)])  # one root feeds the other
        assert x.grad.tolist() == [21.0, 39.0]
        h = x * 3
        assert m.autograd.grad([(h * h).sum(), h], [x], [None, m.ones(2)])[0].tolist() == [21.0, 39.0]


def test_backward_gradient_shape_mismatch():
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"Mismatch in shape: grad_output\[0\] has a shape of \[2\] and "
        r"output\[0\] has a shape of \[3\]",
    ):
        (x * 2).backward(fastnn.ones(2))


def test_retain_graph_allows_a_second_backward():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        out = x.exp().sum()
        out.backward(retain_graph=True)
        out.backward()
        assert_close(x.grad, torch.tensor([1.0, 2.0]).exp() * 2)
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            out.backward()


def test_saved_tensors_are_freed_after_backward():
    x = fastnn.ones(1000, requires_grad=True)
    y = x.exp()
    ref = weakref.ref(y)
    out = (y * y).sum()  # MulBackward0 saves y's data (not y itself)
    del y
    gc.collect()
    assert ref() is None  # the graph keeps no Python tensor alive
    out.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True.*\(node: MulBackward0\)"):
        out.backward()


def test_gradients_accumulate_across_backwards():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        first = x.grad
        (x * 3).sum().backward()
        assert x.grad is first  # accumulated in place
        assert x.grad.tolist() == [5.0, 7.0]
        x.grad.zero_()
        (x * 3).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]


def test_shared_subgraph_diamond():
    ours = {}
    for m in (fastnn, torch):
        x = m.tensor([0.1, 0.2, 0.3], requires_grad=True)
        s = x * 3
        left, right = s.exp(), s * s
        top = (left + right) * s.sigmoid()
        top.sum().backward()
        ours[m] = x.grad
    assert_close(ours[fastnn], ours[torch])
    # d/dx of (e^{3x} + 9x^2) * sigmoid(3x), by hand at one point
    x0 = 0.2
    sig = 1 / (1 + np.exp(-3 * x0))
    expect = (3 * np.exp(3 * x0) + 18 * x0) * sig + (np.exp(3 * x0) + 9 * x0**2) * 3 * sig * (1 - sig)
    assert abs(ours[fastnn][1].item() - expect) < 1e-4


def test_same_tensor_used_twice_in_one_op():
    x = fastnn.tensor([3.0], requires_grad=True)
    (x * x * x).backward(fastnn.ones(1))
    assert x.grad.tolist() == [27.0]


def test_retain_grad_on_non_leaves():
    out = {}
    for m in (fastnn, torch):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a * 2
        b.retain_grad()
        b.retain_grad()  # twice is harmless
        c = b * b
        c.retain_grad()
        assert b.retains_grad and c.retains_grad and not a.retains_grad
        c.sum().backward()
        out[m] = (b.grad.tolist(), c.grad.tolist(), a.grad.tolist())
        a.retain_grad()  # no-op on a leaf
        assert not a.retains_grad
    assert out[fastnn] == out[torch] == ([4.0, 8.0, 12.0], [1.0, 1.0, 1.0], [8.0, 16.0, 24.0])
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        fastnn.ones(2).retain_grad()


def test_retained_grad_accumulates():
    a = fastnn.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    b.retain_grad()
    out = (b * b).sum()
    out.backward(retain_graph=True)
    out.backward()
    assert b.grad.tolist() == [8.0, 16.0]


# ---------------------------------------------------------------------------------------------
# autograd.grad


def test_autograd_grad_returns_tuple_and_leaves_grad_untouched():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        g = m.autograd.grad((x * x).sum(), x)
        assert isinstance(g, tuple) and len(g) == 1
        assert g[0].tolist() == [2.0, 4.0] and x.grad is None
        (gx,) = m.autograd.grad(x * 2, [x], grad_outputs=[m.tensor([1.0, 10.0])])
        assert gx.tolist() == [2.0, 20.0]
        (gx,) = m.autograd.grad([x.sum(), (x * x).sum()], x)
        assert gx.tolist() == [3.0, 5.0]


def test_autograd_grad_with_respect_to_an_intermediate_and_its_input():
    res = {}
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        y = (h * h).sum()
        gh, gx, gx2 = m.autograd.grad(y, [h, x, x])
        res[m] = (gh.tolist(), gx.tolist(), gx2.tolist())
        assert x.grad is None
    assert res[fastnn] == res[torch] == ([6.0, 12.0], [18.0, 36.0], [18.0, 36.0])


def test_autograd_grad_allow_unused():
    x = fastnn.ones(3, requires_grad=True)
    unused = fastnn.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"\(input 1\) appears to not have been used in the graph. "
        r"Set allow_unused=True",
    ):
        fastnn.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = fastnn.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0, 2.0] and gu is None
    tx, tu = torch.autograd.grad(
        (torch.ones(3, requires_grad=True) * 2).sum(),
        [torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)],
        allow_unused=True,
    )
    assert tx is None and tu is None  # torch agrees that unreached inputs give None


def test_autograd_grad_errors():
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        fastnn.autograd.grad((x * 2).sum(), [fastnn.ones(2)])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        fastnn.autograd.grad(x * 2, [x])
    with pytest.raises(RuntimeError, match=r"create_graph=True \(higher-order gradients\) is not supported"):
        fastnn.autograd.grad(x.softmax(0).sum(), [x], create_graph=True)  # not yet through SoftmaxBackward0
    y = (x.exp()).sum()
    fastnn.autograd.grad(y, [x])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        fastnn.autograd.grad(y, [x])
    z = (x.exp()).sum()
    a = fastnn.autograd.grad(z, [x], retain_graph=True)[0]
    b = fastnn.autograd.grad(z, [x])[0]
    assert a.tolist() == b.tolist()


def test_autograd_backward_function():
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    fastnn.autograd.backward((x * x).sum())
    assert x.grad.tolist() == [2.0, 4.0]
    fastnn.autograd.backward([x * 2], [fastnn.tensor([1.0, -1.0])])
    assert x.grad.tolist() == [4.0, 2.0]
    with pytest.raises(RuntimeError, match="create_graph=True .* not supported through SoftmaxBackward0"):
        fastnn.autograd.backward((x.softmax(0) * x).sum(), create_graph=True)


def test_unsupported_features_raise_clearly():
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"\[backward\] create_graph=True \(higher-order gradients\) is not "
        r"supported",
    ):
        x.softmax(0).sum().backward(create_graph=True)
    with pytest.raises(RuntimeError, match=r"inputs= argument is not supported"):
        (x * x).sum().backward(inputs=[x])
    with pytest.raises(TypeError, match=r"\[index\] only integers, slices .* are valid indices \(got dict\)"):
        x[{0: 2}]


# ---------------------------------------------------------------------------------------------
# grad mode


def test_no_grad_context_nested_and_enable_grad_inside():
    x = fastnn.ones(3, requires_grad=True)
    assert fastnn.is_grad_enabled()
    with fastnn.no_grad():
        assert not fastnn.is_grad_enabled()
        y = x * 2
        with fastnn.enable_grad():
            assert fastnn.is_grad_enabled()
            y2 = x * 2
        with fastnn.no_grad():
            y3 = x * 2
        assert not fastnn.is_grad_enabled()
        y4 = x * 2
    assert fastnn.is_grad_enabled()
    assert (y.requires_grad, y.grad_fn) == (False, None)
    assert y2.requires_grad and node_name(y2.grad_fn) == "MulBackward0"
    assert not y3.requires_grad and not y4.requires_grad
    # factories still honour requires_grad=True inside no_grad, as in torch
    with fastnn.no_grad():
        assert fastnn.ones(2, requires_grad=True).requires_grad


def test_no_grad_restores_after_an_exception():
    with pytest.raises(KeyError), fastnn.no_grad():
        raise KeyError("x")
    assert fastnn.is_grad_enabled()


def test_grad_mode_decorators():
    x = fastnn.ones(3, requires_grad=True)

    @fastnn.no_grad()
    def double(a):
        return a * 2, fastnn.is_grad_enabled()

    @fastnn.no_grad
    def triple(a):
        return a * 3

    @fastnn.enable_grad()
    def quadruple(a):
        return a * 4

    @fastnn.no_grad()
    def gen(a):
        yield (a * 2).requires_grad
        yield fastnn.is_grad_enabled()

    r, enabled = double(x)
    assert not r.requires_grad and not enabled and fastnn.is_grad_enabled()
    assert double.__name__ == "double"
    assert not triple(x).requires_grad
    with fastnn.no_grad():
        assert quadruple(x).requires_grad
        assert not fastnn.is_grad_enabled()
    values = []
    for v in gen(x):
        values.append((v, fastnn.is_grad_enabled()))  # the caller's mode between items
    assert values == [(False, True), (False, True)]

    closed_with = []

    @fastnn.no_grad()
    def endless():
        try:
            while True:
                yield fastnn.is_grad_enabled()
        finally:
            closed_with.append(fastnn.is_grad_enabled())

    for v in endless():
        assert v is False
        break
    assert closed_with == [False] and fastnn.is_grad_enabled()
    with pytest.raises(TypeError):
        fastnn.no_grad(3)


def test_set_grad_enabled_function_context_and_decorator():
    x = fastnn.ones(3, requires_grad=True)
    fastnn.set_grad_enabled(False)
    try:
        assert not fastnn.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        fastnn.set_grad_enabled(True)
    assert fastnn.is_grad_enabled()
    with fastnn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with fastnn.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not fastnn.is_grad_enabled()
    assert fastnn.is_grad_enabled()

    @fastnn.set_grad_enabled(False)
    def f(a):
        return a * 2

    assert fastnn.is_grad_enabled()  # decorating does not leave the mode changed
    assert not f(x).requires_grad and fastnn.is_grad_enabled()
    assert fastnn.autograd.set_grad_enabled is fastnn.set_grad_enabled
    assert fastnn.autograd.no_grad is fastnn.no_grad


def test_grad_mode_is_thread_local():
    import threading

    seen = []
    with fastnn.no_grad():
        t = threading.Thread(target=lambda: seen.append(fastnn.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# ---------------------------------------------------------------------------------------------
# detach, .data, versions


def test_detach_shares_memory_and_version():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        d = x.detach()
        assert not d.requires_grad and d.is_leaf and d.data_ptr() == x.data_ptr()
        d.add_(1)
        assert x._version == d._version == 1
        assert x.tolist() == [2.0, 3.0]


def test_detach_of_a_saved_tensor_then_in_place_is_detected():
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    out = y.sum() * 1
    z = (y * 2).sum()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (z + out).backward()


def test_detach_in_place():
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None
    assert y.tolist() == [2.0, 4.0]


def test_detach_in_place_of_a_view_is_refused():
    y = fastnn.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        y[0:1].detach_()


def test_data_shares_memory_without_autograd_or_version():
    for m in (fastnn, torch):
        x = m.ones(3, requires_grad=True)
        e = x.exp()
        xd = x.data
        assert not xd.requires_grad and xd.is_leaf and xd.data_ptr() == x.data_ptr()
        e.data.mul_(2)  # not seen by autograd
        assert e._version == 0
        e.sum().backward()  # no "modified by an inplace operation" error
        assert_close(x.grad, torch.full((3,), 2 * np.e))
        x.data.add_(1)
        assert x._version == 0 and x.tolist() == [2.0, 2.0, 2.0]


def test_setting_data():
    x = fastnn.ones(3, requires_grad=True)
    x.data = fastnn.zeros(4)
    assert x.shape == (4,) and x.requires_grad and x.is_leaf and x.tolist() == [0.0] * 4
    with pytest.raises(RuntimeError, match=r"\[data\] a tensor that requires grad needs floating-point data"):
        x.data = fastnn.zeros(2, dtype=fastnn.int64)


def test_version_counter():
    vs = {}
    for m in (fastnn, torch):
        v = m.zeros(3)
        seq = [v._version]
        v.add_(1)
        seq.append(v._version)
        v[0] = 5
        seq.append(v._version)
        v.mul_(2)
        seq.append(v._version)
        v.zero_()
        seq.append(v._version)
        v.fill_(1)
        seq.append(v._version)
        v += 1
        seq.append(v._version)
        part = v[1:]
        part.add_(1)
        seq.append((v._version, part._version))
        seq.append(v.view(3)._version)
        v.copy_(m.ones(3))
        seq.append(v._version)
        v.clamp_(0, 1)
        seq.append(v._version)
        v.relu_()
        seq.append(v._version)
        w = v + 1  # out of place: new counter
        seq.append(w._version)
        vs[m] = seq
    assert vs[fastnn] == vs[torch] == [0, 1, 2, 3, 4, 5, 6, (7, 7), 7, 8, 9, 10, 0]


def test_in_place_on_saved_tensor_is_detected():
    for m in (fastnn, torch):
        x = m.ones(3, requires_grad=True)
        y = x.exp()  # ExpBackward0 saves its output
        with m.no_grad():
            y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    x = fastnn.ones(3, requires_grad=True)
    y = x * 1
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(
        RuntimeError,
        match=r"\[fastnn.FloatTensor \[3\]\], which was saved by MulBackward0, "
        r"is at version 1; expected version 0 instead",
    ):
        z.sum().backward()


def test_in_place_on_non_leaf_is_recorded():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        y.mul_(3)
        assert node_name(y.grad_fn) == "MulBackward0" and y._version == 1
        y.add_(x)
        (y * 1).sum().backward()
        assert x.grad.tolist() == [4.0, 4.0]


def test_in_place_on_leaf_requiring_grad():
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"a leaf Variable that requires grad is being used in an in-place "
        r"operation",
    ):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.mul_(2)
    with fastnn.no_grad():
        x.add_(1)  # allowed, like an optimizer step
    assert x._version == 1 and x.tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------------------------------------
# deep graphs


@pytest.mark.slow
def test_deep_chain_backward_and_teardown():
    x = fastnn.ones(1, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    del y  # frees 100,000 nodes without recursion
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y  # torn down without a backward
    assert x.grad.tolist() == [1.0]


_DEEP_SCRIPT = textwrap.dedent("""
    import threading, fastnn

    class Id(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.clone()

        @staticmethod
        def backward(ctx, g):
            return g

    def work(out):
        x = fastnn.ones(1, requires_grad=True)
        y = x
        for i in range(100000):
            y = y.tanh() if i % 3 == 0 else (y * 1.0 if i % 3 == 1 else y.view(1))
        y.sum().backward()
        del y
        y = x
        for _ in range(30000):
            y = Id.apply(y)
        y.sum().backward()
        del y
        out.append(x.grad.item())

    # A small thread stack makes any recursion over the graph fail loudly.
    threading.stack_size(512 * 1024)
    out = []
    t = threading.Thread(target=work, args=(out,))
    t.start()
    t.join()
    print(out)
""")


@pytest.mark.slow
def test_deep_graph_in_a_small_stack_subprocess():
    r = subprocess.run([sys.executable, "-c", _DEEP_SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, f"return code {r.returncode}: {r.stderr[-2000:]}"
    grad = eval(r.stdout.strip())[0]
    assert 0.0 < grad < 1.0 + 1e-6  # tanh chain derivative plus 1 from the identity chain
    assert grad > 1e-3


# ---------------------------------------------------------------------------------------------
# custom Functions


def make_functions(lib):
    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class MulAdd(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            ctx.save_for_backward(a, b)
            ctx.k = k
            ctx.flags = ctx.needs_input_grad
            return a * b * k, a + b

        @staticmethod
        def backward(ctx, g1, g2):
            a, b = ctx.saved_tensors
            ga = g1 * b * ctx.k + g2 if ctx.needs_input_grad[0] else None
            gb = g1 * a * ctx.k + g2 if ctx.needs_input_grad[1] else None
            return ga, gb, None

    class ScaleGrad(lib.autograd.Function):
        """Identity forward, backward scales: shows backward really is the user's."""

        @staticmethod
        def forward(ctx, x, scale):
            ctx.scale = scale
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g * ctx.scale, None

    return MyExp, MulAdd, ScaleGrad


def test_function_single_output_matches_torch():
    res = {}
    for m in (fastnn, torch):
        MyExp, _, _ = make_functions(m)
        x = m.tensor([0.5, 1.0, -1.0], requires_grad=True)
        y = MyExp.apply(x)
        assert y.requires_grad and not y.is_leaf
        assert node_name(y.grad_fn) == "MyExpBackward"
        assert graph(y.grad_fn) == ("MyExpBackward", ((("AccumulateGrad", ()), 0),))
        (y * 2).sum().backward()
        res[m] = (y, x.grad)
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.sum().backward()
    assert_close(res[fastnn][0], res[torch][0])
    assert_close(res[fastnn][1], res[torch][1])


def test_function_multiple_inputs_outputs_and_none_gradients():
    res = {}
    for m in (fastnn, torch):
        _, MulAdd, _ = make_functions(m)
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = m.tensor([3.0, 4.0])
        o1, o2 = MulAdd.apply(a, b, 2.0)
        assert o1.grad_fn is o2.grad_fn and node_name(o1.grad_fn) == "MulAddBackward"
        assert o1.grad_fn.next_functions[1] == (None, 0)
        assert len(o1.grad_fn.next_functions) == 2  # one edge per tensor input (k is a number)
        (o1.sum() + (o2 * o2).sum()).backward()
        assert b.grad is None
        res[m] = a.grad
        # only the second output used: the first output's gradient arrives as zeros
        a2 = m.tensor([1.0, 2.0], requires_grad=True)
        b2 = m.tensor([3.0, 4.0], requires_grad=True)
        _, q = MulAdd.apply(a2, b2, 2.0)
        q.sum().backward()
        assert a2.grad.tolist() == [1.0, 1.0] and b2.grad.tolist() == [1.0, 1.0]
    assert_close(res[fastnn], res[torch])
    assert res[fastnn].tolist() == [14.0, 20.0]


def test_function_needs_input_grad_and_no_graph_when_not_needed():
    for m in (fastnn, torch):
        _, MulAdd, ScaleGrad = make_functions(m)
        seen = {}

        class Probe(m.autograd.Function):
            @staticmethod
            def forward(ctx, a, b, k, seen=seen):
                seen["flags"] = ctx.needs_input_grad
                return a * b

            @staticmethod
            def backward(ctx, g):
                return g, g, None

        Probe.apply(m.ones(2, requires_grad=True), m.ones(2), 3)
        assert seen["flags"] == (True, False, False)
        r = MulAdd.apply(m.ones(2), m.ones(2), 1.0)[0]
        assert not r.requires_grad and r.grad_fn is None
        with m.no_grad():
            r = ScaleGrad.apply(m.ones(2, requires_grad=True), 2.0)
        assert not r.requires_grad and r.grad_fn is None


def test_function_mixed_with_builtin_ops():
    res = {}
    for m in (fastnn, torch):
        MyExp, _, ScaleGrad = make_functions(m)
        x = m.tensor([0.1, 0.2, 0.3], requires_grad=True)
        z = ScaleGrad.apply((MyExp.apply(x * 2) + x).relu(), 10.0).sum()
        assert graph(z.grad_fn) == (
            "SumBackward0",
            (
                (
                    (
                        "ScaleGradBackward",
                        (
                            (
                                (
                                    "ReluBackward0",
                                    (
                                        (
                                            (
                                                "AddBackward0",
                                                (
                                                    (
                                                        (
                                                            "MyExpBackward",
                                                            (
                                                                (
                                                                    (
                                                                        "MulBackward0",
                                                                        ((("AccumulateGrad", ()), 0), (None, 0)),
                                                                    ),
                                                                    0,
                                                                ),
                                                            ),
                                                        ),
                                                        0,
                                                    ),
                                                    (("AccumulateGrad", ()), 0),
                                                ),
                                            ),
                                            0,
                                        ),
                                    ),
                                ),
                                0,
                            ),
                        ),
                    ),
                    0,
                ),
            ),
        )  # no edge for the number
        z.backward()
        res[m] = x.grad
    assert_close(res[fastnn], res[torch])


def test_function_returning_its_input():
    for m in (fastnn, torch):

        class Twice(m.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a

            @staticmethod
            def backward(ctx, g):
                return g * 3

        x = m.tensor([1.0, 2.0], requires_grad=True)
        r = Twice.apply(x)
        assert r is not x and node_name(r.grad_fn) == "TwiceBackward"
        r.sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]


def test_function_non_tensor_and_integer_outputs():
    for m in (fastnn, torch):
        received = []

        class Mixed(m.autograd.Function):
            @staticmethod
            def forward(ctx, a, k, b):
                return a * k, 3, b.argmax(), a + b

            @staticmethod
            def backward(ctx, g1, g2, g3, g4, received=received):
                received.append((g2, g3.tolist(), g4.tolist()))
                return g1, None, g4

        a = m.ones(2, requires_grad=True)
        b = m.ones(2, requires_grad=True)
        o = Mixed.apply(a, 2.0, b)
        assert o[1] == 3 and not o[2].requires_grad and o[2].grad_fn is None
        assert o[0].requires_grad and o[3].requires_grad
        o[0].sum().backward()
        assert received == [(None, 0, [0.0, 0.0])]
        assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [0.0, 0.0]


def test_function_mark_non_differentiable():
    for m in (fastnn, torch):

        class Sorted(m.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                doubled = a * 2
                flag = a * 0
                ctx.mark_non_differentiable(flag)
                return doubled, flag

            @staticmethod
            def backward(ctx, g, g_flag):
                return g * 2

        x = m.ones(2, requires_grad=True)
        d, flag = Sorted.apply(x)
        assert d.requires_grad and not flag.requires_grad
        d.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0]


def test_function_gradient_of_another_dtype_is_cast():
    for m in (fastnn, torch):

        class ToDouble(m.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g.double() * 2

        x = m.ones(2, requires_grad=True)
        ToDouble.apply(x).sum().backward()
        assert x.grad.dtype == m.float32 and x.grad.tolist() == [2.0, 2.0]


def test_function_misuse_errors():
    class TooFew(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    class ForNumber(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    class BadShape(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    class NotATensor(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return 3.0

    class NoBackward(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

    class SavesNumber(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a, None, 3)
            return a * 2

    x = fastnn.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"function TooFewBackward returned an incorrect number of gradients "
        r"\(expected 2, got 1\)",
    ):
        TooFew.apply(x, x).sum().backward()
    with pytest.raises(
        RuntimeError,
        match=r"ForNumberBackward returned a gradient different than None at "
        r"position 2, but the corresponding forward input was not a Tensor",
    ):
        ForNumber.apply(x, 2.0).sum().backward()
    with pytest.raises(
        RuntimeError,
        match=r"Function BadShapeBackward returned an invalid gradient at index 0 - "
        r"got \[\] but expected shape compatible with \[2\]",
    ):
        BadShape.apply(x).sum().backward()
    with pytest.raises(TypeError, match="returned a gradient of type float at position 1"):
        NotATensor.apply(x).sum().backward()
    with pytest.raises(NotImplementedError, match="must implement the backward"):
        NoBackward.apply(x).sum().backward()
    with pytest.raises(TypeError, match="save_for_backward can only save tensors, but argument 2 is of type int"):
        SavesNumber.apply(x)
    with pytest.raises(RuntimeError, match="call NoBackward.apply"):
        NoBackward()
    assert x.grad is None  # nothing half-applied


def test_function_saved_tensor_modified_in_place():
    MyExp, _, _ = make_functions(fastnn)
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    y = MyExp.apply(x)
    with fastnn.no_grad():
        y.mul_(2)
    with pytest.raises(
        RuntimeError,
        match=r"modified by an inplace operation: \[fastnn.FloatTensor \[2\]\], which "
        r"was saved by MyExpBackward, is at version 1; expected version 0",
    ):
        y.sum().backward()


def test_function_retain_graph_and_deep_chain_of_functions():
    MyExp, _, _ = make_functions(fastnn)
    x = fastnn.tensor([0.5], requires_grad=True)
    y = MyExp.apply(MyExp.apply(x))
    y.backward(retain_graph=True)
    first = x.grad.item()
    y.backward()
    assert x.grad.item() == pytest.approx(2 * first)
    assert first == pytest.approx(np.exp(np.exp(0.5)) * np.exp(0.5), rel=1e-6)


# ---------------------------------------------------------------------------------------------
# gradcheck


def _f64(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return fastnn.tensor(rng.uniform(0.2, 0.9, shape), dtype=fastnn.float64, requires_grad=True)


def test_gradcheck_passes_on_correct_functions():
    MyExp, MulAdd, _ = make_functions(fastnn)
    assert fastnn.autograd.gradcheck(MyExp.apply, (_f64(3),))
    assert fastnn.autograd.gradcheck(lambda a, b: MulAdd.apply(a, b, 3.0), (_f64(3), _f64(3, seed=1)))
    assert fastnn.autograd.gradcheck(lambda a, b: (a @ b).tanh().sum(1), (_f64(2, 3), _f64(3, 2, seed=1)))
    assert fastnn.autograd.gradcheck(lambda a: a.softmax(1), (_f64(2, 3),))
    # non-contiguous input
    assert fastnn.autograd.gradcheck(lambda a: a.exp() * 2, (_f64(3, 2).detach().t().requires_grad_(),))
    # an input that does not require grad is left alone
    assert fastnn.autograd.gradcheck(lambda a, c: a * c, (_f64(3), _f64(3).detach()))


def test_gradcheck_fails_on_a_wrong_backward():
    class Wrong(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = fastnn.tensor([0.3, 0.7], dtype=fastnn.float64, requires_grad=True)
    with pytest.raises(fastnn.autograd.GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        fastnn.autograd.gradcheck(Wrong.apply, (x,))
    assert issubclass(fastnn.autograd.GradcheckError, RuntimeError)
    assert fastnn.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False

    # torch agrees that this backward is wrong
    class TWrong(torch.autograd.Function):
        forward = Wrong.forward
        backward = Wrong.backward

    assert (
        torch.autograd.gradcheck(
            TWrong.apply, (torch.tensor([0.3, 0.7], dtype=torch.float64, requires_grad=True),), raise_exception=False
        )
        is False
    )


def test_gradcheck_detects_an_error_in_one_element_only():
    class OffByOne(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            bad = g * 2
            bad[1] = bad[1] + 1e-3  # small error in one entry
            return bad

    assert fastnn.autograd.gradcheck(OffByOne.apply, (_f64(3),), raise_exception=False) is False


def test_gradcheck_argument_errors():
    with pytest.raises(
        ValueError,
        match=r"\[gradcheck\] inputs that require grad must be float64, got "
        r"fastnn.float32",
    ):
        fastnn.autograd.gradcheck(lambda a: a * 2, (fastnn.ones(2, requires_grad=True),))
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        fastnn.autograd.gradcheck(lambda a: a * 2, (fastnn.ones(2, dtype=fastnn.float64),))


def test_fill_and_zero_nodes_as_torch():
    """fill_ with a number records FillBackward2, with a tensor FillBackward3 (the value gets the sum of the
    gradient), zero_ ZeroBackward0; the filled tensor's own gradient is zero."""
    for lib in (fastnn, torch):
        x = lib.ones(2, 3, requires_grad=True)
        v = lib.tensor(2.0, requires_grad=True)
        a, b, c = x.clone(), x.clone(), x.clone()
        a.fill_(0.5)
        b.fill_(v)
        c.zero_()
        assert [t.grad_fn.name() for t in (a, b, c)] == ["FillBackward2", "FillBackward3", "ZeroBackward0"]
        ((a + b * lib.arange(6.0).view(2, 3) + c).sum()).backward()
        assert x.grad.tolist() == [[0.0] * 3] * 2 and v.grad.item() == 15.0
    y = fastnn.zeros(3)
    y.fill_(fastnn.tensor(1.0, requires_grad=True))  # a plain tensor filled with a value that requires grad
    assert y.requires_grad and y.grad_fn.name() == "FillBackward3"
