"""fastnn.onnx: export a model to an ONNX file, as torch.onnx.export (the tracing exporter, dynamo=False) does.

    fastnn.onnx.export(model, (x,), "model.onnx", input_names=["input"], output_names=["logits"],
                       dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})

The model runs once on the example inputs while the exporter records each op it calls on tensors computed
from them (layers, nn.functional, fastnn functions, Tensor methods and operators); see docs/onnx.md for
what converts and the limits. Needs the `onnx` package (pip install fastnn[onnx])."""

import enum
import inspect
import os

from fastnn import _capture_hooks
from fastnn._C import Tensor
from fastnn.onnx._graph import Graph, np_dtype, onnx_type, unsupported

__all__ = ["TrainingMode", "export", "export_trained"]

DEFAULT_OPSET = 17
MIN_OPSET, MAX_OPSET = 13, 21


class TrainingMode(enum.IntEnum):
    """torch.onnx.TrainingMode: EVAL exports in eval mode (the default), PRESERVE in the model's current mode."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


# torch.onnx.export's other arguments: refused when given anything but torch's default
_TORCH_DEFAULTS = {
    "external_data": True,
    "dynamic_shapes": None,
    "custom_translation_table": None,
    "report": False,
    "optimize": True,
    "verify": False,
    "profile": False,
    "dump_exported_program": False,
    "artifacts_dir": ".",
    "fallback": False,
    "operator_export_type": None,
    "custom_opsets": None,
    "export_modules_as_functions": False,
    "autograd_inlining": True,
}


def export(
    model,
    args=(),
    f=None,
    *,
    kwargs=None,
    verbose=None,
    input_names=None,
    output_names=None,
    opset_version=None,
    dynamo=False,
    dynamic_axes=None,
    export_params=True,
    keep_initializers_as_inputs=False,
    training=TrainingMode.EVAL,
    do_constant_folding=True,
    **options,
):
    """Writes `model` run on `args` to `f` (a path or a binary file object) as an ONNX model checked by
    onnx.checker. dynamic_axes: {name: {axis: "dim_name"}} or {name: [axis, ...]} for inputs and outputs.
    training=EVAL (the default) exports the model in eval mode (dropout off, batch norm's running statistics)
    and puts it back in its mode afterwards. do_constant_folding is accepted for torch's code: fastnn's graphs
    have nothing foldable but shape arithmetic, which it leaves in place either way."""
    from fastnn.nn.modules.module import Module

    op = "onnx.export"
    for key, value in options.items():
        if key not in _TORCH_DEFAULTS:
            raise TypeError(f"[{op}] got an unexpected keyword argument '{key}'")
        if value is not _TORCH_DEFAULTS[key] and value != _TORCH_DEFAULTS[key]:
            raise NotImplementedError(f"[{op}] {key}={value!r} is not supported by fastnn's exporter")
    if not isinstance(model, Module):
        raise TypeError(f"[{op}] model must be a fastnn.nn.Module, got {type(model).__name__}")
    args = (args,) if isinstance(args, Tensor) else args
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"[{op}] args must be a Tensor or a tuple of inputs, got {type(args).__name__}")
    args = tuple(args)
    if args and isinstance(args[-1], dict) or kwargs is not None:
        raise NotImplementedError(f"[{op}] keyword inputs (kwargs, or a dict at the end of args) are not supported")
    if f is None:
        raise ValueError(
            f"[{op}] f (a path or a binary file object) is required: fastnn writes the model there and "
            "returns None (it has no ONNXProgram)"
        )
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "write"):
        raise TypeError(f"[{op}] f must be a path or a binary file object, got {type(f).__name__}")
    for flag, value in (
        ("verbose", verbose),
        ("dynamo", dynamo),
        ("export_params", export_params),
        ("keep_initializers_as_inputs", keep_initializers_as_inputs),
        ("do_constant_folding", do_constant_folding),
    ):
        if not isinstance(value, bool) and not (flag == "verbose" and value is None):
            raise TypeError(f"[{op}] {flag} must be a bool, got {type(value).__name__}")
    if dynamo:
        raise NotImplementedError(
            f"[{op}] dynamo=True is not supported: fastnn exports by tracing, as torch's dynamo=False exporter"
        )
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise TypeError(f"[{op}] opset_version must be an int, got {type(opset_version).__name__}")
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(
            f"[{op}] opset_version {opset} is not supported (fastnn exports opsets {MIN_OPSET} to {MAX_OPSET})"
        )
    if isinstance(training, bool) or training not in (0, 1, 2):
        raise ValueError(f"[{op}] training must be a fastnn.onnx.TrainingMode, got {training!r}")
    training = TrainingMode(training)
    if training == TrainingMode.TRAINING or training == TrainingMode.PRESERVE and model.training:
        raise NotImplementedError(
            f"[{op}] exporting in training mode is not supported: use training=TrainingMode.EVAL "
            "(the default) or call model.eval() first"
        )
    for a in args:
        if not isinstance(a, (Tensor, bool, int, float, type(None))):
            raise TypeError(
                f"[{op}] inputs must be Tensors (or Python numbers, baked into the graph), got {type(a).__name__}"
            )
        if isinstance(a, Tensor):
            np_dtype(a.dtype)
    tensors = [a for a in args if isinstance(a, Tensor)]
    input_names = _names(input_names, "input_names", len(tensors), _default_input_names(model, args))
    dynamic_axes = _dynamic_axes(dynamic_axes, op)

    import onnx  # fails here, after the arguments were checked, when the package is missing

    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        proto = _build(
            model, args, input_names, output_names, opset, dynamic_axes, export_params, keep_initializers_as_inputs
        )
    finally:
        _capture_hooks.bump()
        for m, mode in modes:  # each layer's own mode back (a frozen batch norm stays in eval)
            object.__setattr__(m, "training", mode)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    onnx.save_model(proto, os.fspath(f) if isinstance(f, (str, os.PathLike)) else f)


def export_trained(model, example, path):
    """fastnn-train --export-onnx: `model` (a classifier of images like `example`, one sample) to `path` with a
    dynamic batch axis, input "input", output "logits"."""
    if not isinstance(example, Tensor):
        raise TypeError(
            f"[onnx.export_trained] example must be a Tensor (one input sample), got {type(example).__name__}"
        )
    export(
        model,
        (example.unsqueeze(0),),
        path,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    print(f"exported ONNX model {path}")


def _names(names, what, count, defaults):
    if names is None:
        return list(defaults)
    if (
        isinstance(names, str)
        or not isinstance(names, (list, tuple))
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise TypeError(f"[onnx.export] {what} must be a list of non-empty strings, got {names!r}")
    if count is not None and len(names) > count:
        raise ValueError(f"[onnx.export] {len(names)} {what} given for {count} tensors")
    if len(set(names)) != len(names):
        raise ValueError(f"[onnx.export] {what} has duplicates: {list(names)}")
    return list(names) + list(defaults)[len(names) :]


def _default_input_names(model, args):
    try:
        params = [
            p.name
            for p in inspect.signature(model.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    names = [params[i] if i < len(params) else f"input_{i}" for i, a in enumerate(args) if isinstance(a, Tensor)]
    return names if len(set(names)) == len(names) else [f"input_{i}" for i in range(len(names))]


def _dynamic_axes(dynamic_axes, op):
    if dynamic_axes is None:
        return {}
    if not isinstance(dynamic_axes, dict):
        raise TypeError(
            f"[{op}] dynamic_axes must be a dict {{name: {{axis: 'dim_name'}}}} or {{name: [axis, ...]}},"
            f" got {type(dynamic_axes).__name__}"
        )
    out = {}
    for name, axes in dynamic_axes.items():
        if not isinstance(name, str):
            raise TypeError(f"[{op}] dynamic_axes keys must be input or output names, got {name!r}")
        if isinstance(axes, (list, tuple)):  # torch's names for a list of axes
            axes = {a: f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
        if not isinstance(axes, dict) or not all(
            isinstance(a, int) and not isinstance(a, bool) and isinstance(d, str) and d for a, d in axes.items()
        ):
            raise TypeError(
                f"[{op}] dynamic_axes[{name!r}] must map axes (ints) to dimension names (strings), or "
                f"be a list of axes; got {axes!r}"
            )
        out[name] = axes
    return out


def _axes_for(name, rank, dynamic_axes):
    axes = {}
    for a, dim in dynamic_axes.get(name, {}).items():
        if not -rank <= a < rank:
            raise IndexError(f"[onnx.export] dynamic axis {a} of '{name}' is out of range for its {rank} dimensions")
        axes[a % rank] = dim
    return axes


def _value_info(name, dtype, shape):
    from onnx import helper

    return helper.make_tensor_value_info(name, onnx_type(dtype), shape)


def _flat_outputs(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat_outputs(o)]
    raise unsupported(f"the model returned a {type(out).__name__}: outputs must be Tensors or tuples/lists of them")


def _build(model, args, input_names, output_names, opset, dynamic_axes, export_params, keep_initializers_as_inputs):
    import onnx
    from onnx import helper, numpy_helper

    import fastnn
    from fastnn.onnx._trace import tracing

    state = dict(model.state_dict(keep_vars=True))
    params = {}
    for name, t in state.items():  # a tied weight is stored once, under its first name
        params.setdefault(id(t), (t, name))
    g = Graph(opset, params)
    graph_inputs, traced_args = [], []
    names = iter(input_names)
    for a in args:
        if isinstance(a, Tensor):
            leaf = a.detach().clone()
            if leaf.is_floating_point():
                leaf.requires_grad_(True)  # what is computed from it carries a grad_fn: untraced ops are caught
            x = leaf.clone()
            name = next(names)
            g.bind(x, name)
            axes = _axes_for(name, x.dim(), dynamic_axes)
            graph_inputs.append(_value_info(name, x.dtype, [axes.get(d, n) for d, n in enumerate(x.shape)]))
            g.input_infos.append(graph_inputs[-1])
            traced_args.append(x)
        else:
            traced_args.append(a)
    trainable = [p for p in model.parameters() if p.requires_grad]
    module_names = {id(m): name for name, m in model.named_modules()}
    try:
        for p in trainable:
            p.requires_grad_(False)
        with fastnn.enable_grad(), tracing(g, module_names, {type(m).__module__ for m in model.modules()}):
            out = model(*traced_args)
    finally:
        for p in trainable:
            p.requires_grad_(True)
    outs = _flat_outputs(out)
    output_names = _names(
        output_names,
        "output_names",
        len(outs),
        ["output"] if len(outs) == 1 else [f"output_{i}" for i in range(len(outs))],
    )
    clash = (set(input_names) & set(output_names)) | ((set(input_names) | set(output_names)) & set(state))
    if clash:
        raise ValueError(
            f"[onnx.export] names {sorted(clash)} are used twice (inputs, outputs and parameters need different names)"
        )
    unknown = set(dynamic_axes) - set(input_names) - set(output_names)
    if unknown:
        raise ValueError(
            f"[onnx.export] dynamic_axes names {sorted(unknown)} are neither inputs {input_names} nor "
            f"outputs {output_names}"
        )
    taken = set(input_names) | set(g.initializers)
    renames = {}
    for t, name in zip(outs, output_names):
        inner = g.value(t)
        if inner in taken or inner in renames or inner in output_names:
            g.nodes.append(("Identity", [inner], [name], f"/{name}/Identity", {}))
        else:
            renames[inner] = name
        taken.add(name)
    nodes = [
        helper.make_node(op, [renames.get(i, i) for i in ins], [renames.get(o, o) for o in outs_], name=n, **attrs)
        for op, ins, outs_, n, attrs in g.nodes
    ]
    initializers = [numpy_helper.from_array(arr, name) for name, arr in g.initializers.items()]
    param_names = set(state)
    if not export_params:  # parameters and buffers become inputs; the other constants stay
        graph_inputs += [
            _value_info(i.name, state[i.name].dtype, list(i.dims)) for i in initializers if i.name in param_names
        ]
        initializers = [i for i in initializers if i.name not in param_names]
    elif keep_initializers_as_inputs:
        graph_inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in initializers]
    typed = [helper.make_tensor_value_info(name, onnx_type(t.dtype), None) for t, name in zip(outs, output_names)]
    graph = helper.make_graph(nodes, type(model).__name__, graph_inputs, typed, initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="fastnn",
        producer_version=fastnn.__version__,
        ir_version=helper.find_min_ir_version_for(opsets),
    )
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(proto).graph.output}
    del proto.graph.output[:]
    for t, name in zip(outs, output_names):
        axes = _axes_for(name, t.dim(), dynamic_axes)
        dims = [axes.get(d, n) for d, n in enumerate(t.shape)]
        shape = inferred[name].type.tensor_type.shape if name in inferred else None
        if shape is not None and len(shape.dim) == t.dim():  # symbolic where inference found them symbolic
            dims = [
                axes.get(d) or (dims[d] if dim.HasField("dim_value") else _symbol(dim.dim_param))
                for d, dim in enumerate(shape.dim)
            ]
        proto.graph.output.append(_value_info(name, t.dtype, dims))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _symbol(name):
    """A dimension name found by shape inference (from dynamic_axes), or None for the ones it made up."""
    return None if not name or name.startswith("unk__") else name
