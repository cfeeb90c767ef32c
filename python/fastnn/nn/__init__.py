"""fastnn.nn: modules, parameters, functional ops and initialisers."""

from fastnn.nn import functional, init  # noqa: F401
from fastnn.nn.modules import *  # noqa: F401,F403
from fastnn.nn.parameter import Parameter  # noqa: F401
from fastnn.nn import utils  # noqa: F401
from fastnn.nn import parallel  # noqa: F401,E402
from fastnn.nn.parallel import DataParallel  # noqa: F401,E402
