from fastnn.nn.modules.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softmin, Tanh  # noqa: F401
from fastnn.nn.modules.activation import LogSigmoid, SiLU, Softplus  # noqa: F401
from fastnn.nn.modules.activation import MultiheadAttention  # noqa: F401
from fastnn.nn.modules.transformer import (  # noqa: F401
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from fastnn.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from fastnn.nn.modules.container import ModuleDict, ModuleList, Sequential  # noqa: F401
from fastnn.nn.modules.conv import Conv2d  # noqa: F401
from fastnn.nn.modules.distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from fastnn.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, FeatureAlphaDropout  # noqa: F401
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
from fastnn.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from fastnn.nn.modules.conv import Conv1d, ConvTranspose1d, ConvTranspose2d  # noqa: F401,E402
from fastnn.nn.modules.pooling import (  # noqa: F401,E402
    AdaptiveAvgPool1d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    LPPool1d,
    LPPool2d,
    MaxPool1d,
    MaxUnpool1d,
    MaxUnpool2d,
)
from fastnn.nn.modules.padding import (  # noqa: F401,E402
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad1d,
    ZeroPad2d,
)
from fastnn.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401,E402
from fastnn.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401,E402
from fastnn.nn.modules.fold import Fold, Unfold  # noqa: F401,E402
from fastnn.nn.modules.activation import (  # noqa: F401
    CELU,
    ELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Mish,
    PReLU,
    ReLU6,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from fastnn.nn.modules.loss import (  # noqa: F401
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from fastnn.nn.modules.sparse import EmbeddingBag  # noqa: F401
from fastnn.nn.modules.normalization import GroupNorm, LayerNorm, RMSNorm  # noqa: F401
from fastnn.nn.modules.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d  # noqa: F401
