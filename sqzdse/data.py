"""Data sets by name, loaded once per process into uint8 tensors on the training device.

`load_dataset(DataSpec(name=...), device=...)` returns a `Dataset`: square RGB images at the
requested resolution (N x 3 x R x R, uint8) with int64 labels, split into train and validation, and
the per-channel statistics the trainer normalises with. Registered sets:

- `digits`: scikit-learn's bundled 8x8 digits, upsampled, grey copied to 3 channels; embedded.
- `cifar10`, `cifar100`: a local folder in the CIFAR "python version" layout (read with an unpickler
  that builds only numpy arrays) or the "binary version"; `download_dataset` fetches the official
  archive.
- `tiny-imagenet`: the tiny-imagenet-200 layout (train/<wnid>/images/*.JPEG, val/val_annotations.txt).
- `folder`: any folder with one sub-folder of images per class.

Sets that ship without a validation split (digits, folder) are split per class with a fixed seed, so
every trial of a search is measured on the same images whatever its own seed; `DataSpec.seed` picks
which images are kept when `train_per_class` / `val_per_class` thin the set out (the proxy knob).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sqzdse.errors import DataError

SPLIT_SEED = 0  # fixed: the validation images of a set without its own split never change
VAL_FRACTION = 0.2  # share of each class held out for validation where a set has no split
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


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
    """Images and labels on one device. Shared by every run in the process: treat it as read-only."""

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
        return Dataset(self.name, self.num_classes, move(self.train_x), move(self.train_y),
                       move(self.val_x), move(self.val_y), self.mean, self.std, self.flip_ok)


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
            raise DataError(f"unknown data set {name!r}; valid data sets: {', '.join(self._entries)}")
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
    return Dataset(spec.name, arrays.num_classes, train_x, torch.from_numpy(arrays.train_y),
                   val_x, torch.from_numpy(arrays.val_y), mean, std, entry.flip_ok)


# ---------------------------------------------------------------------------- shared steps


def _rng(spec: DataSpec, stream: int) -> np.random.Generator:
    # Separate streams: thinning out the training images never changes which validation images stay.
    return np.random.default_rng([spec.seed, stream])


def take_per_class(labels: np.ndarray, per_class: int | None, *,
                   rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most `per_class` randomly drawn images of each class (all when None)."""
    if per_class is None:
        return np.arange(len(labels))
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)


def split_per_class(labels: np.ndarray, *, val_fraction: float = VAL_FRACTION,
                    seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
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
    return (take_per_class(train_y, spec.train_per_class, rng=_rng(spec, 0)),
            take_per_class(val_y, spec.val_per_class, rng=_rng(spec, 1)))


def _resize(x: np.ndarray, resolution: int, *, chunk: int = 4096) -> np.ndarray:
    """Bilinear resize of uint8 N x C x S x S images to `resolution` (antialiased when shrinking)."""
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return np.ascontiguousarray(x)
    out = np.empty((*x.shape[:2], resolution, resolution), dtype=np.uint8)
    for start in range(0, len(x), chunk):
        part = torch.from_numpy(x[start:start + chunk]).float()
        part = F.interpolate(part, size=(resolution, resolution), mode="bilinear",
                             align_corners=False, antialias=resolution < x.shape[-1])
        out[start:start + chunk] = part.round_().clamp_(0, 255).to(torch.uint8).numpy()
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
        raise DataError(f"the {spec.name} data set is read from a folder: pass its location with "
                        f"--data-root (DataSpec.root); expected there: {expected}")
    root = Path(spec.root).expanduser()
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist (or is not a folder); "
                        f"the {spec.name} data set expects there: {expected}")
    return root


# ---------------------------------------------------------------------------- digits (embedded)

_DIGITS_CLASSES = 10


@_register("digits", num_classes=_constant(_DIGITS_CLASSES), flip_ok=False,
           summary="scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), no download")
def _load_digits(spec: DataSpec) -> _Arrays:
    from sklearn.datasets import load_digits

    digits = load_digits()
    grey = np.rint(digits.images * (255 / 16)).astype(np.uint8)  # pixel values are 0..16
    x = np.repeat(grey[:, None], 3, axis=1)
    y = digits.target.astype(np.int64)
    train, val = split_per_class(y)
    keep_train, keep_val = _thin(spec, y[train], y[val])
    train, val = train[keep_train], val[keep_val]
    return _Arrays(x[train], y[train], x[val], y[val], _DIGITS_CLASSES)


# ---------------------------------------------------------------------------- CIFAR


