"""Image transforms with torchvision's names: Compose, ToTensor, Normalize, Pad, Resize.

Images are NumPy arrays laid out H x W or H x W x C (what the datasets hand to a transform, as
torchvision hands over a PIL image) or fastnn tensors laid out (..., C, H, W).
"""

import numbers

import numpy as np

from fastnn._C import Tensor


class Compose:
    """Applies the transforms one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """H x W (x C) NumPy image -> C x H x W tensor; uint8 is scaled to float32 in [0, 1].

    Other NumPy dtypes keep their values (as torchvision does); a tensor passes through unchanged.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            return pic
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"[ToTensor] pic should be a NumPy ndarray or a tensor, got {type(pic).__name__}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"[ToTensor] pic should be 2 or 3 dimensional (H x W or H x W x C), got {pic.ndim} dims")
        arr = pic[None] if pic.ndim == 2 else pic.transpose(2, 0, 1)
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / np.float32(255)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "f" and arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float32)
        elif arr.dtype.kind not in "fb":
            raise TypeError(f"[ToTensor] unsupported image dtype {arr.dtype}")
        from fastnn._factories import from_numpy

        return from_numpy(np.ascontiguousarray(arr))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] for each channel c of a float tensor (..., C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        self.mean = list(mean) if isinstance(mean, (list, tuple)) else [mean]
        self.std = list(std) if isinstance(std, (list, tuple)) else [std]
        self.inplace = inplace

    def __call__(self, tensor):
        from fastnn._factories import tensor as make_tensor
        from fastnn.autograd.grad_mode import no_grad

        if not isinstance(tensor, Tensor):
            raise TypeError(f"[Normalize] input should be a tensor (apply ToTensor first), got {type(tensor).__name__}")
        if not tensor.is_floating_point():
            raise TypeError(f"[Normalize] input tensor should be a float tensor, got {tensor.dtype}")
        if tensor.dim() < 3:
            raise ValueError(f"[Normalize] expected a tensor image of size (..., C, H, W), got {tuple(tensor.shape)}")
        c = tensor.shape[-3]
        if len(self.mean) not in (1, c) or len(self.std) not in (1, c):
            raise ValueError(f"[Normalize] {len(self.mean)} means and {len(self.std)} stds for {c} channels")
        mean = make_tensor(self.mean, dtype=tensor.dtype).reshape(-1, 1, 1)
        std = make_tensor(self.std, dtype=tensor.dtype).reshape(-1, 1, 1)
        if bool((std == 0).numpy().any()):
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
        out = (tensor - mean) / std
        if self.inplace:
            with no_grad():
                tensor.copy_(out)
            return tensor
        return out

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def _as_hw_array(img, op):
    """(array laid out with H, W as axes (0, 1) or (-2, -1), restore function)."""
    if isinstance(img, Tensor):
        if img.dim() < 2:
            raise ValueError(f"[{op}] expected a tensor image (..., H, W), got shape {tuple(img.shape)}")
        arr = img.detach().numpy()
        from fastnn._factories import from_numpy

        return (
            arr,
            (-2, -1),
            lambda out: from_numpy(np.ascontiguousarray(out.astype(arr.dtype, copy=False))),
        )
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"[{op}] expected a NumPy image H x W or H x W x C, got {img.ndim} dims")
        return img, (0, 1), lambda out: out
    raise TypeError(f"[{op}] img should be a NumPy array or a tensor, got {type(img).__name__}")


class Pad:
    """Pads the borders: ``padding`` is all sides, (left/right, top/bottom) or (left, top, right,
    bottom)."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        if isinstance(padding, numbers.Integral):
            padding = (int(padding),) * 4
        elif isinstance(padding, (tuple, list)) and len(padding) in (1, 2, 4):
            padding = tuple(int(p) for p in padding)
            padding = padding * 4 if len(padding) == 1 else padding * 2 if len(padding) == 2 else padding
        else:
            raise ValueError(f"[Pad] padding must be an int or a 1, 2 or 4 element tuple, got {padding!r}")
        if any(p < 0 for p in padding):
            raise ValueError(f"[Pad] padding must be non-negative, got {padding}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("[Pad] padding_mode should be constant, edge, reflect or symmetric")
        self.padding = padding  # left, top, right, bottom
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img):
        arr, (hax, wax), restore = _as_hw_array(img, "Pad")
        left, top, right, bottom = self.padding
        widths = [(0, 0)] * arr.ndim
        widths[hax] = (top, bottom)
        widths[wax] = (left, right)
        if self.padding_mode == "constant":
            out = np.pad(arr, widths, mode="constant", constant_values=self.fill)
        else:
            out = np.pad(arr, widths, mode=self.padding_mode)
        return restore(out)

    def __repr__(self):
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


def _bilinear_axis(n_in, n_out):
    """Source indices and weights along one axis, half-pixel centres (align_corners=False)."""
    scale = n_in / n_out
    src = np.maximum((np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = src - i0
    return i0, i1, 1.0 - w1, w1


def resize_bilinear(arr, size, axes=(-2, -1)):
    """Bilinear resize of ``arr`` along ``axes`` to ``size`` = (h, w), in float64.

    Half-pixel centres, no antialiasing: the same as ``torch.nn.functional.interpolate(x, size,
    mode="bilinear", align_corners=False, antialias=False)``.
    """
    out = np.asarray(arr, dtype=np.float64)
    for axis, n_out in zip(axes, size):
        n_in = out.shape[axis]
        i0, i1, w0, w1 = _bilinear_axis(n_in, n_out)
        shape = [1] * out.ndim
        shape[axis] = n_out
        out = np.take(out, i0, axis=axis) * w0.reshape(shape) + np.take(out, i1, axis=axis) * w1.reshape(shape)
    return out


class Resize:
    """Bilinear resize (NumPy, no antialiasing; see ``resize_bilinear``).

    ``size`` is (h, w), or an int: the smaller edge becomes ``size`` and the aspect ratio is kept.
    uint8 images are rounded and clipped back to uint8; other dtypes keep theirs.
    """

    def __init__(self, size):
        if isinstance(size, numbers.Integral):
            size = int(size)
        elif isinstance(size, (tuple, list)) and len(size) in (1, 2):
            size = tuple(int(s) for s in size)
            size = size[0] if len(size) == 1 else size
        else:
            raise TypeError(f"[Resize] size should be an int or a sequence of 1 or 2 ints, got {size!r}")
        if min(size if isinstance(size, tuple) else (size,)) <= 0:
            raise ValueError(f"[Resize] size must be positive, got {size}")
        self.size = size

    def __call__(self, img):
        arr, axes, restore = _as_hw_array(img, "Resize")
        h, w = arr.shape[axes[0]], arr.shape[axes[1]]
        if isinstance(self.size, int):
            short, long_ = (h, w) if h <= w else (w, h)
            new_short, new_long = self.size, int(self.size * long_ / short)
            size = (new_short, new_long) if h <= w else (new_long, new_short)
        else:
            size = self.size
        out = resize_bilinear(arr, size, axes)
        if arr.dtype == np.uint8:
            out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        elif arr.dtype.kind in "iub":
            out = np.rint(out).astype(arr.dtype)
        else:
            out = out.astype(arr.dtype)
        return restore(out)

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation=bilinear)"
