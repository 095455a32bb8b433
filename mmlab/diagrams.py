"""Architecture diagrams drawn with matplotlib: the two towers with their product fusion, and TIRG's composition.

Each function returns a ``Figure`` that pyplot no longer tracks (shown once when it is a cell's last value).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

FROZEN, LEARNED, VECTOR = "#e8e8e8", "#cfe3f7", "#fde2b8"  # box colours: frozen encoder, trained module, a vector

PRODUCT_SOURCES = {"image": "catalog photo\nimage encoder (02)", "text": "title + description\ntext encoder (03)",
                   "review": "reviews\nreview encoder (04)", "behaviour": "sessions\nitem2vec (04)"}
QUERY_SOURCES = {"text": ("typed query\ntext encoder (03)", "Linear"),
                 "voice": ("spoken query\nrecogniser → text (05)", "Linear"),
                 "image": ("shopper photo\nimage encoder (02)", "Linear"),
                 "composed": ("photo + modifier\n02 and 03", "TIRG gate")}


def _box(ax: Axes, x: float, y: float, text: str, colour: str) -> Text:
    return ax.text(x, y, text, ha="center", va="center", fontsize=7.5, zorder=2,
                   bbox={"boxstyle": "round,pad=0.3", "facecolor": colour, "edgecolor": "#555555", "linewidth": 0.8})


def _arrow(ax: Axes, start: Text, end: Text, label: str = "", rad: float = 0.0) -> None:
    """An arrow from box to box, clipped at both boxes' edges, with an optional label at its middle."""
    ax.annotate("", xy=(0.5, 0.5), xycoords=end, xytext=(0.5, 0.5), textcoords=start, zorder=1,
                arrowprops={"arrowstyle": "-|>", "color": "#444444", "lw": 0.9, "mutation_scale": 9,
                            "patchA": start.get_bbox_patch(), "patchB": end.get_bbox_patch(),
                            "connectionstyle": f"arc3,rad={rad}"})
    if label:
        (x0, y0), (x1, y1) = start.get_position(), end.get_position()
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.2, label, ha="center", fontsize=7, color="#444444")


def two_tower_figure(modalities: list[str] | tuple[str, ...], kinds: list[str] | tuple[str, ...],
                     fusion: str = "concat | weighted sum | attention") -> Figure:
    """The product tower (frozen encoders → per-modality projections + mask → fuser) facing the query tower
    (frozen encoders → one module per query kind), both ending in unit vectors compared by a dot product."""
    unknown = (set(modalities) - set(PRODUCT_SOURCES)) | (set(kinds) - set(QUERY_SOURCES))
    if not modalities or not kinds or unknown:
        raise ValueError(f"name product modalities of {tuple(PRODUCT_SOURCES)} and query kinds of "
                         f"{tuple(QUERY_SOURCES)}; got {tuple(modalities)} and {tuple(kinds)}")
    fig, ax = plt.subplots(figsize=(10, 4.6))
    rows = max(len(modalities), len(kinds))
    ax.set(xlim=(-0.5, 15.5), ylim=(-1.6, rows + 0.3))
    ax.axis("off")
    top = lambda i, n: rows - 0.5 - i * rows / n  # noqa: E731 (row height shared by both towers)
    middle = (rows - 1) / 2
    ax.text(3.5, rows + 0.1, "product tower", ha="center", fontsize=10, weight="bold")
    ax.text(11.9, rows + 0.1, "query tower", ha="center", fontsize=10, weight="bold")
    fuser = _box(ax, 5.6, middle, f"fuser\n{fusion.replace(' | ', chr(10))}\n(mask: which exist)", LEARNED)
    product = _box(ax, 5.6, -1.1, "product vector $h$\n(unit, d = 128)", VECTOR)
    query = _box(ax, 10.0, -1.1, "query vector $q$\n(unit, d = 128)", VECTOR)
    for i, m in enumerate(modalities):
        y = top(i, len(modalities))
        projection = _box(ax, 3.5, y, f"Linear $p_{{{m}}}$\nzero if missing", LEARNED)
        _arrow(ax, _box(ax, 0.9, y, PRODUCT_SOURCES[m], FROZEN), projection)
        _arrow(ax, projection, fuser)
    _arrow(ax, fuser, product)
    for i, kind in enumerate(kinds):
        y = top(i, len(kinds))
        source, module = QUERY_SOURCES[kind]
        head = _box(ax, 11.9, y, module, LEARNED)
        _arrow(ax, _box(ax, 14.3, y, source, FROZEN), head)
        _arrow(ax, head, query)
    _arrow(ax, query, product, "score $q \\cdot h$\n(InfoNCE in training)")
    ax.text(7.8, rows - 0.2, "grey: frozen upstream encoder\nblue: trained here\norange: the vectors compared",
            ha="center", va="top", fontsize=7, color="#444444")
    fig.tight_layout()
    plt.close(fig)
    return fig


def tirg_figure() -> Figure:
    """TIRG's composed query: h = w_g σ(f_g([x, t])) ⊙ x + w_r f_r([x, t]), then unit length."""
    fig, ax = plt.subplots(figsize=(9, 2.6))
    ax.set(xlim=(-0.5, 13.5), ylim=(-0.3, 2.6))
    ax.axis("off")
    photo = _box(ax, 0.6, 2.0, "photo $x$\n(projected)", VECTOR)
    text = _box(ax, 0.6, 0.4, "modifier $t$\n(projected)", VECTOR)
    both = _box(ax, 3.0, 1.2, "concatenate\n$[x, t]$", LEARNED)
    gate = _box(ax, 5.6, 2.0, "gate MLP $f_g$\nthen sigmoid σ", LEARNED)
    residual = _box(ax, 5.6, 0.4, "residual MLP $f_r$", LEARNED)
    kept = _box(ax, 8.4, 2.0, "$w_g\\,σ(\\cdot) \\odot x$\nkeep the photo,\nfeature by feature", LEARNED)
    edit = _box(ax, 8.4, 0.4, "$w_r\\,f_r(\\cdot)$\nthe text's edit", LEARNED)
    total = _box(ax, 10.8, 1.2, "sum,\nunit length", LEARNED)
    composed = _box(ax, 12.7, 1.2, "composed\nquery $h$", VECTOR)
    for start, end in [(photo, both), (text, both), (both, gate), (both, residual), (gate, kept), (residual, edit),
                       (kept, total), (edit, total), (total, composed)]:
        _arrow(ax, start, end)
    _arrow(ax, photo, kept, rad=-0.2)  # the photo itself reaches the product with the gate
    fig.tight_layout()
    plt.close(fig)
    return fig
