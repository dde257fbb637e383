"""`sqzdse compress` and `sqzdse decompress`: Deep Compression of a trial's stored weights into a
real file, its size and the accuracy after it; and the way back."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sqzdse.cli.export import STORAGE_HELP
from sqzdse.cli.options import chosen_trial, prepared_output, stored_weights
from sqzdse.compression import (
    DEFAULT_BITS,
    DEFAULT_DENSITY,
    DEFAULT_FINETUNE_EPOCHS,
    MAX_BITS,
    CompressionReport,
)
from sqzdse.devices import DEVICES


@click.command()
@click.option("--storage", required=True, help=STORAGE_HELP)
@click.option("--study", "study_name", help="Study; optional when the storage holds one.")
@click.option("--trial", "number", type=int, required=True, help="Trial number.")
@click.option(
    "--density",
    type=click.FloatRange(0, 1, min_open=True),
    default=DEFAULT_DENSITY,
    show_default=True,
    help="Share of each convolution's weights kept (largest magnitudes).",
)
@click.option(
    "--bits",
    type=click.IntRange(1, MAX_BITS),
    default=DEFAULT_BITS,
    show_default=True,
    help="Bits of a weight index: 2**bits - 1 shared values per layer, and zero.",
)
@click.option(
    "--finetune-epochs",
    type=click.IntRange(min=0),
    default=DEFAULT_FINETUNE_EPOCHS,
    show_default=True,
    help="Epochs of fine-tuning after pruning, and again after sharing (0: none).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The compressed file to write (read back with sqzdse decompress).",
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON on stdout.")
@click.option(
    "--artifacts",
    help="The artifact store the search used [default: beside an SQLite study].",
)
@click.option("--device", help=f"{DEVICES} [default: the search's].")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def compress(
    storage: str,
    study_name: str | None,
    number: int,
    density: float,
    bits: int,
    finetune_epochs: int,
    output: Path,
    as_json: bool,
    artifacts: str | None,
    device: str | None,
    quiet: bool,
) -> None:
    """Prune, share and Huffman-code a trial's weights into a real file; report its bytes per
    layer and the accuracy before and after."""
    from sqzdse.compression import Settings
    from sqzdse.compression.pipeline import compress as run_compression
    from sqzdse.data import load_dataset
    from sqzdse.errors import SqzdseError
    from sqzdse.records import StudyInfo
    from sqzdse.space import Training
    from sqzdse.storage import load_study
    from sqzdse.train import resolve_device

    settings = Settings(density, bits, finetune_epochs)
    study = load_study(storage, study_name=study_name)
    record = chosen_trial(study, number)
    info = StudyInfo.read(study)
    if not info.training:
        raise SqzdseError(f"study {study.study_name!r} records no training settings")
    weights, source = stored_weights(record, number, storage, artifacts)
    prepared_output(output)
    training = Training.from_stored(dict(info.training))
    config = training.train_config(device=device)
    spec = training.data_spec(resolution=weights.arch.resolution)  # the trial's
    data = load_dataset(spec, device=resolve_device(config.device))
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    echo(
        f"compressing trial {number} ({source} weights) of study {study.study_name!r}: "
        f"density {density:g}, {bits} bits, {finetune_epochs} fine-tuning epochs per phase, "
        f"on {data.device}"
    )
    result = run_compression(weights, data, settings, config, on_progress=echo)
    output.write_bytes(result.data)
    report = result.report
    if as_json:
        click.echo(
            json.dumps(
                {
                    "study": study.study_name,
                    "trial": number,
                    "weights": source,
                    "file": str(output),
                    **report.to_dict(),
                },
                indent=1,
            )
        )
        return
    click.echo(format_report(report))
    click.echo(f"wrote {output} ({report.file_bytes:,} bytes)")


def format_report(report: CompressionReport) -> str:
    """The per-layer table and the totals, for people."""
    header = (
        f"{'layer':<16} {'weights':>9} {'nonzero':>8} {'density':>7} {'bits':>4} {'gap':>3} "
        f"{'fillers':>7} {'estimate B':>10} {'file B':>9}"
    )
    lines = [header, "-" * len(header)]
    for layer in report.layers:
        lines.append(
            f"{layer.name:<16} {layer.weights:>9,} {layer.nonzero:>8,} {layer.density:>7.1%} "
            f"{layer.bits:>4} {layer.index_bits:>3} {layer.fillers:>7,} "
            f"{layer.estimate_bytes:>10,} {layer.file_bytes:>9,}"
        )
    lines.append(f"{'header':<16} {'':>53} {report.header_bytes:>9,}")
    weights = sum(layer.weights or 0 for layer in report.layers)  # the pipeline fills every one
    nonzero = sum(layer.nonzero or 0 for layer in report.layers)
    lines.append(
        f"{'total':<16} {weights:>9,} {nonzero:>8,} {nonzero / weights:>7.1%} {'':>24} "
        f"{report.estimate_bytes:>10,} {report.file_bytes:>9,}"
    )
    lines.append(
        f"{report.file_bytes:,} bytes against {report.dense_bytes:,} at 32 bits: "
        f"{report.ratio:.1f}x smaller. 'estimate': entries x (bits + gap bits) at fixed width, "
        "codebooks and biases; 'file': the Huffman-coded bytes written."
    )
    if report.top1_before is not None:
        lines.append(
            f"top-1 {report.top1_before:.2%} -> {report.top1_after:.2%}, "
            f"top-5 {report.top5_before:.2%} -> {report.top5_after:.2%} (validation images; "
            "after: the network decoded from the file)"
        )
    return "\n".join(lines)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="model.pt (sqzdse weights) or model.onnx.",
)
def decompress(file: Path, output: Path) -> None:
    """Decode a compressed file back to the network's weights."""
    from sqzdse.compression.pipeline import decompress as decode
    from sqzdse.errors import SqzdseError
    from sqzdse.export_model import check_format, write_model

    check_format(output)
    try:
        weights = decode(file.read_bytes())
    except SqzdseError as err:
        raise SqzdseError(f"{file}: {err}") from None
    write_model(weights, prepared_output(output))
    click.echo(f"wrote {output}")
