"""What the views share (`figures._common`): the axes offered, tick formats."""

from __future__ import annotations

from sqzdse.dashboard import figures
from sqzdse.dashboard.source import StudySource
from sqzdse.records import Role, metric, metrics_of
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url


def test_default_axes_follow_the_study_objectives():
    assert figures.default_axes([("top1", "maximize"), ("params", "minimize")]) == (
        "params",
        "top1",
    )
    assert figures.default_axes([("top5", "maximize"), ("macs", "minimize")]) == ("macs", "top5")
    assert figures.default_axes([]) == ("params", "top5")


def test_percent_ticks_get_a_decimal_when_the_range_is_narrow():
    assert figures.percent_format([0.97, 0.99, None]) == ".1%"
    assert figures.percent_format([0.5, 0.9]) == ".0%"
    assert figures.percent_format([]) == ".0%"


def test_default_axes_of_a_factory_study(factory):
    assert factory.objectives == (("top5", "maximize"), ("params", "minimize"))
    assert figures.default_axes(factory.objectives) == ("params", "top5")
    assert len(figures.combined_frame([factory, factory])) == 8


# ---------------------------------------------------------------------------- axes offered


def test_only_the_metrics_a_study_records_are_offered(factory):
    xs, ys = figures.offered_axes([factory])
    # Counted from the architecture, and the factory's made-up latency: every trained trial has
    # them. Nothing was compressed, quantized or retrained.
    assert list(xs) == [
        "params",
        "macs",
        "size_bytes_32bit",
        "size_bytes_8bit",
        "peak_sram_bytes",
        "flash_bytes",
        "latency_ms",
    ]
    assert list(ys) == ["top1", "top5"]
    assert "top1_compressed" in figures.Y_METRICS and "compressed_bytes" in figures.X_METRICS
    assert xs == {n: figures.X_METRICS[n] for n in xs}  # labels as the full table's


def test_a_compressed_trial_offers_its_metrics(tmp_path, factory):
    url = sqlite_url(tmp_path / "c.db")
    study = create_study(url, study_name="compressed")
    add_trial(
        study,
        arch=small_arch(),
        top1=0.5,
        top5=0.8,
        metrics={"compressed_bytes": 9_000, "top1_compressed": 0.48, "top5_compressed": 0.79},
    )
    compressed = StudySource(url).load("compressed")
    xs, ys = figures.offered_axes([compressed])
    assert "compressed_bytes" in xs and {"top1_compressed", "top5_compressed"} <= set(ys)
    both_x, both_y = figures.offered_axes([factory, compressed])  # the union of the studies shown
    assert both_x == xs and both_y == ys
    assert "top1_compressed" not in figures.offered_axes([factory])[1]


def test_an_empty_study_offers_its_objectives_and_no_study_every_metric(tmp_path):
    url = sqlite_url(tmp_path / "e.db")
    create_study(url, study_name="empty", objectives=(("top1", "maximize"), ("macs", "minimize")))
    empty = StudySource(url).load("empty")
    assert figures.offered_axes([empty]) == (
        {"macs": figures.X_METRICS["macs"]},
        {"top1": figures.Y_METRICS["top1"]},
    )
    assert figures.offered_axes([]) == (figures.X_METRICS, figures.Y_METRICS)
    assert set(figures.Y_METRICS) == set(metrics_of(role=Role.ACCURACY))
    assert metric("top1_compressed").label == figures.Y_METRICS["top1_compressed"]
