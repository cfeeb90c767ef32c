"""Hostile input: random invalid shapes, dims, dtypes and arguments to every public function of fastnn.

The property: a call returns, or raises an ordinary exception (TypeError, ValueError, IndexError,
RuntimeError, MemoryError, NotImplementedError) whose message names the op -- never a crash, a hang or
another kind of exception.

The surface is enumerated, so a new public function is covered without editing this file: the callables
of `fastnn`, every public method and operator of `fastnn.Tensor`, `fastnn.nn.functional`, the `fastnn.nn`
layers (constructed with hostile arguments, then called with hostile inputs), the optimizers and
learning-rate schedulers (constructor arguments, then step/state_dict), `fastnn.utils.data`, `fastnn.autograd`
and `fastnn.nn.init`. Arguments are drawn by hypothesis from a pool of hostile values: tensors of every dtype
with 0-d, empty, 1-size, non-contiguous, expanded and enormous (2**40-element view) shapes, ints from -2**63-1
to 2**64, nan/inf/-0.0, None, bools, strings, lists, tuples, dtypes, NumPy arrays, slices, objects; keyword
arguments are the function's own parameter names, plus unknown ones.

The calls run in child processes (one per group of the surface) with a capped address space (so an
allocation that slips past a check fails there, not on the machine). The child prints each call before
making it: a segfault, an abort or a hang fails the test and shows the call. Run one group by hand with
`python tests/python/test_hostile.py GROUP [EXAMPLES] [--survey]` (--survey lists every violation instead
of stopping at the first; FASTNN_HOSTILE_RANDOM=1 draws new examples each run).
"""

import inspect
import itertools
import math
import os
import re
import subprocess
import sys
import warnings

import pytest

GROUPS = ["fastnn", "tensor", "functional", "nn", "optim", "data"]
EXAMPLES = {"fastnn": 1000, "tensor": 1500, "functional": 1000, "nn": 800, "optim": 600, "data": 800}
ALLOWED = (TypeError, ValueError, IndexError, RuntimeError, MemoryError, NotImplementedError)
AS_LIMIT = 4 << 30  # the child's address space


# ---------------------------------------------------------------------------------------------
# the parent: one pytest test per group, each group in a child process


def _child_env():
    """The environment of a child: it imports the fastnn this process imports (in-tree or installed)."""
    import fastnn

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(fastnn.__path__[0]), env.get("PYTHONPATH", "")])
    return env


def _run_group(group, examples, timeout=240):
    env = _child_env()
    cmd = [sys.executable, os.path.abspath(__file__), group, str(examples)]
    import tempfile

    with tempfile.TemporaryDirectory() as cwd:  # fastnn.save with a hostile path writes here
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            return None, out, ""
    return proc.returncode, proc.stdout, proc.stderr


def _last_call(stdout):
    calls = [line for line in stdout.splitlines() if line.startswith("CALL ")]
    return calls[-1] if calls else "(no call started)"


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS)
def test_hostile_calls(group):
    scale = float(os.environ.get("FASTNN_HYPOTHESIS_SCALE", "1"))
    rc, out, err = _run_group(group, max(1, int(EXAMPLES[group] * scale)))
    if rc is None:
        pytest.fail(f"the child hung; last call:\n{_last_call(out)}")
    if rc < 0:
        pytest.fail(f"the child died of signal {-rc}; last call:\n{_last_call(out)}\n{err[-2000:]}")
    assert rc == 0, f"exit {rc}:\n{err[-6000:]}"
    assert "DONE" in out, out[-2000:]


# ---------------------------------------------------------------------------------------------
# regressions: crashes and stray exceptions the property found (each call in a child, printed first)

