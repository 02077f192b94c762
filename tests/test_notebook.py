"""examples/investigation.ipynb runs top to bottom and shows what it says it shows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

# Skipped only without the notebook runner; pandas and matplotlib missing is a failure.
_RUNNER = "running the notebook needs nbclient and ipykernel: pip install -e '.[dev]'"
nbclient = pytest.importorskip("nbclient", reason=_RUNNER)
nbformat = pytest.importorskip("nbformat", reason=_RUNNER)  # installed with nbclient
pytest.importorskip("ipykernel", reason=_RUNNER)

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "investigation.ipynb"
TIMEOUT_S = 300


@pytest.fixture
def kernel_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``python3`` kernel spec running this interpreter, first on JUPYTER_PATH.

    So the notebook runs where canopy is installed, whatever other ``python3``
    specs the user or system has.
    """
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (canopy tests)",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _tagged(nb: Any, tag: str) -> Any:
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r} expected, found {len(cells)}"
    return cells[0]


def _text(cell: Any) -> str:
    """Everything a cell printed, then everything it displayed as text.

    A printed line may arrive in several stream messages (the kernel flushes
    stdout on a timer), so stream pieces are joined as they came.
    """
    printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    shown = [
        o.data.get("text/plain", "")
        for o in cell.outputs
        if o.output_type in ("execute_result", "display_data")
    ]
    return "\n".join([printed, *shown])


def test_investigation_notebook_runs_top_to_bottom(kernel_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(kernel_path)}},
    )
    client.execute()  # raises CellExecutionError if any cell raises

    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")

    traces = _text(_tagged(nb, "traces"))
    assert "traces: 2" in traces, traces
    assert "trace-ops" in traces and "trace-billing" in traces, traces

    approvals = _text(_tagged(nb, "approvals"))
    assert "approval requests: 3 - undecided: 1" in approvals, approvals

    assert "rm -rf /" in _text(_tagged(nb, "trace-events"))
    assert "billing-bot events:" in _text(_tagged(nb, "agent-events"))
    assert "constitution" in _text(_tagged(nb, "by-rule"))

    assert "ledger verified: True" in _text(_tagged(nb, "verify"))

    chart = _tagged(nb, "chart")
    assert any("image/png" in o.get("data", {}) for o in chart.outputs), "no chart drawn"
