"""`sqzdse retrain`: a trial's network, or a study's whole front beside SqueezeNet v1.0 / v1.1,
trained longer, measured on validation and test images, recorded on its study with its weights."""

from __future__ import annotations

import click

from sqzdse.cli.export import STORAGE_HELP
from sqzdse.cli.options import chosen_trial, heartbeat_options
from sqzdse.devices import DEVICES


def _numbers(ctx, param, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"expected trial numbers like 3,7,12, got {value!r}") from None
    if not numbers:
        raise click.BadParameter(f"expected trial numbers like 3,7,12, got {value!r}")
    return list(dict.fromkeys(numbers))


def _names(ctx, param, value: str | None) -> list[str]:
    return [] if value is None else list(dict.fromkeys(v.strip() for v in value.split(",") if v))


@click.command()
@click.option("--storage", required=True, help=STORAGE_HELP)
@click.option("--study", "study_name", help="Study; optional when the storage holds one.")
@click.option("--trial", "number", type=int, help="One trial's network.")
@click.option(
    "--front", is_flag=True, help="Every network on the study's Pareto front of its objectives."
)
@click.option("--trials", callback=_numbers, help="Chosen trials' networks, e.g. 3,7,12.")
@click.option(
    "--baselines",
    callback=_names,
    help="SqueezeNet presets trained identically beside them, e.g. v1.0,v1.1 (at the study's "
    "data set, classes and resolution; the largest it searched, if it did).",
)
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
@click.option(
    "--lr",
    type=click.FloatRange(min=0, max=1, min_open=True),
    help="Peak learning rate of the one-cycle schedule [default: the search's].",
)
@click.option("--device", help=f"{DEVICES} [default: the search's].")
@click.option(
    "--artifacts",
    help="The artifact store for the weights [default: beside an SQLite study].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="With --front / --trials: print one JSON object."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@heartbeat_options(
    beating="a run's (--front / --trials)",
    dead="a run's process counts as dead and the run is trained again",
)
def retrain(
    storage: str,
    study_name: str | None,
    number: int | None,
    front: bool,
    trials: list[int] | None,
    baselines: list[str],
    as_json: bool,
    quiet: bool,
    heartbeat_interval: int,
    grace_period: int,
    storage_retry: int,
    **settings,
) -> None:
    """Train a trial's exact network (--trial N), the study's Pareto front (--front) or chosen
    trials (--trials 3,7,12) longer, on several seeds, with SqueezeNet baselines if asked
    (--baselines v1.0,v1.1); report validation and test accuracy and record them on the study.

    With --front / --trials every network x seed run is stored as it finishes: run the same command
    again to resume, on as many processes or machines as share the storage.
    """
    from sqzdse.errors import SqzdseError

    chosen = [flag for flag, given in (("--trial", number is not None), ("--front", front),
                                       ("--trials", trials is not None)) if given]  # fmt: skip
    if len(chosen) > 1:
        raise SqzdseError(f"give one of --trial, --front, --trials; got {' and '.join(chosen)}")
    if not chosen and not baselines:
        raise SqzdseError(
            "say what to retrain: --trial N, --front, --trials 3,7,12 or --baselines v1.0,v1.1"
        )
    if number is not None:
        if baselines or as_json:
            raise SqzdseError("--baselines and --json go with --front or --trials, not --trial")
        _retrain_trial(
            storage, study_name, number, quiet=quiet, storage_retry=storage_retry, **settings
        )
    else:
        _retrain_front(
            storage,
            study_name,
            front=front,
            trials=trials or [],
            baselines=baselines,
            as_json=as_json,
            quiet=quiet,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            storage_retry=storage_retry,
            **settings,
        )


def _open(storage: str, study_name: str | None, **open_options):
    """The search study (found for reading first: a mistyped SQLite path is refused instead of
    created), its StudyInfo and the retraining settings."""
    from sqzdse.errors import SqzdseError
    from sqzdse.records import StudyInfo
    from sqzdse.storage import load_study, open_storage

    name = load_study(storage, study_name=study_name).study_name
    rdb = open_storage(storage, mode="write", **open_options)
    study = load_study(rdb, study_name=name)
    info = StudyInfo.read(study)
    if not info.training:
        raise SqzdseError(f"study {study.study_name!r} records no training settings")
    return rdb, study, info


def _training(info, *, epochs, train_per_class, batch_size, lr, device):
    from sqzdse.retrain import retrain_training
    from sqzdse.train import resolve_device

    training = retrain_training(
        dict(info.training),
        epochs=epochs,
        train_per_class=train_per_class,
        batch_size=batch_size,
        lr=lr,
        device=device,
    )
    resolve_device(training.device)  # a device this machine lacks is refused now
    return training


def _describe(training, seed_list) -> str:
    from sqzdse.train import resolve_device

    images = (
        f"{training.train_per_class} training images per class"
        if training.train_per_class
        else "every training image"
    )
    lr = f", peak learning rate {training.lr:g}" if training.lr is not None else ""
    return (
        f"{training.epochs} epochs{lr}, {images}, seeds {', '.join(map(str, seed_list))}, "
        f"on {resolve_device(training.device)}"
    )


