"""A shared study through the faults of a real cluster, counted; and a load figure.

    python benchmarks/faults.py                       # every fault, then the load figure
    python benchmarks/faults.py --faults restart cut  # some faults; --load-trials 0 skips the load

Each fault runs on a PostgreSQL server of its own (initdb in a temporary folder, its own port, as
tests/faults does; the shared server is not touched): WORKERS worker processes search one study of
TRIALS trials with a trainer that sleeps 0.5-1.5 s (the storage, not training, is under test) and
logs every network it finished training, while the fault is injected INJECTIONS times at random
moments of the search under way (each once a random number of trials finished, after a random
fraction of a trial). A worker that exits is started again with the same command (as an operator
would), and the figures come from the study and the logs:

- lost: a network that a worker finished training and no finished trial of the study holds;
- duplicated: one training recorded in two trials, or one retry chain with two results;
- running: trials left RUNNING or WAITING at the end;
- tracebacks: "Traceback" lines on the workers' stderr;
- resumed: every worker that exited non-zero finished the study when started again.

Faults: `restart` (pg_ctl stop -m fast, down 0.5-3 s, start), `cut` (every connection reset by a
TCP proxy in between), `dead` (a worker stopped, SIGSTOP, for longer than the grace period and
then continued, as a stalled machine: the others take it for dead, fail its trial and retry it
while it still trains: the "declared dead while alive" case), `kill` (SIGKILL to a random
worker, restarted at once). The load figure: LOAD_WORKERS processes with an instant trainer and
--load-trials trials on one study: trials per second, storage seconds per trial at the start and
at the end, lost or duplicated trial numbers.

Writes results/faults.json with the date, commit, machine and command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _provenance import write_result  # noqa: E402

from tests.faults.servers import CuttingProxy, PrivatePostgres  # noqa: E402
from tests.search.helpers import TINY  # noqa: E402

WORKERS, TRIALS, INJECTIONS = 3, 40, 5
LOAD_WORKERS = 8
SPACE = {  # tests' tiny space, with enough networks that few are drawn twice
    **TINY,
    "name": "faults",
    "metaparameters": {
        "base_e": {"low": 8, "high": 128, "step": 8},
        "incr_e": {"low": 0, "high": 128, "step": 8},
        "pct_3x3": {"low": 0.125, "high": 0.875, "step": 0.125},
        "freq": {"low": 2, "high": 4},
        "sr": {"choices": [0.125, 0.25, 0.5]},
    },
}
HEARTBEAT, GRACE, RETRY = 1, 3, 120


# ---------------------------------------------------------------------------- a worker


def worker(url: str, study_name: str, log: Path, trials: int, sleep: tuple[float, float]) -> None:
    """One worker process: the library's search loop with a trainer that logs what it trained."""
    import optuna

    from sqzdse.search import Objective, _objective, make_setup, open_study, run_search
    from sqzdse.space import parse_space
    from sqzdse.storage import open_storage
    from sqzdse.train import TrainResult

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # latency is not under test here: a constant instead of 35 timed inferences a trial
    _objective._with_latency = lambda r: r.replace(metrics={**r.metrics, "latency_ms": 0.0})
    setup = make_setup(parse_space({**SPACE, "n_trials": trials}))
    storage = open_storage(url, mode="write", heartbeat_interval=HEARTBEAT, grace_period=GRACE,
                           retry_seconds=RETRY)  # fmt: skip
    study = open_study(setup, storage=storage, study_name=study_name, process=str(os.getpid()))
    rng = random.Random(os.getpid())

    def trainer(cfg, data, config, **kwargs):
        start = time.perf_counter()
        if sleep[1]:
            time.sleep(rng.uniform(*sleep))
        value = rng.random()  # a value no other training gives: what was recorded where
        with open(log, "a") as f:
            f.write(json.dumps({"value": value, "arch": cfg.to_dict(), "pid": os.getpid(),
                                "seconds": time.perf_counter() - start}) + "\n")  # fmt: skip
        return TrainResult(
            status="ok", reason=None, top1=value, top5=1.0, train_loss=1.0, train_seconds=0.01
        )

    run_search(study, Objective(setup, n_trials=trials, trainer=trainer))


def _start(url, study, log: Path, trials: int, sleep, err: Path) -> subprocess.Popen:
    command = [sys.executable, __file__, "--worker", url, study, str(log), str(trials),
               str(sleep[0]), str(sleep[1])]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, stderr=open(err, "a"), stdout=subprocess.DEVNULL, env=env)


# ---------------------------------------------------------------------------- the faults


