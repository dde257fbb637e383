"""The blocks a trial stores besides the retraining block (`test_retraining_block.py`), each with
one owner class: written with `to_dict`, read back field by field with `from_dict`; a block from
an older version or a damaged one (keys missing, values of another type) reads as None fields."""

import json

import pytest

from sqzdse import records
from sqzdse.artifacts import StoredWeights, load_weights
from sqzdse.compression import CompressionReport, LayerReport, Settings, StoredSettings
from sqzdse.errors import SqzdseError
from sqzdse.fidelity._store import RunResult, StoredRun, _stored_run
from sqzdse.latency import Latency
from sqzdse.quantization import Int8Block
from sqzdse.records import Epoch, Status
from sqzdse.train import TrainResult


def through_json(data: dict) -> dict:
    """What a study gives back: Optuna stores attributes as JSON."""
    return json.loads(json.dumps(data))


def nones(block) -> set[str]:
    return {name for name, value in vars(block).items() if value is None}


# ---------------------------------------------------------------------------- latency

LATENCY = Latency(
    median_ms=1.25, p10_ms=1.2, p90_ms=1.4, repeats=30, threads=1, cpu="Xeon", torch="2.5.0"
)


def test_latency_round_trip():
    stored = through_json(LATENCY.to_dict())
    assert set(stored) == {"median_ms", "p10_ms", "p90_ms", "repeats", "threads", "cpu", "torch"}
    assert Latency.from_dict(stored) == LATENCY


def test_a_partial_latency_block_reads_as_none_fields():
    read = Latency.from_dict({"median_ms": "fast", "repeats": True, "cpu": 7, "threads": 2})
    assert read.threads == 2
    assert nones(read) == {"median_ms", "p10_ms", "p90_ms", "repeats", "cpu", "torch"}
    assert nones(Latency.from_dict({})) == set(vars(LATENCY))


# ---------------------------------------------------------------------------- weights

WEIGHTS = StoredWeights(artifact_id="abc-123", sha256="f" * 64, bytes=2_944_123, source="proxy")


def test_stored_weights_round_trip():
    stored = through_json(WEIGHTS.to_dict())
    assert stored == {"artifact_id": "abc-123", "sha256": "f" * 64, "bytes": 2_944_123,
                      "source": "proxy"}  # fmt: skip
    assert StoredWeights.from_dict(stored) == WEIGHTS


def test_partial_stored_weights_read_as_none_fields_and_cannot_be_loaded():
    read = StoredWeights.from_dict({"artifact_id": 12, "bytes": "many", "source": "retrained"})
    assert read.source == "retrained" and nones(read) == {"artifact_id", "sha256", "bytes"}
    with pytest.raises(SqzdseError, match="lacks an artifact id or a SHA-256"):
        load_weights({"artifact_id": "abc-123"}, store=None)  # refused before the store is read


# ---------------------------------------------------------------------------- compression

LAYERS = [
    LayerReport("conv1", 1_728, 570, 6, 4, 63, 2, 64, 1_223, 1_100),
    LayerReport("conv10", 5_120, 1_690, 6, 5, 63, 0, 10, 2_616, 2_400),
]
REPORT = CompressionReport(
    settings=Settings(density=0.33, bits=6, finetune_epochs=3),
    layers=LAYERS,
    header_bytes=900,
    file_bytes=4_400,
    dense_bytes=4 * (1_728 + 64 + 5_120 + 10),
    top1_before=0.70,
    top5_before=None,  # a report without validation images stores None
    top1_after=0.685,
    top5_after=None,
    seconds=41.3,
    loss=[{"phase": "pruned", "epoch": 1, "loss": 0.9}],
)


def test_compression_report_round_trip():
    stored = through_json(REPORT.to_dict())
    read = CompressionReport.from_dict(stored)
    assert read.to_dict() == stored
    assert read.settings == StoredSettings(density=0.33, bits=6, finetune_epochs=3)
    assert read.layers == LAYERS and read.file_bytes == 4_400 and read.top5_after is None
    # Derived values are computed from the fields, as the writer computed them.
    assert read.ratio == REPORT.ratio == pytest.approx(27_688 / 4_400)
    assert read.estimate_bytes == 1_223 + 2_616 and read.layers[0].density == 570 / 1_728


def test_a_partial_compression_report_reads_as_none_fields():
    read = CompressionReport.from_dict(
        {
            "settings": {"density": 0.5, "bits": "six"},
            "compressed_bytes": 1_000,
            "ratio": 99.0,  # derived: not read
            "seconds": float("nan"),
            "layers": [{"name": "conv1", "weights": 10, "nonzero": 5, "bits": True}, "junk"],
            "loss": "none",
        }
    )
    assert read.settings == StoredSettings(density=0.5, bits=None, finetune_epochs=None)
    assert nones(read) == {"header_bytes", "dense_bytes", "top1_before", "top5_before",
                           "top1_after", "top5_after", "seconds"}  # fmt: skip
    assert read.ratio is None and read.estimate_bytes is None and read.loss == []
    (layer,) = read.layers
    assert (layer.name, layer.weights, layer.nonzero, layer.density) == ("conv1", 10, 5, 0.5)
    assert nones(layer) == {"bits", "index_bits", "shared_values", "fillers", "plain",
                            "estimate_bytes", "file_bytes"}  # fmt: skip
    empty = CompressionReport.from_dict({})
    assert empty.layers == [] and nones(empty.settings) == {"density", "bits", "finetune_epochs"}


