"""Long runs: 20,000 LeNet training steps at batch 16 keep memory flat, every step's graph and saved
tensors are freed, and tensors are freed when Python drops them, through reference cycles too.

The leak detectors are three atomic counters in the engine (cheap enough to be always on):
``fastnn._C._live_tensors()`` (C++ Tensor objects alive), ``_live_nodes()`` (autograd Nodes alive) and
``_allocator_in_use_bytes()`` (bytes held by live storages from the caching allocator). Between two
training steps all three must come back to the same values every step; RSS (from /proc/self/statm)
catches what they do not see (Python objects, buffers outside the allocator).
"""

import gc
import json
import os
import subprocess
import sys
import weakref

import pytest

import fastnn
from fastnn import _C

pytestmark = pytest.mark.slow  # 20k training steps and garbage-collection loops

STEPS = 20_000
WARMUP = 1_000
# A leak of one Tensor or Node per step shows in the counters (exact). Whatever else leaks, 20,000
# steps turn 800 bytes a step into 16 MiB; the measured growth is well below 1 MiB (printed below),
# the rest is headroom for glibc's arena behaviour on another machine.
RSS_BOUND = 16 << 20


def _env():
    here = os.path.dirname(os.path.abspath(__file__))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(fastnn.__path__[0]), here]))


def _counts():
    gc.collect()
    return _C._live_tensors(), _C._live_nodes(), _C._allocator_in_use_bytes()


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _long_run_child(steps, ckpt_path):
    """Trains LeNet for `steps` steps and prints a JSON report (runs in a fresh process)."""
    from fastnn.train import LeNet
    from fastnn.utils.data import DataLoader, TensorDataset

    F = fastnn.nn.functional
    # One thread: the measurement is about memory (the code paths are the same), and the other core
    # stays free for whatever else the machine runs.
    fastnn.set_num_threads(1)
    fastnn.manual_seed(0)
    net = LeNet()
    # lr 0.003: at 0.01 this setup overfits, spikes and dies after ~40 epochs, in torch as well
    opt = fastnn.optim.SGD(net.parameters(), lr=0.003, momentum=0.9)
    # synthetic and learnable: each class is a fixed random image plus noise
    labels = fastnn.randint(0, 10, (1600,))
    images = fastnn.randn(10, 1, 32, 32).index_select(0, labels) + 2.0 * fastnn.randn(1600, 1, 32, 32)
    data = TensorDataset(images, labels)
    del labels, images
    loader = DataLoader(data, batch_size=16, shuffle=True, generator=fastnn.Generator().manual_seed(1))

    def batches():
        while True:
            yield from loader

    it = batches()
    report = {"steps": steps, "between_steps": {}, "max_nodes_between_steps": 0}
    base = None
    deviations = 0
    for step in range(steps):
        x, y = next(it)
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        if step % 2000 == 500:  # what a real loop does now and then: evaluate and checkpoint
            # (the first time, at step 500, is within the warm-up: importing safetensors adds to RSS)
            with fastnn.no_grad():
                report["eval_loss"] = float(F.cross_entropy(net(data.tensors[0][:64]), data.tensors[1][:64]))
            fastnn.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "step": step}, ckpt_path)
        del x, y, loss
        if step == WARMUP - 1:
            gc.collect()
            base = (_C._live_tensors(), _C._live_nodes(), _C._allocator_in_use_bytes())
            report["rss_after_warmup"] = _rss()
            report["between_steps"] = {"tensors": base[0], "nodes": base[1], "allocator_bytes": base[2]}
        elif step >= WARMUP:
            # no gc.collect() here: training must free everything by reference counting alone
            now = (_C._live_tensors(), _C._live_nodes(), _C._allocator_in_use_bytes())
            if now != base:
                deviations += 1
                report.setdefault("first_deviation", [step, now, base])
    gc.collect()
    report["deviating_steps"] = deviations
    report["final"] = {
        "tensors": _C._live_tensors(),
        "nodes": _C._live_nodes(),
        "allocator_bytes": _C._allocator_in_use_bytes(),
        "cached_bytes": _C._allocator_cached_bytes(),
    }
    report["rss_end"] = _rss()
    report["loss"] = report.get("eval_loss")
    print(json.dumps(report))


def test_20k_lenet_steps_flat_memory(tmp_path):
    code = f"import test_long_run as t; t._long_run_child({STEPS}, {str(tmp_path / 'ck.pt')!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=_env())
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = r["rss_end"] - r["rss_after_warmup"]
    summary = (
        f"{STEPS} LeNet steps (batch 16): RSS {r['rss_after_warmup'] / 2**20:.1f} MiB after {WARMUP} warm-up "
        f"steps -> {r['rss_end'] / 2**20:.1f} MiB at the end (growth {growth / 2**10:.0f} KiB, bound "
        f"{RSS_BOUND >> 20} MiB); between steps: {r['between_steps']}; at the end: {r['final']}; "
        f"steps whose counters differed: {r['deviating_steps']}; eval loss {r['loss']:.2e}"
    )
    print("\n" + summary)
    assert r["deviating_steps"] == 0, (
        f"live tensors/nodes/bytes changed between steps: {r.get('first_deviation')}\n{summary}"
    )
    # Between steps no graph is alive: no node at all, and the only tensors are the parameters, their
    # .grad and the momentum buffers (10 each) and the dataset's two tensors; nothing else (the
    # DataLoader iterator holds the epoch's indices as a NumPy array, and no batch).
    assert r["between_steps"]["nodes"] == 0, summary
    assert r["between_steps"]["tensors"] == 3 * 10 + 2, summary
    assert growth < RSS_BOUND, summary
    assert r["loss"] < 0.1, summary  # it trained, and still works after 20,000 steps (chance: ln 10 = 2.3)