NONE_CALLS = [  # None where a tensor is required reached C++ as a null pointer (segfault)
    ("exp", "fastnn.exp(None)"),
    ("sigmoid", "F.sigmoid(None)"),
    ("relu", "fastnn.relu(None)"),
    ("mm", "fastnn.mm(ones(2, 2), None)"),
    ("mm", "ones(2, 2).mm(None)"),
    ("bmm", "fastnn.bmm(None, ones(1, 2, 2))"),
    ("matmul", "ones(2).matmul(None)"),
    ("addmm", "fastnn.addmm(ones(2), ones(2, 2), None)"),
    ("copy_", "ones(2).copy_(None)"),
    ("cat", "fastnn.cat([ones(2), None])"),
    ("stack", "fastnn.stack([None])"),
    ("index_select", "fastnn.index_select(ones(2), 0, None)"),
    ("linear", "F.linear(None, ones(2, 2))"),
    ("linear", "F.linear(ones(2), None)"),
    ("softmax", "fastnn.softmax(None, 0)"),
    ("reshape", "fastnn.reshape(None, [2])"),
    ("transpose", "fastnn.transpose(None, 0, 1)"),
    ("flatten", "fastnn.flatten(None)"),
    ("t", "fastnn.t(None)"),
    ("eq", "fastnn.eq(None, 1)"),
    ("pow", "fastnn.pow(None, 2)"),
    ("mse_loss", "F.mse_loss(None, ones(2))"),
    ("mse_loss", "F.mse_loss(ones(2), None)"),
    ("cross_entropy", "F.cross_entropy(ones(2, 3), None)"),
    ("nll_loss", "F.nll_loss(None, fastnn.tensor([0]))"),
    ("conv2d", "F.conv2d(None, ones(1, 1, 1, 1))"),
    ("max_pool2d", "F.max_pool2d(None, 2)"),
    ("avg_pool2d", "F.avg_pool2d(None, 2)"),
    ("adaptive_avg_pool2d", "F.adaptive_avg_pool2d(None, 2)"),
    ("gelu", "F.gelu(None)"),
    ("leaky_relu", "F.leaky_relu(None)"),
    ("embedding", "F.embedding(fastnn.tensor([0]), None)"),
    ("batch_norm", "F.batch_norm(None, None, None)"),
    ("dropout", "F.dropout(None)"),
    ("binary_cross_entropy", "F.binary_cross_entropy(ones(2) / 2, None)"),
    ("result_type", "_C._result_type(None, ones(1))"),
    ("backward", "_C._backward([None], [], False)"),
    ("grad", "_C._grad([ones(1, requires_grad=True) * 2], [None], [], False, False)"),
    ("backward", "_C._backward([ones(2, requires_grad=True) * 2, ones(1, requires_grad=True) * 2], [ones(2)], False)"),
]


