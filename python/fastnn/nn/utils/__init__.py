"""fastnn.nn.utils: gradient clipping and parameter/vector conversion, laid out as torch.nn.utils."""

from fastnn.nn.utils import clip_grad, convert_parameters  # noqa: F401
from fastnn.nn.utils import rnn  # noqa: F401
from fastnn.nn.utils.clip_grad import (  # noqa: F401
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from fastnn.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
