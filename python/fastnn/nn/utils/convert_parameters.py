"""Parameters to one flat vector and back, as torch.nn.utils.convert_parameters."""

from fastnn._C import Tensor, cat
from fastnn._errors import named_function


def _check_device(param, device):
    if not isinstance(param, Tensor):
        raise TypeError(f"expected an iterable of Tensors, but one of them is {type(param).__name__}")
    if device is not None and param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return param.device


@named_function
def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    device, flat = None, []
    for p in parameters:
        device = _check_device(p, device)
        flat.append(p.view(-1))
    return cat(flat)


@named_function
def vector_to_parameters(vec, parameters):
    """Makes each parameter's data the next slice of `vec` (a view of it, as in torch)."""
    if not isinstance(vec, Tensor):
        kind = type(vec)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"expected torch.Tensor, but got: {name}")
    device, pointer = None, 0
    for p in parameters:
        device = _check_device(p, device)
        n = p.numel()
        p.data = vec[pointer : pointer + n].view_as(p).data
        pointer += n
