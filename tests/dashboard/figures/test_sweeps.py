"""The paper's sweeps (`figures.sweeps`, the dashboard's /sweeps page): each sweep's proxy
accuracy against the swept value beside the paper's figures, and the exact cost at the paper's
scale, from studies made by the factory."""

from __future__ import annotations

import pytest

from sqzdse import analysis
from sqzdse.analysis import load_trials
from sqzdse.dashboard.figures import sweeps
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url


def _sr_study(url: str):
    study = create_study(
        url, study_name="paper_sr", objectives=(("top1", "maximize"), ("params", "minimize"))
    )
    for sr, top1 in [(0.125, 0.80), (0.125, 0.84), (0.5, 0.90), (1.0, 0.91)]:
        add_trial(study, arch=small_arch(sr=sr), top1=top1, top5=0.99)
    add_trial(study, arch=small_arch(sr=0.75), status="failed")
    return study


def test_sr_figure_values(tmp_path):
    url = sqlite_url(tmp_path / "paper_sr.db")
    _sr_study(url)
    fig = sweeps.sweep_figure(load_trials(url), "paper_sr")
    traces = {t.name: t for t in fig.data}
    mean = traces["proxy top1 (mean)"]
    assert list(mean.x) == [0.125, 0.5, 1.0]  # the failed SR 0.75 trial is not drawn
    assert list(mean.y) == pytest.approx([82.0, 90.0, 91.0])
    size = traces["this design at ImageNet scale (exact)"]
    v10 = 1_248_424 * 4 / 2**20  # SqueezeNet v1.0 (paper Table 1) at 32 bits: the paper's 4.8 MB
    assert size.y[0] == pytest.approx(v10) and round(v10, 1) == 4.8
    assert list(traces["paper top-5 (ImageNet)"].y) == [80.3, 86.0, 86.0]
    assert fig.to_json()  # serialisable as Dash sends it


def test_categorical_sweeps(tmp_path):
    url = sqlite_url(tmp_path / "sweeps.db")
    bypass = create_study(url, study_name="paper_bypass")
    for kind, top5 in [("complex", 0.9), ("none", 0.8), ("simple", 0.95)]:
        add_trial(bypass, arch=small_arch(bypass=kind), top1=top5 - 0.1, top5=top5)
    fig = sweeps.sweep_figure(load_trials(url, study_name="paper_bypass"), "paper_bypass")
    traces = {t.name: t for t in fig.data}
    assert list(traces["proxy top5 (mean)"].x) == ["none", "simple", "complex"]
    assert list(traces["proxy top5 (mean)"].y) == pytest.approx([80.0, 95.0, 90.0])
    sizes = traces["this design at ImageNet scale (exact)"].y
    assert sizes[0] == sizes[1] < sizes[2]

    pooling = create_study(url, study_name="paper_pooling")
    for pools in [("conv1", "fire4", "fire8"), ("conv1", "fire2", "fire3"), ("conv1",)]:
        add_trial(pooling, arch=small_arch(pool_after=pools), top1=0.8, top5=0.9)
    fig = sweeps.sweep_figure(load_trials(url, study_name="paper_pooling"), "paper_pooling")
    macs = {t.name: t for t in fig.data}["this design at ImageNet scale (exact)"]
    assert list(macs.x) == ["conv1", "conv1,fire2,fire3", "conv1,fire4,fire8"]
    assert macs.y[0] > macs.y[2] > macs.y[1]  # fewer and later pools: more multiply-accumulates


def test_sweep_figure_of_a_study_without_results():
    fig = sweeps.sweep_figure(analysis.empty_trials_frame(), "paper_pct")
    assert "no completed trials" in fig.layout.annotations[-1].text
