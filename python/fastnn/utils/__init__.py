"""fastnn.utils: the data pipeline (``fastnn.utils.data``), hook handles (``fastnn.utils.hooks``) and a picture of
the autograd graph (``fastnn.utils.viz.make_dot``)."""

from fastnn.utils import data, hooks, viz  # noqa: F401
