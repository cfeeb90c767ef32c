"""Activation layers."""

from __future__ import annotations

import math
import typing
import warnings

from fastnn import _C, _factories
from fastnn._dtype import bool as _bool
from fastnn.nn import functional as F
from fastnn.nn import init as nn_init
from fastnn.nn.modules.linear import NonDynamicallyQuantizableLinear
from fastnn.nn.modules.module import Module
from fastnn.nn.parameter import Parameter

if typing.TYPE_CHECKING:
    from fastnn._C import Tensor


class ReLU(Module):
    def __init__(self, inplace=False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softmax(Module):
    def __init__(self, dim=None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Softmax):
    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim, _stacklevel=5)


class LogSoftmax(Softmax):
    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    def __init__(self, inplace=False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LogSigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(Module):
    def __init__(self, approximate="none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


# ---- multi-head attention ----


def _canonical_mask(mask, name, dtype, op):
    """A bool mask (True: masked out) as a float mask of `dtype` with -inf there; a float mask as given."""
    if mask is None:
        return None
    if not isinstance(mask, _C.Tensor):
        raise TypeError(f"[{op}] {name} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype == _bool:
        return _factories.zeros(tuple(mask.shape), dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise TypeError(f"[{op}] only bool and floating types of {name} are supported, got {mask.dtype}")
    if mask.dtype != dtype:
        raise TypeError(f"[{op}] expected {name} to be bool or of the input's dtype {dtype}, got {mask.dtype}")
    return mask


def _pad_last(x):
    """x with one zero appended along its last dim (masks of keys that bias_k / add_zero_attn add)."""
    return _C.cat([x, x.new_zeros(tuple(x.shape[:-1]) + (1,))], -1)


class MultiheadAttention(Module):
    """Multi-head attention as torch's: the same parameters (in_proj_weight, or q/k/v_proj_weight when kdim or vdim
    differ from embed_dim; in_proj_bias; out_proj; bias_k/bias_v), masks and results. need_weights=False runs the
    fused F.scaled_dot_product_attention; need_weights=True computes the weights explicitly, as torch does."""

    __constants__ = ["batch_first"]

    def __init__(
        self,
        embed_dim,
        num_heads,
        dropout=0.0,
        bias=True,
        add_bias_kv=False,
        add_zero_attn=False,
        kdim=None,
        vdim=None,
        batch_first=False,
        device=None,
        dtype=None,
    ) -> None:
        op = "MultiheadAttention"
        _factories._check_device(device, op)
        for name, v in (("embed_dim", embed_dim), ("num_heads", num_heads), ("kdim", kdim), ("vdim", vdim)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise TypeError(f"[{op}] {name} must be an int, got {type(v).__name__}")
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"[{op}] embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"[{op}] embed_dim must be divisible by num_heads, got embed_dim={embed_dim} and num_heads={num_heads}"
            )
        if (kdim is not None and kdim <= 0) or (vdim is not None and vdim <= 0):
            raise ValueError(f"[{op}] kdim and vdim must be greater than 0, got kdim={kdim} and vdim={vdim}")
        F._check_dropout_p(dropout, op)
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads

        def param(*shape):
            return Parameter(_factories.empty(*shape, dtype=dtype))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = param(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = param(embed_dim, embed_dim)
            self.k_proj_weight = param(embed_dim, self.kdim)
            self.v_proj_weight = param(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = param(1, 1, embed_dim)
            self.bias_v = param(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            nn_init.xavier_uniform_(self.in_proj_weight)
        else:
            nn_init.xavier_uniform_(self.q_proj_weight)
            nn_init.xavier_uniform_(self.k_proj_weight)
            nn_init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            nn_init.constant_(self.in_proj_bias, 0.0)
            nn_init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            nn_init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            nn_init.xavier_normal_(self.bias_v)

    def _check_inputs(self, query, key, value, key_padding_mask, attn_mask):
        op = "MultiheadAttention"
        for name, x in (("query", query), ("key", key), ("value", value)):
            if not isinstance(x, _C.Tensor):
                raise TypeError(f"[{op}] {name} must be a Tensor, got {type(x).__name__}")
        if query.dim() not in (2, 3):
            raise ValueError(
                f"[{op}] query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query tensor"
            )
        kind = "batched (3-D)" if query.dim() == 3 else "unbatched (2-D)"
        if key.dim() != query.dim() or value.dim() != query.dim():
            raise ValueError(
                f"[{op}] For {kind} `query`, expected `key` and `value` to be {query.dim()}-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.dim() != query.dim() - 1:
            raise ValueError(
                f"[{op}] For {kind} `query`, expected `key_padding_mask` to be `None` or "
                f"{query.dim() - 1}-D but found {key_padding_mask.dim()}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise ValueError(
                f"[{op}] For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.dim()}-D tensor instead"
            )
        dims = (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim))
        for name, x, d in dims:
            if x.shape[-1] != d:
                raise ValueError(
                    f"[{op}] was expecting embedding dimension of {d} for {name}, but got {x.shape[-1]} "
                    f"(shape {tuple(x.shape)})"
                )
        bdim = 0 if self.batch_first else 1
        if key.shape[:-1] != value.shape[:-1] or (query.dim() == 3 and query.shape[bdim] != key.shape[bdim]):
            raise ValueError(
                f"[{op}] key {tuple(key.shape)} and value {tuple(value.shape)} must have the same sequence "
                f"length, and the batch size of query {tuple(query.shape)}"
            )
        dtype = (self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight).dtype
        if not all(x.dtype == dtype for x in (query, key, value)):
            raise TypeError(
                f"[{op}] expected query, key and value of the module's dtype {dtype}, got "
                f"{query.dtype}, {key.dtype} and {value.dtype}"
            )

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
        is_causal=False,
    ) -> tuple[Tensor, Tensor | None]:
        op = "MultiheadAttention"
        self._check_inputs(query, key, value, key_padding_mask, attn_mask)
        batched = query.dim() == 3
        self_attention = query is key and key is value
        bf = self.batch_first and batched  # layout of the 3-D tensors below: (N, L, E) when bf, else (L, N, E)
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        seq, bdim = (1, 0) if bf else (0, 1)
        L, N, S = query.shape[seq], query.shape[bdim], key.shape[seq]
        H, hd, E = self.num_heads, self.head_dim, self.embed_dim

        kpm = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype, op)
        if kpm is not None and tuple(kpm.shape) != (N, S):
            raise ValueError(f"[{op}] expecting key_padding_mask shape of {(N, S)}, but got {tuple(kpm.shape)}")
        if is_causal and attn_mask is None:
            raise RuntimeError(
                f"[{op}] Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                "module method `generate_square_subsequent_mask` to create this mask."
            )
        if is_causal and kpm is None and not need_weights:
            attn_mask = None  # the hint: SDPA's causal mask replaces it
        else:
            attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype, op)
            is_causal = is_causal and kpm is None
        if attn_mask is not None:
            expected = (L, S) if attn_mask.dim() == 2 else ((N * H, L, S) if batched else (H, L, S))
            if tuple(attn_mask.shape) != expected:
                raise ValueError(
                    f"[{op}] The shape of the {attn_mask.dim()}D attn_mask is {tuple(attn_mask.shape)}, "
                    f"but should be {expected}."
                )
            # as (1 or N, 1 or H, L, S), to broadcast against the heads
            attn_mask = attn_mask.view(1, 1, L, S) if attn_mask.dim() == 2 else attn_mask.view(-1, H, L, S)

        # in-projection
        w, b = self.in_proj_weight, self.in_proj_bias
        bq, bk, bv = b.chunk(3) if b is not None else (None, None, None)
        if self._qkv_same_embed_dim and self_attention:
            q, k, v = F.linear(query, w, b).chunk(3, -1)
        elif self._qkv_same_embed_dim:
            wq, wk, wv = w.chunk(3)
            q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)
        else:
            q, k, v = (
                F.linear(query, self.q_proj_weight, bq),
                F.linear(key, self.k_proj_weight, bk),
                F.linear(value, self.v_proj_weight, bv),
            )

        if self.bias_k is not None and self.bias_v is not None:  # one more key and value, the same for every batch
            reps = (N, 1, 1) if bf else (1, N, 1)
            k = _C.cat([k, self.bias_k.repeat(*reps)], seq)
            v = _C.cat([v, self.bias_v.repeat(*reps)], seq)
            attn_mask = None if attn_mask is None else _pad_last(attn_mask)
            kpm = None if kpm is None else _pad_last(kpm)

        def heads(x):  # (N, H, len, hd), a view of the projection
            x = x.unflatten(-1, (H, hd))
            return x.permute(0, 2, 1, 3) if bf else x.permute(1, 2, 0, 3)

        q, k, v = heads(q), heads(k), heads(v)
        if self.add_zero_attn:  # one more key and value of zeros
            k = _C.cat([k, k.new_zeros((N, H, 1, hd))], 2)
            v = _C.cat([v, v.new_zeros((N, H, 1, hd))], 2)
            attn_mask = None if attn_mask is None else _pad_last(attn_mask)
            kpm = None if kpm is None else _pad_last(kpm)
        S = k.shape[2]
        if kpm is not None:
            kpm = kpm.view(N, 1, 1, S)
            attn_mask = kpm if attn_mask is None else attn_mask + kpm
        dropout_p = self.dropout if self.training else 0.0

        if need_weights:
            q3, k3, v3 = q.reshape(N * H, L, hd), k.reshape(N * H, S, hd), v.reshape(N * H, S, hd)
            q3 = q3 * math.sqrt(1.0 / hd)
            if attn_mask is not None:
                scores = _C.baddbmm(attn_mask.expand(N, H, L, S).reshape(N * H, L, S), q3, k3.transpose(1, 2))
            else:
                scores = _C.bmm(q3, k3.transpose(1, 2))
            weights = F.softmax(scores, dim=-1)
            if dropout_p > 0.0:
                weights = F.dropout(weights, p=dropout_p)
            out = _C.bmm(weights, v3).view(N, H, L, hd)
            weights = weights.view(N, H, L, S)
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if not batched:
                weights = weights.squeeze(0)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
            weights = None
        out = out.transpose(1, 2).reshape(N, L, E) if bf else out.permute(2, 0, 1, 3).reshape(L, N, E)
        out = self.out_proj(out)
        return (out if batched else out.squeeze(1)), weights


# ---- more activations (torch's reprs) ----


class _Inplace(Module):
    """An activation with only an `inplace` flag (shown in the repr as torch shows it)."""

    _fn = None
    _repr_inplace = True

    def __init__(self, inplace=False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace and self._repr_inplace else ""


class Mish(_Inplace):
    _fn = F.mish


class SELU(_Inplace):
    _fn = F.selu


class Hardswish(_Inplace):
    _fn = F.hardswish
    _repr_inplace = False


class Hardsigmoid(_Inplace):
    _fn = F.hardsigmoid
    _repr_inplace = False


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)


class Hardtanh(Module):
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn(
                "keyword argument `min_value` is deprecated and rename to `min_val`", FutureWarning, stacklevel=2
            )
            min_val = min_value
        if max_value is not None:
            warnings.warn(
                "keyword argument `max_value` is deprecated and rename to `max_val`", FutureWarning, stacklevel=2
            )
            max_val = max_value
        if min_val > max_val:
            raise ValueError(f"[Hardtanh] min_val cannot be greater than max_val (got {min_val} and {max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    def __init__(self, inplace=False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Threshold(Module):
    def __init__(self, threshold, value, inplace=False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Hardshrink(Module):
    def __init__(self, lambd=0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Tanhshrink(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class Softsign(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class GLU(Module):
    def __init__(self, dim=-1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None) -> None:
        super().__init__()
        _factories._check_device(device, "PReLU")
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(_factories.empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        nn_init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
