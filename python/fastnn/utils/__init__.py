"""fastnn.utils: the data pipeline (``fastnn.utils.data``)."""

from fastnn.utils import data  # noqa: F401