def _run_snippets(snippets, timeout=120):
    """Runs each snippet in one child (after printing it) and returns {snippet: 'ok' or 'Type: message'}."""
    code = "\n".join(
        [
            "import json, sys, fastnn",
            "import fastnn.nn.functional as F",
            "from fastnn import _C",
            "ones = fastnn.ones",
            f"snippets = {snippets!r}",
            "for s in snippets:",
            "    print('CALL ' + s, flush=True)",
            "    try:",
            "        eval(s)",
            "        r = 'ok'",
            "    except Exception as e:",
            "        r = type(e).__name__ + ': ' + str(e)",
            "    print('RESULT ' + json.dumps([s, r]), flush=True)",
        ]
    )
    env = _child_env()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    import json

    results = dict(json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    assert proc.returncode == 0, (
        f"the child died ({proc.returncode}) at {_last_call(proc.stdout)}\n{proc.stderr[-2000:]}"
    )
    return results


def test_none_where_a_tensor_is_required_is_a_type_error():
    results = _run_snippets([c for _, c in NONE_CALLS])
    for op, call in NONE_CALLS:
        r = results[call]
        assert r.startswith(("TypeError", "ValueError", "RuntimeError")) and op in r, f"{call}: {r}"


# pybind11 would hand None over as a null pointer; the bindings' Tensor caster refuses it (cpp/bindings/common.h)
@pytest.mark.slow
@pytest.mark.parametrize(
    "call",
    [
        "fastnn.Tensor.dim(None)",
        "fastnn.Tensor.__add__(None, 1)",
        "fastnn.Tensor(None)",
        "fastnn.max(None)",
        "fastnn.argmax(None)",
        "fastnn.Tensor.item(None)",
        "fastnn.Tensor.grad.__get__(None)",
        "fastnn.Tensor.add_(None, 1)",
        "_C._as_strided(None, [1], [1], 0)",
        "_C._conv2d(None, ones(1, 1, 1, 1), None, [1, 1], [0, 0], [1, 1], 1)",
        "_C._max_pool2d_with_indices(None, [1, 1], [1, 1], [0, 0], [1, 1], False)",
    ],
)
def test_none_as_self_does_not_crash(call):
    r = _run_snippets([call])[call]
    name = call.split("(")[0].split(".")[-1]
    assert r.startswith("TypeError") and name in r, r


NAMED_ERRORS = [  # (snippet, exception type, text the message must contain): found by the property, fixed
    ("F.mse_loss(1j, ones(2))", "TypeError", "[mse_loss] input must be a Tensor"),
    ("F.dropout(ones(2), p=[0.5])", "TypeError", "[dropout] p must be a number"),
    ("F.relu(ones(2), inplace=ones(2))", "TypeError", "[relu] inplace must be a bool"),
    ("fastnn.zeros_like(2.0)", "TypeError", "[zeros_like] input must be a Tensor"),
    ("fastnn.tensor([1], dtype=5)", "TypeError", "[tensor] dtype must be a fastnn.dtype"),
    ("fastnn.eye(2 ** 32)", "ValueError", "[eye] size"),
    ("fastnn.eye([2])", "TypeError", "[eye] n must be an int"),
    ("fastnn.randn(2, requires_grad=ones(2))", "TypeError", "[randn] requires_grad must be a bool"),
    ("ones(2, dtype=fastnn.int64).fill_(1e30)", "ValueError", "[fill_] value 1e+30 cannot be converted"),
    ("ones(2).argmax(fastnn.tensor(0.5))", "TypeError", "[argmax] dim must be an int"),
    ("ones(2).gt(__import__('numpy').float32)", "TypeError", "[gt] expected a Tensor or a number"),
    ("ones(2).reshape_as(3)", "TypeError", "[reshape_as] other must be a Tensor"),
    ("ones(2).normal_([], ())", "TypeError", "[normal_] mean must be a number"),
    ("ones(2, dtype=fastnn.int64).requires_grad_()", "RuntimeError", "[requires_grad_] only Tensors of floating"),
    ("fastnn.optim.SGD([ones(1, requires_grad=True)], lr=[])", "TypeError", "[SGD]"),
    (
        "fastnn.optim.SGD([ones(1, requires_grad=True)], lr=0.1).load_state_dict(3)",
        "TypeError",
        "[SGD] load_state_dict",
    ),
    ("fastnn.optim.lr_scheduler.LambdaLR(3, lambda e: 1.0)", "TypeError", "[LambdaLR] int is not an Optimizer"),
    ("fastnn.nn.Conv2d([], 1, 1)", "TypeError", "[Conv2d]"),
    ("fastnn.nn.BatchNorm2d(2)(1j)", "TypeError", "[BatchNorm2d] input must be a Tensor"),
    ("fastnn.nn.Embedding(2, 2, padding_idx=5)", "ValueError", "[Embedding] Padding_idx must be within"),
    ("fastnn.nn.Sequential(None)(ones(1))", "TypeError", "[Sequential] module 0 is None"),
    ("fastnn.nn.init.zeros_(1.0)", "TypeError", "[zeros_] [constant_] an argument has the wrong type"),
    ("fastnn.nn.init.xavier_uniform_(ones(0, 1, 0))", "ValueError", "[xavier_uniform_] ZeroDivisionError"),
    ("fastnn.utils.data.random_split(True, 2)", "TypeError", "[random_split]"),
    ("list(fastnn.utils.data.DataLoader(1.5))", "TypeError", "[DataLoader]"),
    ("fastnn.utils.data.default_collate(0.5)", "TypeError", "[default_collate]"),
    ("fastnn.autograd.backward(ones(2))", "RuntimeError", "[backward] element 0 of tensors does not require grad"),
    ("fastnn.set_grad_enabled(ones(2))", "TypeError", "[set_grad_enabled] mode must be a bool"),
    ("fastnn.Size(2.5)", "TypeError", "fastnn.Size() takes an iterable"),
    (
        "fastnn.ones(1, requires_grad=True).sum().backward(retain_graph=list)",
        "TypeError",
        "[backward] retain_graph must be a bool, got type",
    ),
    ("fastnn.save(None, None)", "TypeError", "[save] f must be a path or a binary file object, got NoneType"),
    ("fastnn.load(1j)", "TypeError", "[load] f must be a path or a binary file object, got complex"),
    ("ones(2).sum(dtype=4)", "TypeError", "[sum] dtype must be a fastnn.dtype, got int"),
    ("fastnn.mean(ones(2), dtype=4)", "TypeError", "[mean] dtype must be a fastnn.dtype, got int"),
    ("ones(2).item()", "RuntimeError", "[item] a Tensor with 2 elements cannot be converted to Scalar"),
    ("ones(0, dtype=fastnn.int64).__index__()", "RuntimeError", "[index] a Tensor with 0 elements"),
    ("int(ones(2))", "RuntimeError", "[int] a Tensor with 2 elements"),
    ("float(ones(0))", "RuntimeError", "[float] a Tensor with 0 elements"),
    ("fastnn.cat(fastnn.tensor(1.0), False)", "TypeError", "[cat] tensors must be a sequence of Tensors, got Tensor"),
    ("fastnn.stack([1, 2])", "TypeError", "[stack] tensors must be a sequence of Tensors, got list"),
    ("ones(2, 3).new_ones((-2, 4))", "ValueError", "[ones] negative dimension -2"),
    ("fastnn.ones(0, 0, requires_grad=True).zero_()", "RuntimeError", "in-place operation. (zero_)"),
    (
        "fastnn.zeros(2, dtype=fastnn.int64, requires_grad=True)",
        "RuntimeError",
        "[zeros] Only Tensors of floating point dtype can require gradients (got int64)",
    ),
]


def test_errors_name_the_op():
    results = _run_snippets([c for c, _, _ in NAMED_ERRORS])
    for call, kind, text in NAMED_ERRORS:
        assert results[call].startswith(kind + ": ") and text in results[call], f"{call}: {results[call]}"


def test_fill_of_an_expanded_view_writes_its_memory_once():
    # a 2**40-element view of one element: one write (it was 2**40, a hang), and the value lands in the base
    call = "(lambda b: (b.expand(2 ** 20, 2 ** 20).fill_(3), b.tolist())[1])(fastnn.zeros(1))"
    assert _run_snippets([call], timeout=60)[call] == "ok"
    base = __import__("fastnn").zeros(2, 1)
    base.expand(2, 5).fill_(7.0)
    assert base.tolist() == [[7.0], [7.0]]


# ---------------------------------------------------------------------------------------------
# the child: the surface, hostile values, and the property


def _child(group, examples, survey):
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    warnings.simplefilter("ignore")
    import fastnn  # noqa: F401 (imported after the limit, as a user's process would be)
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    targets = surface()[group]
    violations = {}

    # FASTNN_HOSTILE_RANDOM=1: new examples each run (bug hunting); otherwise the same ones every time (CI)
    @settings(
        max_examples=examples,
        derandomize=not os.environ.get("FASTNN_HOSTILE_RANDOM"),
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
        phases=[p for p in Phase if p != Phase.explain],
    )
    @given(st.data())
    def run(data):
        target = data.draw(st.sampled_from(targets), "target")
        try:
            target.run(data)
        except Violation as v:
            if not survey:
                raise
            violations.setdefault((target.name, v.kind), str(v))

    run()
    if survey:
        for (name, kind), text in sorted(violations.items()):
            print(f"VIOLATION {name} [{kind}]: {text}")
        print(f"{len(violations)} violations")
    print("DONE", flush=True)


class Violation(AssertionError):
    def __init__(self, kind, text):
        super().__init__(f"{kind}: {text}")
        self.kind = kind


def describe(v, depth=0):
    """A short, reproducible description of a hostile value."""
    import fastnn

    if isinstance(v, fastnn.Tensor):
        extra = ", requires_grad=True" if v.requires_grad else ""
        layout = "" if v.is_contiguous() else f", strides={v.stride()}"
        return f"<Tensor {tuple(v.shape)} {str(v.dtype).replace('fastnn.', '')}{layout}{extra}>"
    if isinstance(v, (list, tuple)) and depth < 2:
        inner = ", ".join(describe(x, depth + 1) for x in v[:6]) + (", ..." if len(v) > 6 else "")
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {describe(x, depth + 1)}" for k, x in list(v.items())[:6]) + "}"
    r = repr(v)
    if "\n" in r:  # an optimizer, a module
        return f"<{type(v).__name__}>"
    return r if len(r) < 80 else r[:77] + "..."


