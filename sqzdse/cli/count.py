"""`sqzdse count`: the layer table and exact totals of one network, without training."""

from __future__ import annotations

import json

import click

from sqzdse.arch import layer_table, model_size_bytes, resolve
from sqzdse.cli.options import arch_options, pop_arch_flags
from sqzdse.records import analytic_metrics


@click.command()
@arch_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of a table.")
def count(as_json: bool, **kwargs) -> None:
    """Parameters, multiply-accumulates and activations of a network, layer by layer, and its int8
    memory: peak SRAM and flash bytes."""
    cfg = pop_arch_flags(kwargs)
    click.echo(json.dumps(count_report(cfg), indent=2) if as_json else format_table(cfg))


def count_report(cfg) -> dict:
    """The JSON object of `sqzdse count --json`."""
    return {
        "config": cfg.to_dict(),
        **analytic_metrics(cfg),
        "peak_activations": resolve(cfg).peak_activations,
        "peak_sram_operator": resolve(cfg).peak_sram_op.name,
        "layers": layer_table(cfg),
        "sram_operators": [
            {"name": op.name, "bytes": op.bytes, "alive": dict(op.alive)}
            for op in resolve(cfg).sram_operators
        ],
    }


def format_table(cfg) -> str:
    r = resolve(cfg)
    header = ("layer", "output", "filters (s/e1/e3)", "params", "MACs", "bypass")
    rows = [
        (
            row.name,
            f"{row.out_channels}x{row.out_size}x{row.out_size}",
            row.filters,
            f"{row.params:,}",
            f"{row.macs:,}",
            row.bypass,
        )
        for row in r.layers
    ]
    rows.append(("total", "", "", f"{r.params:,}", f"{r.macs:,}", ""))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    right = {3, 4}

    def line(cells) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(header), rule, *(line(c) for c in rows[:-1]), rule, line(rows[-1])]
    out.append(
        f"model size: {model_size_bytes(r.params, 32) / 1e6:.2f} MB at 32 bits, "
        f"{model_size_bytes(r.params, 8) / 1e6:.2f} MB at 8 bits; "
        f"{r.macs / 1e9:.3f} G multiply-accumulates at {cfg.resolution}x{cfg.resolution}"
    )
    peak = r.peak_sram_op
    alive = " + ".join(f"{tensor} {size:,}" for tensor, size in peak.alive)
    out.append(f"int8 peak SRAM: {r.peak_sram_bytes:,} bytes at {peak.name} ({alive})")
    out.append(
        f"int8 flash: {r.flash_bytes:,} bytes (int8 weights, int32 biases, float32 scale per "
        "output channel)"
    )
    return "\n".join(out)
