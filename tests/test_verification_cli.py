"""`taskmaster verify` through Typer's runner: exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from taskmaster.cli import registry, verify_commands

# A group of its own: Typer runs a lone command without its name, and the shared app's other commands are
# other people's; `register` is exercised exactly as the app shell calls it.
app = typer.Typer()
app.callback()(lambda: None)
verify_commands.register(app)

runner = CliRunner()
TASKMASTER = Path(sys.executable).parent / "taskmaster"
TESTS = "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "good": tmp_path / "good.py",
        "bad": tmp_path / "bad.py",
        "tests": tmp_path / "test_add.py",
        "binary": tmp_path / "blob.py",
        "latin1": tmp_path / "latin1.py",
        "broken_js": tmp_path / "broken.js",
    }
    paths["good"].write_text("def add(a, b):\n    return a + b\n")
    paths["bad"].write_text("def add(a, b):\n    return a - b\n")
    paths["tests"].write_text(TESTS)
    paths["binary"].write_bytes(b"\x7fELF\x00\x00\x01")
    paths["latin1"].write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    paths["broken_js"].write_text("function f( {\n")
    return paths


def test_passing_file_exits_0(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["verify", str(files["good"]), "--tests", str(files["tests"])])
    assert result.exit_code == 0, result.output
    assert "PASS tests" in result.output and "verification passed" in result.output


def test_failing_tests_exit_1_with_the_failure(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["verify", str(files["bad"]), "--tests", str(files["tests"]), "--type", "critical"])
    assert result.exit_code == 1
    assert "assert -1 == 3" in result.output
    assert "SKIP judge: no judge model wired" in result.output


def test_json_report(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["verify", str(files["broken_js"]), "--type", "quick_edit", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["passed"] is False and report["outcomes"][0]["errors"][0].startswith("1:")


@pytest.mark.parametrize(
    ("which", "message"),
    [("missing", "does not exist"), ("binary", "binary file"), ("latin1", "not valid UTF-8")],
)
def test_unreadable_file_is_a_one_line_error(files: dict[str, Path], tmp_path: Path, which: str, message: str) -> None:
    path = files.get(which, tmp_path / "nope.py")
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == 1
    assert "error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_unknown_type_is_a_one_line_error(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["verify", str(files["good"]), "--type", "yolo"])
    assert result.exit_code == 1 and "unknown --type" in result.output


@pytest.mark.skipif(
    "verify_commands" not in registry.COMMAND_MODULES or not TASKMASTER.exists(),
    reason="verify_commands is not yet listed in taskmaster/cli/registry.py",
)
def test_installed_command(files: dict[str, Path]) -> None:
    ok = subprocess.run(
        [str(TASKMASTER), "verify", str(files["good"]), "--tests", str(files["tests"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run(
        [str(TASKMASTER), "verify", "/nonexistent/x.py"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "error:" in missing.stderr


def test_tests_may_import_the_file_by_its_own_name(files: dict[str, Path]) -> None:
    """`taskmaster verify good.py --tests test_good.py` where the test does `from good import add`."""
    own_name = files["tests"].with_name("test_good.py")
    own_name.write_text("from good import add\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    result = runner.invoke(app, ["verify", str(files["good"]), "--tests", str(own_name)])
    assert result.exit_code == 0, result.output
    assert "verification passed" in result.output
