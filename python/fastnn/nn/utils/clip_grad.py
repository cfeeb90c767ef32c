"""Gradient clipping as torch.nn.utils.clip_grad: norms are C++ reductions, a Python loop runs over tensors only."""

from __future__ import annotations

import math
import types
import warnings

from fastnn import _C
from fastnn._C import Tensor
from fastnn._errors import named_function
from fastnn._factories import tensor as _tensor
from fastnn.autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_"]


def _tensor_list(tensors, what="parameters"):
    if isinstance(tensors, Tensor):
        return [tensors]
    if isinstance(tensors, (str, bytes)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{what} must be a Tensor or an iterable of Tensors, got {type(tensors).__name__}")
    tensors = list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{what} must be a Tensor or an iterable of Tensors, but one of them is {type(t).__name__}")
    return tensors


def _refuse_foreach(foreach):
    if foreach:
        raise NotImplementedError(
            f"foreach={foreach!r} is not supported: fastnn has one implementation (C++ ops "
            "over the gradients); leave foreach at its default (None or False)"
        )


def _grads(parameters):
    return [p.grad for p in parameters if p.grad is not None]


def _total_norm(tensors, norm_type, error_if_nonfinite, foreach, op):
    _refuse_foreach(foreach)
    norm_type = float(norm_type)
    if not tensors:
        return _tensor(0.0)
    total = _C._total_norm(tensors, norm_type, op)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )
    return total


@named_function
@no_grad()
def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite=False, foreach=None) -> Tensor:
    """The norm of the norms of `tensors` (themselves, not their .grad): a 0-d tensor; 0.0 for no tensors."""
    return _total_norm(_tensor_list(tensors, "tensors"), norm_type, error_if_nonfinite, foreach, "get_total_norm")


def _scale(grads, max_norm, total_norm):
    # max_norm / (total_norm + 1e-6) in the norm's dtype, as torch's scalar / tensor
    coef = (_tensor(max_norm, dtype=total_norm.dtype) / (total_norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef)


@named_function
@no_grad()
def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scales the parameters' gradients by min(1, max_norm / (total_norm + 1e-6)) in place."""
    _refuse_foreach(foreach)
    grads = _grads(_tensor_list(parameters))
    max_norm = float(max_norm)
    if not isinstance(total_norm, Tensor):
        raise TypeError(f"total_norm must be a Tensor, got {type(total_norm).__name__}")
    if grads:
        _scale(grads, max_norm, total_norm)


@named_function
@no_grad()
def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite=False, foreach=None
) -> Tensor:
    """Scales the gradients so that their total norm is at most `max_norm`; returns the total norm before."""
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _tensor_list(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    max_norm = float(max_norm)
    grads = _grads(parameters)
    total = _total_norm(grads, norm_type, error_if_nonfinite, foreach, "clip_grad_norm_")
    if grads:
        _scale(grads, max_norm, total)
    return total


def clip_grad_norm(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite=False, foreach=None
) -> Tensor:
    """Deprecated alias of clip_grad_norm_."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@named_function
@no_grad()
def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamps every gradient to [-clip_value, clip_value] in place."""
    _refuse_foreach(foreach)
    parameters = _tensor_list(parameters)
    clip_value = float(clip_value)
    for g in _grads(parameters):
        g.clamp_(min=-clip_value, max=clip_value)


_get_total_norm = get_total_norm  # torch's names in this module
_clip_grads_with_norm_ = clip_grads_with_norm_
