"""Hand-made trials for the views' tests: a typed trials frame whose fronts, ranks and
hypervolumes are worked out by hand in the comments."""

from __future__ import annotations

import pandas as pd

from sqzdse import analysis
from sqzdse.arch import ArchConfig
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import TrialRecord

DESIGN = {
    "base_e": 128,
    "incr_e": 128,
    "pct_3x3": 0.5,
    "freq": 2,
    "sr": 0.125,
    "num_modules": 8,
    "pool_after": "conv1,fire3,fire5",
    "bypass": "none",
    "num_classes": 10,
    "resolution": 32,
}


def trials_frame(rows: list[dict]) -> pd.DataFrame:
    """A frame with analysis.TRIAL_COLUMNS and their dtypes: numbers from 0, COMPLETE and ok unless
    a row says otherwise, the DESIGN architecture, and the metrics each row gives."""
    filled = []
    for number, row in enumerate(rows):
        base = {name: None for name in analysis.COLUMN_NAMES}
        base.update(DESIGN, number=number, state="COMPLETE", status="ok", pareto=False)
        base.update(row)
        if base["params"] is not None:
            base.update(size_bytes_32bit=4 * base["params"], size_bytes_8bit=base["params"])
            if base["flash_bytes"] is None:  # made up: weights, biases and scales of 8 channels
                base["flash_bytes"] = base["params"] + 7 * 8
            if base["peak_sram_bytes"] is None and base["macs"] is not None:
                base["peak_sram_bytes"] = base["macs"] // 10  # made up: follows the MACs
            base.setdefault("latency_ms", None)
            if base["latency_ms"] is None and base["macs"] is not None:
                base["latency_ms"] = base["macs"] / 100  # made up: follows the MACs
        for name in ("top1", "top5"):  # made up: retraining adds a little accuracy (less on test)
            if base.get(f"retrained_{name}") is None and base[name] is not None:
                base[f"retrained_{name}"] = min(1.0, base[name] + 0.01)
            if base.get(f"retrained_test_{name}") is None and base[name] is not None:
                base[f"retrained_test_{name}"] = min(1.0, base[name] + 0.005)
        # made up: a finished network compresses to a tenth of its 8-bit size, losing 2 points
        if base["state"] == "COMPLETE" and base["params"] is not None:
            if base["compressed_bytes"] is None:
                base["compressed_bytes"] = base["params"] // 10
            for name in ("top1", "top5"):
                if base[f"{name}_compressed"] is None and base[name] is not None:
                    base[f"{name}_compressed"] = base[name] - 0.02
        # made up: its int8 file is a third of its 32-bit size, twice as slow, a point less
        if base["state"] == "COMPLETE" and base["params"] is not None:
            if base["int8_bytes"] is None:
                base["int8_bytes"] = base["params"] * 4 // 3
            if base["latency_int8_ms"] is None and base["macs"] is not None:
                base["latency_int8_ms"] = base["macs"] / 50
            for name in ("top1", "top5"):
                if base[f"{name}_int8"] is None and base[name] is not None:
                    base[f"{name}_int8"] = base[name] - 0.01
        filled.append(base)
    df = pd.DataFrame(filled, columns=list(analysis.COLUMN_NAMES))
    return pd.DataFrame({c.name: df[c.name].astype(c.dtype) for c in analysis.TRIAL_COLUMNS})


# number: (params, macs, top1, top5, state, status), worked out by hand below.
HAND = [
    dict(params=100, macs=1000, top1=0.50, top5=0.80),  # 0
    dict(params=200, macs=500, top1=0.70, top5=0.90),  # 1
    dict(params=200, macs=500, top1=0.70, top5=0.90, status="reused"),  # 2 identical to 1
    dict(params=200, macs=400, top1=0.65, top5=0.95),  # 3 same params as 1, worse top1
    dict(params=300, macs=900, top1=0.70, top5=0.96),  # 4 same top1 as 1, more params
    dict(params=400, macs=2000, top1=0.90, top5=0.97, bypass="simple"),  # 5
    dict(
        params=50,
        macs=50,
        top1=0.99,
        top5=0.99,
        state="FAIL",
        status="failed",
        failure_reason="loss is nan",
    ),  # 6 would dominate all
    dict(
        params=60, macs=60, state="PRUNED", status="infeasible", failure_reason="params over budget"
    ),  # 7 never trained
    dict(params=150, macs=150, top1=0.95, top5=0.99, state="PRUNED"),  # 8 pruned with a value
    dict(params=120, macs=120, state="RUNNING", status=None),  # 9 running
    dict(params=110, macs=110, top5=0.85),  # 10 COMPLETE without top1
    dict(params=500, macs=300, top1=0.90, top5=0.99, bypass="complex"),  # 11
]
FRONTS = {  # (x, y) -> trial numbers on the front, by hand
    ("params", "top1"): [0, 1, 2, 5],  # 3 loses to 1 (same x), 4 to 1 (same y), 11 to 5 (same y)
    ("params", "top5"): [0, 3, 4, 5, 10, 11],  # 3 beats 1 and 2 at the same params; 10 counts
    ("macs", "top1"): [11],  # 300 MACs at top-1 0.90 beats everything that is eligible
}
PLOTTED = {"top1": [0, 1, 2, 3, 4, 5, 11], "top5": [0, 1, 2, 3, 4, 5, 10, 11]}


def study(
    rows=HAND,
    *,
    name: str = "hand",
    archs=None,
    num_classes: int | None = 10,
    resolution: int | None = 32,
    training=None,
    dataset="digits",
) -> StudyData:
    records = {
        n: TrialRecord(arch=ArchConfig.from_dict(a), number=n) for n, a in (archs or {}).items()
    }
    return StudyData(
        name=name,
        frame=trials_frame(rows),
        objectives=(("top1", "maximize"), ("params", "minimize")),
        num_classes=num_classes,
        resolution=resolution,
        dataset=dataset,
        training=training or {},
        records=records,
    )


def trace_numbers(fig, role: str) -> list[int]:
    return [
        int(c[1])
        for t in fig.data
        if (t.meta or {}).get("role") == role
        for c in (t.customdata if t.customdata is not None else [])
    ]
