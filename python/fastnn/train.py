"""The main job: train the tutorial's LeNet on handwritten digits, as a PyTorch user would write it.

    python -m fastnn.train                      # scikit-learn's digits (bundled, offline), 20 epochs
    python -m fastnn.train --dataset mnist --data-dir ~/data --download
    python -m fastnn.train --resume checkpoints/last.safetensors --epochs 30
    mpirun -n 2 fastnn-train --distributed --threads 1   # data-parallel over 2 processes (docs/distributed.md)

Every epoch prints train/test accuracy and writes a checkpoint (model, optimizer, data-order
generator, history) with fastnn.save; --resume continues bitwise-identically to an uninterrupted run.
The run ends with a PNG of the curves and a one-line summary. Mistakes on the command line are
one-line errors naming the flag (exit code 2), found before anything is trained or written.
"""

import argparse
import math
import os
import shutil
import sys
import time

import fastnn as torch
import fastnn.distributed as dist
import fastnn.nn as nn
import fastnn.nn.functional as F
import fastnn.optim as optim
from fastnn.utils.data import DataLoader, DistributedSampler, Subset


class LeNet(nn.Module):
    """The "Neural Networks" tutorial's network: two 5x5 convolutions, three linear layers."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def fail(message, code=2):
    """Ends the command with a one-line error (exit code 2: a mistake on the command line)."""
    sys.stderr.write(f"fastnn-train: error: {message}\n")
    raise SystemExit(code)


def load_data(args):
    """(train set, test set) of 1x32x32 float images and int labels."""
    from fastnn import datasets

    if args.dataset == "digits":
        return datasets.Digits(train=True, seed=args.seed), datasets.Digits(train=False, seed=args.seed)
    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[args.dataset]
    transform = datasets.transforms.Compose([datasets.transforms.ToTensor(), datasets.transforms.Pad(2)])
    root = args.data_dir or os.path.join(os.path.expanduser("~"), ".cache", "fastnn")
    new_dirs = missing_dirs(os.path.join(root, cls.__name__, "raw"))
    try:
        return (
            cls(root, train=True, download=args.download, transform=transform),
            cls(root, train=False, download=args.download, transform=transform),
        )
    except (RuntimeError, ValueError, OSError) as e:
        for d in new_dirs:  # a failed download leaves no empty folders behind
            if os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)
        if args.download:
            fail(str(e), code=1)  # not a mistake on the command line: the network or the mirrors failed
        if isinstance(e, RuntimeError):
            raw = os.path.join(root, cls.__name__, "raw")
            fail(
                f"--dataset {args.dataset}: no {cls.__name__} files in {root} or {raw}; "
                "pass --download to fetch them, or --data-dir DIR where they are"
            )
        fail(f"--data-dir {root}: {e}")


def missing_dirs(path):
    """The folders on the way to `path` that do not exist yet, deepest first."""
    dirs = []
    path = os.path.abspath(path)
    while not os.path.exists(path):
        dirs.append(path)
        path = os.path.dirname(path)
    return dirs


DEFAULT_LR = {"sgd": 0.02, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}


def make_optimizer(name, params, lr):
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    return {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}[name](
        params, lr=lr
    )


@torch.no_grad()
def accuracy(net, loader, device="cpu", distributed=False):
    """The fraction of the loader's samples classified right (with distributed, of every rank's loader)."""
    net.eval()
    correct = total = 0
    for images, labels in loader:
        correct += int((net(images.to(device)).argmax(1) == labels.to(device)).sum())
        total += len(labels)
    net.train()
    if distributed:
        counts = torch.tensor([correct, total])
        dist.all_reduce(counts)
        correct, total = counts.tolist()
    return correct / max(total, 1)


def save_plot(history, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    fig.suptitle(title)
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set(title="training loss", xlabel="epoch", ylabel="cross-entropy (log scale)", yscale="log")
    ax2.plot(epochs, history["train_acc"], marker="o", label="train")
    ax2.plot(epochs, history["test_acc"], marker="o", label="test")
    ax2.set(title="accuracy", xlabel="epoch", ylabel="accuracy")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_graph(net, criterion, train_set, path, device="cpu"):
    """Draws the autograd graph of one batch's loss (fastnn.utils.viz.make_dot) as SVG or PNG."""
    from fastnn.utils.viz import make_dot

    images, labels = next(iter(DataLoader(train_set, batch_size=2)))
    loss = criterion(net(images.to(device)), labels.to(device))
    dot = make_dot(loss, params=dict(net.named_parameters()))
    with open(path, "wb") as f:
        f.write(dot.pipe(format=os.path.splitext(path)[1][1:].lower()))


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        fail(message)


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(
                f"expected a positive {'integer' if kind is int else 'number'}, got {text!r}"
            )
        return value

    return parse


