"""Options shared by several subcommands."""

from __future__ import annotations

import click

from sqzdse.arch import ARCH_FIELDS, PRESET_NAMES, PRESETS, ArchConfig, ArchField, preset
from sqzdse.errors import SqzdseError
from sqzdse.retry import DEFAULT_RETRY_SECONDS
from sqzdse.storage import (  # noqa: F401 - check_heartbeat: the commands' import of it
    DEFAULT_GRACE_PERIOD,
    DEFAULT_HEARTBEAT_INTERVAL,
    check_heartbeat,
)


def _arch_flag(f: ArchField):
    """The `--flag` of one architecture field: its help is the field's meaning and what the
    presets set it to."""
    help_text = f.meaning[0].upper() + f.meaning[1:] + (f", {f.flag_help}" if f.flag_help else "")
    values = {name: getattr(cfg, f.name) for name, cfg in PRESETS.items()}
    if len(set(values.values())) == 1:
        presets = f"every preset: {_written(next(iter(values.values())))}"
    else:
        presets = ", ".join(f"{name}: {_written(value)}" for name, value in values.items())
    kind = str if f.type is tuple else click.Choice(f.choices) if f.choices else f.type
    return click.option(f.flag_name, f.name, type=kind, help=f"{help_text} ({presets}).")


def _written(value) -> str:
    """A preset's value as the flag takes it (pool_after comma-joined)."""
    return ",".join(value) if isinstance(value, tuple) else str(value)


_ARCH_FLAGS = [
    click.option(
        "--preset",
        "preset_name",
        default="v1.0",
        show_default=True,
        type=click.Choice(PRESET_NAMES),
        help="Reference network the flags modify.",
    ),
    *(_arch_flag(f) for f in ARCH_FIELDS if f.flag),
]
ARCH_OPTION_NAMES = tuple(f.name for f in ARCH_FIELDS if f.flag)


def arch_options(func):
    """Decorate a command with the architecture flags; it receives them as keyword arguments."""
    for option in reversed(_ARCH_FLAGS):
        func = option(func)
    return func


def arch_from_options(preset_name: str, **flags) -> ArchConfig:
    """The preset with every given flag applied (flags override the preset)."""
    changes = {k: v for k, v in flags.items() if v is not None}
    if "pool_after" in changes:
        changes["pool_after"] = tuple(
            n.strip() for n in changes["pool_after"].split(",") if n.strip()
        )
    return preset(preset_name, **changes)


def pop_arch_flags(kwargs: dict) -> ArchConfig:
    """Remove the architecture flags from a command's kwargs and build the ArchConfig."""
    flags = {name: kwargs.pop(name) for name in ARCH_OPTION_NAMES}
    return arch_from_options(kwargs.pop("preset_name"), **flags)


def heartbeat_options(*, beating: str, dead: str):
    """--heartbeat-interval and --grace-period (checked by `check_heartbeat`): `beating` names
    what beats, `dead` says what becomes of it after the grace period; and --storage-retry
    (`sqzdse.retry`), for every command that writes a shared study."""

    def decorate(func):
        func = click.option(
            "--storage-retry",
            type=click.IntRange(min=0),
            default=DEFAULT_RETRY_SECONDS,
            show_default=True,
            help="Seconds to wait out a database that went away (a restart, a failover, a cut "
            "connection), retrying with backoff; past them the command stops and the same "
            "command resumes. 0: stop at once.",
        )(func)
        func = click.option(
            "--grace-period",
            type=int,
            default=DEFAULT_GRACE_PERIOD,
            show_default=True,
            help=f"Seconds without a heartbeat after which {dead}.",
        )(func)
        return click.option(
            "--heartbeat-interval",
            type=int,
            default=DEFAULT_HEARTBEAT_INTERVAL,
            show_default=True,
            help=f"Seconds between {beating} heartbeats.",
        )(func)

    return decorate


def chosen_trial(study, number: int):
    """The record of trial `number` of `study` (with `sqzdse retrain`'s result attached);
    SqzdseError naming the valid numbers otherwise."""
    from sqzdse.analysis import trial_records

    trials = study.get_trials(deepcopy=False)
    if not 0 <= number < len(trials):
        raise SqzdseError(
            f"--trial {number}: study {study.study_name!r} has trials 0 to {len(trials) - 1}"
        )
    return trial_records(study, [trials[number]])[0]


def stored_weights(record, number: int, storage: str, artifacts: str | None):
    """(weights, source) of trial `number`: those of `sqzdse retrain` when it ran, else those the
    search stored; SqzdseError saying how to get some when it has none."""
    from sqzdse.artifacts import StoredWeights, artifact_store, load_weights

    retrained = None if record.retrained is None else record.retrained.weights
    if record.weights is None and retrained is None:
        raise SqzdseError(
            f"trial {number} has no stored weights ({record.status or 'no status'}): a search "
            "stores those of the trials on the front when they finish (--save-weights front, the "
            "default) or of every trained trial (--save-weights all); search again with "
            "--save-weights all, or retrain it (sqzdse retrain ... --trial N), or pick a trial "
            "that has them (`sqzdse export` lists the front)"
        )
    store = artifact_store(storage, artifacts, create=False)
    info = retrained or record.weights
    return load_weights(info, store), StoredWeights.from_dict(info).source or "trained"


def prepared_output(path):
    """`path` with its folder created, checked before any long work; SqzdseError naming it when
    the folder cannot be made or the file cannot be written there."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SqzdseError(f"-o {path}: cannot create its folder ({err.strerror})") from None
    existed = path.exists()
    try:  # the only sure test (root passes every permission check, some file systems refuse)
        with open(path, "ab"):
            pass
    except OSError as err:
        raise SqzdseError(f"-o {path}: cannot write there ({err.strerror})") from None
    if not existed:
        path.unlink()
    return path
