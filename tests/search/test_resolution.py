"""The input resolution as a searched dimension (`training.resolution: {choices: [...]}` or a
range): parsing and messages, suggestion after every other dimension, fixed resolutions hashed
and drawn as before, and a real search whose trials train, count and constrain at their own
resolution, on data resized once per resolution."""

from __future__ import annotations

import json

import optuna
import pytest

from sqzdse.arch import preset
from sqzdse.dashboard import details, figures
from sqzdse.dashboard.source import StudySource
from sqzdse.data import _core
from sqzdse.errors import SpaceError
from sqzdse.records import Status, analytic_metrics
from sqzdse.space import Param, Training, load_space, parse_space
from sqzdse.weights import Weights
from tests.search.helpers import TINY, run, searched_all
from tests.test_space_stem import Recording

BASE = {"metaparameters": {"sr": {"choices": [0.125, 0.25]}}}
# Two networks x two resolutions, drawn by the grid sampler: four trials, every pair once.
SEARCHED = {
    "metaparameters": {**TINY["metaparameters"], "incr_e": 0, "sr": 0.5},
    "sampler": {"name": "grid", "seed": 0},
    "training": {**TINY["training"], "resolution": {"choices": [24, 32]}},
    "n_trials": 4,
}


def _space(resolution, **extra):
    return parse_space({**BASE, "training": {"resolution": resolution}, **extra})


def _bad(resolution, **extra) -> str:
    with pytest.raises(SpaceError) as err:
        _space(resolution, **extra)
    return str(err.value)


# ---------------------------------------------------------------------------- the space


def test_choices_and_ranges_are_drawn_last_as_the_optuna_parameter_resolution():
    space = _space({"choices": [24, 32]}, pooling={"after": ["conv1", "fire4"]})
    assert space.training.resolution == Param("resolution", "choices", choices=(24, 32))
    assert space.searched_params() == {"sr": [0.125, 0.25], "resolution": [24, 32]}
    trial = Recording({"sr": 0.25, "resolution": 32})
    cfg = space.suggest(trial, num_classes=10)
    assert trial.names == ["sr", "resolution"] and cfg.resolution == 32
    ranged = _space({"low": 24, "high": 40, "step": 8}, pooling={"after": ["conv1"]})
    assert ranged.training.resolutions == [24, 32, 40]
    assert ranged.suggest(optuna.trial.FixedTrial({"sr": 0.25, "resolution": 40}), num_classes=10)
    assert ranged.training.resolution_label == "24 to 40 px (searched, step 8)"
    assert space.training.resolution_label == "24 or 32 px (searched)"
    # the data set it loads by default is the smallest; a trial's is its own
    assert space.training.data_spec().resolution == 24
    assert space.training.data_spec(resolution=32).resolution == 32


def test_a_fixed_resolution_is_drawn_and_hashed_as_before():
    fixed = _space(32)
    assert fixed.training.resolution == 32 and "resolution" not in fixed.searched_params()
    trial = Recording({"sr": 0.25})
    assert fixed.suggest(trial, num_classes=10).resolution == 32 and trial.names == ["sr"]
    assert fixed.to_dict()["training"]["resolution"] == 32
    assert load_space("micro").hash == "5420bbc7245a36ec"  # every shipped one: test_space_stem
    searched = _space({"choices": [32, 48]}, pooling={"after": ["conv1"]})
    assert len({fixed.hash, searched.hash, _space(48).hash}) == 3


def test_a_stored_searched_resolution_reads_back():
    space = _space({"low": 24, "high": 32}, pooling={"after": ["conv1"]})
    stored = json.loads(json.dumps(space.to_dict()["training"]))
    assert Training.from_stored(stored) == space.training
    assert Training.from_stored(stored).at(28).data_spec().resolution == 28


@pytest.mark.parametrize(
    ("resolution", "message"),
    [
        ({"choices": [4, 32]}, "training.resolution.choices[0]: expected an integer >= 8, got 4"),
        ({"choices": [24.5]}, "training.resolution.choices[0]: expected an integer, got 24.5"),
        ({"choices": []}, "training.resolution.choices: expected a non-empty list, got []"),
        ({"choices": [32, 32]}, "training.resolution.choices: [32, 32] lists a value more than"),
        ({"low": 4, "high": 32}, "training.resolution.low: expected an integer >= 8, got 4"),
        ({"low": 32, "high": 24}, "training.resolution: `low` (32) must not exceed `high` (24)"),
        ({"low": 24}, "training.resolution: a range needs `low` and `high`"),
        ({"values": [24]}, "training.resolution.values: unknown key; allowed here: low, high"),
        ("32", "training.resolution: expected an integer >= 8, got '32'"),
    ],
)
def test_bad_resolutions_name_the_field(resolution, message):
    assert message in _bad(resolution)


