"""Transformer layers as torch's: TransformerEncoderLayer, TransformerDecoderLayer, their stacks and Transformer.

Submodule and parameter names match torch's, so state_dicts load across. Layers are deep copies of the layer
given (as torch's _get_clones)."""

from __future__ import annotations

import copy
import numbers
import typing
import warnings

from fastnn import _C, _factories
from fastnn._dtype import float32
from fastnn.nn import functional as F
from fastnn.nn import init
from fastnn.nn.modules.activation import GELU, MultiheadAttention, ReLU, _canonical_mask
from fastnn.nn.modules.container import ModuleList
from fastnn.nn.modules.dropout import Dropout
from fastnn.nn.modules.linear import Linear
from fastnn.nn.modules.module import Module
from fastnn.nn.modules.normalization import LayerNorm

if typing.TYPE_CHECKING:
    from fastnn._C import Tensor

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


def _generate_square_subsequent_mask(sz, device=None, dtype=None):
    """(sz, sz) float mask: 0 on and below the diagonal, -inf above (each position sees itself and earlier ones)."""
    if isinstance(sz, bool) or not isinstance(sz, numbers.Integral):
        raise TypeError(f"[generate_square_subsequent_mask] sz must be an int, got {type(sz).__name__}")
    device = _factories._check_device(device, "generate_square_subsequent_mask", movable=True)
    mask = _C.triu(_factories.full((int(sz), int(sz)), float("-inf"), dtype=dtype or float32), 1)
    return _factories._finish(mask, False, device)


def _get_activation_fn(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _get_clones(module, n):
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _get_seq_len(src, batch_first):
    return src.shape[0] if src.dim() == 2 else src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask, is_causal, size):
    """is_causal, or when None whether `mask` is exactly the causal mask of `size` (torch's detection)."""
    if is_causal is not None or mask is None:
        return is_causal is True
    causal = _generate_square_subsequent_mask(size, dtype=mask.dtype)
    return tuple(mask.shape) == tuple(causal.shape) and bool((mask == causal).all())


def _check_layer_args(op, d_model, nhead, dim_feedforward, dropout, activation):
    for name, v in (("d_model", d_model), ("nhead", nhead), ("dim_feedforward", dim_feedforward)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"[{op}] {name} must be an int, got {type(v).__name__}")
        if v <= 0:
            raise ValueError(f"[{op}] {name} must be greater than 0, got {v}")
    F._check_dropout_p(dropout, op)
    if not (isinstance(activation, str) or callable(activation)):
        raise TypeError(f"[{op}] activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")


