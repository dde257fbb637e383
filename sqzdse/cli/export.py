"""`sqzdse export` (a study to a file or to another storage) and `sqzdse studies`."""

from __future__ import annotations

import json
from pathlib import Path

import click

# = sqzdse.analysis.FILE_FORMATS, listed here so that --help does not import pandas and Optuna.
FORMATS = ("csv", "parquet", "json")
STORAGE_HELP = "Study storage URL, e.g. sqlite:///studies/micro.db or postgresql://user@host/db."


@click.command()
@click.option("--storage", required=True, help=STORAGE_HELP)
@click.option("--study", "study_name", help="Study to export; optional when the storage holds one.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="File format [default: from the suffix of -o, else csv].",
)
@click.option("--pareto-only", is_flag=True, help="Only the trials on the study's Pareto front.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write [default: studies/<study>.<format>].",
)
@click.option(
    "--to-storage",
    help="Also (or only) copy the whole study to this storage URL "
    "(an SQLite file is created if missing).",
)
@click.option("--to-study", "to_study_name", help="Name of the copy [default: the study's name].")
def export(
    storage: str,
    study_name: str | None,
    fmt: str | None,
    pareto_only: bool,
    output: Path | None,
    to_storage: str | None,
    to_study_name: str | None,
) -> None:
    """Write a study's trials to CSV, Parquet or JSON, one typed row per trial; or copy the study
    to another storage with --to-storage."""
    from sqzdse import export_study as exporting
    from sqzdse.storage import describe_storage

    _quiet_optuna()
    write_file = to_storage is None or fmt is not None or output is not None
    if pareto_only and not write_file:
        raise click.UsageError(
            "--pareto-only applies to file exports; --to-storage copies the whole "
            "study (add --format or -o to write a file as well)"
        )
    if to_study_name is not None and to_storage is None:
        raise click.UsageError(
            "--to-study names the copy made by --to-storage; give --to-storage URL"
        )
    if write_file:
        fmt = _resolve_format(fmt, output)
        result = exporting.export_study(
            storage=storage, study_name=study_name, fmt=fmt, path=output, pareto_only=pareto_only
        )
        click.echo(
            f"wrote {result.rows} trial(s) of study {result.study_name!r} "
            f"({result.front_size} on the Pareto front) to {result.path}"
        )
    if to_storage is not None:
        name = exporting.copy_study(
            storage=storage,
            study_name=study_name,
            to_storage=to_storage,
            to_study_name=to_study_name,
        )
        click.echo(
            f"copied study {name!r} to {describe_storage(to_storage)}; open it with "
            f"optuna.load_study(study_name={name!r}, storage=...)"
        )


def _resolve_format(fmt: str | None, output: Path | None) -> str:
    """--format, else the suffix of -o, else csv; a contradiction between the two is an error."""
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    if fmt is None:
        if output is None:
            return "csv"
        if suffix not in FORMATS:
            raise click.UsageError(
                f"cannot tell the format from {str(output)!r}; add --format "
                f"{'|'.join(FORMATS)} or use a .csv, .parquet or .json name"
            )
        return suffix
    if suffix in FORMATS and suffix != fmt:
        raise click.UsageError(
            f"--format {fmt} contradicts the output name {str(output)!r}; "
            f"use a .{fmt} name or --format {suffix}"
        )
    return fmt


@click.command()
@click.option("--storage", required=True, help=STORAGE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def studies(storage: str, as_json: bool) -> None:
    """Every study in a storage: objectives, trial counts by state and Pareto front size."""
    from sqzdse.analysis import study_overviews
    from sqzdse.storage import describe_storage

    _quiet_optuna()
    overviews = study_overviews(storage)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "study": o.name,
                        "objectives": [list(pair) for pair in o.objectives],
                        "trials": o.trials,
                        "states": o.states,
                        "front_size": o.front_size,
                    }
                    for o in overviews
                ],
                indent=2,
            )
        )
    elif not overviews:
        click.echo(
            f"no study in {describe_storage(storage)} yet; run `sqzdse search` to create one"
        )
    else:
        click.echo(format_studies_table(overviews))


def format_studies_table(overviews) -> str:
    """A plain-text table: one line per study."""
    header = (
        "study",
        "objectives",
        "trials",
        "complete",
        "pruned",
        "fail",
        "running",
        "waiting",
        "front",
    )
    rows = [
        (
            o.name,
            ", ".join(f"{name} {direction[:3]}" for name, direction in o.objectives),
            str(o.trials),
            *(str(o.states[s]) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")),
            str(o.front_size),
        )
        for o in overviews
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells) -> str:
        return "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def _quiet_optuna() -> None:
    """Optuna's INFO lines ("A new study created ...") are not for users of these commands."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
