"""Data sets by name, loaded once per process into uint8 tensors on the training device.

`load_dataset(DataSpec(name=...), device=...)` returns a `Dataset`: square RGB images at the
requested resolution (N x 3 x R x R, uint8) with int64 labels, split into train and validation, and
the per-channel statistics the trainer normalises with. Registered sets, one module per family:

- `digits` (`_digits`): scikit-learn's bundled 8x8 digits, upsampled, grey copied to 3 channels;
  embedded.
- `cifar10`, `cifar100` (`_cifar`): a local folder in the CIFAR "python version" layout (read with
  an unpickler that builds only numpy arrays) or the "binary version"; `download_dataset` fetches
  the official archive.
- `tiny-imagenet` (`_tiny_imagenet`): the tiny-imagenet-200 layout (train/<wnid>/images/*.JPEG,
  val/val_annotations.txt).
- `folder` (`_folder`): any folder with one sub-folder of images per class.
- `fashion-mnist`, `mnist` (`_mnist`): the four IDX files of the MNIST layout (plain or .gz);
  `fashion-mnist` reads /usr/share/datasets/fashion-mnist (Debian's `dataset-fashion-mnist`) when no
  root is given. Grey copied to 3 channels; the official test split is the validation split.

Sets that ship without a validation split (digits, folder) are split per class with a fixed seed, so
every trial of a search is measured on the same images whatever its own seed; `DataSpec.seed` picks
which images are kept when `train_per_class` / `val_per_class` thin the set out (the proxy knob).

What the families share lives in `_core` (the spec, `Dataset`, the `DATASETS` registry, loading,
caching, per-class selection, resizing, channel statistics) and `_images` (reading one file per
image). Adding a family takes one new module and one import line below: the module defines a loader
`(DataSpec) -> _Arrays` per set, thinned out per class with `_core._thin`, and registers it with
`@_core._register(name, num_classes=..., flip_ok=..., summary=...)`; importing it here registers
the set on `import sqzdse.data`. Each module's docstring describes its layout on disk.
"""

from sqzdse.data._core import (
    DATASETS,
    Dataset,
    DatasetEntry,
    DataSpec,
    Registry,
    clear_cache,
    dataset_num_classes,
    load_dataset,
    split_per_class,
    take_per_class,
)

# The families register their sets on import, in this order: the order DATASETS lists them in
# (`sqzdse train --help`, the unknown-name error). Keep new families after these.
# isort: off
from sqzdse.data import _digits  # noqa: F401
from sqzdse.data._cifar import CIFAR, download_dataset
from sqzdse.data import _tiny_imagenet  # noqa: F401
from sqzdse.data import _folder  # noqa: F401
from sqzdse.data import _mnist  # noqa: F401
# isort: on

__all__ = [
    "CIFAR",
    "DATASETS",
    "DataSpec",
    "Dataset",
    "DatasetEntry",
    "Registry",
    "clear_cache",
    "dataset_num_classes",
    "download_dataset",
    "load_dataset",
    "split_per_class",
    "take_per_class",
]
