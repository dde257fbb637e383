"""`sqzdse count` as users run it: a real subprocess for the error path, CliRunner otherwise."""

import json
import subprocess
import sys

import pytest

from sqzdse.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_shows_layers_and_totals(capsys):
    code, out, _ = run_cli(capsys, "count", "--preset", "v1.0")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "layer",
        "output",
        "filters",
        "(s/e1/e3)",
        "params",
        "MACs",
        "bypass",
    ]
    assert any(
        line.split()[:4] == ["fire9", "512x13x13", "64/256/256", "197,184"] for line in lines
    )
    assert any(line.split()[:3] == ["total", "1,248,424", "818,924,576"] for line in lines)


def test_json_has_params_macs_and_layers(capsys):
    code, out, _ = run_cli(capsys, "count", "--preset", "v1.1", "--json")
    report = json.loads(out)
    assert code == 0 and report["params"] == 1_235_496 and report["macs"] == 349_151_936
    assert [row["name"] for row in report["layers"]][:3] == ["conv1", "maxpool1", "fire2"]
    assert sum(row["params"] for row in report["layers"]) == report["params"]


def test_int8_memory_in_text_and_json(capsys):
    code, out, _ = run_cli(capsys, "count", "--preset", "v1.1")
    assert code == 0
    assert "int8 peak SRAM: 982,144 bytes at maxpool1 (input 788,544 + output 193,600)" in out
    assert "int8 flash: 1,263,104 bytes" in out
    code, out, _ = run_cli(capsys, "count", "--preset", "v1.1", "--json")
    report = json.loads(out)
    assert (report["peak_sram_bytes"], report["flash_bytes"]) == (982_144, 1_263_104)
    assert report["peak_sram_operator"] == "maxpool1"
    assert report["sram_operators"][1] == {
        "name": "maxpool1",
        "bytes": 982_144,
        "alive": {"input": 788_544, "output": 193_600},
    }
    assert max(op["bytes"] for op in report["sram_operators"]) == report["peak_sram_bytes"]
    assert report["peak_activations"] == 788_544  # the largest single output, in elements


def test_flags_override_the_preset(capsys):
    code, out, _ = run_cli(capsys, "count", "--preset", "v1.0", "--bypass", "complex", "--json")
    assert json.loads(out)["params"] == 1_589_672
    code, out, _ = run_cli(
        capsys,
        "count",
        "--sr",
        "0.25",
        "--pct-3x3",
        "0.75",
        "--pool-after",
        "conv1,fire3,fire7",
        "--num-classes",
        "10",
        "--resolution",
        "32",
        "--json",
    )
    report = json.loads(out)
    assert report["config"]["pool_after"] == ["conv1", "fire3", "fire7"]
    fire2 = next(row for row in report["layers"] if row["name"] == "fire2")
    assert fire2["filters"] == "32/32/96" and fire2["output_shape"] == [128, 6, 6]


def test_stem_flags_turn_v1_0_into_v1_1(capsys):
    code, out, _ = run_cli(
        capsys,
        "count",
        "--stem-filters",
        "64",
        "--stem-kernel",
        "3",
        "--pool-after",
        "conv1,fire3,fire5",
        "--dropout",
        "0.2",
        "--json",
    )
    report = json.loads(out)
    assert code == 0 and report["params"] == 1_235_496 and report["macs"] == 349_151_936
    assert report["config"]["dropout"] == 0.2


def test_no_pools(capsys):
    code, out, _ = run_cli(capsys, "count", "--pool-after", "", "--json", "--resolution", "32")
    assert code == 0 and not any(r["kind"] == "pool" for r in json.loads(out)["layers"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sr", "0"], "`sr` must be a squeeze ratio > 0, got 0.0"),
        (["--pct-3x3", "75"], "`pct_3x3` must be a fraction in [0, 1], got 75.0"),
        (["--base-e", "-3"], "`base_e` must be a positive number of filters (>= 1), got -3"),
        (["--freq", "0"], "`freq` must be an integer >= 1, got 0"),
        (["--stem-kernel", "0"], "`stem_kernel` must be an integer >= 1, got 0"),
        (["--stem-padding", "-1"], "`stem_padding` must be an integer >= 0, got -1"),
        (["--dropout", "1"], "`dropout` must be a probability in [0, 1), got 1.0"),
        (["--pool-after", "conv1,fire12"], "`pool_after` names unknown layer 'fire12'"),
        (["--pool-after", "conv1,conv1"], "`pool_after` lists conv1 more than once"),
        (
            ["--resolution", "24", "--pool-after", "conv1,fire2,fire3,fire4"],
            "the feature map vanishes at the max-pool after fire4: its input is 1x1",
        ),
    ],
)
def test_bad_input_is_one_message_and_exit_2(capsys, args, message):
    code, out, err = run_cli(capsys, "count", *args)
    assert code == 2 and out == ""
    assert err.startswith("sqzdse: error: ") and message in err and len(err.splitlines()) == 1


def test_console_script_error_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "sqzdse", "count", "--sr", "-1"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr == "sqzdse: error: `sr` must be a squeeze ratio > 0, got -1.0\n"


def test_unknown_choice_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys, "count", "--bypass", "full")
    assert code == 2 and "'full' is not one of 'none', 'simple', 'complex'" in err
