"""Offline text-to-speech with espeak-ng, background noise at a chosen SNR, and WAV helpers.

Voice queries in MiniMart are the text queries spoken by espeak-ng, a small formant synthesiser.
The PyPI package ``espeakng-loader`` ships the compiled library and its data files, and we call the
library's C API directly through :mod:`ctypes` (no system package, no ``espeak`` command).

    wave = synthesize("red running shoes")                # float32, 16 kHz, mono
    noisy = mix_noise(wave, snr_db=5, rng=np.random.default_rng(0), kind="babble")

One surprise worth knowing: espeak-ng keeps hidden state in C ``static`` variables (the phase of its
pitch "flutter", its automatic gain control, ...) that survive ``espeak_Terminate``, so saying the same
text twice in one process gives slightly different samples. To make every call deterministic we load
a fresh private copy of the library for each utterance and unload it afterwards (a few milliseconds).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import numbers
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import _ctypes
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from mmlab.waves import check_wave

SAMPLE_RATE = 16_000  # Hz, what every mmlab audio function expects
ESPEAK_SAMPLE_RATE = 22_050  # Hz, what espeak-ng produces (16000 / 22050 = 320 / 441)

# Voices per language: an espeak-ng voice, optionally with a "+variant" that changes pitch, formants
# and breathiness (variant files live in espeak-ng-data/voices/!v). Unknown variants are silently
# ignored by espeak, so tests check that every name here really changes the sound.
VOICES: dict[str, list[str]] = {
    "en": ["en-us", "en-us+f2", "en-us+m3", "en-us+f4"],
    "zh": ["cmn", "cmn+f2", "cmn+m3", "cmn+f4"],  # cmn = Mandarin Chinese; reads Hanzi
}
RATE_RANGE = (80, 450)  # words per minute that espeak-ng accepts
PITCH_RANGE = (0, 99)  # espeak-ng's base pitch scale; 50 is normal

_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # CJK ideographs

# ---------------------------------------------------------------------------------------------------
# espeak-ng through ctypes
# ---------------------------------------------------------------------------------------------------

# Constants from espeak-ng's public header speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_Synth returns when done; audio goes to our callback
_INITIALIZE_DONT_EXIT = 0x8000  # on a data error return an error code instead of exiting Python
_POS_CHARACTER = 1  # start position is counted in characters (we start at 0)
_CHARS_UTF8 = 1  # the text we pass is UTF-8
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH = 1, 2, 3
_EE_OK = 0

# C signature of the callback: int callback(short *samples, int n_samples, espeak_EVENT *events)
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_LOCK = threading.Lock()  # one utterance at a time: the library is not thread-safe
_PRIVATE_LIB: Path | None = None  # our own copy of libespeak-ng, made once per process


def _private_library() -> Path:
    """Copy libespeak-ng to a temporary folder once per process and return the copy's path.

    A private copy guarantees that unloading really unloads it, even if another package in this
    process (e.g. a phonemiser) has loaded the original file.
    """
    global _PRIVATE_LIB
    if _PRIVATE_LIB is None:
        import espeakng_loader  # imported here so the rest of the module works without it

        folder = Path(tempfile.mkdtemp(prefix="mmlab-espeak-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        source = Path(espeakng_loader.get_library_path())
        _PRIVATE_LIB = Path(shutil.copy(source, folder / source.name))
    return _PRIVATE_LIB


def _load_library() -> ctypes.CDLL:
    """Load libespeak-ng and declare the C signatures of the functions we call."""
    lib = ctypes.CDLL(str(_private_library()))
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,  # text
        ctypes.c_size_t,  # size of the text buffer in bytes
        ctypes.c_uint,  # start position
        ctypes.c_int,  # position type
        ctypes.c_uint,  # end position (0 = to the end)
        ctypes.c_uint,  # flags
        ctypes.c_void_p,  # unique identifier (unused)
        ctypes.c_void_p,  # user data (unused)
    ]
    return lib


def _unload_library(lib: ctypes.CDLL) -> None:
    """Unload the library so its C static variables start fresh next time."""
    unload = getattr(_ctypes, "dlclose", None) or _ctypes.FreeLibrary  # POSIX or Windows
    unload(lib._handle)


def _check(code: int, what: str) -> None:
    if code != _EE_OK:
        raise RuntimeError(f"espeak-ng failed in {what} (error code {code})")


@contextlib.contextmanager
def _fresh_espeak() -> Iterator[ctypes.CDLL]:
    """Load a fresh copy of libespeak-ng, initialise it, and unload it again afterwards."""
    import espeakng_loader

    lib = _load_library()
    try:
        data = espeakng_loader.get_data_path().encode()
        rate_hz = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
        if rate_hz != ESPEAK_SAMPLE_RATE:
            raise RuntimeError(f"espeak-ng failed to initialise (returned {rate_hz}); data folder: {data!r}")
        try:
            yield lib
        finally:
            lib.espeak_Terminate()  # free espeak's memory
    finally:
        _unload_library(lib)  # forget its C static variables


def _espeak(text: str, voice_name: str, rate: int, pitch: int) -> np.ndarray:
    """Speak ``text`` with espeak-ng; return its raw int16 samples at 22,050 Hz."""
    chunks: list[bytes] = []

    @_SynthCallback
    def collect(samples, n_samples, events):  # espeak calls this with each block of audio
        if samples and n_samples > 0:
            chunks.append(ctypes.string_at(samples, 2 * n_samples))  # 2 bytes per int16 sample
        return 0  # 0 = keep going

    encoded = text.encode("utf-8") + b"\0"  # C strings end with a zero byte
    with _LOCK, _fresh_espeak() as lib:
        lib.espeak_SetSynthCallback(collect)
        _check(lib.espeak_SetVoiceByName(voice_name.encode()), f"SetVoiceByName({voice_name!r})")
        _check(lib.espeak_SetParameter(_PARAM_RATE, rate, 0), "SetParameter(rate)")
        _check(lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0), "SetParameter(pitch)")
        _check(lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0), "SetParameter(volume)")
        lib.espeak_ng_SetRandSeed(0)  # breathy variants (+f2, +f4) add pseudo-random noise
        # Synchronous mode: this returns once the whole text is spoken into `collect`.
        _check(lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None), "Synth")
    return np.frombuffer(b"".join(chunks), dtype=np.int16)


# ---------------------------------------------------------------------------------------------------
# Text to speech
# ---------------------------------------------------------------------------------------------------


def _check_int_in_range(name: str, value: object, low: int, high: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside {low}-{high}; {hint}")
    return int(value)


def synthesize(text: str, lang: str = "en", voice: int = 0, rate: int = 160, pitch: int = 50) -> np.ndarray:
    """Speak ``text`` and return a mono float32 waveform at ``SAMPLE_RATE`` (16 kHz), in [-1, 1].

    ``lang`` is "en" or "zh"; ``voice`` indexes ``VOICES[lang]``; ``rate`` is words per minute
    (80-450); ``pitch`` is espeak's base pitch (0-99, 50 = normal). Same arguments, same samples.
    Leading and trailing silence is kept (preprocessing trims it).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty; pass the query to speak, e.g. 'red running shoes'")
    if "\0" in text:
        raise ValueError("text contains a NUL character ('\\0'); remove it before synthesis")
    if lang not in VOICES:
        raise ValueError(f"unknown lang {lang!r}; use one of {sorted(VOICES)}")
    if lang == "en" and _HANZI.search(text):
        raise ValueError("text contains Chinese characters, which the English voice reads as "
                         "'Chinese letter'; use lang='zh' (the Mandarin voice also reads Latin words)")
    n_voices = len(VOICES[lang])
    voice = _check_int_in_range("voice", voice, 0, n_voices - 1, f"pick an index into VOICES[{lang!r}]")
    rate = _check_int_in_range("rate", rate, *RATE_RANGE, "espeak-ng speaks 80-450 words per minute")
    pitch = _check_int_in_range("pitch", pitch, *PITCH_RANGE, "50 is a normal pitch")

    raw = _espeak(text, VOICES[lang][voice], rate, pitch)
    if raw.size < 2 or not np.any(raw):
        raise ValueError(
            f"espeak-ng produced no sound for {text!r}; the text may be only punctuation or symbols"
        )
    wave = resample_poly(raw.astype(np.float64) / 32768.0, SAMPLE_RATE // 50, ESPEAK_SAMPLE_RATE // 50)
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# WAV files
# ---------------------------------------------------------------------------------------------------


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Save a mono waveform as 16-bit PCM WAV (values outside [-1, 1] are clipped). Returns the path."""
    wave = check_wave(wave).astype(np.float64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Load an audio file as a mono float32 waveform in [-1, 1] and its sample rate.

    Multi-channel files are mixed down by averaging the channels.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}; check the path")
    try:
        wave, sample_rate = sf.read(path, dtype="float32", always_2d=True)
    except sf.LibsndfileError as error:
        raise ValueError(f"cannot read audio file {path}: {error}; is it a valid WAV/FLAC/OGG file?") from error
    if wave.shape[0] == 0:
        raise ValueError(f"audio file {path} contains no samples; re-record or remove it")
    return wave.mean(axis=1).astype(np.float32), int(sample_rate)
