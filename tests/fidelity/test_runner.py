"""The estimate of the time left: each network's proxy seconds, scaled per role."""

from __future__ import annotations

from sqzdse.fidelity._plan import RunRole
from sqzdse.fidelity._runner import _Clock
from sqzdse.fidelity._store import StoredRun
from tests.fidelity.test_plan import tiny_plan


def timed(run, seconds: float) -> StoredRun:
    return StoredRun(run.key, True, None, 0.5, 0.9, (), seconds, "cpu")


def test_reference_runs_are_estimated_from_their_networks_proxy_seconds():
    plan = tiny_plan(networks=3, proxy_seeds=2)
    runs = plan.runs()
    proxies = [r for r in runs if r.role is RunRole.PROXY]
    references = [r for r in runs if r.role is RunRole.REFERENCE]
    stored = {r.key: timed(r, 1.0 + r.network) for r in proxies}  # 1, 2, 3 s per network
    stored[references[0].key] = timed(references[0], 10.0)  # the reference costs 10x the proxy
    assert _Clock.eta(plan, references[1:], stored) == "eta 0:00:50"  # 10 x (2 + 3)


def test_before_any_reference_run_the_estimate_is_a_guess_and_says_so():
    plan = tiny_plan(networks=3, proxy_seeds=1)  # reference: 10x the epochs, full split
    runs = plan.runs()
    stored = {r.key: timed(r, 2.0) for r in runs[:2]}
    eta = _Clock.eta(plan, runs[2:], stored)
    assert eta.startswith("eta ~")
    assert _Clock.eta(plan, runs, {}) == "eta ?"
