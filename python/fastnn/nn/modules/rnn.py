"""nn.RNN, nn.LSTM, nn.GRU and their cells, laid out as torch's (parameter names, order, shapes, initialisation,
state_dict keys, repr). The time loop, gates and backward run in C++ (fastnn._C._rnn: one autograd node per
layer and direction, LstmLayerBackward0, GruLayerBackward0, RnnTanhLayerBackward0, RnnReluLayerBackward0)."""

from __future__ import annotations

import math
import numbers
import typing
import warnings

import fastnn
from fastnn import _C
from fastnn._C import Tensor
from fastnn.nn import init
from fastnn.nn.modules.module import Module
from fastnn.nn.parameter import Parameter
from fastnn.nn.utils.rnn import PackedSequence

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _check_int(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} should be of type int, got: {type(value).__name__}")


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrent layer behind RNN, LSTM and GRU."""

    def __init__(
        self,
        mode,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        fastnn._factories._check_device(device, type(self).__name__)
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an element being zeroed"
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional should be of type bool, got: {type(bidirectional).__name__}")
        _check_int(input_size, "input_size")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        _check_int(hidden_size, "hidden_size")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        _check_int(num_layers, "num_layers")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        _check_int(proj_size, "proj_size")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for name, shape in shapes:
                    names.append(f"{name}_l{layer}{suffix}")
                    setattr(self, names[-1], Parameter(fastnn.empty(shape, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op (torch packs the weights for cuDNN here); kept because scripts call it."""

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _fail(self, kind, message):
        raise kind(f"[{type(self).__name__}] {message}")

    def _state_size(self, batch, cell):
        directions = 2 if self.bidirectional else 1
        size = self.hidden_size if cell or self.proj_size == 0 else self.proj_size
        return (self.num_layers * directions, batch, size)

    def _check_state(self, t, expected, what):
        if not isinstance(t, Tensor):
            self._fail(TypeError, f"{what} must be a Tensor, got {type(t).__name__}")
        if tuple(t.shape) != expected:
            self._fail(RuntimeError, f"Expected {what} size {expected}, got {list(t.shape)}")

    def _run(self, input, hx):
        """input: a Tensor or PackedSequence; hx: None, a Tensor, or (h, c) for LSTM. Returns (output, hx)."""
        lstm = self.mode == "LSTM"
        name = type(self).__name__
        if lstm and hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            self._fail(TypeError, f"hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        if not lstm and hx is not None and not isinstance(hx, Tensor):
            self._fail(TypeError, f"hx must be a Tensor, got {type(hx).__name__}")
        states = list(hx) if lstm and hx is not None else [hx] if hx is not None else None
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            batch_sizes = batch_sizes.tolist()
            if not batch_sizes:
                self._fail(RuntimeError, "expected a PackedSequence with at least one time step")
            batch, batched = batch_sizes[0], True
            if data.dim() != 2:
                self._fail(RuntimeError, f"input must have 2 dimensions, got {data.dim()}")
        else:
            if not isinstance(input, Tensor):
                self._fail(TypeError, f"input must be a Tensor or PackedSequence, got {type(input).__name__}")
            if input.dim() not in (2, 3):
                self._fail(ValueError, f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
            batched = input.dim() == 3
            if states is not None:
                want = 3 if batched else 2
                if any(not isinstance(s, Tensor) for s in states):
                    self._fail(TypeError, "hx must hold Tensors")
                if any(s.dim() != want for s in states):
                    dims = ", ".join(f"{s.dim()}-D" for s in states)
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    which = "hx and cx" if lstm else "hx"
                    self._fail(
                        RuntimeError,
                        f"For {kind} input, {which} should also be {want}-D but got ({dims}) tensors"
                        if lstm
                        else f"For {kind} input, {which} should also be {want}-D but got {dims} tensor",
                    )
                if not batched:
                    states = [s.unsqueeze(1) for s in states]
            x = input if batched else input.unsqueeze(0 if self.batch_first else 1)
            if self.batch_first:
                x = x.transpose(0, 1)
            steps, batch = x.shape[0], x.shape[1]
            if steps == 0:
                self._fail(RuntimeError, "Expected sequence length to be larger than 0 in RNN")
            data, batch_sizes = x.reshape(steps * batch, x.shape[2]), [batch] * steps
            sorted_indices = unsorted_indices = None
        weight = getattr(self, self._flat_weights_names[0])
        if data.dtype != weight.dtype:
            self._fail(
                ValueError,
                f"RNN input dtype ({data.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({data.dtype})",
            )
        if data.shape[-1] != self.input_size:
            self._fail(
                RuntimeError,
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {data.shape[-1]}",
            )
        sizes = [self._state_size(batch, False)] + ([self._state_size(batch, True)] if lstm else [])
        if states is None:
            states = [fastnn.zeros(s, dtype=data.dtype, device=data.device) for s in sizes]
        else:
            for i, (s, size) in enumerate(zip(states, sizes)):
                self._check_state(s, size, f"hidden[{i}]" if lstm else "hidden")
            if sorted_indices is not None:
                states = [s.index_select(1, sorted_indices) for s in states]
        out, h, c = _C._rnn(
            self.mode,
            data,
            batch_sizes,
            states[0],
            states[1] if lstm else None,
            self._flat_weights,
            self.bias,
            self.proj_size > 0,
            self.num_layers,
            self.bidirectional,
            self.dropout,
            self.training,
        )
        if unsorted_indices is not None:
            h = h.index_select(1, unsorted_indices)
            c = c.index_select(1, unsorted_indices) if lstm else None
        if packed:
            output = PackedSequence(out, input.batch_sizes, sorted_indices, unsorted_indices)
        else:
            output = out.reshape(steps, batch, out.shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if not batched:
                output = output.squeeze(0 if self.batch_first else 1)
                h = h.squeeze(1)
                c = c.squeeze(1) if lstm else None
        return output, ((h, c) if lstm else h)

    def forward(self, input: Tensor, hx=None) -> tuple[Tensor, typing.Any]:
        return self._run(input, hx)


class RNN(RNNBase):
    """Elman RNN: h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, optionally with a projection of h (proj_size)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """One step of a recurrent layer; the same fused C++ kernels as the layers, for one time step."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None) -> None:
        super().__init__()
        fastnn._factories._check_device(device, type(self).__name__)
        _check_int(input_size, "input_size")
        _check_int(hidden_size, "hidden_size")
        if input_size < 0 or hidden_size <= 0:
            raise ValueError(f"expected input_size >= 0 and hidden_size > 0, got {input_size} and {hidden_size}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(fastnn.empty((num_chunks * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(fastnn.empty((num_chunks * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(fastnn.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(fastnn.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, mode, input, states):
        """states: None or a list of tensors (h, or h and c). Returns the new states' list."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"[{name}] input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"[{name}] {name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        count = 2 if mode == "LSTM" else 1
        if states is None:
            states = [fastnn.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)] * count
        else:
            for i, s in enumerate(states):
                if not isinstance(s, Tensor):
                    raise TypeError(f"[{name}] hx must hold Tensors, got {type(s).__name__}")
                if s.dim() not in (1, 2):
                    what = f"hx[{i}]" if count == 2 else "hidden"
                    raise ValueError(f"[{name}] {name}: Expected {what} to be 1D or 2D, got {s.dim()}D instead")
            if not batched:
                states = [s.unsqueeze(0) for s in states]
        if x.shape[1] != self.input_size:
            raise RuntimeError(
                f"[{name}] input has inconsistent input_size: got {x.shape[1]} expected {self.input_size}"
            )
        for i, s in enumerate(states):
            if s.shape[0] != x.shape[0]:
                raise RuntimeError(
                    f"[{name}] Input batch size {x.shape[0]} doesn't match hidden{i} batch size {s.shape[0]}"
                )
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(
                    f"[{name}] hidden{i} has inconsistent hidden_size: got {s.shape[1]}, expected {self.hidden_size}"
                )
        for t in [*states, self.weight_ih]:
            if t.dtype != x.dtype:
                raise TypeError(
                    f"[{name}] expected input, states and weights of one dtype, got {x.dtype} and {t.dtype}"
                )
        out, _, c = _C._rnn_layer(
            mode,
            x,
            [x.shape[0]],
            False,
            states[0],
            states[1] if count == 2 else None,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            None,
        )
        result = [out, c] if count == 2 else [out]
        return result if batched else [r.squeeze(0) for r in result]


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx=None) -> Tensor:
        return self._step(
            "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input, None if hx is None else [hx]
        )[0]


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"[LSTMCell] hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        h, c = self._step("LSTM", input, None if hx is None else list(hx))
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None) -> Tensor:
        return self._step("GRU", input, None if hx is None else [hx])[0]
