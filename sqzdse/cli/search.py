"""`sqzdse search`: run (or resume) a multi-objective search over a YAML search space."""

from __future__ import annotations

import math
import os
import socket
import warnings

import click

from sqzdse.artifacts import (
    DEFAULT_SAVE_WEIGHTS,
    SAVE_WEIGHTS,
    artifact_store,
    default_location,
)
from sqzdse.cli.options import check_heartbeat, heartbeat_options
from sqzdse.cli.report import format_front, progress_line
from sqzdse.devices import DEVICES
from sqzdse.errors import SqzdseError
from sqzdse.records import validation_label
from sqzdse.search import (
    DEFAULT_MAX_FAILURES,
    DEFAULT_MAX_INFEASIBLE,
    Objective,
    make_setup,
    open_study,
    resolve_workers,
    run_search,
    run_workers,
    worker_devices,
)
from sqzdse.space import MAX_SEED
from sqzdse.storage import check_study_name, open_storage, storage_for_space

# Options passed on unchanged to worker processes (`--workers K`).
_FORWARDED = (
    "sampler",
    "n_trials",
    "timeout",
    "seed",
    "train_seed",
    "epochs",
    "dataset",
    "data_root",
    "resolution",
    "train_per_class",
    "val_per_class",
    "batch_size",
    "min_epochs",
    "eta",
)


