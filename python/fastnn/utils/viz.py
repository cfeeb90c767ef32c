"""fastnn.utils.viz: a picture of the autograd graph (torchviz's ``make_dot``), drawn with the graphviz package.

dot = make_dot(loss, params=dict(model.named_parameters()))
dot.render("graph", format="svg")        # rendering needs Graphviz's `dot` program
"""

from fastnn._C import Tensor

_NODE_STYLE = dict(
    style="filled", shape="box", align="left", fontsize="10", ranksep="0.1", height="0.2", fontname="monospace"
)


def _shape(t):
    return "(" + ", ".join(str(n) for n in t.shape) + ")"


def make_dot(var, params=None):
    """A ``graphviz.Digraph`` of the graph behind ``var`` (a tensor or a tuple/list of tensors), walked as the
    tutorial walks ``grad_fn.next_functions``: one box per node with torch's name (``AddmmBackward0``, ...), the
    leaves' ``AccumulateGrad`` boxes (blue) labelled with the parameter's name in ``params`` (a dict name ->
    tensor, e.g. ``dict(model.named_parameters())``) and its shape, an edge from each input node to the node that
    uses it, and the outputs (green) with their shapes."""
    outputs = tuple(var) if isinstance(var, (tuple, list)) else (var,)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise TypeError(f"[make_dot] var must be a tensor or a non-empty tuple of tensors, got {type(var).__name__}")
    if params is None:
        params = {}
    if not isinstance(params, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in params.items()):
        raise TypeError(
            "[make_dot] params must be a dict of name -> tensor, such as dict(model.named_parameters()), "
            f"got {type(params).__name__}"
        )
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "[make_dot] needs the graphviz package (pip install graphviz; rendering also needs Graphviz's dot program)"
        ) from None

    names = {id(v): k for k, v in params.items()}
    dot = graphviz.Digraph(node_attr=_NODE_STYLE, graph_attr=dict(size="12,12"))
    seen = {}  # id -> node; holding the nodes keeps their ids unique while we walk

    def label(t, default):
        return f"{names.get(id(t), default)}\n{_shape(t)}"

    def add(fn):
        stack = [fn]
        while stack:
            fn = stack.pop()
            if id(fn) in seen:
                continue
            seen[id(fn)] = fn
            variable = getattr(fn, "variable", None)
            if variable is not None:
                dot.node(str(id(fn)), label(variable, ""), fillcolor="lightblue")
            else:
                dot.node(str(id(fn)), fn.name())
            for child, _ in fn.next_functions:
                if child is not None:
                    dot.edge(str(id(child)), str(id(fn)))
                    stack.append(child)

    for t in outputs:
        if id(t) in seen:
            continue
        seen[id(t)] = t
        dot.node(str(id(t)), label(t, "output"), fillcolor="darkolivegreen1")
        if t.grad_fn is not None:
            add(t.grad_fn)
            dot.edge(str(id(t.grad_fn)), str(id(t)))
    return dot
