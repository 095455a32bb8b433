"""Regression runner: execute the notebooks, collect their metrics, compare them with committed baselines.

    python -m tools.run [--fast] [--seed N] [--resume] [--update-baselines] [--strict-budgets] [notebooks ...]

Notebooks ``notebooks/NN_*.ipynb`` run in name order (or only those named on the command line, by name or
prefix: ``00``, ``03_text``, ``notebooks/00_welcome.ipynb``). Each runs with papermill in a fresh ``python3``
kernel of the current environment, with ``notebooks/`` as working directory (as in JupyterLab), and gets the
parameters ``FAST``, ``SEED`` and ``METRICS_PATH``; its last cell records metrics there with
:class:`mmlab.record.Recorder`.

Written to ``build/`` (``--build-dir``):

    notebooks/NAME.ipynb   the executed notebooks
    metrics/MODE/NAME.json what each notebook recorded (MODE: fast or full)
    html/NAME.html         the executed notebooks rendered to HTML
    metrics.json           {"mode": "fast"|"full", "seed": N, "notebooks": {NAME: {"seconds", "status": "ok"|"failed",
                           "error", "metrics": {...}, "budget_seconds", "problems": [...]}}}
    report.html            summary, metrics table (expected / actual / tolerance / pass-fail), links to html/

Baselines (``tests/baselines/fast.json`` and ``full.json``, one per mode)::

    {"mode": "full",
     "notebooks": {
       "03_text_encoder": {
         "budget_seconds": 180,
         "metrics": {
           "gru.recall@10": {"expected": 0.62, "tolerance": 0.02, "direction": "higher"},
           "train.loss":    {"expected": 1.30, "tolerance": 0.10, "direction": "lower"},
           "vocab_size":    {"expected": 5000, "tolerance": 0,    "direction": "equal"}}}}}

Tolerances are absolute. A metric *regresses* when it is worse than ``expected`` by more than ``tolerance``:
below ``expected - tolerance`` for "higher" (higher is better), above ``expected + tolerance`` for "lower",
``|actual - expected| > tolerance`` for "equal" (strings and booleans must match exactly). Direction "info"
is shown beside the expected value and never fails: a choice such as "the best loss on validation" that
rests on a margin smaller than the difference between machines. The run fails (exit code 1) when a notebook
raises, or a baseline metric regresses or is missing. A notebook over its time budget is reported as a warning;
with ``--strict-budgets`` (the maintainers' regression run) it fails the run too: budgets hold on the 2-core
reference machine when it is otherwise idle, and a slower or busy laptop may exceed them. Recorded metrics
without a baseline entry are reported as "new" and do not fail; a notebook without a baseline entry gets the
default budget (60 s FAST, 180 s full).

``--update-baselines`` is the one way to refresh a baseline: for every notebook that ran without error it writes
the current values as ``expected`` (floats rounded to 6 significant digits), keeping existing tolerances,
directions and budgets, and drops metrics that are no longer recorded. New metrics get direction "equal" with
tolerance 0 (int, bool, str) or 5 % of |value| (float); set "higher"/"lower" by hand for quality metrics.

``--resume`` reuses the previous result of a notebook (same mode and seed) whose last status was "ok" and whose
executed copy is newer than both the source notebook and every file in ``mmlab/``.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUDGET = {"fast": 60, "full": 180}  # seconds per notebook, see docs/targets.md
# The kernel's own log (not the cells' output): only errors, so `make run` does not print ipykernel's harmless
# "Kernel is running over TCP without encryption" warning (local kernel, localhost only) once per notebook.
KERNEL_QUIET = ["--IPKernelApp.log_level=ERROR"]
FLOAT_TOLERANCE = 0.05  # relative default tolerance for new float metrics
DIRECTIONS = ("higher", "lower", "equal", "info")


@dataclass
class Result:
    """What running one notebook produced."""

    name: str
    status: str  # "ok" | "failed"
    seconds: float
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False


@dataclass
class MetricCheck:
    """One metric compared with its baseline entry."""

    name: str
    status: str  # "pass" | "regressed" | "missing" | "new" | "info"
    actual: Any = None
    expected: Any = None
    tolerance: float | None = None
    direction: str | None = None


@dataclass
class Check:
    """A notebook's result compared with its baseline: budget and metric checks."""

    result: Result
    budget: float
    metrics: list[MetricCheck]

    @property
    def over_budget(self) -> str | None:
        """A warning if the notebook ran longer than its time budget, else None."""
        r = self.result
        if r.status == "ok" and r.seconds > self.budget:
            return f"time budget exceeded: {r.seconds:.1f} s > {self.budget:g} s"
        return None

    @property
    def problems(self) -> list[str]:
        """Human-readable reasons this notebook fails the regression run (empty if it passes); the time budget
        is not among them (see ``over_budget``)."""
        r = self.result
        if r.status != "ok":
            return [f"notebook failed: {r.error}"]
        out = []
        for m in self.metrics:
            if m.status == "missing":
                out.append(f"metric {m.name} missing (expected {_fmt(m.expected)}); was it recorded?")
            elif m.status == "regressed":
                out.append(f"metric {m.name} regressed: {_fmt(m.actual)}, expected {_describe(m)}")
        return out


