"""The main job: train the tutorial's LeNet on handwritten digits, as a PyTorch user would write it.

    python -m fastnn.train                      # scikit-learn's digits (bundled, offline), 20 epochs
    python -m fastnn.train --dataset mnist --data-dir ~/data --download
    python -m fastnn.train --resume checkpoints/last.safetensors --epochs 30

Every epoch prints train/test accuracy and writes a checkpoint (model, optimizer, data-order
generator, history) with fastnn.save; --resume continues bitwise-identically to an uninterrupted run.
The run ends with a PNG of the curves and a one-line summary.
"""

import argparse
import os
import sys
import time

import fastnn as torch
import fastnn.nn as nn
import fastnn.nn.functional as F
import fastnn.optim as optim
from fastnn.utils.data import DataLoader


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


def load_data(args):
    """(train set, test set) of 1x32x32 float images and int labels."""
    from fastnn import datasets

    if args.dataset == "digits":
        return datasets.Digits(train=True, seed=args.seed), datasets.Digits(train=False, seed=args.seed)
    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[args.dataset]
    transform = datasets.transforms.Compose([datasets.transforms.ToTensor(), datasets.transforms.Pad(2)])
    root = args.data_dir or os.path.join(os.path.expanduser("~"), ".cache", "fastnn")
    return (cls(root, train=True, download=args.download, transform=transform),
            cls(root, train=False, download=args.download, transform=transform))


def make_optimizer(name, params, lr):
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    return {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}[name](params, lr=lr)


@torch.no_grad()
def accuracy(net, loader):
    net.eval()
    correct = total = 0
    for images, labels in loader:
        correct += int((net(images).argmax(1) == labels).sum())
        total += len(labels)
    net.train()
    return correct / max(total, 1)


def save_plot(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    ax2.plot(epochs, history["train_acc"], marker="o", label="train")
    ax2.plot(epochs, history["test_acc"], marker="o", label="test")
    ax2.set(title="accuracy", xlabel="epoch", ylabel="accuracy")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="fastnn-train", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist"], default="digits")
    p.add_argument("--data-dir", default=None, help="where MNIST/FashionMNIST files are (or are downloaded to)")
    p.add_argument("--download", action="store_true", help="download MNIST/FashionMNIST if missing")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"], default="sgd")
    p.add_argument("--threads", type=int, default=None, help="OpenMP threads (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-dir", default="checkpoints")
    p.add_argument("--resume", default=None, help="a checkpoint written by an earlier run")
    p.add_argument("--plot", default="training_curves.png")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in logs)")
    p.add_argument("--export-onnx", metavar="PATH", default=None, help="write the trained model as ONNX (needs onnx)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    train_set, test_set = load_data(args)
    order = torch.Generator().manual_seed(args.seed)  # the order of training batches, checkpointed
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=order)
    eval_train = DataLoader(train_set, batch_size=512)
    eval_test = DataLoader(test_set, batch_size=512)

    net = LeNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(args.optimizer, net.parameters(), args.lr)
    history = {"loss": [], "train_acc": [], "test_acc": []}
    first_epoch = 0
    if args.resume:
        ckpt = torch.load(args.resume)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        order.set_state(ckpt["data_order"])
        history, first_epoch = ckpt["history"], ckpt["epoch"]
        print(f"resumed from {args.resume} after epoch {first_epoch}")

    os.makedirs(args.checkpoint_dir, exist_ok=True)
    from tqdm import tqdm

    samples = 0
    train_time = 0.0
    for epoch in range(first_epoch, args.epochs):
        t0 = time.perf_counter()
        total_loss, batches = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", leave=False,
                   disable=args.no_progress, file=sys.stdout)
        for images, labels in bar:
            optimizer.zero_grad()
            loss = criterion(net(images), labels)
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            batches += 1
            samples += len(labels)
            elapsed = time.perf_counter() - t0
            bar.set_postfix(loss=f"{loss.item():.4f}", samples_per_s=f"{samples / (train_time + elapsed):.0f}")
        train_time += time.perf_counter() - t0
        history["loss"].append(total_loss / max(batches, 1))
        history["train_acc"].append(accuracy(net, eval_train))
        history["test_acc"].append(accuracy(net, eval_test))
        print(f"epoch {epoch + 1:3d}  loss {history['loss'][-1]:.4f}  train acc {history['train_acc'][-1]:.2%}  "
              f"test acc {history['test_acc'][-1]:.2%}")
        checkpoint = {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "data_order": order.get_state(),
                      "history": history, "epoch": epoch + 1, "args": vars(args)}
        torch.save(checkpoint, os.path.join(args.checkpoint_dir, f"epoch_{epoch + 1}.safetensors"))
        torch.save(checkpoint, os.path.join(args.checkpoint_dir, "last.safetensors"))

    if args.plot and history["loss"]:
        save_plot(history, args.plot)
    wall = time.perf_counter() - start
    rate = samples / train_time if train_time else 0.0
    final = history["test_acc"][-1] if history["test_acc"] else float("nan")
    print(f"done: test accuracy {final:.2%} | {len(history['loss'])} epochs | wall time {wall:.1f} s | "
          f"{rate:.0f} samples/s | checkpoint {os.path.join(args.checkpoint_dir, 'last.safetensors')} | "
          f"plot {args.plot}")
    if args.export_onnx:
        from fastnn.onnx import export_trained

        export_trained(net, train_set[0][0], args.export_onnx)
    return net, history


if __name__ == "__main__":
    main()