def call_text(name, args, kwargs):
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def names_op(message, names):
    m = message.lower()
    return any(n.lower() in m for n in names)


def attempt(name, names, fn, args=(), kwargs=None, text=None):
    """Calls fn; checks the property. Returns (True, result) or (False, exception)."""
    kwargs = kwargs or {}
    print("CALL " + (text or call_text(name, args, kwargs)), flush=True)
    allowed = ALLOWED + ((OSError,) if name in ("fastnn.save", "fastnn.load") else ())  # file errors, as torch
    allowed += EXTRA_EXCEPTIONS.get(name.split(".")[0], ())
    try:
        return True, fn(*args, **kwargs)
    except allowed as e:
        msg = str(e)
        # an allocation refused deep inside names the op that allocates ("[clone] cannot allocate ..."), or is
        # NumPy's (a sampler's permutation) in this child's capped address space: any MemoryError is clean.
        # A tensor passed where a flag belongs fails in Python's `if flag:` with torch's own words for it.
        named = names_op(msg, names) or isinstance(e, MemoryError) or msg.startswith(TRUTH_VALUE)
        if not named and not isinstance(e, OSError):
            raise Violation(
                "message",
                f"{text or call_text(name, args, kwargs)} raised {type(e).__name__}: "
                f"{msg[:300]!r}, which names none of {sorted(names)}",
            ) from e
        return False, e
    except Exception as e:
        raise Violation(
            type(e).__name__, f"{text or call_text(name, args, kwargs)} raised {type(e).__name__}: {str(e)[:300]!r}"
        ) from e


# ---------------------------------------------------------------------------------------------
# hostile values

HUGE_INTS = [2**31, 2**32 + 1, 2**62, 2**63 - 1, 2**63, 2**64, -(2**63), -(2**63) - 1, 10**30]
FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.5, -1.5, 1e308, 5e-324, 2.0, 1e-8]
STRINGS = ["", "abc", "mean", "sum", "none", "same", "valid", "tanh", "cpu", "cuda", "float32", "\x00", "é"]


