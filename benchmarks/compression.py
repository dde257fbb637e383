"""The compressed size of SqueezeNet v1.0 at 1000 classes: the paper's 0.47 MB (33% density, 6 bits)
and 0.66 MB (8 bits) against the bytes of sqzdse's compressed file.

    python benchmarks/compression.py                  # 33% density, 6 and 8 bits
    python benchmarks/compression.py --density 0.33 --bits 6

No ImageNet weights can be had here, so the weights are drawn: the training's initialisation
(`uniform`, PyTorch's Kaiming-uniform, classifier normal) and bell-shaped ones (`normal`, each
layer normal with that layer's standard deviation: trained weights' histograms look like that).
Nothing is fine-tuned: sizes only. Which weights survive magnitude pruning of independent draws is
random, so the gaps between them are those of a random 33% of positions; trained weights cluster
somewhat, which Huffman coding of the gaps would turn into fewer bytes. The figures (every run's
report, per layer) are written with date, commit, machine and command to `--output` (default
`results/compression_v1_0.json`).
"""

from __future__ import annotations

import argparse

import torch
from _provenance import ROOT, write_result

from sqzdse.arch import preset
from sqzdse.cli.compress import format_report
from sqzdse.compression import Settings
from sqzdse.compression.pipeline import compress, decompress
from sqzdse.model import build_model
from sqzdse.train import TrainConfig, _initialise
from sqzdse.weights import Weights

PAPER = {6: 0.47, 8: 0.66}  # MB at 33% density (SqueezeNet, Table 2): 4.8 MB is 4.76 MiB of 32-bit


def drawn_weights(kind: str, seed: int = 0) -> Weights:
    torch.manual_seed(seed)
    arch = preset("v1.0")  # 1000 classes, 224 px
    model = build_model(arch)
    _initialise(model, TrainConfig())
    if kind == "normal":
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("weight"):
                    p.copy_(torch.randn_like(p) * p.std())
    return Weights.of(model, arch, mean=(0.5,) * 3, std=(0.25,) * 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--density", type=float, default=0.33)
    parser.add_argument("--bits", type=int, nargs="*", default=[6, 8])
    parser.add_argument("--output", default=ROOT / "results" / "compression_v1_0.json")
    args = parser.parse_args()
    runs = []
    for kind in ("uniform", "normal"):
        weights = drawn_weights(kind)
        for bits in args.bits:
            result = compress(weights, None, Settings(args.density, bits, 0), None)
            back = decompress(result.data)
            same = all(torch.equal(back.state[k], result.weights.state[k]) for k in back.state)
            report = result.report
            print(f"\n== v1.0, 1000 classes, {kind} weights, density {args.density}, {bits} bits")
            print(format_report(report))
            paper = PAPER.get(bits) if args.density == 0.33 else None
            print(
                f"file {report.file_bytes / 1e6:.3f} MB = {report.file_bytes / 2**20:.3f} MiB; "
                f"estimate {report.estimate_bytes / 2**20:.3f} MiB"
                + (f"; paper {paper} MB" if paper else "")
                + f"; decodes to the same weights: {same}"
            )
            record = report.to_dict()
            runs.append(
                {
                    "weights": kind,
                    "bits": bits,
                    **record,
                    "file_mib": report.file_bytes / 2**20,
                    "estimate_mib": report.estimate_bytes / 2**20,
                    "paper_mb": paper,
                    "total_weights": sum(layer["weights"] or 0 for layer in record["layers"]),
                    "total_nonzero": sum(layer["nonzero"] or 0 for layer in record["layers"]),
                    "decodes_to_same_weights": same,
                }
            )
    write_result(
        args.output, {"network": "v1.0", "classes": 1000, "density": args.density, "runs": runs}
    )


if __name__ == "__main__":
    main()
