"""Student and CI editions of the notebooks (tools.editions) and strict exercise checks."""

from pathlib import Path

import nbformat
import pytest

from mmlab.config import ROOT
from tools.editions import BEGIN, END, exercises, student_notebook, student_source, write_edition
from mmlab.exercises.common import ExerciseFailed, attempt, strict_exercises, verdict, verify_stub

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL = '''def double(x):
    """Twice x."""
    # BEGIN SOLUTION
    # HINT: multiply by two
    return 2 * x
    # END SOLUTION
'''


def check_double(double) -> bool:
    """A check in the style of mmlab.exercises: a verdict with a hint."""
    ok, got = attempt(double, 3)
    return verdict(ok and got == 6, "doubled", got if not ok else "double(3) should be 6")


def notebook(*cells: tuple[str, list[str]]) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, metadata={"tags": tags})
                                           for source, tags in cells])


def test_student_source_replaces_the_answer_with_a_stub_that_carries_the_hint():
    stub, hint = student_source(CELL)
    assert hint == "multiply by two"
    assert "return 2 * x" not in stub and BEGIN not in stub and END not in stub
    assert stub.startswith('def double(x):\n    """Twice x."""\n    raise NotImplementedError(')
    namespace = {}
    exec(stub, namespace)
    with pytest.raises(NotImplementedError, match="Hint: multiply by two"):
        namespace["double"](1)


@pytest.mark.parametrize("broken, problem", [
    (CELL.replace("    # HINT: multiply by two\n", ""), "must be '# HINT:"),
    (CELL.replace("# HINT: multiply by two", "# HINT:"), "hint is empty"),
    (CELL.replace("    # END SOLUTION\n", ""), "no complete"),
    ("def double(x):\n    return 2 * x\n", "no complete"),
])
def test_malformed_exercise_cells_are_named_with_the_expected_layout(broken, problem):
    with pytest.raises(ValueError, match=problem) as error:
        student_source(broken, "00_x.ipynb, cell 3")
    assert "00_x.ipynb, cell 3" in str(error.value) and "# END SOLUTION" in str(error.value)


def test_the_check_call_is_found_in_the_same_or_the_next_code_cell():
    same = notebook((CELL + "\nok = check_double(double)\n", ["solution"]))
    nxt = notebook((CELL, ["solution"]), ("print(1)\nok = check_double(double)", []))
    assert exercises(same, "a")[0].check_call == "check_double(double)"
    assert exercises(nxt, "b")[0].check_call == "check_double(double)"
    with pytest.raises(ValueError, match="no check_"):
        exercises(notebook((CELL, ["solution"]), ("print(1)", [])), "c")


def test_verify_stub_accepts_a_failing_stub_and_rejects_one_that_passes(capsys):
    stub = exercises(notebook((CELL, ["solution"]), ("check_double(double)", [])), "x")[0]
    namespace = {"check_double": check_double}
    verify_stub(stub.student_source, stub.check_call, stub.hint, namespace)
    assert "student stub fails as it should" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="should fail"):
        verify_stub(CELL, stub.check_call, stub.hint, namespace)  # the answer itself is no stub
    with pytest.raises(AssertionError, match="should fail"):
        verify_stub(stub.student_source, stub.check_call, "a hint the stub does not show", namespace)


def test_strict_mode_turns_a_failed_check_into_an_error_and_is_restored(capsys):
    with strict_exercises(True):
        assert verdict(True, "fine", "") is True
        with pytest.raises(ExerciseFailed, match="double"):
            check_double(lambda x: x)
    assert check_double(lambda x: x) is False
    assert "❌ double(3) should be 6" in capsys.readouterr().out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_well_formed_exercises_and_a_clean_student_edition(path):
    teacher = nbformat.read(path, as_version=4)
    found = exercises(teacher, path.name)
    student = student_notebook(teacher, path.name)
    assert len(student.cells) == len(teacher.cells)
    for ex in found:
        assert ex.check_call.startswith("check_") and len(ex.hint) > 20
        assert f"raise NotImplementedError({'Hint: ' + ex.hint!r})" in student.cells[ex.cell].source
    for before, after in zip(teacher.cells, student.cells):
        assert BEGIN not in after.source and END not in after.source
        if before.cell_type == "markdown":
            assert after.source == before.source
        else:
            assert after.outputs == []


def test_write_edition_writes_every_notebook_and_rejects_bad_arguments(tmp_path: Path):
    written = write_edition("ci", ROOT / "notebooks", tmp_path / "ci")
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    ci = nbformat.read(written[0], as_version=4)
    assert sum("ci-edition" in c.metadata.get("tags", []) for c in ci.cells) == \
        len(exercises(nbformat.read(NOTEBOOKS[0], as_version=4), NOTEBOOKS[0].name))
    with pytest.raises(ValueError, match="unknown edition"):
        write_edition("teacher", ROOT / "notebooks", tmp_path)
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        write_edition("student", tmp_path / "empty", tmp_path / "out")