def strategies():
    """The hostile value strategies (built after fastnn is imported)."""
    import fastnn
    import numpy as np
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    dtypes = [fastnn.float32, fastnn.float64, fastnn.int64, fastnn.bool]
    small_ints = st.integers(-3, 6)
    ints = st.one_of(small_ints, st.sampled_from(HUGE_INTS))
    floats = st.one_of(st.sampled_from(FLOATS), st.floats(-10, 10))
    shapes = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4)

    @st.composite
    def tensors(draw, huge=True):
        dtype = draw(st.sampled_from(dtypes))
        shape = draw(shapes)
        kind = draw(st.sampled_from(["plain", "plain", "transposed", "sliced", "expanded", "grad", "huge", "zeros"]))
        if kind == "huge" and huge:  # a 2**40-element view of one element: anything that allocates must refuse
            return fastnn.ones(1, dtype=dtype).expand(2**20, 2**20)
        if kind == "zeros":
            return fastnn.zeros(shape, dtype=dtype)
        t = fastnn.randint(-3, 4, shape).to(dtype) if dtype != fastnn.bool else fastnn.randint(0, 2, shape).bool()
        if dtype.is_floating_point and draw(st.booleans()):
            t = t * draw(st.sampled_from([math.nan, math.inf, 1e30, -0.0, 0.5]))
        if kind == "transposed" and t.dim() >= 2:
            t = t.transpose(0, -1)
        elif kind == "sliced" and t.dim() >= 1:
            t = t[..., ::2]
        elif kind == "expanded":
            t = t.reshape(1, *t.shape).expand(2, *t.shape)
        elif kind == "grad" and dtype.is_floating_point:
            t = t.clone().requires_grad_(True)
            if draw(st.booleans()):
                t = t * 1  # a non-leaf
        return t

    scalars = st.one_of(
        ints,
        floats,
        st.booleans(),
        st.none(),
        st.sampled_from(STRINGS),
        st.just(1j),
        st.just(b"x"),
        st.sampled_from(dtypes),
        st.just(np.float32),
        st.just(np.dtype("int32")),
    )
    misc = st.sampled_from(
        [
            object(),
            Ellipsis,
            slice(None),
            slice(1, None, -1),
            slice(0, 2**63),
            (lambda *a: a),
            np.zeros((2, 3)),
            np.array([1, 2], dtype=np.int32),
            np.array("abc"),
            np.array([1.0, math.nan]),
            {"a": 1},
            {1, 2},
            range(3),
            iter([1, 2]),
            fastnn.Size([2, 3]),
            fastnn.Generator(),
        ]
    )
    leaf = st.one_of(tensors(), scalars, misc)
    lists = st.one_of(
        st.lists(ints, max_size=4),
        st.lists(tensors(huge=False), max_size=3),
        st.lists(leaf, max_size=3),
        st.lists(st.lists(small_ints, max_size=3), max_size=3),
    )
    containers = st.one_of(lists, lists.map(tuple))
    values = st.one_of(tensors(), tensors(), ints, floats, scalars, containers, misc)
    return {
        "values": values,
        "tensors": tensors,
        "ints": ints,
        "small_ints": small_ints,
        "shapes": shapes,
        "containers": containers,
        "dtypes": st.sampled_from(dtypes),
    }


_STRATS = None


def S():
    global _STRATS
    if _STRATS is None:
        _STRATS = strategies()
    return _STRATS


def param_names(fn):
    """The keyword names fn takes: from its signature, or pybind11's docstring."""
    try:
        return [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"
        ]
    except (TypeError, ValueError):
        pass
    doc = getattr(fn, "__doc__", None) or ""
    names = re.findall(r"[(,]\s*\*?\s*(\w+)\s*:", doc)
    return [n for n in dict.fromkeys(names) if n != "self"]


def draw_args(data, fn, max_args=4):
    from hypothesis import strategies as st

    args = data.draw(st.lists(S()["values"], max_size=max_args), "args")
    kwargs = {}
    names = param_names(fn)
    if names and data.draw(st.booleans(), "with kwargs"):
        for k in data.draw(st.lists(st.sampled_from(names), max_size=3, unique=True), "kwarg names"):
            kwargs[k] = data.draw(S()["values"], k)
    if data.draw(st.integers(0, 15), "unknown kwarg") == 0:
        kwargs["no_such_argument"] = 1
    return args, kwargs


# ---------------------------------------------------------------------------------------------
# the surface