def test_a_feature_map_that_vanishes_at_the_smallest_resolution_is_refused_at_load():
    # v1.0's pools (after conv1, fire4, fire8) need 32 px of its 7x7/2 stem; 16 px vanishes.
    message = _bad({"choices": [16, 32]})
    assert message.startswith(
        "training.resolution: 16 px, the smallest resolution this space searches, is too small "
        "for the most pools it allows (after conv1, fire4, fire8): the feature map vanishes"
    )
    assert message.endswith("raise the smallest resolution or allow fewer pools")
    assert _bad(16).startswith("pooling: at training resolution 16, the feature map vanishes")
    stem = _bad(
        {"low": 16, "high": 32}, network={"stem": {"kernel": {"choices": [3, 7]}, "padding": 0}}
    )
    assert stem.startswith(
        "network.stem: at 16 px, the smallest resolution this space searches "
        "(training.resolution), the stem 3x3/2 with padding 0 and the most pools"
    )
    assert stem.endswith(
        "narrow the stem's values, raise the smallest resolution or allow fewer pools"
    )


# ---------------------------------------------------------------------------- a real search


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    resized = []  # (resolution, images) of every resize of the data set
    images = _core._images

    def counting(part, idx, resolution):
        resized.append((resolution, len(idx)))
        return images(part, idx, resolution)

    folder = tmp_path_factory.mktemp("res")
    _core.clear_cache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_core, "_images", counting)
        url, study, records = searched_all(folder, "res", **SEARCHED)
    return folder, url, study, records, resized


def test_trials_train_at_their_own_resolution(searched):
    folder, _, study, records, _ = searched
    pairs = sorted((r.arch.base_e, r.arch.resolution) for r in records)
    assert pairs == [(8, 24), (8, 32), (16, 24), (16, 32)]
    assert all(r.status is Status.OK for r in records)  # none is a twin of another
    for r, trial in zip(records, study.trials):
        assert trial.params["resolution"] == r.arch.resolution
        assert r.curve and r.metrics["latency_ms"] > 0
        stored = (folder / "res.artifacts" / r.weights["artifact_id"]).read_bytes()
        assert Weights.from_bytes(stored).arch == r.arch  # trained at that resolution


def test_the_data_set_is_resized_once_per_resolution(searched):
    *_, resized = searched
    # the training images (8 per class) and the validation images (4), once per resolution
    assert sorted(resized) == [(24, 40), (24, 80), (32, 40), (32, 80)]


def test_metrics_are_sqzdse_counts_at_the_trials_resolution(searched, capsys):
    records = searched[3]
    for r in records:
        args = ["count", "--json"]
        for name, flag in (*details.ARCH_FLAGS, *details.PRESET_FLAGS):
            value = getattr(r.arch, name)
            args += [flag, ",".join(value) if name == "pool_after" else value]
        code, out, err = run(capsys, *args)
        assert code == 0, err
        counted = json.loads(out)
        assert counted["config"] == r.arch.to_dict()
        for name in ("params", "macs", "peak_sram_bytes", "flash_bytes"):
            assert r.metrics[name] == counted[name], (r.number, name)
    by = {(r.arch.base_e, r.arch.resolution): r.metrics for r in records}
    for base_e in (8, 16):  # more pixels: more work and memory, the same weights
        assert by[base_e, 32]["macs"] > by[base_e, 24]["macs"]
        assert by[base_e, 32]["peak_sram_bytes"] > by[base_e, 24]["peak_sram_bytes"]
        assert by[base_e, 32]["params"] == by[base_e, 24]["params"]


