from fastnn.nn.modules.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softmin, Tanh  # noqa: F401
from fastnn.nn.modules.activation import LogSigmoid, SiLU, Softplus  # noqa: F401
from fastnn.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from fastnn.nn.modules.container import ModuleDict, ModuleList, Sequential  # noqa: F401
from fastnn.nn.modules.conv import Conv2d  # noqa: F401
from fastnn.nn.modules.dropout import Dropout, Dropout2d  # noqa: F401
from fastnn.nn.modules.linear import Flatten, Identity, Linear, Unflatten  # noqa: F401
from fastnn.nn.modules.loss import (  # noqa: F401
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from fastnn.nn.modules.module import Module  # noqa: F401
from fastnn.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401
from fastnn.nn.modules.sparse import Embedding  # noqa: F401
from fastnn.nn.modules.normalization import GroupNorm, LayerNorm, RMSNorm  # noqa: F401
from fastnn.nn.modules.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d  # noqa: F401