def inject(kind: str, server: PrivatePostgres, proxy: CuttingProxy, procs: list, rng) -> str:
    if kind == "restart":
        down = rng.uniform(0.5, 3.0)
        server.restart(down_seconds=down)
        return f"restart, down {down:.1f} s"
    if kind == "cut":
        return f"cut {proxy.cut()} connections"
    if kind == "dead":  # a stalled machine: stopped for longer than the grace period, then on
        alive = [p for p in procs if p.poll() is None]
        if not alive:
            return "no worker alive"
        victim = rng.choice(alive)
        victim.send_signal(signal.SIGSTOP)
        time.sleep(GRACE + 3)
        victim.send_signal(signal.SIGCONT)
        return f"SIGSTOP to pid {victim.pid} for {GRACE + 3} s (grace period {GRACE} s)"
    if kind == "kill":
        alive = [p for p in procs if p.poll() is None]
        if not alive:
            return "no worker alive"
        victim = rng.choice(alive)
        victim.send_signal(signal.SIGKILL)
        return f"SIGKILL to pid {victim.pid}"
    raise ValueError(kind)


def scenario(kind: str, folder: Path, rng: random.Random) -> dict:
    server = PrivatePostgres()
    server.start()
    proxy = CuttingProxy(server.port)
    url = (proxy.url() if kind == "cut" else server.url).replace(
        "postgresql://", "postgresql+psycopg://"
    )
    log, err = folder / f"{kind}.jsonl", folder / f"{kind}.err"
    sleep = (0.5, 1.5)
    start = time.monotonic()
    procs = [_start(url, kind, log, TRIALS, sleep, err) for _ in range(WORKERS)]
    exits, restarts, injected = [], 0, []
    try:
        # At random moments of the search under way: once a random number of trials finished,
        # after a random fraction of a trial more.
        for threshold in sorted(rng.sample(range(2, TRIALS * 2 // 3), INJECTIONS)):
            while len(_finished(server.url, kind)) < threshold and any_alive(procs):
                time.sleep(0.1)
            time.sleep(rng.uniform(0, 0.8))
            injected.append(inject(kind, server, proxy, procs, rng))
            procs, n = _restart_exited(procs, exits, url, kind, log, sleep, err)
            restarts += n
        deadline = time.monotonic() + 600
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.2)
            procs, n = _restart_exited(procs, exits, url, kind, log, sleep, err)
            restarts += n
        final = [p.wait(timeout=60) for p in procs]
        report = _count(server.url, kind, log, err)
    finally:
        proxy.close()
        server.close()
    resumed = all(code == 0 for code in final)
    done = [w for w in injected if w != "no worker alive"]
    return {"fault": kind, "injected": len(done), "what": injected, "workers": WORKERS,
            "exits": Counter(map(str, exits)), "restarted": restarts, "resumed": resumed,
            "seconds": round(time.monotonic() - start, 1), **report}  # fmt: skip


def any_alive(procs) -> bool:
    return any(p.poll() is None for p in procs)


def _finished(url: str, study_name: str) -> list:
    """The study's finished trials; none while the server is down or the study not made yet."""
    import optuna

    try:
        storage = optuna.storages.RDBStorage(
            url.replace("postgresql://", "postgresql+psycopg://"), skip_table_creation=True
        )
        try:
            study = optuna.load_study(study_name=study_name, storage=storage)
            return [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        finally:
            storage.engine.dispose()
    except Exception:
        return []


def _restart_exited(procs, exits, url, kind, log, sleep, err):
    """Start the same command again in place of a worker that exited non-zero (a killed one, one
    past --storage-retry), as an operator would; one that finished (0) is done."""
    kept, restarted = [], 0
    for p in procs:
        code = p.poll()
        if code in (None, 0):
            kept.append(p)
            continue
        exits.append(code)
        kept.append(_start(url, kind, log, TRIALS, sleep, err))
        restarted += 1
    return kept, restarted


def _count(url: str, study_name: str, log: Path, err: Path) -> dict:
    import optuna
    from optuna.trial import TrialState

    storage = optuna.storages.RDBStorage(url.replace("postgresql://", "postgresql+psycopg://"))
    trials = optuna.load_study(study_name=study_name, storage=storage).get_trials()
    storage.engine.dispose()
    trained = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    held = {json.dumps(t.user_attrs.get("arch"), sort_keys=True) for t in complete}
    lost = [t for t in trained if json.dumps(t["arch"], sort_keys=True) not in held]
    own = [t for t in complete if t.user_attrs.get("reused_from") is None]
    values = Counter(t.values[0] for t in own)
    chains = Counter(t.system_attrs.get("failed_trial", t.number) for t in own)
    return {
        "asked": len(trials),
        "completed": len(complete),
        "trainings": len(trained),
        "lost": len(lost),
        "duplicated": sum(n - 1 for n in values.values() if n > 1)
        + sum(n - 1 for n in chains.values() if n > 1),
        "running": sum(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "tracebacks": err.read_text().count("Traceback") if err.exists() else 0,
        "declared_dead": err.read_text().count("declared dead") if err.exists() else 0,
        "stderr_lines": sorted(set(_shape(line) for line in err.read_text().splitlines()))
        if err.exists()
        else [],
    }


def _shape(line: str) -> str:
    """A stderr line with its numbers and addresses blanked, to list the kinds of line seen."""
    import re

    return re.sub(r"\d+(\.\d+)?", "N", line)[:160]


# ---------------------------------------------------------------------------- the load figure


def load(folder: Path, trials: int) -> dict:
    import optuna

    server = PrivatePostgres()
    server.start()
    url = server.url.replace("postgresql://", "postgresql+psycopg://")
    log, err = folder / "load.jsonl", folder / "load.err"
    try:
        start = time.perf_counter()
        procs = [_start(url, "load", log, trials, (0.0, 0.0), err) for _ in range(LOAD_WORKERS)]
        connections = 0
        while any(p.poll() is None for p in procs):
            connections = max(connections, _connections(server))
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        storage = optuna.storages.RDBStorage(url)
        study = optuna.load_study(study_name="load", storage=storage)
        done = [t for t in study.get_trials() if t.state.is_finished()]
        numbers = Counter(t.number for t in study.get_trials())
        storage.engine.dispose()
    finally:
        server.close()
    done.sort(key=lambda t: t.datetime_complete)
    per_trial = [(t.datetime_complete - t.datetime_start).total_seconds() for t in done]
    window = max(1, len(per_trial) // 10)
    steady = done[window:]
    rate = (len(steady) - 1) / max(
        1e-9, (steady[-1].datetime_complete - steady[0].datetime_complete).total_seconds()
    )
    return {
        "workers": LOAD_WORKERS,
        "trials_asked": trials,
        "trials_finished": len(done),
        "wall_seconds": round(seconds, 1),
        "trials_per_second_steady": round(rate, 2),
        "storage_seconds_per_trial_first_10pct": round(statistics.median(per_trial[:window]), 4),
        "storage_seconds_per_trial_last_10pct": round(statistics.median(per_trial[-window:]), 4),
        "duplicated_numbers": sum(n - 1 for n in numbers.values() if n > 1),
        "exits": [p.returncode for p in procs],
        "tracebacks": err.read_text().count("Traceback") if err.exists() else 0,
        "most_connections_seen": connections,
    }


def _connections(server: PrivatePostgres) -> int:
    """Client connections open on the server now (pg_stat_activity), ours excepted."""
    import psycopg

    try:
        with psycopg.connect(server.url, connect_timeout=5) as con:
            row = con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()"
            ).fetchone()
        return int(row[0])
    except psycopg.Error:
        return 0


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", nargs="*", default=["restart", "cut", "dead", "kill"])
    parser.add_argument("--load-trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(ROOT / "results" / "faults.json"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="sqzdse-faults-") as tmp:
        for kind in args.faults:
            print(f"fault {kind}: {WORKERS} workers, {TRIALS} trials, {INJECTIONS} injections",
                  file=sys.stderr, flush=True)  # fmt: skip
            results.append(scenario(kind, Path(tmp), rng))
            print(json.dumps(results[-1], default=str), flush=True)
        load_report = load(Path(tmp), args.load_trials) if args.load_trials else None
    if load_report:
        print(json.dumps(load_report), flush=True)
    print(f"{'fault':8} {'inj':>4} {'asked':>6} {'done':>5} {'lost':>5} {'dup':>4} {'run':>4} "
          f"{'tb':>3} {'dead':>4} resumed")  # fmt: skip
    for r in results:
        print(f"{r['fault']:8} {r['injected']:>4} {r['asked']:>6} {r['completed']:>5} "
              f"{r['lost']:>5} {r['duplicated']:>4} {r['running']:>4} {r['tracebacks']:>3} "
              f"{r['declared_dead']:>4} {r['resumed']}")  # fmt: skip
    write_result(args.output, {"faults": results, "load": load_report})


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        from sqzdse.errors import SqzdseError

        url, study, log, trials, low, high = sys.argv[2:8]
        try:  # as the `sqzdse` command does: one line and its exit code
            worker(url, study, Path(log), int(trials), (float(low), float(high)))
        except SqzdseError as err:
            print(f"sqzdse: error: {err}", file=sys.stderr)
            sys.exit(err.exit_code)
    else:
        main()