def parse_args(argv=None):
    p = _Parser(prog="fastnn-train", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist"], default="digits")
    p.add_argument("--data-dir", default=None, help="where MNIST/FashionMNIST files are (or are downloaded to)")
    p.add_argument("--download", action="store_true", help="download MNIST/FashionMNIST if missing")
    p.add_argument("--epochs", type=positive(int), default=20)
    p.add_argument("--batch-size", type=positive(int), default=32)
    p.add_argument(
        "--lr",
        type=positive(float),
        default=None,
        help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")",
    )
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"], default="sgd")
    p.add_argument(
        "--threads",
        type=positive(int),
        default=None,
        help="threads (default: OMP_NUM_THREADS, or all cores shared among the ranks on this machine)",
    )
    p.add_argument(
        "--device", default="cpu", help="where to train: cpu, cuda or cuda:N (needs a CUDA build of fastnn and a GPU)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-dir", default="checkpoints")
    p.add_argument("--resume", default=None, help="a checkpoint written by an earlier run")
    p.add_argument("--plot", default="training_curves.png", help="the curves' image (PNG, SVG, PDF, ...; '' for none)")
    p.add_argument("--plot-graph", default=None, metavar="PATH", help="draw the autograd graph as SVG or PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (drawn only on a terminal)")
    p.add_argument(
        "--compile",
        action="store_true",
        help="capture the training step once and replay it from C++ (fastnn.compile); same results, less overhead",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="train data-parallel over the ranks of an MPI job (mpirun -n N fastnn-train --distributed); "
        "--batch-size is per rank",
    )
    p.add_argument("--export-onnx", metavar="PATH", default=None, help="write the trained model as ONNX (needs onnx)")
    p.add_argument("--version", action="version", version=f"%(prog)s {torch.__version__}")
    args = p.parse_args(argv)
    args.progress_bar = not args.no_progress and sys.stdout.isatty()
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    check_args(args)
    return args


def needs(module, flag, hint):
    try:
        __import__(module)
    except ImportError:
        fail(f"{flag} needs {module} (pip install {module}){hint}")


def check_output_path(flag, path, extensions):
    ext = os.path.splitext(path)[1][1:].lower()
    if ext not in extensions:
        fail(
            f"{flag} {path}: unknown image type {repr(ext) if ext else '(no extension)'}; use one of "
            + ", ".join("." + e for e in extensions)
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        fail(f"{flag} {path}: folder {folder} does not exist")


def check_args(args):
    """Every mistake on the command line is found here, before data is read or anything is written."""
    try:
        device = torch.device(args.device)
    except (RuntimeError, ValueError) as e:
        fail(f"--device {args.device}: {e}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "fastnn was built for the CPU only" if not torch._C._cuda_built() else "no CUDA GPU was found"
            fail(f"--device {args.device}: {why} (docs/cuda.md)")
        if (device.index or 0) >= torch.cuda.device_count():
            fail(f"--device {args.device}: this machine has {torch.cuda.device_count()} GPU(s)")
        if args.compile:
            fail("--compile replays on the CPU only so far: drop --compile or use --device cpu")
    elif device.type != "cpu":
        fail(f"--device {args.device}: expected cpu, cuda or cuda:N")
    if args.distributed and args.compile:
        fail("--compile cannot replay a --distributed step yet (its gradient reduction runs in backward hooks)")
    if args.distributed and not dist.is_mpi_available():
        fail("--distributed needs MPI and mpi4py (apt-get install openmpi-bin libopenmpi-dev; pip install mpi4py)")
    if args.progress_bar:
        needs("tqdm", "the progress bar", " or --no-progress")
    if args.plot:
        needs("matplotlib", "--plot", ", or --plot '' for no plot")
        from matplotlib.figure import Figure

        check_output_path("--plot", args.plot, sorted(Figure().canvas.get_supported_filetypes()))
    if args.plot_graph:
        needs("graphviz", "--plot-graph", "")
        if shutil.which("dot") is None:
            fail("--plot-graph needs Graphviz's dot program (e.g. apt-get install graphviz)")
        check_output_path("--plot-graph", args.plot_graph, ["svg", "png"])
    if args.export_onnx:
        needs("onnx", "--export-onnx", "")
        folder = os.path.dirname(os.path.abspath(args.export_onnx))
        if not os.path.isdir(folder):
            fail(f"--export-onnx {args.export_onnx}: folder {folder} does not exist")
    if args.resume and not os.path.isfile(args.resume):
        fail(f"--resume {args.resume}: no such file")
    check_folder("--checkpoint-dir", args.checkpoint_dir)
    if args.dataset == "digits" and (args.data_dir or args.download):
        fail(
            f"{'--data-dir' if args.data_dir else '--download'} is for --dataset mnist or fashion-mnist "
            "(the digits ship with scikit-learn)"
        )
    if args.data_dir and args.download:
        check_folder("--data-dir", args.data_dir)


def check_folder(flag, path):
    """A folder that exists and can be written, or that can be created (checked without creating it)."""
    existing = path
    while existing and not os.path.exists(existing):
        existing = os.path.dirname(existing.rstrip(os.sep))
    existing = existing or "."
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        fail(f"{flag} {path}: cannot write there ({existing} is not a writable folder)")


def load_checkpoint(args):
    try:
        ckpt = torch.load(args.resume, map_location="cpu")  # load_state_dict then moves it to the model's device
    except (ValueError, OSError) as e:
        fail(f"--resume {args.resume}: {e}")
    if not isinstance(ckpt, dict) or not {"model", "optimizer", "data_order", "history", "epoch"} <= ckpt.keys():
        fail(f"--resume {args.resume}: not a checkpoint written by fastnn-train")
    trained_with = ckpt.get("args", {}).get("optimizer", args.optimizer)
    if trained_with != args.optimizer:
        fail(f"--resume {args.resume}: the checkpoint was trained with --optimizer {trained_with}")
    return ckpt


def main(argv=None):
    run(parse_args(argv))
    return 0


def run(args):
    """Trains as the parsed arguments say; returns (model, history). With --distributed every rank trains on its
    part of each epoch, and only rank 0 prints and writes files."""
    rank, world = 0, 1
    if args.distributed:
        dist.init_process_group("mpi")
        rank, world = dist.get_rank(), dist.get_world_size()
        if not args.threads and "OMP_NUM_THREADS" not in os.environ:  # the ranks on this machine share its cores
            args.threads = max(1, (os.cpu_count() or 1) // int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE", 1)))
    if args.threads:
        torch.set_num_threads(args.threads)
    lead = rank == 0
    say = print if lead else (lambda *a, **k: None)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    train_set, test_set = load_data(args)
    order = torch.Generator().manual_seed(args.seed)  # the order of training batches, checkpointed
    if args.distributed:  # each epoch's order from seed + epoch, the same on every rank; each rank its share
        sampler = DistributedSampler(train_set, seed=args.seed)
        train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
        shard = lambda data: Subset(data, range(rank, len(data), world))  # noqa: E731
        eval_train = DataLoader(shard(train_set), batch_size=512)
        eval_test = DataLoader(shard(test_set), batch_size=512)
    else:
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=order)
        eval_train = DataLoader(train_set, batch_size=512)
        eval_test = DataLoader(test_set, batch_size=512)

    device = torch.device(args.device)
    net = LeNet().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(args.optimizer, net.parameters(), args.lr)
    history = {"loss": [], "train_acc": [], "test_acc": []}
    first_epoch = 0
    if args.resume:
        ckpt = load_checkpoint(args)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        order.set_state(ckpt["data_order"])
        history, first_epoch = ckpt["history"], ckpt["epoch"]
        say(f"resumed from {args.resume} after epoch {first_epoch}")
    model = nn.parallel.DistributedDataParallel(net) if args.distributed else net

    if args.plot_graph and lead:
        save_graph(net, criterion, train_set, args.plot_graph, device)
    if lead:
        os.makedirs(args.checkpoint_dir, exist_ok=True)
    if args.progress_bar and lead:
        from tqdm import tqdm

    def train_step(images, labels):
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    step = torch.compile(train_step) if args.compile else train_step
    samples = 0
    train_time = 0.0
    for epoch in range(first_epoch, args.epochs):
        if args.distributed:
            sampler.set_epoch(epoch)
        t0 = time.perf_counter()
        total_loss, batches = 0.0, 0
        bar = None
        if args.progress_bar and lead:
            bar = tqdm(
                train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", leave=False, file=sys.stdout
            )
        for images, labels in bar if bar is not None else train_loader:
            loss = step(images.to(device), labels.to(device))
            total_loss += loss.item()
            batches += 1
            samples += len(labels) * world
            if bar is not None:
                elapsed = time.perf_counter() - t0
                bar.set_postfix(loss=f"{loss.item():.4f}", samples_per_s=f"{samples / (train_time + elapsed):.0f}")
        train_time += time.perf_counter() - t0
        if args.distributed:  # the mean over every rank's batches
            sums = torch.tensor([total_loss, batches], dtype=torch.float64)
            dist.all_reduce(sums)
            total_loss, batches = sums.tolist()
        history["loss"].append(total_loss / max(batches, 1))
        history["train_acc"].append(accuracy(net, eval_train, device, args.distributed))
        history["test_acc"].append(accuracy(net, eval_test, device, args.distributed))
        say(
            f"epoch {epoch + 1:3d}  loss {history['loss'][-1]:.4f}  train acc {history['train_acc'][-1]:.2%}  "
            f"test acc {history['test_acc'][-1]:.2%}"
        )
        if lead:
            checkpoint = {
                "model": net.state_dict(),
                "optimizer": optimizer.state_dict(),
                "data_order": order.get_state(),
                "history": history,
                "epoch": epoch + 1,
                "args": vars(args),
            }
            torch.save(checkpoint, os.path.join(args.checkpoint_dir, f"epoch_{epoch + 1}.safetensors"))
            torch.save(checkpoint, os.path.join(args.checkpoint_dir, "last.safetensors"))

    if args.plot and history["loss"] and lead:
        save_plot(
            history,
            args.plot,
            f"LeNet on {args.dataset}, {args.optimizer} (lr {args.lr:g}), batch size {args.batch_size}"
            + (f" x {world} ranks" if args.distributed else ""),
        )
    wall = time.perf_counter() - start
    rate = samples / train_time if train_time else 0.0
    final = history["test_acc"][-1] if history["test_acc"] else float("nan")
    say(
        f"done: test accuracy {final:.2%} | {len(history['loss'])} epochs | wall time {wall:.1f} s | "
        f"{rate:.0f} samples/s | checkpoint {os.path.join(args.checkpoint_dir, 'last.safetensors')} | "
        f"plot {args.plot}"
    )
    if args.export_onnx and lead:
        from fastnn.onnx import export_trained

        export_trained(net, train_set[0][0], args.export_onnx)
    if args.distributed:
        dist.destroy_process_group()
    return net, history


if __name__ == "__main__":
    sys.exit(main())
