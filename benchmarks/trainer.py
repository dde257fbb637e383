"""The proxy trainer against two hand-written loops, in one process, on the same network and data.

    python benchmarks/trainer.py [--epochs 3] [--repeats 3] [--threads N] [--device cpu]

All three train SqueezeNet v1.0 (10 classes, 32x32) on the digits training split from seed 0 and are
measured on the same validation split:
  plain   the paper-style reference: DataLoader over a TensorDataset, fp32, no BatchNorm,
          SGD lr 0.04, momentum 0.9, weight decay 2e-4, batch 64;
  bn      a hand-written BatchNorm loop (docs/performance): AdamW with a one-cycle schedule, label
          smoothing 0.1, batches indexed straight from tensors, no augmentation, evaluated once;
  sqzdse  `train_proxy` with the default TrainConfig (augmentation, evaluation after every epoch).
Seconds are wall-clock from building the network to the last evaluation; images/s is training images
(epochs x split size) over those seconds. Runs are interleaved and repeated; the fastest run of each
loop is the least disturbed by other processes, so the table and the ratios use it (medians too).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from sqzdse.arch import preset
from sqzdse.data import DataSpec, Dataset, load_dataset
from sqzdse.model import build_model
from sqzdse.train import TrainConfig, resolve_device, train_proxy

SEED = 0
BATCH = 64


def normalised(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(data.mean, device=data.device).view(1, 3, 1, 1)
    std = torch.tensor(data.std, device=data.device).view(1, 3, 1, 1)
    return ((data.train_x.float() / 255 - mean) / std, (data.val_x.float() / 255 - mean) / std)


@torch.no_grad()
def top1(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return (model(x).argmax(1) == y).float().mean().item()


def plain_loop(cfg, data: Dataset, epochs: int) -> float:
    torch.manual_seed(SEED)
    train_x, val_x = normalised(data)
    model = build_model(cfg, batchnorm=False).to(data.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.04, momentum=0.9, weight_decay=2e-4)
    loader = DataLoader(TensorDataset(train_x, data.train_y), batch_size=BATCH, shuffle=True)
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return top1(model, val_x, data.val_y)


def batchnorm_loop(cfg, data: Dataset, epochs: int) -> float:
    torch.manual_seed(SEED)
    train_x, val_x = normalised(data)
    model = build_model(cfg, batchnorm=True).to(data.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    n = len(data.train_y)
    steps = (n + BATCH - 1) // BATCH
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=epochs * steps)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, device=data.device)
        for idx in order.tensor_split(steps):  # even batches: BatchNorm needs no 1-image remainder
            loss = F.cross_entropy(model(train_x[idx]), data.train_y[idx], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return top1(model, val_x, data.val_y)


def project_trainer(cfg, data: Dataset, epochs: int) -> float:
    config = TrainConfig(epochs=epochs, seed=SEED, device=str(data.device))
    result = train_proxy(cfg, data, config)
    if result.status != "ok":
        raise SystemExit(f"sqzdse trainer failed: {result.reason}")
    return result.top1


LOOPS = {"plain": plain_loop, "bn": batchnorm_loop, "sqzdse": project_trainer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs of each loop")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data = load_dataset(DataSpec(name="digits", resolution=32), device=device)
    cfg = preset("v1.0", num_classes=data.num_classes, resolution=32)
    n = len(data.train_y)
    print(f"SqueezeNet v1.0 on digits 32x32: {n} training / {len(data.val_y)} validation images, "
          f"{args.epochs} epochs, seed {SEED}, {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads, {args.repeats} interleaved repeats")

    seconds: dict[str, list[float]] = {name: [] for name in LOOPS}
    accuracy: dict[str, list[float]] = {name: [] for name in LOOPS}
    for _ in range(args.repeats):
        for name, loop in LOOPS.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            accuracy[name].append(loop(cfg, data, args.epochs))
            seconds[name].append(time.perf_counter() - start)

    best = {name: min(s) for name, s in seconds.items()}
    median = {name: statistics.median(s) for name, s in seconds.items()}
    top = {name: statistics.median(a) for name, a in accuracy.items()}
    print(f"{'loop':<8} {'top-1':>6} {'images/s':>9} {'seconds':>8} {'median':>7}   all runs (s)")
    for name in LOOPS:
        runs = ", ".join(f"{s:.2f}" for s in seconds[name])
        print(f"{name:<8} {top[name]:>6.3f} {args.epochs * n / best[name]:>9.0f} {best[name]:>8.2f} "
              f"{median[name]:>7.2f}   {runs}")
    print(f"time sqzdse / bn: {best['sqzdse'] / best['bn']:.2f} fastest, "
          f"{median['sqzdse'] / median['bn']:.2f} median (goal <= 1.25); sqzdse / plain: "
          f"{best['sqzdse'] / best['plain']:.2f} fastest, "
          f"{median['sqzdse'] / median['plain']:.2f} median")
    print(f"top-1 sqzdse {top['sqzdse']:.3f} (goal >= 0.90)   bn {top['bn']:.3f}   "
          f"plain {top['plain']:.3f}")


if __name__ == "__main__":
    main()
