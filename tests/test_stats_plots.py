"""`taskmaster stats --png/--html`: real charts from a ledger of synthetic attempts, opened and inspected."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
from e2e import one_line_error, run_cli
from PIL import Image

from graphs.codegen.records import AttemptRecord
from taskmaster.workspace.analytics.plots import CHARTS
from taskmaster.workspace.ledger import Ledger, ledger_path


def attempt(run: str, task_type: str, tier: str, outcome: str, **fields) -> AttemptRecord:
    base = dict(
        run_id=run,
        task_id=run,
        task_type=task_type,
        complexity=4,
        worker_tier=tier,
        checker=None,
        outcome=outcome,
        attempt=1,
        escalations=0,
        latency_s=2.0,
        input_tokens=1000,
        output_tokens=500,
        cost_usd=0.0,
        reference_cost_usd=0.0105,  # 1000 in at $3/M + 500 out at $15/M
    )
    return AttemptRecord(**{**base, **fields})


def fill_ledger(project: Path) -> list[AttemptRecord]:
    records = [
        attempt("r1", "standard_dev", "fast", "failed", latency_s=1.0),
        attempt("r1", "standard_dev", "coder", "passed", escalations=1, latency_s=5.0),
        attempt("r2", "standard_dev", "fast", "passed", latency_s=1.5),
        attempt("r3", "quick_edit", "fast", "passed", latency_s=0.5, input_tokens=200, output_tokens=100),
        attempt("r4", "complex", "coder", "failed", latency_s=6.0),
        attempt("r4", "complex", "planner", "passed", escalations=1, latency_s=12.0, input_tokens=3000),
    ]
    ledger = Ledger(ledger_path(project / ".taskmaster"))
    for record in records:
        ledger(record)
    return records


def test_png_and_html_report(isolated_project: Path) -> None:
    fill_ledger(isolated_project)
    charts, report = isolated_project / "charts", isolated_project / "out" / "report.html"
    result = run_cli("stats", "--png", str(charts), "--html", str(report), cwd=isolated_project, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "By worker tier" in result.stdout  # the tables still print

    pngs = sorted(charts.glob("*.png"))
    assert [p.stem for p in pngs] == sorted(CHARTS)
    for path in pngs:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.width >= 600 and image.height >= 400
            pixels = np.asarray(image.convert("RGB"))
        # a real chart has many distinct colours (bars, text, axes), not a blank canvas
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20, path
        assert (pixels < 250).any(), path

    page = report.read_text(encoding="utf-8")
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == len(CHARTS)
    assert {base64.b64decode(e) for e in embedded} == {p.read_bytes() for p in pngs}
    assert "<td>runs (tasks)</td><td>4</td>" in page
    assert "<td>attempts</td><td>6</td>" in page
    assert "<td>escalation rate</td><td>50%</td>" in page
    assert "<td>cost saved</td><td>$0.0630</td>" in page  # 6 × 0.0105 reference, nothing paid
    assert "<td>standard_dev / fast</td><td>2</td><td>1</td><td>50%</td>" in page
    assert "<td>complex / planner</td><td>1</td><td>1</td><td>100%</td>" in page
    assert not list(report.parent.glob("*.tmp"))


def test_empty_ledger_tables_say_so_and_succeed(isolated_project: Path) -> None:
    result = run_cli("stats", cwd=isolated_project, timeout=60)
    assert result.returncode == 0
    assert "no code-generation attempts recorded yet" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


def test_png_with_empty_ledger_is_one_line_error(isolated_project: Path) -> None:
    result = run_cli("stats", "--png", str(isolated_project / "charts"), cwd=isolated_project, timeout=60)
    assert "run `taskmaster code` first" in one_line_error(result)
    assert not (isolated_project / "charts").exists()


def test_since_filters_the_charted_attempts(isolated_project: Path) -> None:
    fill_ledger(isolated_project)
    result = run_cli("stats", "--since", "2999-01-01", "--html", "r.html", cwd=isolated_project, timeout=60)
    assert "nothing to plot" in one_line_error(result)