@dataclass(frozen=True)
class _CifarLayout:
    title: str
    num_classes: int
    python_dir: str
    python_train: tuple[str, ...]
    python_val: tuple[str, ...]
    label_key: str
    binary_dir: str
    binary_train: tuple[str, ...]
    binary_val: tuple[str, ...]
    label_bytes: int  # label bytes before each record's pixels; the class is the last of them
    url: str
    md5: str

    def expected(self) -> str:
        return (f"the CIFAR python version ({self.python_dir}/ with {', '.join(self.python_train)}, "
                f"{', '.join(self.python_val)}) or the binary version ({self.binary_dir}/ with "
                f"{', '.join(self.binary_train)}, {', '.join(self.binary_val)}), in the folder itself "
                "or in that sub-folder; --download fetches it")


_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR = {
    "cifar10": _CifarLayout(
        "CIFAR-10", 10, "cifar-10-batches-py", _BATCHES, ("test_batch",), "labels",
        "cifar-10-batches-bin", tuple(f"{b}.bin" for b in _BATCHES), ("test_batch.bin",), 1,
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),
    "cifar100": _CifarLayout(
        "CIFAR-100", 100, "cifar-100-python", ("train",), ("test",), "fine_labels",
        "cifar-100-binary", ("train.bin",), ("test.bin",), 2,
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),
}
_CIFAR_PIXELS = 3 * 32 * 32


def _find_cifar(root: Path, layout: _CifarLayout) -> tuple[str, Path]:
    """("python" | "binary", folder) of the first complete copy under root; DataError otherwise."""
    partial = []
    for kind, sub, files in (("python", layout.python_dir, layout.python_train + layout.python_val),
                             ("binary", layout.binary_dir, layout.binary_train + layout.binary_val)):
        for folder in (root / sub, root):
            missing = [f for f in files if not (folder / f).is_file()]
            if not missing:
                return kind, folder
            if len(missing) < len(files):
                partial.append(f"{folder} lacks {', '.join(missing)}")
    found = f"; {'; '.join(partial)}" if partial else ""
    raise DataError(f"no {layout.title} data in {root}{found}; expected {layout.expected()}")


def _load_cifar(spec: DataSpec) -> _Arrays:
    layout = CIFAR[spec.name]
    kind, folder = _find_cifar(_check_root(spec, layout.expected()), layout)
    if kind == "python":
        read = functools.partial(_read_cifar_pickle, label_key=layout.label_key)
        train_files, val_files = layout.python_train, layout.python_val
    else:
        read = functools.partial(_read_cifar_binary, label_bytes=layout.label_bytes)
        train_files, val_files = layout.binary_train, layout.binary_val

    def read_all(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        parts = [read(folder / name) for name in names]
        x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        if y.size and (y.min() < 0 or y.max() >= layout.num_classes):
            raise DataError(f"{layout.title} labels in {folder} must lie in "
                            f"0..{layout.num_classes - 1}, found {y.min()}..{y.max()}")
        return x, y

    train_x, train_y = read_all(train_files)
    val_x, val_y = read_all(val_files)
    keep_train, keep_val = _thin(spec, train_y, val_y)
    return _Arrays(train_x[keep_train], train_y[keep_train], val_x[keep_val], val_y[keep_val],
                   layout.num_classes)


for _name, _layout in CIFAR.items():
    _register(_name, num_classes=_constant(_layout.num_classes), flip_ok=True,
              summary=f"{_layout.title} from --data-root (python or binary version)")(_load_cifar)


try:  # numpy >= 2 moved these; older pickles name numpy.core, newer ones numpy._core
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Python 3 pickles bytes at protocol 2 as _codecs.encode(text, "latin1"); allow nothing else.
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


# The only callables a CIFAR batch needs: numpy's array reconstruction. Anything else (os.system,
# builtins.eval, ...) means the file is not a CIFAR batch, and it is never imported or called.
_CIFAR_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _numeric._frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numeric._frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file, *, path: Path) -> None:
        super().__init__(file, encoding="bytes")  # CIFAR's pickles come from Python 2
        self.path = path

    def find_class(self, module: str, name: str):
        found = _CIFAR_PICKLE_GLOBALS.get((module, name))
        if found is None:
            raise DataError(f"refusing to load {self.path}: it asks for {module}.{name}, and a CIFAR "
                            "batch holds only numpy arrays; the file is not a CIFAR batch")
        return found


