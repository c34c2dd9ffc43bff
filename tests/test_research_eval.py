"""`taskmaster eval research`: question files, retrieval metrics, answer metrics, and the command end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from e2e import ROOT, one_line_error
from test_kb_cli import cli

from knowledge.base import Hit
from taskmaster.errors import AppError
from taskmaster.evals.research import Question, citation_precision, evaluate, is_gold, load_questions


def hit(source: str, text: str = "text") -> Hit:
    return Hit(source, text, source, "", 1, 1, 1.0)


def test_question_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a?", "gold_paths": ["a.md"], "answer": "kw"}\n\n{"question": "b?"}\n')
    with pytest.raises(AppError, match=r"q.jsonl:3 is not a question line"):
        load_questions(path)
    path.write_text('{"question": "a?", "gold_paths": ["a.md"], "answer": "kw"}\n')
    assert load_questions(path) == [Question(question="a?", gold_paths=["a.md"], answer=["kw"])]
    path.write_text("\n")
    with pytest.raises(AppError, match="holds no questions"):
        load_questions(path)
    with pytest.raises(AppError, match="cannot read the question file"):
        load_questions(tmp_path / "missing.jsonl")


def test_gold_paths_match_by_path_suffix() -> None:
    assert is_gold("/corpus/docs/guide.md", ["docs/guide.md"])
    assert is_gold("/corpus/docs/guide.md", ["./docs/guide.md"])
    assert not is_gold("/corpus/docs/myguide.md", ["guide.md"])


def test_recall_and_mrr_count_passages_as_a_user_reads_them() -> None:
    ranking = {
        "first": [hit("/c/a.md"), hit("/c/b.md")],
        "third": [hit("/c/x.md"), hit("/c/x.md"), hit("/c/a.md")],
        "sixth": [hit("/c/x.md")] * 5 + [hit("/c/a.md")],
        "missing": [hit("/c/x.md")] * 10,
    }
    questions = [Question(question=q, gold_paths=["a.md"]) for q in ranking]
    report = evaluate(questions, lambda q, k: ranking[q][:k], limit=5)
    assert [r.rank for r in report.results] == [1, 3, 6, None]
    assert report.recall == {"@1": 0.25, "@5": 0.5, "@10": 0.75}
    assert report.mrr == pytest.approx((1 + 1 / 3 + 1 / 6) / 4, abs=1e-4)
    assert report.keyword_hit_rate is None and report.answer_seconds_mean is None


def test_answer_metrics_keywords_citations_and_extractive() -> None:
    questions = [
        Question(question="cited", gold_paths=["a.md"], answer=["argon2id", "memory"]),
        Question(question="quoted", gold_paths=["a.md"], answer=["wal"]),
    ]
    states = {
        "cited": {
            "answer": "Use argon2id [1]. Plain text is fine [2].",
            "flags": [],
            "sources": [{"n": 1}, {"n": 2}],
            "passages": [{"n": 1, "text": "argon2id is the default"}, {"n": 2, "text": "never store plain text"}],
        },
        "quoted": {"answer": "> WAL mode", "flags": ["uncited", "extractive"], "sources": [{"n": 1}], "passages": []},
    }

    def judge(sentence: str, passage: str) -> bool:  # supports only the argon2id claim
        return "argon2id" in sentence and "argon2id" in passage

    report = evaluate(questions, lambda q, k: [hit("/c/a.md")], answer=lambda q: states[q], judge=judge, limit=5)
    first, second = report.results
    assert first.keyword_hit_rate == 0.5 and first.citation_precision == 0.5
    assert second.keyword_hit_rate == 1.0 and second.citation_precision == 1.0
    assert report.extractive == 1 and report.uncited == 1
    assert report.keyword_hit_rate == 0.75 and report.citation_precision == 0.75
    assert report.answer_seconds_mean is not None
    assert citation_precision({"answer": "x [1].", "flags": [], "passages": []}, judge) is None


def test_eval_research_command_on_a_tiny_question_set(isolated_project: Path) -> None:
    shutil.copytree(ROOT / "examples" / "kb", isolated_project / "kb")
    questions = isolated_project / "questions.jsonl"
    rows = [
        {"question": "Why do concurrent readers get database is locked errors?", "gold_paths": ["kb/sqlite-wal.md"]},
        {"question": "Which argon2 parameters do we use for passwords?", "gold_paths": ["password-hashing.rst"]},
        {"question": "How are 429 Too Many Requests answers produced?", "gold_paths": ["rate-limiting.md"]},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))

    empty = cli("eval", "research", "--questions", str(questions), "--json", cwd=isolated_project)
    assert empty.returncode == 1 and "knowledge base is empty" in one_line_error(empty)

    assert cli("kb", "add", "kb", cwd=isolated_project).returncode == 0
    result = cli("eval", "research", "--questions", str(questions), "--limit", "3", "--json", cwd=isolated_project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 3
    assert set(report["recall"]) == {"@1", "@3", "@5", "@10"}  # --limit 3 adds recall@3
    assert report["recall"]["@5"] == 1.0  # three plain questions over seven small files
    assert all(len(r["top_sources"]) <= 3 for r in report["results"])
    assert result.stderr.count("rank ") == 3  # one progress line per question

    bad = isolated_project / "bad.jsonl"
    bad.write_text('{"question": "no gold"}\n')
    failed = cli("eval", "research", "--questions", str(bad), cwd=isolated_project)
    assert failed.returncode == 1 and "bad.jsonl:1 is not a question line" in one_line_error(failed)
