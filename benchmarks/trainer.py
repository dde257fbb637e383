"""The proxy trainer against two hand-written loops, in one process, on the same networks and data.

    python benchmarks/trainer.py [--epochs 3] [--repeats 5] [--threads N] [--device cpu] python
    benchmarks/trainer.py --device cuda [--networks v1.0 small tiny] [--variants ...] [--profile]

Every loop trains on the digits training split (1,437 images, 10 classes, 32x32) from seed 0 for the
same number of epochs and is measured on the same validation split:
  plain   the paper-style reference: DataLoader over a TensorDataset, fp32, no BatchNorm,
          SGD lr 0.04, momentum 0.9, weight decay 2e-4, batch 64;
  bn      a hand-written BatchNorm loop (docs/performance): AdamW with a one-cycle schedule, label
          smoothing 0.1, batches indexed straight from tensors, no augmentation, evaluated once;
  sqzdse  `train_proxy` with the default TrainConfig (augmentation, evaluation after every epoch).
The figures are written with date, commit, machine and command to `--output` (default
`results/trainer.json`, on CUDA `results/trainer_gpu.json`), which the results pages render.
On CUDA, `--variants` adds `train_proxy` with other CUDA speed settings (`before`: the trainer as it
was before CUDA graphs, the fused optimizer and cuDNN's heuristics instead of its benchmark) or
another batch size. Every timed run trains a network no earlier run of the process trained (base_e
one wider each run), as in a search, unless `--same-network`.
Seconds per trial are wall-clock from building the network to the last evaluation (the device
synchronised before and after); images/s is training images (epochs x split size) over those
seconds; trials/hour is 3600 over the median seconds; peak memory is the most CUDA memory allocated
during the run (data set included). Runs are interleaved and repeated after one untimed warm-up run
of each loop; the table shows the fastest and the median run.

`--profile` breaks one trial of `train_proxy` down (synchronised timers around each phase) and runs
it under torch.profiler: GPU kernel time against wall time says whether the GPU or the Python side
and kernel launches bound it.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from _provenance import ROOT, write_result
from torch.utils.data import DataLoader, TensorDataset

import sqzdse.train as train_module
from sqzdse.arch import preset
from sqzdse.data import Dataset, DataSpec, load_dataset
from sqzdse.model import build_model
from sqzdse.train import TrainConfig, resolve_device, train_proxy

SEED = 0
BATCH = 64

# v1.0 and two small networks of the micro space (pools after conv1, fire4, fire8; no bypass).
NETWORKS = {
    "v1.0": {},
    "small": {"base_e": 32, "incr_e": 32, "pct_3x3": 0.125, "freq": 2, "sr": 0.125},
    "tiny": {"base_e": 16, "incr_e": 16, "pct_3x3": 0.25, "freq": 2, "sr": 0.25},
}

# What each loop or variant is, as the results table names it.
LABELS = {
    "plain": "plain: DataLoader, fp32, no BatchNorm, SGD lr 0.04",
    "bn": "hand-written BatchNorm loop (AdamW, one-cycle, label smoothing)",
    "sqzdse": "train_proxy (this recipe, with augmentation and per-epoch evaluation)",
    "before": "train_proxy before CUDA graphs (eager, no fused AdamW, cudnn.benchmark)",
    "eager": "train_proxy eager (fused AdamW, no cudnn.benchmark)",
    "eager+bench": "train_proxy eager with cudnn.benchmark",
    "cudnn-bench": "train_proxy with cudnn.benchmark",
    "batch128": "train_proxy with batch 128",
    "batch256": "train_proxy with batch 256",
}

# name -> (train.py CUDA settings to change, TrainConfig fields to change)
VARIANTS = {
    "before": ({"CUDA_GRAPHS": False, "FUSED_OPTIMIZER": False, "CUDNN_BENCHMARK": True}, {}),
    "eager": ({"CUDA_GRAPHS": False}, {}),
    "eager+bench": ({"CUDA_GRAPHS": False, "CUDNN_BENCHMARK": True}, {}),
    "cudnn-bench": ({"CUDNN_BENCHMARK": True}, {}),
    "batch128": ({}, {"batch_size": 128}),
    "batch256": ({}, {"batch_size": 256}),
}


def normalised(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(data.mean, device=data.device).view(1, 3, 1, 1)
    std = torch.tensor(data.std, device=data.device).view(1, 3, 1, 1)
    return ((data.train_x.float() / 255 - mean) / std, (data.val_x.float() / 255 - mean) / std)


@torch.no_grad()
def top1(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return (model(x).argmax(1) == y).float().mean().item()


def plain_loop(cfg, data: Dataset, epochs: int) -> float:
    torch.manual_seed(SEED)
    torch.backends.cudnn.benchmark = False  # PyTorch's default
    train_x, val_x = normalised(data)
    model = build_model(cfg, batchnorm=False).to(data.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.04, momentum=0.9, weight_decay=2e-4)
    loader = DataLoader(TensorDataset(train_x, data.train_y), batch_size=BATCH, shuffle=True)
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return top1(model, val_x, data.val_y)


def batchnorm_loop(cfg, data: Dataset, epochs: int) -> float:
    torch.manual_seed(SEED)
    torch.backends.cudnn.benchmark = False
    train_x, val_x = normalised(data)
    model = build_model(cfg, batchnorm=True).to(data.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    n = len(data.train_y)
    steps = (n + BATCH - 1) // BATCH
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=3e-3, total_steps=epochs * steps
    )
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, device=data.device)
        for idx in order.tensor_split(steps):  # even batches: BatchNorm needs no 1-image remainder
            loss = F.cross_entropy(model(train_x[idx]), data.train_y[idx], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return top1(model, val_x, data.val_y)


@contextmanager
def cuda_settings(changes: dict):
    saved = {name: getattr(train_module, name) for name in changes}
    for name, value in changes.items():
        setattr(train_module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(train_module, name, value)


def project_trainer(settings: dict | None = None, fields: dict | None = None):
    def run(cfg, data: Dataset, epochs: int) -> float:
        config = TrainConfig(epochs=epochs, seed=SEED, device=str(data.device), **(fields or {}))
        with cuda_settings(settings or {}):
            result = train_proxy(cfg, data, config)
        if result.status != "ok":
            raise SystemExit(f"sqzdse trainer failed: {result.reason}")
        return result.top1

    return run


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(loops: dict, cfg, data: Dataset, epochs: int, repeats: int, fresh: bool) -> dict:
    """Interleaved timed runs after a warm-up run of each loop. `fresh`: every run trains a network
    no earlier run in this process trained (base_e + 1, + 2, ...), as every trial of a search does:
    cuDNN's per-shape set-up and algorithm choice then count, as they do in a search."""
    device = data.device
    stats = {name: {"seconds": [], "top1": [], "peak": 0, "params": []} for name in loops}
    offset = 0

    def network():
        nonlocal offset
        offset += 1
        return dataclasses.replace(cfg, base_e=cfg.base_e + offset) if fresh else cfg

    for loop in loops.values():  # warm-up: CUDA context, cuDNN handles, lazy modules
        loop(network(), data, epochs)
    for _ in range(repeats):
        for name, loop in loops.items():
            net = network()
            sync(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            start = time.perf_counter()
            stats[name]["top1"].append(loop(net, data, epochs))
            sync(device)
            stats[name]["seconds"].append(time.perf_counter() - start)
            stats[name]["params"].append(sum(p.numel() for p in build_model(net).parameters()))
            if device.type == "cuda":
                stats[name]["peak"] = max(
                    stats[name]["peak"], torch.cuda.max_memory_allocated(device)
                )
    return stats


def report(network: str, stats: dict, images: int, device: torch.device) -> None:
    print(
        f"\n{network}: {'loop':<15} {'top-1':>6} {'images/s':>9} {'s/trial':>8} {'median':>7} "
        f"{'trials/h':>9} {'peak MiB':>9}   all runs (s)"
    )
    for name, s in stats.items():
        best, median = min(s["seconds"]), statistics.median(s["seconds"])
        peak = f"{s['peak'] / 2**20:>9.1f}" if device.type == "cuda" else f"{'-':>9}"
        runs = ", ".join(f"{x:.3f}" for x in s["seconds"])
        print(
            f"{'':{len(network) + 2}}{name:<15} {statistics.median(s['top1']):>6.3f} "
            f"{images / median:>9.0f} {best:>8.3f} {median:>7.3f} {3600 / median:>9.0f} {peak}   "
            f"{runs}"
        )
    med = {name: statistics.median(s["seconds"]) for name, s in stats.items()}
    if "plain" in med and "sqzdse" in med:
        print(
            f"{'':{len(network) + 2}}trials/hour sqzdse / plain: "
            f"{med['plain'] / med['sqzdse']:.2f}x "
            f"(median), {min(stats['plain']['seconds']) / min(stats['sqzdse']['seconds']):.2f}x "
            f"(fastest); goal on a GPU >= 10x"
        )
    if "bn" in med and "sqzdse" in med:
        print(f"{'':{len(network) + 2}}time sqzdse / bn: {med['sqzdse'] / med['bn']:.2f} (median)")
    if "before" in med and "sqzdse" in med:
        print(
            f"{'':{len(network) + 2}}trials/hour sqzdse / before (the trainer before this change): "
            f"{med['before'] / med['sqzdse']:.2f}x (median)"
        )


def result_rows(network: str, stats: dict, images: int, device: torch.device) -> list[dict]:
    """The figures `report` prints, one dict per loop, for the results file."""
    rows = []
    for name, s in stats.items():
        median = statistics.median(s["seconds"])
        rows.append(
            {
                "network": network,
                "loop": name,
                "label": LABELS[name],
                "params": [min(s["params"]), max(s["params"])] if s["params"] else None,
                "top1": statistics.median(s["top1"]),
                "images_per_second": images / median,
                "seconds_fastest": min(s["seconds"]),
                "seconds_median": median,
                "seconds": s["seconds"],
                "trials_per_hour": 3600 / median,
                "peak_mib": s["peak"] / 2**20 if device.type == "cuda" else None,
            }
        )
    return rows


# ---------------------------------------------------------------------------- profile


PHASES = {
    "build_model": "build + init",
    "_initialise": "build + init",
    "_Graphed": "graph capture",
    "augment": "augmentation",
    "evaluate": "evaluation",
}


def phase_breakdown(cfg, data: Dataset, epochs: int, settings: dict) -> dict[str, float]:
    """Seconds per phase of one trial, the device synchronised around every timed call."""
    device = data.device
    spent: dict[str, float] = {}
    originals = {name: getattr(train_module, name) for name in PHASES}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            sync(device)
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                sync(device)
                spent[PHASES[name]] = spent.get(PHASES[name], 0.0) + time.perf_counter() - t

        return wrapper

    for name, fn in originals.items():
        setattr(train_module, name, timed(name, fn))
    try:
        sync(device)
        start = time.perf_counter()
        project_trainer(settings)(cfg, data, epochs)
        sync(device)
        total = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(train_module, name, fn)
    spent["train steps (forward, backward, optimizer, Python)"] = total - sum(spent.values())
    spent["total"] = total
    return spent


def graph_replay_ms(cfg, data: Dataset, replays: int = 50) -> float:
    """Milliseconds of GPU time per replay of a captured forward + backward pass (batch 64ish)."""
    model = build_model(cfg, batchnorm=True).to(data.device, memory_format=torch.channels_last)
    n = len(data.train_y)
    size = n // (n // BATCH)
    shift, scale = train_module._normalizer(data, data.device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)
    graphed = train_module._Graphed(
        train_module._Normalized(model, shift, scale), data.train_x[:size], autocast
    )
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for timed in (False, True):
        start.record()
        for _ in range(replays if timed else 5):
            graphed.forward_graph.replay()
            graphed.backward_graph.replay()
        end.record()
        end.synchronize()
    return start.elapsed_time(end) / replays


def profile_trial(
    cfg, data: Dataset, epochs: int, settings: dict, label: str, torch_profiler: bool = True
) -> None:
    from torch.profiler import ProfilerActivity, profile

    run = project_trainer(settings)
    run(cfg, data, epochs)  # warm
    breakdown = phase_breakdown(cfg, data, epochs, settings)
    print(f"\nprofile {label}: phases of one trial (synchronised timers)")
    for phase, seconds in breakdown.items():
        print(f"  {phase:<52} {seconds * 1000:>8.1f} ms  {seconds / breakdown['total']:>6.1%}")
    if data.device.type == "cuda" and train_module.CUDA_GRAPHS:
        graph_step_ms = graph_replay_ms(cfg, data)
        per_step = breakdown["train steps (forward, backward, optimizer, Python)"] / (
            epochs * (len(data.train_y) // BATCH)
        )
        print(
            f"  GPU time of one captured forward + backward pass: {graph_step_ms:.2f} ms; one "
            f"whole training step (timers above): {per_step * 1000:.2f} ms"
        )
    if not torch_profiler:
        return
    sync(data.device)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        run(cfg, data, epochs)
        sync(data.device)
    wall = time.perf_counter() - start
    events = prof.key_averages()

    def device_self(evt) -> float:
        return getattr(evt, "self_device_time_total", getattr(evt, "self_cuda_time_total", 0))

    kernel_us = sum(
        device_self(e)
        for e in events
        if getattr(e, "device_type", None) is not None and str(e.device_type).endswith("CUDA")
    )
    launches = sum(
        e.count for e in events if e.key.startswith(("cudaLaunchKernel", "cuLaunchKernel"))
    )
    graph_launches = sum(e.count for e in events if e.key.startswith("cudaGraphLaunch"))
    print(
        f"  under the profiler: wall {wall * 1000:.1f} ms, "
        f"GPU kernel time {kernel_us / 1000:.1f} ms "
        f"({kernel_us / 1e6 / wall:.1%} of wall), {launches} kernel launches, {graph_launches} "
        f"graph launches"
    )
    print(events.table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=48))
    print(events.table(sort_by="self_device_time_total", row_limit=8, max_name_column_width=48))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs of each loop")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument(
        "--networks",
        nargs="+",
        choices=list(NETWORKS),
        help="default: v1.0 on the CPU, every network on CUDA",
    )
    parser.add_argument(
        "--loops", nargs="+", choices=["plain", "bn", "sqzdse"], default=["plain", "bn", "sqzdse"]
    )
    parser.add_argument(
        "--variants",
        nargs="*",
        choices=list(VARIANTS),
        default=None,
        help="more train_proxy settings to time (CUDA; default there: eager)",
    )
    parser.add_argument("--profile", action="store_true", help="profile one trial of each network")
    parser.add_argument("--profile-only", action="store_true", help="profile, time nothing else")
    parser.add_argument(
        "--no-torch-profiler", action="store_true", help="with --profile: the phase timers only"
    )
    parser.add_argument(
        "--same-network",
        action="store_true",
        help="time one network over and over (default: a new network every run)",
    )
    parser.add_argument(
        "--output",
        help="results file [default: results/trainer.json, on CUDA results/trainer_gpu.json]",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    networks = args.networks or (list(NETWORKS) if cuda else ["v1.0"])
    variants = args.variants if args.variants is not None else (["before"] if cuda else [])
    data = load_dataset(DataSpec(name="digits", resolution=32), device=device)
    n = len(data.train_y)
    where = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(
        f"digits 32x32: {n} training / {len(data.val_y)} validation images, {args.epochs} epochs, "
        f"seed {SEED}, {device} ({where}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads, {args.repeats} interleaved repeats after a "
        "warm-up run, "
        f"{'the same network' if args.same_network else 'a new network'} every run"
    )
    builders = {"plain": plain_loop, "bn": batchnorm_loop, "sqzdse": project_trainer()}
    loops = {name: builders[name] for name in args.loops}
    for name in variants:
        loops[name] = project_trainer(*VARIANTS[name])

    rows = []
    for network in networks if not args.profile_only else []:
        cfg = preset("v1.0", num_classes=data.num_classes, resolution=32, **NETWORKS[network])
        stats = measure(loops, cfg, data, args.epochs, args.repeats, fresh=not args.same_network)
        params = sorted(p for s in stats.values() for p in s["params"])
        report(
            f"{network} ({params[0]:,}-{params[-1]:,} params)" if params else network,
            stats,
            args.epochs * n,
            device,
        )
        rows.extend(result_rows(network, stats, args.epochs * n, device))
    if rows:
        write_result(
            args.output or ROOT / "results" / ("trainer_gpu.json" if cuda else "trainer.json"),
            {
                "device": str(device),
                "device_name": where,
                "torch": torch.__version__,
                "data": "digits 32x32",
                "epochs": args.epochs,
                "repeats": args.repeats,
                "threads": torch.get_num_threads(),
                "seed": SEED,
                "same_network": args.same_network,
                "loops": rows,
            },
        )
    if args.profile or args.profile_only:
        for network in networks:
            cfg = preset("v1.0", num_classes=data.num_classes, resolution=32, **NETWORKS[network])
            profile_trial(
                cfg, data, args.epochs, {}, f"{network}, sqzdse", not args.no_torch_profiler
            )
            if cuda:
                profile_trial(
                    cfg,
                    data,
                    args.epochs,
                    VARIANTS["before"][0],
                    f"{network}, before",
                    not args.no_torch_profiler,
                )


if __name__ == "__main__":
    main()
