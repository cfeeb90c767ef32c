"""Run by tests/python/test_distributed.py under mpirun: one rank fails while the others wait in a collective.
argv[1]: 'raise' (rank 1 raises), 'kill' (rank 1 is killed), 'hang' (rank 1 stops calling collectives: the
others' wait times out after 2 s). The job must end, never hang."""

import datetime
import os
import signal
import sys
import time

import fastnn as torch
import fastnn.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2))
rank = dist.get_rank()
dist.barrier()
if rank == 1:
    if mode == "raise":
        raise ValueError("rank 1 failed on purpose")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(120)  # 'hang': never joins the all_reduce below
dist.all_reduce(torch.ones(4))
print("the all_reduce returned without rank 1", flush=True)
