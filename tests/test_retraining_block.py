"""`records.Retraining`, the one owner of `sqzdse retrain`'s stored block: written with
`to_dict`, read back field by field with `from_dict`, older blocks included."""

import json

import pytest

from sqzdse.records import Epoch, Retraining, SeedRun, TrialRecord


def _run(seed, val, test):
    curve = (Epoch(epoch=1, train_loss=1.0, top1=val, top5=1.0, seconds=2.0),)
    return SeedRun(seed=seed, top1=val, top5=0.9, test_top1=test, test_top5=0.95,
                   train_seconds=10.0, device="cpu", curve=curve)  # fmt: skip


def _block():
    return Retraining.of_runs(
        [_run(0, 0.80, 0.78), _run(1, 0.84, 0.80)],
        settings={"epochs": 15, "seed": 0},
        splits={"train": 50_000, "val": 10_000, "test": 10_000},
        weights={"artifact_id": "x"},
        versions={"sqzdse": "0"},
    )


def test_means_over_the_seeds():
    block = _block()
    assert block.top1 == pytest.approx(0.82) and block.test_top1 == pytest.approx(0.79)
    assert block.by_seed("test_top1") == (0.78, 0.80)
    assert block.by_seed("top1") == (0.80, 0.84)
    assert block.train_seconds == 20.0


def test_a_block_survives_the_study_as_json():
    block = _block()
    stored = json.loads(json.dumps(block.to_dict()))
    assert Retraining.from_dict(stored) == block
    assert set(stored) == {"settings", "splits", "seeds", "top1", "top5", "test_top1",
                           "test_top5", "test_top1_by_seed", "train_seconds", "device", "weights",
                           "versions", "finished"}  # fmt: skip


def test_a_block_from_before_the_three_splits_reads_with_no_test_accuracy():
    seed = {"seed": 0, "top1": 0.9, "top5": 1.0, "train_seconds": 3.0, "device": "cpu", "curve": []}
    old = {"settings": {"epochs": 12}, "seeds": [seed], "top1": 0.9, "top5": 1.0}
    block = Retraining.from_dict(old)
    assert block.test_top1 is None and block.splits == {} and block.weights is None
    assert block.by_seed("test_top1") == () and block.by_seed("top1") == (0.9,)
    record = TrialRecord().with_retrained(old)
    assert record.retrained == block
    assert record.metrics == {"retrained_top1": 0.9, "retrained_top5": 1.0}


def test_what_is_not_a_number_reads_as_missing():
    block = Retraining.from_dict({"top1": "high", "test_top1": True, "seeds": ["x", {"seed": 2}]})
    assert (block.top1, block.test_top1) == (None, None)
    assert [s.seed for s in block.seeds] == [2]
