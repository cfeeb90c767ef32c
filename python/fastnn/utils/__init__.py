"""fastnn.utils: the data pipeline (``fastnn.utils.data``), DLPack exchange (``fastnn.utils.dlpack``) and hook
handles (``fastnn.utils.hooks``)."""

from fastnn.utils import data, dlpack, hooks  # noqa: F401
