"""nn.Module: parameter, buffer and submodule registration by attribute, as in torch."""

from __future__ import annotations

import typing
from collections import OrderedDict, namedtuple

from fastnn import _capture_hooks
from fastnn._capture_hooks import VersionedDict
from fastnn._C import Tensor
from fastnn._errors import _argument_error, name_errors
from fastnn.autograd.grad_mode import no_grad
from fastnn.nn.modules import _hooks
from fastnn.nn.parameter import Parameter
from fastnn.utils.hooks import RemovableHandle

if typing.TYPE_CHECKING:
    from typing_extensions import ParamSpec, Self

    _P = ParamSpec("_P")
    _R_co = typing.TypeVar("_R_co", covariant=True)

    class _HasForward(typing.Protocol[_P, _R_co]):
        def forward(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of every layer and model; subclasses define ``forward``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name_errors(cls, ("__init__",))

    training: bool

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments")
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", VersionedDict())
        object.__setattr__(self, "_buffers", VersionedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", VersionedDict())
        object.__setattr__(self, "_forward_hooks", VersionedDict())  # key: (hook, with_kwargs, always_call)
        object.__setattr__(self, "_forward_pre_hooks", VersionedDict())  # key: (hook, with_kwargs)
        object.__setattr__(self, "_backward_hooks", VersionedDict())
        object.__setattr__(self, "_backward_pre_hooks", VersionedDict())
        object.__setattr__(self, "_is_full_backward_hook", None)  # None until a backward hook is registered

    def forward(self, *args, **kwargs) -> typing.Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def _call_impl(self, *args, **kwargs):
        if _capture_hooks.watch is not None:
            _capture_hooks.watch(self)
        try:
            if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks):
                return self.forward(*args, **kwargs)
            return _hooks.call_with_hooks(self, args, kwargs)
        except AttributeError as e:  # fastnn's layers given a non-tensor: a TypeError naming the layer
            err = _argument_error(e, args, kwargs, type(self).__name__)
            if err is None or not type(self).__module__.startswith("fastnn."):
                raise
            raise err from e

    if typing.TYPE_CHECKING:  # model(x) has the type forward(x) returns

        def __call__(self: _HasForward[_P, _R_co], *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...
    else:
        __call__ = _call_impl

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False) -> RemovableHandle:
        return _add_hook(self._forward_hooks, (hook, with_kwargs, always_call), prepend, "register_forward_hook")

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False) -> RemovableHandle:
        return _add_hook(self._forward_pre_hooks, (hook, with_kwargs), prepend, "register_forward_pre_hook")

    def register_full_backward_hook(self, hook, prepend=False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) once the gradients w.r.t. the module's inputs are computed."""
        self._backward_hook_kind(True, hook, "register_full_backward_hook")
        return _add_hook(self._backward_hooks, hook, prepend, "register_full_backward_hook")

    def register_full_backward_pre_hook(self, hook, prepend=False) -> RemovableHandle:
        """hook(module, grad_output) before the gradients w.r.t. the module's inputs are computed."""
        return _add_hook(self._backward_pre_hooks, hook, prepend, "register_full_backward_pre_hook")

    def register_backward_hook(self, hook) -> RemovableHandle:
        """Legacy: hook(module, grad_input, grad_output) on the last autograd node of the output, as torch."""
        self._backward_hook_kind(False, hook, "register_backward_hook")
        return _add_hook(self._backward_hooks, hook, False, "register_backward_hook")

    def _backward_hook_kind(self, full, hook, op):
        if not callable(hook):
            raise TypeError(f"[{op}] hook must be callable, got {type(hook).__name__}")
        if self._is_full_backward_hook is not None and self._is_full_backward_hook != full:
            raise RuntimeError(
                f"[{op}] Cannot use both regular backward hooks and full backward hooks on a single "
                "Module. Please use only one of them."
            )
        object.__setattr__(self, "_is_full_backward_hook", full)

    # ---- registration ----
    def __setattr__(self, name: str, value) -> None:
        _capture_hooks.bump()  # a compiled replay's fast path stands on no module changing (fastnn/_compile.py)
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError("cannot assign attributes before Module.__init__() call")
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            _remove_from(name, d, buffers, modules)
            self.register_parameter(name, value)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(fastnn.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            _remove_from(name, d, params, buffers)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(fastnn.nn.Module or None expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> typing.Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        _capture_hooks.bump()
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name: str, param) -> None:
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(fastnn.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent=True) -> None:
        _check_name(self, name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(self, name, "module")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target) -> Module:
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no attribute `{part}`")
            mod = mod._modules[part]
        return mod

    # ---- traversal ----
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate=True) -> typing.Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if remove_duplicate and id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> typing.Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> typing.Iterator[tuple[str, Module]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> typing.Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate=True
    ) -> typing.Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> typing.Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate=True
    ) -> typing.Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> typing.Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients ----
    def train(self, mode: bool = True) -> Self:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        _capture_hooks.bump()
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Self:
        return self.train(False)

    def requires_grad_(self, requires_grad=True) -> Self:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach().zero_()

    def apply(self, fn) -> Self:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, fn):
        with no_grad():
            for m in self.modules():
                for p in m._parameters.values():
                    if p is not None:
                        p.data = fn(p.detach())
                        if p.grad is not None:
                            p.grad = fn(p.grad)
                for name, b in m._buffers.items():
                    if b is not None:
                        m._buffers[name] = fn(b)
        return self

    def to(self, *args, **kwargs) -> Self:
        """to(device), to(dtype), to(device, dtype), to(tensor): parameters and buffers move to the device (in
        place: the Parameter objects stay, as torch), and the floating-point ones take the dtype."""
        from fastnn._tensor import _parse_to

        if "copy" in kwargs or len(args) > 3:
            raise TypeError("[to] nn.Module.to takes no copy argument")
        index, dtype, _ = _parse_to("to", args, kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(
                f"[to] nn.Module.to only accepts floating point or complex dtypes, but got desired dtype={dtype}"
            )
        return self._move(index, dtype)

    def _move(self, index, dtype=None):
        """Parameters and buffers to device `index` (-1: the CPU; None: where they are), the floating-point ones
        to `dtype` (None: theirs)."""

        def convert(t):
            if index is not None and index != t._device_index:
                t = t._to_device(index)
            return t._to_dtype(dtype) if dtype is not None and t.is_floating_point() else t

        return self if index is None and dtype is None else self._apply_to_tensors(convert)

    def float(self) -> Self:
        return self.to(_dtype("float32"))

    def double(self) -> Self:
        return self.to(_dtype("float64"))

    def half(self) -> Self:
        return self.to(_dtype("float16"))

    def bfloat16(self):
        return self.to(_dtype("bfloat16"))

    def cpu(self) -> Self:
        return self._move(-1)

    def cuda(self, device=None) -> Self:
        """Parameters and buffers to the GPU `device` (an index, 'cuda:1' or a fastnn.device; None: GPU 0)."""
        from fastnn._factories import _cuda_index

        return self._move(_cuda_index(device, "cuda"))

    # ---- state ----
    def state_dict(self, destination=None, prefix: str = "", keep_vars=False) -> dict[str, typing.Any]:
        out = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=out, prefix=prefix + name + ".", keep_vars=keep_vars)
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign=False) -> _IncompatibleKeys:
        """Copies tensors in by name; reports missing/unexpected keys and shape mismatches as torch does."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        with no_grad():
            for key, target in own.items():
                if key not in state_dict:
                    continue
                src = state_dict[key]
                if not isinstance(src, Tensor):
                    errors.append(
                        f'While copying the parameter named "{key}", expected a Tensor from the checkpoint '
                        f"but received {type(src).__name__}"
                    )
                elif tuple(src.shape) != tuple(target.shape):
                    errors.append(
                        f"size mismatch for {key}: copying a param with shape {src.shape} from checkpoint, "
                        f"the shape in current model is {target.shape}."
                    )
                else:
                    target.copy_(src)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing ----
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()]
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif extra_lines or child_lines:
            body = "\n  " + "\n  ".join(extra_lines + child_lines) + "\n"
        return self._get_name() + "(" + body + ")"


def _add_hook(hooks, entry, prepend, op):
    hook = entry[0] if isinstance(entry, tuple) else entry
    if not callable(hook):
        raise TypeError(f"[{op}] hook must be callable, got {type(hook).__name__}")
    key = max(hooks, default=-1) + 1
    hooks[key] = entry
    if prepend:
        hooks.move_to_end(key, last=False)
    return RemovableHandle(lambda: hooks.pop(key, None))


def _remove_from(name, attrs, *stores):
    attrs.pop(name, None)
    for s in stores:
        s.pop(name, None)


def _check_name(module, name, kind):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        # torch's wording: only add_module names the offending string
        raise KeyError(
            f'{kind} name can\'t contain ".", got: {name}' if kind == "module" else f'{kind} name can\'t contain "."'
        )
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    # as torch: any existing attribute (plain, or registered as another kind) blocks the name
    store = {"parameter": module._parameters, "buffer": module._buffers, "module": module._modules}[kind]
    if hasattr(module, name) and name not in store:
        raise KeyError(f"attribute '{name}' already exists")


def _dtype(name):
    import fastnn

    return getattr(fastnn, name)


name_errors(Module, ("__init__",))
