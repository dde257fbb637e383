"""Search-space files: shipped spaces load, bad spaces get one precise message, suggest() works."""

import optuna
import pytest
import yaml

from sqzdse.arch import preset
from sqzdse.errors import SpaceError
from sqzdse.space import find_space, load_space, parse_space, shipped_spaces
from sqzdse.train import TrainConfig

SHIPPED = (
    "micro",
    "macro",
    "full",
    "fashion",
    "fashion_small",
    "fashion_mcu",
    "paper_sr",
    "paper_pct",
    "paper_bypass",
    "paper_pooling",
    "compressed",
)
MINIMAL = {"metaparameters": {"sr": {"choices": [0.125, 0.25]}}}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_spaces_load_by_bare_name(name):
    space = load_space(name)
    assert space.name == name and space.searched_params()


def test_every_shipped_file_is_tested():
    assert sorted(p.stem for p in shipped_spaces()) == sorted(SHIPPED)


def test_bare_name_path_and_extension(tmp_path, monkeypatch):
    assert find_space("micro.yaml").name == "micro.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text(yaml.safe_dump(MINIMAL))
    assert load_space(str(own)).name == "mine"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "search_spaces" / "local.yaml").write_text(yaml.safe_dump(MINIMAL))
    assert load_space("local").name == "local"


def test_paper_grids_cover_the_papers_values():
    assert load_space("paper_sr").searched_params()["sr"][0] == 0.125
    assert load_space("paper_sr").searched_params()["sr"][-1] == 1.0
    assert load_space("paper_pct").searched_params()["pct_3x3"][::8] == [0.01, 0.99]
    assert load_space("paper_bypass").searched_params() == {"bypass": ["none", "simple", "complex"]}
    assert len(load_space("paper_pooling").searched_params()["pool_after"]) == 28


