"""Search with weights saved -> export-model -> ONNX Runtime gives the trial's recorded accuracy."""

from __future__ import annotations

import json
import sys

import optuna
import pytest

from sqzdse.records import TrialRecord
from sqzdse.weights import Weights
from tests.search.helpers import TINY, run, write_space

# Real digits at 32 px and enough steps that the networks learn (the accuracy check means more).
SPACE = {
    "training": {
        **TINY["training"],
        "resolution": 32,
        "epochs": 2,
        "train_per_class": 40,
        "val_per_class": 20,
        "batch_size": 16,
    },
    "n_trials": 3,
}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deploy")
    space = write_space(folder, name="deploy", **SPACE)
    url = f"sqlite:///{folder / 'd.db'}"
    from sqzdse.cli import main

    assert (
        main(["search", "--space", str(space), "--storage", url, "--save-weights", "all", "-q"])
        == 0
    )
    study = optuna.load_study(study_name="deploy", storage=url)
    return folder, url, [TrialRecord.from_trial(t) for t in study.trials]


def test_every_trained_trial_has_checksummed_weights_beside_the_study(searched):
    folder, _, records = searched
    trained = [r for r in records if r.status.value == "ok"]
    assert trained and all(r.weights["source"] == "proxy" for r in trained)
    stored = list((folder / "d.artifacts").iterdir())
    assert {r.weights["artifact_id"] for r in trained} <= {p.name for p in stored}
    for r in trained:
        assert (folder / "d.artifacts" / r.weights["artifact_id"]).stat().st_size == r.weights[
            "bytes"
        ]


def test_onnx_export_reproduces_the_recorded_accuracy_exactly(searched, tmp_path, capsys):
    _, url, records = searched
    best = max((r for r in records if r.weights), key=lambda r: r.metrics["top1"])
    out = tmp_path / "model.onnx"
    code, stdout, err = run(
        capsys, "export-model", "--storage", url, "--trial", best.number, "-o", out
    )
    assert code == 0, err
    card = json.loads((tmp_path / "model.card.json").read_text())
    check = card["onnx_runtime_check"]
    assert check["images"] == 200 and check["agree"] and check["max_abs_diff"] <= 1e-4
    assert check["top1"] == pytest.approx(best.metrics["top1"], abs=1e-9)
    assert check["top5"] == pytest.approx(best.metrics["top5"], abs=1e-9)
    assert card["params"] == best.metrics["params"] and card["trial"] == best.number
    assert card["classes"] == {"count": 10, "names": [str(i) for i in range(10)]}
    assert card["input"]["shape"] == ["batch", 3, 32, 32] and len(card["input"]["mean"]) == 3
    assert card["weights_sha256"] == best.weights["sha256"]
    top1 = f"{best.metrics['top1']:.2%}"
    assert f"top-1 {top1} (recorded for these proxy weights: {top1})" in stdout


def test_pt_export_is_the_stored_weights(searched, tmp_path, capsys):
    _, url, records = searched
    trial = next(r for r in records if r.weights)
    out = tmp_path / "model.pt"
    assert run(capsys, "export-model", "--storage", url, "--trial", trial.number, "-o", out)[0] == 0
    assert Weights.from_bytes(out.read_bytes()).arch == trial.arch
    card = json.loads((tmp_path / "model.card.json").read_text())
    assert card["format"] == "pt" and card["onnx_runtime_check"] is None


def test_refusals_name_the_problem(searched, tmp_path, capsys, monkeypatch):
    folder, url, records = searched
    export = ("export-model", "--storage", url, "--trial")
    code, _, err = run(capsys, *export, 99, "-o", tmp_path / "m.onnx")
    assert code == 2 and "--trial 99: study 'deploy' has trials 0 to 2" in err
    code, _, err = run(capsys, *export, 0, "-o", tmp_path / "m.tflite")
    assert code == 2 and "must end in .onnx or .pt, got .tflite" in err
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the extra were not installed
    code, _, err = run(capsys, *export, 0, "-o", tmp_path / "m.onnx")
    assert code == 2 and "needs onnxruntime: pip install 'sqzdse[deploy]'" in err
    monkeypatch.undo()
    # A damaged artifact is refused by its checksum.
    trial = next(r for r in records if r.weights)
    path = folder / "d.artifacts" / trial.weights["artifact_id"]
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        code, _, err = run(capsys, *export, trial.number, "-o", tmp_path / "m.pt")
        assert code == 2 and "do not match their checksum" in err
    finally:
        path.write_bytes(original)
    assert not list(tmp_path.glob("*.onnx")) and not (tmp_path / "m.pt").exists()


