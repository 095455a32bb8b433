"""Export the code cells marked ``#@save <module>`` in the notebooks into mmlab modules, as d2l does.

    python -m tools.saved_cells            # (re)write every module that notebooks save into
    python -m tools.saved_cells --check    # exit 1, naming the modules, when one differs from its notebook cells

A notebook writes the model it teaches in the open, in a code cell whose first line is ``#@save models/fusion.py``
(a path inside ``mmlab/``); the notebook trains that class, and later notebooks and the search engine import the
same code from ``mmlab.models.fusion``. The module is the cells marked for it, in notebook order, after a header
naming the notebook: the notebook is the one source, and ``--check`` (run by the tests) keeps the copy current.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "#@save"
HEADER = '''"""{title}

Written, explained and trained in {notebook}. Generated from that notebook's cells marked ``{marker}``
(``python -m tools.saved_cells``): edit the notebook, not this file.
"""
'''


def saved_cells(notebook: Path) -> dict[str, list[str]]:
    """Module path (inside mmlab/) -> the source of each cell marked for it, marker line removed, in order."""
    out: dict[str, list[str]] = defaultdict(list)
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        first, _, body = source.partition("\n")
        if cell["cell_type"] == "code" and first.startswith(MARKER):
            target = first.removeprefix(MARKER).strip()
            if not target.endswith(".py"):
                raise ValueError(f"{notebook.name}: '{first}' must name a module inside mmlab/, e.g. "
                                 f"'{MARKER} models/fusion.py'")
            out[target].append(body.strip("\n"))
    return dict(out)


def _title(notebook: Path) -> str:
    """The notebook's first heading, e.g. '06 · Fusion: one product vector ...' -> 'The models of notebook 06 ...'."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    heading = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip()
    return f"The models of notebook {heading}."


def modules(notebooks_dir: Path) -> dict[Path, str]:
    """Every generated module's path and text."""
    out: dict[Path, str] = {}
    for notebook in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        for target, cells in saved_cells(notebook).items():
            path = ROOT / "mmlab" / target
            if path in out:
                raise ValueError(f"{target} is saved from two notebooks; give each notebook its own module")
            header = HEADER.format(title=_title(notebook), notebook=f"notebooks/{notebook.name}", marker=MARKER)
            out[path] = header + "\n" + "\n\n\n".join(cells) + "\n"
    return out


def stale(notebooks_dir: Path) -> list[Path]:
    """Generated modules whose file is missing or differs from the notebook cells."""
    return [path for path, text in modules(notebooks_dir).items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report modules that differ from their notebook")
    parser.add_argument("--notebooks-dir", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale(args.notebooks_dir)
        for path in outdated:
            print(f"{path.relative_to(ROOT)} differs from its notebook's {MARKER} cells; "
                  "regenerate it with: python -m tools.saved_cells", file=sys.stderr)
        return 1 if outdated else 0
    for path, text in modules(args.notebooks_dir).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
