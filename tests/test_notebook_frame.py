"""Every committed notebook follows the workbook's notebook frame and carries no outputs.

Frame: title; sections "Learning objectives", "Prerequisites", "Estimated run time" (FAST and full);
a ``parameters``-tagged cell assigning literal FAST, SEED and METRICS_PATH; at least two "Exercise"
sections; a "Quiz" with answers folded in <details>; a "Summary"; a last code cell that records metrics in one call.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_RECORDING_LINES = 12  # the last cell records with one record_all call, not a page of name munging
SECTIONS = ["learning objectives", "prerequisites", "estimated run time", "quiz", "summary"]


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def nb(request: pytest.FixtureRequest) -> nbformat.NotebookNode:
    return nbformat.read(request.param, as_version=4)


def headings(nb: nbformat.NotebookNode) -> list[str]:
    """Lower-cased markdown headings of the notebook."""
    return [m.group(1).strip().lower() for c in nb.cells if c.cell_type == "markdown"
            for m in re.finditer(r"^#{1,6}\s+(.+)$", c.source, flags=re.M)]


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_no_outputs_committed(nb: nbformat.NotebookNode) -> None:
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells {dirty} carry outputs or execution counts; clear all outputs before committing"


def test_has_title(nb: nbformat.NotebookNode) -> None:
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        "the first cell must be markdown starting with a '# Title'"


@pytest.mark.parametrize("section", SECTIONS)
def test_has_section(nb: nbformat.NotebookNode, section: str) -> None:
    assert any(h.startswith(section) for h in headings(nb)), \
        f"missing a markdown heading starting with {section!r}; headings are {headings(nb)}"


def test_estimated_run_time_names_both_modes(nb: nbformat.NotebookNode) -> None:
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    section = text.lower().split("estimated run time", 1)[-1].split("\n#", 1)[0]
    assert "fast" in section and "full" in section, "the 'Estimated run time' section must give FAST and full times"


def test_has_two_exercises(nb: nbformat.NotebookNode) -> None:
    found = [h for h in headings(nb) if h.startswith("exercise")]
    assert len(found) >= 2, f"need at least two '## Exercise ...' headings, found {found}"


def test_quiz_answers_are_folded(nb: nbformat.NotebookNode) -> None:
    quiz = [c.source for c in nb.cells if c.cell_type == "markdown" and re.search(r"^#+\s+quiz", c.source, re.I | re.M)]
    assert quiz and "<details>" in quiz[0], "the Quiz cell must fold its answers in <details>...</details>"


def test_parameters_cell(nb: nbformat.NotebookNode) -> None:
    cells = [c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"need exactly one code cell tagged 'parameters', found {len(cells)}"
    assigned = {}
    for stmt in ast.parse(cells[0].source).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name), \
            f"the parameters cell may only hold 'NAME = literal' lines (derived values go in the next cell): " \
            f"{ast.unparse(stmt)!r}"
        try:
            assigned[stmt.targets[0].id] = ast.literal_eval(stmt.value)
        except ValueError:
            pytest.fail(f"parameter {stmt.targets[0].id} must be a literal, not {ast.unparse(stmt.value)!r}")
    missing = {"FAST", "SEED", "METRICS_PATH"} - assigned.keys()
    assert not missing, f"the parameters cell must define {sorted(missing)}"
    assert assigned["FAST"] is True and assigned["METRICS_PATH"] is None, \
        "commit the parameters cell with FAST = True and METRICS_PATH = None"


def test_last_code_cell_records_metrics_in_one_short_call(nb: nbformat.NotebookNode) -> None:
    last = code_cells(nb)[-1].source
    assert last.count(".record_all(") == 1 and ".record(" not in last, \
        "the last code cell must record the key metrics in one call: recorder.record_all({...})"
    assert len(last.splitlines()) <= MAX_RECORDING_LINES, \
        f"the recording cell has {len(last.splitlines())} lines: build the recorded tables where they are made"