# ---------------------------------------------------------------------------- int8

INT8 = Int8Block(
    top1=0.81, top5=0.97, fp32_top1=0.82, fp32_top5=0.97, drop_top1_points=1.0, images=200,
    measured="ONNX Runtime on the validation split", format="QDQ",
    weights="int8, per output channel", activations="int8, per tensor", per_channel=True,
    calibration_images=64, calibration_split="train", calibration_seed=0,
    calibration_method="MinMax", bytes=52_000, fp32_bytes=190_000, sha256="e" * 64,
    latency_ms=0.3, fp32_latency_ms=0.5, latency_measured="ONNX Runtime, batch 1",
)  # fmt: skip
SEARCH_FIELDS = {"settings", "fp32_check", "seconds"}


def test_int8_block_round_trip_as_a_model_card_holds_it():
    stored = through_json(INT8.to_dict())
    assert not SEARCH_FIELDS & set(stored)  # a model card's block has no search fields
    assert list(stored)[:2] == ["top1", "top5"] and len(stored) == 21
    assert Int8Block.from_dict(stored) == INT8


def test_int8_block_round_trip_as_a_search_stores_it():
    searched = Int8Block(
        **{**vars(INT8), "settings": {"calibration_images": 64}, "seconds": 2.5,
           "fp32_check": {"max_abs_diff": 1e-6, "agree": True}},
    )  # fmt: skip
    stored = through_json(searched.to_dict())
    assert list(stored)[-3:] == ["settings", "fp32_check", "seconds"]  # in the search's order
    assert Int8Block.from_dict(stored) == searched


def test_a_partial_int8_block_reads_as_none_fields():
    read = Int8Block.from_dict({"top1": 0.5, "per_channel": "yes", "bytes": 1.5e3, "format": 8})
    assert read.top1 == 0.5 and read.bytes == 1_500
    assert nones(read) == set(vars(INT8)) - {"top1", "bytes"} | SEARCH_FIELDS


# ---------------------------------------------------------------------------- fidelity runs

CURVE = (Epoch(epoch=1, train_loss=1.5, top1=0.6, top5=0.9, seconds=3.0, val_loss=1.1),)


def test_a_run_result_round_trip():
    trained = TrainResult(status="ok", reason=None, top1=0.6, top5=0.9, train_loss=1.5,
                          curve=list(CURVE), train_seconds=3.0, device="cpu")  # fmt: skip
    result = RunResult.of(trained)
    stored = through_json(result.to_dict())
    assert list(stored) == ["status", "reason", "top1", "top5", "train_loss", "curve",
                            "train_seconds", "device"]  # fmt: skip
    assert stored["status"] == "ok" and stored["curve"] == [e.to_dict() for e in CURVE]
    assert RunResult.from_dict(stored) == result
    run = StoredRun.of("key", result)
    assert run.ok and run.top1 == 0.6 and run.val_loss == 1.1 and run.seconds == 3.0


def test_an_older_or_damaged_run_result_reads_as_none_fields():
    read = RunResult.from_dict(
        {"status": "exploded", "top1": "high", "curve": [{"epoch": 1}, "junk"], "device": None}
    )
    assert read.curve == () and nones(read) == {"status", "reason", "top1", "top5", "train_loss",
                                                "train_seconds", "device"}  # fmt: skip
    # What the report reads of it: a run that did not train, as before.
    run = _stored_run("key", {"status": "failed", "reason": "non-finite loss"})
    assert (run.ok, run.reason, run.top1, run.seconds, run.device) == (
        False, "non-finite loss", None, 0.0, "None",
    )  # fmt: skip
    assert _stored_run("key", "not a result").ok is False
    assert RunResult.from_dict({"status": "ok"}).status is Status.OK


# ---------------------------------------------------------------------------- metric names


def test_the_metric_name_constants_name_metrics_of_the_table():
    names = [records.TOP1, records.TOP5, records.TRAIN_LOSS, records.PARAMS, records.MACS,
             records.TRAIN_SECONDS, records.LATENCY_MS, records.COMPRESSED_BYTES,
             records.TOP1_COMPRESSED, records.TOP5_COMPRESSED, records.TOP1_INT8,
             records.TOP5_INT8, records.INT8_BYTES, records.LATENCY_INT8_MS]  # fmt: skip
    assert all(records.metric(name).name == name for name in names)
