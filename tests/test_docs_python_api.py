"""docs/python-api.md's model-free example runs as written and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def test_the_tasks_example_runs_and_prints_what_it_says(isolated_project: Path) -> None:
    section = DOC.read_text()[DOC.read_text().index("## Tasks (no model)") :]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    code = block.group(1)
    commented = [line for line in code.splitlines() if line.lstrip().startswith("print(") and "  # " in line]
    promised = [line.split("  # ", 1)[1].strip() for line in commented]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(DOC), "exec"), {})
    lines = printed.getvalue().splitlines()
    assert lines[: len(promised)] == promised
    assert lines[len(promised)] == "error: task 99 not found; run `taskmaster list` to see ids"
