"""`cifar10`, `cifar100`: both versions of the layout, the array-only unpickler, every error
message, and the download."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from sqzdse.data import (
    CIFAR,
    DataSpec,
    download_dataset,
    load_dataset,
    load_test_split,
    split_pool,
)
from sqzdse.data._core import HELD_OUT_VAL_FRACTION, OFFICIAL_TEST
from sqzdse.errors import DataError
from tests.data.writers import cifar_images, write_cifar_binary, write_cifar_python

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


@pytest.mark.parametrize(
    "name, sizes",
    # 6 images a batch, 2 of each of classes 0..2; a sixth of each class held out for validation:
    # cifar10's 5 training batches hold 10 a class, round(10 / 6) = 2 held out; cifar100's one
    # training file 2 a class, round(2 / 6) = 0, so the one image a class of two or more
    [("cifar10", (24, 6)), ("cifar100", (3, 3))],
)
@pytest.mark.parametrize("version", ["python", "binary"])
def test_cifar_versions_read_pixels_and_labels(name, sizes, version, tmp_path):
    (write_cifar_python if version == "python" else write_cifar_binary)(tmp_path, name)
    layout = CIFAR[name]
    train_batches = len(layout.python_train)
    spec = DataSpec(name=name, root=str(tmp_path))
    data = load_dataset(spec)
    assert data.num_classes == layout.num_classes
    assert (len(data.train_y), len(data.val_y)) == sizes
    # training and validation images both come from the training batches, in their order
    pool = [cifar_images(6, seed=i) for i in range(train_batches)]
    pool_x = np.concatenate([x for x, _ in pool])
    pool_y = np.concatenate([y for _, y in pool])
    train, val, _ = split_pool(pool_y, convention=OFFICIAL_TEST, val_fraction=HELD_OUT_VAL_FRACTION)
    for x, y, idx in ((data.train_x, data.train_y, train), (data.val_x, data.val_y, val)):
        assert x.numpy().reshape(len(x), -1).tolist() == pool_x[idx].tolist()  # channel-major
        assert y.tolist() == pool_y[idx].tolist()  # the fine label, after the coarse one
        assert (x[:, 0, 0, 0] == y * 10).all()
    test = load_test_split(spec)  # the test batch, whole
    expected, labels = cifar_images(6, seed=train_batches)
    assert test.x.numpy().reshape(6, -1).tolist() == expected.tolist()
    assert test.y.tolist() == labels.tolist() and test.convention == OFFICIAL_TEST


def test_cifar_root_may_be_the_batches_folder_itself(tmp_path):
    write_cifar_binary(tmp_path, "cifar10")
    data = load_dataset(
        DataSpec(
            name="cifar10",
            root=str(tmp_path / "cifar-10-batches-bin"),
            resolution=24,
            train_per_class=2,
        )
    )
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
    with pytest.raises(
        DataError,
        match=r"refusing to load .*data_batch_3: it asks for "
        r"(posix|os|nt)\.system",
    ):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path)))
    assert not marker.exists()
    # sanity: the same bytes given to plain pickle would have run the command
    pickle.loads(batch.read_bytes())
    assert marker.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a pickle", "unpickling failed"),
        (pickle.dumps([1, 2]), "expected a dict"),
        (pickle.dumps({b"labels": [0]}), "no 'data' entry"),
        (
            pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}),
            "uint8 array of N x 3072",
        ),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "2 images but 1"),
    ],
)
def test_malformed_cifar_pickle_names_the_file(tmp_path, content, message):
    write_cifar_python(tmp_path, "cifar10")
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(content)
    spec = DataSpec(name="cifar10", root=str(tmp_path))
    assert len(load_dataset(spec).val_y) == 6  # the test batch is not read for it
    with pytest.raises(
        DataError, match=rf"test_batch is not a CIFAR python-version batch: .*{message}"
    ):
        load_test_split(spec)


def test_cifar_labels_out_of_range(tmp_path):
    write_cifar_python(tmp_path, "cifar10")
    data = np.zeros((1, 3072), np.uint8)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(
        pickle.dumps({b"data": data, b"labels": [12]}, protocol=2)
    )
    spec = DataSpec(name="cifar10", root=str(tmp_path))
    assert len(load_dataset(spec).val_y) == 6  # the test batch is not read for it
    with pytest.raises(DataError, match=r"labels in .* must lie in 0..9, found 12..12"):
        load_test_split(spec)


def test_truncated_cifar_binary(tmp_path):
    write_cifar_binary(tmp_path, "cifar100")
    path = tmp_path / "cifar-100-binary" / "test.bin"
    path.write_bytes(path.read_bytes()[:-5])
    spec = DataSpec(name="cifar100", root=str(tmp_path))
    assert len(load_dataset(spec).val_y) == 3  # the test file is not read for it
    with pytest.raises(
        DataError, match=r"test.bin is not a CIFAR binary-version file: .* 3074-byte records"
    ):
        load_test_split(spec)


def test_missing_cifar_says_what_is_expected_where(tmp_path):
    with pytest.raises(DataError, match=r"pass its location with --data-root"):
        load_dataset(DataSpec(name="cifar10"))
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        load_dataset(DataSpec(name="cifar10", root=str(tmp_path / "nowhere")))
    with pytest.raises(
        DataError,
        match=r"no CIFAR-10 data in .*; expected the CIFAR python "
        r"version \(cifar-10-batches-py/ with data_batch_1, "
        r".*test_batch\) or the binary version "
        r"\(cifar-10-batches-bin/ with",
    ):
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
    assert len(load_dataset(DataSpec(name="cifar100", root=str(root))).val_y) == 3
    assert len(load_test_split(DataSpec(name="cifar100", root=str(root))).y) == 6
    assert [p.name for p in root.iterdir()] == ["cifar-100-python"]  # no archive left behind
    # a complete copy is never fetched again
    assert download_dataset("cifar100", root=root, url=(tmp_path / "gone.tar.gz").as_uri()) == root


def test_download_errors_are_data_errors(tmp_path):
    with pytest.raises(
        DataError, match=r"could not download CIFAR-10 from file://.*missing.tar.gz"
    ):
        download_dataset("cifar10", root=tmp_path / "d", url=(tmp_path / "missing.tar.gz").as_uri())
    with pytest.raises(
        DataError, match="download is available for cifar10, cifar100, not 'digits'"
    ):
        download_dataset("digits", root=tmp_path)
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(DataError, match="could not unpack"):
        download_dataset("cifar10", root=tmp_path / "d", url=evil.as_uri())
    assert not (tmp_path / "escaped.txt").exists()
