"""A searchable stem (network.stem): parsing, messages, suggestion, same padding; pinned hashes."""

import optuna
import pytest

from sqzdse.arch import count_macs, count_params, preset, resolve
from sqzdse.errors import SpaceError
from sqzdse.samplers import make_sampler
from sqzdse.space import Param, load_space, parse_space, shipped_spaces

SR = {"sr": {"choices": [0.125, 0.25]}}

# SearchSpace.hash of every shipped space. A searchable stem changed none of them (a fixed stem is
# stored as the plain integer it always was); change a value here only on purpose, knowing that
# studies of that space will refuse to resume under it.
SHIPPED_HASHES = {
    "compressed": "4f4a2183085e3bf7",
    "fashion": "102d6ceb01d76aa2",
    "fashion_mcu": "49ee2c47d1cdcd3e",
    "fashion_small": "cc51ca714836f203",
    "full": "face13e38ec56695",
    "macro": "2d2f6d6e33a834c4",
    "micro": "5420bbc7245a36ec",
    "paper_bypass": "c64ecb6b348a27c2",
    "paper_pct": "fd7f5ed78cada83a",
    "paper_pooling": "4ef78f2162c6cc90",
    "paper_sr": "edaab30c975a9420",
}


def _space(stem, **extra):
    return parse_space({"metaparameters": SR, "network": {"stem": stem}, **extra})


def _bad(stem, **extra):
    with pytest.raises(SpaceError) as err:
        _space(stem, **extra)
    return str(err.value)


class Recording:
    """A FixedTrial that remembers the order in which parameters were suggested."""

    def __init__(self, params):
        self.trial = optuna.trial.FixedTrial(params)
        self.names = []

    def suggest_categorical(self, name, choices):
        self.names.append(name)
        return self.trial.suggest_categorical(name, choices)

    def suggest_int(self, name, low, high, **kw):
        self.names.append(name)
        return self.trial.suggest_int(name, low, high, **kw)

    def suggest_float(self, name, low, high, **kw):
        self.names.append(name)
        return self.trial.suggest_float(name, low, high, **kw)


@pytest.mark.parametrize("name", sorted(SHIPPED_HASHES))
def test_shipped_space_hashes_are_pinned(name):
    assert load_space(name).hash == SHIPPED_HASHES[name]


def test_every_shipped_space_has_a_pinned_hash():
    assert sorted(p.stem for p in shipped_spaces()) == sorted(SHIPPED_HASHES)


def test_a_fixed_stem_is_stored_as_plain_integers():
    space = _space({"filters": 32, "kernel": 3, "stride": 1, "padding": 1})
    assert space.to_dict()["network"] == {
        "stem_filters": 32,
        "stem_kernel": 3,
        "stem_stride": 1,
        "stem_padding": 1,
    }
    assert space.network_params == {}
    assert list(space.searched_params()) == ["sr"]
    cfg = space.suggest(optuna.trial.FixedTrial({"sr": 0.25}), num_classes=10)
    assert (cfg.stem_filters, cfg.stem_kernel, cfg.stem_stride, cfg.stem_padding) == (32, 3, 1, 1)


def test_searched_stem_choices_and_ranges():
    space = _space(
        {
            "filters": {"low": 16, "high": 48, "step": 16},
            "kernel": {"choices": [3, 5, 7]},
            "stride": {"low": 1, "high": 2},
        }
    )
    assert space.network_params["stem_kernel"] == Param("stem_kernel", "choices", choices=(3, 5, 7))
    assert space.network_params["stem_filters"].kind == "int"
    # after every other dimension, in the order kernel, stride, filters, padding
    assert space.searched_params() == {
        "sr": [0.125, 0.25],
        "stem_kernel": [3, 5, 7],
        "stem_stride": [1, 2],
        "stem_filters": [16, 32, 48],
    }
    trial = Recording({"sr": 0.25, "stem_kernel": 7, "stem_stride": 1, "stem_filters": 48})
    cfg = space.suggest(trial, num_classes=10)
    assert trial.names == ["sr", "stem_kernel", "stem_stride", "stem_filters"]
    assert (cfg.stem_filters, cfg.stem_kernel, cfg.stem_stride) == (48, 7, 1)
    assert cfg.stem_padding == 3  # same padding: kernel // 2
    assert resolve(cfg).stem_size == 32


