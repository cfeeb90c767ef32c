"""fastnn.backends: torch.backends' switches, kept so scripts can set them. fastnn has no cuDNN, MPS or CUDA
backend: cudnn's flags are settable attributes that change nothing (fastnn's kernels are deterministic anyway)."""

from fastnn.backends import cuda, cudnn, mps  # noqa: F401
