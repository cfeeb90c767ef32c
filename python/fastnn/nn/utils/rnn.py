"""nn.utils.rnn: torch's packed layout for batches of sequences of different lengths. A PackedSequence holds
the time steps one after the other, each with the sequences still running at that step (sorted by decreasing
length): data (sum of lengths, *), batch_sizes (steps,). Packing and unpacking are tensor ops (a mask gather
and an index_select), so gradients flow through them."""

from collections import namedtuple

import fastnn
from fastnn._C import Tensor
from fastnn._errors import named_function as _named_function


def _lengths_tensor(lengths, op):
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(
                f"[{op}] 'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.dim()}D tensor"
            )
        if lengths.dtype.is_floating_point:
            raise TypeError(f"[{op}] 'lengths' must hold integers, got {lengths.dtype}")
        return lengths.to(fastnn.int64)
    if not isinstance(lengths, (list, tuple)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in lengths
    ):
        raise TypeError(f"[{op}] 'lengths' must be a 1-D int64 tensor or a list of ints, got {lengths!r}")
    return fastnn.tensor(list(lengths), dtype=fastnn.int64)


def invert_permutation(permutation):
    if permutation is None:
        return None
    out = fastnn.empty_like(permutation)
    out.scatter_(0, permutation, fastnn.arange(permutation.numel(), dtype=fastnn.int64, device=permutation.device))
    return out


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """The packed batch: built by pack_padded_sequence/pack_sequence, read by the recurrent layers."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as torch allows
            if not isinstance(data, (list, tuple)) or len(data) != 2:
                raise TypeError("[PackedSequence] expected data and batch_sizes, or a (data, batch_sizes) pair")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """data moved or converted as Tensor.to; the indices follow data's device, batch_sizes stay on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (
            None if t is None else t.to(data.device) for t in (self.sorted_indices, self.unsorted_indices)
        )
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def double(self):
        return self.to(dtype=fastnn.float64)

    def float(self):
        return self.to(dtype=fastnn.float32)

    def long(self):
        return self.to(dtype=fastnn.int64)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


@_named_function
def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"[{op}] input must be a Tensor, got {type(input).__name__}")
    if input.dim() < 2:
        raise IndexError(f"[{op}] expected an input of at least 2 dimensions (time and batch), got {input.dim()}-D")
    lengths = _lengths_tensor(lengths, op)
    if batch_first:
        input = input.transpose(0, 1)
    if lengths.numel() != input.shape[1]:
        raise RuntimeError(
            f"[{op}] Expected `len(lengths)` to be equal to batch_size, but got {lengths.numel()} "
            f"(batch_size={input.shape[1]})"
        )
    sorted_indices = None
    if not enforce_sorted:
        lengths, sorted_indices = fastnn.sort(lengths, descending=True, stable=True)
        sorted_indices = sorted_indices.to(input.device)  # as torch: the indices live with the data
        input = input.index_select(1, sorted_indices)
    if lengths.numel() and int(lengths.min()) <= 0:
        raise RuntimeError(
            f"[{op}] Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
        )
    if lengths.numel() > 1 and bool((lengths[1:] > lengths[:-1]).any()):
        raise RuntimeError(
            f"[{op}] `lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
            "to sidestep this requirement if you do not need ONNX exportability."
        )
    steps = int(lengths[0]) if lengths.numel() else 0
    if steps > input.shape[0]:
        raise ValueError(f"[{op}] the longest length is {steps} but the input has only {input.shape[0]} time steps")
    mask = fastnn.arange(steps)[:, None] < lengths[None, :]
    if input.is_cuda:  # the mask's rows picked on the GPU (boolean indexing runs on the CPU only)
        rows = mask.reshape(-1).nonzero().reshape(-1).to(input.device)
        data = input[:steps].reshape((-1,) + tuple(input.shape[2:])).index_select(0, rows)
    else:
        data = input[:steps][mask]
    return PackedSequence(data, mask.sum(1), sorted_indices, None)


@_named_function
def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"[{op}] sequence must be a PackedSequence, got {type(sequence).__name__}")
    data, batch_sizes = sequence.data, sequence.batch_sizes
    steps = batch_sizes.numel()
    if total_length is not None:
        if isinstance(total_length, bool) or not isinstance(total_length, int):
            raise TypeError(f"[{op}] total_length must be an int, got {type(total_length).__name__}")
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, but "
                f"got total_length={total_length} and max sequence length being {steps}"
            )
    batch = int(batch_sizes[0]) if steps else 0
    mask = fastnn.arange(batch)[None, :] < batch_sizes[:, None]  # (steps, batch): which slots hold data
    lengths = mask.sum(0)
    flat = mask.reshape(-1)
    # each padded slot's row of data, or the extra padding row appended after the data
    rows = fastnn.where(flat, flat.cumsum(0) - 1, fastnn.full_like(flat, data.shape[0], dtype=fastnn.int64))
    pad_row = fastnn.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = fastnn.cat([data, pad_row]).index_select(0, rows.to(data.device))
    padded = padded.reshape((steps, batch) + tuple(data.shape[1:]))
    if total_length is not None and total_length > steps:
        extra_shape = (total_length - steps, batch) + tuple(data.shape[1:])
        padded = fastnn.cat([padded, fastnn.full(extra_shape, padding_value, dtype=data.dtype, device=data.device)])
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices.to(data.device))
        lengths = lengths[sequence.unsorted_indices.cpu()]  # lengths stay on the CPU, as torch's
    return padded, lengths


@_named_function
def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    op = "pad_sequence"
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    if not isinstance(sequences, (list, tuple)) or not all(isinstance(s, Tensor) for s in sequences):
        raise TypeError(f"[{op}] sequences must be a Tensor or a list of Tensors, got {type(sequences).__name__}")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if any(s.dim() == 0 for s in sequences):
        raise RuntimeError(f"[{op}] expected sequences of at least 1 dimension, got a 0-d tensor")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        fill = fastnn.full((longest - s.shape[0],) + tuple(s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
        padded.append(fastnn.cat([s, fill] if padding_side == "right" else [fill, s]))
    return fastnn.stack(padded, 0 if batch_first else 1)


@_named_function
def pack_sequence(sequences, enforce_sorted=True):
    if not isinstance(sequences, (list, tuple)) or not all(isinstance(s, Tensor) for s in sequences):
        raise TypeError(f"[pack_sequence] sequences must be a list of Tensors, got {type(sequences).__name__}")
    lengths = [s.shape[0] if s.dim() else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


@_named_function
def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = _lengths_tensor(lengths, "unpad_sequence").tolist()
    return [padded_sequences[i, :n] for i, n in enumerate(lengths)]


@_named_function
def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
