"""Tests of the regression runner (tools.run) and the metric recorder (mmlab.record).

The comparison logic is tested with pure functions. End to end, two tiny notebooks (one passes, one raises)
are executed once per module; later tests re-check those results against edited baselines with ``--resume``,
which reuses the executed results without starting a kernel. Three kernels are started in total.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from tools import run
from mmlab.record import Recorder

ROOT = Path(run.__file__).resolve().parent.parent
PARAMS = "FAST = True\nSEED = 0\nMETRICS_PATH = None"
GOOD = [PARAMS, """from mmlab.record import Recorder
recorder = Recorder("01_good", path=METRICS_PATH)
recorder.record("score", 0.75)
recorder.record("count", 3)
recorder.record("label", "ok")
recorder.record("fast", FAST)
recorder.record("seed", SEED)"""]
BROKEN = [PARAMS, 'raise ValueError("deliberate failure")']


def write_notebook(path: Path, sources: list[str]) -> None:
    """Write a notebook of code cells; the first one is tagged ``parameters``."""
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources],
                                  metadata={"kernelspec": kernelspec})
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)


def dirs(ws: Path) -> list[str]:
    return ["--notebooks-dir", str(ws / "notebooks"), "--build-dir", str(ws / "build"),
            "--baselines-dir", str(ws / "baselines")]


def run_cli(ws: Path, *args: object) -> tuple[int, str]:
    """Run ``python -m tools.run`` in-process on workspace ``ws``; return (exit code, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run.main([str(a) for a in args] + dirs(ws))
    return code, out.getvalue()


def let_kernel_import_mmlab(mp: pytest.MonkeyPatch) -> None:
    """Kernels run in a temporary directory: make sure they import this checkout's mmlab."""
    mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """01_good and 02_broken executed once in FAST mode, seed 7, with --update-baselines."""
    ws = tmp_path_factory.mktemp("workspace")
    (ws / "notebooks").mkdir()
    write_notebook(ws / "notebooks" / "01_good.ipynb", GOOD)
    write_notebook(ws / "notebooks" / "02_broken.ipynb", BROKEN)
    with pytest.MonkeyPatch.context() as mp:
        let_kernel_import_mmlab(mp)
        code, out = run_cli(ws, "--fast", "--seed", 7, "--update-baselines")
    return ws, code, out


@pytest.fixture
def ws(workspace: tuple[Path, int, str], tmp_path: Path) -> Path:
    """A private copy of the executed workspace (file times kept, so --resume reuses the results)."""
    shutil.copytree(workspace[0], tmp_path / "ws")
    return tmp_path / "ws"


def edit_baseline(ws: Path, **metrics: dict | None) -> None:
    """Replace (or with None delete) metric entries of 01_good in the FAST baseline."""
    path = ws / "baselines" / "fast.json"
    baseline = load(path)
    entry = baseline["notebooks"]["01_good"]["metrics"]
    for name, spec in metrics.items():
        if spec is None:
            del entry[name]
        else:
            entry[name] = spec
    path.write_text(json.dumps(baseline))


# ---------------------------------------------------------------- pure comparison logic


@pytest.mark.parametrize("spec, actual, want", [
    ({"expected": 0.5, "tolerance": 0.02, "direction": "higher"}, 0.49, "pass"),
    ({"expected": 0.5, "tolerance": 0.02, "direction": "higher"}, 0.47, "regressed"),
    ({"expected": 0.5, "tolerance": 0.02, "direction": "higher"}, 0.90, "pass"),
    ({"expected": 1.0, "tolerance": 0.1, "direction": "lower"}, 1.05, "pass"),
    ({"expected": 1.0, "tolerance": 0.1, "direction": "lower"}, 1.20, "regressed"),
    ({"expected": 1.0, "tolerance": 0.1, "direction": "lower"}, 0.50, "pass"),
    ({"expected": 100, "tolerance": 0, "direction": "equal"}, 100, "pass"),
    ({"expected": 100, "tolerance": 0, "direction": "equal"}, 99, "regressed"),
    ({"expected": 100, "tolerance": 0, "direction": "equal"}, 101, "regressed"),
    ({"expected": 0.75, "tolerance": 0.05, "direction": "equal"}, 0.8, "pass"),  # on the boundary
    ({"expected": "ok", "tolerance": 0, "direction": "equal"}, "ok", "pass"),
    ({"expected": "ok", "tolerance": 0, "direction": "equal"}, "bad", "regressed"),
    ({"expected": True, "tolerance": 0, "direction": "equal"}, False, "regressed"),
    ({"expected": "infonce", "tolerance": 0, "direction": "info"}, "sigmoid", "info"),
    ({"expected": 0.5, "tolerance": 0, "direction": "info"}, 0.1, "info"),
])
def test_compare(spec: dict, actual: object, want: str) -> None:
    assert run.compare(actual, spec) == want


def test_compare_rejects_unknown_direction() -> None:
    with pytest.raises(ValueError, match="direction"):
        run.compare(1.0, {"expected": 1.0, "tolerance": 0, "direction": "bigger"})


def test_check_notebook_reports_missing_new_and_budget() -> None:
    result = run.Result("nb", "ok", seconds=2.0, metrics={"a": 1, "b": 2})
    entry = {"budget_seconds": 1.0, "metrics": {"a": {"expected": 1, "tolerance": 0, "direction": "equal"},
                                                 "ghost": {"expected": 3, "tolerance": 0, "direction": "equal"}}}
    check = run.check_notebook(result, entry, "fast")
    assert {m.name: m.status for m in check.metrics} == {"a": "pass", "ghost": "missing", "b": "new"}
    assert len(check.problems) == 1 and "ghost missing" in check.problems[0], check.problems
    assert "time budget exceeded: 2.0 s > 1 s" == check.over_budget


def test_notebook_without_baseline_gets_default_budget() -> None:
    result = run.Result("nb", "ok", seconds=61.0, metrics={"a": 1.0})
    assert "budget" in run.check_notebook(result, None, "fast").over_budget
    assert run.check_notebook(result, None, "full").over_budget is None


def test_failed_notebook_reports_its_error_only() -> None:
    result = run.Result("nb", "failed", seconds=1.0, error="ValueError: boom (in cell In [3])")
    entry = {"metrics": {"a": {"expected": 1, "tolerance": 0, "direction": "equal"}}}
    assert run.check_notebook(result, entry, "fast").problems == ["notebook failed: ValueError: boom (in cell In [3])"]


def test_updated_baseline_keeps_tolerance_direction_and_budget() -> None:
    old = {"notebooks": {"nb": {"budget_seconds": 5, "metrics": {
        "acc": {"expected": 0.5, "tolerance": 0.1, "direction": "higher"},
        "gone": {"expected": 1, "tolerance": 0, "direction": "equal"}}}}}
    results = [run.Result("nb", "ok", 1.0, metrics={"acc": 0.612345678, "n": 4, "loss": 2.0}),
               run.Result("bad", "failed", 1.0, error="x")]
    new = run.updated_baseline(old, results, "full")
    assert new["notebooks"] == {"nb": {"budget_seconds": 5, "metrics": {
        "acc": {"expected": 0.612346, "tolerance": 0.1, "direction": "higher"},
        "loss": {"expected": 2.0, "tolerance": 0.1, "direction": "equal"},
        "n": {"expected": 4, "tolerance": 0, "direction": "equal"}}}}


def test_select_by_name_and_prefix(tmp_path: Path) -> None:
    available = [tmp_path / f"{n}.ipynb" for n in ("00_welcome", "01_catalog", "02_image")]
    assert run.select(available, []) == available
    assert run.select(available, ["02", "00_welcome.ipynb"]) == [available[0], available[2]]
    assert run.select(available, ["notebooks/01_catalog.ipynb"]) == [available[1]]
    with pytest.raises(ValueError, match="unknown notebook '07'; available: 00_welcome, 01_catalog, 02_image"):
        run.select(available, ["07"])


def test_cli_rejects_unknown_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notebooks").mkdir()
    write_notebook(tmp_path / "notebooks" / "00_only.ipynb", [PARAMS])
    assert run.main(["nope", *dirs(tmp_path)]) == 2
    assert "available: 00_only" in capsys.readouterr().err


# ---------------------------------------------------------------- recorder


def test_recorder_writes_json_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.json"
    recorder = Recorder("nb", path=path)
    recorder.record("recall@10", np.float32(0.5))
    recorder.record("count", np.int64(3))
    recorder.record("count", 4)
    assert load(path) == {"notebook": "nb", "metrics": {"recall@10": 0.5, "count": 4}}
    assert type(recorder.metrics["count"]) is int


def test_recorder_without_path_keeps_metrics_in_memory(tmp_path: Path) -> None:
    recorder = Recorder("nb")
    recorder.record("ok", True)
    assert recorder.metrics == {"ok": True}


@pytest.mark.parametrize("value", [math.nan, math.inf, np.float64("nan")])
def test_recorder_rejects_non_finite_values(value: float) -> None:
    with pytest.raises(ValueError, match="metric 'loss' is .*finite"):
        Recorder("nb").record("loss", value)


@pytest.mark.parametrize("name", ["", "has space", None])
def test_recorder_rejects_bad_names(name: object) -> None:
    with pytest.raises(ValueError, match="metric name"):
        Recorder("nb").record(name, 1)  # type: ignore[arg-type]


# ---------------------------------------------------------------- end to end


def test_update_baselines_writes_current_metrics(workspace: tuple[Path, int, str]) -> None:
    ws, _, out = workspace
    baseline = load(ws / "baselines" / "fast.json")
    assert list(baseline["notebooks"]) == ["01_good"], "a failed notebook must not enter the baseline"
    entry = baseline["notebooks"]["01_good"]
    assert entry["budget_seconds"] == 60
    assert entry["metrics"]["score"] == {"expected": 0.75, "tolerance": 0.038, "direction": "equal"}
    assert entry["metrics"]["seed"]["expected"] == 7 and entry["metrics"]["fast"]["expected"] is True
    assert "baseline updated" in out


def test_failing_notebook_fails_the_run_and_names_the_error(workspace: tuple[Path, int, str]) -> None:
    ws, code, out = workspace
    assert code == 1
    broken = load(ws / "build" / "metrics.json")["notebooks"]["02_broken"]
    assert broken["status"] == "failed"
    assert "ValueError: deliberate failure" in broken["error"]
    assert re.search(r"in cell In \[\d+\]; the traceback is in .*02_broken\.ipynb", broken["error"])
    assert "rerun only this notebook: python -m tools.run --fast 02" in broken["error"]
    assert "ValueError: deliberate failure" in out
    assert "ValueError: deliberate failure" in (ws / "build" / "report.html").read_text()


def test_metrics_json_and_report_html_are_written(workspace: tuple[Path, int, str]) -> None:
    build = workspace[0] / "build"
    metrics = load(build / "metrics.json")
    assert (metrics["mode"], metrics["seed"]) == ("fast", 7)
    good = metrics["notebooks"]["01_good"]
    assert good["status"] == "ok" and good["metrics"]["score"] == 0.75 and good["seconds"] > 0
    report = (build / "report.html").read_text()
    for name in ("01_good", "02_broken"):
        assert f"href='html/{name}.html'" in report
        assert (build / "html" / f"{name}.html").stat().st_size > 1000
        assert (build / "notebooks" / f"{name}.ipynb").exists()


def test_passes_when_baseline_is_met(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    let_kernel_import_mmlab(monkeypatch)
    code, out = run_cli(ws, "--fast", "--seed", 7, "01")  # executes again, no --resume
    assert code == 0, out
    assert "No regressions." in out and "resumed" not in out


def test_regressed_metric_fails(ws: Path) -> None:
    edit_baseline(ws, score={"expected": 0.9, "tolerance": 0.01, "direction": "higher"})
    code, out = run_cli(ws, "--fast", "--seed", 7, "--resume", "01")
    assert "resumed" in out
    assert code == 1, out
    assert "metric score regressed: 0.75, expected 0.9" in out
    assert "regressed" in load(ws / "build" / "metrics.json")["notebooks"]["01_good"]["problems"][0]


def test_missing_metric_fails(ws: Path) -> None:
    edit_baseline(ws, ghost={"expected": 1, "tolerance": 0, "direction": "equal"})
    code, out = run_cli(ws, "--fast", "--seed", 7, "--resume", "01")
    assert code == 1, out
    assert "metric ghost missing" in out


def test_time_budget_exceeded_warns_and_fails_only_when_strict(ws: Path) -> None:
    path = ws / "baselines" / "fast.json"
    baseline = load(path)
    baseline["notebooks"]["01_good"]["budget_seconds"] = 0.001
    path.write_text(json.dumps(baseline))
    code, out = run_cli(ws, "--fast", "--seed", 7, "--resume", "01")
    assert code == 0, out
    assert "Over the time budget" in out and "time budget exceeded" in out and "over budget" in out
    assert load(ws / "build" / "metrics.json")["notebooks"]["01_good"]["warnings"]
    code, out = run_cli(ws, "--fast", "--seed", 7, "--resume", "--strict-budgets", "01")
    assert code == 1, out
    assert "Problems:" in out and "time budget exceeded" in out


def test_info_metric_is_shown_but_never_fails(ws: Path) -> None:
    edit_baseline(ws, count={"expected": -99, "tolerance": 0, "direction": "info"})
    code, out = run_cli(ws, "--fast", "--seed", 7, "--resume", "01")
    assert code == 0, out
    assert "1 info" in out


def test_new_metric_is_reported_but_passes(ws: Path) -> None:
    edit_baseline(ws, count=None)
    code, out = run_cli(ws, "--fast", "--seed", 7, "--resume", "01")
    assert code == 0, out
    assert "1 new" in out


def test_update_baselines_round_trip(ws: Path) -> None:
    custom = {"expected": 0.5, "tolerance": 0.1, "direction": "higher"}
    edit_baseline(ws, score=custom, count={"expected": 99, "tolerance": 0, "direction": "equal"})
    code, out = run_cli(ws, "--fast", "--seed", 7, "--resume", "--update-baselines", "01")
    assert code == 0, out
    metrics = load(ws / "baselines" / "fast.json")["notebooks"]["01_good"]["metrics"]
    assert metrics["score"] == {**custom, "expected": 0.75}
    assert metrics["count"]["expected"] == 3
    assert run_cli(ws, "--fast", "--seed", 7, "--resume", "01")[0] == 0
