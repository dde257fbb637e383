"""Several worker processes on one machine sharing one study through its storage.

Each worker is a process (`python -m sqzdse.search._worker`) given the space and the run's
settings on its stdin, which runs the same search loop: Optuna's storage is the only coordination
(no scheduler of our own), so `sqzdse search` on other machines joins the same way. On the CPU
the cores are split between workers; with several GPUs each worker gets one, round-robin.
`--workers auto` (the default) is one worker on the CPU and WORKERS_PER_GPU workers on each GPU.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqzdse.errors import SqzdseError
from sqzdse.retry import say_on_stderr

if TYPE_CHECKING:
    from sqzdse.search._run import RunSettings
    from sqzdse.space import SearchSpace

# Worker processes per GPU for `--workers auto`. A proxy training of a small network is bound by
# Python, kernel launches and tiny kernels, so one process leaves a GPU mostly idle. Measured with
# benchmarks/workers.py on one H100 (micro networks, digits, 1 epoch, SQLite): trained trials per
# hour once under way, relative to one worker: 2 workers 2.2x, 4 workers 3.4x, 8 workers 6.5x; CUDA
# MPS gained nothing measurable. Each worker holds its own CUDA context (about 0.5 GB).
WORKERS_PER_GPU = 8


def resolve_workers(spec: str | int, device: str) -> int:
    """The worker count `--workers` asks for: a number >= 1, or `auto`.

    `auto` is WORKERS_PER_GPU per GPU the workers would train on (`cuda:N`: one GPU; `cuda` and
    `auto`: every visible GPU) and 1 on the CPU or where CUDA is not available.
    """
    if isinstance(spec, str) and spec.strip().lower() == "auto":
        if device == "cpu" or not device.startswith(("cuda", "auto")):
            return 1
        import torch

        if not torch.cuda.is_available():
            return 1
        gpus = 1 if device.startswith("cuda:") else torch.cuda.device_count()
        return max(1, gpus) * WORKERS_PER_GPU
    try:
        workers = int(spec)
    except (TypeError, ValueError):
        raise SqzdseError(f"--workers must be a number >= 1 or auto, got {spec!r}") from None
    if workers < 1:
        raise SqzdseError(f"--workers must be >= 1 or auto, got {workers}")
    return workers


def worker_devices(device: str, workers: int) -> list[str]:
    """The device of each worker: `auto` and `cuda` spread over the visible GPUs, round-robin."""
    if device in ("auto", "cuda"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count:
            return [f"cuda:{i % count}" for i in range(workers)]
        if device == "auto":
            return ["cpu"] * workers
    return [device] * workers


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    return max(1, (cores or os.cpu_count() or 1) // workers)


def run_workers(
    space: SearchSpace,
    settings: RunSettings,
    *,
    devices: list[str],
    quiet: bool = False,
    env: dict[str, str] | None = None,
    say: Callable[[str], None] = say_on_stderr,
) -> int:
    """Start one worker per entry of `devices` on the search of `space` and wait for them.

    Each worker trains on its device and prints its progress lines, `[worker N] `-prefixed, on
    its stderr unless `quiet`. Ctrl-C or SIGTERM to this process is passed on to every worker,
    which records its trial under way as failed and stops. A worker that dies is said in one line
    (`say`) as it happens; the others go on (its trial under way is failed and retried once its
    heartbeat is stale). Returns the first non-zero exit code of a worker, or 0.
    """
    from sqzdse.search._worker import WorkerJob

    threads = str(threads_per_worker(len(devices)))
    procs = []
    for i, device in enumerate(devices):
        child_env = {
            **os.environ,
            **(env or {}),
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        job = WorkerJob(
            space=dataclasses.replace(
                space, training=dataclasses.replace(space.training, device=device)
            ),
            settings=settings,
            worker_id=i + 1,
            quiet=quiet,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "sqzdse.search._worker"],
            env=child_env,
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdin is not None  # stdin=PIPE
        with proc.stdin:
            pickle.dump(job, proc.stdin)
        procs.append(proc)

    interrupted = []

    def forward(signum, frame):
        interrupted.append(signum)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    told: set[int] = set()
    try:
        while True:
            running = [p.poll() is None for p in procs]
            for i, p in enumerate(procs):
                if not running[i] and p.returncode != 0 and i not in told and not interrupted:
                    told.add(i)
                    say(_death_line(i + 1, p, others=sum(running)))
            if not any(running):
                break
            time.sleep(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    # A worker killed by signal N reports -N; a shell would say 128 + N.
    codes = [128 - p.returncode if p.returncode < 0 else p.returncode for p in procs]
    return next((c for c in codes if c), 0)


def _death_line(number: int, proc: subprocess.Popen, *, others: int) -> str:
    code = proc.returncode
    how = (
        f"was killed by {signal.Signals(-code).name}"
        if code < 0 and -code in signal.valid_signals()
        else f"exited with code {code}"
    )
    going = f"the {others} other worker(s) go on" if others else "no other worker is left"
    return f"worker {number} (pid {proc.pid}) {how}; {going}"
