"""`cifar10`, `cifar100`: CIFAR-10 and CIFAR-100 from a local folder, and their download.

The folder is `DataSpec.root` (--data-root). Either official layout is read, from the folder itself
or from its sub-folder (`CIFAR` holds the names of both, per set):

- the "python version" (cifar-10-batches-py/ with data_batch_1..5 and test_batch; cifar-100-python/
  with train and test): Python 2 pickles of a dict with "data" (uint8, N x 3072, channel-major
  32x32) and "labels" / "fine_labels". They are read with `_ArrayUnpickler`, which builds numpy
  arrays and nothing else: a pickle asking for any other callable is refused, never imported or run.
- the "binary version" (cifar-10-batches-bin/ with data_batch_1..5.bin and test_batch.bin;
  cifar-100-binary/ with train.bin and test.bin): fixed-size records of label byte(s) then 3072
  pixel bytes; CIFAR-100 has a coarse then a fine label byte, and the fine one is used.

The test batch (test_batch, test) is the test split, read only by `load_test_split`; the
validation split is drawn from the training batches (`HELD_OUT_VAL_FRACTION` of each class).
`download_dataset` fetches the official python-version archive, checks its md5 and unpacks it
safely (tarfile's "data" filter).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import importlib
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from sqzdse.data._core import DataSpec, _check_root, _constant, _Part, _register, _Source
from sqzdse.errors import DataError


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
        return (
            f"the CIFAR python version ({self.python_dir}/ with "
            f"{', '.join(self.python_train)}, {', '.join(self.python_val)}) or the binary "
            f"version ({self.binary_dir}/ with {', '.join(self.binary_train)}, "
            f"{', '.join(self.binary_val)}), in the folder itself or in that sub-folder; "
            "--download fetches it"
        )


_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR = {
    "cifar10": _CifarLayout(
        "CIFAR-10",
        10,
        "cifar-10-batches-py",
        _BATCHES,
        ("test_batch",),
        "labels",
        "cifar-10-batches-bin",
        tuple(f"{b}.bin" for b in _BATCHES),
        ("test_batch.bin",),
        1,
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
    ),
    "cifar100": _CifarLayout(
        "CIFAR-100",
        100,
        "cifar-100-python",
        ("train",),
        ("test",),
        "fine_labels",
        "cifar-100-binary",
        ("train.bin",),
        ("test.bin",),
        2,
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
    ),
}
_CIFAR_PIXELS = 3 * 32 * 32


def _find_cifar(root: Path, layout: _CifarLayout) -> tuple[str, Path]:
    """("python" | "binary", folder) of the first complete copy under root; DataError otherwise."""
    partial = []
    for kind, sub, files in (
        ("python", layout.python_dir, layout.python_train + layout.python_val),
        ("binary", layout.binary_dir, layout.binary_train + layout.binary_val),
    ):
        for folder in (root / sub, root):
            missing = [f for f in files if not (folder / f).is_file()]
            if not missing:
                return kind, folder
            if len(missing) < len(files):
                partial.append(f"{folder} lacks {', '.join(missing)}")
    found = f"; {'; '.join(partial)}" if partial else ""
    raise DataError(f"no {layout.title} data in {root}{found}; expected {layout.expected()}")


def _load_cifar(spec: DataSpec) -> _Source:
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
            raise DataError(
                f"{layout.title} labels in {folder} must lie in "
                f"0..{layout.num_classes - 1}, found {y.min()}..{y.max()}"
            )
        return x, y

    return _Source(
        lambda: _Part.of(*read_all(train_files)),
        lambda: _Part.of(*read_all(val_files)),
        layout.num_classes,
    )


for _name, _layout in CIFAR.items():
    _register(
        _name,
        num_classes=_constant(_layout.num_classes),
        flip_ok=True,
        summary=f"{_layout.title} from --data-root (python or binary version)",
    )(_load_cifar)


def _numpy_core(name: str) -> ModuleType:
    """numpy's core submodule `name`: numpy >= 2 moved these from numpy.core to numpy._core (older
    pickles name numpy.core, newer ones numpy._core). A plain module, as numpy's stubs lack the
    private functions a pickle needs."""
    try:
        return importlib.import_module(f"numpy._core.{name}")
    except ImportError:  # numpy < 2
        return importlib.import_module(f"numpy.core.{name}")


_multiarray = _numpy_core("multiarray")
_numeric = _numpy_core("numeric")


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
            raise DataError(
                f"refusing to load {self.path}: it asks for {module}.{name}, and a "
                "CIFAR batch holds only numpy arrays; the file is not a CIFAR batch"
            )
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
    if not (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == _CIFAR_PIXELS
    ):
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
        raise DataError(
            f"{path} is not a CIFAR binary-version file: its {raw.size} bytes are not "
            f"a whole number of {record}-byte records ({label_bytes} label byte(s) + "
            f"{_CIFAR_PIXELS} pixel bytes)"
        )
    records = raw.reshape(-1, record)
    return (
        records[:, label_bytes:].reshape(-1, 3, 32, 32),
        records[:, label_bytes - 1].astype(np.int64),
    )


def download_dataset(
    name: str, *, root: str | os.PathLike, url: str | None = None, md5: str | None = None
) -> Path:
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
        raise DataError(
            "downloading needs Python 3.11.4 or newer, whose tarfile can unpack an "
            "archive safely (filter='data')"
        )
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
            raise DataError(
                f"could not download {layout.title} from {url} ({err}); without internet, "
                f"fetch that file elsewhere and unpack it into {root}"
            ) from None
        if md5 is not None and digest.hexdigest() != md5:
            raise DataError(
                f"the archive from {url} is corrupt: md5 {digest.hexdigest()}, expected {md5}"
            )
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(root, filter="data")  # refuses absolute paths, '..' and devices
        except (tarfile.TarError, OSError) as err:
            raise DataError(f"could not unpack the archive from {url} into {root}: {err}") from None
    _find_cifar(root, layout)  # the archive held what it should
    return root
