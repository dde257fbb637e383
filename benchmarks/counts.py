"""Analytic counts per second: how fast `arch.resolve` describes networks of the design space.

    python benchmarks/counts.py [--n 20000]

The search decides validity, budgets and duplicates from these counts before any training, so they
must be far cheaper than a trial (goal: well over 10,000 per second on a 2-core CPU). The figures
are written with date, commit, machine and command to `--output` (default `results/counts.json`).
"""

import argparse
import itertools
import time

from _provenance import ROOT, write_result

from sqzdse.arch import ArchConfig, resolve


def configs(n: int) -> list[dict]:
    grid = itertools.cycle(
        itertools.product(
            (16, 32, 64, 128, 256),
            (0, 16, 64, 128),
            (0.0, 0.25, 0.5, 0.75, 1.0),
            (1, 2, 3, 4),
            (0.125, 0.25, 0.5, 0.75, 1.0),
            ("none", "simple", "complex"),
        )
    )
    return [
        dict(zip(("base_e", "incr_e", "pct_3x3", "freq", "sr", "bypass"), values))
        for values, _ in zip(grid, range(n))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--output", default=ROOT / "results" / "counts.json")
    args = parser.parse_args()
    n = args.n
    settings = configs(n)

    start = time.perf_counter()
    built = [ArchConfig(**s) for s in settings]  # construction validates and resolves once
    construct = time.perf_counter() - start

    start = time.perf_counter()
    totals = [(r.params, r.macs) for r in map(resolve, built)]
    counting = time.perf_counter() - start

    print(f"{n} configurations, {len(set(totals))} distinct (params, MACs) pairs")
    print(
        f"construct + validate: {n / construct:,.0f} configs/s ({construct * 1e6 / n:.1f} us each)"
    )
    print(f"resolve + count:      {n / counting:,.0f} counts/s ({counting * 1e6 / n:.1f} us each)")
    write_result(
        args.output,
        {
            "configurations": n,
            "distinct_totals": len(set(totals)),
            "counts_per_second": n / counting,
            "configs_per_second": n / construct,
        },
    )


if __name__ == "__main__":
    main()
