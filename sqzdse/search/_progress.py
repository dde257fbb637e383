"""A search's progress line: one per trial, as `sqzdse search` prints it."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from sqzdse.compression import CompressionReport
from sqzdse.quantization import Int8Block
from sqzdse.records import TRAIN_SECONDS, Status, TrialRecord, format_clock, format_value
from sqzdse.search._loop import Progress
from sqzdse.search._objective import counted


def progress_line(study: optuna.Study, trial: FrozenTrial, progress: Progress, objectives) -> str:
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
            compressing = CompressionReport.from_dict(record.compression or {}).seconds
            quantizing = Int8Block.from_dict(record.quantization or {}).seconds
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
        "  ".join(parts)
        + f" | elapsed {format_clock(progress.elapsed())}  eta {format_clock(eta)}  front {front}"
    )