def _read_cifar_pickle(path: Path, *, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    def malformed(what: str) -> DataError:
        return DataError(f"{path} is not a CIFAR python-version batch: {what}")

    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, path=path).load()
    except DataError:
        raise
    except Exception as err:  # a truncated or foreign file fails in many ways
        raise malformed(f"unpickling failed ({type(err).__name__}: {err})") from None
    if not isinstance(batch, dict):
        raise malformed(f"expected a dict, found {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    for key in ("data", label_key):
        if key not in batch:
            raise malformed(f"no {key!r} entry (found {sorted(map(str, batch))})")
    data = batch["data"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == _CIFAR_PIXELS):
        raise malformed(f"'data' must be a uint8 array of N x {_CIFAR_PIXELS}")
    try:
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (TypeError, ValueError):
        raise malformed(f"{label_key!r} must be a list of integers") from None
    if labels.shape != (len(data),):
        raise malformed(f"{len(data)} images but {labels.size} {label_key!r}")
    return data.reshape(-1, 3, 32, 32), labels


def _read_cifar_binary(path: Path, *, label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + _CIFAR_PIXELS
    if raw.size == 0 or raw.size % record:
        raise DataError(f"{path} is not a CIFAR binary-version file: its {raw.size} bytes are not a "
                        f"whole number of {record}-byte records ({label_bytes} label byte(s) + "
                        f"{_CIFAR_PIXELS} pixel bytes)")
    records = raw.reshape(-1, record)
    return (records[:, label_bytes:].reshape(-1, 3, 32, 32),
            records[:, label_bytes - 1].astype(np.int64))


def download_dataset(name: str, *, root: str | os.PathLike, url: str | None = None,
                     md5: str | None = None) -> Path:
    """Fetch and unpack the official archive of `name` into `root`, unless a complete copy is there.

    `url` replaces the official address (a mirror or a file:// URL); `md5` then checks the archive
    when given (the official archive is always checked). Returns `root`.
    """
    if name not in CIFAR:
        raise DataError(f"download is available for {', '.join(CIFAR)}, not {name!r}")
    layout = CIFAR[name]
    root = Path(root).expanduser()
    try:
        _find_cifar(root, layout)
        return root
    except DataError:
        pass
    if not hasattr(tarfile, "data_filter"):
        raise DataError("downloading needs Python 3.11.4 or newer, whose tarfile can unpack an "
                        "archive safely (filter='data')")
    if url is None:
        url, md5 = layout.url, layout.md5
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        archive = Path(tmp) / "archive.tar.gz"
        digest = hashlib.md5()
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(archive, "wb") as out:
                for block in iter(functools.partial(response.read, 1 << 20), b""):
                    digest.update(block)
                    out.write(block)
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise DataError(f"could not download {layout.title} from {url} ({err}); without internet, "
                            f"fetch that file elsewhere and unpack it into {root}") from None
        if md5 is not None and digest.hexdigest() != md5:
            raise DataError(f"the archive from {url} is corrupt: md5 {digest.hexdigest()}, "
                            f"expected {md5}")
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(root, filter="data")  # refuses absolute paths, '..' and devices
        except (tarfile.TarError, OSError) as err:
            raise DataError(f"could not unpack the archive from {url} into {root}: {err}") from None
    _find_cifar(root, layout)  # the archive held what it should
    return root


# ---------------------------------------------------------------------------- image files


def _read_image(path: Path, resolution: int) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft("RGB", (resolution, resolution))  # JPEG: decode at a reduced scale
            image = _square(image.convert("RGB"), resolution)
            return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"cannot read image {path}: {err}") from None


def _square(image, resolution: int):
    """Shorter side scaled to `resolution`, then the centre square."""
    from PIL import Image

    w, h = image.size
    scale = resolution / min(w, h)
    size = (max(resolution, round(w * scale)), max(resolution, round(h * scale)))
    if size != (w, h):
        image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    return image.crop((left, top, left + resolution, top + resolution))


def _read_images(paths: list[Path], resolution: int) -> np.ndarray:
    if not paths:
        return np.empty((0, 3, resolution, resolution), dtype=np.uint8)
    # Pillow decodes without holding the GIL; map keeps the order, so the result is deterministic.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return np.stack(list(pool.map(functools.partial(_read_image, resolution=resolution), paths)))


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith("."))


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _load_files(spec: DataSpec, train: tuple[list[Path], np.ndarray],
                val: tuple[list[Path], np.ndarray], num_classes: int) -> _Arrays:
    keep_train, keep_val = _thin(spec, train[1], val[1])
    return _Arrays(_read_images([train[0][i] for i in keep_train], spec.resolution),
                   train[1][keep_train],
                   _read_images([val[0][i] for i in keep_val], spec.resolution), val[1][keep_val],
                   num_classes)


