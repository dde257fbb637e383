"""`tiny-imagenet`: training images per class folder, test images by their annotations (val/)."""

from __future__ import annotations

import pytest
import torch

from sqzdse.data import DataSpec, clear_cache, dataset_num_classes, load_dataset, load_test_split
from sqzdse.data._core import OFFICIAL_TEST
from sqzdse.errors import DataError
from tests.data.writers import write_tiny_imagenet

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def test_tiny_imagenet_reads_train_and_annotated_val(tmp_path):
    write_tiny_imagenet(tmp_path)
    spec = DataSpec(name="tiny-imagenet", root=str(tmp_path), resolution=8)
    assert dataset_num_classes(spec) == 3
    data = load_dataset(spec)
    # validation from the training images: 3 a class, round(3 / 6) = 0, so one held out
    assert (len(data.train_y), len(data.val_y)) == (6, 3)
    assert data.train_y.tolist() == [0, 0, 1, 1, 2, 2] and data.val_y.tolist() == [0, 1, 2]
    test = load_test_split(spec)  # the annotated val/ images are the test split
    assert test.y.tolist() == [0, 0, 1, 1, 2, 2] and test.convention == OFFICIAL_TEST
    for x, y in ((data.train_x, data.train_y), (data.val_x, data.val_y), (test.x, test.y)):
        # solid colours: the dominant channel is the class, after JPEG, RGB and resizing
        assert x.shape[1:] == (3, 8, 8)
        assert torch.equal(x.float().mean(dim=(2, 3)).argmax(dim=1), y)


def test_tiny_imagenet_errors(tmp_path):
    with pytest.raises(DataError, match=r"tiny-imagenet-200 layout: train/<wnid>/images/\*.JPEG"):
        load_dataset(DataSpec(name="tiny-imagenet", root=str(tmp_path)))
    write_tiny_imagenet(tmp_path)
    base = tmp_path / "tiny-imagenet-200"
    annotations = base / "val" / "val_annotations.txt"
    annotations.write_text(annotations.read_text() + "extra.JPEG\tn99999999\t0\t0\t1\t1\n")
    spec = DataSpec(name="tiny-imagenet", root=str(base))
    assert len(load_dataset(spec).val_y) == 3  # the annotations are not read for it
    with pytest.raises(DataError, match=r"val_annotations.txt line 7 must be .* got 'extra.JPEG"):
        load_test_split(spec)
    annotations.unlink()
    clear_cache()  # the load above is cached; its files have changed since
    with pytest.raises(DataError, match=r"val_annotations.txt is missing"):
        load_dataset(DataSpec(name="tiny-imagenet", root=str(base)))