def _check_input(op, x, name, d_model):
    if not isinstance(x, _C.Tensor):
        raise TypeError(f"[{op}] {name} must be a Tensor, got {type(x).__name__}")
    if x.dim() not in (2, 3) or x.shape[-1] != d_model:
        raise ValueError(
            f"[{op}] expected {name} of shape (seq, d_model={d_model}) or with a batch dim, got {tuple(x.shape)}"
        )


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with dropout, a residual connection and LayerNorm (after
    the block, or before it when norm_first)."""

    __constants__ = ["norm_first"]

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        dropout=0.1,
        activation=F.relu,
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        bias=True,
        device=None,
        dtype=None,
    ) -> None:
        _check_layer_args("TransformerEncoderLayer", d_model, nhead, dim_feedforward, dropout, activation)
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False) -> Tensor:
        op = "TransformerEncoderLayer"
        _check_input(op, src, "src", self.self_attn.embed_dim)
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype, op)
        src_mask = _canonical_mask(src_mask, "src_mask", src.dtype, op)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False, is_causal=is_causal
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention, attention over the encoder's output (memory), then a feed-forward block; each with dropout,
    a residual connection and LayerNorm (after the block, or before it when norm_first)."""

    __constants__ = ["norm_first"]

    def __init__(
        self,
        d_model,
        nhead,
        dim_feedforward=2048,
        dropout=0.1,
        activation=F.relu,
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        bias=True,
        device=None,
        dtype=None,
    ) -> None:
        _check_layer_args("TransformerDecoderLayer", d_model, nhead, dim_feedforward, dropout, activation)
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw)
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _get_activation_fn(activation) if isinstance(activation, str) else activation

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal=False,
        memory_is_causal=False,
    ) -> Tensor:
        op = "TransformerDecoderLayer"
        _check_input(op, tgt, "tgt", self.self_attn.embed_dim)
        _check_input(op, memory, "memory", self.self_attn.embed_dim)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal, need_weights=False
        )[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(
            x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal, need_weights=False
        )[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _why_no_nested_tensor(layer):
    """Why torch's TransformerEncoder cannot take its nested-tensor path with this layer ('' when it can)."""
    name = "encoder_layer"
    if not isinstance(layer, TransformerEncoderLayer):
        return f"{name} was not TransformerEncoderLayer"
    if layer.norm_first:
        return f"{name}.norm_first was True"
    if not layer.self_attn.batch_first:
        return f"{name}.self_attn.batch_first was not True(use batch_first for better inference performance)"
    if not layer.self_attn._qkv_same_embed_dim:
        return f"{name}.self_attn._qkv_same_embed_dim was not True"
    if layer.self_attn.in_proj_bias is None:
        return f"{name}.self_attn was passed bias=False"
    if not layer.activation_relu_or_gelu:
        return f"{name}.activation_relu_or_gelu was not True"
    if layer.norm1.eps != layer.norm2.eps:
        return f"{name}.norm1.eps was not equal to {name}.norm2.eps"
    if layer.self_attn.num_heads % 2 == 1:
        return f"{name}.self_attn.num_heads is odd"
    return ""


def _left_aligned(pad):
    """Whether every row of the (N, S) padding mask `pad` pads only at its end."""
    keep = pad.logical_not().long()
    return bool((keep[:, 1:] <= keep[:, :-1]).all()) if pad.shape[1] > 1 else True


def _check_stack(op, what, layer, num_layers, norm):
    """TransformerEncoder/Decoder's arguments: a layer Module, a non-negative int count, a norm Module or None."""
    if not isinstance(layer, Module):
        raise TypeError(f"[{op}] {what} must be a Module, got {type(layer).__name__}")
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 0:
        raise TypeError(f"[{op}] num_layers must be a non-negative int, got {num_layers!r}")
    if norm is not None and not isinstance(norm, Module):
        raise TypeError(f"[{op}] norm must be a Module or None, got {type(norm).__name__}")


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer, then `norm` if given.

    enable_nested_tensor: where torch would run its nested-tensor path (eval mode, no autograd, batch_first
    layers, a right-padded src_key_padding_mask and no mask), torch returns zeros at the padded positions
    (before `norm`); fastnn gives the same result (it computes them densely and zeroes them)."""

    __constants__ = ["norm"]

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True) -> None:
        _check_stack("TransformerEncoder", "encoder_layer", encoder_layer, num_layers, norm)
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why = _why_no_nested_tensor(encoder_layer)
        if enable_nested_tensor and why:
            warnings.warn(
                f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why}", stacklevel=3
            )
            self.use_nested_tensor = False

    def _takes_nested_path(self, src, mask, pad):
        """Whether torch would run this call through nested tensors (outputs at padded positions are then 0)."""
        if not (self.use_nested_tensor and self.num_layers and src.dim() == 3 and pad is not None and mask is None):
            return False
        first = self.layers[0]
        if first.training or (self.mask_check and not _left_aligned(pad)):
            return False
        return not (_C.is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in first.parameters())))

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None) -> Tensor:
        op = "TransformerEncoder"
        if not isinstance(src, _C.Tensor):
            raise TypeError(f"[{op}] src must be a Tensor, got {type(src).__name__}")
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype, op)
        mask = _canonical_mask(mask, "mask", src.dtype, op)
        pad = None if src_key_padding_mask is None else src_key_padding_mask.ne(0)
        nested = pad is not None and pad.dim() == 2 and self._takes_nested_path(src, mask, pad)
        batch_first = self.layers[0].self_attn.batch_first if self.num_layers else False
        is_causal = _detect_is_causal_mask(mask, is_causal, _get_seq_len(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if nested:
            output = output.masked_fill(pad.unsqueeze(-1), 0.0)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer, then `norm` if given."""

    __constants__ = ["norm"]

    def __init__(self, decoder_layer, num_layers, norm=None) -> None:
        _check_stack("TransformerDecoder", "decoder_layer", decoder_layer, num_layers, norm)
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal=None,
        memory_is_causal=False,
    ) -> Tensor:
        if not isinstance(tgt, _C.Tensor):
            raise TypeError(f"[TransformerDecoder] tgt must be a Tensor, got {type(tgt).__name__}")
        batch_first = self.layers[0].self_attn.batch_first if self.num_layers else False
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _get_seq_len(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """An encoder stack and a decoder stack (each ending in LayerNorm), with torch's arguments and names; weights
    of more than one dim are re-initialised with xavier_uniform_, as torch does."""

    def __init__(
        self,
        d_model=512,
        nhead=8,
        num_encoder_layers=6,
        num_decoder_layers=6,
        dim_feedforward=2048,
        dropout=0.1,
        activation=F.relu,
        custom_encoder=None,
        custom_decoder=None,
        layer_norm_eps=1e-5,
        batch_first=False,
        norm_first=False,
        bias=True,
        device=None,
        dtype=None,
    ) -> None:
        op = "Transformer"
        for name, v in (("num_encoder_layers", num_encoder_layers), ("num_decoder_layers", num_decoder_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise TypeError(f"[{op}] {name} must be a non-negative int, got {v!r}")
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        layer_args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(*layer_args, **kw)
            self.encoder = TransformerEncoder(
                layer, num_encoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(*layer_args, **kw)
            self.decoder = TransformerDecoder(
                layer, num_decoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            )
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(
        self,
        src,
        tgt,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal=None,
        tgt_is_causal=None,
        memory_is_causal=False,
    ) -> Tensor:
        op = "Transformer"
        for name, x in (("src", src), ("tgt", tgt)):
            if not isinstance(x, _C.Tensor):
                raise TypeError(f"[{op}] {name} must be a Tensor, got {type(x).__name__}")
        if (
            src.dim() == 3
            and tgt.dim() == 3
            and src.shape[0 if self.batch_first else 1] != tgt.shape[0 if self.batch_first else 1]
        ):
            raise ValueError(
                f"[{op}] the batch number of src and tgt must be equal, got src {tuple(src.shape)} and "
                f"tgt {tuple(tgt.shape)}"
            )
        if src.dim() == 0 or tgt.dim() == 0 or src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(
                f"[{op}] the feature number of src and tgt must be equal to d_model ({self.d_model}), got "
                f"src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """(sz, sz) float mask with -inf above the diagonal and 0 elsewhere."""
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
