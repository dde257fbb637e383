"""`folder`: one sub-folder of images per class, split per class, centre-cropped; unreadable
images."""

from __future__ import annotations

import pytest
import torch

from sqzdse.data import DataSpec, dataset_num_classes, load_dataset, load_test_split
from sqzdse.data._core import THREE_WAY
from sqzdse.errors import DataError
from tests.data.writers import write_folder

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def test_folder_splits_each_class_and_crops_the_centre(tmp_path):
    write_folder(tmp_path)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")  # ignored
    spec = DataSpec(name="folder", root=str(tmp_path), resolution=12)
    data = load_dataset(spec)
    test = load_test_split(spec)
    assert data.num_classes == dataset_num_classes(spec) == 3
    # 5 images a class: round(0.2 * 5) = 1 for test, then round(0.25 * 4) = 1 for validation
    assert torch.bincount(data.train_y).tolist() == [3, 3, 3]
    assert torch.bincount(data.val_y).tolist() == [1, 1, 1]
    assert torch.bincount(test.y).tolist() == [1, 1, 1] and test.convention == THREE_WAY
    for x, y in ((data.train_x, data.train_y), (data.val_x, data.val_y), (test.x, test.y)):
        assert x.shape[1:] == (3, 12, 12)
        assert torch.equal(x.float().mean(dim=(2, 3)).argmax(dim=1), y)


@pytest.mark.parametrize("per_class", [1, 2])
def test_folder_needs_three_images_a_class(tmp_path, per_class):
    # one image a class: none held out; two: the one held out goes to test, none to validation
    write_folder(tmp_path, per_class=per_class)
    spec = DataSpec(name="folder", root=str(tmp_path))
    with pytest.raises(
        DataError,
        match=r"the folder data set has too few images for a validation split: each class "
        r"needs 3 or more",
    ):
        load_dataset(spec)
    if per_class == 1:
        with pytest.raises(DataError, match=r"too few images for a test split: each class needs 3"):
            load_test_split(spec)
    else:
        assert torch.bincount(load_test_split(spec).y).tolist() == [1, 1, 1]
    write_folder(tmp_path / "three", per_class=3)  # one image a class in each split
    three = load_dataset(DataSpec(name="folder", root=str(tmp_path / "three")))
    assert torch.bincount(three.train_y).tolist() == torch.bincount(three.val_y).tolist() == [1] * 3


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
