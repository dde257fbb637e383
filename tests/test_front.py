"""sqzdse.front's pure parts: the time left, the rank agreement, the baselines."""

from __future__ import annotations

import dataclasses

import pytest

from sqzdse.arch import preset
from sqzdse.errors import SqzdseError
from sqzdse.front import FrontRun, Network, Retrained, _Eta, baseline_networks, rank_agreement
from sqzdse.records import SeedRun
from sqzdse.space import Training


def seed_run(seed: int, seconds: float, test_top1: float = 0.5) -> SeedRun:
    return SeedRun(
        seed=seed, top1=0.5, top5=0.9, test_top1=test_top1, test_top5=0.9,
        train_seconds=seconds, device="cpu",
    )  # fmt: skip


def test_time_left_is_a_networks_own_seconds_or_the_mean_marked_as_a_guess():
    small = Network("small", preset("v1.1", num_classes=10, resolution=32))
    big = Network("big", preset("v1.0", num_classes=10, resolution=32))
    runs = [
        FrontRun(n, dataclasses.replace(Training(), seed=s)) for s in (0, 1) for n in (small, big)
    ]
    assert _Eta.left(runs, {}, runs) == "eta ?"
    done = {runs[0].key: seed_run(0, 100.0)}
    assert _Eta.left(runs[1:], done, runs) == "eta ~0:05:00"  # 3 runs at the mean, 100 s
    done[runs[1].key] = seed_run(0, 300.0)
    assert _Eta.left(runs[2:], done, runs) == "eta 0:06:40"  # 100 s + 300 s, nothing guessed


def test_rank_agreement_over_trials_only():
    def net(name, proxy):
        return Network(
            name, preset("v1.1", num_classes=10), 1 if proxy is not None else None, proxy
        )

    found = [
        Retrained(net("1", 0.6), (seed_run(0, 1, 0.80),)),
        Retrained(net("2", 0.7), (seed_run(0, 1, 0.90),)),
        Retrained(net("3", 0.8), (seed_run(0, 1, 0.85),)),
        Retrained(net("v1.1", None), (seed_run(0, 1, 0.10),)),  # a baseline: no proxy, left out
    ]
    assert rank_agreement(found) == pytest.approx(1 / 3)  # 2 concordant pairs, 1 discordant
    assert rank_agreement(found[:1]) is None
    ties = [Retrained(net(str(i), 0.5), (seed_run(0, 1, 0.8 + i / 100),)) for i in range(3)]
    assert rank_agreement(ties) is None  # the proxy ranks nothing


def test_baselines_are_the_exact_presets_or_one_message():
    v10, v11 = baseline_networks(["v1.0", "v1.1"], num_classes=10, resolution=32)
    assert (v10.params, v11.params) == (740_554, 727_626)
    assert v11.arch == preset("v1.1", num_classes=10, resolution=32)
    with pytest.raises(SqzdseError, match=r"--baselines v1.0 at the study's 16 px: the feature"):
        baseline_networks(["v1.0"], num_classes=10, resolution=16)
    with pytest.raises(SqzdseError, match=r"--baselines: unknown 'v2'; valid: v1.0, v1.1"):
        baseline_networks(["v2"], num_classes=10, resolution=32)
