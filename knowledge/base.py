"""The knowledge base: ingest files incrementally, search them with hybrid dense + keyword retrieval.

An ingest is staged then committed: every file is read, chunked and embedded before the index is touched, so a bad
file or a model error leaves the previous index exactly as it was. Only then are new points upserted, stale points of
changed files deleted (new points first, so a crash never leaves a file with no passages) and finally the manifest
(per-file content hashes) replaced atomically. A crash between those steps is repaired by the next ingest, because
the manifest still holds the old hash and the file is simply processed again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.chunking import Chunk, Chunker
from knowledge.config import KnowledgeConfig
from knowledge.documents import SKIP_EMPTY, SKIP_UNREADABLE, Skipped, discover, file_sha256, read_document
from knowledge.embedders import Embedded, Embedder, shared_embedder
from knowledge.errors import KnowledgeError, StoreError
from knowledge.store import (
    EdgeStore,
    Layout,
    QueryOptions,
    QueryVectors,
    SearchFilter,
    ServerStore,
    StoredPoint,
    VectorStore,
    point_id,
)

ProgressFn = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` with stage in {"scan", "embed", "store"}; the CLI draws the bars."""

LEGACY_MINILM_IDENTITY = "all-MiniLM-L6-v2+torch+float32"
MANIFEST_VERSION = 2  # 2: heading paths embedded, MDX/notebook/AsciiDoc/Word formats; older files are re-chunked


@dataclass(frozen=True)
class Hit:
    """One search result, with enough location data to cite it."""

    chunk_id: str
    text: str
    source: str
    heading: str
    line_start: int
    line_end: int
    score: float


@dataclass(frozen=True)
class SourceInfo:
    path: str
    chunks: int
    ingested_at: datetime
    tags: tuple[str, ...] = ()


