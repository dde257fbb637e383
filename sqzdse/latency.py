"""Measured inference latency of a deployable network on this machine's CPU.

Batch 1 at the network's resolution, BatchNorm folded, in eval mode under `torch.inference_mode`,
with a fixed number of intra-op threads (default 1, restored afterwards): warm-up runs first, then
the median of `repeats` timed runs, with the 10th and 90th percentiles as its spread. The weights'
values do not change a dense network's time, so a freshly built network is measured: once per
architecture, before any training, so that latency can be a constraint-free objective at no
training cost. The number belongs to this CPU, this PyTorch build and this thread count; another
machine needs its own measurement (docs/guides/export-model.md, "Latency").
"""

from __future__ import annotations

import contextlib
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from sqzdse.arch import ArchConfig
from sqzdse.model import build_model, fold_batchnorm
from sqzdse.records import finite_number, text_or_none, whole_number

DEFAULT_THREADS = 1
DEFAULT_REPEATS = 30
DEFAULT_WARMUP = 5


@dataclass(frozen=True)
class Latency:
    """One latency measurement: the median and its spread, in milliseconds, and how it was taken.

    The one owner of a trial's stored `latency` block: `to_dict` writes it, `from_dict` reads it
    back; `measure_latency` fills every field, and what a stored block lacks (or holds as something
    else) is None."""

    median_ms: float | None
    p10_ms: float | None
    p90_ms: float | None
    repeats: int | None
    threads: int | None
    cpu: str | None
    torch: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Latency:
        return cls(
            median_ms=finite_number(data.get("median_ms")),
            p10_ms=finite_number(data.get("p10_ms")),
            p90_ms=finite_number(data.get("p90_ms")),
            repeats=whole_number(data.get("repeats")),
            threads=whole_number(data.get("threads")),
            cpu=text_or_none(data.get("cpu")),
            torch=text_or_none(data.get("torch")),
        )


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_name() -> str:
    """This machine's CPU model as the OS names it (Linux: /proc/cpuinfo), else its architecture."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def timed(call: Callable[[], object], *, repeats: int, warmup: int) -> tuple[float, float, float]:
    """The median, 10th and 90th percentiles in milliseconds of `repeats` timed calls of `call`,
    after `warmup` untimed ones (also `sqzdse.export_model`'s ONNX Runtime latencies)."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    deciles = statistics.quantiles(times, n=10, method="inclusive")
    return statistics.median(times), deciles[0], deciles[-1]


def measure_latency(
    cfg: ArchConfig,
    *,
    threads: int = DEFAULT_THREADS,
    repeats: int = DEFAULT_REPEATS,
    warmup: int = DEFAULT_WARMUP,
) -> Latency:
    """The latency of `cfg`'s deployable network at batch 1 on the CPU (module doc)."""
    for name, value, least in (
        ("threads", threads, 1),
        ("repeats", repeats, 3),
        ("warmup", warmup, 0),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"`{name}` must be an integer >= {least}, got {value!r}")
    with torch.random.fork_rng(devices=[]):
        model = fold_batchnorm(build_model(cfg, batchnorm=True)).eval()
    image = torch.zeros(1, 3, cfg.resolution, cfg.resolution)
    with _threads(threads), torch.inference_mode():
        median, p10, p90 = timed(lambda: model(image), repeats=repeats, warmup=warmup)
    return Latency(
        median_ms=median,
        p10_ms=p10,
        p90_ms=p90,
        repeats=repeats,
        threads=threads,
        cpu=cpu_name(),
        torch=torch.__version__,
    )