def test_the_default_keeps_only_the_front_and_a_trial_without_weights_says_why(tmp_path, capsys):
    space = write_space(tmp_path, name="front", **{**SPACE, "n_trials": 5})
    url = f"sqlite:///{tmp_path / 'f.db'}"
    assert run(capsys, "search", "--space", space, "--storage", url, "-q")[0] == 0
    study = optuna.load_study(study_name="front", storage=url)
    records = [TrialRecord.from_trial(t) for t in study.trials]
    by_number = {r.number: r for r in records}
    for r in records:  # saved exactly when no earlier completed trial dominated it
        if r.reused_from is not None:  # a twin's result, and its weights
            assert r.weights == by_number[r.reused_from].weights
            continue
        earlier = [o for o in records if o.number < r.number and o.status.value == "ok"]
        on_front = not any(
            o.metrics["top1"] >= r.metrics["top1"]
            and o.metrics["params"] <= r.metrics["params"]
            and (o.metrics["top1"], o.metrics["params"]) != (r.metrics["top1"], r.metrics["params"])
            for o in earlier
        )
        assert (r.weights is not None) == (r.status.value == "ok" and on_front), r.number
    # One more trial without saving: exporting it says how to get weights.
    more = ("--n-trials", 8, "--save-weights", "none", "--seed", 1)
    assert run(capsys, "search", "--space", space, "--storage", url, "-q", *more)[0] == 0
    last = TrialRecord.from_trial(optuna.load_study(study_name="front", storage=url).trials[-1])
    assert last.weights is None or last.reused_from is not None
    if last.weights is None:
        code, _, err = run(
            capsys,
            "export-model",
            "--storage",
            url,
            "--trial",
            last.number,
            "-o",
            tmp_path / "x.pt",
        )
        assert code == 2 and f"trial {last.number} has no stored weights" in err
        assert "search again with --save-weights all" in err


def test_a_server_study_needs_an_artifact_store(tmp_path, capsys):
    space = write_space(tmp_path, name="pg")
    server = ("--storage", "postgresql://nobody@127.0.0.1:1/none")
    code, _, err = run(capsys, "search", "--space", space, *server, "--save-weights", "front")
    assert code == 2 and "needs an artifact store every machine reaches" in err
    assert "could not" not in err  # refused before any connection was tried


