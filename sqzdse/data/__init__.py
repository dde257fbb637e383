"""Data sets by name, loaded once per process into uint8 tensors on the training device.

`load_dataset(DataSpec(name=...), device=...)` returns a `Dataset`: square RGB images at the
requested resolution (N x 3 x R x R, uint8) with int64 labels, the training and validation splits,
and the per-channel statistics the trainer normalises with. `load_test_split` returns the test
split, which only retraining reads: nothing that chooses a network does. Registered sets, one
module per family:

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
  root is given. Grey copied to 3 channels.

Three splits, fixed per set (`SPLIT_SEED`), so every trial of a search is measured on the same
images whatever its own seed: a set with an official test split (fashion-mnist, mnist, cifar,
tiny-imagenet's labelled val/) keeps it as the test split and holds out a sixth of each class of its
training images for validation; a set without one (digits, folder) is split 60/20/20 per class.
`DataSpec.val_fraction` changes the validation share; `DataSpec.seed` picks which images are kept
when `train_per_class` / `val_per_class` thin the set out (the proxy knob).

What the families share lives in `_core` (the spec, `Dataset`, the `DATASETS` registry, loading,
caching, per-class selection, resizing, channel statistics) and `_images` (reading one file per
image). Adding a family takes one new module and one import line below: the module defines a loader
`(DataSpec) -> _Source` per set (its training pool, and its official test split if it has one,
read only when asked for), and registers it with
`@_core._register(name, num_classes=..., flip_ok=..., summary=...)`; importing it here registers
the set on `import sqzdse.data`. Each module's docstring describes its layout on disk.
"""

from sqzdse.data._core import (
    DATASETS,
    Dataset,
    DatasetEntry,
    DataSpec,
    Registry,
    Splits,
    TestSplit,
    clear_cache,
    dataset_num_classes,
    load_dataset,
    load_test_split,
    split_per_class,
    split_pool,
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
    "Splits",
    "TestSplit",
    "clear_cache",
    "dataset_num_classes",
    "download_dataset",
    "load_dataset",
    "load_test_split",
    "split_per_class",
    "split_pool",
    "take_per_class",
]
