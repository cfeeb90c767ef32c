"""LeNet on a GPU: fastnn's CUDA backend against PyTorch's CUDA (eager), interleaved in one process.

    python -m bench --device cuda          # needs a CUDA build of fastnn (docs/cuda.md) and torch with CUDA

Rows (issue #14's targets, ratio = fastnn time / torch time): the training step at batch 1, 64, 256 and 1,024
(<= 1.0 of torch eager), and one 60,000-sample epoch at batch 64 (faster than torch eager). Each timed call ends
with its library's synchronize, so a sample is the whole step's GPU time, not its launch time. torch's step
captured as a CUDA graph is printed beside them for reference (fastnn has no graph replay on the GPU yet).
"""

import numpy as np

from bench import _timing
from bench.lenet import Pair, epoch_fns

TRAIN_BATCHES = (1, 64, 256, 1024)


def synced(step, sync):
    def call():
        step()
        sync()

    if hasattr(step, "reset"):
        call.reset = step.reset
    return call


def torch_graph_step(pair, n):
    """torch's training step (zero_grad, forward, loss, backward, SGD) captured as a CUDA graph, replayed."""
    torch = pair.torch
    (_, _), (x, y) = pair.batch(n)
    tm, topt, tce = pair.tm, pair.topt, pair.TF.cross_entropy
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # warm-up on a side stream, as torch's docs ask before capture
        for _ in range(3):
            topt.zero_grad(set_to_none=True)
            tce(tm(x), y).backward()
            topt.step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    topt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        tce(tm(x), y).backward()
        topt.step()
    step = synced(graph.replay, torch.cuda.synchronize)
    # A replay reads and writes the captured addresses: the batch, the model, its gradients and the optimizer's
    # state must outlive the graph. Freed, their memory went to other tensors, which the replays then overwrote
    # (on the H200, torch's own eager targets at batch 64: "nll_loss ... Assertion `t >= 0 && t < n_classes`").
    step.keep_alive = (pair, x, y)
    return step


def main(reps=7, block_s=0.1):
    import torch

    import fastnn

    if not fastnn.cuda.is_available():
        raise SystemExit("bench --device cuda: fastnn has no GPU here (a CUDA build on a machine with a GPU)")
    if not torch.cuda.is_available():
        raise SystemExit("bench --device cuda: this torch has no CUDA")
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, fastnn {fastnn.__version__}")
    rows = []
    for b in TRAIN_BATCHES:
        pair = Pair(torch, fastnn, device="cuda")
        f_step, t_step = pair.train_steps(b)
        fns = {"fastnn": synced(f_step, fastnn.cuda.synchronize), "torch": synced(t_step, torch.cuda.synchronize)}
        try:
            fns["torch graph"] = torch_graph_step(Pair(torch, fastnn, device="cuda"), b)
        except Exception as e:  # a torch build without graph support: the row says so
            print(f"  torch CUDA graph at batch {b}: {type(e).__name__}: {e}")
        s = _timing.interleaved(fns, reps, block_s)
        med = {k: _timing.median(v) for k, v in s.items()}
        rows.append((f"train step batch {b}", med["fastnn"], med["torch"], med.get("torch graph"), 1.0))
    pair = Pair(torch, fastnn, device="cuda")
    f_epoch, t_epoch = epoch_fns(pair)
    s = _timing.interleaved(
        {"fastnn": synced(f_epoch, fastnn.cuda.synchronize), "torch": synced(t_epoch, torch.cuda.synchronize)}, 1, 0
    )
    rows.append(("epoch 60,000 at batch 64", s["fastnn"][0], s["torch"][0], None, 1.0))
    print(f"{'case':28s} {'fastnn':>12s} {'torch eager':>12s} {'ratio':>7s} {'target':>7s} {'torch graph':>12s}")
    for case, f, t, g, target in rows:
        ratio = f / t
        verdict = "PASS" if ratio <= target else "MISS"
        graph = f"{g * 1e3:9.3f} ms" if g is not None else ""
        print(f"{case:28s} {f * 1e3:9.3f} ms {t * 1e3:9.3f} ms {ratio:7.3f} <={target:<5g} {verdict} {graph}")
    return rows


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
