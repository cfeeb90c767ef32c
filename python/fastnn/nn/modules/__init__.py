from fastnn.nn.modules.activation import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh  # noqa: F401
from fastnn.nn.modules.container import Sequential  # noqa: F401
from fastnn.nn.modules.conv import Conv2d  # noqa: F401
from fastnn.nn.modules.linear import Flatten, Identity, Linear  # noqa: F401
from fastnn.nn.modules.loss import CrossEntropyLoss, MSELoss, NLLLoss  # noqa: F401
from fastnn.nn.modules.module import Module  # noqa: F401
from fastnn.nn.modules.pooling import AvgPool2d, MaxPool2d  # noqa: F401
