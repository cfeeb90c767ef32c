"""fastnn.utils.data: datasets, samplers and the DataLoader, with torch.utils.data's names and
behaviour."""

from fastnn._C import Generator
from fastnn.utils.data._collate import default_collate, default_convert
from fastnn.utils.data.dataloader import DataLoader, get_worker_info
from fastnn.utils.data.distributed import DistributedSampler
from fastnn.utils.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from fastnn.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "Generator",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