# ---------------------------------------------------------------- comparison (pure functions)


def compare(actual: Any, spec: dict[str, Any]) -> str:
    """Return "pass" or "regressed" for ``actual`` against one baseline metric entry."""
    expected, tol = spec["expected"], spec.get("tolerance", 0)
    direction = spec.get("direction", "equal")
    if direction not in DIRECTIONS:
        raise ValueError(f"baseline direction {direction!r} is invalid; use one of {DIRECTIONS}")
    if direction == "info":
        return "info"
    if isinstance(expected, (str, bool)) or isinstance(actual, (str, bool)):
        return "pass" if actual == expected else "regressed"
    diff = actual - expected
    worse = {"higher": -diff, "lower": diff, "equal": abs(diff)}[direction]
    return "regressed" if worse > tol + 1e-12 * max(1.0, abs(expected)) else "pass"


def check_notebook(result: Result, entry: dict[str, Any] | None, mode: str) -> Check:
    """Compare a notebook result with its baseline entry (``None`` if the notebook has none)."""
    entry = entry or {}
    specs: dict[str, dict[str, Any]] = entry.get("metrics", {})
    checks = [_check_metric(name, result.metrics, spec) for name, spec in specs.items()]
    checks += [MetricCheck(n, "new", v) for n, v in result.metrics.items() if n not in specs]
    return Check(result, float(entry.get("budget_seconds", DEFAULT_BUDGET[mode])), checks)


def _check_metric(name: str, recorded: dict[str, Any], spec: dict[str, Any]) -> MetricCheck:
    status = compare(recorded[name], spec) if name in recorded else "missing"
    return MetricCheck(name, status, recorded.get(name), spec["expected"], spec.get("tolerance", 0),
                       spec.get("direction", "equal"))


def updated_baseline(baseline: dict[str, Any], results: list[Result], mode: str) -> dict[str, Any]:
    """The baseline with current values of every successful notebook (see module docstring)."""
    notebooks = dict(baseline.get("notebooks", {}))
    for r in results:
        if r.status != "ok":
            continue
        old = notebooks.get(r.name, {})
        old_metrics = old.get("metrics", {})
        notebooks[r.name] = {
            "budget_seconds": old.get("budget_seconds", DEFAULT_BUDGET[mode]),
            "metrics": {n: _new_spec(v, old_metrics.get(n)) for n, v in sorted(r.metrics.items())},
        }
    return {"mode": mode, "notebooks": dict(sorted(notebooks.items()))}


def _new_spec(value: Any, old: dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(value, float):
        value = float(f"{value:.6g}")
    if old:
        return {**old, "expected": value}
    is_float = isinstance(value, float)
    tol = float(f"{FLOAT_TOLERANCE * abs(value):.2g}") if is_float else 0
    return {"expected": value, "tolerance": tol, "direction": "equal"}


# ---------------------------------------------------------------- choosing and executing notebooks


def discover(notebooks_dir: Path) -> list[Path]:
    """All ``NN_*.ipynb`` notebooks in name order."""
    return sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))


