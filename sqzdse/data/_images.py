"""Reading image files, for the families stored as one file per image (tiny-imagenet, folder).

Every image is decoded as RGB, its shorter side scaled to the requested resolution and the centre
square cropped (`_square`), so a family hands `_files_part` a list of paths with their labels and
gets a `_Part` back that reads only the files asked for. Only the suffixes in
`IMAGE_SUFFIXES` count as images; hidden files and folders are skipped.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from sqzdse.data._core import DataSpec, _Part
from sqzdse.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


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
        return np.stack(
            list(pool.map(functools.partial(_read_image, resolution=resolution), paths))
        )


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )


def _subfolders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files_part(spec: DataSpec, files: list[Path], labels: np.ndarray) -> _Part:
    """The images in `files` with their `labels`; only the files asked for are ever read."""
    return _Part(labels, lambda idx: _read_images([files[i] for i in idx], spec.resolution))
