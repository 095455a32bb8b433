"""Product and query photos: naming the dominant colour, recolouring by hue rotation, camera-like corruption.

A catalog photo is the catalog artist's art, recoloured for the SKU, on a white background. A shopper's query photo
is the *other* artist's art of the same product, recoloured the same way, then shot badly: smaller, rotated,
shifted, on a busy background, blurred, noisy and JPEG-compressed. In your own catalog (``mmlab.data.byo``) the
product's real photo file, fitted into 64x64 by :func:`fit_photo`, takes the place of the art.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

SIZE = 64
VIVID_SATURATION = 0.25  # below this saturation a pixel reads as black, grey or white

# Chromatic colour names with their hue range in degrees [start, end) and the hue we rotate towards.
HUE_COLOURS = {
    "red": ((345, 15), 0, "红色"),
    "orange": ((15, 40), 28, "橙色"),
    "yellow": ((40, 70), 52, "黄色"),
    "green": ((70, 165), 120, "绿色"),
    "blue": ((165, 255), 215, "蓝色"),
    "purple": ((255, 290), 272, "紫色"),
    "pink": ((290, 345), 318, "粉色"),
}
NEUTRAL_COLOURS = {"black": "黑色", "grey": "灰色", "white": "白色"}
COLOUR_ZH = {name: zh for name, (_, _, zh) in HUE_COLOURS.items()} | NEUTRAL_COLOURS


def _hsv(image: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees, saturation and value in [0, 1], and alpha in [0, 1] of an RGBA image."""
    hsv = np.asarray(image.convert("RGB").convert("HSV"), dtype=np.float32)
    alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255
    return hsv[..., 0] * 360 / 256, hsv[..., 1] / 255, hsv[..., 2] / 255, alpha


def _vivid(sat: np.ndarray, val: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Opaque pixels with enough saturation and brightness to have a nameable hue."""
    return (alpha > 0.5) & (sat > VIVID_SATURATION) & (val > 0.3)


def _hue_name(hue: np.ndarray) -> np.ndarray:
    names = np.empty(hue.shape, dtype=object)
    for name, ((start, end), _, _) in HUE_COLOURS.items():
        inside = (hue >= start) & (hue < end) if start < end else (hue >= start) | (hue < end)
        names[inside] = name
    return names


def dominant_colour(image: Image.Image) -> tuple[str, bool]:
    """The colour a shopper would name, and whether it is chromatic (so hue rotation can change it).

    Opaque, saturated, not-too-dark (vivid) pixels vote by hue; if fewer than a quarter of the opaque pixels are
    saturated, the object is black, grey or white by its mean brightness.
    """
    hue, sat, val, alpha = _hsv(image)
    opaque = alpha > 0.5
    vivid = _vivid(sat, val, alpha)
    if vivid.sum() < 0.25 * max(opaque.sum(), 1):
        brightness = val[opaque].mean() if opaque.any() else 1.0
        return ("black" if brightness < 0.35 else "white" if brightness > 0.8 else "grey"), False
    names, counts = np.unique(_hue_name(hue[vivid]), return_counts=True)
    return str(names[np.argmax(counts)]), True


def rotate_hue(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate the hue of every pixel by ``degrees``, keeping saturation, value and transparency."""
    if degrees % 360 == 0:
        return image.copy()
    hsv = np.asarray(image.convert("RGB").convert("HSV")).copy()
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + round(degrees * 256 / 360)) % 256).astype(np.uint8)
    rotated = Image.fromarray(hsv, "HSV").convert("RGB").convert("RGBA")
    rotated.putalpha(image.getchannel("A"))
    return rotated


def hue_shift_to(image: Image.Image, colour: str) -> float | None:
    """The hue rotation that turns a chromatic image's dominant colour into ``colour`` (None if it fails)."""
    base, chromatic = dominant_colour(image)
    if not chromatic or colour not in HUE_COLOURS:
        return None
    hue, sat, val, alpha = _hsv(image)
    vivid = _vivid(sat, val, alpha) & (_hue_name(hue) == base)
    mean_hue = np.degrees(np.angle(np.exp(1j * np.radians(hue[vivid])).mean())) % 360
    shift = float(round((HUE_COLOURS[colour][1] - mean_hue) % 360))
    return shift if dominant_colour(rotate_hue(image, shift))[0] == colour else None


def on_background(image: Image.Image, background: Image.Image | None = None) -> Image.Image:
    """Composite an RGBA image onto a background (white by default) and return RGB."""
    canvas = background.convert("RGB") if background is not None else Image.new("RGB", image.size, "white")
    canvas.paste(image, (0, 0), image)
    return canvas


def fit_photo(path: str | Path, size: int = SIZE) -> Image.Image:
    """A photo file as a size x size RGBA image: scaled to fit, aspect ratio kept, centred, transparent margins."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}; check the path")
    try:
        with Image.open(path) as image:
            image.draft("RGB", (size, size))  # JPEG only: decode big photos at a reduced scale, much faster
            photo = ImageOps.contain(ImageOps.exif_transpose(image).convert("RGBA"), (size, size))
    except (OSError, SyntaxError) as error:  # what PIL raises for unreadable or truncated files
        raise ValueError(f"cannot read image {path}: {error}; is it a valid PNG or JPEG file?") from error
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(photo, ((size - photo.width) // 2, (size - photo.height) // 2))
    return canvas


def _random_background(rng: np.random.Generator) -> Image.Image:
    """A light solid colour, a linear gradient or a noisy texture: what sits behind a product in a photo."""
    kind = rng.integers(3)
    top, bottom = rng.integers(140, 256, size=(2, 3))
    if kind == 0:
        pixels = np.broadcast_to(top, (SIZE, SIZE, 3))
    elif kind == 1:
        ramp = np.linspace(0, 1, SIZE)[:, None, None]
        pixels = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (SIZE, SIZE, 3))
    else:
        pixels = top + rng.normal(0, 25, size=(SIZE, SIZE, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def shopper_photo(art: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A camera-like shot of a product: scale, rotate, shift, background, blur, noise, JPEG."""
    scale = rng.uniform(0.6, 0.95)
    size = max(8, round(SIZE * scale))
    product = art.resize((size, size), Image.Resampling.BILINEAR)
    product = product.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BILINEAR, expand=True)
    layer = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    slack = max(SIZE - product.width, 0), max(SIZE - product.height, 0)
    offset = int(rng.integers(slack[0] + 1)) - max(product.width - SIZE, 0) // 2, \
        int(rng.integers(slack[1] + 1)) - max(product.height - SIZE, 0) // 2
    layer.paste(product, offset, product)
    photo = on_background(layer, _random_background(rng))
    photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
    noisy = np.asarray(photo, dtype=np.float32) + rng.normal(0, rng.uniform(0, 8), size=(SIZE, SIZE, 3))
    photo = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=int(rng.integers(30, 86)))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
