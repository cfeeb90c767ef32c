"""fastnn.utils: the data pipeline (``fastnn.utils.data``) and hook handles (``fastnn.utils.hooks``)."""

from fastnn.utils import data, hooks  # noqa: F401
