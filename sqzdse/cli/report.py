"""Terminal output of a search's study: the Pareto table (the per-trial progress line is
`sqzdse.search`'s)."""

from __future__ import annotations

import optuna

from sqzdse.arch import Group, fields_of
from sqzdse.records import (
    DEFAULT_COST,
    Role,
    Source,
    Status,
    StudyInfo,
    TrialRecord,
    format_value,
    metrics_of,
)

DESIGN = tuple(f.name for f in fields_of(Group.METAPARAMETER))
V1_0_STEM = "96 7x7/2 p0"  # the `stem` column is shown when a network on the front has another


def stem_label(arch) -> str:
    """conv1 as `filters kxk/stride pPadding`, e.g. `96 7x7/2 p0` (SqueezeNet v1.0's)."""
    k = arch.stem_kernel
    return f"{arch.stem_filters} {k}x{k}/{arch.stem_stride} p{arch.stem_padding}"


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
    repeats: dict[int | None, list[int | None]] = {}  # TrialRecord numbers are Optional
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