def select(available: list[Path], wanted: list[str]) -> list[Path]:
    """The notebooks named (by name or prefix) in ``wanted``, in name order; all if ``wanted`` is empty."""
    chosen: set[Path] = set()
    for w in wanted:
        key = Path(w).name.removesuffix(".ipynb")
        hits = [p for p in available if p.stem.startswith(key)]
        if not hits:
            names = ", ".join(p.stem for p in available) or "(none)"
            raise ValueError(f"unknown notebook {w!r}; available: {names}. Pass one of these names or a prefix, "
                             f"e.g. {available[0].stem[:2] if available else '00'}")
        chosen.update(hits)
    return sorted(chosen) if wanted else available


def execute(src: Path, build: Path, fast: bool, seed: int, cell_timeout: float | None) -> Result:
    """Run one notebook with papermill into ``build/notebooks`` and collect its recorded metrics."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    metrics_path = build / "metrics" / ("fast" if fast else "full") / f"{src.stem}.json"
    metrics_path.unlink(missing_ok=True)
    out = build / "notebooks" / src.name
    out.parent.mkdir(parents=True, exist_ok=True)
    params = {"FAST": fast, "SEED": seed, "METRICS_PATH": str(metrics_path)}
    error, start = None, time.perf_counter()
    try:
        pm.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3", cwd=str(src.parent),
                            progress_bar=False, execution_timeout=cell_timeout, extra_arguments=KERNEL_QUIET)
    except PapermillExecutionError as e:
        rerun = f"python -m tools.run{' --fast' if fast else ''} {src.stem[:2]}"
        error = (f"{e.ename}: {e.evalue} (in cell In [{e.exec_count}]; the traceback is in {out}, "
                 f"open it in JupyterLab; once fixed, rerun only this notebook: {rerun})")
    except Exception as e:  # kernel died, cell timeout, unreadable notebook...
        error = f"{type(e).__name__}: {e}"
    seconds = round(time.perf_counter() - start, 2)
    recorded = _load_json(metrics_path).get("metrics", {})
    return Result(src.stem, "failed" if error else "ok", seconds, error, recorded)


def resumed(src: Path, build: Path, previous: dict[str, Any], mode: str, seed: int) -> Result | None:
    """The previous result of ``src`` if ``--resume`` may reuse it, else ``None``."""
    prev = previous.get("notebooks", {}).get(src.stem)
    out = build / "notebooks" / src.name
    if not prev or prev.get("status") != "ok" or (previous.get("mode"), previous.get("seed")) != (mode, seed):
        return None
    newest_source = max([src.stat().st_mtime] + [p.stat().st_mtime for p in (ROOT / "mmlab").rglob("*.py")])
    if not out.exists() or out.stat().st_mtime <= newest_source:
        return None
    return Result(src.stem, "ok", prev["seconds"], None, prev.get("metrics", {}), resumed=True)


def render_html(executed: Path, target: Path) -> None:
    """Render an executed notebook to a standalone HTML page."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(executed))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")


def warn_if_foreign_kernel() -> None:
    """Warn if the ``python3`` kernelspec would start another interpreter than this one."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        exe = KernelSpecManager().get_kernel_spec("python3").argv[0]
    except NoSuchKernel:
        print("warning: no 'python3' kernel; fix with: python -m ipykernel install --sys-prefix", flush=True)
        return
    # jupyter_client replaces a bare "python"/"python3" with sys.executable, so only absolute paths matter.
    if Path(exe).is_absolute() and Path(exe).parent != Path(sys.executable).parent:
        print(f"warning: kernel 'python3' runs {exe}, not {sys.executable}; "
              "fix with: python -m ipykernel install --sys-prefix", flush=True)


# ---------------------------------------------------------------- reporting


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def _describe(m: MetricCheck) -> str:
    if m.direction == "info":
        return f"{_fmt(m.expected)} (for information)"
    if m.direction == "equal":
        return f"{_fmt(m.expected)}" + (f" ± {m.tolerance:g}" if m.tolerance else "")
    return f"{_fmt(m.expected)} ({m.direction} is better, tolerance {m.tolerance:g})"


def _counts(c: Check) -> str:
    statuses = [m.status for m in c.metrics]
    parts = [f"{statuses.count(s)} {s}" for s in ("pass", "info", "regressed", "missing", "new") if s in statuses]
    return ", ".join(parts) or "none"


def metrics_document(mode: str, seed: int, checks: list[Check]) -> dict[str, Any]:
    """The content of ``build/metrics.json``."""
    notebooks = {
        c.result.name: {"seconds": c.result.seconds, "status": c.result.status, "error": c.result.error,
                        "metrics": c.result.metrics, "budget_seconds": c.budget, "problems": c.problems,
                        "warnings": [c.over_budget] if c.over_budget else []}
        for c in checks
    }
    return {"mode": mode, "seed": seed, "notebooks": notebooks}


def _verdict(c: Check) -> str:
    return "FAIL" if c.problems else "over budget" if c.over_budget else "pass"


def summary_table(checks: list[Check]) -> str:
    """A plain-text table: notebook, status, seconds/budget, metric counts, verdict."""
    rows = [("notebook", "status", "seconds/budget", "metrics", "verdict")]
    for c in checks:
        status = c.result.status + (" (resumed)" if c.result.resumed else "")
        rows.append((c.result.name, status, f"{c.result.seconds:.1f}/{c.budget:g}", _counts(c), _verdict(c)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f3f3f3}
.pass{color:#176f2c}.new,.info{color:#555}.over{color:#a15c00}.FAIL,.regressed,.missing,.failed{color:#b00020;font-weight:bold}"""


