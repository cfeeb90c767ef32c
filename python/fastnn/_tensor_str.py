"""Tensor repr formatting, producing the same text as PyTorch's ``repr(tensor)``.

Pure Python + NumPy: the compiled extension calls into this module, so it must
not import it.  ``format_tensor`` takes the tensor's values as a NumPy array.
"""

import math

import numpy as np

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}
_PROFILES = {
    "default": _DEFAULTS,
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}

_opts = dict(_DEFAULTS, sci_mode=None)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Same semantics as ``torch.set_printoptions``."""
    if profile is not None and profile in _PROFILES:
        _opts.update(_PROFILES[profile])
    for key, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            _opts[key] = value
    _opts["sci_mode"] = sci_mode  # like torch: omitting sci_mode resets it to auto


def get_printoptions():
    """Current options, as a dict that can be passed back to set_printoptions()."""
    return dict(_opts)


class _Formatter:
    """Chooses one common layout (int / fixed / sci mode and a width) for all elements."""

    def __init__(self, values):
        self.floating = np.issubdtype(values.dtype, np.floating)
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([1] + [len(str(v)) for v in flat.tolist()])
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:  # only zeros / nan / inf: stays int mode, width 1
            return
        mag = np.abs(vals).astype(np.float64)
        lo, hi = mag.min(), mag.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if _opts["sci_mode"] is None:
            self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = bool(_opts["sci_mode"])
        p = _opts["precision"]
        if self.sci_mode:
            strs = [f"{v:.{p}e}" for v in vals.tolist()]
        elif self.int_mode:
            strs = [f"{v:.0f}." for v in vals.tolist()]  # room for the trailing "."
        else:
            strs = [f"{v:.{p}f}" for v in vals.tolist()]
        self.width = max(len(s) for s in strs)

    def format(self, v):
        p = _opts["precision"]
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:{self.width}.{p}e}"
        elif self.int_mode:
            s = f"{v:.0f}"
            if not (math.isinf(v) or math.isnan(v)):
                s += "."
        else:
            s = f"{v:.{p}f}"
        return s.rjust(self.width)  # right-align; longer strings (e.g. "-inf") overflow


def _summarized(a):
    """The elements actually shown when summarizing (decides format and width)."""
    e = _opts["edgeitems"]
    if a.ndim == 0:
        return a
    if a.ndim >= 2 and not e:
        return a[(slice(0, 0),) * a.ndim]
    # keep the first/last `e` of every long axis; with e == 0 a 1-d tensor is kept whole
    # (torch's cat(t[:0], t[-0:]) quirk)
    idx = [np.r_[0:e, n - e : n] if e and n > 2 * e else np.arange(n) for n in a.shape]
    return a[np.ix_(*idx)]


def _vector_str(a, indent, summarize, fmt):
    e = _opts["edgeitems"]
    if summarize and not e:
        items = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        items = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + [fmt.format(v) for v in a[-e:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    # every element takes width + len(", "); wrapped lines align after the "["
    per_line = max(1, (_opts["linewidth"] - indent) // (fmt.width + 2))
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body_str(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = _opts["edgeitems"]
    n = a.shape[0]
    if summarize and n > 2 * e:
        rows = (
            [_body_str(a[i], indent + 1, summarize, fmt) for i in range(e)]
            + ["..."]
            + [_body_str(a[i], indent + 1, summarize, fmt) for i in range(n - e, n)]
        )
    else:
        rows = [_body_str(a[i], indent + 1, summarize, fmt) for i in range(n)]
    # sub-tensors of a k-d tensor are separated by k-1 newlines
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _add_suffixes(text, suffixes, indent):
    parts = [text]
    # torch's count: rfind returns -1 without a newline, so this is len + 2 there
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > _opts["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            line_len += len(suffix) + 2
    return "".join(parts) + ")"


def format_tensor(values, *, dtype_repr, is_default_dtype, suffixes=(), prefix="tensor("):
    """Return the text ``repr(torch_tensor)`` gives for a CPU tensor holding ``values``.

    ``dtype_repr`` is printed in ``dtype=`` suffixes; ``is_default_dtype`` says whether the
    dtype is the default of its kind (no suffix); ``suffixes`` (e.g. "requires_grad=True")
    are appended after the size/dtype ones.
    """
    a = np.asarray(values)
    indent = len(prefix)
    extra = []
    if a.size == 0:
        if a.ndim != 1:
            extra.append(f"size={tuple(int(n) for n in a.shape)}")
        # nothing to infer the dtype from: only the default float dtype goes unnamed
        if not (is_default_dtype and np.issubdtype(a.dtype, np.floating)):
            extra.append(f"dtype={dtype_repr}")
        body = "[]"
    else:
        if not _opts["edgeitems"]:
            extra.append(f"size={tuple(int(n) for n in a.shape)}")
        if not is_default_dtype:
            extra.append(f"dtype={dtype_repr}")
        summarize = a.size > _opts["threshold"]
        fmt = _Formatter(_summarized(a) if summarize else a)
        body = _body_str(a, indent, summarize, fmt)
    return _add_suffixes(prefix + body, extra + list(suffixes), indent)
