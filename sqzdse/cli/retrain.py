"""`sqzdse retrain`: a trial's network trained longer, recorded on its study with its weights."""

from __future__ import annotations

import click

from sqzdse.cli.export import STORAGE_HELP
from sqzdse.cli.options import chosen_trial
from sqzdse.devices import DEVICES


@click.command()
@click.option("--storage", required=True, help=STORAGE_HELP)
@click.option("--study", "study_name", help="Study; optional when the storage holds one.")
@click.option("--trial", "number", type=int, required=True, help="Trial number.")
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    help="Epochs [default: max(10, 4 x the search's epochs)].",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Training seeds: the study's training seed and the next ones.",
)
@click.option(
    "--train-per-class",
    type=click.IntRange(min=1),
    help="Training images per class [default: every training image].",
)
@click.option("--batch-size", type=click.IntRange(min=1), help="[default: the search's]")
@click.option("--device", help=f"{DEVICES} [default: the search's].")
@click.option(
    "--artifacts",
    help="The artifact store for the weights [default: beside an SQLite study].",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def retrain(
    storage: str,
    study_name: str | None,
    number: int,
    epochs: int | None,
    seeds: int,
    train_per_class: int | None,
    batch_size: int | None,
    device: str | None,
    artifacts: str | None,
    quiet: bool,
) -> None:
    """Train a trial's exact network longer, on several seeds; record it on the study."""
    from sqzdse.artifacts import artifact_store, save_weights
    from sqzdse.errors import SqzdseError
    from sqzdse.records import RETRAINED_PREFIX, StudyInfo, format_value
    from sqzdse.retrain import retrain as run_retraining
    from sqzdse.retrain import retrain_block, retrain_training
    from sqzdse.storage import load_study, open_storage
    from sqzdse.train import resolve_device

    # Found for reading first: a mistyped SQLite path is refused instead of created.
    name = load_study(storage, study_name=study_name).study_name
    study = load_study(open_storage(storage, mode="write"), study_name=name)
    record = chosen_trial(study, number)
    if record.arch is None:
        raise SqzdseError(f"trial {number} records no valid architecture to retrain")
    info = StudyInfo.read(study)
    if not info.training:
        raise SqzdseError(f"study {study.study_name!r} records no training settings")
    training = retrain_training(
        dict(info.training),
        epochs=epochs,
        train_per_class=train_per_class,
        batch_size=batch_size,
        device=device,
    )
    resolve_device(training.device)  # a device this machine lacks is refused now
    store = artifact_store(storage, artifacts)
    seed_list = [training.seed + i for i in range(seeds)]
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    echo(
        f"retraining trial {number} ({record.metrics.get('params', 0):,} params) of study "
        f"{study.study_name!r}: {training.epochs} epochs, "
        + (
            f"{training.train_per_class} training images per class"
            if training.train_per_class
            else "every training image"
        )
        + ", seeds "
        f"{', '.join(map(str, seed_list))}, on {resolve_device(training.device)}"
    )

    def progress(seed, epoch):
        echo(
            f"  seed {seed} epoch {epoch.epoch:>3}/{training.epochs}  loss {epoch.train_loss:.4f}"
            f"  top-1 {epoch.top1:.2%}  {epoch.seconds:.0f} s"
        )

    results = run_retraining(record.arch, training, seed_list, on_epoch=progress)
    weights = save_weights(
        study, results[0][1].weights, store, source="retrained", label=f"trial-{number}"
    )
    block = retrain_block(training, results, weights=weights)
    study.set_user_attr(f"{RETRAINED_PREFIX}{number}", block)
    per_seed = ", ".join(f"{format_value('top1', r.top1)} (seed {s})" for s, r in results)
    click.echo(
        f"trial {number}: retrained top-1 {format_value('top1', block['top1'])} "
        f"[{per_seed}]; the search's proxy: {format_value('top1', record.metrics.get('top1'))}. "
        f"Recorded on study {study.study_name!r} with the weights of seed {seed_list[0]}: "
        f"export them with sqzdse export-model --storage {storage} --study {study.study_name} "
        f"--trial {number} -o model.onnx"
    )