@dataclass
class IngestReport:
    """What an ``add`` did, file by file; ``skipped`` carries the reason for each file left out."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    reindexed_from: str | None = None  # the previous embedder's identity when this add re-embedded the whole index

    def skip_counts(self) -> dict[str, int]:
        """Skipped files per reason category, most frequent first (the last line of `kb add`)."""
        counts: dict[str, int] = {}
        for item in self.skipped:
            counts[item.category] = counts.get(item.category, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class _Staged:
    path: str
    sha256: str
    chunks: list[Chunk]
    is_new: bool


class KnowledgeBase:
    """Open with ``KnowledgeBase.open(config)``; close when done (the Edge shard holds files open)."""

    def __init__(self, config: KnowledgeConfig, store: VectorStore, embedder: Embedder) -> None:
        self.config = config
        self._store = store
        self._embedder = embedder
        self._chunker = Chunker(config.chunk_size, config.chunk_overlap)
        self._manifest_path = Path(config.data_dir) / "manifests" / f"{store.identity}.json"
        self._manifest = self._load_manifest()
        self._check_embedder()

    @classmethod
    def open(
        cls, config: KnowledgeConfig, store: VectorStore | None = None, embedder: Embedder | None = None
    ) -> KnowledgeBase:
        """Pick the engine from config (``url`` set -> Qdrant server, else embedded Edge); both can be injected."""
        if store is None:
            if config.url:
                store = ServerStore.connect(config.url, config.collection, config.api_key, config.timeout_s)
            else:
                store = EdgeStore(config.data_dir, config.collection)
        try:
            return cls(config, store, embedder or shared_embedder(config))  # loaded once per process
        except BaseException:
            store.close()
            raise

    # ------------------------------------------------------------------ manifest

    def _load_manifest(self) -> dict[str, Any]:
        if not self._manifest_path.exists():
            return {"version": MANIFEST_VERSION, "embedder": None, "files": {}}
        try:
            data = json.loads(self._manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KnowledgeError(
                f"the ingest manifest {self._manifest_path} is unreadable ({exc}); delete it and re-run the ingest"
            ) from exc
        data.setdefault("files", {})
        return data

    def _identity(self) -> str:
        return getattr(self._embedder, "identity", self._embedder.name)

    def _stale_identity(self) -> str | None:
        """The embedder identity the index was built with, when it is not the configured one (else None).

        Manifests written before identities were recorded hold MiniLM vectors from the torch backend."""
        if not self._manifest["files"]:
            return None
        built = self._manifest.get("embedder_identity")
        if built is None:
            built = LEGACY_MINILM_IDENTITY if self._manifest.get("embedder") == "minilm" else self._identity()
        return built if built != self._identity() else None

    def _check_embedder(self) -> None:
        built_with = self._manifest.get("embedder")
        if built_with and self._manifest["files"] and built_with != self._embedder.name:
            raise StoreError(
                f"this knowledge base was built with the {built_with} embedder but knowledge.embedder is "
                f"{self._embedder.name}; set it back or delete {self.config.data_dir} and re-ingest"
            )

    def _write_manifest(self) -> None:
        """Atomic replace: readers see the old or the new manifest, never half of one."""
        self._manifest_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._manifest_path.parent, prefix=".manifest-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._manifest, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._manifest_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ ingest

    def add(
        self,
        paths: Sequence[Path],
        tags: list[str] | None = None,
        progress: ProgressFn | None = None,
        task_id: str | None = None,
        include_unknown: bool = False,
        follow_symlinks: bool = False,
    ) -> IngestReport:
        """Ingest files and directories; unchanged files are skipped, vanished files under them are removed.

        ``include_unknown`` indexes files of unknown type whose content is UTF-8 text; ``follow_symlinks`` lets a
        directory walk follow links that leave the directory (by default they are skipped with a reason).
        """
        notify = progress or (lambda _stage, _done, _total: None)
        tags_sorted = sorted(set(tags or []))
        roots = [Path(p).expanduser().resolve() for p in paths]
        known: dict[str, Any] = self._manifest["files"]
        report = IngestReport()

        def indexed_under(root: Path) -> bool:
            return any(key == str(root) or key.startswith(str(root) + os.sep) for key in known)

        # A named path that no longer exists but was ingested before means "forget it", not an error.
        vanished = [r for r in roots if not r.exists() and not r.is_symlink() and indexed_under(r)]
        present = [r for r in roots if r not in vanished]
        found = discover(present, include_unknown, follow_symlinks) if present else None
        current_format = self._manifest.get("version") == MANIFEST_VERSION
        report.skipped.extend(found.skipped if found else [])
        candidates = found.files if found else []
        # A changed embedder re-embeds every indexed file, whatever was named: old and new vectors never mix.
        stale_from = self._stale_identity()
        if stale_from:
            report.reindexed_from = stale_from
            named = {str(p) for p, _ in candidates}
            candidates = candidates + [(Path(k), False) for k in known if k not in named and Path(k).is_file()]

        # Stage: read, chunk and embed everything before touching the index.
        staged: list[_Staged] = []
        for index, (path, explicit) in enumerate(candidates):
            notify("scan", index, len(candidates))
            key = str(path)
            try:
                digest = file_sha256(path)
                entry = known.get(key)
                if (
                    entry
                    and current_format
                    and not stale_from
                    and entry["sha256"] == digest
                    and entry.get("tags", []) == tags_sorted
                    and entry.get("task_id") == task_id
                ):
                    report.unchanged.append(key)
                    continue
                doc = read_document(
                    path,
                    self.config.max_file_bytes,
                    as_text=path in found.as_text if found else False,
                    notebook_outputs=self.config.notebook_outputs,
                )
            except KnowledgeError as exc:
                if explicit:
                    raise
                reason = getattr(exc, "reason", str(exc))
                report.skipped.append(Skipped(key, reason, getattr(exc, "category", SKIP_UNREADABLE)))
                continue
            if doc.truncated:
                report.truncated.append(key)
            chunks = self._chunker.split(doc)
            if not chunks:
                report.skipped.append(Skipped(key, "no text to index", SKIP_EMPTY))
                continue
            staged.append(_Staged(key, digest, chunks, is_new=key not in known))
        notify("scan", len(candidates), len(candidates))

        seen = {str(p) for p, _ in candidates}
        under_roots = [
            key
            for key in known
            if key not in seen and any(key == str(r) or key.startswith(str(r) + os.sep) for r in roots)
        ]
        if stale_from:  # an indexed file that could not be re-embedded must not keep old vectors
            restaged = {item.path for item in staged}
            under_roots += [key for key in known if key not in restaged and key not in under_roots]
        removed = sorted(under_roots)
        if not staged and not removed:
            report.unchanged.sort()
            return report

        layout = Layout(self._embedder.dense_size, self._embedder.sparse_idf, self._embedder.colbert_size)
        self._store.ensure(layout)
        points, streamed = self._embed(staged, tags_sorted, task_id, report, notify, reuse=not stale_from)

        # Commit: new points first, then stale ones, then the manifest.
        now = datetime.now(UTC).isoformat()
        total_steps = len(staged) + len(removed) + 1
        notify("store", 0, total_steps)
        self._store.upsert([p for p in points if p.payload["source"] not in streamed])
        by_source: dict[str, list[str]] = {}
        for point in points:
            by_source.setdefault(point.payload["source"], []).append(point.id)
        for step, item in enumerate(staged, start=1):
            self._store.delete_source(item.path, keep_ids=by_source.get(item.path, []))
            known[item.path] = {
                "sha256": item.sha256,
                "chunks": len(item.chunks),
                "ingested_at": now,
                "tags": tags_sorted,
                "task_id": task_id,
            }
            (report.added if item.is_new else report.updated).append(item.path)
            notify("store", step, total_steps)
        for step, key in enumerate(removed, start=len(staged) + 1):
            self._store.delete_source(key)
            known.pop(key, None)
            report.removed.append(key)
            notify("store", step, total_steps)
        self._manifest["embedder"] = self._embedder.name
        self._manifest["embedder_identity"] = self._identity()
        self._manifest["version"] = MANIFEST_VERSION
        self._write_manifest()
        notify("store", total_steps, total_steps)
        report.unchanged.sort()
        return report

    def _embed(
        self,
        staged: list[_Staged],
        tags: list[str],
        task_id: str | None,
        report: IngestReport,
        notify: ProgressFn,
        reuse: bool = True,
    ) -> tuple[list[StoredPoint], set[str]]:
        """Embed each distinct passage once; passages already in the index (any file) reuse their stored vectors.

        A pipeline: while the model embeds the next group, a writer thread upserts the points of every new file
        whose passages are all embedded (onnxruntime releases the GIL). Only new files stream, because a failure
        can then be undone exactly by deleting those files' points; changed files are upserted by the caller after
        every passage is embedded. Returns all points and the sources already stored.
        """
        wanted = {chunk.sha256: chunk.embed_text for item in staged for chunk in item.chunks}
        existing = self._store.vectors_by_sha(wanted) if reuse else {}
        vectors: dict[str, Embedded] = {
            sha: Embedded(p.dense, p.sparse, p.colbert)
            for sha, p in existing.items()
            if p.colbert is not None or not self._embedder.colbert_size
        }
        todo = [(sha, text) for sha, text in wanted.items() if sha not in vectors]
        report.chunks_embedded = len(todo)
        report.chunks_reused = len(wanted) - len(todo)
        points: dict[str, list[StoredPoint]] = {}
        streamed: set[str] = set()
        writes: list[Future[None]] = []
        waiting = list(staged)

        def ready_new_files(final: bool) -> list[StoredPoint]:
            """Points of the staged files whose passages all have vectors; new files only unless ``final``."""
            out: list[StoredPoint] = []
            for item in list(waiting):
                if (final or item.is_new) and all(chunk.sha256 in vectors for chunk in item.chunks):
                    points[item.path] = self._points(item, vectors, tags, task_id)
                    waiting.remove(item)
                    if not final:
                        out.extend(points[item.path])
                        streamed.add(item.path)
            return out

        # Several model batches per call: the model sorts each call by length, so less padding is wasted.
        batch = max(1, self.config.batch_size) * 4
        notify("embed", 0, len(todo))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-upsert") as writer:
            try:
                if early := ready_new_files(final=False):
                    writes.append(writer.submit(self._store.upsert, early))
                for start in range(0, len(todo), batch):
                    part = todo[start : start + batch]
                    embedded = self._embedder.embed_documents([t for _, t in part])
                    for (sha, _), vector in zip(part, embedded, strict=True):
                        vectors[sha] = vector
                    if ready := ready_new_files(final=False):
                        writes.append(writer.submit(self._store.upsert, ready))
                    notify("embed", min(start + batch, len(todo)), len(todo))
                for write in writes:
                    write.result()
            except BaseException:
                for write in writes:
                    write.cancel()
                writer.shutdown(wait=True)
                for source in streamed:  # these files had no points before this add: the index is as it was
                    self._store.delete_source(source)
                raise
        ready_new_files(final=True)
        return [point for item in staged for point in points[item.path]], streamed

    def _points(
        self, item: _Staged, vectors: dict[str, Embedded], tags: list[str], task_id: str | None
    ) -> list[StoredPoint]:
        out: list[StoredPoint] = []
        for chunk in item.chunks:
            vec = vectors[chunk.sha256]
            payload = {
                "source": chunk.source,
                "text": chunk.text,
                "heading": chunk.heading,
                "line_start": chunk.line_start,
                "line_end": chunk.line_end,
                "sha256": chunk.sha256,
                "ordinal": chunk.ordinal,
                "tags": tags,
                "task_id": task_id,
            }
            out.append(StoredPoint(point_id(chunk.source, chunk.sha256), vec.dense, vec.sparse, payload, vec.colbert))
        return out

    # ------------------------------------------------------------------ queries

    def sources(self) -> list[SourceInfo]:
        return [
            SourceInfo(
                path=key,
                chunks=int(entry["chunks"]),
                ingested_at=datetime.fromisoformat(entry["ingested_at"]),
                tags=tuple(entry.get("tags", [])),
            )
            for key, entry in sorted(self._manifest["files"].items())
        ]

    def remove(self, path: Path | str) -> int:
        """Drop one file (or every file under a directory); returns the number of files removed."""
        target = str(Path(path).expanduser().resolve())
        known: dict[str, Any] = self._manifest["files"]
        keys = [k for k in known if k == target or k.startswith(target + os.sep)]
        for key in keys:
            self._store.delete_source(key)
            known.pop(key)
        if keys:
            self._write_manifest()
        return len(keys)

    def search(
        self,
        query: str,
        limit: int = 5,
        source: str | None = None,
        tag: str | None = None,
        task_id: str | None = None,
    ) -> list[Hit]:
        """Hybrid search: dense and BM25/lexical candidates fused with RRF; identical passages are returned once."""
        if not query.strip() or limit < 1:
            return []
        where = SearchFilter(
            source=str(Path(source).expanduser().resolve()) if source else None, tag=tag, task_id=task_id
        )
        if stale_from := self._stale_identity():
            raise StoreError(
                f"this knowledge base was embedded with {stale_from} but the configured embedder is "
                f"{self._identity()}; vectors of two embedders are never mixed: run `taskmaster kb add` on any "
                f"indexed folder to re-embed all {len(self._manifest['files'])} files, or set knowledge.backend back"
            )
        vec = self._embedder.embed_query(query)
        options = QueryOptions(
            limit=limit * 2,
            prefetch_limit=max(self.config.prefetch_limit, limit * 2),
            rrf_k=self.config.rrf_k,
            hnsw_ef=self.config.hnsw_ef,
        )
        found = self._store.hybrid_query(QueryVectors(vec.dense, vec.sparse, vec.colbert), where, options)
        hits: list[Hit] = []
        seen: set[str] = set()
        for point in found:
            payload = point.payload
            if payload.get("sha256") in seen:
                continue
            seen.add(payload.get("sha256", point.id))
            hits.append(
                Hit(
                    chunk_id=point.id,
                    text=payload.get("text", ""),
                    source=payload.get("source", ""),
                    heading=payload.get("heading", ""),
                    line_start=int(payload.get("line_start", 0)),
                    line_end=int(payload.get("line_end", 0)),
                    score=point.score,
                )
            )
            if len(hits) == limit:
                break
        return hits

    def is_empty(self) -> bool:
        return self._store.count() == 0

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
