"""Terminal output of a search: one progress line per trial and the Pareto table at the end."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from sqzdse import records as R


def _fmt(name: str, value) -> str:
    if value is None:
        return "-"
    if name in ("top1", "top5"):
        return f"{value:.3f}"
    if name == "train_seconds":
        return f"{value:.1f}"
    return f"{int(value):,}"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def progress_line(study: optuna.Study, trial: FrozenTrial, progress, objectives) -> str:
    """`[ 3/16] trial 2 ok  top1 0.912  params 139,818  4.2 s | elapsed 0:00:12  eta ...  front 2`."""
    trials = study.get_trials(deepcopy=False)
    done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    attrs = trial.user_attrs
    status = attrs.get(R.STATUS, trial.state.name.lower())
    parts = [f"[{done:>{len(str(progress.target))}}/{progress.target}] trial {trial.number:<3} "
             f"{status:<10}"]
    if trial.state == TrialState.COMPLETE:
        parts += [f"{n} {_fmt(n, v)}" for n, v in zip(objectives, trial.values)]
        if status == "reused":
            parts.append(f"(same network as trial {attrs.get(R.REUSED_FROM)})")
        elif attrs.get("train_seconds") is not None:
            parts.append(f"{attrs['train_seconds']:.1f} s")
    else:
        parts.append(str(attrs.get(R.FAILURE_REASON, "")))
    remaining = max(progress.target - done, 0)
    eta = progress.elapsed() / max(progress.run_trials, 1) * remaining
    front = len(study.best_trials) if any(t.state == TrialState.COMPLETE for t in trials) else 0
    return ("  ".join(parts) + f" | elapsed {_clock(progress.elapsed())}  eta {_clock(eta)}  "
            f"front {front}")


def format_front(study: optuna.Study, objectives) -> str:
    """The Pareto-optimal trials as a table, smallest network first; a trial that reused another's
    result shares that trial's row (`8 +14`: trial 14 reused trial 8's network)."""
    front = sorted(study.best_trials, key=lambda t: t.user_attrs.get("params", 0))
    if not front:
        return "no completed trials yet: the Pareto front is empty"
    numbers = {t.number for t in front}
    repeats: dict[int, list[int]] = {}
    shown = []
    for t in front:
        source = t.user_attrs.get(R.REUSED_FROM)
        if t.user_attrs.get(R.STATUS) == "reused" and source in numbers:
            repeats.setdefault(source, []).append(t.number)
        else:
            shown.append(t)
    metrics = list(dict.fromkeys([*objectives, "top1", "top5", "params", "macs"]))
    header = ["trial", *metrics, "base_e", "incr_e", "pct_3x3", "freq", "sr", "pools", "bypass"]
    rows = []
    for t in shown:
        a = t.user_attrs
        arch = a.get(R.ARCH, {})
        label = " ".join([str(t.number), *(f"+{n}" for n in repeats.get(t.number, []))])
        rows.append([label, *(_fmt(m, a.get(m)) for m in metrics),
                     *(f"{arch.get(k)}" for k in ("base_e", "incr_e", "pct_3x3", "freq", "sr")),
                     ",".join(arch.get("pool_after", [])), str(arch.get("bypass"))])
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    title = f"Pareto front ({len(front)} trials"
    if repeats:
        title += f", {len(rows)} networks; `+N`: trial N reused that row's result"
    return title + "):\n" + "\n".join(lines)
