"""fastnn.utils: the data pipeline (``fastnn.utils.data``), DLPack exchange (``fastnn.utils.dlpack``), hook
handles (``fastnn.utils.hooks``) and a picture of the autograd graph (``fastnn.utils.viz.make_dot``)."""

from fastnn.utils import data, dlpack, hooks, viz  # noqa: F401
