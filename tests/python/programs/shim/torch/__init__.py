"""Installs fastnn as `torch` for the programs in tests/python/programs (see tests/python/test_programs.py)."""

import importlib
import sys

import fastnn

sys.modules["torch"] = fastnn
for _name in (
    "nn",
    "nn.functional",
    "nn.init",
    "nn.utils",
    "nn.parameter",
    "optim",
    "optim.lr_scheduler",
    "utils",
    "utils.data",
    "autograd",
    "autograd.function",
    "distributed",
    "nn.parallel",
    "utils.data.distributed",
):
    try:
        sys.modules["torch." + _name] = importlib.import_module("fastnn." + _name)
    except ImportError:  # a missing submodule then fails the program that imports it, with torch's name in the error
        pass
