"""`taskmaster research` end to end on the real embedded model (SmolLM2-135M) over examples/kb.

The tiny model's prose is weak; these tests assert what the pipeline guarantees whatever it says: exit 0, every
cited source is a real file of the corpus with a valid line range, citations in the answer are all listed, and the
answer can be saved to a task and to a markdown file.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from e2e import ROOT, one_line_error
from test_kb_cli import cli

from tasks.model import Task
from tasks.store import TaskFile


@pytest.fixture
def ingested(isolated_project: Path) -> Path:
    corpus = isolated_project / "kb"
    shutil.copytree(ROOT / "examples" / "kb", corpus)
    result = cli("kb", "add", "kb", cwd=isolated_project)
    assert result.returncode == 0, result.stderr
    return corpus


def test_research_cites_only_real_passages_and_saves_the_answer(
    isolated_project: Path, ingested: Path, embedded_server: object
) -> None:
    store = TaskFile(isolated_project / ".taskmaster" / "tasks" / "tasks.json")
    store.save([Task.new(1, "Store user passwords safely", description="Pick a password hashing scheme.")])

    result = cli(
        "research",
        "How should user passwords be hashed?",
        "--task",
        "1",
        "--save-to",
        "1",
        "--save-file",
        "notes/research.md",
        "--json",
        cwd=isolated_project,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    corpus_files = {str(p.resolve()) for p in ingested.iterdir() if p.is_file()}
    numbers = {s["n"] for s in out["sources"]}
    for source in out["sources"]:
        assert source["source"] in corpus_files  # never an invented source
        lines = Path(source["source"]).read_text(encoding="utf-8").splitlines()
        assert 1 <= source["line_start"] <= source["line_end"] <= len(lines)
    cited = {int(n) for group in re.findall(r"\[([\d,; ]+)\]", out["answer"]) for n in re.split(r"[,; ]+", group) if n}
    assert cited == numbers  # every surviving citation is listed, and only those
    assert numbers, out  # a generated answer with checked citations, or an extractive one quoting passages
    if "extractive" in out["flags"]:
        for source in out["sources"]:
            lines = Path(source["source"]).read_text(encoding="utf-8").splitlines()
            first_quoted = lines[source["line_start"] - 1].strip()
            assert first_quoted in out["answer"]  # quoted verbatim, with its file and lines
    assert "<passage" not in out["answer"] and '"}' not in out["answer"]  # never a fragment of the prompt
    assert out["queries"][0] == "How should user passwords be hashed?"
    stages = [line for line in result.stderr.splitlines() if line.startswith("research ")]
    assert any("searching" in line for line in stages) and any("answer:" in line for line in stages)

    saved = (isolated_project / "notes" / "research.md").read_text(encoding="utf-8")
    assert saved.startswith("## Research: How should user passwords be hashed?")
    details = store.load()[0].details
    assert "## Research: How should user passwords be hashed?" in details
    for source in out["sources"]:
        assert f"[{source['n']}] {source['source']}:{source['line_start']}-{source['line_end']}" in saved


def test_research_on_an_empty_knowledge_base_needs_no_model(isolated_project: Path) -> None:
    result = cli("research", "What is WAL mode?", "--json", "--profile", "openai-compatible", cwd=isolated_project)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "knowledge base is empty" in out["answer"]
    assert out["sources"] == [] and out["flags"] == ["empty_knowledge_base"]


def test_research_save_to_an_unknown_task_fails_before_any_work(isolated_project: Path) -> None:
    error = one_line_error(cli("research", "anything", "--save-to", "7", cwd=isolated_project))
    assert "7" in error
