"""Editions of the workbook: the teacher's (the notebooks as committed, with solutions), the student's and CI's.

An exercise is a code cell tagged ``solution`` whose answer sits between two marker lines, with a hint first::

    def cosine(a, b):
        # BEGIN SOLUTION
        # HINT: divide the dot product by the product of the two norms
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        # END SOLUTION

    passed["cosine"] = check_cosine(cosine)      # here or in the next code cell

* **Student edition** (``make student`` → ``student/``): each answer becomes
  ``raise NotImplementedError("Hint: ...")``; outputs are cleared; everything else is unchanged.
* **CI edition** (``make test`` runs it under nbval): the teacher notebook with one cell added before each exercise
  that runs the student's stub through the same ``check_*`` call and fails unless the check says "not done yet"
  with the hint. The solution then runs as usual with ``MMLAB_STRICT_EXERCISES=1``, so a solution that fails its
  check stops the run (see :func:`mmlab.exercises.common.verdict`). Both promises are proved in the notebooks'
  real context, at almost no extra cost.

    python -m tools.editions student notebooks student
    python -m tools.editions ci notebooks build/ci-notebooks
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat


BEGIN, END, HINT = "# BEGIN SOLUTION", "# END SOLUTION", "# HINT:"
_REGION = re.compile(rf"^(?P<indent>[ \t]*){re.escape(BEGIN)}[^\n]*\n(?P<body>.*?)^[ \t]*{re.escape(END)}[^\n]*\n?",
                     re.M | re.S)


@dataclass(frozen=True)
class Exercise:
    """One solution cell: where it is, its hint, its student stub and the ``check_*`` call that grades it."""

    notebook: str
    cell: int
    hint: str
    student_source: str
    check_call: str


def _problem(where: str, what: str) -> ValueError:
    return ValueError(f"{where}: {what}. An exercise cell is tagged 'solution' and holds '{BEGIN}', a '{HINT} ...' "
                      f"line, the answer, then '{END}' (see tools/editions.py).")


def student_source(source: str, where: str = "cell") -> tuple[str, str]:
    """(the cell with every answer replaced by ``raise NotImplementedError(hint)``, the first hint)."""
    hints = []

    def stub(match: re.Match) -> str:
        lines = match["body"].splitlines()
        if not lines or not lines[0].strip().startswith(HINT):
            raise _problem(where, f"the line after '{BEGIN}' must be '{HINT} <a hint for the learner>'")
        hint = lines[0].strip()[len(HINT):].strip()
        if not hint:
            raise _problem(where, "the hint is empty")
        hints.append(hint)
        return f'{match["indent"]}raise NotImplementedError({("Hint: " + hint)!r})\n'

    replaced = _REGION.sub(stub, source)
    if not hints or BEGIN in replaced or END in replaced:
        raise _problem(where, f"no complete '{BEGIN}' ... '{END}' region")
    return replaced, hints[0]


def _check_calls(source: str) -> list[str]:
    """The source text of every ``check_*(...)`` call in ``source``, in order."""
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id.startswith("check_")]
    return [ast.get_source_segment(source, node) for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset))]


def exercises(notebook: nbformat.NotebookNode, name: str) -> list[Exercise]:
    """Every exercise of a notebook, each with the check call found after its answer (same or next code cell)."""
    found = []
    code = [(i, cell) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    for position, (index, cell) in enumerate(code):
        if "solution" not in cell.metadata.get("tags", []):
            continue
        where = f"{name}, cell {index}"
        stub, hint = student_source(cell.source, where)
        after_answer = cell.source[cell.source.rindex(END):].split("\n", 1)[-1]
        following = code[position + 1][1].source if position + 1 < len(code) else ""
        calls = _check_calls(after_answer) or _check_calls(following)
        if not calls:
            raise _problem(where, "no check_*(...) call after the answer, in the same or the next code cell")
        found.append(Exercise(name, index, hint, stub, calls[0]))
    return found


def student_notebook(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy with every answer replaced by its stub and all outputs cleared."""
    student = copy.deepcopy(notebook)
    for exercise in exercises(notebook, name):
        student.cells[exercise.cell].source = exercise.student_source
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return student


def ci_notebook(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The teacher notebook with a stub-verifying cell before each exercise (see the module docstring)."""
    ci = copy.deepcopy(notebook)
    for exercise in reversed(exercises(notebook, name)):
        code = textwrap.dedent(f"""\
            from mmlab.exercises.common import verify_stub
            verify_stub({exercise.student_source!r}, {exercise.check_call!r}, {exercise.hint!r}, globals())""")
        ci.cells.insert(exercise.cell, nbformat.v4.new_code_cell(code, metadata={"tags": ["ci-edition"]}))
    return ci


def write_edition(kind: str, source_dir: Path, target_dir: Path) -> list[Path]:
    """Write the ``kind`` ("student" or "ci") edition of every ``NN_*.ipynb`` in ``source_dir`` to ``target_dir``."""
    make = {"student": student_notebook, "ci": ci_notebook}
    if kind not in make:
        raise ValueError(f"unknown edition {kind!r}; choose 'student' or 'ci'")
    paths = sorted(Path(source_dir).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks named NN_*.ipynb in {source_dir}; pass the notebooks folder")
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        edition = make[kind](nbformat.read(path, as_version=4), path.name)
        nbformat.write(edition, target_dir / path.name)
        written.append(target_dir / path.name)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the student or the CI edition of the notebooks.")
    parser.add_argument("kind", choices=["student", "ci"])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    written = write_edition(args.kind, args.source, args.target)
    print(f"{args.kind} edition: {len(written)} notebooks in {args.target}")


if __name__ == "__main__":
    main()
