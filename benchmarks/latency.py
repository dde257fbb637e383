"""CPU latency of deployable networks, and how much it moves between processes.

    python benchmarks/latency.py              # v1.0, v1.1, a small micro network; 32 and 224 px
    python benchmarks/latency.py --processes 5

Each network is measured by `sqzdse.latency.measure_latency` (batch 1, 1 thread, median of 30 runs
after 5 warm-ups) in `--processes` fresh Python processes, one after the other. Printed per network
and resolution: the median of one process (with its 10th-90th percentile spread inside that
process), the range of the per-process medians, and that range relative to their median: the noise
a study's `latency_ms` carries on this machine. The figures are written with date, commit, machine
and command to `--output` (default `results/latency.json`, at another `--classes`
`results/latency_<classes>classes.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from _provenance import ROOT, write_result

NETWORKS = {
    "v1.0": {"preset": "v1.0"},
    "v1.1": {"preset": "v1.1"},
    # micro.yaml's smallest corner: base_e 32, incr_e 32, pct_3x3 0.125, freq 4, SR 0.125
    "micro, small": {
        "preset": "v1.0",
        "base_e": 32,
        "incr_e": 32,
        "pct_3x3": 0.125,
        "freq": 4,
        "sr": 0.125,
    },
}
CHILD = """
import json, sys
from sqzdse.arch import preset
from sqzdse.latency import measure_latency
spec = json.loads(sys.argv[1])
name = spec.pop("preset")
cfg = preset(name, num_classes=spec.pop("num_classes"), resolution=spec.pop("resolution"), **spec)
print(json.dumps(measure_latency(cfg).to_dict()))
"""


def measure_in_process(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--output", help="results file [default: results/latency.json]")
    args = parser.parse_args()
    rows = []
    print(
        "| network | params | resolution | one process: median ms (p10-p90) | "
        f"medians of {args.processes} processes: range ms | range / median |"
    )
    print("|---|---|---|---|---|---|")
    from sqzdse.arch import count_params, preset

    for label, spec in NETWORKS.items():
        for resolution in (32, 224):
            full = {**spec, "num_classes": args.classes, "resolution": resolution}
            settings = {k: v for k, v in full.items() if k != "preset"}
            params = count_params(preset(spec["preset"], **settings))
            runs = [measure_in_process(dict(full)) for _ in range(args.processes)]
            medians = [r["median_ms"] for r in runs]
            first = runs[0]
            middle = statistics.median(medians)
            print(
                f"| {label} | {params:,} | {resolution} | {first['median_ms']:.2f} "
                f"({first['p10_ms']:.2f}-{first['p90_ms']:.2f}) | {min(medians):.2f}-"
                f"{max(medians):.2f} | {(max(medians) - min(medians)) / middle:.1%} |"
            )
            rows.append(
                {
                    "network": label,
                    "params": params,
                    "resolution": resolution,
                    "median_ms": first["median_ms"],
                    "p10_ms": first["p10_ms"],
                    "p90_ms": first["p90_ms"],
                    "median_min_ms": min(medians),
                    "median_max_ms": max(medians),
                    "range_over_median": (max(medians) - min(medians)) / middle,
                    "medians_ms": medians,
                }
            )
    print(f"\nCPU: {runs[0]['cpu']}, torch {runs[0]['torch']}, {runs[0]['threads']} thread(s)")
    name = "latency.json" if args.classes == 10 else f"latency_{args.classes}classes.json"
    write_result(
        args.output or ROOT / "results" / name,
        {
            "processes": args.processes,
            "classes": args.classes,
            "cpu": runs[0]["cpu"],
            "torch": runs[0]["torch"],
            "threads": runs[0]["threads"],
            "networks": rows,
        },
    )


if __name__ == "__main__":
    main()
