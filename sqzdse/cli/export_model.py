"""`sqzdse export-model`: a trial's stored weights to ONNX or `.pt`, with its model card."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sqzdse.cli.export import STORAGE_HELP
from sqzdse.cli.options import chosen_trial, prepared_output, stored_weights


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
def export_model(
    storage: str, study_name: str | None, number: int, output: Path, artifacts: str | None
) -> None:
    """Write a trial's network, BatchNorm folded, with a model card."""
    from sqzdse.deploy import TOLERANCE, check_format, check_onnx, model_card, write_model
    from sqzdse.errors import SqzdseError
    from sqzdse.records import StudyInfo
    from sqzdse.storage import load_study

    suffix = check_format(output)
    study = load_study(storage, study_name=study_name)
    record = chosen_trial(study, number)
    weights, _ = stored_weights(record, number, storage, artifacts)
    write_model(weights, prepared_output(output))
    info = StudyInfo.read(study)
    check = None
    if suffix == ".onnx":
        check = check_onnx(output, weights, *_validation_images(info.training))
    card = model_card(
        record,
        weights,
        study=study.study_name,
        training=dict(info.training),
        file=output,
        check=check,
    )
    card_path = output.with_name(output.stem + ".card.json")
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    click.echo(f"wrote {output} and {card_path}")
    if check is not None:
        click.echo(
            f"ONNX Runtime on {check.images} validation images: top-1 {check.top1:.2%} "
            f"(recorded for these {card['accuracy']['weights']} weights: "
            f"{card['accuracy']['top1']:.2%}), largest logit difference from PyTorch "
            f"{check.max_abs_diff:.1e}"
        )
        if check.max_abs_diff > TOLERANCE or not check.agree:
            raise SqzdseError(
                f"ONNX Runtime differs from PyTorch by up to {check.max_abs_diff:.1e} (limit "
                f"{TOLERANCE:g}): the file was written but should not be trusted"
            )


def _validation_images(training: dict):
    """The validation split the trial was measured on (the study's own training settings)."""
    from sqzdse.data import load_dataset
    from sqzdse.space import Training

    data = load_dataset(Training.from_stored(training).data_spec())
    return data.val_x, data.val_y
