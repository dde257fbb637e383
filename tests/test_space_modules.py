"""A searched module count (network.num_modules): suggested after the stem, pools among the layers
of its smallest network, exact counts per trial, messages naming the field."""

import optuna
import pytest

from sqzdse.arch import count_params, preset
from sqzdse.errors import SpaceError
from sqzdse.space import parse_space

SR = {"sr": {"choices": [0.125, 0.25]}}
POOLS = {"after": ["conv1", "fire3"]}


def _space(num_modules, pooling=POOLS, **network):
    return parse_space(
        {
            "metaparameters": SR,
            "pooling": pooling,
            "network": {"num_modules": num_modules, **network},
        }
    )


def _bad(*args, **kwargs):
    with pytest.raises(SpaceError) as err:
        _space(*args, **kwargs)
    return str(err.value)


def test_a_fixed_module_count_is_a_plain_integer_and_not_suggested():
    space = _space(4)
    assert space.to_dict()["network"] == {"num_modules": 4}
    assert space.network_params == {}
    assert list(space.searched_params()) == ["sr"]


def test_a_searched_module_count_is_suggested_after_the_stem_and_counted_exactly():
    space = _space({"choices": [3, 5]}, stem={"kernel": {"choices": [3, 5]}})
    assert space.searched_params() == {"sr": [0.125, 0.25], "stem_kernel": [3, 5],
                                       "num_modules": [3, 5]}  # fmt: skip
    params = {"sr": 0.25, "stem_kernel": 3, "num_modules": 5}
    cfg = space.suggest(optuna.trial.FixedTrial(params), num_classes=10)
    assert cfg.num_modules == 5 and cfg.pool_after == ("conv1", "fire3")
    fewer = space.suggest(optuna.trial.FixedTrial({**params, "num_modules": 3}), num_classes=10)
    assert count_params(cfg) > count_params(fewer)  # two more Fire modules, exactly counted
    assert count_params(fewer) == count_params(cfg.replace(num_modules=3))


def test_a_study_draws_every_module_count():
    space = _space({"low": 2, "high": 4})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        seen.add(space.suggest(trial, num_classes=10).num_modules)
        study.tell(trial, 0.0)
    assert seen == {2, 3, 4}
    assert all("num_modules" in t.params for t in study.trials)


def test_pools_must_sit_in_the_smallest_network():
    message = _bad({"choices": [2, 8]}, pooling={"after": ["conv1", "fire4"]})
    assert message.startswith("pooling.after[1]: unknown layer 'fire4'; valid: conv1, fire2, fire3")
    searched = {"among": ["fire2", "fire6"], "count": 1}
    assert "pooling.among[1]: unknown layer 'fire6'" in _bad(
        {"low": 3, "high": 8}, pooling=searched
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "network.num_modules: expected an integer >= 1, got 0"),
        ({"choices": [0, 4]}, "network.num_modules.choices[0]: expected an integer >= 1, got 0"),
        ({"low": 0, "high": 4}, "network.num_modules.low: expected an integer >= 1, got 0"),
    ],
)
def test_bad_module_counts_are_refused_by_name(value, message):
    assert _bad(value).startswith(message)


def test_the_presets_module_count_is_the_default():
    space = parse_space({"metaparameters": SR})
    assert space.base_config(10).num_modules == preset("v1.0").num_modules
