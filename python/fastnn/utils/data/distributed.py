"""DistributedSampler: each rank of a process group reads its own 1/num_replicas of the dataset, as torch's."""

import math

import numpy as np

from fastnn._C import Generator
from fastnn._factories import randperm
from fastnn.utils.data.sampler import Sampler


class DistributedSampler(Sampler):
    """Rank `rank` of `num_replicas` takes indices rank, rank + num_replicas, ... of the epoch's order (a
    permutation seeded with seed + epoch when shuffling; call set_epoch each epoch). Without drop_last the order is
    padded with its own first indices so that every rank gets the same number; with it the tail is dropped."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from fastnn import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    "Requires distributed package to be available (call fastnn.distributed.init_process_group, "
                    "or pass num_replicas and rank)"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        for name, value in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if num_replicas < 1:
            raise ValueError(f"num_replicas must be positive, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = bool(shuffle), seed, bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def _index_array(self):
        n = len(self.dataset)
        if self.shuffle:
            order = randperm(n, generator=Generator().manual_seed(self.seed + self.epoch)).numpy()
        else:
            order = np.arange(n, dtype=np.int64)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:
            order = np.resize(order, self.total_size)  # repeats the order from its start
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch whose order the next iteration gives (the same on every rank)."""
        self.epoch = epoch
