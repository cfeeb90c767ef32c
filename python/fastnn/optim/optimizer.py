"""optim.Optimizer: parameter groups, state and their (de)serialisation, as in torch."""

from __future__ import annotations

import copy
import typing
import warnings
from collections import defaultdict

from fastnn import _capture_hooks
from fastnn._C import Tensor
from fastnn._errors import name_errors
from fastnn.autograd.grad_mode import enable_grad, no_grad


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

# torch's implementation switches; fastnn has one implementation (a fused C++ call per group) and refuses the rest
_UNSUPPORTED = ("foreach", "fused", "capturable", "differentiable")


def _refuse_unsupported(group):
    for key in _UNSUPPORTED:
        if group.get(key):
            raise NotImplementedError(
                f"{key}={group[key]!r} is not supported: fastnn updates each parameter group "
                f"with one C++ call; leave {key} at its default (None or False)"
            )


class Optimizer:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name_errors(cls)

    def __init__(self, params: typing.Any, defaults) -> None:
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got a Tensor"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group) -> None:
        """Appends `param_group` (the caller's dict, as in torch) with the defaults filled in."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        # (name, tensor) pairs, as named_parameters() gives them: the names go under 'param_names'
        names = [p[0] for p in param_group["params"] if isinstance(p, tuple)]
        param_group["params"] = [p[1] if isinstance(p, tuple) else p for p in param_group["params"]]
        if names:
            if len(names) != len(param_group["params"]):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {key}")
            param_group.setdefault(key, default)
        _refuse_unsupported(param_group)
        ids = [id(p) for p in param_group["params"]]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                "an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        for g in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in g):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param group "
                    f"{which} to the optimizer"
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:  # as torch: the grad leaves any graph it was part of, then is zeroed in place
                        if p.grad.grad_fn is not None:
                            p.grad.detach_()
                        else:
                            p.grad.requires_grad_(False)
                        p.grad.zero_()

    @no_grad()
    def step(self, closure: typing.Callable[[], typing.Any] | None = None) -> typing.Any:
        """Re-evaluates the model with `closure` (grad enabled) if given, then updates every group."""
        loss = None
        if _capture_hooks.watch is not None:
            _capture_hooks.watch(self)
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group, [p for p in group["params"] if p.grad is not None])
        return loss

    def _update_group(self, group, params):
        """Applies the update rule to `params` (those of `group` that have a gradient)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, typing.Any]:
        """{'state': {index: {...}}, 'param_groups': [{options..., 'params': [indices]}]} as torch lays it out."""
        index, groups = {}, []
        for g in self.param_groups:
            for p in g["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in g["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, typing.Any]) -> None:
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"load_state_dict expects a dict (an optimizer's state_dict()), got {type(state_dict).__name__}"
            )
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, theirs in zip(self.param_groups, groups):
            _refuse_unsupported(theirs)
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
                )
        by_index = {}
        for mine, theirs in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], theirs["params"]):
                by_index[i] = p
        self.state = defaultdict(dict)
        for i, s in state_dict["state"].items():
            if i in by_index:
                p = by_index[i]
                # as torch: state follows the parameter's device, floating state its dtype too, except 'step'
                # (kept as saved)
                self.state[p] = {
                    k: (
                        v.detach().clone().to(p)
                        if isinstance(v, Tensor) and v.is_floating_point() and k != "step"
                        else v.detach().clone()
                        if isinstance(v, Tensor) and k == "step"
                        else v.detach().to(p.device).clone()
                        if isinstance(v, Tensor)
                        else copy.deepcopy(v)
                    )
                    for k, v in s.items()
                }
        for mine, theirs in zip(self.param_groups, groups):
            mine.update({k: v for k, v in theirs.items() if k != "params"})

    def __repr__(self):
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


name_errors(Optimizer)
