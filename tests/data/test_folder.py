"""`folder`: one sub-folder of images per class, split per class, centre-cropped; unreadable
images."""

from __future__ import annotations

import pytest
import torch

from sqzdse.data import DataSpec, dataset_num_classes, load_dataset
from sqzdse.errors import DataError
from tests.data.writers import write_folder

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


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
    with pytest.raises(
        DataError,
        match=r"has no class sub-folders; expected one sub-folder of "
        r"images per class",
    ):
        load_dataset(DataSpec(name="folder", root=str(tmp_path)))
    write_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"class folder\(s\) with no images in .*: empty"):
        load_dataset(DataSpec(name="folder", root=str(tmp_path)))
    (tmp_path / "empty").rmdir()
    (tmp_path / "dog" / "broken.jpg").write_bytes(b"\xff\xd8 this is no JPEG")
    with pytest.raises(DataError, match=r"cannot read image .*broken.jpg"):
        load_dataset(DataSpec(name="folder", root=str(tmp_path)))
