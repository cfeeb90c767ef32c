"""Element types. Compute dtypes (float32, the default; float64, int64, bool) have kernels; storage dtypes
(float16, bfloat16, uint8, int8, int16, int32) hold values, convert as torch's, and ops on them compute in
float32 or int64 and round the result back."""

import builtins

from fastnn._C import dtype

# Printed as torch prints its dtypes, under fastnn's name.
dtype.__repr__ = dtype.__str__ = lambda self: "fastnn." + self.name

float32 = float = dtype.float32  # noqa: A001
float64 = double = dtype.float64
float16 = half = dtype.float16
bfloat16 = dtype.bfloat16
int64 = long = dtype.int64
int32 = int = dtype.int32  # noqa: A001
int16 = short = dtype.int16
int8 = dtype.int8
uint8 = dtype.uint8
bool = dtype.bool  # noqa: A001


def _numpy_type(d):
    import numpy as np

    return {
        "float16": np.float16,
        "float32": np.float32,
        "float64": np.float64,
        "uint8": np.uint8,
        "int8": np.int8,
        "int16": np.int16,
        "int32": np.int32,
        "int64": np.int64,
    }[d.name]


class finfo:
    """Machine limits of a floating dtype (the default dtype when none is given), as torch.finfo."""

    def __init__(self, type=None):  # noqa: A002 (torch's argument name)
        from fastnn import _C

        d = _C._get_default_dtype() if type is None else type
        if not isinstance(d, dtype) or not d.is_floating_point:
            raise TypeError(
                f"[finfo] torch.finfo() requires a floating point input type, got {d!r}. "
                "Use fastnn.iinfo for integer types"
            )
        self.dtype, self.bits = d.name, 8 * d.itemsize
        if d.name == "bfloat16":  # 8 exponent bits and 7 mantissa bits
            self.eps, self.max, self.tiny, self.resolution = 2.0**-7, (2 - 2.0**-7) * 2.0**127, 2.0**-126, 0.01
        else:
            import numpy as np

            fi = np.finfo(_numpy_type(d))
            f = builtins.float
            self.eps, self.max, self.tiny, self.resolution = f(fi.eps), f(fi.max), f(fi.tiny), 10.0**-fi.precision
        self.min, self.smallest_normal = -self.max, self.tiny

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
            f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype, as torch.iinfo."""

    def __init__(self, type):  # noqa: A002
        if not isinstance(type, dtype) or type.is_floating_point or type.name == "bool":
            raise TypeError(
                f"[iinfo] torch.iinfo() requires an integer input type, got {type!r}. "
                "Use fastnn.finfo for floating point types"
            )
        import numpy as np

        ii = np.iinfo(_numpy_type(type))
        self.dtype, self.bits, self.min, self.max = type.name, ii.bits, builtins.int(ii.min), builtins.int(ii.max)

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
