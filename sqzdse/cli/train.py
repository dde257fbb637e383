"""`sqzdse train`: train one network's proxy and report its accuracy, cost and speed."""

from __future__ import annotations

import json

import click

from sqzdse.cli.options import arch_options, pop_arch_flags
from sqzdse.data import DATASETS, DataSpec, dataset_num_classes, download_dataset, load_dataset
from sqzdse.devices import DEVICES
from sqzdse.errors import TrainingError
from sqzdse.records import Epoch, Status, analytic_metrics
from sqzdse.train import TrainConfig, TrainResult, resolve_device, train_proxy

TRAIN_RESOLUTION = 32  # the default input size for training (the presets describe 224x224 ImageNet)


@click.command()
@arch_options
@click.option(
    "--dataset",
    default="digits",
    show_default=True,
    help=f"Data set by name: {', '.join(DATASETS)}.",
)
@click.option(
    "--data-root",
    type=click.Path(file_okay=False),
    help="Folder of a data set that is not embedded (cifar10, cifar100, tiny-imagenet, folder, "
    "mnist; fashion-mnist defaults to /usr/share/datasets/fashion-mnist).",
)
@click.option(
    "--download",
    is_flag=True,
    help="Fetch the official archive into --data-root first, unless it is there "
    "(cifar10, cifar100).",
)
@click.option("--train-per-class", type=int, help="Training images kept per class (default: all).")
@click.option("--val-per-class", type=int, help="Validation images kept per class (default: all).")
@click.option("--epochs", type=int, default=TrainConfig.epochs, show_default=True)
@click.option("--batch-size", type=int, default=TrainConfig.batch_size, show_default=True)
@click.option(
    "--lr",
    type=float,
    default=TrainConfig.lr,
    show_default=True,
    help="Peak learning rate of the one-cycle schedule.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Initial weights, batch order, augmentation and which images per class are kept.",
)
@click.option("--device", default="auto", show_default=True, help=f"{DEVICES}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def train(
    dataset: str,
    data_root: str | None,
    download: bool,
    train_per_class: int | None,
    val_per_class: int | None,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: str,
    as_json: bool,
    **arch_flags,
) -> None:
    """Train a network's proxy on a data set and report top-1/top-5 on its validation split.

    Takes the architecture flags of `sqzdse count`; --resolution defaults to 32 here and
    --num-classes to the data set's. Progress goes to stderr, one line per epoch; the result to
    stdout.
    """
    if arch_flags["resolution"] is None:
        arch_flags["resolution"] = TRAIN_RESOLUTION
    spec = DataSpec(
        name=dataset,
        root=data_root,
        resolution=arch_flags["resolution"],
        train_per_class=train_per_class,
        val_per_class=val_per_class,
        seed=seed,
    )
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device)
    if download:
        if data_root is None:
            raise TrainingError("--download needs --data-root: the folder to put the data set in")
        download_dataset(dataset, root=data_root)
    classes = dataset_num_classes(spec)
    if arch_flags["num_classes"] is None:
        arch_flags["num_classes"] = classes
    elif arch_flags["num_classes"] != classes:
        raise TrainingError(
            f"--num-classes {arch_flags['num_classes']} conflicts with the {dataset} "
            f"data set, which has {classes} classes; leave --num-classes out"
        )
    cfg = pop_arch_flags(arch_flags)  # invalid architectures fail here, before any data is read

    data = load_dataset(spec, device=resolve_device(config.device))
    if not as_json:
        click.echo(
            f"training on {data.name}: {len(data.train_y):,} training and {len(data.val_y):,} "
            f"validation images, {data.num_classes} classes, "
            f"{data.resolution}x{data.resolution}",
            err=True,
        )
    progress = (
        None if as_json else (lambda entry: click.echo(format_epoch(entry, epochs), err=True))
    )
    result = train_proxy(cfg, data, config, on_epoch=progress)
    report = train_report(
        cfg, spec, config, result, train_images=len(data.train_y), val_images=len(data.val_y)
    )
    click.echo(json.dumps(report, indent=2) if as_json else format_summary(report))
    if result.status is not Status.OK:
        raise TrainingError(f"training failed: {result.reason}")


def train_report(
    cfg,
    spec: DataSpec,
    config: TrainConfig,
    result: TrainResult,
    *,
    train_images: int,
    val_images: int,
) -> dict:
    """The object `sqzdse train --json` prints: the result, the network's counts, the settings."""
    return {
        **result.to_dict(),
        **analytic_metrics(cfg),
        "dataset": {
            "name": spec.name,
            "num_classes": cfg.num_classes,
            "resolution": spec.resolution,
            "train_images": train_images,
            "val_images": val_images,
            "train_per_class": spec.train_per_class,
            "val_per_class": spec.val_per_class,
        },
        "train_config": config.to_dict(),
        "config": cfg.to_dict(),
    }


def format_epoch(entry: Epoch, epochs: int) -> str:
    return (
        f"epoch {entry.epoch}/{epochs}  train loss {entry.train_loss:.4f}  "
        f"top-1 {entry.top1:.4f}  top-5 {entry.top5:.4f}  {entry.seconds:.1f} s"
    )


def format_summary(report: dict) -> str:
    head = (
        f"{report['params']:,} parameters, {report['macs']:,} multiply-accumulates "
        f"at {report['dataset']['resolution']}x{report['dataset']['resolution']}"
    )
    if report["status"] != "ok":
        return f"{head}\nfailed after {report['train_seconds']:.1f} s: {report['reason']}"
    lines = [
        head,
        f"top-1 {report['top1']:.4f}  top-5 {report['top5']:.4f}  "
        f"final train loss {report['train_loss']:.4f}",
        f"{report['train_seconds']:.1f} s on {report['device']}, "
        f"{report['images_per_second']:,.0f} training images/s",
    ]
    if report["peak_memory_bytes"] is not None:
        lines[-1] += f", peak memory {report['peak_memory_bytes'] / 2**20:,.0f} MiB"
    if report["note"]:
        lines.append(f"note: {report['note']}")
    return "\n".join(lines)
