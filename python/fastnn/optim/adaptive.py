"""Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam and RAdam: Python keeps the state, C++ runs the update
(one call per group)."""

from __future__ import annotations

import typing

from fastnn import _C, _dtype, _factories
from fastnn._C import Tensor
from fastnn.optim.optimizer import Optimizer


_MESSAGES = {
    "lr": "Invalid learning rate: {}",
    "eps": "Invalid epsilon value: {}",
    "weight_decay": "Invalid weight_decay value: {}",
    "momentum": "Invalid momentum value: {}",
    "alpha": "Invalid alpha value: {}",
    "lr_decay": "Invalid lr_decay value: {}",
    "initial_accumulator_value": "Invalid initial_accumulator_value value: {}",
    "momentum_decay": "Invalid momentum_decay value: {}",
}


def _check(*checks):
    """Raises torch's ValueError for the first of (name, value) pairs that is negative (torch's order matters)."""
    for name, value in checks:
        if name == "betas":
            for i, b in enumerate(value):
                if not 0.0 <= b < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        elif name == "rho":
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Invalid rho value: {value}")
        elif not 0.0 <= value:
            raise ValueError(_MESSAGES[name].format(value))


class _Adaptive(Optimizer):
    """Shared step loop: create missing state, gather it per group, call the C++ rule, store step counts."""

    _state_names = ()  # state tensors in the order the C++ rule takes them
    _init_order = None  # the order torch creates them in (its state_dict's key order), when different
    _scalar_state = {}  # state created as a 0-d tensor holding this value instead of zeros like the parameter

    def _needs(self, group, name):
        return True

    def _init_state(self, p, group):
        state = self.state[p]
        if not state:
            state["step"] = _factories.tensor(0.0)
            for name in self._init_order or self._state_names:
                if name in self._scalar_state:
                    state[name] = _factories.tensor(self._scalar_state[name])
                elif self._needs(group, name):
                    # float32 state for float16/bfloat16 parameters (the C++ step computes in float32)
                    state[name] = _factories.zeros_like(p, dtype=_C._compute_dtype(p.dtype))

    def _run(self, group, params, state_lists, steps):
        raise NotImplementedError

    def _update_group(self, group, params):
        for p in params:
            self._init_state(p, group)
        lists = [[self.state[p][n] for p in params] if self._needs(group, n) else [] for n in self._state_names]
        # the C++ rule increments the 0-d step tensors in place (so a step captured by fastnn.compile counts)
        self._run(group, params, lists, [self._step_tensor(p) for p in params])

    def _step_tensor(self, p):
        step = self.state[p]["step"]
        if not isinstance(step, Tensor) or step.dtype not in (_dtype.float32, _dtype.float64) or step.numel() != 1:
            step = self.state[p]["step"] = _factories.tensor(float(step))
        return step


class Adam(_Adaptive):
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(
        self,
        params: typing.Any,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=False,
    ) -> None:
        _check(("lr", lr), ("eps", eps), ("betas", betas), ("weight_decay", weight_decay))
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _needs(self, group, name):
        return name != "max_exp_avg_sq" or group["amsgrad"]

    def _run(self, group, params, lists, steps):
        beta1, beta2 = group["betas"]
        return _C._adam_step(
            params,
            lists[0],
            lists[1],
            lists[2],
            steps,
            float(group["lr"]),
            float(beta1),
            float(beta2),
            float(group["eps"]),
            float(group["weight_decay"]),
            bool(group["amsgrad"]),
            bool(group["maximize"]),
            bool(group["decoupled_weight_decay"]),
        )


class AdamW(Adam):
    def __init__(
        self,
        params: typing.Any,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
        foreach=None,
        capturable=False,
        differentiable=False,
        fused=None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )


class RMSprop(_Adaptive):
    _state_names = ("square_avg", "grad_avg", "momentum_buffer")
    _init_order = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(
        self,
        params: typing.Any,
        lr: float = 1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ) -> None:
        _check(("lr", lr), ("eps", eps), ("momentum", momentum), ("weight_decay", weight_decay), ("alpha", alpha))
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _needs(self, group, name):
        return {"grad_avg": group["centered"], "momentum_buffer": group["momentum"] > 0}.get(name, True)

    def _run(self, group, params, lists, steps):
        return _C._rmsprop_step(
            params,
            lists[0],
            lists[1],
            lists[2],
            steps,
            float(group["lr"]),
            float(group["alpha"]),
            float(group["eps"]),
            float(group["weight_decay"]),
            float(group["momentum"]),
            bool(group["centered"]),
            bool(group["maximize"]),
        )


