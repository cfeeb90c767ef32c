"""The graph an export builds: ONNX nodes, initializers, and which fastnn tensor is which ONNX value."""

import functools

import numpy as np

from fastnn._C import Tensor


def unsupported(what):
    return NotImplementedError(f"[onnx.export] {what}")


class SymInt(int):
    """A size read from a traced tensor (x.size(0), x.shape[1]): an int for the Python code, and a graph value
    (a 1-element int64 tensor) for the shapes the exporter emits, so a dynamic axis stays dynamic."""

    def __new__(cls, value, emit, sources):
        obj = int.__new__(cls, value)
        obj._emit, obj._name, obj.sources = emit, None, sources  # sources: {(value name, axis)} it depends on
        return obj

    def value(self, g):
        if self._name is None:
            self._name = self._emit(g)
        return self._name

    def _op(self, other, op, py, reverse=False):
        if not isinstance(other, int) or isinstance(other, bool):
            return py(int(self), other) if not reverse else py(other, int(self))
        a, b = (other, self) if reverse else (self, other)
        sources = self.sources | getattr(other, "sources", frozenset())
        return SymInt(py(int(a), int(b)), lambda g: g.node(op, [g.dim_value(a), g.dim_value(b)]), sources)

    def __add__(self, o):
        return self._op(o, "Add", lambda a, b: a + b)  # noqa: E704

    def __radd__(self, o):
        return self._op(o, "Add", lambda a, b: a + b, True)  # noqa: E704

    def __sub__(self, o):
        return self._op(o, "Sub", lambda a, b: a - b)  # noqa: E704

    def __rsub__(self, o):
        return self._op(o, "Sub", lambda a, b: a - b, True)  # noqa: E704

    def __mul__(self, o):
        return self._op(o, "Mul", lambda a, b: a * b)  # noqa: E704

    def __rmul__(self, o):
        return self._op(o, "Mul", lambda a, b: a * b, True)  # noqa: E704

    def __floordiv__(self, o):  # sizes are >= 0, so ONNX's truncating integer Div is floor division here
        if isinstance(o, int) and not isinstance(o, bool) and int(o) > 0:
            return self._op(o, "Div", lambda a, b: a // b)
        return int(self) // o


class Graph:
    def __init__(self, opset, params):
        self.opset = opset
        self.nodes, self.initializers = [], {}
        self.values = {}  # id(tensor) -> (tensor, ONNX name): the tensors computed from the inputs
        self.params = params  # id(tensor) -> (tensor, state_dict name)
        self.aliased = set()  # ids of traced tensors that share memory with another traced tensor
        self.scope, self.calls = [], []  # module path; public calls being traced through (for messages)
        self.depth = 0  # > 0 while an op the exporter converts runs: what it calls inside is not traced
        self._counts = {}
        self.input_infos, self._static_dims = [], {}  # the graph's inputs (ValueInfoProto), for shape inference

    # ---- names ----
    def fresh(self, op):
        prefix = f"/{self.scope[-1]}/" if self.scope and self.scope[-1] else "/"
        k = self._counts.get(prefix + op, 0)
        self._counts[prefix + op] = k + 1
        return f"{prefix}{op}" + (f"_{k}" if k else "")

    def node(self, op, inputs, outputs=1, **attrs):
        """Adds a node; returns its output name (or a list of names when outputs > 1)."""
        name = self.fresh(op)
        outs = [f"{name}_output_{i}" for i in range(outputs)]
        self.nodes.append((op, list(inputs), outs, name, attrs))
        return outs[0] if outputs == 1 else outs

    def const(self, array, hint="Constant"):
        name = self.fresh(hint)
        self.initializers[name] = np.asarray(array)
        return name

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64), "Constant")

    def scalar(self, v, dtype):
        return self.const(np.asarray(v, dtype=dtype))

    # ---- tensors ----
    def traced(self, x):
        return isinstance(x, Tensor) and self.values.get(id(x), (None,))[0] is x

    def bind(self, tensor, name):
        self.values[id(tensor)] = (tensor, name)

    def value(self, x, dtype=None):
        """The ONNX name of x: a traced tensor, a parameter/buffer (an initializer named as in state_dict), another
        tensor (a constant), or a Python number (a constant of `dtype`)."""
        if self.traced(x):
            return self.values[id(x)][1]
        if isinstance(x, Tensor):
            if x.requires_grad and x.grad_fn is not None:
                raise unsupported(
                    f"the model computed a tensor from its inputs with an operation the exporter "
                    f"did not see ({x.grad_fn.name()}); call it through fastnn, fastnn.nn.functional "
                    "or a Tensor method"
                )
            entry = self.params.get(id(x))
            if entry is not None and entry[0] is x:
                self.initializers.setdefault(entry[1], _numpy(x))
                return entry[1]
            return self.const(_numpy(x))
        if isinstance(x, (bool, int, float)):
            return self.scalar(x, dtype)
        raise unsupported(f"cannot use a {type(x).__name__} as a tensor in the graph")

    def cast(self, name, src, dst):
        """name cast from fastnn dtype src to dst (no node when they are the same)."""
        return name if src == dst else self.node("Cast", [name], to=onnx_type(dst))

    # ---- shapes ----
    def shape_slice(self, name, start, end=None):
        """Shape(name)[start:end] as a 1-D int64 value."""
        if self.opset >= 15:
            attrs = {"start": start} if end is None else {"start": start, "end": end}
            return self.node("Shape", [name], **attrs)
        shape = self.node("Shape", [name])
        return self.node("Slice", [shape, self.ints([start]), self.ints([end if end is not None else 2**62])])

    def dim_value(self, v):
        return v.value(self) if isinstance(v, SymInt) else self.ints([int(v)])

    def shape_value(self, sizes):
        """A 1-D int64 value of sizes (ints, SymInts, or 1-D int64 value names given as ('value', name))."""
        if all(type(s) is int for s in sizes):
            return self.ints(sizes)
        parts, run = [], []
        for s in sizes:
            if type(s) is int:
                run.append(s)
                continue
            if run:
                parts.append(self.ints(run))
                run = []
            parts.append(s[1] if isinstance(s, tuple) else self.dim_value(s))
        if run:
            parts.append(self.ints(run))
        return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=0)

    def sym_sizes(self, x):
        name = self.value(x)
        return [
            SymInt(n, functools.partial(Graph._axis_size, name=name, d=d), frozenset({(name, d)}))
            for d, n in enumerate(x.shape)
        ]

    def _axis_size(self, name, d):
        return self.shape_slice(name, d, d + 1)

    def dynamic(self, sym):
        """Whether a SymInt can change with the dynamic axes (ONNX shape inference over the graph so far)."""
        return any(not self._static(name, d) for name, d in sym.sources)

    def _static(self, name, d):
        if (name, d) not in self._static_dims:
            from onnx import TensorProto, helper, numpy_helper, shape_inference

            small = {k: a for k, a in self.initializers.items() if a.dtype == np.int64 and a.size <= 64}
            typed = [
                helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                for k, a in self.initializers.items()
                if k not in small
            ]
            nodes = [helper.make_node(op, i, o, name=n, **a) for op, i, o, n, a in self.nodes]
            graph = helper.make_graph(
                nodes,
                "g",
                self.input_infos + typed,
                [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None)],
                [numpy_helper.from_array(a, k) for k, a in small.items()],
            )
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
            inferred = shape_inference.infer_shapes(model).graph
            infos = {v.name: v for v in list(inferred.output) + list(inferred.value_info) + list(inferred.input)}
            dims = infos[name].type.tensor_type.shape.dim if name in infos else []
            self._static_dims[(name, d)] = d < len(dims) and dims[d].HasField("dim_value")
        return self._static_dims[(name, d)]


_NP = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "int64": np.int64,
    "int32": np.int32,
    "int16": np.int16,
    "int8": np.int8,
    "uint8": np.uint8,
    "bool": np.bool_,
}


def np_dtype(dtype):
    key = str(dtype).split(".")[-1]
    if key not in _NP:
        raise unsupported(f"tensors of dtype {dtype} cannot be exported")
    return _NP[key]


def onnx_type(dtype):
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(np_dtype(dtype)))


def _numpy(t):
    np_dtype(t.dtype)
    return t.detach().numpy().copy()
