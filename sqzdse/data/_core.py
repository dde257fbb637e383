"""What every data set shares: the spec, the loaded set, the registry, caching and per-class steps.

- `DataSpec` names a set, its folder, the resolution and the per-class limits; `Dataset` is the
  loaded result on one device.
- `DATASETS` is the `Registry` of sets by name. A family module registers each of its loaders with
  `_register(name, num_classes=..., flip_ok=..., summary=...)`; a loader takes the `DataSpec` and
  returns `_Arrays` (square uint8 N x 3 x S x S images of any S, int64 labels), already thinned out
  per class with `_thin`.
- `load_dataset` resizes a loader's images to the requested resolution, computes the per-channel
  statistics and caches the result per process, per (spec, device); `clear_cache` forgets it.
- `split_per_class` holds out a fixed validation share of each class for sets without their own
  split; `take_per_class` keeps `train_per_class` / `val_per_class` images, drawn with the spec's
  seed from separate streams for training and validation (`_rng`).
- `_check_root` resolves the folder of a set that is not embedded, or says what it should hold.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sqzdse.errors import DataError

SPLIT_SEED = 0  # fixed: the validation images of a set without its own split never change
VAL_FRACTION = 0.2  # share of each class held out for validation where a set has no split


@dataclass(frozen=True)
class DataSpec:
    """Which data set, where, at what resolution and how many images per class. Frozen, hashable."""

    name: str = "digits"  # a key of DATASETS
    root: str | None = None  # folder of a set that is not embedded
    resolution: int = 32  # image height = width in pixels
    train_per_class: int | None = None  # training images kept per class; None keeps all
    val_per_class: int | None = None  # validation images kept per class; None keeps all
    seed: int = 0  # which images the per-class limits keep

    def __post_init__(self) -> None:
        if self.root is not None:
            object.__setattr__(self, "root", os.fspath(self.root))
        if not isinstance(self.name, str):
            raise DataError(f"`name` must be a data set name, got {self.name!r}")
        _require_int(self, "resolution", minimum=1, allowed="a positive number of pixels")
        _require_int(self, "seed", minimum=0, allowed="an integer >= 0")
        for field_name in ("train_per_class", "val_per_class"):
            if getattr(self, field_name) is not None:
                _require_int(self, field_name, minimum=1, allowed="None or an integer >= 1")


def _require_int(spec: DataSpec, field_name: str, *, minimum: int, allowed: str) -> None:
    value = getattr(spec, field_name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DataError(f"`{field_name}` must be {allowed}, got {value!r}")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and labels on one device. Shared by every run in the process: treat it as
    read-only."""

    name: str
    num_classes: int
    train_x: torch.Tensor  # uint8, N x 3 x R x R
    train_y: torch.Tensor  # int64, N, in [0, num_classes)
    val_x: torch.Tensor  # uint8, M x 3 x R x R
    val_y: torch.Tensor  # int64, M
    mean: tuple[float, float, float]  # per-channel mean of train_x, in units of 255 (0..1)
    std: tuple[float, float, float]  # per-channel standard deviation of train_x, in units of 255
    flip_ok: bool  # a horizontal flip keeps the class (False for digits)

    @property
    def resolution(self) -> int:
        return int(self.train_x.shape[-1])

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    def to(self, device: torch.device | str) -> Dataset:
        """The same images on `device`."""
        move = functools.partial(torch.Tensor.to, device=torch.device(device))
        return Dataset(
            self.name,
            self.num_classes,
            move(self.train_x),
            move(self.train_y),
            move(self.val_x),
            move(self.val_y),
            self.mean,
            self.std,
            self.flip_ok,
        )


@dataclass(frozen=True)
class _Arrays:
    """What a loader returns: square uint8 N x 3 x S x S images (any S) with int64 labels."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    num_classes: int


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    load: Callable[[DataSpec], _Arrays]  # already thinned out per class
    num_classes: Callable[[DataSpec], int]  # cheap: no image is read
    flip_ok: bool
    summary: str


class Registry(Mapping[str, DatasetEntry]):
    """Data sets by name; refuses duplicates and lists the valid names on a miss."""

    def __init__(self) -> None:
        self._entries: dict[str, DatasetEntry] = {}

    def register(self, entry: DatasetEntry) -> DatasetEntry:
        if entry.name in self._entries:
            raise ValueError(f"a data set named {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def __getitem__(self, name: str) -> DatasetEntry:
        if name not in self._entries:
            raise DataError(
                f"unknown data set {name!r}; valid data sets: {', '.join(self._entries)}"
            )
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name, default=None):
        return self._entries.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


DATASETS = Registry()


def _register(name: str, *, num_classes: Callable[[DataSpec], int], flip_ok: bool, summary: str):
    def decorate(load: Callable[[DataSpec], _Arrays]) -> Callable[[DataSpec], _Arrays]:
        DATASETS.register(DatasetEntry(name, load, num_classes, flip_ok, summary))
        return load

    return decorate


def _constant(n: int) -> Callable[[DataSpec], int]:
    return lambda spec: n


# ---------------------------------------------------------------------------- public entry points


def load_dataset(spec: DataSpec, *, device: torch.device | str = "cpu") -> Dataset:
    """The data set `spec` names, on `device`; loaded once per process per (spec, device)."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise DataError(f"`device` must be cpu, cuda or cuda:N, got {device!r}") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DataError(f"cannot load data onto {device}: CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    return _load_on(spec, str(device))