def test_retrain_records_its_block_and_export_uses_the_retrained_weights(
    searched, tmp_path, capsys
):
    from sqzdse.analysis import load_trials, trial_records

    _, url, records = searched
    # the least accurate network: not the one the ONNX test exports, whichever runs first
    trial = min((r for r in records if r.status.value == "ok"), key=lambda r: r.metrics["top1"])
    code, out, err = run(
        capsys, "retrain", "--storage", url, "--trial", trial.number, "--epochs", 3
    )
    assert code == 0, err
    assert "seed 0 epoch   3/3" in err and "seed 1 epoch   3/3" in err
    study = optuna.load_study(study_name="deploy", storage=url)
    block = study.user_attrs[f"retrained:{trial.number}"]
    assert [s["seed"] for s in block["seeds"]] == [0, 1]
    assert block["settings"]["epochs"] == 3 and block["settings"]["train_per_class"] is None
    assert block["settings"]["val_per_class"] == 20  # the search's validation images
    assert block["top1"] == pytest.approx(sum(s["top1"] for s in block["seeds"]) / 2)
    assert block["weights"]["source"] == "retrained" and len(block["seeds"][0]["curve"]) == 3
    assert (
        f"trial {trial.number}: retrained validation top-1 {block['top1']:.2%}, "
        f"test top-1 {block['test_top1']:.2%}" in out
    )
    assert block["test_top1"] == pytest.approx(sum(s["test_top1"] for s in block["seeds"]) / 2)
    assert block["splits"] == {"convention": "three-way", "train": 1079, "val": 200, "test": 359}
    # Readers attach it: the frame's retrained columns, for the trial and its duplicates.
    again = {r.number: r for r in trial_records(study)}
    assert again[trial.number].metrics["retrained_top1"] == block["top1"]
    frame = load_trials(url)
    row = frame.set_index("number").loc[trial.number]
    assert row["retrained_top1"] == block["top1"] and row["retrained_top5"] == block["top5"]
    # export-model now writes the retrained weights, whose accuracy ONNX Runtime reproduces.
    out_file = tmp_path / "r.onnx"
    assert (
        run(capsys, "export-model", "--storage", url, "--trial", trial.number, "-o", out_file)[0]
        == 0
    )
    card = json.loads((tmp_path / "r.card.json").read_text())
    assert card["accuracy"]["weights"] == "retrained"
    assert card["weights_sha256"] == block["weights"]["sha256"]
    assert card["onnx_runtime_check"]["top1"] == pytest.approx(block["seeds"][0]["top1"], abs=1e-9)
    assert card["accuracy"]["proxy"]["top1"] == trial.metrics["top1"]


def test_retrain_refusals(searched, capsys):
    _, url, _ = searched
    code, _, err = run(capsys, "retrain", "--storage", url, "--trial", 42)
    assert code == 2 and "--trial 42: study 'deploy' has trials 0 to" in err
    code, _, err = run(capsys, "retrain", "--storage", url, "--trial", 0, "--device", "cuda")
    assert code == 2 and "device 'cuda' was asked for" in err


def test_a_store_that_fails_keeps_the_trained_result(tmp_path):
    from sqzdse.search import Objective, make_setup, open_study, run_search
    from sqzdse.space import load_space

    class FullDisk:
        def write(self, artifact_id, content):
            raise OSError(28, "No space left on device")

    space = load_space(str(write_space(tmp_path, name="full", **{**SPACE, "n_trials": 1})))
    setup = make_setup(space)
    study = open_study(
        setup, storage=optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/f.db"), study_name="full"
    )
    run_search(study, Objective(setup, n_trials=1, save_weights="all", artifacts=FullDisk()))
    (trial,) = study.trials
    assert trial.state.name == "COMPLETE" and "weights" not in trial.user_attrs
    assert trial.user_attrs["weights_error"].startswith("weights not stored: OSError")


def test_readers_create_no_file_on_a_wrong_path(searched, tmp_path, capsys):
    _, url, records = searched
    trial = next(r for r in records if r.weights)
    elsewhere = tmp_path / "nowhere"
    code, _, err = run(
        capsys, "export-model", "--storage", url, "--trial", trial.number,
        "-o", tmp_path / "m.pt", "--artifacts", elsewhere,
    )  # fmt: skip
    assert code == 2 and f"no artifact folder at {elsewhere}" in err and not elsewhere.exists()
    typo = tmp_path / "typo.db"
    code, _, err = run(capsys, "retrain", "--storage", f"sqlite:///{typo}", "--trial", 0)
    assert code == 2 and "no study database at" in err and not typo.exists()


