"""fastnn.optim: optimizers whose update rules run in C++."""

from fastnn.optim import lr_scheduler  # noqa: F401
from fastnn.optim.adaptive import Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop  # noqa: F401
from fastnn.optim.optimizer import Optimizer  # noqa: F401
from fastnn.optim.sgd import SGD  # noqa: F401
