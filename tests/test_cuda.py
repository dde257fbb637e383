"""The CUDA path for real: training, a search, and a real out-of-memory. Needs a CUDA device.

Skipped where PyTorch sees no CUDA device (CI has none); run on a GPU machine with
`python -m pytest -m cuda`. The out-of-memory tests cap this process's share of the GPU with
`torch.cuda.set_per_process_memory_fraction` in a child process, so the cap never leaks into other
tests.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

import sqzdse.train as train_module
from sqzdse.arch import preset
from sqzdse.data import DataSpec, load_dataset
from sqzdse.train import TrainConfig, train_proxy
from tests.search.helpers import load, run, write_space

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]

ROOT = Path(__file__).resolve().parent.parent
CAP_BYTES = 1 << 30  # the GPU memory the out-of-memory tests allow themselves
# Too large for CAP_BYTES on purpose: about 80 M parameters (1.3 GB with AdamW's state) and several
# GB of activations for one batch of all 1,438 digits; SMALL needs a few MB.
HUGE = {"base_e": 2048, "incr_e": 0, "pct_3x3": 0.5, "freq": 2, "sr": 0.5}
SMALL = {"base_e": 8, "incr_e": 0, "pct_3x3": 0.5, "freq": 2, "sr": 0.5}
NET = {"stem_filters": 16, "pool_after": ("conv1", "fire3")}


def cuda_data(**spec):
    return load_dataset(DataSpec(resolution=32, **spec), device="cuda")


def test_proxy_training_on_cuda_reports_memory_and_learns():
    data = cuda_data()
    cfg = preset("v1.0", num_classes=10, resolution=32)
    result = train_proxy(cfg, data, TrainConfig(epochs=3, seed=0, device="cuda"))
    assert result.status == "ok", result.reason
    assert result.device.startswith("cuda")
    assert math.isfinite(result.top1) and math.isfinite(result.train_loss)
    assert result.top1 >= 0.90, result.curve  # the CPU's accuracy bar (test_train.py)
    assert result.peak_memory_bytes > data.train_x.numel()  # the data set and more
    assert result.images_per_second > 0 and len(result.curve) == 3


@pytest.mark.parametrize("graphs", [True, False], ids=["graphs", "eager"])
def test_bf16_autocast_and_channels_last_on_cuda(monkeypatch, graphs):
    monkeypatch.setattr(train_module, "CUDA_GRAPHS", graphs)
    seen = []
    build = train_module.build_model

    def recording_build(cfg, **kwargs):
        model = build(cfg, **kwargs)
        model.features[0].conv.register_forward_hook(
            lambda m, args, out: seen.append(
                (
                    args[0].dtype,
                    args[0].is_contiguous(memory_format=torch.channels_last),
                    out.dtype,
                    m.weight.dtype,
                )
            )
        )
        return model

    monkeypatch.setattr(train_module, "build_model", recording_build)
    cfg = preset("v1.0", num_classes=10, resolution=32, base_e=16, incr_e=16)
    result = train_proxy(
        cfg, cuda_data(train_per_class=40, val_per_class=10), TrainConfig(epochs=2, device="cuda")
    )
    assert result.status == "ok", result.reason
    assert seen and all(s == (torch.float32, True, torch.bfloat16, torch.float32) for s in seen)


def test_search_of_a_tiny_space_on_cuda(tmp_path, capfd):
    space = write_space(tmp_path, n_trials=3)
    db = tmp_path / "tiny.db"
    code, out, err = run(
        capfd, "search", "--space", space, "--storage", f"sqlite:///{db}", "--device", "cuda"
    )
    assert code == 0, err
    trials = [t for t in load(db).trials if t.user_attrs.get("status") == "ok"]
    assert trials and all(t.user_attrs["device"].startswith("cuda") for t in trials)
    assert all(0 <= t.user_attrs["top1"] <= 1 for t in trials)


def _child(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _fraction() -> float:
    return CAP_BYTES / torch.cuda.get_device_properties(0).total_memory


OOM_THEN_SMALL = """
    import json, sys, torch
    from sqzdse.arch import preset
    from sqzdse.data import DataSpec, load_dataset
    from sqzdse.train import TrainConfig, train_proxy
    torch.cuda.set_per_process_memory_fraction(float(sys.argv[1]))
    huge, small, net = (json.loads(a) for a in sys.argv[2:5])
    net["pool_after"] = tuple(net["pool_after"])
    data = load_dataset(DataSpec(resolution=32), device="cuda")
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    failed = train_proxy(preset("v1.1", num_classes=10, resolution=32, **net, **huge), data,
                         TrainConfig(epochs=1, batch_size=1024, device="cuda"))
    torch.cuda.synchronize()
    after = torch.cuda.memory_allocated()
    ok = train_proxy(preset("v1.1", num_classes=10, resolution=32, **net, **small), data,
                     TrainConfig(epochs=2, device="cuda"))
    print(json.dumps({"failed": failed.to_dict(), "ok": ok.to_dict(), "before": before,
                      "after": after}))
"""


def test_real_out_of_memory_fails_the_run_frees_memory_and_the_next_run_trains():
    proc = _child(
        OOM_THEN_SMALL, str(_fraction()), json.dumps(HUGE), json.dumps(SMALL), json.dumps(NET)
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    failed, ok = report["failed"], report["ok"]
    assert failed["status"] == "failed" and "out of memory" in failed["reason"], failed
    assert failed["top1"] is None and failed["peak_memory_bytes"] > 0
    # Everything the failed run allocated is released: only the data set stays.
    assert abs(report["after"] - report["before"]) < (4 << 20), report
    assert ok["status"] == "ok" and math.isfinite(ok["top1"]), ok


SEARCH_UNDER_A_CAP = """
    import sys, torch
    torch.cuda.set_per_process_memory_fraction(float(sys.argv[1]))
    from sqzdse.cli import main
    sys.exit(main(sys.argv[2:]))
"""


def test_real_out_of_memory_in_a_search_is_a_failed_trial_and_the_search_goes_on(tmp_path):
    space = tmp_path / "oom.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "name": "oom",
                "metaparameters": {
                    **{k: v for k, v in SMALL.items() if k != "base_e"},
                    "base_e": {"choices": [SMALL["base_e"], HUGE["base_e"]]},
                },
                "network": {"preset": "v1.1", "stem": {"filters": NET["stem_filters"]}},
                "pooling": {"after": list(NET["pool_after"])},
                "sampler": {"name": "grid", "seed": 0},
                "training": {"resolution": 32, "epochs": 1, "batch_size": 1024, "device": "cuda"},
                "n_trials": 2,  # both grid points are tried, failed or not
            }
        )
    )
    db = tmp_path / "oom.db"
    proc = _child(
        SEARCH_UNDER_A_CAP,
        str(_fraction()),
        "search",
        "--space",
        str(space),
        "--storage",
        f"sqlite:///{db}",
        "--timeout",
        "180",
        "--workers",
        "1",
    )  # the cap holds in this process only
    assert proc.returncode == 0, proc.stderr
    trials = load(db, "oom").trials
    by_width = {}
    for t in trials:
        by_width.setdefault(t.params["base_e"], []).append(t)
    failed = by_width[HUGE["base_e"]][0]
    assert failed.state.name == "FAIL" and failed.user_attrs["status"] == "failed"
    assert "out of memory" in failed.user_attrs["failure_reason"]
    trained = [t for t in by_width[SMALL["base_e"]] if t.user_attrs.get("status") == "ok"]
    assert trained and trained[0].state.name == "COMPLETE"
    assert trained[0].user_attrs["device"].startswith("cuda")
