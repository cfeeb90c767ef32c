"""Element types: fastnn.float32 (the default), float64, int64 and bool."""

from fastnn._C import dtype

# Printed as torch prints its dtypes, under fastnn's name.
dtype.__repr__ = dtype.__str__ = lambda self: "fastnn." + self.name

float32 = float = dtype.float32  # noqa: A001
float64 = double = dtype.float64
int64 = long = dtype.int64
bool = dtype.bool  # noqa: A001

_DEFAULT_FOR_KIND = {"f": float32, "i": int64, "b": bool}
