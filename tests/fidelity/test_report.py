"""The fidelity report, from stored runs constructed by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sqzdse.fidelity._plan import RunRole
from sqzdse.fidelity._report import SIGNALS, build_report, format_report
from sqzdse.fidelity._store import StoredRun
from sqzdse.records import Epoch, analytic_metrics
from tests.fidelity.test_plan import tiny_plan


def stored(top1, *, curve_top1=None, val_loss=1.0, train_losses=(1.0,), ok=True, seconds=1.0):
    curve_top1 = curve_top1 or [top1] * len(train_losses)
    curve = tuple(
        Epoch(e + 1, loss, t, 1.0, seconds, val_loss=val_loss)
        for e, (loss, t) in enumerate(zip(train_losses, curve_top1))
    )
    return StoredRun("k", ok, None if ok else "non-finite loss", top1, 1.0, curve, seconds, "cpu")


def runs_of(plan, proxy, reference, **extra):
    """Stored runs: proxy[seed][network] and reference[seed][network] top-1s."""
    found = {}
    for run in plan.runs():
        table = proxy if run.role is RunRole.PROXY else reference
        seed_index = run.seed - plan.setting(run.role).seed
        value = table[seed_index][run.network]
        found[run.key] = value if isinstance(value, StoredRun) else stored(value, **extra)
    return found


def test_a_proxy_that_reverses_the_reference_while_size_orders_it_perfectly():
    plan = tiny_plan(networks=5, proxy_seeds=1)
    reference = [[0.5, 0.6, 0.7, 0.8, 0.9]]  # networks come smallest first: size ranks perfectly
    report = build_report(plan, runs_of(plan, [[0.9, 0.8, 0.7, 0.6, 0.5]], reference))
    assert report.signals["proxy"].kendall_tau == pytest.approx(-1.0)
    assert report.signals["proxy"].spearman == pytest.approx(-1.0)
    assert report.signals["params"].kendall_tau == pytest.approx(1.0)
    assert report.complete and not report.left_out
    assert report.verdict().startswith("verdict: the proxy adds no information")


def test_within_size_is_undefined_when_size_explains_the_reference_entirely():
    plan = tiny_plan(networks=5, proxy_seeds=1)
    params = np.array([analytic_metrics(a)["params"] for a in plan.networks], dtype=float)
    exact = list(0.2 + 0.1 * np.log10(params))
    report = build_report(plan, runs_of(plan, [[0.9, 0.1, 0.5, 0.3, 0.7]], [exact]))
    assert math.isnan(report.within_size.kendall_tau)


def test_a_proxy_that_sees_what_size_cannot_gets_within_size_tau_one():
    plan = tiny_plan(networks=6, proxy_seeds=2)
    logp = np.log10([analytic_metrics(a)["params"] for a in plan.networks])
    beyond_size = np.array([0.03, -0.02, 0.01, -0.04, 0.05, 0.0])
    reference = [list(0.3 + 0.1 * logp + beyond_size)]
    # Another slope in size, the same part beyond it; two seeds that average to it.
    proxy = 0.1 + 0.05 * logp + beyond_size
    report = build_report(plan, runs_of(plan, [list(proxy - 0.01), list(proxy + 0.01)], reference))
    assert report.within_size.kendall_tau == pytest.approx(1.0)
    assert report.seed_to_seed == pytest.approx(1.0)  # the two seeds differ by a constant
    assert report.networks[0].proxy_top1 == pytest.approx(proxy[0])


def test_networks_with_a_failed_or_missing_run_are_left_out_and_named():
    plan = tiny_plan(networks=5, proxy_seeds=1)
    found = runs_of(plan, [[0.1, 0.2, 0.3, 0.4, 0.5]], [[0.2, 0.3, 0.4, 0.5, 0.6]])
    runs = plan.runs()
    found[runs[1].key] = stored(None, ok=False)  # proxy run of network 1 failed
    del found[runs[-1].key]  # reference run of network 4 not trained yet
    report = build_report(plan, found)
    assert [n.index for n in report.networks] == [0, 2, 3]
    assert report.left_out == (
        (1, "a run failed: non-finite loss"),
        (4, "1 run(s) not trained yet"),
    )
    assert not report.complete
    assert report.signals["proxy"].kendall_tau == pytest.approx(1.0)


def test_other_signals_and_the_tau_after_each_proxy_epoch():
    plan = tiny_plan(networks=4, proxy_seeds=1, proxy={"epochs": 2})
    reference = [[0.2, 0.4, 0.6, 0.8]]
    proxy = [
        [
            # epoch 1 ranks backwards, epoch 2 forwards; val loss forwards, train losses backwards
            stored(
                0.1 * (i + 1),
                curve_top1=[0.5 - 0.1 * i, 0.1 * (i + 1)],
                val_loss=2.0 - 0.1 * i,
                train_losses=(1.0 + 0.1 * i, 1.0),
            )
            for i in range(4)
        ]
    ]
    report = build_report(plan, runs_of(plan, proxy, reference, train_losses=(1.0, 1.0)))
    assert report.by_epoch == pytest.approx((-1.0, 1.0))
    assert report.signals["val_loss"].kendall_tau == pytest.approx(1.0)
    assert report.signals["train_loss_sum"].kendall_tau == pytest.approx(-1.0)
    # Best epochs 0.5, 0.4, 0.3, 0.4: 1 concordant pair, 4 discordant, 1 tied in the signal.
    assert report.signals["best_epoch_top1"].kendall_tau == pytest.approx(-3 / math.sqrt(5 * 6))


def test_front_recall_and_seconds():
    plan = tiny_plan(networks=4, proxy_seeds=1)
    # Reference front: every network (accuracy rises with size); the proxy's: networks 0 and 3.
    found = runs_of(plan, [[0.5, 0.4, 0.3, 0.9]], [[0.2, 0.4, 0.6, 0.8]])
    for run in plan.runs():
        found[run.key] = StoredRun(
            run.key,
            True,
            None,
            found[run.key].top1,
            1.0,
            found[run.key].curve,
            2.0 if run.role is RunRole.PROXY else 40.0,
            "cpu",
        )
    report = build_report(plan, found)
    assert report.front_recall == 0.5
    assert (report.proxy_seconds, report.reference_seconds, report.cost_ratio) == (2.0, 40.0, 0.05)


def test_the_json_report_has_every_promised_field_and_the_text_every_signal():
    plan = tiny_plan(networks=4, proxy_seeds=2)
    report = build_report(
        plan, runs_of(plan, [[0.1, 0.3, 0.2, 0.4], [0.2, 0.3, 0.1, 0.4]], [[0.2, 0.4, 0.3, 0.5]])
    )
    data = json.loads(json.dumps(report.to_dict()))
    network = data["networks"][0]
    assert (
        network["proxy_top1_by_seed"] == [0.1, 0.2] and network["proxy_top1"] == 0.15000000000000002
    )
    for field in ("params", "macs", "reference_top1", "proxy_seconds", "reference_seconds"):
        assert isinstance(network[field], (int, float))
    for field in ("proxy", "params", "macs", "seed_to_seed", "within_size"):
        assert isinstance(data["kendall_tau"][field], float)
    assert data["kendall_tau"]["reference_seed_to_seed"] is None  # one reference seed
    text = format_report(report)
    assert all(label in text for label in SIGNALS.values())
    assert text.splitlines()[-1] == report.verdict()


def test_a_proxy_that_gives_every_network_the_same_accuracy_ranks_nothing():
    plan = tiny_plan(networks=4, proxy_seeds=1)
    report = build_report(plan, runs_of(plan, [[0.1] * 4], [[0.2, 0.4, 0.3, 0.5]]))
    assert math.isnan(report.signals["proxy"].kendall_tau)
    assert report.verdict().startswith("verdict: the proxy gives every network the same accuracy")