# ---------------------------------------------------------------------- in-process checks
def test_graph_and_saved_tensors_are_freed_after_backward():
    t0, n0, b0 = _counts()
    w = fastnn.randn(64, 64, requires_grad=True)
    x = fastnn.randn(32, 64)
    after_leaves = _counts()
    y = (x @ w).relu().sum()  # saves x, w and relu's output; 3 nodes + AccumulateGrad
    t1, n1, b1 = _counts()
    assert n1 - after_leaves[1] == 4 and t1 > after_leaves[0] and b1 > after_leaves[2]
    y.backward()
    t2, n2, b2 = _counts()
    # backward freed the saved tensors (the nodes stay while y holds them); w.grad is new
    assert t2 < t1 + 1 and n2 == n1
    del y
    t3, n3, b3 = _counts()
    assert n3 == n0, "dropping the output frees its whole graph"
    assert t3 == after_leaves[0] + 1  # + w.grad
    del w, x
    assert _counts() == (t0, n0, b0)


def test_dropped_outputs_free_graphs_without_backward():
    t0, n0, b0 = _counts()
    w = fastnn.randn(128, 128, requires_grad=True)
    with_leaf = _counts()
    for _ in range(50):
        h = w
        for _ in range(20):
            h = (h * 1.01).tanh()
        del h
    assert _counts() == with_leaf
    del w
    assert _counts() == (t0, n0, b0)


def test_deep_graph_is_freed_iteratively():
    t0, n0, b0 = _counts()
    x = fastnn.ones(4, requires_grad=True)
    h = x
    for _ in range(100_000):
        h = h * 1.0
    assert _counts()[1] >= n0 + 100_000
    del h  # would overflow the C stack if teardown recursed
    del x
    assert _counts() == (t0, n0, b0)


def test_tensor_freed_when_python_drops_it():
    t0, n0, b0 = _counts()
    t = fastnn.empty(1 << 20)
    ref = weakref.ref(t)
    assert _counts()[0] == t0 + 1 and _counts()[2] >= b0 + (4 << 20)
    del t
    assert ref() is None and _counts() == (t0, n0, b0)


def test_reference_cycles_between_modules_are_collected():
    from fastnn.train import LeNet

    base = _counts()
    a, b = LeNet(), LeNet()
    a.peer, b.peer = b, a  # submodules of each other: a cycle through the module tree
    a.fc1.owner = a  # and through a plain attribute
    size = _counts()
    assert size[2] - base[2] >= 2 * 61706 * 4
    del a, b
    gc.collect()
    assert _counts() == base, "modules in a reference cycle kept their parameters alive"


def test_tensor_in_a_cycle_with_a_module_is_collected():
    base = _counts()
    m = fastnn.nn.Linear(256, 256)
    m.weight.owner = m  # Parameter -> module -> _parameters -> Parameter

    class Holder:
        pass

    h = Holder()
    h.module, h.state = m, fastnn.zeros(1 << 20)
    m.holder = h  # module -> holder -> (module, a plain tensor)
    h.self = h
    opt = fastnn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m.opt = opt  # module -> optimizer -> params
    loss = m(fastnn.randn(8, 256)).sum()
    loss.backward()
    opt.step()
    h.graph = loss  # and a graph whose leaves are the module's parameters
    del m, h, opt, loss
    gc.collect()
    assert _counts() == base, "a tensor in a cycle with a module outlived the cycle"


class _DoubleKeepingOutput(fastnn.autograd.Function):
    """y = 2x with y stored on ctx as an attribute: y -> grad_fn -> ctx -> y, a cycle through C++."""

    @staticmethod
    def forward(ctx, x):
        y = x * 2
        ctx.y = y
        return y

    @staticmethod
    def backward(ctx, g):
        return g * ctx.y  # ctx must still hold y


def test_output_stored_on_function_ctx_is_collected():
    # the Tensor type's GC traversal visits the node's ctx
    base = _counts()
    x = fastnn.ones(1 << 16, requires_grad=True)
    y = _DoubleKeepingOutput.apply(x)
    del x, y
    gc.collect()
    assert _counts() == base


def test_collection_never_frees_what_a_live_graph_still_needs():
    x = fastnn.ones(3, requires_grad=True)
    y = _DoubleKeepingOutput.apply(x)  # y alive: its cycle is reachable
    gc.collect()
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]

    x.grad = None
    z = _DoubleKeepingOutput.apply(x) * 3  # the node alive only through z's graph (C++): no Python path to it
    gc.collect()
    z.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0, 6.0]


def test_cycle_through_a_tensor_attribute_is_collected():
    base = _counts()
    t = fastnn.zeros(1 << 16)
    t.me = t
    del t
    gc.collect()
    assert _counts() == base


def test_saved_output_through_save_for_backward_is_collected():
    base = _counts()

    class Double(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * 2

    x = fastnn.ones(1 << 16, requires_grad=True)
    y = Double.apply(x)
    y.sum().backward()
    del x, y
    gc.collect()
    assert _counts() == base
