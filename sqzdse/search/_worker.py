"""A worker process of a search (`run_workers` starts it): reads its `WorkerJob` from stdin, runs
its part of the search, and exits as `sqzdse search` would (0; 2 with one error line; 130 on
Ctrl-C)."""

from __future__ import annotations

import pickle
import sys
import warnings
from dataclasses import dataclass

from sqzdse.errors import SqzdseError
from sqzdse.search._run import RunSettings, run_in_process
from sqzdse.space import SearchSpace


@dataclass(frozen=True, kw_only=True)
class WorkerJob:
    """What one worker is given: the space (its device set), the run's settings, its number."""

    space: SearchSpace
    settings: RunSettings
    worker_id: int
    quiet: bool


def main() -> int:
    import optuna

    job: WorkerJob = pickle.load(sys.stdin.buffer)  # from the parent process, never a user file
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    prefix = f"[worker {job.worker_id}] "

    def say(line: str) -> None:
        print(prefix + line, file=sys.stderr, flush=True)

    try:
        run_in_process(
            job.space, job.settings, say=None if job.quiet else say, worker_id=job.worker_id
        )
    except SqzdseError as err:
        print(f"sqzdse: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code
    except KeyboardInterrupt:
        print(
            prefix + "interrupted: the trial under way is recorded as failed; run the same "
            "command again to resume",
            file=sys.stderr,
            flush=True,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
