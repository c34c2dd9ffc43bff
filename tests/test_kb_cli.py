"""`taskmaster kb …` end to end: real MiniLM + BM25 embedder, Qdrant Edge on disk, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import ROOT, one_line_error, run_cli

from taskmaster.cli import registry

# Until `knowledge_commands` is listed in taskmaster/cli/registry.py, run the same app with it registered.
REGISTER = (
    "import sys\n"
    "from taskmaster.cli import app, knowledge_commands, registry\n"
    "app._register_all()\n"
    "if 'knowledge_commands' not in registry.COMMAND_MODULES:\n"
    "    knowledge_commands.register(app.app)\n"
    "app.app(sys.argv[1:])\n"
)


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    if "knowledge_commands" in registry.COMMAND_MODULES:
        return run_cli(*args, cwd=cwd, env=env)
    return subprocess.run(
        [sys.executable, "-c", REGISTER, *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def corpus(isolated_project: Path) -> Path:
    target = isolated_project / "kb"
    shutil.copytree(ROOT / "examples" / "kb", target)
    return target


def test_add_list_search_remove(isolated_project: Path, corpus: Path) -> None:
    added = cli("kb", "add", "kb", "--tag", "examples", cwd=isolated_project)
    assert added.returncode == 0, added.stderr
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    assert f"{len(files)} added, 0 updated, 0 unchanged, 0 removed, 0 skipped" in added.stdout
    for path in files:
        assert f"added  {path.resolve()}" in added.stdout

    listed = cli("kb", "list", "--json", cwd=isolated_project)
    assert listed.returncode == 0, listed.stderr
    sources = json.loads(listed.stdout)
    assert sorted(s["path"] for s in sources) == [str(p.resolve()) for p in files]
    assert all(s["chunks"] >= 1 and s["tags"] == ["examples"] for s in sources)

    found = cli(
        "kb", "search", "how should I hash and store user passwords", "--limit", "3", "--json", cwd=isolated_project
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert 1 <= len(hits) <= 3
    assert Path(hits[0]["source"]).name == "password-hashing.rst"
    for hit in hits:
        lines = Path(hit["source"]).read_text(encoding="utf-8").splitlines()
        assert 1 <= hit["line_start"] <= hit["line_end"] <= len(lines)
        assert isinstance(hit["score"], float) and hit["text"].strip()

    target = corpus / "password-hashing.rst"
    removed = cli("kb", "remove", str(target), cwd=isolated_project)
    assert removed.returncode == 0, removed.stderr
    assert "removed 1 file(s)" in removed.stdout
    again = cli("kb", "search", "argon2 password hashing", "--json", cwd=isolated_project)
    assert again.returncode == 0, again.stderr
    assert all(Path(h["source"]).name != "password-hashing.rst" for h in json.loads(again.stdout))


def test_add_of_a_missing_path_or_an_empty_directory_is_a_one_line_error(isolated_project: Path) -> None:
    missing = one_line_error(cli("kb", "add", "no-such-dir", cwd=isolated_project))
    assert "no-such-dir" in missing and "no such file or directory" in missing

    (isolated_project / "empty").mkdir()
    empty = one_line_error(cli("kb", "add", "empty", cwd=isolated_project))
    assert "no supported documents found" in empty


def test_search_and_remove_on_an_empty_knowledge_base_explain_what_to_do(isolated_project: Path) -> None:
    search = one_line_error(cli("kb", "search", "anything", cwd=isolated_project))
    assert "knowledge base is empty" in search and "kb add" in search


def test_add_skips_links_out_of_the_tree_and_counts_skips_per_reason(isolated_project: Path, tmp_path: Path) -> None:
    """Regression (issue 11): a symlink to a system directory inside a docs tree was ingested without a word."""
    system = tmp_path / "etc"
    system.mkdir()
    (system / "passwd.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    docs = isolated_project / "docs"
    docs.mkdir()
    (docs / "guide.mdx").write_text("---\ntitle: Guide\n---\nimport X from 'x'\n\n<Tip>Rotate keys monthly.</Tip>\n")
    (docs / "Makefile").write_text("test:\n\tpytest\n")
    (docs / "etc").symlink_to(system, target_is_directory=True)

    added = cli("kb", "add", "docs", cwd=isolated_project, env={"COLUMNS": "300"})
    assert added.returncode == 0, added.stderr
    assert f"added  {(docs / 'guide.mdx').resolve()}" in added.stdout
    assert f"skipped  {docs.resolve() / 'etc'}: symlink to {system.resolve()}" in added.stdout
    assert "skipped by reason: 1 symlink outside the directory, 1 unknown type" in added.stdout
    listed = json.loads(cli("kb", "list", "--json", cwd=isolated_project).stdout)
    assert [Path(s["path"]).name for s in listed] == ["guide.mdx"]

    refused = one_line_error(cli("kb", "add", "docs/etc", cwd=isolated_project))
    assert "is a symlink to" in refused and "--follow-symlinks" in refused

    widened = cli("kb", "add", "docs", "--include-unknown", "--follow-symlinks", cwd=isolated_project)
    assert widened.returncode == 0, widened.stderr
    listed = json.loads(cli("kb", "list", "--json", cwd=isolated_project).stdout)
    assert sorted(Path(s["path"]).name for s in listed) == ["Makefile", "guide.mdx", "passwd.txt"]