def test_searched_padding_and_given_padding():
    given = _space({"kernel": {"choices": [3, 5]}, "padding": 1})
    cfg = given.suggest(optuna.trial.FixedTrial({"sr": 0.25, "stem_kernel": 5}), num_classes=10)
    assert cfg.stem_padding == 1  # a given padding applies to every kernel
    assert "stem_padding" not in given.searched_params()
    searched = _space({"kernel": 3, "padding": {"choices": [0, 1]}})
    assert searched.searched_params()["stem_padding"] == [0, 1]
    fixed = {"sr": 0.25, "stem_padding": 0}
    assert searched.suggest(optuna.trial.FixedTrial(fixed), num_classes=10).stem_padding == 0
    # a fixed kernel without padding keeps the preset's padding, as before
    assert _space({"kernel": 3}).base_config(10).stem_padding == preset("v1.0").stem_padding


def test_existing_dimensions_are_suggested_first():
    space = parse_space(
        {
            "metaparameters": SR,
            "pooling": {"conv1": "search", "among": ["fire3", "fire5"], "count": 1},
            "bypass": {"choices": ["none", "simple"]},
            "network": {"stem": {"stride": {"choices": [1, 2]}, "kernel": {"choices": [3, 5]}}},
        }
    )
    params = {
        "sr": 0.125,
        "pool_conv1": False,
        "pool_after": "fire5",
        "bypass": "simple",
        "stem_kernel": 5,
        "stem_stride": 2,
    }
    trial = Recording(params)
    cfg = space.suggest(trial, num_classes=10)
    assert trial.names == list(params)
    assert cfg.pool_after == ("fire5",) and cfg.bypass == "simple"
    assert (cfg.stem_kernel, cfg.stem_stride, cfg.stem_padding) == (5, 2, 2)
    assert list(space.searched_params()) == list(params)


def test_grid_sampling_covers_the_stem():
    space = _space({"kernel": {"choices": [3, 5]}, "stride": {"choices": [1, 2]}})
    sampler = make_sampler("grid", seed=0, options={}, grid=space.searched_params)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    seen = set()

    def objective(trial):
        cfg = space.suggest(trial, num_classes=10)
        seen.add((cfg.sr, cfg.stem_kernel, cfg.stem_stride))
        return 0, 0

    study.optimize(objective, n_trials=8)
    assert len(seen) == 8


def test_a_preset_stem_can_be_searched_over():
    space = parse_space(
        {
            "metaparameters": SR,
            "network": {"preset": "v1.1", "stem": {"kernel": {"low": 3, "high": 5}}},
        }
    )
    assert space.searched_params()["stem_kernel"] == [3, 4, 5]
    cfg = space.suggest(optuna.trial.FixedTrial({"sr": 0.25, "stem_kernel": 4}), num_classes=10)
    assert (cfg.stem_filters, cfg.stem_kernel, cfg.stem_padding) == (64, 4, 2)


@pytest.mark.parametrize(
    ("stem", "message"),
    [
        (
            {"kernel": {"choices": [3, 0]}},
            "network.stem.kernel.choices[1]: expected an integer >= 1, got 0",
        ),
        (
            {"stride": {"choices": [1, 1.5]}},
            "network.stem.stride.choices[1]: expected an integer, got 1.5",
        ),
        ({"filters": {"choices": []}}, "network.stem.filters.choices: expected a non-empty list"),
        ({"kernel": {"choices": [3, 3]}}, "network.stem.kernel.choices: [3, 3] lists a value"),
        ({"padding": {"low": -1, "high": 2}}, "network.stem.padding.low: expected an integer >= 0"),
        ({"filters": {"low": 0, "high": 16}}, "network.stem.filters.low: expected an integer >= 1"),
        ({"filters": {"low": 32}}, "network.stem.filters: a range needs `low` and `high`"),
        ({"kernel": {"low": 5, "high": 3}}, "network.stem.kernel: `low` (5) must not exceed"),
        ({"kernel": {"low": 3, "high": 4.5}}, "network.stem.kernel.high: expected an integer"),
        (
            {"stride": {"low": 1, "high": 2, "size": 3}},
            "network.stem.stride.size: unknown key; allowed here: low, high, step, log",
        ),
        ({"kernel": 0}, "network.stem.kernel: expected an integer >= 1, got 0"),
        ({"width": 3}, "network.stem.width: unknown key; allowed here: filters, kernel, stride"),
    ],
)
def test_bad_stems_name_the_key_path(stem, message):
    assert message in _bad(stem)


