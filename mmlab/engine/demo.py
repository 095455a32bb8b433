"""The engine in a notebook: one query's table and grid, and an ipywidgets search box."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from mmlab.engine.inputs import LANGS
from mmlab.engine.search import SearchEngine
from mmlab.towerdata import QUERY_KINDS

def show(engine: SearchEngine, kind: str, query: Any, lang: str = "en", k: int = 5) -> None:
    """Display the results table and grid of one query (what the demo and its static fallback both show)."""
    from IPython.display import display

    results = engine.search(kind, query, lang, k)
    if "heard" in results.attrs:
        print(f"heard: {results.attrs['heard']!r}")
    display(results.round(3))
    display(engine.grid(results))


def demo(engine: SearchEngine, photos: dict[str, Image.Image], clips: dict[str, np.ndarray], k: int = 5) -> Any:
    """An ipywidgets search box: typed text (en/zh), a sample or uploaded photo, a sample voice clip, or photo + text;
    a language toggle for the result titles.

    Needs a live Jupyter front end to react; under papermill or nbval nothing clicks it, which is why the notebook
    renders a fixed list of example queries with :func:`show` as well.
    """
    import ipywidgets as widgets

    kind = widgets.ToggleButtons(options=QUERY_KINDS, description="query")
    lang = widgets.ToggleButtons(options=LANGS, description="titles")
    words = widgets.Text(value="red mug", description="text")
    photo = widgets.Dropdown(options=list(photos), description="photo")
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="or upload")
    clip = widgets.Dropdown(options=list(clips), description="voice clip")
    button, out = widgets.Button(description="search", button_style="primary"), widgets.Output()

    def chosen_photo() -> Image.Image:
        if upload.value:
            import io
            return Image.open(io.BytesIO(bytes(upload.value[0]["content"])))
        return photos[photo.value]

    def on_click(_: Any) -> None:
        out.clear_output()
        with out:
            try:
                query = {"text": lambda: words.value, "image": chosen_photo, "voice": lambda: clips[clip.value],
                         "composed": lambda: (chosen_photo(), words.value)}[kind.value]()
                show(engine, kind.value, query, lang.value, k)
            except (TypeError, ValueError, OSError) as error:  # bad input: say what is wrong, keep the demo alive
                print(f"⚠️ {error}")

    button.on_click(on_click)
    return widgets.VBox([kind, lang, widgets.HBox([words, photo, upload]), clip, button, out])
