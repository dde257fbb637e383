"""The plan of a fidelity run: which runs, in which order, and the keys that find them again."""

from __future__ import annotations

import dataclasses

import pytest

from sqzdse.errors import SpaceError
from sqzdse.fidelity._instrument import make_plan
from sqzdse.fidelity._plan import Plan, RunRole, reference_setting, run_key
from sqzdse.space import Training, parse_space
from tests.search.helpers import TINY


def tiny_plan(**changes):
    options = dict(num_classes=10, networks=3, proxy_seeds=2, reference_seeds=1) | changes
    return make_plan(parse_space(TINY), **options)


def test_a_run_key_names_what_the_run_measures_and_nothing_else():
    plan = tiny_plan()
    arch, training = plan.networks[0], plan.proxy
    key = run_key(arch, training)
    # Where the data lies and which device trains do not change what is measured.
    assert (
        run_key(arch, dataclasses.replace(training, data_root="/elsewhere", device="cuda")) == key
    )
    for change in ({"seed": 1}, {"epochs": 2}, {"train_per_class": 9}, {"resolution": 32}):
        assert run_key(arch, dataclasses.replace(training, **change)) != key
    assert run_key(plan.networks[1], training) != key
    # The trainer's default batch size (64), given or left out, is one training.
    assert run_key(arch, dataclasses.replace(training, batch_size=64)) == key
    # So is the default peak learning rate; another is another training.
    assert run_key(arch, dataclasses.replace(training, lr=3e-3)) == key
    assert run_key(arch, dataclasses.replace(training, lr=1e-2)) != key
    assert run_key(arch, training) == key  # stable within and across processes (a pure hash)


def test_the_default_reference_is_ten_times_the_epochs_on_every_training_image():
    proxy = Training(epochs=3, train_per_class=300, val_per_class=100, resolution=32)
    reference = reference_setting(proxy)
    assert (reference.epochs, reference.train_per_class, reference.val_per_class) == (30, None, 100)
    assert reference_setting(proxy, epochs=5, val_per_class=None).val_per_class is None


def test_runs_come_proxy_first_seed_by_seed_smallest_network_first():
    plan = tiny_plan()
    runs = plan.runs()
    assert [(r.role, r.seed, r.network) for r in runs] == [
        (RunRole.PROXY, 0, 0),
        (RunRole.PROXY, 0, 1),
        (RunRole.PROXY, 0, 2),
        (RunRole.PROXY, 1, 0),
        (RunRole.PROXY, 1, 1),
        (RunRole.PROXY, 1, 2),
        (RunRole.REFERENCE, 0, 0),
        (RunRole.REFERENCE, 0, 1),
        (RunRole.REFERENCE, 0, 2),
    ]
    assert len({r.key for r in runs}) == len(runs)
    assert all(r.training.epochs == 10 and r.training.train_per_class is None for r in runs[6:])


def test_proxy_and_reference_settings_are_set_apart_and_checked():
    plan = tiny_plan(proxy={"epochs": 2}, reference={"epochs": 7, "train_per_class": 0})
    assert (plan.proxy.epochs, plan.reference.epochs, plan.reference.train_per_class) == (
        2,
        7,
        None,
    )
    plan = tiny_plan(reference={"resolution": 32, "val_per_class": 0})
    assert plan.reference.resolution == 32 and plan.reference.val_per_class is None
    assert all(r.arch.resolution == 32 for r in plan.runs() if r.role is RunRole.REFERENCE)
    with pytest.raises(SpaceError, match="proxy train per class: expected an integer >= 1, got 0"):
        tiny_plan(proxy={"train_per_class": 0})
    with pytest.raises(SpaceError, match=r"reference epochs: expected an integer >= 1, got -3"):
        tiny_plan(reference={"epochs": -3})
    with pytest.raises(SpaceError, match="pooling: at training resolution 8"):
        tiny_plan(reference={"resolution": 8})
    with pytest.raises(SpaceError, match="number of proxy seeds must be an integer >= 1"):
        tiny_plan(proxy_seeds=0)


def test_candidate_proxies_share_one_reference():
    plain = tiny_plan()
    other = tiny_plan(proxy={"batch_size": 16, "epochs": 2, "train_per_class": 3})
    assert other.reference == plain.reference  # derived from the space, not from the proxy
    reference_keys = {r.key for r in plain.runs() if r.role is RunRole.REFERENCE}
    assert reference_keys == {r.key for r in other.runs() if r.role is RunRole.REFERENCE}


def test_plans_that_train_the_same_runs_have_one_id_and_round_trip():
    plain, explicit = tiny_plan(), tiny_plan(proxy={"batch_size": 64})
    assert plain.id == explicit.id and plain.to_dict() != explicit.to_dict()
    assert tiny_plan(proxy={"epochs": 2}).id != plain.id
    assert Plan.from_dict(plain.to_dict()) == plain