def test_int8_export_is_scored_by_onnx_runtime_on_the_validation_images(
    searched, tmp_path, capsys, monkeypatch
):
    import numpy as np
    import onnx
    import onnxruntime

    from sqzdse.cli.export_model import _dataset
    from sqzdse.export_model import CalibrationImages
    from sqzdse.records import StudyInfo

    _, url, records = searched
    best = max((r for r in records if r.weights), key=lambda r: r.metrics["top1"])
    calibrated = []  # every batch the quantizer was given
    get_next = CalibrationImages.get_next

    def recording(reader):
        batch = get_next(reader)
        if batch is not None:
            calibrated.append(batch["images"])
        return batch

    monkeypatch.setattr(CalibrationImages, "get_next", recording)
    out = tmp_path / "int8" / "m.int8.onnx"
    code, stdout, err = run(
        capsys, "export-model", "--storage", url, "--trial", best.number, "--int8", "-o", out
    )
    assert code == 0, err
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.int8.card.json", "m.int8.onnx"]
    card = json.loads((out.parent / "m.int8.card.json").read_text())
    block = card["int8"]
    study = optuna.load_study(study_name="deploy", storage=url)
    data = _dataset(StudyInfo.read(study).training, best.arch.resolution)

    # ONNX Runtime, run here, gives the card's accuracy on the validation images.
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"images": data.val_x.float().numpy()})[0]
    top = np.argsort(-logits, axis=1, kind="stable")
    y = data.val_y.numpy()
    assert block["images"] == len(y) == 200
    assert block["top1"] == pytest.approx(float((top[:, 0] == y).mean()), abs=1e-12)
    assert block["top5"] == pytest.approx(
        float((top[:, :5] == y[:, None]).any(1).mean()), abs=1e-12
    )
    fp32 = card["onnx_runtime_check"]  # the fp32 file, checked against PyTorch, then dropped
    assert fp32["top1"] == pytest.approx(best.metrics["top1"], abs=1e-9)
    assert block["fp32_top1"] == fp32["top1"]
    assert block["drop_top1_points"] == pytest.approx((fp32["top1"] - block["top1"]) * 100)
    assert f"top-1 {block['top1']:.2%} against fp32 ONNX {fp32['top1']:.2%}, a drop of" in stdout
    assert block["format"] == "QDQ" and block["per_channel"] is True
    assert block["latency_ms"] > 0 and block["fp32_latency_ms"] > 0
    assert "batch 1, 1 intra-op thread, median of 30 runs" in block["latency_measured"]

    # A QDQ graph: int8 weights, per output channel, smaller than the fp32 file.
    model = onnx.load(str(out))
    ops = {node.op_type for node in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    initializers = {t.name: t for t in model.graph.initializer}
    int8 = {n for n, t in initializers.items() if t.data_type == onnx.TensorProto.INT8}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    weight_of = {node.output[0]: node for node in model.graph.node}
    for conv in convs:  # each convolution's weight is an int8 initializer, dequantized
        dequantize = weight_of[conv.input[1]]
        assert dequantize.op_type == "DequantizeLinear" and dequantize.input[0] in int8
        scale = onnx.numpy_helper.to_array(initializers[dequantize.input[1]])
        assert scale.shape == (
            onnx.numpy_helper.to_array(initializers[dequantize.input[0]]).shape[0],
        )
    plain = tmp_path / "m.onnx"
    assert (
        run(capsys, "export-model", "--storage", url, "--trial", best.number, "-o", plain)[0] == 0
    )
    assert block["bytes"] == out.stat().st_size < plain.stat().st_size == block["fp32_bytes"]

    # Calibrated on 256 training images, none of them a validation image.
    assert block["calibration_images"] == 256 and block["calibration_split"] == "train"
    images = np.concatenate(calibrated)
    assert images.shape == (256, 3, 32, 32) and images.dtype == np.float32
    train = {row.tobytes() for row in data.train_x.float().numpy()}
    val = {row.tobytes() for row in data.val_x.float().numpy()}
    assert all(row.tobytes() in train and row.tobytes() not in val for row in images)


def test_int8_refusals(searched, tmp_path, capsys):
    _, url, _ = searched
    export = ("export-model", "--storage", url, "--trial", 0)
    code, _, err = run(capsys, *export, "--int8", "-o", tmp_path / "m.pt")
    assert code == 2 and "--int8 writes an ONNX file: give -o a name ending in .onnx" in err
    code, _, err = run(
        capsys, *export, "--int8", "--calibration-images", 0, "-o", tmp_path / "m.onnx"
    )
    assert code == 2 and "--calibration-images" in err and "0 is not in the range x>=1" in err
    code, _, err = run(capsys, *export, "--calibration-images", 8, "-o", tmp_path / "m.onnx")
    assert code == 2 and "--calibration-images goes with --int8" in err
    assert not list(tmp_path.iterdir())
