"""Small plotting helpers the notebooks share: image grids, spectrograms and audio players.

Each figure function returns a matplotlib ``Figure`` that pyplot no longer tracks: a notebook shows it once when it
is the cell's last value (or with ``display(fig)``), never twice, and figures made in a loop do not pile up.

Importing this module also lets every matplotlib figure show Chinese (see ``use_cjk_font``).
"""

from __future__ import annotations

import math
import warnings

import librosa
import librosa.display
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Audio
from matplotlib import font_manager
from matplotlib.figure import Figure
from PIL import Image

from mmlab.data.speech import SAMPLE_RATE

N_MELS = 64  # mel bands in the spectrogram pictures
N_FFT, HOP = 512, 160  # 32 ms windows every 10 ms: the usual framing for speech at 16 kHz
TOP_DB = 80  # dynamic range shown, in dB below each clip's loudest point
CJK_FONT = "Noto Sans CJK SC"  # the Simplified Chinese face of Noto Sans CJK (package noto-cjk-sans-otc, OFL-1.1)
SYMBOL_FALLBACK = "DejaVu Sans"  # matplotlib's own font, for the few symbols Noto Sans CJK lacks (such as ✗)


def use_cjk_font() -> str | None:
    """Let matplotlib figures show Chinese; return the font file used, or None (with a warning) when it is missing.

    Registers the Noto Sans CJK collection shipped by the ``noto-cjk-sans-otc`` package (pinned in
    requirements.txt), puts its Simplified Chinese face first in ``font.sans-serif`` (it has Latin letters and
    digits too) and DejaVu Sans after it in ``font.family`` as fallback for symbols the CJK font lacks. Runs once
    when this module is imported; calling it again is harmless. ``seaborn.set_theme`` resets matplotlib's font
    lists, so call this again after it when a figure shows Chinese.
    """
    try:
        from noto_cjk_sans_otc import FONT_PATH
    except ImportError:
        warnings.warn("figures cannot show Chinese: the font package noto-cjk-sans-otc is not installed; "
                      "install the pinned packages with `.venv/bin/pip install -r requirements.txt`", stacklevel=2)
        return None
    path = str(FONT_PATH)
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)  # every face of the collection: CJK SC, TC, HK, JP, KR
    rc = matplotlib.rcParams
    rc["font.sans-serif"] = [CJK_FONT, *(name for name in rc["font.sans-serif"] if name != CJK_FONT)]
    family = list(rc["font.family"])
    rc["font.family"] = family + [name for name in ("sans-serif", SYMBOL_FALLBACK) if name not in family]
    return path


use_cjk_font()


def _detached(fig: Figure) -> Figure:
    """Stop pyplot tracking ``fig`` so the notebook does not also draw it at the end of the cell."""
    plt.close(fig)
    return fig


def image_grid(images: list[Image.Image], titles: list[str] | None = None, ncols: int = 8,
               scale: float = 1.5) -> Figure:
    """Images in rows of ``ncols``, each ``scale`` inches wide, with optional titles above them."""
    if not images:
        raise ValueError("images is empty; pass at least one PIL image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images; pass one title per image or None")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig = plt.figure(figsize=(scale * ncols, scale * nrows + (0.3 * nrows if titles else 0)), layout="constrained")
    for i, image in enumerate(images):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.imshow(image)
        ax.set_axis_off()
        if titles:
            ax.set_title(titles[i], fontsize=8)
    return _detached(fig)


def _mono(wave: np.ndarray) -> np.ndarray:
    """``wave`` as a 1-D float32 array of finite samples, or a clear error."""
    array = np.asarray(wave, dtype=np.float32)
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"wave must be a non-empty 1-D mono waveform of finite samples, got shape {array.shape}")
    return array


def log_mel(wave: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Log-mel spectrogram in dB relative to the clip's loudest point, shape (N_MELS, frames)."""
    mel = librosa.feature.melspectrogram(y=_mono(wave), sr=sr, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    return librosa.power_to_db(mel, ref=np.max, top_db=TOP_DB)


def spectrogram_figure(waves: dict[str, np.ndarray], sr: int = SAMPLE_RATE) -> Figure:
    """One log-mel spectrogram per wave, stacked with their names as titles, on one colour scale.

    The shared scale (0 to -80 dB relative to each clip's peak) and time axis make before/after pairs comparable.
    """
    if not waves:
        raise ValueError("waves is empty; pass e.g. {'clean': wave, 'noisy': noisy_wave}")
    fig, axes = plt.subplots(len(waves), 1, figsize=(8, 2.2 * len(waves)), sharex=True, squeeze=False,
                             layout="constrained")
    for ax, (name, wave) in zip(axes[:, 0], waves.items()):
        librosa.display.specshow(log_mel(wave, sr), sr=sr, hop_length=HOP, x_axis="time", y_axis="mel", ax=ax,
                                 vmin=-TOP_DB, vmax=0, cmap="magma")
        ax.set_title(name)
        ax.label_outer()  # time labels on the bottom row only
    return _detached(fig)


def show_audio(wave: np.ndarray, sr: int = SAMPLE_RATE) -> Audio:
    """A notebook audio player for a waveform, loudness normalised so quiet clips are audible."""
    wave = _mono(wave)
    if not np.any(wave):
        raise ValueError("wave is silent (all zeros); there is nothing to play")
    return Audio(wave, rate=sr, normalize=True)
