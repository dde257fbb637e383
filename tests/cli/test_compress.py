"""A search with a `compression` section records each trial's compressed size and accuracy after
compression; `sqzdse compress` reproduces them from the stored weights; `decompress` goes back."""

from __future__ import annotations

import json
import re

import optuna
import pytest
import torch

from sqzdse.compression.pipeline import decompress
from sqzdse.records import Status, TrialRecord
from sqzdse.space import load_space
from sqzdse.weights import Weights
from tests.cli.test_export_model import SPACE
from tests.search.helpers import TINY, refused, run, searched_all, write_space

COMPRESSION = {"density": 0.33, "bits": 6, "finetune_epochs": 1}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    return searched_all(
        tmp_path_factory.mktemp("compress"),
        "squeezed",
        **SPACE,
        compression=COMPRESSION,
        objectives=["top1_compressed", "compressed_bytes"],
    )


def test_every_trained_trial_records_its_compressed_size_and_accuracy(searched):
    _, study, records = searched
    trained = [r for r in records if r.status is Status.OK]
    assert trained
    for record in trained:
        report = record.compression
        assert report["settings"] == COMPRESSION
        assert record.metrics["compressed_bytes"] == report["compressed_bytes"]
        assert record.metrics["top1_compressed"] == report["top1_after"]
        assert record.metrics["top5_compressed"] == report["top5_after"]
        assert report["top1_before"] == record.metrics["top1"]  # the proxy's own weights
        assert record.values == (report["top1_after"], report["compressed_bytes"])
        layers = report["layers"]
        assert (
            report["header_bytes"] + sum(x["file_bytes"] for x in layers)
            == (report["compressed_bytes"])
        )
        assert [x["name"] for x in layers][0] == "conv1"
        assert all(x["bits"] == 6 and x["nonzero"] <= x["weights"] for x in layers)


def test_a_reused_network_copies_its_twins_compression(searched):
    _, _, records = searched
    by_number = {r.number: r for r in records}
    reused = [r for r in records if r.status is Status.REUSED]
    for record in reused:
        twin = by_number[record.reused_from]
        assert record.compression == twin.compression
        assert record.metrics["compressed_bytes"] == twin.metrics["compressed_bytes"]


def test_compress_reproduces_what_the_search_recorded(searched, tmp_path, capsys):
    url, _, records = searched
    record = next(r for r in records if r.status is Status.OK)
    out = tmp_path / "net.sqzc"
    code, stdout, err = run(
        capsys,
        "compress",
        "--storage",
        url,
        "--trial",
        record.number,
        "--finetune-epochs",
        1,
        "-o",
        out,
        "--json",
    )
    assert code == 0, err
    report = json.loads(stdout)
    assert report["compressed_bytes"] == out.stat().st_size
    # Same weights, data, seed and settings: the same file and the same accuracy, on the CPU.
    assert report["compressed_bytes"] == record.metrics["compressed_bytes"]
    assert report["top1_after"] == record.metrics["top1_compressed"]
    assert report["top1_before"] == record.metrics["top1"]
    assert report["trial"] == record.number and report["weights"] == "proxy"
    assert "fine-tuning epochs" in err  # progress on stderr


def test_compress_prints_the_layer_table_and_decompress_round_trips(searched, tmp_path, capsys):
    url, _, records = searched
    record = next(r for r in records if r.status is Status.OK)
    out = tmp_path / "net.sqzc"
    code, stdout, err = run(
        capsys,
        "compress",
        "--storage",
        url,
        "--trial",
        record.number,
        "--density",
        0.2,
        "--bits",
        4,
        "--finetune-epochs",
        0,
        "-o",
        out,
        "-q",
    )
    assert code == 0, err
    assert err == ""
    lines = stdout.splitlines()
    assert lines[0].split()[:3] == ["layer", "weights", "nonzero"]
    assert any(line.startswith("conv1 ") for line in lines)
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[-1] == f"{out.stat().st_size:,}"
    assert "top-1" in stdout and "x smaller" in stdout
    pt = tmp_path / "back.pt"
    code, stdout, err = run(capsys, "decompress", out, "-o", pt)
    assert code == 0, err
    back = Weights.from_bytes(pt.read_bytes())
    expected = decompress(out.read_bytes())
    assert all(torch.equal(back.state[k], expected.state[k]) for k in expected.state)
    conv = next(k for k in back.state if k.endswith("conv.weight"))
    assert float((back.state[conv] != 0).float().mean()) == pytest.approx(0.2, abs=0.01)