@click.command()
@click.option(
    "--space",
    "space_name",
    required=True,
    help="A YAML file, or the name of a shipped space (micro, macro, full, paper_sr, ...).",
)
@click.option(
    "--storage",
    help="Optuna storage URL [default: sqlite:///studies/<space>.db]; "
    "postgresql://user@host/db lets several machines share a study.",
)
@click.option("--study", "study_name", help="Study name [default: the space's name].")
@click.option("--sampler", help="nsga2, nsga3, tpe, gp, qmc, random, grid or bruteforce.")
@click.option("--n-trials", type=int, help="Finished trials the study should hold.")
@click.option("--timeout", type=float, help="Stop starting new trials after this many seconds.")
@click.option(
    "--seed",
    type=int,
    help="The sampler's seed (which architectures are drawn); not part of the study's "
    "identity, so a resumed study may take another.",
)
@click.option(
    "--train-seed",
    type=int,
    help="The training seed (initial weights, batch order, augmentation, which images per "
    "class are kept); part of what trials measure, so it is in the study's hash.",
)
@click.option("--device", help=f"{DEVICES}.")
@click.option("--epochs", type=int, help="Proxy training epochs.")
@click.option(
    "--dataset",
    # a literal, so that `--help` need not import torch; tests/data/test_core.py keeps it whole
    help="digits, cifar10, cifar100, tiny-imagenet, folder, fashion-mnist or mnist.",
)
@click.option("--data-root", help="Folder of a data set that is not embedded.")
@click.option("--resolution", type=int, help="Training resolution in pixels.")
@click.option("--train-per-class", type=int, help="Training images per class (the proxy knob).")
@click.option("--val-per-class", type=int, help="Validation images per class.")
@click.option("--batch-size", type=int, help="Training batch size.")
@click.option(
    "--min-epochs",
    type=int,
    help="Successive halving: the first rung's epoch (rungs at min_epochs * eta**k below "
    "--epochs) [default: the space's `fidelity`, else 1 when --eta is given].",
)
@click.option(
    "--eta",
    type=int,
    help="Successive halving: about 1/eta of the trials at a rung go on [default: the space's "
    "`fidelity`, else 3 when --min-epochs is given]. Without either, and without `fidelity` "
    "in the space, every trial trains for the full --epochs.",
)
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    help="Worker processes on this machine sharing the study: a number, or auto (one on "
    "the CPU, 8 per GPU: sqzdse.search.WORKERS_PER_GPU, measured on an H100).",
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FAILURES,
    show_default=True,
    help="Stop (exit 1) after this many failed trials in a row, naming their reasons.",
)
@click.option(
    "--save-weights",
    type=click.Choice(SAVE_WEIGHTS),
    help="Which trained networks' weights (BatchNorm folded, checksummed) to store as Optuna "
    "artifacts: none; front: those on the Pareto front when they finish; all [default: front "
    "where there is a store (an SQLite study, or --artifacts), else none].",
)
@click.option(
    "--artifacts",
    help="Where weights are stored [default: a folder beside an SQLite study, "
    "studies/<space>.artifacts]; a study on a server needs a shared DIR or s3://BUCKET.",
)
@click.option(
    "--max-infeasible",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_INFEASIBLE,
    show_default=True,
    help="Stop (exit 1) after this many draws in a row over the constraints' budgets "
    "(infeasible draws are recorded but do not count towards --n-trials).",
)
@heartbeat_options(
    beating="a running trial's",
    dead="a trial counts as dead, is marked failed and retried once",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines; the Pareto table only.")
@click.option("--worker-id", type=int, hidden=True)
def search(
    space_name: str,
    storage: str | None,
    study_name: str | None,
    quiet: bool,
    workers: str,
    worker_id: int | None,
    max_failures: int,
    max_infeasible: int,
    save_weights: str | None,
    artifacts: str | None,
    **overrides,
) -> None:
    """Search a space: each trial builds a network, trains a proxy and records the results."""
    import optuna

    from sqzdse.space import load_space

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    heartbeat = overrides.pop("heartbeat_interval")
    grace = overrides.pop("grace_period")
    storage_retry = overrides.pop("storage_retry")
    check_heartbeat(heartbeat, grace)
    space = load_space(space_name).with_overrides(**_given(overrides))
    workers = 1 if worker_id is not None else resolve_workers(workers, space.training.device)
    storage_url = storage or storage_for_space(space.name)
    study_name = check_study_name(space.name if study_name is None else study_name)
    setup = make_setup(space)
    has_store = (artifacts or default_location(storage_url)) is not None
    if save_weights is None:
        save_weights = DEFAULT_SAVE_WEIGHTS if has_store else "none"
    elif save_weights != "none" and not has_store:
        artifact_store(storage_url, artifacts)  # refuses, naming --artifacts
    rdb = open_storage(
        storage_url,
        mode="write",
        heartbeat_interval=heartbeat,
        grace_period=grace,
        retry_seconds=storage_retry,
    )
    study = open_study(
        setup,
        storage=rdb,
        study_name=study_name,
        process=_process_name(worker_id, shared=not storage_url.startswith("sqlite")),
    )
    prefix = f"[worker {worker_id}] " if worker_id else ""
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(prefix + msg, err=True))
    if worker_id is None:
        _header(echo, study, storage_url, setup)
        if not has_store:
            echo(
                "weights are not stored: a study on a server needs --artifacts DIR or "
                "s3://BUCKET for them (sqzdse export-model, sqzdse retrain)"
            )
    if workers > 1:
        echo(f"starting {workers} workers")
        args = [
            "--space",
            space_name,
            "--storage",
            storage_url,
            "--study",
            study_name,
            "--heartbeat-interval",
            str(heartbeat),
            "--grace-period",
            str(grace),
            "--storage-retry",
            str(storage_retry),
            "--max-failures",
            str(max_failures),
            "--max-infeasible",
            str(max_infeasible),
            "--save-weights",
            save_weights,
            *(["--artifacts", artifacts] if artifacts else []),
            *_flags(overrides),
            *(["--quiet"] if quiet else []),
        ]
        code = run_workers(
            args, workers=workers, devices=worker_devices(space.training.device, workers)
        )
    else:
        code = 0
        store = None if save_weights == "none" else artifact_store(storage_url, artifacts)
        _search_here(
            study,
            setup,
            echo,
            prefix,
            max_failures=max_failures,
            max_infeasible=max_infeasible,
            weights=(save_weights, store),
        )
    if worker_id is None:
        click.echo(format_front(study, setup.objectives))
        click.echo(
            f"\nstudy {study_name!r} in {storage_url}; see it with: sqzdse dashboard "
            f"--storage {storage_url} --study {study_name}"
        )
    if code:
        raise SystemExit(code)  # a worker died: said as it happened (`run_workers`)


