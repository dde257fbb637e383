"""fp32 against int8 (ONNX Runtime) for every network on a study's Pareto front, with the
quantization's two knobs varied: per-channel or per-tensor weights, and the calibration images.

    python benchmarks/int8_front.py --storage sqlite:///results/front_fashion.db --study front

For each front trial with stored weights (the search's proxy-trained ones, or `sqzdse retrain`'s
when the trial was retrained; a trial that reused another's result is left to that one): the fp32
ONNX file and the int8 files of `export-model --int8` (`sqzdse.export_model`: QDQ, MinMax over
training images drawn with seed 0) at per-channel x 256 images (the default), per-channel x 64
and x 1024, and per-tensor x 256; each scored by ONNX Runtime on the study's validation images,
with its bytes and its ONNX Runtime latency (batch 1, 1 thread, median of 30).
Writes results/int8_front.json with the date, commit, machine and command.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _provenance import write_result

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = (("per-channel", 256), ("per-channel", 64), ("per-channel", 1024), ("per-tensor", 256))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study")
    parser.add_argument("--artifacts")
    parser.add_argument("--output", default=str(ROOT / "results" / "int8_front.json"))
    args = parser.parse_args()

    from sqzdse.cli.options import chosen_trial, stored_weights
    from sqzdse.data import load_dataset
    from sqzdse.export_model import (
        CalibrationImages,
        check_onnx,
        int8_block,
        quantize_int8,
        write_model,
    )
    from sqzdse.quantization import CALIBRATION_SEED
    from sqzdse.records import StudyInfo
    from sqzdse.space import Training
    from sqzdse.storage import load_study

    study = load_study(args.storage, study_name=args.study)
    info = StudyInfo.read(study)
    training = Training.from_stored(dict(info.training))
    rows = []
    for number in sorted({t.number for t in study.best_trials}):
        record = chosen_trial(study, number)
        if record.reused_from is not None:
            continue  # its network and weights are trial `reused_from`'s, measured there
        try:
            weights, source = stored_weights(record, number, args.storage, args.artifacts)
        except Exception as err:  # a front trial whose weights were not kept
            print(f"trial {number}: no weights ({err})", file=sys.stderr)
            continue
        data = load_dataset(training.data_spec(resolution=weights.arch.resolution))
        row = {"trial": number, "weights": source, "params": record.metrics.get("params"),
               "variants": []}  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="sqzdse-int8-front-") as folder:
            fp32 = Path(folder) / "fp32.onnx"
            write_model(weights, fp32)
            check = check_onnx(fp32, weights, data.val_x, data.val_y)
            for weights_kind, count in VARIANTS:
                per_channel = weights_kind == "per-channel"
                calibration = CalibrationImages(data.train_x, count, seed=CALIBRATION_SEED)
                int8 = Path(folder) / f"int8-{weights_kind}-{count}.onnx"
                quantize_int8(fp32, int8, calibration, per_channel=per_channel)
                block = int8_block(int8, fp32, check, calibration, data.val_x, data.val_y,
                                   seed=CALIBRATION_SEED, per_channel=per_channel)  # fmt: skip
                row["variants"].append({"weights": weights_kind, "calibration_images": count,
                                        **{k: block[k] for k in ("top1", "fp32_top1",
                                           "drop_top1_points", "bytes", "fp32_bytes",
                                           "latency_ms", "fp32_latency_ms")}})  # fmt: skip
        rows.append(row)
        default = row["variants"][0]
        others = "  ".join(
            f"{v['weights']}/{v['calibration_images']}: {v['top1']:.2%}"
            for v in row["variants"][1:]
        )
        print(f"trial {number:>3} {row['params']:>9,} fp32 {default['fp32_top1']:.2%} "
              f"int8 {default['top1']:.2%} ({default['drop_top1_points']:+.2f} pt drop) "
              f"{default['bytes']:>8,} B vs {default['fp32_bytes']:>8,} B  "
              f"{default['latency_ms']:.3f} ms vs {default['fp32_latency_ms']:.3f} ms | {others}",
              flush=True)  # fmt: skip
    write_result(
        args.output,
        {
            "study": study.study_name,
            "validation_images": int(len(data.val_y)) if rows else 0,
            "networks": rows,
        },
    )


if __name__ == "__main__":
    main()
