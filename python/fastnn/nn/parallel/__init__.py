"""fastnn.nn.parallel: DataParallel as torch has it without GPUs (a transparent wrapper whose .module runs
the forward) and DistributedDataParallel over fastnn.distributed's ranks (distributed.py)."""

from fastnn.nn.modules.module import Module
from fastnn.nn.parallel.distributed import DistributedDataParallel  # noqa: F401


class DataParallel(Module):
    """Wraps `module` (reachable as .module, state_dict keys 'module.*'); with no GPU the wrapped module runs
    the forward itself and device_ids end up empty, as in torch."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"[DataParallel] module must be a fastnn.nn.Module, got {type(module).__name__}")
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"[DataParallel] dim must be an int, got {type(dim).__name__}")
        if device_ids is not None and not isinstance(device_ids, (list, tuple)):
            raise TypeError(f"[DataParallel] device_ids must be a list, got {type(device_ids).__name__}")
        self.module, self.dim = module, dim
        self.device_ids, self.output_device = [], None  # torch's values when no GPU is available

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
