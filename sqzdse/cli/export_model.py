"""`sqzdse export-model`: a trial's stored weights to ONNX or `.pt`, with its model card."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sqzdse.cli.export import STORAGE_HELP
from sqzdse.cli.options import chosen_trial, prepared_output, stored_weights
from sqzdse.files import atomic_file
from sqzdse.quantization import CALIBRATION_SEED, DEFAULT_CALIBRATION_IMAGES
from sqzdse.records import TOP1


@click.command("export-model")
@click.option("--storage", required=True, help=STORAGE_HELP)
@click.option("--study", "study_name", help="Study; optional when the storage holds one.")
@click.option("--trial", "number", type=int, required=True, help="Trial number.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="model.onnx (checked with ONNX Runtime) or model.pt (sqzdse weights); the model card "
    "goes beside it as <name>.card.json.",
)
@click.option(
    "--artifacts",
    help="The artifact store the search used [default: beside an SQLite study].",
)
@click.option(
    "--int8",
    is_flag=True,
    help="Write the network quantized to int8 by ONNX Runtime (static, QDQ, per-channel "
    "weights; .onnx output only), scored on the validation images; the fp32 file is not kept.",
)
@click.option(
    "--calibration-images",
    type=click.IntRange(min=1),
    help=f"With --int8: training images that calibrate the activation ranges, drawn with seed "
    f"{CALIBRATION_SEED}  [default: {DEFAULT_CALIBRATION_IMAGES}].",
)
def export_model(
    storage: str,
    study_name: str | None,
    number: int,
    output: Path,
    artifacts: str | None,
    int8: bool,
    calibration_images: int | None,
) -> None:
    """Write a trial's network, BatchNorm folded, with a model card."""
    from sqzdse.errors import SqzdseError
    from sqzdse.export_model import TOLERANCE, check_format, model_card
    from sqzdse.records import StudyInfo
    from sqzdse.storage import load_study

    suffix = check_format(output)
    if int8 and suffix != ".onnx":
        raise SqzdseError(
            f"--int8 writes an ONNX file: give -o a name ending in .onnx (e.g. "
            f"{output.with_suffix('.int8.onnx').name}), not {output.name}"
        )
    if calibration_images is not None and not int8:
        raise SqzdseError("--calibration-images goes with --int8, which was not given")
    study = load_study(storage, study_name=study_name)
    record = chosen_trial(study, number)
    weights, _ = stored_weights(record, number, storage, artifacts)
    prepared_output(output)
    info = StudyInfo.read(study)
    card_path = output.with_name(output.stem + ".card.json")
    try:  # both files appear whole, or neither: a full disk leaves nothing half-written
        with atomic_file(output) as model_file, atomic_file(card_path) as card_file:
            check, quantized = _write(weights, model_file, info, int8, calibration_images)
            card = model_card(
                record,
                weights,
                study=study.study_name,
                training=dict(info.training),
                file=output,
                check=check,
                int8=quantized,
            )
            card_file.write_text(json.dumps(card, indent=1) + "\n")
    except OSError as err:
        raise SqzdseError(
            f"-o {output}: cannot write ({err.strerror or err}); nothing was left half-written"
        ) from None
    click.echo(f"wrote {output} and {card_path}")
    if check is not None:
        fp32 = "fp32 file (not kept): " if quantized is not None else ""
        click.echo(
            f"{fp32}ONNX Runtime on {check.images} validation images: top-1 {check.top1:.2%} "
            f"(recorded for these {card['accuracy']['weights']} weights: "
            f"{card['accuracy'][TOP1]:.2%}), largest logit difference from PyTorch "
            f"{check.max_abs_diff:.1e}"
        )
    if quantized is not None:
        q = quantized  # measured just now: every field is there
        click.echo(
            f"int8 (QDQ, per-channel weights, calibrated on {q.calibration_images} training "
            f"images): top-1 {q.top1:.2%} against fp32 ONNX {q.fp32_top1:.2%}, a drop of "
            f"{q.drop_top1_points:.2f} points; {q.bytes:,} bytes against "
            f"{q.fp32_bytes:,}; ONNX Runtime latency {q.latency_ms:.3f} ms against "
            f"{q.fp32_latency_ms:.3f} ms (batch 1, 1 thread)"
        )
    if check is not None and (check.max_abs_diff > TOLERANCE or not check.agree):
        raise SqzdseError(
            f"ONNX Runtime differs from PyTorch by up to {check.max_abs_diff:.1e} (limit "
            f"{TOLERANCE:g}): the file was written but should not be trusted"
        )


def _write(weights, path: Path, info, int8: bool, calibration_images: int | None):
    """Write the model to `path`: (the ONNX check or None for .pt, the int8 block or None)."""
    from sqzdse.export_model import check_onnx, measure_int8, write_model

    if path.suffix.lower() == ".pt":
        write_model(weights, path)
        return None, None
    data = _dataset(info.training, weights.arch.resolution)
    if not int8:
        write_model(weights, path)
        return check_onnx(path, weights, data.val_x, data.val_y), None
    return measure_int8(
        weights, data, path, calibration_images=calibration_images or DEFAULT_CALIBRATION_IMAGES
    )


def _dataset(training: dict, resolution: int):
    """The images the trial was trained and measured on (the study's own training settings, at
    the trial's resolution)."""
    from sqzdse.data import load_dataset
    from sqzdse.space import Training

    return load_dataset(Training.from_stored(training).data_spec(resolution=resolution))