def test_bad_input_gets_one_message(searched, tmp_path, capsys):
    url, _, _ = searched
    code, _, err = run(capsys, "compress", "--storage", url, "--trial", 99, "-o", tmp_path / "x")
    assert code == 2 and "--trial 99" in err and "Traceback" not in err
    code, _, err = run(
        capsys, "compress", "--storage", url, "--trial", 0, "--density", 0, "-o", tmp_path / "x"
    )
    assert code == 2 and "--density" in err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run(
        capsys, "compress", "--storage", url, "--trial", 0, "-o", blocker / "net.sqzc", "-q"
    )
    assert code == 2 and f"-o {blocker / 'net.sqzc'}: cannot create its folder" in err
    bad = tmp_path / "bad.sqzc"
    bad.write_bytes(b"not compressed")
    code, _, err = run(capsys, "decompress", bad, "-o", tmp_path / "b.pt")
    assert code == 2 and "not a readable sqzdse compressed file" in err and str(bad) in err
    assert not (tmp_path / "b.pt").exists()


def test_the_progress_line_gives_the_compression_seconds(tmp_path, capsys):
    space = write_space(
        tmp_path, n_trials=1, compression={"density": 0.5, "bits": 2, "finetune_epochs": 0}
    )
    url = f"sqlite:///{tmp_path / 'p.db'}"
    code, out, err = run(capsys, "search", "--space", space, "--storage", url)
    assert code == 0, err
    record = TrialRecord.from_trial(optuna.load_study(study_name="tiny", storage=url).trials[0])
    line = next(x for x in (out + err).splitlines() if "trial 0" in x)
    assert f"{record.metrics['train_seconds']:.1f} s + " in line
    assert f"+ {record.compression['seconds']:.1f} s compressing" in line


def test_a_trial_without_weights_is_refused(tmp_path, capsys):
    space = write_space(tmp_path)
    url = f"sqlite:///{tmp_path / 't.db'}"
    assert (
        run(capsys, "search", "--space", space, "--storage", url, "--save-weights", "none")[0] == 0
    )
    code, _, err = run(capsys, "compress", "--storage", url, "--trial", 0, "-o", tmp_path / "x")
    assert code == 2 and "has no stored weights" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"compression": {"density": 1.5}}, r"compression.density must be in \(0, 1\], got 1.5"),
        ({"compression": {"bits": 0}}, "compression.bits must be an integer from 1 to 8"),
        ({"compression": {"dense": 1}}, "compression.dense: unknown key"),
        ({"compression": 0.33}, "compression: expected a mapping"),
        (
            {"objectives": ["top1_compressed", "params"]},
            "top1_compressed needs a `compression` section",
        ),
        (
            {
                "objectives": ["top1", "compressed_bytes"],
                "compression": COMPRESSION,
                "fidelity": {"min_epochs": 1},
                "training": {**TINY["training"], "epochs": 3},
            },
            "successive halving cannot rank",
        ),
    ],
)
def test_a_bad_compression_section_names_the_field(tmp_path, capsys, change, message):
    err = refused(tmp_path, capsys, {**TINY, **change})
    assert re.search(message, err), err


def test_the_section_enters_the_space_hash_and_older_spaces_keep_theirs(tmp_path):
    plain = load_space(str(write_space(tmp_path, name="a")))
    squeezed = load_space(str(write_space(tmp_path, name="a", compression=COMPRESSION)))
    harder = load_space(
        str(write_space(tmp_path, name="a", compression={**COMPRESSION, "bits": 4}))
    )
    assert len({plain.hash, squeezed.hash, harder.hash}) == 3
    # as before the section existed (moved once since, by [front]'s `training.val_fraction`)
    assert load_space("micro").hash == "5420bbc7245a36ec"