def test_a_stem_that_can_make_the_map_vanish_is_refused_at_load_time():
    # 32 px, no padding: a stride-1 stem leaves 30 or 28 px, which four pools take to 1; a stride-2
    # stem leaves 15 or 14 px, which the fourth pool cannot take.
    pooling = {"conv1": True, "among": ["fire2", "fire3", "fire4"], "count": {"low": 0, "high": 3}}
    stem = {"kernel": {"choices": [3, 5]}, "stride": {"choices": [1, 2]}, "padding": 0}
    message = _bad(stem, pooling=pooling)
    assert message.startswith(
        "network.stem: at training resolution 32, the stem 3x3/2 with padding 0 and the most "
        "pools this space allows (after conv1, fire2, fire3, fire4) makes an invalid network: "
        "the feature map vanishes at the max-pool after fire4"
    )
    assert message.endswith("; narrow the stem's values or allow fewer pools")
    _space({**stem, "stride": 1}, pooling=pooling)  # the stems it allows without stride 2 are fine


def test_a_kernel_range_is_checked_at_both_parities():
    # 14 px, stride 2, same padding: kernels 2 and 4 leave 8x8, kernel 3 leaves 7x7, which the pools
    # after conv1, fire2 and fire3 take to 3, 1 and nothing.
    pooling = {"after": ["conv1", "fire2", "fire3"]}
    training = {"resolution": 14}
    message = _bad(
        {"kernel": {"low": 2, "high": 4}, "stride": 2}, pooling=pooling, training=training
    )
    assert message.startswith(
        "network.stem: at training resolution 14, the stem 3x3/2 with padding 1"
    )
    even = _space(
        {"kernel": {"low": 2, "high": 4, "step": 2}, "stride": 2},
        pooling=pooling,
        training=training,
    )
    assert even.searched_params()["stem_kernel"] == [2, 4]


def test_fashion_small_loads_and_its_networks_build():
    space = load_space("fashion_small")
    grid = space.searched_params()
    assert list(grid)[-3:] == ["stem_kernel", "stem_stride", "stem_filters"]
    assert grid["stem_kernel"] == [3, 5, 7] and grid["stem_stride"] == [1, 2]
    assert space.constraints == {"params": 800000, "macs": 60000000}
    assert space.training.dataset == "fashion-mnist" and space.training.resolution == 32
    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0)
    )
    for _ in range(10):
        trial = study.ask()
        cfg = space.suggest(trial, num_classes=10)
        assert cfg.stem_padding == cfg.stem_kernel // 2
        assert resolve(cfg).stem_size == 32 // cfg.stem_stride
        assert count_params(cfg) > 0
        study.tell(trial, [0, 0])


def test_fashion_small_extremes_are_as_its_comment_says():
    base = dict(num_classes=10, resolution=32, bypass="simple")
    smallest = preset(
        "v1.0",
        **base,
        stem_kernel=3,
        stem_stride=2,
        stem_padding=1,
        stem_filters=16,
        pool_after=("conv1", "fire2", "fire3", "fire4"),
        base_e=16,
        incr_e=0,
        freq=4,
        pct_3x3=0.125,
        sr=0.125,
    )
    largest = smallest.replace(
        stem_kernel=7,
        stem_stride=1,
        stem_padding=3,
        stem_filters=64,
        pool_after=("fire9",),
        base_e=64,
        incr_e=48,
        freq=1,
        pct_3x3=0.875,
        sr=0.5,
    )
    assert count_params(smallest) == 1530 and round(count_macs(smallest) / 1e6, 2) == 0.12
    assert round(count_macs(largest) / 1e9, 1) == 2.4
    assert round(count_params(largest), -4) == 2_350_000
    # the budgets refuse the largest network untrained
    assert count_macs(largest) > 60e6 and count_params(largest) > 800000


def _front_table(archs):
    from sqzdse.cli.report import format_front
    from sqzdse.records import TrialRecord, analytic_metrics

    study = optuna.create_study(directions=["maximize", "minimize"])
    for i, cfg in enumerate(archs):
        trial = study.ask()
        metrics = {**analytic_metrics(cfg), "top1": 0.5 + 0.1 * i, "top5": 1.0}
        TrialRecord(arch=cfg, metrics=metrics).write(trial)
        study.tell(trial, [metrics["top1"], metrics["params"]])
    return format_front(study, ("top1", "params")).splitlines()


def test_the_pareto_table_shows_the_stem_where_it_is_not_v1_0s():
    v1_0 = preset("v1.0", num_classes=10, resolution=32)
    small = v1_0.replace(stem_filters=32, stem_kernel=5, stem_stride=1, stem_padding=2)
    assert "stem" not in _front_table([v1_0])[1].split()
    header, *rows = _front_table([small, v1_0])[1:]
    assert header.split()[-1] == "stem"
    assert [row.split("  ")[-1].strip() for row in rows] == ["32 5x5/1 p2", "96 7x7/2 p0"]