DUNDERS = [
    "__add__",
    "__radd__",
    "__iadd__",
    "__sub__",
    "__rsub__",
    "__isub__",
    "__mul__",
    "__rmul__",
    "__imul__",
    "__truediv__",
    "__rtruediv__",
    "__itruediv__",
    "__pow__",
    "__rpow__",
    "__matmul__",
    "__rmatmul__",
    "__neg__",
    "__abs__",
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__getitem__",
    "__setitem__",
    "__len__",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__repr__",
    "__format__",
    "__iter__",
    "__contains__",
    "__deepcopy__",
    "__array__",
    "__hash__",
]
# what an error message may name for these (the op behind the operator)
OP_NAMES = {
    "radd": ["add"],
    "iadd": ["add"],
    "rsub": ["sub"],
    "isub": ["sub"],
    "rmul": ["mul"],
    "imul": ["mul"],
    "truediv": ["div"],
    "rtruediv": ["div"],
    "itruediv": ["div"],
    "rpow": ["pow"],
    "matmul": ["mm"],
    "rmatmul": ["matmul", "mm"],
    "getitem": ["index"],
    "setitem": ["index", "copy_", "setitem"],
    "eq": ["eq"],
    "len": ["len"],
    "bool": ["boolean value", "to"],
    "float": ["float", "convert", "to"],
    "int": ["int", "convert"],
    "index": ["index"],
    "iter": ["iter"],
    "contains": ["contains"],
    "array": ["array", "numpy"],
    "concat": ["cat"],
    "clip": ["clamp"],
    "new_zeros": ["zeros"],
    "new_ones": ["ones"],
    "new_empty": ["empty"],
    "new_full": ["full"],
    "new_tensor": ["tensor"],
    "double": ["to"],
    "long": ["to"],
    "max_pool2d_with_indices": ["max_pool2d"],
    "default_collate": ["stack", "collate"],
    "constant_": ["fill_"],
    "reshape_as": ["reshape"],
    "expand_as": ["expand"],
    "view_as": ["view"],
    "type_as": ["to"],
    "normal_": ["copy_"],
    "uniform_": ["copy_"],
    "to": ["to", "device"],
}

# Where torch raises another kind of exception and fastnn keeps it: a scheduler resumed (last_epoch >= 0) with
# no 'initial_lr' in the optimizer's groups is a KeyError in torch too, and so are a map-style dataset's
# __getitem__ with a key it does not have and a state dict without an expected key.
EXTRA_EXCEPTIONS = {"lr_scheduler": (KeyError,), "data": (KeyError,), "optim": (KeyError,)}  # and state dicts
TRUTH_VALUE = ("Boolean value of Tensor with", "The truth value of an array")
# Python's protocol methods, called by Python with fixed arguments: only the receiver varies
ARGLESS = {
    "__neg__",
    "__abs__",
    "__len__",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__repr__",
    "__iter__",
    "__hash__",
    "__deepcopy__",
}


def op_names(name):
    """Names an error message may mention for the target `name` (e.g. 'Tensor.__radd__' -> add)."""
    base = name.split(".")[-1]
    core = base.strip("_")
    names = {base, core, core.rstrip("_")}
    names.update(OP_NAMES.get(core, []))
    if core.endswith("_like"):  # zeros_like(...) is zeros(...) of its shape
        names.add(core[:-5])
    return names


class Target:
    def __init__(self, name, fn, names=None, runner=None):
        self.name, self.fn, self.runner = name, fn, runner
        self.names = op_names(name) if names is None else names

    def run(self, data):
        if self.runner:
            return self.runner(self, data)
        args, kwargs = draw_args(data, self.fn)
        return attempt(self.name, self.names, self.fn, args, kwargs)

    def __repr__(self):
        return self.name


def _public(obj):
    return [n for n in dir(obj) if not n.startswith("_")]


