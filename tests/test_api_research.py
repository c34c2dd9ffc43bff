"""The research and knowledge-base API (`ws.research`, `ws.kb`) on a real temp project: real embedder and Qdrant Edge
store; the one research answer with a model runs on the embedded SmolLM2 server."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from e2e import ROOT, run_cli

from taskmaster.errors import AppError, KnowledgeBaseError, TaskStoreError
from taskmaster.workspace.knowledge import IngestReport, KnowledgeStats, Passage
from taskmaster.workspace.research import ResearchAnswer, research_thread_id
from taskmaster.workspace.workspace import Workspace
from tasks.model import Task
from tasks.store import TaskFile


@pytest.fixture
def corpus(isolated_project: Path) -> Path:
    target = isolated_project / "kb"
    shutil.copytree(ROOT / "examples" / "kb", target)
    return target


def _tasks(project: Path) -> TaskFile:
    return TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")


def test_kb_add_list_search_stats_remove(isolated_project: Path, corpus: Path) -> None:
    files = sorted(p.resolve() for p in corpus.iterdir() if p.is_file())
    stages: set[str] = set()
    with Workspace.open(isolated_project) as ws:
        report = ws.kb.add([corpus], tags=["examples"], on_progress=lambda stage, done, total: stages.add(stage))
        assert isinstance(report, IngestReport)
        assert sorted(report.added) == [str(p) for p in files] and report.skipped == []
        assert report.passages_embedded >= len(files) and {"scan", "embed", "store"} <= stages

        listed = ws.kb.list()
        assert [s.path for s in listed] == [str(p) for p in files]
        assert all(s.chunks >= 1 and s.tags == ["examples"] for s in listed)
        stats = ws.kb.stats()
        assert stats.files == len(files) and stats.passages == sum(s.chunks for s in listed)
        assert stats.tags == ["examples"]

        hits = ws.kb.search("how should I hash and store user passwords", limit=3)
        assert 1 <= len(hits) <= 3 and all(isinstance(h, Passage) for h in hits)
        assert Path(hits[0].source).name == "password-hashing.rst"
        for hit in hits:
            lines = Path(hit.source).read_text(encoding="utf-8").splitlines()
            assert 1 <= hit.line_start <= hit.line_end <= len(lines)
        assert ws.kb.search("password hashing", tag="no-such-tag") == []

        again = ws.kb.add([corpus], tags=["examples"])  # same files, same tags: nothing to embed
        assert again.added == again.updated == [] and again.unchanged == [str(p) for p in files]

        assert ws.kb.remove(corpus / "password-hashing.rst") == 1
        assert all(Path(h.source).name != "password-hashing.rst" for h in ws.kb.search("argon2 password hashing"))
        with pytest.raises(KnowledgeBaseError, match="not in the knowledge base"):
            ws.kb.remove(corpus / "password-hashing.rst")
        stats = ws.kb.stats()
    shown = run_cli("kb", "stats", "--json", cwd=isolated_project)  # the CLI prints the same model
    assert shown.returncode == 0, shown.stderr
    assert KnowledgeStats.model_validate_json(shown.stdout) == stats and stats.files == len(files) - 1


def test_kb_bad_input_raises_the_cli_messages(isolated_project: Path) -> None:
    (isolated_project / "empty").mkdir()
    with Workspace.open(isolated_project) as ws:
        assert ws.kb.is_empty() and ws.kb.list() == []
        with pytest.raises(KnowledgeBaseError, match=r"knowledge base is empty.*kb add"):
            ws.kb.search("anything")
        with pytest.raises(AppError, match="query is empty"):
            ws.kb.search("  ")
        with pytest.raises(KnowledgeBaseError, match="no such file or directory"):
            ws.kb.add([isolated_project / "no-such-dir"])
        with pytest.raises(KnowledgeBaseError, match="no supported documents found"):
            ws.kb.add([isolated_project / "empty"])


def test_research_on_an_empty_knowledge_base_needs_no_model(isolated_project: Path) -> None:
    # a profile whose endpoint does not exist: starting any model would fail
    with Workspace.open(isolated_project, profile="openai-compatible") as ws:
        answer = ws.research("What is WAL mode?", save_file=True)
    assert isinstance(answer, ResearchAnswer)
    assert "knowledge base is empty" in answer.answer
    assert answer.sources == [] and answer.flags == ["empty_knowledge_base"] and answer.usage is None
    saved = Path(answer.saved["file"])
    assert saved == isolated_project / ".taskmaster" / "docs" / "research" / "what-is-wal-mode.md"
    assert saved.read_text(encoding="utf-8") == answer.markdown()


def test_research_checks_its_inputs_before_any_work(isolated_project: Path) -> None:
    _tasks(isolated_project).save([Task.new(1, "Store user passwords safely")])
    with Workspace.open(isolated_project) as ws:
        with pytest.raises(AppError, match="question is empty"):
            ws.research("   ")
        with pytest.raises(TaskStoreError, match="7"):
            ws.research("anything", save_to="7")
        with pytest.raises(TaskStoreError, match="9"):
            ws.research("anything", tasks="1,9")
        with pytest.raises(AppError, match="is a directory"):
            ws.research("anything", save_file=isolated_project)
    assert not (isolated_project / ".taskmaster" / "state").exists() or not any(
        (isolated_project / ".taskmaster" / "state").glob("checkpoints*")
    )


class Stop(Exception):
    """Raised from on_update, as Ctrl-C or a cancelled MCP call stops a run between graph steps."""


def test_research_resumes_an_interrupted_run_cites_real_passages_and_saves_to_the_task(
    isolated_project: Path, corpus: Path, embedded_server: object
) -> None:
    store = _tasks(isolated_project)
    store.save([Task.new(1, "Store user passwords safely", description="Pick a password hashing scheme.")])
    question = "How should user passwords be hashed?"

    def stop_after_retrieval(node: str, update: object) -> None:
        if node == "collect":  # before the writer's model call
            raise Stop

    stages: list[str] = []
    nodes: list[str] = []
    with Workspace.open(isolated_project) as ws:
        ws.kb.add([corpus])
        with pytest.raises(Stop):
            ws.research(question, tasks="1", save_to="1", on_update=stop_after_retrieval)
        assert store.load()[0].details == ""  # nothing saved by the interrupted run
        thread_id = research_thread_id(ws, question, tasks="1")  # the task's details are context: before saving
        answer = ws.research(
            question,
            tasks="1",
            save_to="1",
            on_stage=stages.append,
            on_update=lambda node, update: nodes.append(node),
        )
    assert answer.thread_id == thread_id and answer.resumed
    assert "inspect" not in nodes and nodes[-1] == "check_citations"
    files = {str(p.resolve()) for p in corpus.iterdir() if p.is_file()}
    assert answer.sources and all(s.source in files for s in answer.sources)  # never an invented source
    cited = {int(n) for g in re.findall(r"\[([\d,; ]+)\]", answer.answer) for n in re.split(r"[,; ]+", g) if n}
    assert cited == {s.n for s in answer.sources}
    assert answer.queries[0] == question
    assert answer.usage and "model calls" in answer.usage and answer.thread_id.startswith("research-")
    assert any("answer:" in s for s in stages)
    assert answer.saved == {"task": "1"}
    assert store.load()[0].details == answer.markdown()
