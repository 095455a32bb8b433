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
from mmlab.encoders import audio
from mmlab.waves import check_wave

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


def spectrogram_figure(waves: dict[str, np.ndarray], sr: int = SAMPLE_RATE) -> Figure:
    """One log-mel spectrogram per wave, stacked with their names as titles, on one colour scale.

    The shared scale (0 to -80 dB relative to each clip's peak) and time axis make before/after pairs comparable.
    """
    if not waves:
        raise ValueError("waves is empty; pass e.g. {'clean': wave, 'noisy': noisy_wave}")
    fig, axes = plt.subplots(len(waves), 1, figsize=(8, 2.2 * len(waves)), sharex=True, squeeze=False,
                             layout="constrained")
    for ax, (name, wave) in zip(axes[:, 0], waves.items()):
        librosa.display.specshow(audio.log_mel(wave, sr), sr=sr, n_fft=audio.N_FFT, hop_length=audio.HOP,
                                 x_axis="time", y_axis="mel", ax=ax, vmin=-audio.TOP_DB, vmax=0, cmap="magma")
        ax.set_title(name)
        ax.label_outer()  # time labels on the bottom row only
    return _detached(fig)


def show_audio(wave: np.ndarray, sr: int = SAMPLE_RATE) -> Audio:
    """A notebook audio player for a waveform, loudness normalised so quiet clips are audible."""
    wave = check_wave(wave).astype(np.float32)
    if not np.any(wave):
        raise ValueError("wave is silent (all zeros); there is nothing to play")
    return Audio(wave, rate=sr, normalize=True)