# ---------------------------------------------------------------------------- Tiny ImageNet

_TINY_EXPECTED = ("the tiny-imagenet-200 layout: train/<wnid>/images/*.JPEG and val/images/* with "
                  "val/val_annotations.txt (in the folder itself or in tiny-imagenet-200/)")


def _tiny_base(spec: DataSpec) -> Path:
    root = _check_root(spec, _TINY_EXPECTED)
    for base in (root / "tiny-imagenet-200", root):
        if (base / "train").is_dir():
            return base
    raise DataError(f"no Tiny ImageNet data in {root}: {root / 'train'} is missing; "
                    f"expected {_TINY_EXPECTED}")


def _tiny_classes(base: Path) -> list[str]:
    wnids = _subfolders(base / "train")
    if not wnids:
        raise DataError(f"{base / 'train'} has no class folders; expected {_TINY_EXPECTED}")
    return wnids


@_register("tiny-imagenet", num_classes=lambda spec: len(_tiny_classes(_tiny_base(spec))),
           flip_ok=True, summary="Tiny ImageNet (200 classes, 64x64) from --data-root")
def _load_tiny_imagenet(spec: DataSpec) -> _Arrays:
    base = _tiny_base(spec)
    wnids = _tiny_classes(base)
    train_files, train_labels = [], []
    for label, wnid in enumerate(wnids):
        folder = base / "train" / wnid / "images"
        if not folder.is_dir():
            raise DataError(f"{folder} is missing; expected {_TINY_EXPECTED}")
        files = _image_files(folder)
        if not files:
            raise DataError(f"class {wnid} has no images in {folder}")
        train_files += files
        train_labels += [label] * len(files)

    annotations = base / "val" / "val_annotations.txt"
    if not annotations.is_file():
        raise DataError(f"{annotations} is missing; expected {_TINY_EXPECTED}")
    index = {wnid: i for i, wnid in enumerate(wnids)}
    val_files, val_labels = [], []
    for number, line in enumerate(annotations.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in index:
            raise DataError(f"{annotations} line {number} must be '<file>\\t<wnid>\\t...' naming one "
                            f"of the {len(wnids)} classes in {base / 'train'}, got {line.strip()!r}")
        val_files.append(base / "val" / "images" / fields[0])
        val_labels.append(index[fields[1]])
    if not val_files:
        raise DataError(f"{annotations} lists no validation images")
    return _load_files(spec, (train_files, np.array(train_labels, dtype=np.int64)),
                       (val_files, np.array(val_labels, dtype=np.int64)), len(wnids))


# ---------------------------------------------------------------------------- image folder

_FOLDER_EXPECTED = ("one sub-folder of images per class, e.g. <root>/cat/*.jpg and <root>/dog/*.png "
                    f"({', '.join(IMAGE_SUFFIXES)})")


def _folder_classes(spec: DataSpec) -> tuple[Path, list[str]]:
    root = _check_root(spec, _FOLDER_EXPECTED)
    classes = _subfolders(root)
    if not classes:
        raise DataError(f"{root} has no class sub-folders; expected {_FOLDER_EXPECTED}")
    return root, classes


@_register("folder", num_classes=lambda spec: len(_folder_classes(spec)[1]), flip_ok=True,
           summary="any image folder with one sub-folder per class, split 80/20 per class")
def _load_folder(spec: DataSpec) -> _Arrays:
    root, classes = _folder_classes(spec)
    files, labels = [], []
    empty = []
    for label, name in enumerate(classes):
        found = _image_files(root / name)
        if not found:
            empty.append(name)
        files += found
        labels += [label] * len(found)
    if empty:
        raise DataError(f"class folder(s) with no images in {root}: {', '.join(empty)}; "
                        f"expected {_FOLDER_EXPECTED}")
    labels = np.array(labels, dtype=np.int64)
    train, val = split_per_class(labels)
    if not len(val):
        raise DataError(f"{root} has too few images for a validation split: every class needs two "
                        "or more")
    return _load_files(spec, ([files[i] for i in train], labels[train]),
                       ([files[i] for i in val], labels[val]), len(classes))


__all__ = ["CIFAR", "DATASETS", "DataSpec", "Dataset", "DatasetEntry", "Registry", "clear_cache",
           "dataset_num_classes", "download_dataset", "load_dataset",
           "split_per_class", "take_per_class"]