def _bad(data):
    with pytest.raises(SpaceError) as err:
        parse_space(data)
    return str(err.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected a mapping of settings at the top level, got a list"),
        (
            {**MINIMAL, "metaparams": {}},
            "metaparams: unknown key; allowed here: name, description, metaparameters,",
        ),
        (
            {"metaparameters": {"width": 3}},
            "metaparameters.width: unknown key; allowed here: base_e, incr_e, pct_3x3, freq, sr",
        ),
        ({"metaparameters": {}}, "metaparameters: expected a mapping of some of base_e, incr_e"),
        (
            {"metaparameters": {"base_e": 12.5}},
            "metaparameters.base_e: expected an integer, got 12.5",
        ),
        (
            {"metaparameters": {"base_e": {"low": 64}}},
            "metaparameters.base_e: a range needs `low` and `high`",
        ),
        (
            {"metaparameters": {"base_e": {"low": 128, "high": 64}}},
            "metaparameters.base_e: `low` (128) must not exceed `high` (64)",
        ),
        (
            {"metaparameters": {"sr": {"low": 0.1, "high": 1, "stepp": 0.1}}},
            "metaparameters.sr.stepp: unknown key; allowed here: low, high, step, log",
        ),
        (
            {"metaparameters": {"sr": {"low": 0.0, "high": 1.0}}},
            "metaparameters.sr: 0.0 is not valid: `sr` must be a squeeze ratio > 0, got 0.0",
        ),
        (
            {"metaparameters": {"pct_3x3": {"choices": [0.5, 1.5]}}},
            "metaparameters.pct_3x3: 1.5 is not valid: `pct_3x3` must be a fraction in [0, 1], "
            "got 1.5",
        ),
        (
            {"metaparameters": {"freq": {"choices": []}}},
            "metaparameters.freq.choices: expected a non-empty list, got []",
        ),
        (
            {"metaparameters": {"sr": {"choices": [0.25, 0.25]}}},
            "metaparameters.sr.choices: [0.25, 0.25] lists a value more than once",
        ),
        (
            {"metaparameters": {"sr": {"low": 0.1, "high": 1.0, "step": -0.1}}},
            "metaparameters.sr.step: expected a number > 0, got -0.1",
        ),
        (
            {**MINIMAL, "bypass": "full"},
            "bypass: expected one of none, simple, complex or {choices: [...]}, got 'full'",
        ),
        (
            {**MINIMAL, "bypass": {"choices": ["none", "residual"]}},
            "bypass.choices[1]: expected one of none, simple, complex, got 'residual'",
        ),
        (
            {**MINIMAL, "pooling": {"after": ["conv1", "fire10"]}},
            "pooling.after[1]: unknown layer 'fire10'; valid: conv1, fire2",
        ),
        (
            {**MINIMAL, "pooling": {"after": ["fire4", "fire4"]}},
            "pooling.after: fire4 listed more than once",
        ),
        (
            {**MINIMAL, "pooling": {"among": ["fire2", "fire3"], "count": 3}},
            "pooling.count: 3 pools cannot be placed among 2 modules; expected 0 to 2",
        ),
        ({**MINIMAL, "pooling": {"among": ["fire2"]}}, "pooling: a searched layout needs `among`"),
        (
            {**MINIMAL, "pooling": {"after": ["conv1"], "count": 1}},
            "pooling: give either fixed positions (`after`) or a searched layout",
        ),
        (
            {**MINIMAL, "pooling": {"among": ["fire2", "fire3", "fire4", "fire5"], "count": 4}},
            "pooling: at training resolution 32, the feature map vanishes at the max-pool after "
            "fire4",
        ),
        ({**MINIMAL, "objectives": ["top5"]}, "objectives: expected `auto` or a list of 2 or more"),
        (
            {**MINIMAL, "objectives": ["top5", "latency"]},
            "objectives[1]: unknown objective 'latency'; valid: top1, top5, params, macs",
        ),
        (
            {**MINIMAL, "constraints": {"params": -5}},
            "constraints.params: expected a maximum > 0, got -5",
        ),
        (
            {**MINIMAL, "constraints": {"flops": 5}},
            "constraints.flops: unknown key; allowed here: params, macs, size_bytes_32bit, "
            "size_bytes_8bit, peak_sram_bytes, flash_bytes",
        ),
        (
            {**MINIMAL, "sampler": {"name": "cmaes"}},
            "sampler.name: cmaes (CMA-ES) cannot handle several objectives; samplers that can: "
            "nsga2, nsga3, tpe, gp, qmc, random, grid, bruteforce",
        ),
        (
            {**MINIMAL, "sampler": {"name": "anneal"}},
            "sampler.name: unknown sampler 'anneal'; valid: ",
        ),
        (
            {**MINIMAL, "sampler": {"name": "nsga2", "pop_size": 10}},
            "sampler.pop_size: not an option of the nsga2 sampler; its options: population_size, ",
        ),
        (
            {**MINIMAL, "sampler": {"name": "nsga2", "population_size": "ten"}},
            "sampler.population_size: expected int, got 'ten'",
        ),
        (
            {**MINIMAL, "training": {"epochs": 0}},
            "training.epochs: expected an integer >= 1, got 0",
        ),
        (
            {**MINIMAL, "training": {"device": "tpu"}},
            "training.device: expected auto, cpu, cuda or cuda:N, got 'tpu'",
        ),
        ({**MINIMAL, "training": {"lrate": 0.1}}, "training.lrate: unknown key; allowed here: dat"),
        (
            {**MINIMAL, "training": {"lr": 0}},
            "training.lr: expected a peak learning rate in (0, 1]",
        ),
        ({**MINIMAL, "n_trials": 0}, "n_trials: expected an integer >= 1, got 0"),
        ({**MINIMAL, "name": "../escape"}, "name: expected letters, digits, '-', '_' or '.'"),
        (
            {**MINIMAL, "network": {"stem": {"filters": 0}}},
            "network.stem.filters: expected an integer >= 1, got 0",
        ),
    ],
)
def test_bad_spaces_name_key_value_and_what_is_allowed(data, message):
    assert message in _bad(data)


def test_file_errors_name_the_file(tmp_path):
    bad_yaml = tmp_path / "broken.yaml"
    bad_yaml.write_text("metaparameters: {sr: [0.1\n")
    with pytest.raises(SpaceError, match=r"broken.yaml: invalid YAML: .* at line 2"):
        load_space(str(bad_yaml))
    with pytest.raises(
        SpaceError,
        match="search space 'nosuch' not found .* shipped spaces: "
        "compressed.yaml, fashion.yaml, fashion_mcu.yaml, fashion_small.yaml, full.yaml, "
        "macro.yaml, micro.yaml",
    ):
        load_space("nosuch")