def test_constraints_are_checked_at_each_trials_resolution_before_training(tmp_path):
    # 2,000 bytes of peak SRAM: every network fits at 16 px (1,552), none at 24 (3,664).
    changes = {
        **SEARCHED,
        "training": {**SEARCHED["training"], "resolution": {"choices": [16, 24]}},
        "constraints": {"peak_sram_bytes": 2000},
        "sampler": {"name": "random", "seed": 0},
        "n_trials": 2,
    }
    _, _, records = searched_all(tmp_path, "budget", **changes)
    trained = [r for r in records if r.status is Status.OK]
    infeasible = [r for r in records if r.status is Status.INFEASIBLE]
    assert len(trained) == 2 and infeasible  # the random sampler drew 24 px too
    assert {r.arch.resolution for r in trained} == {16}
    for r in infeasible:
        assert r.arch.resolution == 24 and not r.curve and "top1" not in r.metrics
        assert r.failure_reason == "peak_sram_bytes 3,664 > budget 2,000 (not trained)"


def test_the_dashboard_draws_references_at_each_resolution(searched):
    url = searched[1]
    data = StudySource(url).load("res")
    assert data.resolution is None  # its trials have two
    info = figures.pareto_info([data], x="macs", y="top1")
    assert sorted((r.preset, r.resolution) for r in info.references) == [
        ("v1.0", 24),
        ("v1.0", 32),
        ("v1.1", 24),
        ("v1.1", 32),
    ]
    for ref in info.references:
        cfg = preset(ref.preset, num_classes=10, resolution=ref.resolution)
        assert ref.x == analytic_metrics(cfg)["macs"]
        assert ref.label == f"SqueezeNet {ref.preset} at {ref.resolution} px: size only, " + (
            "accuracy not measured here"
        )
    # Parameters do not depend on the input: one size-only line per preset.
    by_params = figures.pareto_info([data], x="params", y="top1")
    assert len(by_params.references) == 4 and len(by_params.size_only()) == 2


def test_export_and_retraining_use_each_trials_resolution(searched, tmp_path, capsys):
    _, url, study, records, _ = searched
    small, large = (
        next(r for r in records if r.arch.resolution == res and r.arch.base_e == 8)
        for res in (24, 32)
    )
    out = tmp_path / "m.onnx"
    code, _, err = run(capsys, "export-model", "--storage", url, "--trial", small.number, "-o", out)
    assert code == 0, err
    card = json.loads((tmp_path / "m.card.json").read_text())
    assert card["input"]["shape"] == ["batch", 3, 24, 24]
    assert card["onnx_runtime_check"]["top1"] == pytest.approx(small.metrics["top1"], abs=1e-9)
    retrain = ("retrain", "--storage", url, "--epochs", 1, "--seeds", 1, "--train-per-class", 8)
    trials = f"{small.number},{large.number}"
    code, _, err = run(capsys, *retrain, "--trials", trials, "--baselines", "v1.1", "-q")
    assert code == 0, err
    attrs = optuna.load_study(study_name="res", storage=url).user_attrs
    assert attrs[f"retrained:{small.number}"]["settings"]["resolution"] == 24
    assert attrs[f"retrained:{large.number}"]["settings"]["resolution"] == 32
    assert attrs["retrained_baseline:v1.1"]["settings"]["resolution"] == 32  # the largest
    other = next(r for r in records if r.arch.resolution == 24 and r.arch.base_e == 16)
    code, _, err = run(capsys, *retrain, "--trial", other.number, "-q")
    assert code == 0, err
    block = optuna.load_study(study_name="res", storage=url).user_attrs[f"retrained:{other.number}"]
    assert block["settings"]["resolution"] == 24


def test_a_fidelity_plan_trains_at_one_resolution():
    from sqzdse.fidelity._instrument import make_plan

    space = _space({"choices": [32, 48]}, pooling={"after": ["conv1"]})
    with pytest.raises(SpaceError, match="give --proxy-resolution"):
        make_plan(space, num_classes=10, networks=2)
    plan = make_plan(space, num_classes=10, networks=2, proxy={"resolution": 48})
    assert plan.proxy.resolution == plan.reference.resolution == 48
    assert {run.arch.resolution for run in plan.runs()} == {48}
    plan = make_plan(
        space, num_classes=10, networks=2, proxy={"resolution": 32}, reference={"resolution": 48}
    )
    assert (plan.proxy.resolution, plan.reference.resolution) == (32, 48)


def test_the_closing_table_gives_each_networks_resolution(searched):
    from sqzdse.cli.report import format_front

    study, records = searched[2], searched[3]
    lines = format_front(study, study.metric_names).splitlines()
    header = lines[1].split()
    assert header[-1] == "px"
    by_number = {r.number: r for r in records}
    for line in lines[2:]:
        cells = line.split()
        assert cells[-1] == str(by_number[int(cells[0])].arch.resolution)
