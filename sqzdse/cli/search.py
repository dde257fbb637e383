"""`sqzdse search`: run (or resume) a multi-objective search over a YAML search space."""

from __future__ import annotations

import os
import socket
import warnings

import click

from sqzdse.errors import SqzdseError

# Options passed on unchanged to worker processes (`--workers K`).
_FORWARDED = ("sampler", "n_trials", "timeout", "seed", "epochs", "dataset", "data_root",
              "resolution", "train_per_class", "val_per_class", "batch_size")


@click.command()
@click.option("--space", "space_name", required=True,
              help="A YAML file, or the name of a shipped space (micro, macro, full, paper_sr, ...).")
@click.option("--storage", help="Optuna storage URL [default: sqlite:///studies/<space>.db]; "
                                "postgresql://user@host/db lets several machines share a study.")
@click.option("--study", "study_name", help="Study name [default: the space's name].")
@click.option("--sampler", help="nsga2, nsga3, tpe, gp, qmc, random, grid or bruteforce.")
@click.option("--n-trials", type=int, help="Finished trials the study should hold.")
@click.option("--timeout", type=float, help="Stop starting new trials after this many seconds.")
@click.option("--seed", type=int, help="Sampler seed.")
@click.option("--device", help="auto, cpu, cuda or cuda:N.")
@click.option("--epochs", type=int, help="Proxy training epochs.")
@click.option("--dataset", help="digits, cifar10, cifar100, tiny-imagenet or folder.")
@click.option("--data-root", help="Folder of a data set that is not embedded.")
@click.option("--resolution", type=int, help="Training resolution in pixels.")
@click.option("--train-per-class", type=int, help="Training images per class (the proxy knob).")
@click.option("--val-per-class", type=int, help="Validation images per class.")
@click.option("--batch-size", type=int, help="Training batch size.")
@click.option("--workers", default="auto", show_default=True,
              help="Worker processes on this machine sharing the study: a number, or auto (one on "
                   "the CPU, sqzdse.workers.WORKERS_PER_GPU per GPU).")
@click.option("--heartbeat-interval", type=int, default=10, show_default=True,
              help="Seconds between a running trial's heartbeats.")
@click.option("--grace-period", type=int, default=60, show_default=True,
              help="Seconds without a heartbeat after which a trial counts as dead, is marked "
                   "failed and retried once.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines; the Pareto table only.")
@click.option("--worker-id", type=int, hidden=True)
def search(space_name: str, storage: str | None, study_name: str | None, quiet: bool,
           workers: str, worker_id: int | None, **overrides) -> None:
    """Search a space: each trial builds a network, trains a proxy and records the results."""
    import optuna

    from sqzdse.cli.report import format_front, progress_line
    from sqzdse.space import load_space
    from sqzdse.study import (Objective, check_study_name, default_storage, make_setup,
                              open_storage, open_study, run_search)

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    heartbeat = overrides.pop("heartbeat_interval")
    grace = overrides.pop("grace_period")
    if heartbeat < 1 or grace <= heartbeat:
        raise SqzdseError(f"--grace-period ({grace}) must exceed --heartbeat-interval ({heartbeat}), "
                          "which must be >= 1 second")
    space = load_space(space_name).with_overrides(**_given(overrides))
    if worker_id is None:
        from sqzdse.workers import resolve_workers

        workers = resolve_workers(workers, space.training.device)
    else:
        workers = 1
    study_name = check_study_name(space.name if study_name is None else study_name)
    setup = make_setup(space)
    storage_url = storage or default_storage(space.name)
    rdb = open_storage(storage_url, create=True, heartbeat_interval=heartbeat, grace_period=grace)
    study = open_study(setup, storage=rdb, study_name=study_name,
                       process=_process_name(worker_id, shared=not storage_url.startswith("sqlite")))

    prefix = f"[worker {worker_id}] " if worker_id else ""
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(prefix + msg, err=True))
    if worker_id is None:
        _header(echo, study, storage_url, setup)
    if workers > 1:
        from sqzdse.workers import run_workers, worker_devices

        echo(f"starting {workers} workers")
        args = ["--space", space_name, "--storage", storage_url, "--study", study_name,
                "--heartbeat-interval", str(heartbeat), "--grace-period", str(grace),
                *_flags(overrides), *(["--quiet"] if quiet else [])]
        code = run_workers(args, workers=workers,
                           devices=worker_devices(space.training.device, workers))
        if code:
            raise SystemExit(code)
    else:
        objective = Objective(setup, n_trials=space.n_trials, device=space.training.device)
        try:
            run_search(study, objective, timeout=space.timeout,
                       on_trial=lambda s, t, p: echo(progress_line(s, t, p, setup.objectives)))
        except KeyboardInterrupt:
            click.echo(prefix + "interrupted: the trial under way is recorded as failed; run the "
                       "same command again to resume", err=True)
            raise SystemExit(130) from None
    if worker_id is None:
        click.echo(format_front(study, setup.objectives))
        click.echo(f"\nstudy {study_name!r} in {storage_url}; see it with: sqzdse dashboard "
                   f"--storage {storage_url} --study {study_name}")


def _header(echo, study, storage_url: str, setup) -> None:
    space = setup.space
    t = space.training
    echo(f"study {study.study_name!r} in {storage_url}: space {space.name} ({space.hash}), sampler "
         f"{space.sampler.name} (seed {space.sampler.seed}), objectives "
         f"{', '.join(setup.objectives)}; {t.dataset} at {t.resolution}px, {t.epochs} epochs, "
         f"{space.n_trials} trials")
    if setup.note:
        echo(setup.note)
    already = len(study.get_trials(deepcopy=False))
    if already:
        echo(f"resuming: the study holds {already} trials")


def _given(overrides: dict) -> dict:
    """CLI overrides that were given, checked like the YAML values they replace."""
    given = {k: v for k, v in overrides.items() if v is not None}
    for key in ("n_trials", "epochs", "resolution", "train_per_class", "val_per_class",
                "batch_size"):
        if key in given and given[key] < 1:
            raise SqzdseError(f"--{key.replace('_', '-')} must be >= 1, got {given[key]}")
    if "timeout" in given and given["timeout"] <= 0:
        raise SqzdseError(f"--timeout must be > 0 seconds, got {given['timeout']}")
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
