"""The models written in the notebooks are the models in mmlab: one source, and checkpoints keyed by their code."""

from __future__ import annotations

import json
import linecache
from pathlib import Path

import pytest

from mmlab import zoo
from mmlab.models import fusion
from tools import saved_cells

ROOT = Path(__file__).resolve().parent.parent


def test_every_saved_module_matches_its_notebook_cells() -> None:
    assert saved_cells.main(["--check"]) == 0, "regenerate with: python -m tools.saved_cells"


def test_a_module_differing_from_its_notebook_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# 99 · A test"]},
                          {"cell_type": "code", "source": ["#@save models/not_written_yet.py\n", "X = 1"]}]}
    (tmp_path / "99_test.ipynb").write_text(json.dumps(notebook))
    assert saved_cells.main(["--check", "--notebooks-dir", str(tmp_path)]) == 1
    assert "mmlab/models/not_written_yet.py differs" in capsys.readouterr().err
    assert not (ROOT / "mmlab" / "models" / "not_written_yet.py").exists()


def test_a_marker_without_a_module_is_an_error(tmp_path: Path) -> None:
    notebook = {"cells": [{"cell_type": "code", "source": ["#@save\n", "X = 1"]}]}
    (tmp_path / "99_test.ipynb").write_text(json.dumps(notebook))
    with pytest.raises(ValueError, match="must name a module inside mmlab/"):
        saved_cells.modules(tmp_path)


def _run_cell(source: str, namespace: dict, name: str) -> None:
    """Run one cell as IPython does: compiled on its own, its source kept in linecache (inspect can read it)."""
    linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
    exec(compile(source, name, "exec"), namespace)


def _notebook_namespace(notebook: str) -> dict:
    """Run a notebook's saved cells as the notebook does: in ``__main__``, one cell at a time, not from mmlab."""
    namespace = {"__name__": "__main__"}
    cells = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    for number, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith(saved_cells.MARKER):
            _run_cell(source, namespace, f"/tmp/ipykernel_test/{notebook}-{number}.py")
    return namespace


def test_the_notebook_classes_have_the_fingerprint_of_the_mmlab_classes() -> None:
    cells = _notebook_namespace("06_fusion.ipynb")
    for name in ("ConcatFusion", "WeightedSumFusion", "AttentionFusion", "GatedFusion", "modality_dropout"):
        assert cells[name] is not getattr(fusion, name)
        assert zoo.code_fingerprint(cells[name]) == zoo.code_fingerprint(getattr(fusion, name)), name


def test_an_edited_class_gets_another_fingerprint() -> None:
    source = "import math\nfrom torch import nn\n\n\nclass Fuser(nn.Module):\n    SCALE = 2\n\n" \
             "    def forward(self, x, dim: int = 1):\n        return x.softmax(dim) / math.sqrt(self.SCALE)\n"
    edits = [source, source.replace("softmax", "log_softmax"), source.replace("dim: int = 1", "dim: int = 0"),
             source.replace("SCALE = 2", "SCALE = 3"), source.replace("math.sqrt", "math.log")]
    prints = []
    for number, edit in enumerate(edits):
        namespace = {"__name__": "__main__"}
        _run_cell(edit, namespace, f"/tmp/ipykernel_test/edit-{number}.py")
        prints.append(zoo.code_fingerprint(namespace["Fuser"]))
    assert len(set(prints)) == len(edits), prints
    commented = {"__name__": "__main__"}
    _run_cell(source.replace("    SCALE = 2\n", "    SCALE = 2  # a comment changes nothing\n"), commented,
              "/tmp/ipykernel_test/commented.py")
    assert zoo.code_fingerprint(commented["Fuser"]) == prints[0]


def test_the_fingerprint_covers_the_base_class() -> None:
    assert zoo.code_fingerprint(fusion.ConcatFusion) != zoo.code_fingerprint(fusion.WeightedSumFusion)
    namespace, base_edited = {"__name__": "__main__"}, {"__name__": "__main__"}
    _run_cell("from mmlab.models.fusion import ConcatFusion\nclass Mine(ConcatFusion):\n    pass\n", namespace,
              "/tmp/ipykernel_test/mine.py")
    _run_cell("from mmlab.models.fusion import ConcatFusion\nclass Base(ConcatFusion):\n"
              "    def project(self, features, mask):\n        return super().project(features, mask)\n"
              "class Mine(Base):\n    pass\n", base_edited, "/tmp/ipykernel_test/base.py")
    assert zoo.code_fingerprint(namespace["Mine"]) != zoo.code_fingerprint(base_edited["Mine"])