def report_html(mode: str, seed: int, checks: list[Check]) -> str:
    """A self-contained HTML report of the run."""
    e = html.escape
    failed = [c for c in checks if c.problems]
    verdict = f"FAIL: {len(failed)} of {len(checks)} notebook(s)" if failed else f"pass: {len(checks)} notebook(s)"
    summary = "".join(
        f"<tr><td><a href='html/{e(c.result.name)}.html'>{e(c.result.name)}</a></td>"
        f"<td class='{e(c.result.status)}'>{e(c.result.status)}</td><td>{c.result.seconds:.1f} / {c.budget:g}</td>"
        f"<td>{e(_counts(c))}</td><td class='{_verdict(c).split()[0]}'>"
        f"{'<br>'.join(e(p) for p in c.problems + ([c.over_budget] if c.over_budget else [])) or 'pass'}</td></tr>"
        for c in checks)
    metrics = "".join(
        f"<tr><td>{e(c.result.name)}</td><td>{e(m.name)}</td><td>{e(_fmt(m.expected))}</td>"
        f"<td>{e(_fmt(m.actual))}</td><td>{e(_fmt(m.tolerance))}</td><td>{e(m.direction or '')}</td>"
        f"<td class='{e(m.status)}'>{e(m.status)}</td></tr>"
        for c in checks for m in c.metrics)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>mmlab run report</title>"
            f"<style>{_CSS}</style></head><body><h1>mmlab run report</h1>"
            f"<p>mode <b>{mode}</b>, seed {seed}, {datetime.now():%Y-%m-%d %H:%M}: "
            f"<span class='{'FAIL' if failed else 'pass'}'>{e(verdict)}</span></p>"
            "<h2>Notebooks</h2><table><tr><th>notebook</th><th>status</th><th>seconds / budget</th>"
            f"<th>metrics</th><th>verdict</th></tr>{summary}</table>"
            "<h2>Metrics</h2><table><tr><th>notebook</th><th>metric</th><th>expected</th><th>actual</th>"
            f"<th>tolerance</th><th>direction</th><th>status</th></tr>{metrics}</table></body></html>")


# ---------------------------------------------------------------- command line


