"""Terminal output of a search: one progress line per trial and the Pareto table at the end."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from sqzdse.arch import Group, fields_of
from sqzdse.records import (
    DEFAULT_COST,
    TRAIN_SECONDS,
    Role,
    Source,
    Status,
    StudyInfo,
    TrialRecord,
    format_value,
    metrics_of,
)
from sqzdse.search import counted

DESIGN = tuple(f.name for f in fields_of(Group.METAPARAMETER))
V1_0_STEM = "96 7x7/2 p0"  # the `stem` column is shown when a network on the front has another


def stem_label(arch) -> str:
    """conv1 as `filters kxk/stride pPadding`, e.g. `96 7x7/2 p0` (SqueezeNet v1.0's)."""
    k = arch.stem_kernel
    return f"{arch.stem_filters} {k}x{k}/{arch.stem_stride} p{arch.stem_padding}"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def progress_line(study: optuna.Study, trial: FrozenTrial, progress, objectives) -> str:
    """`[ 3/16] trial 2 ok  top1 91.20%  params 139,818  4.2 s | elapsed 0:00:12  eta ...`."""
    trials = study.get_trials(deepcopy=False)
    done = sum(map(counted, trials))
    record = TrialRecord.from_trial(trial, objectives)
    status = record.status or trial.state.name.lower()
    parts = [
        f"[{done:>{len(str(progress.target))}}/{progress.target}] trial {trial.number:<3} "
        f"{status:<10}"
    ]
    if trial.state == TrialState.COMPLETE:
        parts += [f"{n} {format_value(n, v)}" for n, v in zip(objectives, trial.values)]
        seconds = record.metrics.get(TRAIN_SECONDS)
        if record.status is Status.REUSED:
            parts.append(f"(same network as trial {record.reused_from})")
        elif seconds is not None:
            compressing = (record.compression or {}).get("seconds")
            quantizing = (record.quantization or {}).get("seconds")
            parts.append(
                f"{seconds:.1f} s"
                + (f" + {compressing:.1f} s compressing" if compressing is not None else "")
                + (f" + {quantizing:.1f} s int8" if quantizing is not None else "")
            )
    else:
        reason = record.failure_reason or ""
        parts.append(reason.removeprefix("stopped ") if status == Status.STOPPED else reason)
    remaining = max(progress.target - done, 0)
    eta = progress.elapsed() / max(progress.run_trials, 1) * remaining
    front = len(study.best_trials) if any(t.state == TrialState.COMPLETE for t in trials) else 0
    return (
        "  ".join(parts) + f" | elapsed {_clock(progress.elapsed())}  eta {_clock(eta)}  "
        f"front {front}"
    )


def format_front(study: optuna.Study, objectives) -> str:
    """The Pareto-optimal trials as a table, smallest network first; a trial that reused another's
    result shares that trial's row (`8 +14`: trial 14 reused trial 8's network)."""
    records = sorted(
        (TrialRecord.from_trial(t, objectives) for t in study.best_trials),
        key=lambda r: r.metrics.get(DEFAULT_COST, 0),
    )
    if not records:
        return "no completed trials yet: the Pareto front is empty"
    numbers = {r.number for r in records}
    repeats: dict[int, list[int]] = {}
    shown = []
    for r in records:
        if r.status is Status.REUSED and r.reused_from in numbers:
            repeats.setdefault(r.reused_from, []).append(r.number)
        else:
            shown.append(r)
    costs = metrics_of(role=Role.COST)[:2]  # parameters and multiply-accumulates
    # the proxy's accuracies (a search's table: nothing is retrained yet)
    accuracies = metrics_of(source=Source.TRAINED, role=Role.ACCURACY)
    metrics = list(dict.fromkeys([*objectives, *accuracies, *costs]))
    stems = [stem_label(r.arch) if r.arch else "" for r in shown]
    with_stem = any(stem not in ("", V1_0_STEM) for stem in stems)
    # the input size, where the space searched it
    with_px = isinstance(StudyInfo.read(study).training.get("resolution"), dict)
    header = [
        "trial",
        *metrics,
        *DESIGN,
        "pools",
        "bypass",
        *(["stem"] if with_stem else []),
        *(["px"] if with_px else []),
    ]
    rows = []
    for r, stem in zip(shown, stems):
        label = " ".join([str(r.number), *(f"+{n}" for n in repeats.get(r.number, []))])
        arch = r.arch
        design = [str(getattr(arch, k, None)) for k in DESIGN]
        rows.append(
            [
                label,
                *(format_value(m, r.metrics.get(m), missing="-") for m in metrics),
                *design,
                ",".join(arch.pool_after) if arch else "",
                str(arch and arch.bypass),
                *([stem] if with_stem else []),
                *([str(arch.resolution) if arch else ""] if with_px else []),
            ]
        )
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    title = f"Pareto front ({len(records)} trials"
    if repeats:
        title += f", {len(rows)} networks; `+N`: trial N reused that row's result"
    return title + "):\n" + "\n".join(lines)