class Adagrad(_Adaptive):
    _state_names = ("sum",)

    def __init__(
        self,
        params: typing.Any,
        lr: float = 1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        fused=None,
    ) -> None:
        _check(
            ("lr", lr),
            ("lr_decay", lr_decay),
            ("weight_decay", weight_decay),
            ("initial_accumulator_value", initial_accumulator_value),
            ("eps", eps),
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        # torch creates Adagrad's state up front, from the constructor's value (not a group's own)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["step"] = _factories.tensor(0.0)
                self.state[p]["sum"] = _factories.full_like(p, initial_accumulator_value)

    def _init_state(self, p, group):
        # a group added later starts from the constructor's value too
        if not self.state[p]:
            self.state[p]["step"] = _factories.tensor(0.0)
            self.state[p]["sum"] = _factories.full_like(p, self.defaults["initial_accumulator_value"])

    def _run(self, group, params, lists, steps):
        return _C._adagrad_step(
            params,
            lists[0],
            steps,
            float(group["lr"]),
            float(group["lr_decay"]),
            float(group["weight_decay"]),
            float(group["eps"]),
            bool(group["maximize"]),
        )


class Adadelta(_Adaptive):
    _state_names = ("square_avg", "acc_delta")

    def __init__(
        self,
        params: typing.Any,
        lr: float = 1.0,
        rho=0.9,
        eps=1e-6,
        weight_decay=0,
        foreach=None,
        *,
        capturable=False,
        maximize=False,
        differentiable=False,
    ) -> None:
        _check(("lr", lr), ("rho", rho), ("eps", eps), ("weight_decay", weight_decay))
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _run(self, group, params, lists, steps):
        return _C._adadelta_step(
            params,
            lists[0],
            lists[1],
            steps,
            float(group["lr"]),
            float(group["rho"]),
            float(group["eps"]),
            float(group["weight_decay"]),
            bool(group["maximize"]),
        )


class Adamax(_Adaptive):
    _state_names = ("exp_avg", "exp_inf")

    def __init__(
        self,
        params: typing.Any,
        lr: float = 2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        capturable=False,
    ) -> None:
        _check(("lr", lr), ("eps", eps), ("betas", betas), ("weight_decay", weight_decay))
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _run(self, group, params, lists, steps):
        beta1, beta2 = group["betas"]
        return _C._adamax_step(
            params,
            lists[0],
            lists[1],
            steps,
            float(group["lr"]),
            float(beta1),
            float(beta2),
            float(group["eps"]),
            float(group["weight_decay"]),
            bool(group["maximize"]),
        )


class NAdam(_Adaptive):
    _state_names = ("exp_avg", "exp_avg_sq", "mu_product")
    _init_order = ("mu_product", "exp_avg", "exp_avg_sq")
    _scalar_state = {"mu_product": 1.0}

    def __init__(
        self,
        params: typing.Any,
        lr: float = 2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
    ) -> None:
        _check(
            ("lr", lr),
            ("eps", eps),
            ("betas", betas),
            ("weight_decay", weight_decay),
            ("momentum_decay", momentum_decay),
        )
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _run(self, group, params, lists, steps):
        beta1, beta2 = group["betas"]
        return _C._nadam_step(
            params,
            lists[0],
            lists[1],
            lists[2],
            steps,
            float(group["lr"]),
            float(beta1),
            float(beta2),
            float(group["eps"]),
            float(group["weight_decay"]),
            float(group["momentum_decay"]),
            bool(group["decoupled_weight_decay"]),
            bool(group["maximize"]),
        )


class RAdam(_Adaptive):
    _state_names = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: typing.Any,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        decoupled_weight_decay=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
    ) -> None:
        _check(("lr", lr), ("eps", eps), ("betas", betas), ("weight_decay", weight_decay))
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _run(self, group, params, lists, steps):
        beta1, beta2 = group["betas"]
        return _C._radam_step(
            params,
            lists[0],
            lists[1],
            steps,
            float(group["lr"]),
            float(beta1),
            float(beta2),
            float(group["eps"]),
            float(group["weight_decay"]),
            bool(group["decoupled_weight_decay"]),
            bool(group["maximize"]),
        )