def surface():
    import types

    import fastnn
    import fastnn.nn.functional as F
    import fastnn.utils.data as D

    groups = {g: [] for g in GROUPS}
    for n in _public(fastnn):
        v = getattr(fastnn, n)
        # (fastnn.dtype is an enum.Enum: called with more arguments it is the enum module's functional API)
        if isinstance(v, types.ModuleType) or not callable(v) or v is fastnn.dtype:
            continue
        groups["fastnn"].append(Target(f"fastnn.{n}", v, names=_class_names(v) if isinstance(v, type) else None))
    # Tensor methods on a hostile receiver
    for n in _public(fastnn.Tensor) + DUNDERS:
        if callable(getattr(fastnn.Tensor, n, None)):
            groups["tensor"].append(Target(f"Tensor.{n}", n, runner=_run_method))
    for n in _public(F):
        v = getattr(F, n)
        if (
            callable(v)
            and not isinstance(v, (types.ModuleType, type))
            and getattr(v, "__module__", "").startswith("fastnn")
        ):
            groups["functional"].append(Target(f"F.{n}", v))
    for n in _public(fastnn.nn):
        v = getattr(fastnn.nn, n)
        if isinstance(v, type) and issubclass(v, fastnn.nn.Module):
            groups["nn"].append(Target(f"nn.{n}", v, names=_class_names(v) | _layer_ops(n), runner=_run_module))
    import fastnn.optim as O
    import fastnn.optim.lr_scheduler as L

    for n in _public(O):
        v = getattr(O, n)
        if isinstance(v, type) and issubclass(v, O.Optimizer):
            groups["optim"].append(Target(f"optim.{n}", v, names=_class_names(v), runner=_run_optimizer))
    for n in _public(L):
        v = getattr(L, n)
        if isinstance(v, type) and getattr(v, "__module__", "").startswith("fastnn") and n != "Optimizer":
            groups["optim"].append(Target(f"lr_scheduler.{n}", v, names=_class_names(v), runner=_run_scheduler))
    for n in _public(D):
        v = getattr(D, n)
        if callable(v) and not isinstance(v, types.ModuleType):
            groups["data"].append(Target(f"data.{n}", v, names=_class_names(v), runner=_run_data))
    for mod, prefix in ((fastnn.autograd, "autograd"), (fastnn.nn.init, "init"), (fastnn.nn.utils, "nn.utils")):
        for n in _public(mod):
            v = getattr(mod, n)
            if (
                callable(v)
                and not isinstance(v, types.ModuleType)
                and getattr(v, "__module__", "").startswith("fastnn")
            ):
                groups["data"].append(
                    Target(f"{prefix}.{n}", v, names=_class_names(v) if isinstance(v, type) else None)
                )
    return groups


def _class_names(v):
    """A class target's errors may name the class or a base class whose __init__ it runs (_WeightedLoss)."""
    if not isinstance(v, type):
        return op_names(v.__name__)
    return {c.__name__ for c in v.__mro__ if c is not object}


def _layer_ops(name):
    """The functional ops a layer's forward runs (its errors name them)."""
    low = name.lower()
    table = {
        "linear": {"linear", "addmm", "mm", "matmul"},
        "conv2d": {"conv2d"},
        "maxpool2d": {"max_pool2d"},
        "avgpool2d": {"avg_pool2d"},
        "adaptiveavgpool2d": {"adaptive_avg_pool2d"},
        "crossentropyloss": {"cross_entropy", "nll_loss", "log_softmax"},
        "nllloss": {"nll_loss"},
        "mseloss": {"mse_loss"},
        "l1loss": {"l1_loss"},
        "smoothl1loss": {"smooth_l1_loss"},
        "bceloss": {"binary_cross_entropy"},
        "bcewithlogitsloss": {"binary_cross_entropy_with_logits"},
        "batchnorm1d": {"batch_norm"},
        "batchnorm2d": {"batch_norm"},
        "dropout": {"dropout"},
        "dropout2d": {"dropout2d", "feature_dropout"},
        "embedding": {"embedding"},
        "leakyrelu": {"leaky_relu"},
        "logsoftmax": {"log_softmax"},
        "flatten": {"flatten"},
        "unflatten": {"unflatten", "view", "reshape"},
    }
    if low.endswith(("pad1d", "pad2d")):  # the padding layers run F.pad
        return {"pad"}
    if low.startswith("upsampl"):  # Upsample, UpsamplingNearest2d, ... run F.interpolate
        return {"interpolate"}
    table.update(
        {
            "conv1d": {"conv1d", "pad"},
            "convtranspose1d": {"conv_transpose1d"},
            "convtranspose2d": {"conv_transpose2d"},
            "maxpool1d": {"max_pool1d"},
            "avgpool1d": {"avg_pool1d"},
            "adaptivemaxpool1d": {"adaptive_max_pool1d"},
            "adaptivemaxpool2d": {"adaptive_max_pool2d"},
            "adaptiveavgpool1d": {"adaptive_avg_pool1d"},
            "pixelshuffle": {"pixel_shuffle"},
            "pixelunshuffle": {"pixel_unshuffle"},
        }
    )
    table.update(
        {
            "layernorm": {"layer_norm"},
            "groupnorm": {"group_norm"},
            "rmsnorm": {"rms_norm"},
            **{f"instancenorm{d}d": {"instance_norm"} for d in (1, 2, 3)},
        }
    )
    # otherwise the functional op named as torch names it: LPPool1d -> lp_pool1d, KLDivLoss -> kl_div
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)).lower()
    snake = snake.replace("multi_label", "multilabel")
    return table.get(low, {low, snake, snake.removesuffix("_loss")})


