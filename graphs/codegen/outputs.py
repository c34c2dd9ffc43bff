"""Where a codegen result lands on disk: solution, tests and a JSON report, each written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tasks.atomic import write_text_atomic


def write_outputs(out: Path, state: dict[str, Any], summary: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    code = state.get("code") or ""
    tests = state.get("tests") or state.get("generated_tests") or ""
    for name, text in (("solution.py", code), ("test_solution.py", tests)):
        if text.strip():
            write_text_atomic(out / name, text.rstrip() + "\n")
            written.append(out / name)
    report = {**summary, "notes": state.get("notes", []), "attempt_history": state.get("history", [])}
    write_text_atomic(out / "result.json", json.dumps(report, indent=2, default=str) + "\n")
    written.append(out / "result.json")
    return written