def dataset_num_classes(spec: DataSpec) -> int:
    """The number of classes of `spec`'s set, without reading any image."""
    return DATASETS[spec.name].num_classes(spec)


def clear_cache() -> None:
    """Forget every loaded data set (frees its memory once no run holds it)."""
    _load_on.cache_clear()
    _load_cpu.cache_clear()


@functools.lru_cache(maxsize=4)
def _load_on(spec: DataSpec, device: str) -> Dataset:
    data = _load_cpu(spec)
    return data if device == "cpu" else data.to(device)


@functools.lru_cache(maxsize=4)
def _load_cpu(spec: DataSpec) -> Dataset:
    entry = DATASETS[spec.name]
    arrays = entry.load(spec)
    train_x = torch.from_numpy(_resize(arrays.train_x, spec.resolution))
    val_x = torch.from_numpy(_resize(arrays.val_x, spec.resolution))
    mean, std = _channel_stats(train_x)
    return Dataset(
        spec.name,
        arrays.num_classes,
        train_x,
        torch.from_numpy(arrays.train_y),
        val_x,
        torch.from_numpy(arrays.val_y),
        mean,
        std,
        entry.flip_ok,
    )


# ---------------------------------------------------------------------------- shared steps


def _rng(spec: DataSpec, stream: int) -> np.random.Generator:
    # Separate streams: thinning out the training images never changes which validation
    # images stay.
    return np.random.default_rng([spec.seed, stream])


def take_per_class(
    labels: np.ndarray, per_class: int | None, *, rng: np.random.Generator
) -> np.ndarray:
    """Sorted indices of at most `per_class` randomly drawn images of each class (all when None)."""
    if per_class is None:
        return np.arange(len(labels))
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)


def split_per_class(
    labels: np.ndarray, *, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) sorted indices: `val_fraction` of each class (at least one image of a class with
    two or more) held out, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = max(1, round(val_fraction * len(idx))) if len(idx) >= 2 else 0
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    if not train:
        return np.arange(0), np.arange(0)
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _thin(spec: DataSpec, train_y: np.ndarray, val_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        take_per_class(train_y, spec.train_per_class, rng=_rng(spec, 0)),
        take_per_class(val_y, spec.val_per_class, rng=_rng(spec, 1)),
    )


def _resize(x: np.ndarray, resolution: int, *, chunk: int = 4096) -> np.ndarray:
    """Bilinear resize of uint8 N x C x S x S images to `resolution` (antialiased when
    shrinking)."""
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return np.ascontiguousarray(x)
    out = np.empty((*x.shape[:2], resolution, resolution), dtype=np.uint8)
    for start in range(0, len(x), chunk):
        part = torch.from_numpy(x[start : start + chunk]).float()
        part = F.interpolate(
            part,
            size=(resolution, resolution),
            mode="bilinear",
            align_corners=False,
            antialias=resolution < x.shape[-1],
        )
        out[start : start + chunk] = part.round_().clamp_(0, 255).to(torch.uint8).numpy()
    return out


def _channel_stats(x: torch.Tensor, *, chunk: int = 4096) -> tuple[tuple[float, ...], ...]:
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    squares = torch.zeros(x.shape[1], dtype=torch.float64)
    for part in x.split(chunk):
        part = part.to(torch.float64) / 255
        total += part.sum(dim=(0, 2, 3))
        squares += part.square().sum(dim=(0, 2, 3))
    n = x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / n
    # A constant channel would divide by zero; one grey level is the smallest meaningful spread.
    std = (squares / n - mean.square()).clamp_min(0).sqrt().clamp_min(1 / 255)
    return tuple(mean.tolist()), tuple(std.tolist())


def _check_root(spec: DataSpec, expected: str) -> Path:
    if spec.root is None:
        raise DataError(
            f"the {spec.name} data set is read from a folder: pass its location with "
            f"--data-root (DataSpec.root); expected there: {expected}"
        )
    root = Path(spec.root).expanduser()
    if not root.is_dir():
        raise DataError(
            f"data folder {root} does not exist (or is not a folder); "
            f"the {spec.name} data set expects there: {expected}"
        )
    return root
