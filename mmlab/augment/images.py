"""Photo augmentation: crop, rotate, shift, colour jitter and blur, seeded."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from mmlab.augment.checks import check_int
from mmlab.data.images import SIZE

# How far each preset moves a photo: rotation (degrees), smallest crop (share of the area), shift (share of the
# side), brightness/contrast/saturation jitter (+-share) and the largest blur sigma (pixels).
STRENGTHS = {
    "light": {"degrees": 10, "min_scale": 0.85, "shift": 0.05, "jitter": 0.1, "blur": 0.5},
    "medium": {"degrees": 20, "min_scale": 0.7, "shift": 0.1, "jitter": 0.2, "blur": 1.0},
    "strong": {"degrees": 35, "min_scale": 0.5, "shift": 0.15, "jitter": 0.35, "blur": 1.5},
}


def image_augmenter(strength: str = "medium", hue: float = 0.0, size: int = SIZE) -> v2.Compose:
    """A random photo transform: crop, rotate and shift, jitter brightness/contrast/saturation, maybe blur.

    ``hue`` is off (0) by default on purpose: in MiniMart the SKUs of a product type differ by a hue rotation of
    the same art, and colour decides relevance, so hue jitter would teach the model that a red t-shirt and its blue
    sibling look alike. Turn it on (up to 0.5) only to see that harm. Rotation and shift fill with white, the
    catalog's background, so the model cannot learn that black corners mean "augmented".
    """
    if strength not in STRENGTHS:
        raise ValueError(f"unknown strength {strength!r}; use one of {list(STRENGTHS)}")
    if not 0.0 <= hue <= 0.5:
        raise ValueError(f"hue must be in [0, 0.5] (a share of the colour wheel), got {hue!r}")
    s = STRENGTHS[strength]
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(s["min_scale"], 1.0), ratio=(0.8, 1.25)),
        v2.RandomAffine(degrees=s["degrees"], translate=(s["shift"], s["shift"]), fill=255,
                        interpolation=v2.InterpolationMode.BILINEAR),
        v2.ColorJitter(brightness=s["jitter"], contrast=s["jitter"], saturation=s["jitter"], hue=hue),
        v2.RandomApply([v2.GaussianBlur(kernel_size=5, sigma=(0.1, s["blur"]))], p=0.5),
    ])



def augment_image(image: Image.Image, seed: int, strength: str = "medium", hue: float = 0.0) -> Image.Image:
    """One augmented copy of a photo (64x64 RGB), the same for the same seed.

    torchvision draws its random numbers from torch's global generator; we seed a private fork of it, so calling
    this leaves the global state (and so the rest of your training run) untouched.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL image, got {type(image).__name__}; open files with PIL.Image.open")
    transform = image_augmenter(strength, hue)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_int("seed", seed))
        return transform(image.convert("RGB"))


def augmented_views(image: Image.Image, n: int, seed: int, strength: str = "medium",
                    hue: float = 0.0) -> list[Image.Image]:
    """``n`` different augmented copies of a photo (for a gallery), reproducible from one seed."""
    view_seeds = np.random.SeedSequence(check_int("seed", seed)).generate_state(check_int("n", n, 1))
    return [augment_image(image, int(s), strength, hue) for s in view_seeds]