def _run_method(target, data):

    import fastnn

    iterating = target.fn in (
        "__iter__",
        "tolist",
        "__contains__",
        "__array__",
        "numpy",
        "__deepcopy__",
        "__repr__",
        "__format__",
    )
    receiver = data.draw(S()["tensors"](huge=not iterating), "self")
    method = getattr(receiver, target.fn)
    if target.fn in ARGLESS:
        args, kwargs = ([{}] if target.fn == "__deepcopy__" else []), {}
    else:
        args, kwargs = draw_args(data, getattr(fastnn.Tensor, target.fn))
    text = call_text(f"{describe(receiver)}.{target.fn}", args, kwargs)
    return attempt(target.name, target.names, method, args, kwargs, text=text)


def _run_module(target, data):
    from hypothesis import strategies as st

    args, kwargs = draw_args(data, target.fn, max_args=3)
    ok, module = attempt(target.name, target.names, target.fn, args, kwargs)
    if not ok:
        return
    for _ in range(data.draw(st.integers(1, 2), "calls")):
        inputs = data.draw(st.lists(S()["values"], min_size=1, max_size=2), "inputs")
        attempt(target.name, target.names, module, inputs, text=call_text(f"({target.name}(...))", inputs, {}))


def _params(data):
    from hypothesis import strategies as st

    ps = data.draw(st.one_of(st.lists(S()["tensors"](huge=False), max_size=3), S()["values"]), "params")
    if isinstance(ps, list):
        import fastnn

        ps = [
            p.detach().requires_grad_(True) if isinstance(p, fastnn.Tensor) and p.is_floating_point() else p for p in ps
        ]
    return ps


def _run_optimizer(target, data):
    import fastnn
    from hypothesis import strategies as st

    params = _params(data)
    args, kwargs = draw_args(data, target.fn, max_args=2)
    ok, opt = attempt(target.name, target.names, target.fn, [params] + args, kwargs)
    if not ok:
        return
    for p in params if isinstance(params, list) else []:
        if isinstance(p, fastnn.Tensor) and p.requires_grad and data.draw(st.booleans(), "grad"):
            g = data.draw(S()["tensors"](huge=False), "grad value")
            try:
                p.grad = g
            except ALLOWED:
                pass
    attempt(target.name, target.names, opt.step, text=f"({target.name}(...)).step()")
    attempt(target.name, target.names, opt.zero_grad, text=f"({target.name}(...)).zero_grad()")
    state = data.draw(st.one_of(st.just(opt.state_dict()), S()["values"]), "state_dict")
    attempt(
        target.name,
        target.names,
        opt.load_state_dict,
        [state],
        text=f"({target.name}(...)).load_state_dict({describe(state)})",
    )


def _run_scheduler(target, data):
    import fastnn
    from hypothesis import strategies as st

    opt = fastnn.optim.SGD([fastnn.zeros(2, requires_grad=True)], lr=0.1)
    args, kwargs = draw_args(data, target.fn, max_args=3)
    first = data.draw(st.one_of(st.just(opt), S()["values"]), "optimizer")
    ok, sched = attempt(target.name, target.names, target.fn, [first] + args, kwargs)
    if not ok:
        return
    for _ in range(3):
        step_args = data.draw(st.lists(S()["values"], max_size=1), "step args")
        attempt(target.name, target.names, sched.step, step_args, text=f"({target.name}(...)).step{tuple(step_args)}")
    attempt(target.name, target.names, sched.get_last_lr, text=f"({target.name}(...)).get_last_lr()")


def _run_data(target, data):
    import fastnn
    from hypothesis import strategies as st

    args, kwargs = draw_args(data, target.fn, max_args=3)
    if target.name in ("data.DataLoader", "data.Subset", "data.random_split") and args and data.draw(st.booleans()):
        args[0] = fastnn.utils.data.TensorDataset(fastnn.arange(10.0).view(5, 2))  # a real dataset, hostile rest
    ok, out = attempt(target.name, target.names, target.fn, args, kwargs)
    if not ok or not type(out).__module__.startswith("fastnn"):  # use only what fastnn made (not a NumPy array)
        return
    # use what came back: iterate (a few items), index, take its length
    if hasattr(out, "__iter__") and not isinstance(out, (str, bytes, fastnn.Tensor)):
        attempt(
            target.name,
            target.names,
            lambda: list(itertools.islice(iter(out), 3)),
            text=f"list(islice({target.name}(...), 3))",
        )
    if hasattr(out, "__getitem__") and not isinstance(out, (str, bytes, fastnn.Tensor, list, tuple, dict)):
        i = data.draw(S()["values"], "index")
        attempt(target.name, target.names, lambda: out[i], text=f"{target.name}(...)[{describe(i)}]")
    if hasattr(out, "__len__") and not isinstance(out, (str, bytes, fastnn.Tensor, list, tuple, dict)):
        attempt(target.name, target.names, lambda: len(out), text=f"len({target.name}(...))")


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    _child(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200, "--survey" in sys.argv)