def _search_here(
    study, setup, echo, prefix: str, *, max_failures: int, max_infeasible: int, weights
) -> None:
    """Run this process's trials; Ctrl-C records the trial under way as failed and exits 130.
    `weights` is (which to save, the artifact store)."""
    space = setup.space
    save_weights, store = weights
    objective = Objective(
        setup,
        n_trials=space.n_trials,
        device=space.training.device,
        save_weights=save_weights,
        artifacts=store,
    )
    try:
        run_search(
            study,
            objective,
            timeout=space.timeout,
            max_failures=max_failures,
            max_infeasible=max_infeasible,
            on_trial=lambda s, t, p: echo(progress_line(s, t, p, setup.objectives)),
        )
    except KeyboardInterrupt:
        click.echo(
            prefix + "interrupted: the trial under way is recorded as failed; run the "
            "same command again to resume",
            err=True,
        )
        raise SystemExit(130) from None


def _header(echo, study, storage_url: str, setup) -> None:
    space = setup.space
    t = space.training
    echo(
        f"study {study.study_name!r} in {storage_url}: space {space.name} ({space.hash}), sampler "
        f"{space.sampler.name} (seed {space.sampler.seed}), training seed {t.seed}, objectives "
        f"{', '.join(setup.objectives)}; {t.dataset} at {t.resolution_label}, {t.epochs} epochs, "
        f"{space.n_trials} trials"
    )
    if setup.splits:
        echo(
            f"trained on {setup.splits['train']:,} images, measured on "
            f"{validation_label(setup.splits)}"
        )
    if space.fidelity is not None:
        f = space.fidelity
        echo(
            f"successive halving: rungs at epochs {', '.join(map(str, space.rungs))} of "
            f"{t.epochs}, about 1 in {f.eta} trials goes on at each (min_epochs {f.min_epochs}, "
            f"eta {f.eta})"
        )
    if setup.note:
        echo(setup.note)
    already = len(study.get_trials(deepcopy=False))
    if already:
        echo(f"resuming: the study holds {already} trials")


def _given(overrides: dict) -> dict:
    """CLI overrides that were given, checked like the YAML values they replace."""
    given = {k: v for k, v in overrides.items() if v is not None}
    for key in (
        "n_trials",
        "epochs",
        "resolution",
        "train_per_class",
        "val_per_class",
        "batch_size",
    ):
        if key in given and given[key] < 1:
            raise SqzdseError(f"--{key.replace('_', '-')} must be >= 1, got {given[key]}")
    for key in ("seed", "train_seed"):
        if key in given and not 0 <= given[key] <= MAX_SEED:
            raise SqzdseError(
                f"--{key.replace('_', '-')} must be an integer from 0 to {MAX_SEED}, "
                f"got {given[key]}"
            )
    if "timeout" in given and not (math.isfinite(given["timeout"]) and given["timeout"] > 0):
        raise SqzdseError(
            f"--timeout must be a finite number of seconds > 0, got {given['timeout']}"
        )
    if "sampler" in given:
        from sqzdse.samplers import check_sampler

        check_sampler(given["sampler"], {}, name_path="--sampler")
    return given


def _process_name(worker_id: int | None, *, shared: bool) -> str | None:
    """What tells this process apart from the others sharing its study (None when it is alone).

    Workers on one machine differ by their id; a storage on a server may have other machines too.
    """
    if shared:
        return f"{socket.gethostname()}/{os.getpid()}/{worker_id}"
    return None if worker_id is None else str(worker_id)


def _flags(overrides: dict) -> list[str]:
    out = []
    for key in _FORWARDED:
        if overrides.get(key) is not None:
            out += [f"--{key.replace('_', '-')}", str(overrides[key])]
    return out
