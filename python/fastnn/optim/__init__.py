"""fastnn.optim: optimizers whose update rules run in C++."""

from fastnn.optim.optimizer import Optimizer  # noqa: F401
from fastnn.optim.sgd import SGD  # noqa: F401