def _load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Indented JSON with innermost objects (e.g. one metric's baseline) kept on one line, for short diffs."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    one_line = lambda m: "{" + re.sub(r"\s*\n\s*", " ", m.group(1)).strip() + "}"  # noqa: E731
    text = re.sub(r"\{([^{}\[\]]*)\}", one_line, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.run", description=__doc__.split("\n")[0])
    p.add_argument("notebooks", nargs="*", help="notebook names or prefixes, e.g. 00 03_text (default: all)")
    p.add_argument("--fast", action="store_true", help="FAST mode: small data, few epochs (baselines/fast.json)")
    p.add_argument("--seed", type=int, default=0, help="SEED parameter passed to every notebook (default 0)")
    p.add_argument("--resume", action="store_true", help="skip notebooks whose previous result is still valid")
    p.add_argument("--update-baselines", action="store_true", help="write current metrics into the baseline")
    p.add_argument("--strict-budgets", action="store_true",
                   help="a notebook over its time budget fails the run (maintainers, on an idle reference machine)")
    p.add_argument("--cell-timeout", type=float, default=900, help="seconds one cell may run (default 900)")
    p.add_argument("--notebooks-dir", type=Path, default=ROOT / "notebooks")
    p.add_argument("--build-dir", type=Path, default=ROOT / "build")
    p.add_argument("--baselines-dir", type=Path, default=ROOT / "tests" / "baselines")
    return p.parse_args(argv)


def run_one(src: Path, build: Path, args: argparse.Namespace, previous: dict[str, Any], mode: str) -> Result:
    """Resume or execute one notebook, then render it to HTML."""
    result = (resumed(src, build, previous, mode, args.seed) if args.resume else None) or \
        execute(src, build, args.fast, args.seed, args.cell_timeout)
    executed, page = build / "notebooks" / src.name, build / "html" / f"{src.stem}.html"
    if executed.exists() and not (result.resumed and page.exists()):
        try:
            render_html(executed, page)
        except Exception as e:  # a broken page must not lose the run's results
            print(f"    warning: could not render {page.name}: {type(e).__name__}: {e}", flush=True)
    return result


def _chosen_notebooks(args: argparse.Namespace) -> list[Path]:
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}; e.g. --seed 0 (the default)")
    available = discover(args.notebooks_dir)
    if not available:
        raise ValueError(f"no notebooks NN_*.ipynb in {args.notebooks_dir}; pass --notebooks-dir with the "
                         "workbook's notebooks folder")
    return select(available, args.notebooks)


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks, compare with the baseline, write the reports; return the exit code."""
    args = parse_args(argv)
    mode = "fast" if args.fast else "full"
    try:
        notebooks = _chosen_notebooks(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    build, baseline_path = args.build_dir.resolve(), args.baselines_dir / f"{mode}.json"
    previous = _load_json(build / "metrics.json") if args.resume else {}
    warn_if_foreign_kernel()
    print(f"Running {len(notebooks)} notebook(s), mode {mode}, seed {args.seed}", flush=True)
    results, start = [], time.perf_counter()
    for i, src in enumerate(notebooks, 1):
        print(f"[{i}/{len(notebooks)}] {src.stem} ...", flush=True)
        result = run_one(src, build, args, previous, mode)
        how = f"resumed ({result.seconds:.1f} s last run)" if result.resumed else \
            f"{result.status} in {result.seconds:.1f} s"
        print(f"    {how}, elapsed {time.perf_counter() - start:.0f} s"
              + (f": {result.error}" if result.error else ""), flush=True)
        results.append(result)
    return finish(results, build, baseline_path, args, mode)


def finish(results: list[Result], build: Path, baseline_path: Path, args: argparse.Namespace, mode: str) -> int:
    """Update the baseline if asked, compare, write metrics.json and report.html, print the summary."""
    baseline = _load_json(baseline_path)
    if args.update_baselines:
        baseline = updated_baseline(baseline, results, mode)
        _write_json(baseline_path, baseline)
        skipped = [r.name for r in results if r.status != "ok"]
        print(f"baseline updated: {baseline_path}" + (f" (not for failed {', '.join(skipped)})" if skipped else ""))
    entries = baseline.get("notebooks", {})
    checks = [check_notebook(r, entries.get(r.name), mode) for r in results]
    _write_json(build / "metrics.json", metrics_document(mode, args.seed, checks))
    (build / "report.html").write_text(report_html(mode, args.seed, checks), encoding="utf-8")
    problems = [f"{c.result.name}: {p}" for c in checks for p in c.problems]
    slow = [f"{c.result.name}: {c.over_budget}" for c in checks if c.over_budget]
    if args.strict_budgets:
        problems, slow = problems + slow, []
    print("\n" + summary_table(checks) + "\n")
    print("\n".join(["Problems:", *(f"  - {p}" for p in problems)]) if problems else "No regressions.")
    if slow:
        print("\n".join(["Over the time budget of the idle 2-core reference machine (a warning, not a failure; "
                         "close other programs, or run with --strict-budgets to make it fail):",
                         *(f"  - {p}" for p in slow)]))
    print(f"Report: {build / 'report.html'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