def test_python_tags_are_refused_without_running_them(tmp_path):
    evil = tmp_path / "evil.yaml"
    marker = tmp_path / "pwned"
    evil.write_text(f"metaparameters: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SpaceError, match="invalid YAML: could not determine a constructor"):
        load_space(str(evil))
    assert not marker.exists()


def test_alias_bombs_are_refused(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
        for i in range(8)
    ]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\nmetaparameters: {sr: 0.5}\n")
    with pytest.raises(SpaceError, match=r"line 2: YAML aliases \(\*a\) are not allowed"):
        load_space(str(bomb))


def test_oversized_files_are_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 1_000_001 + "\nmetaparameters: {sr: 0.5}\n")
    with pytest.raises(SpaceError, match="is too large for a search space"):
        load_space(str(big))


def test_suggest_gives_architectures_inside_the_space():
    space = load_space("full")
    study = optuna.create_study(
        directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=1)
    )
    for _ in range(20):
        trial = study.ask()
        cfg = space.suggest(trial, num_classes=10)
        assert cfg.base_e in (32, 64, 96, 128) and 0.125 <= cfg.pct_3x3 <= 0.875
        assert cfg.pool_after[0] == "conv1" and len(cfg.pool_after) == 3
        assert cfg.num_classes == 10 and cfg.resolution == 32
        study.tell(trial, [0, 0])


def test_fixed_space_suggests_v1_0():
    space = parse_space(
        {"metaparameters": {"base_e": 128, "incr_e": 128, "pct_3x3": 0.5, "freq": 2, "sr": 0.125}}
    )
    trial = optuna.create_study().ask()
    assert space.suggest(trial, num_classes=1000) == preset("v1.0", resolution=32)


def test_hash_ignores_run_settings_but_not_what_trials_measure():
    space = load_space("micro")
    assert (
        space.with_overrides(n_trials=99, timeout=5, device="cpu", sampler="nsga2").hash
        == space.hash
    )
    assert space.with_overrides(epochs=5).hash != space.hash
    assert space.with_overrides(resolution=48).hash != space.hash
    assert space.with_overrides(lr=1e-2).hash != space.hash
    # Spaces that leave `lr` out keep the hash they had before the setting existed.
    assert space.hash == "5420bbc7245a36ec"


def test_the_learning_rate_is_the_trainers_unless_set_and_checked():
    space = load_space("micro")
    assert space.training.train_config().lr == TrainConfig.lr
    assert space.with_overrides(lr=0.01).training.train_config().lr == 0.01
    for bad in (0, -1, 2, "fast"):
        with pytest.raises(SpaceError, match=r"training\.lr: expected a peak learning rate"):
            space.with_overrides(lr=bad)


def test_auto_objectives_use_top1_for_few_classes():
    space = load_space("micro")
    assert space.resolve_objectives(10)[0] == ("top1", "params")
    assert "top-1" in space.resolve_objectives(10)[1]
    assert space.resolve_objectives(200) == (("top5", "params"), "")
    assert load_space("paper_sr").resolve_objectives(10) == (("top5", "params"), "")


def test_grid_needs_steps_on_floats():
    space = parse_space({"metaparameters": {"sr": {"low": 0.1, "high": 0.5}}})
    with pytest.raises(SpaceError, match="metaparameters.sr: a continuous range .* need a `step`"):
        space.searched_params()
    stepped = parse_space({"metaparameters": {"sr": {"low": 0.125, "high": 0.5, "step": 0.125}}})
    assert stepped.searched_params() == {"sr": [0.125, 0.25, 0.375, 0.5]}


def test_training_defaults_are_the_trainers_and_the_data_sets():
    from sqzdse.data import DataSpec
    from sqzdse.space import Training
    from sqzdse.train import TrainConfig

    training = Training()
    assert training.train_config() == TrainConfig()
    assert training.data_spec() == DataSpec(name="digits")
    assert Training(batch_size=32, seed=3).train_config(device="cpu") == TrainConfig(
        batch_size=32, seed=3, device="cpu"
    )
