"""`tiny-imagenet`: training images per class folder, validation images by their annotations."""

from __future__ import annotations

import pytest
import torch

from sqzdse.data import DataSpec, dataset_num_classes, load_dataset
from sqzdse.errors import DataError
from tests.data.writers import write_tiny_imagenet

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


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
