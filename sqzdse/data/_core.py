"""What every data set shares: the spec, the loaded set, the registry, caching and per-class steps.

- `DataSpec` names a set, its folder, the resolution, the validation share and the per-class limits;
  `Dataset` is the loaded training and validation images on one device, `TestSplit` the test
  images.
- `DATASETS` is the `Registry` of sets by name. A family module registers each of its loaders with
  `_register(name, num_classes=..., flip_ok=..., summary=...)`; a loader takes the `DataSpec` and
  returns a `_Source`: a function reading its training pool (labels, and a reader of its images)
  and, for a set with an official test split, one reading that split (`_Part`s: square uint8
  N x C x S x S images of any S, C 1 or 3, int64 labels); neither reads before it is called.
- Three splits (`split_pool`): a set with an official test split keeps it as the test split and
  draws the validation split from its training images (`HELD_OUT_VAL_FRACTION` of each class); a
  set without one is split three ways (`TEST_FRACTION`, `VAL_FRACTION`). Both with the fixed
  `SPLIT_SEED`, so a set's splits never change.
- `load_dataset` reads the training and validation images, never the test split: that is read by
  `load_test_split` alone (through `_read_test`), which only retraining and reports call. Both
  resize to the requested resolution and cache per process; `clear_cache` forgets them.
- `take_per_class` keeps `train_per_class` / `val_per_class` images, drawn with the spec's seed
  from separate streams for training and validation (`_rng`).
- `_check_root` resolves the folder of a set that is not embedded, or says what it should hold.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sqzdse.errors import DataError
from sqzdse.run_settings import DataSpec

SPLIT_SEED = 0  # fixed: a set's train / validation / test images never change
# Sets with an official test split: the share of each class of the training images held out for
# validation (10,000 of Fashion-MNIST's 60,000).
HELD_OUT_VAL_FRACTION = 1 / 6
# Sets without one: the shares of each class held out for validation and for test.
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2
OFFICIAL_TEST = "official-test"  # the test split is the set's own; validation from training images
THREE_WAY = "three-way"  # the set split three ways per class


@dataclass(frozen=True)
class Splits:
    """How a set was split, and how many images each split a run sees holds."""

    convention: str  # OFFICIAL_TEST or THREE_WAY
    val_fraction: float  # share of each class of the training pool held out for validation
    train: int  # training images (after `train_per_class`)
    val: int  # validation images (after `val_per_class`)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and validation images and labels on one device; never the test images (see
    `load_test_split`). Shared by every run in the process: treat it as read-only."""

    name: str
    num_classes: int
    train_x: torch.Tensor  # uint8, N x 3 x R x R
    train_y: torch.Tensor  # int64, N, in [0, num_classes)
    val_x: torch.Tensor  # uint8, M x 3 x R x R
    val_y: torch.Tensor  # int64, M
    mean: tuple[float, float, float]  # per-channel mean of train_x, in units of 255 (0..1)
    std: tuple[float, float, float]  # per-channel standard deviation of train_x, in units of 255
    flip_ok: bool  # a horizontal flip keeps the class (False for digits)
    splits: Splits

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
            self.splits,
        )


@dataclass(frozen=True, eq=False)
class TestSplit:
    """The test images of a set: read only to report a trained network, never to choose one."""

    x: torch.Tensor  # uint8, N x 3 x R x R
    y: torch.Tensor  # int64, N
    convention: str  # OFFICIAL_TEST or THREE_WAY


@dataclass(frozen=True)
class _Part:
    """Labels of some images, and a reader of the images at given indices (uint8 N x C x S x S,
    square, any S, C 1 or 3)."""

    labels: np.ndarray
    read: Callable[[np.ndarray], np.ndarray]

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> _Part:
        return cls(y, lambda idx: x[idx])


@dataclass(frozen=True)
class _Source:
    """What a loader returns: functions reading its training pool (the official training images,
    or the whole set where there is no official test split) and its official test split. Each is
    read only when called, so reading the test split does not parse the training files."""

    pool: Callable[[], _Part]
    official_test: Callable[[], _Part] | None
    num_classes: int


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    load: Callable[[DataSpec], _Source]
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
    def decorate(load: Callable[[DataSpec], _Source]) -> Callable[[DataSpec], _Source]:
        DATASETS.register(DatasetEntry(name, load, num_classes, flip_ok, summary))
        return load

    return decorate


def _constant(n: int) -> Callable[[DataSpec], int]:
    return lambda spec: n


# ---------------------------------------------------------------------------- public entry points


def load_dataset(spec: DataSpec, *, device: torch.device | str = "cpu") -> Dataset:
    """The training and validation images of the set `spec` names, on `device`; loaded once per
    process per (spec, device). Never reads the test split."""
    return _load_on(spec, _device_name(device))


def load_test_split(spec: DataSpec, *, device: torch.device | str = "cpu") -> TestSplit:
    """The test images of the set `spec` names (every one: the per-class limits do not apply), on
    `device`. For reporting a trained network only: nothing that chooses a network calls it."""
    test = _load_test_cpu(_test_key(spec))
    device = _device_name(device)
    if device == "cpu":
        return test
    return TestSplit(test.x.to(device), test.y.to(device), test.convention)


