"""Reading IDX files (the MNIST format), raw or gzip-compressed, with their header checked.

An IDX file is: two zero bytes, a type code, the number of dimensions n, n big-endian uint32 sizes,
then the values in C order (big-endian for multi-byte types).
"""

import gzip
import math
import os
import zlib

import numpy as np

_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CHUNK = 1 << 24


class _Reader:
    """Reads sized pieces from a raw or gzip stream, turning decode errors into ValueError."""

    def __init__(self, path):
        self.path = path
        self.raw = open(path, "rb")
        self.gz = self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(0)
        self.stream = gzip.GzipFile(fileobj=self.raw, mode="rb") if self.gz else self.raw

    def read(self, n):
        """Up to n bytes, in bounded chunks (a lying header never triggers a huge allocation)."""
        parts, left = [], n
        try:
            while left > 0:
                piece = self.stream.read(min(left, _CHUNK))
                if not piece:
                    break
                parts.append(piece)
                left -= len(piece)
        except (EOFError, OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise ValueError(f"{self.path}: corrupted or truncated gzip data ({type(e).__name__}: {e})") from None
        return b"".join(parts)

    def close(self):
        if self.gz:
            self.stream.close()
        self.raw.close()


def read_idx(path):
    """The array stored in the IDX file at ``path`` (raw or .gz); ValueError if the file is
    malformed."""
    path = os.fspath(path)
    reader = _Reader(path)
    try:
        head = reader.read(4)
        if len(head) < 4:
            raise ValueError(f"{path}: too short for an IDX file ({len(head)} bytes; truncated?)")
        if head[0] != 0 or head[1] != 0 or head[2] not in _TYPES:
            raise ValueError(
                f"{path}: not an IDX file (bad magic number 0x{head.hex()}; "
                f"expected 0x0000TTNN with "
                f"type TT in {', '.join(f'{t:02x}' for t in _TYPES)})"
            )
        dtype, ndim = _TYPES[head[2]], head[3]
        if ndim == 0:
            raise ValueError(f"{path}: IDX header declares 0 dimensions")
        dims_raw = reader.read(4 * ndim)
        if len(dims_raw) < 4 * ndim:
            raise ValueError(f"{path}: truncated IDX header (expected {ndim} dimension sizes)")
        dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
        expected = math.prod(dims) * dtype.itemsize
        if not reader.gz:
            actual = os.fstat(reader.raw.fileno()).st_size - 4 - 4 * ndim
            if actual != expected:
                raise ValueError(_size_message(path, dims, expected, actual))
        body = reader.read(expected)
        if len(body) != expected:
            raise ValueError(_size_message(path, dims, expected, len(body)))
        extra = reader.read(1)
        if extra:
            raise ValueError(f"{path}: unexpected data after the {expected} bytes declared by the IDX header {dims}")
    finally:
        reader.close()
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _size_message(path, dims, expected, actual):
    what = "truncated" if actual < expected else "has trailing data"
    return (
        f"{path}: {what}: the IDX header declares shape {dims} ({expected} bytes of data) "
        f"but the file holds {actual} bytes"
    )
