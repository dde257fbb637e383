"""Data sets: every loader on small files written here in its own layout, and every error message."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from sqzdse.data import (
    CIFAR,
    DATASETS,
    DataSpec,
    DatasetEntry,
    clear_cache,
    dataset_num_classes,
    download_dataset,
    load_dataset,
    split_per_class,
    take_per_class,
)
from sqzdse.errors import DataError

# ---------------------------------------------------------------------------- writers


def cifar_images(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 32x32 images (N x 3072, channel-major) whose first pixel byte encodes the label."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    data[:, 0] = labels * 10  # red channel, row 0, column 0
    return data, labels


def write_cifar_python(root, name: str, *, per_batch: int = 6) -> None:
    layout = CIFAR[name]
    folder = root / layout.python_dir
    folder.mkdir(parents=True)
    for i, batch in enumerate(layout.python_train + layout.python_val):
        data, labels = cifar_images(per_batch, seed=i)
        content = {b"batch_label": b"x", b"data": data, layout.label_key.encode(): labels.tolist(),
                   b"filenames": [b"f.png"] * per_batch}
        (folder / batch).write_bytes(pickle.dumps(content, protocol=2))  # as the Python 2 originals


def write_cifar_binary(root, name: str, *, per_batch: int = 6) -> None:
    layout = CIFAR[name]
    folder = root / layout.binary_dir
    folder.mkdir(parents=True)
    for i, batch in enumerate(layout.binary_train + layout.binary_val):
        data, labels = cifar_images(per_batch, seed=i)
        prefix = [np.full((per_batch, 1), 7, np.uint8)] * (layout.label_bytes - 1)  # coarse label
        records = np.concatenate([*prefix, labels[:, None].astype(np.uint8), data], axis=1)
        (folder / batch).write_bytes(records.tobytes())


def write_image(path, colour, size=(10, 10), fmt=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


COLOURS = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]


def write_tiny_imagenet(root, *, per_class: int = 3) -> None:
    base = root / "tiny-imagenet-200"
    wnids = ["n01443537", "n01629819", "n01641577"]
    for label, wnid in enumerate(wnids):
        for i in range(per_class):
            write_image(base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", COLOURS[label],
                        size=(16, 16), fmt="JPEG")
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    lines = []
    for label, wnid in enumerate(wnids):
        for i in range(2):
            name = f"val_{label}_{i}.JPEG"
            write_image(base / "val" / "images" / name, COLOURS[label], size=(16, 16), fmt="JPEG")
            lines.append(f"{name}\t{wnid}\t0\t0\t15\t15")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")


def write_folder(root, *, per_class: int = 5) -> None:
    for label, name in enumerate(["cat", "dog", "emu"]):
        for i in range(per_class):
            # not square, and in two formats: the loader crops the centre square
            write_image(root / name / f"{i}.{'png' if i % 2 else 'jpg'}", COLOURS[label], size=(20, 12))


WRITERS = {
    "digits": None,
    "cifar10": lambda root: write_cifar_python(root, "cifar10"),
    "cifar100": lambda root: write_cifar_python(root, "cifar100"),
    "tiny-imagenet": write_tiny_imagenet,
    "folder": write_folder,
}


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()  # files are rewritten under new tmp paths, but keep tests independent anyway
    yield
    clear_cache()


# ---------------------------------------------------------------------------- every registered set


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_registered_set_loads_as_uint8_tensors(name, tmp_path):
    writer = WRITERS[name]  # a new data set needs a writer here: this test covers it then
    if writer is not None:
        writer(tmp_path)
    spec = DataSpec(name=name, root=None if writer is None else str(tmp_path), resolution=16)
    data = load_dataset(spec)
    assert data.num_classes == dataset_num_classes(spec)
    for x, y in ((data.train_x, data.train_y), (data.val_x, data.val_y)):
        assert x.dtype == torch.uint8 and x.shape[1:] == (3, 16, 16) and x.device.type == "cpu"
        assert y.dtype == torch.int64 and y.shape == (len(x),) and len(x) > 0
        assert 0 <= int(y.min()) and int(y.max()) < data.num_classes
    assert len(data.mean) == len(data.std) == 3 and all(s > 0 for s in data.std)
    assert data.flip_ok == (name != "digits")


def test_registry_refuses_duplicates_and_lists_valid_names():
    entry = DATASETS["digits"]
    with pytest.raises(ValueError, match="already registered"):
        DATASETS.register(DatasetEntry("digits", entry.load, entry.num_classes, False, "again"))
    with pytest.raises(DataError, match=r"unknown data set 'imagenet'; valid data sets: digits, "
                                        r"cifar10, cifar100, tiny-imagenet, folder"):
        load_dataset(DataSpec(name="imagenet"))
    assert "digits" in DATASETS and "imagenet" not in DATASETS and DATASETS.get("imagenet") is None


# ---------------------------------------------------------------------------- digits


def test_digits_split_is_fixed_stratified_and_upsampled():
    data = load_dataset(DataSpec())
    assert (len(data.train_y), len(data.val_y)) == (1438, 359)
    assert data.train_x.shape[1:] == (3, 32, 32)
    assert torch.equal(data.train_x[:, 0], data.train_x[:, 2])  # grey copied to three channels
    counts = torch.bincount(data.val_y, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37  # about 20% of each class
    other_seed = load_dataset(DataSpec(seed=5))  # the split does not depend on the seed
    assert torch.equal(other_seed.val_x, data.val_x)
    assert int(data.train_x.max()) == 255 and int(data.train_x.min()) == 0


def test_per_class_limits_are_seeded():
    spec = DataSpec(train_per_class=4, val_per_class=2, resolution=8, seed=1)
    data = load_dataset(spec)
    assert torch.bincount(data.train_y).tolist() == [4] * 10
    assert torch.bincount(data.val_y).tolist() == [2] * 10
    clear_cache()
    assert torch.equal(load_dataset(spec).train_x, data.train_x)  # same seed, same images
    other = load_dataset(DataSpec(train_per_class=4, val_per_class=2, resolution=8, seed=2))
    assert not torch.equal(other.train_x, data.train_x)
    # thinning the training images out never changes the validation images
    assert torch.equal(load_dataset(DataSpec(val_per_class=2, resolution=8, seed=1)).val_x, data.val_x)


def test_load_dataset_is_cached_per_spec_and_device():
    spec = DataSpec(train_per_class=2, val_per_class=1, resolution=8)
    first = load_dataset(spec)
    assert load_dataset(spec, device=torch.device("cpu")) is first
    assert load_dataset(DataSpec(train_per_class=3, val_per_class=1, resolution=8)) is not first


def test_helpers_select_per_class():
    labels = np.array([0, 0, 0, 1, 1, 2])
    chosen = take_per_class(labels, 2, rng=np.random.default_rng(0))
    assert np.bincount(labels[chosen]).tolist() == [2, 2, 1] and list(chosen) == sorted(chosen)
    train, val = split_per_class(np.repeat(np.arange(3), 10))
    assert len(val) == 6 and not set(train) & set(val) and len(train) + len(val) == 30


@pytest.mark.parametrize("field, value", [("resolution", 0), ("train_per_class", 0), ("seed", -1),
                                          ("val_per_class", 1.5)])
def test_data_spec_names_a_bad_field(field, value):
    with pytest.raises(DataError, match=f"`{field}`"):
        DataSpec(**{field: value})


# ---------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("version", ["python", "binary"])
def test_cifar_versions_read_pixels_and_labels(name, version, tmp_path):
    (write_cifar_python if version == "python" else write_cifar_binary)(tmp_path, name)
    layout = CIFAR[name]
    train_batches = len(layout.python_train)
    data = load_dataset(DataSpec(name=name, root=str(tmp_path)))
    assert data.num_classes == layout.num_classes
    assert len(data.train_y) == 6 * train_batches and len(data.val_y) == 6
    expected, labels = cifar_images(6, seed=0)
    assert data.train_x[:6].numpy().reshape(6, -1).tolist() == expected.tolist()  # channel-major
    assert data.train_y[:6].tolist() == labels.tolist()  # the fine label, after the coarse one
    assert (data.train_x[:, 0, 0, 0] == data.train_y * 10).all()


def test_cifar_root_may_be_the_batches_folder_itself(tmp_path):
    write_cifar_binary(tmp_path, "cifar10")
    data = load_dataset(DataSpec(name="cifar10", root=str(tmp_path / "cifar-10-batches-bin"),
                                 resolution=24, train_per_class=2))
    assert data.train_x.shape == (6, 3, 24, 24)  # 3 classes x 2, resized


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    write_cifar_python(tmp_path, "cifar10")
    marker = tmp_path / "pwned"
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({b"data": _Exploit(marker), b"labels": []}, protocol=2))
    with pytest.raises(DataError, match=r"refusing to load .*data_batch_3: it asks for "
                                        r"(posix|os|nt)\.system"):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path)))
    assert not marker.exists()
    # sanity: the same bytes given to plain pickle would have run the command
    pickle.loads(batch.read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("content, message", [
    (b"not a pickle", "unpickling failed"),
    (pickle.dumps([1, 2]), "expected a dict"),
    (pickle.dumps({b"labels": [0]}), "no 'data' entry"),
    (pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}), "uint8 array of N x 3072"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "2 images but 1"),
])
def test_malformed_cifar_pickle_names_the_file(tmp_path, content, message):
    write_cifar_python(tmp_path, "cifar10")
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(content)
    with pytest.raises(DataError,
                       match=rf"test_batch is not a CIFAR python-version batch: .*{message}"):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path)))


def test_cifar_labels_out_of_range(tmp_path):
    write_cifar_python(tmp_path, "cifar10")
    data = np.zeros((1, 3072), np.uint8)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(
        pickle.dumps({b"data": data, b"labels": [12]}, protocol=2))
    with pytest.raises(DataError, match=r"labels in .* must lie in 0..9, found 12..12"):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path)))


def test_truncated_cifar_binary(tmp_path):
    write_cifar_binary(tmp_path, "cifar100")
    path = tmp_path / "cifar-100-binary" / "test.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError,
                       match=r"test.bin is not a CIFAR binary-version file: .* 3074-byte records"):
        load_dataset(DataSpec(name="cifar100", root=str(tmp_path)))


def test_missing_cifar_says_what_is_expected_where(tmp_path):
    with pytest.raises(DataError, match=r"pass its location with --data-root"):
        load_dataset(DataSpec(name="cifar10"))
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path / "nowhere")))
    with pytest.raises(DataError, match=r"no CIFAR-10 data in .*; expected the CIFAR python version "
                                        r"\(cifar-10-batches-py/ with data_batch_1, .*test_batch\) or "
                                        r"the binary version \(cifar-10-batches-bin/ with"):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path)))
    write_cifar_python(tmp_path, "cifar10")
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataError, match=r"cifar-10-batches-py lacks data_batch_4"):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path)))


# ---------------------------------------------------------------------------- download


def make_tarball(source, path) -> str:
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname=source.name)
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_fetches_checks_and_unpacks_a_tarball(tmp_path):
    write_cifar_python(tmp_path / "src", "cifar100")
    md5 = make_tarball(tmp_path / "src" / "cifar-100-python", tmp_path / "c.tar.gz")
    url = (tmp_path / "c.tar.gz").as_uri()
    root = tmp_path / "data"
    with pytest.raises(DataError, match=r"is corrupt: md5 .*, expected 0+"):
        download_dataset("cifar100", root=root, url=url, md5="0" * 32)
    assert download_dataset("cifar100", root=root, url=url, md5=md5) == root
    assert len(load_dataset(DataSpec(name="cifar100", root=str(root))).val_y) == 6
    assert [p.name for p in root.iterdir()] == ["cifar-100-python"]  # no archive left behind
    # a complete copy is never fetched again
    assert download_dataset("cifar100", root=root, url=(tmp_path / "gone.tar.gz").as_uri()) == root


def test_download_errors_are_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"could not download CIFAR-10 from file://.*missing.tar.gz"):
        download_dataset("cifar10", root=tmp_path / "d", url=(tmp_path / "missing.tar.gz").as_uri())
    with pytest.raises(DataError, match="download is available for cifar10, cifar100, not 'digits'"):
        download_dataset("digits", root=tmp_path)
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(DataError, match="could not unpack"):
        download_dataset("cifar10", root=tmp_path / "d", url=evil.as_uri())
    assert not (tmp_path / "escaped.txt").exists()


# ---------------------------------------------------------------------------- image files


def test_tiny_imagenet_reads_train_and_annotated_val(tmp_path):
    write_tiny_imagenet(tmp_path)
    spec = DataSpec(name="tiny-imagenet", root=str(tmp_path), resolution=8)
    assert dataset_num_classes(spec) == 3
    data = load_dataset(spec)
    assert (len(data.train_y), len(data.val_y)) == (9, 6)
    assert data.val_y.tolist() == [0, 0, 1, 1, 2, 2]
    for x, y in ((data.train_x, data.train_y), (data.val_x, data.val_y)):
        # solid colours: the dominant channel is the class, after JPEG, RGB and resizing
        assert torch.equal(x.float().mean(dim=(2, 3)).argmax(dim=1), y)


def test_tiny_imagenet_errors(tmp_path):
    with pytest.raises(DataError, match=r"tiny-imagenet-200 layout: train/<wnid>/images/\*.JPEG"):
        load_dataset(DataSpec(name="tiny-imagenet", root=str(tmp_path)))
    write_tiny_imagenet(tmp_path)
    base = tmp_path / "tiny-imagenet-200"
    annotations = base / "val" / "val_annotations.txt"
    annotations.write_text(annotations.read_text() + "extra.JPEG\tn99999999\t0\t0\t1\t1\n")
    with pytest.raises(DataError, match=r"val_annotations.txt line 7 must be .* got 'extra.JPEG"):
        load_dataset(DataSpec(name="tiny-imagenet", root=str(base)))
    annotations.unlink()
    with pytest.raises(DataError, match=r"val_annotations.txt is missing"):
        load_dataset(DataSpec(name="tiny-imagenet", root=str(base)))


def test_folder_splits_each_class_and_crops_the_centre(tmp_path):
    write_folder(tmp_path)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")  # ignored
    spec = DataSpec(name="folder", root=str(tmp_path), resolution=12)
    data = load_dataset(spec)
    assert data.num_classes == dataset_num_classes(spec) == 3
    assert torch.bincount(data.train_y).tolist() == [4, 4, 4]
    assert torch.bincount(data.val_y).tolist() == [1, 1, 1]
    assert data.train_x.shape[1:] == (3, 12, 12)
    assert torch.equal(data.train_x.float().mean(dim=(2, 3)).argmax(dim=1), data.train_y)


def test_folder_errors_name_the_culprit(tmp_path):
    with pytest.raises(DataError, match=r"has no class sub-folders; expected one sub-folder of images "
                                        r"per class"):
        load_dataset(DataSpec(name="folder", root=str(tmp_path)))
    write_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"class folder\(s\) with no images in .*: empty"):
        load_dataset(DataSpec(name="folder", root=str(tmp_path)))
    (tmp_path / "empty").rmdir()
    (tmp_path / "dog" / "broken.jpg").write_bytes(b"\xff\xd8 this is no JPEG")
    with pytest.raises(DataError, match=r"cannot read image .*broken.jpg"):
        load_dataset(DataSpec(name="folder", root=str(tmp_path)))