def _device_name(device: torch.device | str) -> str:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise DataError(f"`device` must be cpu, cuda or cuda:N, got {device!r}") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DataError(f"cannot load data onto {device}: CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    return str(device)


def dataset_num_classes(spec: DataSpec) -> int:
    """The number of classes of `spec`'s set, without reading any image."""
    return DATASETS[spec.name].num_classes(spec)


def clear_cache() -> None:
    """Forget every loaded data set (frees its memory once no run holds it)."""
    _load_on.cache_clear()
    _load_cpu.cache_clear()
    _load_test_cpu.cache_clear()


# Sets kept per process: one per (spec, device). A search that draws its resolution trains on one
# spec per resolution, each resized once and kept while it is among the last CACHED used.
CACHED = 8


@functools.lru_cache(maxsize=CACHED)
def _load_on(spec: DataSpec, device: str) -> Dataset:
    data = _load_cpu(spec)
    return data if device == "cpu" else data.to(device)


@functools.lru_cache(maxsize=CACHED)
def _load_cpu(spec: DataSpec) -> Dataset:
    entry = DATASETS[spec.name]
    source = entry.load(spec)
    convention = THREE_WAY if source.official_test is None else OFFICIAL_TEST
    fraction = _val_fraction(spec, convention)
    pool = source.pool()
    train, val, _ = split_pool(pool.labels, convention=convention, val_fraction=fraction)
    pool_y = pool.labels
    train = train[take_per_class(pool_y[train], spec.train_per_class, rng=_rng(spec, 0))]
    val = val[take_per_class(pool_y[val], spec.val_per_class, rng=_rng(spec, 1))]
    if not len(val):
        raise DataError(
            f"the {spec.name} data set has too few images for a validation split: each class "
            f"needs {3 if convention == THREE_WAY else 2} or more"
        )
    train_x = torch.from_numpy(_images(pool, train, spec.resolution))
    val_x = torch.from_numpy(_images(pool, val, spec.resolution))
    mean, std = _channel_stats(train_x)
    return Dataset(
        spec.name,
        source.num_classes,
        train_x,
        torch.from_numpy(pool_y[train].astype(np.int64)),
        val_x,
        torch.from_numpy(pool_y[val].astype(np.int64)),
        mean,
        std,
        entry.flip_ok,
        Splits(convention, fraction, len(train), len(val)),
    )


def _test_key(spec: DataSpec) -> DataSpec:
    # The test split does not depend on the per-class limits or their seed: one cache entry.
    return dataclasses.replace(spec, train_per_class=None, val_per_class=None, seed=0)


@functools.lru_cache(maxsize=2)
def _load_test_cpu(spec: DataSpec) -> TestSplit:
    x, y, convention = _read_test(spec)
    return TestSplit(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)), convention)


def _read_test(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, str]:
    """The only place the test images are read (tests patch it to prove the search never does)."""
    source = DATASETS[spec.name].load(spec)
    if source.official_test is not None:
        part = source.official_test()
        idx = np.arange(len(part.labels))
        convention = OFFICIAL_TEST
    else:
        part = source.pool()
        fraction = _val_fraction(spec, THREE_WAY)
        _, _, idx = split_pool(part.labels, convention=THREE_WAY, val_fraction=fraction)
        convention = THREE_WAY
    if not len(idx):
        raise DataError(
            f"the {spec.name} data set has too few images for a test split: each class needs "
            "3 or more"
        )
    return _images(part, idx, spec.resolution), part.labels[idx], convention


def _val_fraction(spec: DataSpec, convention: str) -> float:
    if spec.val_fraction is not None:
        return float(spec.val_fraction)
    return HELD_OUT_VAL_FRACTION if convention == OFFICIAL_TEST else VAL_FRACTION


def _images(part: _Part, idx: np.ndarray, resolution: int) -> np.ndarray:
    """The images at `idx`, resized to `resolution`, grey copied to three channels."""
    x = _resize(part.read(idx), resolution)  # one channel resized: a third of the work
    return np.repeat(x, 3, axis=1) if x.shape[1] == 1 else x


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


def split_pool(
    labels: np.ndarray, *, convention: str, val_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) sorted indices into a set's training pool, fixed by `SPLIT_SEED`.

    OFFICIAL_TEST: `val_fraction` of each class held out for validation, test empty (the set's own
    test split is the test split). THREE_WAY: `TEST_FRACTION` of each class held out for test first,
    then `val_fraction` of each class (of the whole pool) for validation, from what is left."""
    if convention == OFFICIAL_TEST:
        train, val = split_per_class(labels, val_fraction=val_fraction, seed=SPLIT_SEED)
        return train, val, np.arange(0)
    rest, test = split_per_class(labels, val_fraction=TEST_FRACTION, seed=SPLIT_SEED)
    share_of_rest = val_fraction / (1 - TEST_FRACTION)
    train, val = split_per_class(labels[rest], val_fraction=share_of_rest, seed=SPLIT_SEED + 1)
    return rest[train], rest[val], test


def split_per_class(
    labels: np.ndarray, *, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held out) sorted indices: `val_fraction` of each class (at least one image of a class
    with two or more) held out, drawn with `seed`."""
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


RGB = tuple[float, float, float]


def _channel_stats(x: torch.Tensor, *, chunk: int = 4096) -> tuple[RGB, RGB]:
    """Per-channel mean and standard deviation of the N x 3 x S x S uint8 images `x`, in units
    of 255, summed in float64 chunks so that large sets need neither much memory nor lose digits."""
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
    return _rgb(mean.tolist()), _rgb(std.tolist())


def _rgb(values: list[float]) -> RGB:
    r, g, b = values  # `_images` always gives three channels
    return r, g, b


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
