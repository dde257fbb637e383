"""`sqzdse fidelity`: measure how well a space's proxy ranks networks against longer training."""

from __future__ import annotations

import dataclasses
import json
import socket
import warnings

import click

from sqzdse.cli.options import check_heartbeat, heartbeat_options
from sqzdse.devices import DEVICES
from sqzdse.fidelity._instrument import (
    DEFAULT_NETWORKS,
    DEFAULT_PROXY_SEEDS,
    DEFAULT_REFERENCE_SEEDS,
    SETTINGS,
)
from sqzdse.fidelity._plan import REFERENCE_EPOCHS_FACTOR
from sqzdse.space import MAX_SEED
from sqzdse.storage import FIDELITY_DIR, check_study_name, open_storage, storage_for_space

_HELP = {
    "epochs": "training epochs",
    "resolution": "training resolution in pixels",
    "train_per_class": "training images per class",
    "val_per_class": "validation images per class",
    "batch_size": "training batch size",
}


def _setting_options(func):
    """--proxy-X and --reference-X for every training setting X the two may set apart."""
    defaults = {
        "proxy": "the space's",
        "reference": {
            "epochs": f"{REFERENCE_EPOCHS_FACTOR}x the space's",
            "train_per_class": "0: every image",
            "val_per_class": "the space's; 0: every image",
        },
    }
    for role in ("reference", "proxy"):
        for name in reversed(SETTINGS):
            default = defaults[role] if role == "proxy" else defaults[role].get(name, "the space's")
            func = click.option(
                f"--{role}-{name.replace('_', '-')}",
                f"{role}_{name}",
                type=int,
                help=f"The {role}'s {_HELP[name]} [default: {default}].",
            )(func)
    return func


@click.command()
@click.option(
    "--space",
    "space_name",
    required=True,
    help="A YAML file, or the name of a shipped space (micro, fashion, ...).",
)
@click.option(
    "--archs",
    type=click.IntRange(min=3),
    default=DEFAULT_NETWORKS,
    show_default=True,
    help="Networks to draw from the space, spread evenly over log params.",
)
@click.option(
    "--proxy-seeds",
    type=click.IntRange(min=1),
    default=DEFAULT_PROXY_SEEDS,
    show_default=True,
    help="Proxy runs per network, with training seeds --train-seed, +1, ...",
)
@click.option(
    "--reference-seeds",
    type=click.IntRange(min=1),
    default=DEFAULT_REFERENCE_SEEDS,
    show_default=True,
    help="Reference runs per network (2 give the reference's own seed-to-seed tau).",
)
@click.option(
    "--draw-seed",
    type=click.IntRange(min=0, max=MAX_SEED),
    default=0,
    show_default=True,
    help="Seed of the draw of networks.",
)
@_setting_options
@click.option("--dataset", help="Data set of both proxy and reference [default: the space's].")
@click.option("--data-root", help="Folder of a data set that is not embedded.")
@click.option("--train-seed", type=click.IntRange(min=0, max=MAX_SEED), help="First training seed.")
@click.option("--device", help=f"{DEVICES} [default: the space's].")
@click.option(
    "--storage",
    help="Optuna storage URL where every run is kept [default: "
    "sqlite:///studies/fidelity/<space>.db]; a server's lets several machines share the runs.",
)
@click.option(
    "--study",
    "study_name",
    help="Study name [default: <space>-fidelity]. One study keeps runs of any settings: a new "
    "proxy setting reuses the stored reference runs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@heartbeat_options(
    beating="a run's",
    dead="a run's process counts as dead and the run is trained again",
)
def fidelity(
    space_name: str,
    archs: int,
    proxy_seeds: int,
    reference_seeds: int,
    draw_seed: int,
    storage: str | None,
    study_name: str | None,
    as_json: bool,
    quiet: bool,
    heartbeat_interval: int,
    grace_period: int,
    storage_retry: int,
    **options,
) -> None:
    """Measure the proxy's fidelity: train networks drawn from the space with the proxy's
    settings and with a reference (longer) setting, and report how well the proxy's accuracy
    ranks them against the reference's (Kendall tau), beside the parameter count's ranking.

    Every run is stored as it finishes: run the same command again to resume, on as many
    processes or machines as share the storage.
    """
    import optuna

    from sqzdse.data import dataset_num_classes
    from sqzdse.fidelity import _runner, _store
    from sqzdse.fidelity._instrument import make_plan, train_run
    from sqzdse.fidelity._report import build_report, format_report
    from sqzdse.search import Interrupts, check_runnable
    from sqzdse.space import load_space

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # Our runs beat their own heartbeats (`_store.Heartbeat`); Optuna expects `optimize` to.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    check_heartbeat(heartbeat_interval, grace_period)
    shared = {k: options.pop(k) for k in ("dataset", "data_root", "train_seed", "device")}
    space = load_space(space_name).with_overrides(**shared)
    settings = {
        role: {name: options.pop(f"{role}_{name}") for name in SETTINGS}
        for role in ("proxy", "reference")
    }
    num_classes = dataset_num_classes(space.training.data_spec())
    plan = make_plan(
        space,
        num_classes=num_classes,
        networks=archs,
        proxy_seeds=proxy_seeds,
        reference_seeds=reference_seeds,
        draw_seed=draw_seed,
        proxy=settings["proxy"],
        reference=settings["reference"],
    )
    # Both data sets load now (and stay cached): a missing or broken file stops us before any
    # storage is written.
    for setting in (plan.proxy, plan.reference):
        check_runnable(dataclasses.replace(space, training=setting))
    storage_url = storage or storage_for_space(space.name, FIDELITY_DIR)
    study_name = check_study_name(study_name or f"{space.name}-fidelity")
    rdb = open_storage(
        storage_url,
        mode="write",
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        retry_stale=False,
        retry_seconds=storage_retry,
    )
    study = _store.open_fidelity_study(rdb, study_name)
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    runs = plan.runs()
    stored = _store.finished_runs(study)
    echo(
        f"fidelity of space {space.name!r}: {len(plan.networks)} networks, {proxy_seeds} proxy "
        f"and {reference_seeds} reference seed(s): {len(runs)} runs, "
        f"{sum(r.key in stored for r in runs)} already stored in study {study_name!r} in "
        f"{storage_url}"
    )
    _store.save_plan(study, plan)
    device = space.training.device
    try:
        with Interrupts().installed() as interrupts:
            _runner.run_plan(
                plan,
                study,
                echo=echo,
                host=socket.gethostname(),
                heartbeat_interval=heartbeat_interval,
                train=lambda run: train_run(run, device=device),
                interrupts=interrupts,
            )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: the run under way is given back; run the same command again to "
            "resume (finished runs are kept)",
            err=True,
        )
        raise SystemExit(130) from None
    report = build_report(plan, _store.finished_runs(study))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(format_report(report))
