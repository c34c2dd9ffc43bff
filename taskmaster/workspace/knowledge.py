"""The public API for the knowledge base: `ws.kb.add / search / list / remove / stats`, the `taskmaster kb` commands.

All of it is retrieval only (no chat model): the embedder loads on the first add or search. Results are pydantic
models so the CLI's `--json`, the MCP tools and Python callers see the same fields.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from taskmaster.errors import AppError, KnowledgeBaseError, translated

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase
    from taskmaster.workspace.workspace import Workspace

OnProgress = Callable[[str, int, int], None]  # (stage: scan | embed | store, done, total) for progress bars
EMPTY = "the knowledge base is empty; add documents with `taskmaster kb add PATH` (the kb_add tool, ws.kb.add)"


class Passage(BaseModel):
    """One search result, with enough location data to cite it (file and 1-based line range)."""

    chunk_id: str
    text: str
    source: str
    heading: str
    line_start: int
    line_end: int
    score: float


class SkippedFile(BaseModel):
    """A file an ingest left out, with the reason shown to the user and its category for the summary."""

    path: str
    reason: str
    category: str


class IngestReport(BaseModel):
    """What `add` did, file by file; every file left out is in `skipped` with its reason."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)
    truncated: list[str] = Field(default_factory=list)  # larger than knowledge.max_file_bytes: only the start indexed
    passages_embedded: int = 0
    passages_reused: int = 0
    reindexed_from: str | None = None  # the previous embedder when this add re-embedded the whole index

    def skip_counts(self) -> dict[str, int]:
        """Skipped files per reason category, most frequent first."""
        counts: dict[str, int] = {}
        for item in self.skipped:
            counts[item.category] = counts.get(item.category, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class Source(BaseModel):
    """One ingested file."""

    path: str
    chunks: int
    ingested_at: datetime
    tags: list[str] = Field(default_factory=list)


class KnowledgeStats(BaseModel):
    """How much the knowledge base holds."""

    files: int
    passages: int
    tags: list[str]


class KnowledgeAPI:
    """`ws.kb`: the knowledge base of one workspace (opened on first use, closed with the workspace)."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def _kb(self) -> KnowledgeBase:
        with translated():
            return self._ws.knowledge_base()

    def add(
        self,
        paths: Sequence[str | Path],
        *,
        tags: Sequence[str] | None = None,
        include_unknown: bool = False,
        follow_symlinks: bool = False,
        on_progress: OnProgress | None = None,
    ) -> IngestReport:
        """Ingest files and directories; unchanged files are skipped, vanished files under them are removed.

        Relative paths are taken from the current directory, as the CLI does. `include_unknown` also indexes files of
        unknown type whose content is text; `follow_symlinks` follows links that leave the directories given.
        """
        from knowledge.documents import discover

        targets = [Path(p).expanduser() for p in paths]
        if not targets:
            raise AppError("no paths given; name the files or directories to add")
        with translated():
            existing = [p for p in targets if p.exists() or p.is_symlink()]
            if existing:  # an empty directory, unsupported file or link out of bounds fails before the embedder loads
                discover(existing, include_unknown, follow_symlinks)
            report = self._kb().add(
                targets,
                tags=list(tags) if tags else None,
                progress=on_progress,
                include_unknown=include_unknown,
                follow_symlinks=follow_symlinks,
            )
        return IngestReport(
            added=list(report.added),
            updated=list(report.updated),
            unchanged=list(report.unchanged),
            removed=list(report.removed),
            skipped=[SkippedFile(path=str(s.path), reason=s.reason, category=s.category) for s in report.skipped],
            truncated=list(report.truncated),
            passages_embedded=report.chunks_embedded,
            passages_reused=report.chunks_reused,
            reindexed_from=report.reindexed_from,
        )

    def search(
        self, query: str, *, limit: int = 5, tag: str | None = None, source: str | Path | None = None
    ) -> builtins.list[Passage]:
        """Hybrid (dense + keyword) search; retrieval only, no model. An empty knowledge base is an error."""
        if not query.strip():
            raise AppError("the query is empty; say what to look for")
        if limit < 1:
            raise AppError(f"limit must be at least 1, not {limit}")
        kb = self._kb()
        with translated():
            if kb.is_empty():
                raise KnowledgeBaseError(EMPTY)
            hits = kb.search(query, limit=limit, source=str(source) if source else None, tag=tag)
        return [
            Passage(
                chunk_id=h.chunk_id,
                text=h.text,
                source=h.source,
                heading=h.heading,
                line_start=h.line_start,
                line_end=h.line_end,
                score=h.score,
            )
            for h in hits
        ]

    def remove(self, path: str | Path) -> int:
        """Remove a file, or every file under a directory; returns how many. Naming nothing indexed is an error."""
        with translated():
            count = self._kb().remove(Path(path))
        if not count:
            raise KnowledgeBaseError(f"{path} is not in the knowledge base; see `taskmaster kb list`")
        return count

    def list(self) -> builtins.list[Source]:
        """The ingested files with their passage counts and tags, by path."""
        with translated():
            sources = self._kb().sources()
        return [Source(path=s.path, chunks=s.chunks, ingested_at=s.ingested_at, tags=list(s.tags)) for s in sources]

    def stats(self) -> KnowledgeStats:
        """Files, passages and tags in the knowledge base (from its manifest: no embedder is loaded)."""
        sources = self.list()
        return KnowledgeStats(
            files=len(sources),
            passages=sum(s.chunks for s in sources),
            tags=sorted({tag for s in sources for tag in s.tags}),
        )

    def is_empty(self) -> bool:
        with translated():
            return self._kb().is_empty()
