"""Image preparation: load with clear errors, find broken and near-duplicate photos, resize, standardise."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError

from mmlab.preprocess.checks import as_path, check_number


BLANK_STD = 5.0  # grey-level std (0-255) below which an image counts as blank; catalog photos have >= 14


def load_image(path: str | Path) -> Image.Image:
    """Open an image file and decode it fully, so a corrupt file fails here and not later."""
    path = as_path(path, "path")
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}; check the path")
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(
            f"cannot read image file {path}: it is corrupt or not an image ({error}); re-export it as PNG or JPEG, "
            "or remove it"
        ) from error
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """The image in RGB; transparent parts become white (the catalog's background)."""
    _check_image(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        white = Image.new("RGBA", image.size, "white")
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def image_problems(
    image: Image.Image | str | Path, size: tuple[int, int] | None = None, mode: str | None = "RGB",
    min_std: float = BLANK_STD,
) -> list[str]:
    """What is wrong with an image (or image file): unreadable, wrong mode, wrong size, blank. [] if nothing."""
    if isinstance(image, (str, Path)):
        try:
            image = load_image(image)
        except (FileNotFoundError, ValueError) as error:
            return [f"unreadable: {error}"]
    _check_image(image)
    problems = []
    if mode is not None and image.mode != mode:
        problems.append(f"mode {image.mode}, expected {mode}: convert it (to_rgb for RGB)")
    if size is not None and image.size != tuple(size):
        problems.append(f"size {image.size[0]}x{image.size[1]}, expected {size[0]}x{size[1]}: use resize")
    grey_std = float(np.asarray(to_rgb(image).convert("L"), dtype=np.float64).std())
    if grey_std < min_std:
        problems.append(f"blank: grey-level std {grey_std:.1f} < {min_std} (a near-constant image)")
    return problems


def perceptual_hash(image: Image.Image) -> imagehash.ImageHash:
    """64-bit pHash: the signs of the lowest 8x8 frequencies (DCT) of a 32x32 grey copy.

    ``hash_a - hash_b`` is the Hamming distance (0-64). JPEG, mild blur and resizing barely change it (0-2 bits
    on the catalog's 64 px photos), but shifts do: one pixel moves it ~8 bits there. It sees brightness only,
    so two colours of one product can hash alike.
    """
    return imagehash.phash(to_rgb(image))


def find_near_duplicates(
    images: dict[str, Image.Image] | Sequence[Image.Image], max_distance: int = 4
) -> list[tuple[str | int, str | int, int]]:
    """Pairs ``(id_a, id_b, distance)`` whose perceptual hashes differ in at most ``max_distance`` bits.

    Ids are the dict keys (or list positions); distance 0 means the same hash (exact duplicates, and more).
    Pairs come closest first. Every pair is compared: fine for thousands of images, not millions.
    """
    check_number(max_distance, "max_distance (bits)", 0, 64, whole=True)
    ids = list(images) if isinstance(images, dict) else list(range(len(images)))
    pictures = list(images.values()) if isinstance(images, dict) else list(images)
    for name, picture in zip(ids, pictures):
        _check_image(picture, f"images[{name!r}]")
    if not pictures:
        return []
    bits = np.stack([perceptual_hash(picture).hash.ravel() for picture in pictures]).astype(np.float32)
    ones = bits.sum(axis=1)
    distance = np.rint(ones[:, None] + ones[None, :] - 2 * bits @ bits.T).astype(int)  # |a xor b| = |a|+|b|-2a.b
    first, second = np.triu_indices(len(pictures), k=1)
    close = distance[first, second] <= max_distance
    pairs = [(ids[i], ids[j], int(distance[i, j])) for i, j in zip(first[close], second[close])]
    return sorted(pairs, key=lambda pair: pair[2])


def resize(image: Image.Image, size: int) -> Image.Image:
    """Pad to a square on white (the aspect ratio is kept, nothing is cropped), then scale to size x size."""
    check_number(size, "size (pixels)", 1, whole=True)
    image = to_rgb(image)
    side = max(image.size)
    square = Image.new("RGB", (side, side), "white")
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square.resize((size, size), Image.Resampling.BICUBIC)


def channel_stats(images: Iterable[Image.Image | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (R, G, B) mean and std of the pixels, on a 0-1 scale, pooled over all images.

    Compute them on the training split only: they are fitted parameters of the pipeline, like a model's
    weights. Taking them from validation or test images lets those images shape training (leakage), and at
    serving time there is no test set to measure anyway.
    """
    total, total_squares, count = np.zeros(3), np.zeros(3), 0
    for index, image in enumerate(images):
        pixels = _as_unit_rgb(image, f"images[{index}]").reshape(-1, 3)
        total += pixels.sum(axis=0)
        total_squares += (pixels**2).sum(axis=0)
        count += len(pixels)
    if count == 0:
        raise ValueError("images is empty: pass the training images to measure")
    mean = total / count
    return mean, np.sqrt(np.maximum(total_squares / count - mean**2, 0.0))


def standardise(image: Image.Image | np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(pixels - mean) / std`` per channel, as float32 in channel-first (3, H, W) layout, as PyTorch expects."""
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if mean.shape != (3,) or std.shape != (3,):
        raise ValueError(f"mean and std need one value per RGB channel (3 each), got shapes {mean.shape}, {std.shape}")
    if not (std > 0).all():
        raise ValueError(f"std must be positive in every channel, got {std}; a zero std means a constant channel")
    pixels = _as_unit_rgb(image, "image")
    return ((pixels - mean) / std).transpose(2, 0, 1).astype(np.float32)


def _as_unit_rgb(image: Image.Image | np.ndarray, name: str) -> np.ndarray:
    """An (H, W, 3) float64 array in [0, 1] from a PIL image, a uint8 array or a float array in [0, 1]."""
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image), dtype=np.float64) / 255
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a PIL image or a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3) (channels last, RGB), got {image.shape}")
    if image.dtype == np.uint8:
        return image / 255
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 (0-255) or float (0-1), got dtype {image.dtype}; convert 0-255 "
                        f"pixels with {name}.astype(np.uint8)")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ValueError(f"{name} is a float array outside [0, 1] (or with NaN); divide 0-255 pixels by 255 first")
    return image.astype(np.float64)


def _check_image(image: object, name: str = "image") -> None:
    if not isinstance(image, Image.Image):
        raise TypeError(f"{name} must be a PIL image, got {type(image).__name__}; open files with load_image(path)")
