"""A shopper's uploads read safely: a photo and a recording, as bytes from the web page, each within stated limits.

Every refusal is an :class:`UploadError` whose message names the problem and the fix, with the HTTP status the web
app answers with. The limits:

- a request body of at most ``MAX_UPLOAD_MB`` MB (checked by the web app before it reads the body);
- a photo in JPEG, PNG, WebP, GIF or BMP of at most ``MAX_PHOTO_MEGAPIXELS`` megapixels: its size is read from the
  file's header before any pixel is decoded, a JPEG is decoded at a reduced scale, and every photo is brought down
  to ``PHOTO_SIDE`` pixels (the engine looks at 64x64 anyway);
- a recording as a WAV file (PCM or float samples, any channel count, 8-96 kHz), from ``MIN_CLIP_SECONDS`` to
  ``MAX_CLIP_SECONDS`` long and not silent (its loudest 50 ms above ``SILENCE_DBFS``); the quiet before and after the
  speech is cut off, as the recogniser hears words in a stretch of silence.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from PIL import Image, UnidentifiedImageError

from mmlab.encoders.audio import SAMPLE_RATE
from mmlab.preprocess import resample, to_mono, trim_silence

MAX_UPLOAD_MB = 10
MAX_PHOTO_MEGAPIXELS = 40
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
PHOTO_SIDE = 256  # the longest side a photo is decoded or scaled down to
MIN_CLIP_SECONDS, MAX_CLIP_SECONDS = 0.3, 15.0
CLIP_RATES = (8_000, 96_000)  # the sample rates a recording may have (Hz)
SILENCE_DBFS = -50.0  # a recording whose loudest 50 ms is quieter than this holds no speech


class UploadError(ValueError):
    """Bad input from the page: ``status`` is the HTTP status to answer with, the message says what to do."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Photo:
    """A decoded upload: the image (longest side at most PHOTO_SIDE) and the size of the file it came from."""

    image: Image.Image
    width: int
    height: int

    @property
    def note(self) -> str:
        return f"your {self.width}x{self.height} photo ({self.width * self.height / 1e6:.1f} megapixels)"


def read_photo(data: bytes) -> Photo:
    """The photo in ``data``, checked and scaled down; an UploadError for anything that is not a usable photo."""
    if not data:
        raise UploadError("the photo file is empty (0 bytes); choose a photo (JPEG, PNG, WebP, GIF or BMP)")
    try:
        image = Image.open(io.BytesIO(data), formats=PHOTO_FORMATS)  # reads the header only
    except UnidentifiedImageError:
        raise UploadError("the uploaded file is not a photo this search can read; upload a JPEG, PNG, WebP, GIF or "
                          "BMP image", status=415) from None
    except Image.DecompressionBombError:  # Pillow's own refusal, far above ours (it warns from half of it)
        raise UploadError(f"the photo has over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; the limit is "
                          f"{MAX_PHOTO_MEGAPIXELS} megapixels. Scale it down", status=413) from None
    width, height = image.size
    if width * height > MAX_PHOTO_MEGAPIXELS * 1e6:
        raise UploadError(f"the photo is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); the limit is "
                          f"{MAX_PHOTO_MEGAPIXELS} megapixels. Scale it down (any size above 64x64 pixels works)",
                          status=413)
    image.draft("RGB", (PHOTO_SIDE, PHOTO_SIDE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale (no effect for others)
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UploadError(f"the photo file is damaged and cannot be decoded ({error}); upload it again or choose "
                          "another photo") from None
    image = image.convert("RGB")
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.LANCZOS)
    return Photo(image, width, height)


def read_clip(data: bytes) -> np.ndarray:
    """The speech in the recording ``data``: a mono float32 wave at 16 kHz, checked, with the quiet stretches before
    and after it cut off (more than 30 dB below its loudest frame); an UploadError for anything else."""
    if not data:
        raise UploadError("the recording is empty (0 bytes); record again and speak a few words")
    if data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise UploadError(f"unsupported audio format ({sniff_audio(data)}): send a WAV file (16-bit PCM, mono); the "
                          "page's microphone button records one", status=415)
    try:
        info = sf.info(io.BytesIO(data))  # the header: length and rate are checked before the samples are decoded
        check_clip_length(info.frames / info.samplerate, info.samplerate)
        wave, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise UploadError(f"the WAV file is damaged or uses an unsupported encoding ({error}); send 16-bit PCM "
                          "WAV", status=415) from None
    wave = resample(to_mono(wave), rate, SAMPLE_RATE)
    if loudest_dbfs(wave) < SILENCE_DBFS:
        raise UploadError("the recording is silent: nothing was heard. Check that the right microphone is chosen "
                          "and not muted, then speak a few words, e.g. \"red mug\"")
    return trim_silence(wave)  # the recogniser was trained on clips cut to the speech: around it, it hears words


def check_clip_length(seconds: float, rate: int) -> None:
    if not CLIP_RATES[0] <= rate <= CLIP_RATES[1]:
        raise UploadError(f"the recording's sample rate is {rate} Hz; send {CLIP_RATES[0]:,}-{CLIP_RATES[1]:,} Hz "
                          "(16,000 Hz is best)")
    if seconds > MAX_CLIP_SECONDS:
        raise UploadError(f"the recording is {seconds:.1f} s long; the limit is {MAX_CLIP_SECONDS:.0f} s. Say just "
                          "the product, e.g. \"red mug\"", status=413)
    if seconds < MIN_CLIP_SECONDS:
        raise UploadError(f"the recording is {seconds:.2f} s long, too short to hold a word; hold the microphone "
                          f"button for at least {MIN_CLIP_SECONDS} s and speak a few words")


def loudest_dbfs(wave: np.ndarray, frame: int = SAMPLE_RATE // 20) -> float:
    """The RMS level (dB below full scale) of the loudest 50 ms frame of a 16 kHz wave."""
    frames = wave[: len(wave) // frame * frame].reshape(-1, frame) if len(wave) >= frame else wave[None, :]
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)).max()
    return float(20 * np.log10(max(rms, 1e-12)))


def sniff_audio(data: bytes) -> str:
    """A name for what a non-WAV upload looks like, from its first bytes."""
    signatures = {b"OggS": "Ogg", b"fLaC": "FLAC", b"ID3": "MP3", b"\x1aE\xdf\xa3": "WebM/Matroska",
                  b"\xff\xfb": "MP3", b"\xff\xf3": "MP3"}
    for magic, name in signatures.items():
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        return "MP4/M4A"
    return "not a WAV file"