def _retrain_trial(
    storage, study_name, number, *, quiet, seeds, artifacts, storage_retry, **settings
) -> None:
    from sqzdse.artifacts import artifact_store, save_weights
    from sqzdse.errors import SqzdseError
    from sqzdse.records import PARAMS, RETRAINED_PREFIX, TOP1, format_value
    from sqzdse.retrain import retrain as run_retraining
    from sqzdse.retrain import retrain_block, split_sizes

    _, study, info = _open(storage, study_name, retry_seconds=storage_retry)
    record = chosen_trial(study, number)
    if record.arch is None:
        raise SqzdseError(f"trial {number} records no valid architecture to retrain")
    training = _training(info, **settings).at(record.arch.resolution)  # the trial's
    store = artifact_store(storage, artifacts)
    seed_list = [training.seed + i for i in range(seeds)]
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    echo(
        f"retraining trial {number} ({record.metrics.get(PARAMS, 0):,} params) of study "
        f"{study.study_name!r}: {_describe(training, seed_list)}"
    )

    def progress(seed, epoch):
        echo(
            f"  seed {seed} epoch {epoch.epoch:>3}/{training.epochs}  loss {epoch.train_loss:.4f}"
            f"  validation top-1 {epoch.top1:.2%}  {epoch.seconds:.0f} s"
        )

    runs, first_weights = run_retraining(record.arch, training, seed_list, on_epoch=progress)
    weights = save_weights(study, first_weights, store, source="retrained", label=f"trial-{number}")
    block = retrain_block(training, runs, weights=weights, splits=split_sizes(training))
    study.set_user_attr(f"{RETRAINED_PREFIX}{number}", block.to_dict())
    per_seed = ", ".join(f"{format_value(TOP1, r.test_top1)} (seed {r.seed})" for r in runs)
    click.echo(
        f"trial {number}: retrained validation top-1 {format_value(TOP1, block.top1)}, "
        f"test top-1 {format_value(TOP1, block.test_top1)} [{per_seed}]; the search's "
        f"proxy: {format_value(TOP1, record.metrics.get(TOP1))} (validation). "
        f"Recorded on study {study.study_name!r} with the weights of seed {seed_list[0]}: "
        f"export them with sqzdse export-model --storage {storage} --study {study.study_name} "
        f"--trial {number} -o model.onnx"
    )


def _retrain_front(
    storage,
    study_name,
    *,
    front,
    trials,
    baselines,
    as_json,
    quiet,
    heartbeat_interval,
    grace_period,
    storage_retry,
    seeds,
    artifacts,
    **settings,
) -> None:
    import json
    import socket
    import warnings

    import optuna

    from sqzdse import front as fr
    from sqzdse.artifacts import artifact_store, save_weights
    from sqzdse.cli.options import check_heartbeat
    from sqzdse.data import dataset_num_classes
    from sqzdse.errors import SqzdseError
    from sqzdse.fidelity import _store
    from sqzdse.records import TRAIN_SECONDS
    from sqzdse.retrain import split_sizes, train_seed
    from sqzdse.search import Interrupts

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    check_heartbeat(heartbeat_interval, grace_period)
    rdb, study, info = _open(
        storage,
        study_name,
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        retry_stale=False,
        retry_seconds=storage_retry,
    )
    objectives = [name for name, _ in info.objectives] or study.metric_names or []
    training = _training(info, **settings)
    networks = []
    if front:
        networks = fr.front_networks(study, objectives)
        if not networks:
            raise SqzdseError(
                f"study {study.study_name!r} has no completed trial yet: its front is empty"
            )
    elif trials:
        networks = fr.chosen_networks(study, trials, objectives)
    num_classes = info.num_classes or dataset_num_classes(training.data_spec())
    # at the study's resolution; where it searched one, the largest it searched
    networks += fr.baseline_networks(
        baselines, num_classes=num_classes, resolution=training.resolutions[-1]
    )
    splits = split_sizes(training)  # both data sets load now: a broken file stops us here
    store = artifact_store(storage, artifacts)
    seed_list = [training.seed + i for i in range(seeds)]
    runs = fr.plan_runs(networks, training, seed_list)
    runs_study = _store.open_fidelity_study(
        rdb, fr.runs_study_name(study.study_name), kind=fr.RUNS_KIND
    )
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    stored = fr.stored_runs(runs_study)
    echo(
        f"retraining {len(networks)} networks of study {study.study_name!r} "
        f"({', '.join(n.name for n in networks)}): {_describe(training, seed_list)}; "
        f"{len(runs)} runs, {sum(r.key in stored for r in runs)} already stored in "
        f"{runs_study.study_name!r}; {splits['train']:,} training, {splits['val']:,} validation, "
        f"{splits['test']:,} test images"
    )

    def train(run, on_epoch):
        return train_seed(run.arch, run.training, run.seed, on_epoch=on_epoch)

    def keep_weights(trial, weights, run):
        label = f"{run.net.name}-seed{run.seed}".replace(".", "_")
        return save_weights(trial, weights, store, source="retrained", label=label)

    try:
        with Interrupts().installed() as interrupts:
            done = fr.train_runs(
                runs,
                runs_study,
                train=train,
                save_weights=keep_weights,
                echo=echo,
                host=socket.gethostname(),
                heartbeat_interval=heartbeat_interval,
                interrupts=interrupts,
            )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: the run under way is given back; run the same command again to resume "
            "(finished runs are kept)",
            err=True,
        )
        raise SystemExit(130) from None
    found = fr.results(networks, runs, done)
    fr.write_blocks(study, found, training, splits, fr.first_weights(runs_study, runs))
    tau = fr.rank_agreement(found)
    if as_json:
        report = {
            "study": study.study_name,
            "splits": {k: splits[k] for k in ("train", "val", "test")},
            "convention": splits["convention"],
            "epochs": training.epochs,
            "seeds": seed_list,
            "networks": [r.to_dict() for r in found],
            "kendall_tau": tau,
            TRAIN_SECONDS: sum(r.seconds for r in found),
        }
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(fr.format_table(found, splits, tau))
