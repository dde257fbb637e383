"""`sqzdse search`: run (or resume) a multi-objective search over a YAML search space."""

from __future__ import annotations

import warnings

import click

from sqzdse.artifacts import SAVE_WEIGHTS
from sqzdse.cli.options import heartbeat_options
from sqzdse.cli.report import format_front
from sqzdse.devices import DEVICES
from sqzdse.search import DEFAULT_MAX_FAILURES, DEFAULT_MAX_INFEASIBLE


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
def search(
    space_name: str,
    storage: str | None,
    study_name: str | None,
    quiet: bool,
    workers: str,
    heartbeat_interval: int,
    grace_period: int,
    storage_retry: int,
    **settings,
) -> None:
    """Search a space: each trial builds a network, trains a proxy and records the results.

    The command wraps `sqzdse.search.run`, which takes the same settings by their keyword names.
    """
    import optuna

    from sqzdse.search import run

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    echo = None if quiet else (lambda line: click.echo(line, err=True))
    try:
        done = run(
            space_name,
            storage=storage,
            study_name=study_name,
            workers=workers,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            storage_retry=storage_retry,
            say=echo,
            **settings,
        )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: the trial under way is recorded as failed; run the same command "
            "again to resume",
            err=True,
        )
        raise SystemExit(130) from None
    url, name = done.settings.storage, done.settings.study_name
    click.echo(format_front(done.study, done.objectives))
    click.echo(
        f"\nstudy {name!r} in {url}; see it with: sqzdse dashboard --storage {url} --study {name}"
    )
    if done.worker_exit_code:
        raise SystemExit(done.worker_exit_code)  # a worker died: said as it happened
