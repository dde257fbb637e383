"""Measured CPU latency: what one measurement holds, and that it leaves the process as it was."""

from __future__ import annotations

import pytest
import torch

from sqzdse.arch import preset
from sqzdse.latency import cpu_name, measure_latency

TINY = preset("v1.1", num_classes=10, resolution=32, base_e=8, incr_e=0, stem_filters=8)


def test_a_measurement_is_a_median_inside_its_spread():
    latency = measure_latency(TINY, repeats=5, warmup=1)
    assert 0 < latency.p10_ms <= latency.median_ms <= latency.p90_ms
    assert (latency.repeats, latency.threads) == (5, 1)
    assert latency.cpu == cpu_name() and latency.torch == torch.__version__
    assert set(latency.to_dict()) == {
        "median_ms",
        "p10_ms",
        "p90_ms",
        "repeats",
        "threads",
        "cpu",
        "torch",
    }


def test_thread_count_and_random_state_are_restored():
    before_threads = torch.get_num_threads()
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    measure_latency(TINY, threads=2, repeats=3, warmup=0)
    assert torch.get_num_threads() == before_threads
    assert torch.equal(torch.rand(3), expected)  # building the network drew no random numbers here


def test_a_larger_network_takes_longer():
    small = measure_latency(TINY, repeats=9)
    large = measure_latency(preset("v1.0", num_classes=10, resolution=64), repeats=9)
    assert large.median_ms > 3 * small.median_ms


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threads": 0}, "`threads` must be an integer >= 1, got 0"),
        ({"repeats": 2}, "`repeats` must be an integer >= 3, got 2"),
        ({"warmup": -1}, "`warmup` must be an integer >= 0, got -1"),
        ({"threads": 1.5}, "`threads` must be an integer >= 1, got 1.5"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        measure_latency(TINY, **kwargs)
