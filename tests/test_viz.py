"""Tests for mmlab.viz: the figure helpers draw what they promise."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Audio  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from mmlab import viz  # noqa: E402


def images(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (64, 64), (20 * i, 100, 200)) for i in range(n)]


def wave(seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


@pytest.mark.parametrize("n,ncols,shape", [(10, 4, (3, 4)), (3, 8, (1, 3))])
def test_image_grid_has_one_axis_per_image(n: int, ncols: int, shape: tuple[int, int]) -> None:
    fig = viz.image_grid(images(n), titles=[f"#{i}" for i in range(n)], ncols=ncols)
    assert len(fig.axes) == n
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == shape
    assert [ax.get_title() for ax in fig.axes] == [f"#{i}" for i in range(n)]
    assert not plt.get_fignums()  # handed over, not left open in pyplot


def test_spectrogram_figure_has_one_row_per_wave() -> None:
    fig = viz.spectrogram_figure({"clean": wave(), "noisy": wave() + 0.01, "short": wave(0.2)})
    assert [ax.get_title() for ax in fig.axes] == ["clean", "noisy", "short"]
    fig.canvas.draw()


def test_show_audio_is_a_player() -> None:
    assert isinstance(viz.show_audio(wave()), Audio)


def test_viz_bad_input() -> None:
    with pytest.raises(ValueError, match="one title per image"):
        viz.image_grid(images(3), titles=["a"])
    with pytest.raises(ValueError, match="empty"):
        viz.image_grid([])
    with pytest.raises(ValueError, match="empty"):
        viz.spectrogram_figure({})
    with pytest.raises(ValueError, match="1-D mono"):
        viz.show_audio(np.zeros((100, 2)))
    with pytest.raises(ValueError, match="silent"):
        viz.show_audio(np.zeros(100))


def glyph_pixels(text: str) -> np.ndarray:
    """``text`` drawn alone, large, in black on white by the Agg backend: the grey levels of the figure."""
    fig = Figure(figsize=(1, 1), dpi=72)
    fig.text(0.5, 0.5, text, fontsize=48, ha="center", va="center")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., 0].copy()


def test_figures_show_chinese() -> None:
    path = viz.use_cjk_font()  # already ran at import; again, in case another test reset the font lists
    assert path is not None, "the CJK font package is not installed: pip install -r requirements.txt"
    registered = sum(entry.fname == path for entry in font_manager.fontManager.ttflist)
    viz.use_cjk_font()  # a second call registers nothing twice
    assert sum(entry.fname == path for entry in font_manager.fontManager.ttflist) == registered
    assert font_manager.findfont(font_manager.FontProperties(family=["sans-serif"])) == path

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # ✗ is not in Noto Sans CJK: it must come from the DejaVu Sans fallback
        fig = viz.image_grid(images(2), titles=["蓝色手套", "红色T恤 ✓ ✗"], ncols=2)
        fig.canvas.draw()
        blue, glove = glyph_pixels("蓝"), glyph_pixels("手")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing

    assert (blue < 128).any() and (glove < 128).any(), "no ink drawn"
    assert not np.array_equal(blue, glove), "two different characters drew the same (missing-glyph) box"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two private-use characters no font has: the comparison can see tofu
        assert np.array_equal(glyph_pixels("\ue000"), glyph_pixels("\ue001"))
