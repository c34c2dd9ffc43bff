"""KnowledgeBase end to end with the real MiniLM model, Qdrant Edge on disk and qdrant-client local mode."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.config import KnowledgeConfig
from knowledge.embedders import Embedded, MiniLmBm25Embedder
from knowledge.errors import NoDocumentsFound, StoreUnavailable, UnreadableFile, UnsupportedFile
from knowledge.store import EdgeStore, ServerStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "kb"

QUERIES = {
    "why do I get database is locked errors with concurrent readers": "sqlite-wal.md",
    "argon2 memory cost and rehash on login": "password-hashing.rst",
    "keyset cursor pagination stable under inserts": "api-pagination.md",
    "stored XSS in user notes, allow-list of tags": "html-sanitising.txt",
    "429 Too Many Requests token bucket": "rate-limiting.md",
    "CSV export delimiter detection and BOM": "csv_import.py",
    "override a dependency in a FastAPI test": "fastapi-testing.md",
}


@pytest.fixture(scope="module")
def embedder() -> MiniLmBm25Embedder:
    return MiniLmBm25Embedder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture
def config(tmp_path: Path) -> KnowledgeConfig:
    return KnowledgeConfig(data_dir=tmp_path / "data")


@pytest.fixture
def kb(config: KnowledgeConfig, embedder: MiniLmBm25Embedder) -> Iterator[KnowledgeBase]:
    base = KnowledgeBase.open(config, embedder=embedder)
    yield base
    base.close()


def manifest_bytes(config: KnowledgeConfig) -> bytes:
    (manifest,) = (config.data_dir / "manifests").glob("*.json")
    return manifest.read_bytes()


def test_ingest_then_search_finds_the_right_document(kb: KnowledgeBase, corpus: Path) -> None:
    assert kb.is_empty()
    events: list[tuple[str, int, int]] = []
    report = kb.add([corpus], progress=lambda stage, done, total: events.append((stage, done, total)))
    names = sorted(Path(p).name for p in report.added)
    assert names == sorted(p.name for p in EXAMPLES.iterdir())
    assert report.chunks_embedded > len(names) and not report.skipped
    assert {stage for stage, _, _ in events} == {"scan", "embed", "store"}
    assert ("embed", report.chunks_embedded, report.chunks_embedded) in events
    assert not kb.is_empty()
    sources = {Path(s.path).name: s for s in kb.sources()}
    assert sources["sqlite-wal.md"].chunks >= 2

    for query, expected in QUERIES.items():
        hits = kb.search(query, limit=3)
        assert Path(hits[0].source).name == expected, (query, [h.source for h in hits])

    hit = kb.search("PRAGMA busy_timeout", limit=1)[0]
    lines = Path(hit.source).read_text().splitlines()
    cited = "\n".join(lines[hit.line_start - 1 : hit.line_end])
    assert hit.text == cited.strip()
    assert hit.heading.startswith("SQLite in WAL mode")


def test_reingest_only_reembeds_what_changed(kb: KnowledgeBase, corpus: Path) -> None:
    first = kb.add([corpus])
    again = kb.add([corpus])
    assert again.chunks_embedded == 0 and not again.added and not again.updated
    assert len(again.unchanged) == len(first.added)

    target = corpus / "rate-limiting.md"
    target.write_text(target.read_text() + "\n## Leaky bucket\n\nA leaky bucket smooths bursts into a constant flow.\n")
    edited = kb.add([corpus])
    assert [Path(p).name for p in edited.updated] == ["rate-limiting.md"]
    assert len(edited.unchanged) == len(first.added) - 1
    # Only the new passage needs the model; unchanged passages of that file keep their vectors.
    assert 1 <= edited.chunks_embedded <= 2 and edited.chunks_reused >= 1
    assert Path(kb.search("leaky bucket constant flow", limit=1)[0].source).name == "rate-limiting.md"

    (corpus / "sqlite-wal.md").unlink()
    deleted = kb.add([corpus])
    assert [Path(p).name for p in deleted.removed] == ["sqlite-wal.md"]
    assert deleted.chunks_embedded == 0
    assert all(Path(h.source).name != "sqlite-wal.md" for h in kb.search("SQLite WAL checkpoint", limit=10))
    assert "sqlite-wal.md" not in {Path(s.path).name for s in kb.sources()}

    shutil.rmtree(corpus)  # the whole ingested directory is gone: forget everything under it
    gone = kb.add([corpus])
    assert len(gone.removed) == len(first.added) - 1
    assert kb.is_empty() and kb.sources() == []


def test_filters_by_source_tag_and_task(kb: KnowledgeBase, corpus: Path) -> None:
    kb.add([corpus / "api-pagination.md", corpus / "rate-limiting.md"], tags=["api"], task_id="7")
    kb.add([corpus / "sqlite-wal.md", corpus / "password-hashing.rst"], tags=["storage"], task_id="8")

    api_hits = kb.search("database", limit=10, tag="api")
    assert api_hits and {Path(h.source).name for h in api_hits} <= {"api-pagination.md", "rate-limiting.md"}
    task_hits = kb.search("pagination", limit=10, task_id="8")
    assert task_hits and {Path(h.source).name for h in task_hits} <= {"sqlite-wal.md", "password-hashing.rst"}
    only = kb.search("pagination", limit=10, source=str(corpus / "password-hashing.rst"))
    assert only and {Path(h.source).name for h in only} == {"password-hashing.rst"}
    assert kb.search("pagination", tag="no-such-tag") == []

    assert kb.remove(corpus / "api-pagination.md") == 1
    assert kb.search("cursor", limit=10, source=str(corpus / "api-pagination.md")) == []


def test_identical_passages_are_embedded_and_returned_once(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "dupes"
    docs.mkdir()
    text = "Readers see a consistent snapshot while the single writer appends to the log.\n"
    (docs / "a.txt").write_text(text)
    (docs / "b.txt").write_text(text)
    report = kb.add([docs])
    assert report.chunks_embedded == 1 and len(report.added) == 2
    hits = kb.search("consistent snapshot single writer", limit=5)
    assert [h.text for h in hits].count(text.strip()) == 1


def test_edge_and_server_store_give_the_same_results(
    corpus: Path, tmp_path: Path, embedder: MiniLmBm25Embedder
) -> None:
    config = KnowledgeConfig(data_dir=tmp_path / "data")
    edge = KnowledgeBase.open(config, store=EdgeStore(config.data_dir, config.collection), embedder=embedder)
    server = KnowledgeBase.open(
        config, store=ServerStore.local(tmp_path / "qdrant-local", config.collection), embedder=embedder
    )
    try:
        assert edge.add([corpus]).chunks_embedded == server.add([corpus]).chunks_embedded
        for query in [*QUERIES, "password hashing parameters", "SQLite backups"]:
            edge_hits = edge.search(query, limit=3)
            server_hits = server.search(query, limit=3)
            # Equal RRF scores (rank 2+3 vs 3+2) may come back in either order, so compare per score level.
            assert edge_hits[0].score == pytest.approx(server_hits[0].score, rel=1e-6), query
            assert edge_hits[0].chunk_id == server_hits[0].chunk_id or edge_hits[0].score == edge_hits[1].score
            assert {h.source for h in edge_hits} == {h.source for h in server_hits}, query
        assert server.search("cursor", tag="nope") == []
    finally:
        edge.close()
        server.close()


def test_binary_and_non_utf8_files(kb: KnowledgeBase, corpus: Path, config: KnowledgeConfig) -> None:
    kb.add([corpus])
    before = manifest_bytes(config)
    blob = corpus / "image.txt"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    latin = corpus / "latin1.md"
    latin.write_bytes("Caf\xe9 notes".encode("latin-1"))

    with pytest.raises(UnsupportedFile, match="binary"):
        kb.add([blob])
    with pytest.raises(UnsupportedFile, match="not valid UTF-8"):
        kb.add([latin, corpus / "sqlite-wal.md"])
    assert manifest_bytes(config) == before  # nothing committed by the failed ingests

    walked = kb.add([corpus])
    reasons = {Path(s.path).name: s.reason for s in walked.skipped}
    assert "binary" in reasons["image.txt"] and "UTF-8" in reasons["latin1.md"]
    assert not walked.added and not walked.updated


def test_unreadable_files(kb: KnowledgeBase, corpus: Path) -> None:
    fifo = corpus / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        kb.add([fifo])
    assert any(Path(s.path).name == "pipe.md" for s in kb.add([corpus]).skipped)
    with pytest.raises(UnreadableFile, match="no such file"):
        kb.add([corpus / "missing.md"])


def test_permission_denied_file(kb: KnowledgeBase, corpus: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading (FIFO case covers unreadable files)")
    locked = corpus / "locked.md"
    locked.write_text("secret")
    locked.chmod(0)
    try:
        with pytest.raises(UnreadableFile, match="cannot read"):
            kb.add([locked])
    finally:
        locked.chmod(0o644)


def test_empty_and_unsupported_directories(kb: KnowledgeBase, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoDocumentsFound, match=f"no supported documents found under {empty}"):
        kb.add([empty])
    (empty / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(NoDocumentsFound):
        kb.add([empty])
    with pytest.raises(UnsupportedFile, match=r"unknown type '\.jpg'"):
        kb.add([empty / "photo.jpg"])
    assert kb.is_empty()


def test_skipped_files_are_counted_per_reason_and_links_out_are_not_followed(kb: KnowledgeBase, tmp_path: Path) -> None:
    outside = tmp_path / "system"
    outside.mkdir()
    (outside / "shadow.txt").write_text("root:$6$secret-hash\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.mdx").write_text("---\ntitle: Guide\n---\n\n<Note>Rotate keys monthly.</Note>\n")
    (docs / "system").symlink_to(outside, target_is_directory=True)
    (docs / "shadow.txt").symlink_to(outside / "shadow.txt")
    (docs / "logo.png").write_bytes(b"\x89PNG\x00")
    (docs / "notes.md").write_bytes(b"# Notes\n\x00\x00")

    report = kb.add([docs])
    assert [Path(p).name for p in report.added] == ["guide.mdx"]
    assert report.skip_counts() == {"symlink outside the directory": 2, "binary": 1, "unknown type": 1}
    assert all("secret" not in h.text for h in kb.search("secret hash root shadow", limit=5))
    (hit,) = kb.search("how often are keys rotated", limit=1)
    assert hit.text.endswith("Rotate keys monthly.") and "<Note>" not in hit.text
    assert hit.heading == "Guide" and hit.line_end == 5

    followed = kb.add([docs], follow_symlinks=True)
    assert sorted(Path(p).name for p in followed.added) == ["shadow.txt", "shadow.txt"]


def test_huge_file_is_truncated_not_loaded(kb: KnowledgeBase, tmp_path: Path, embedder: MiniLmBm25Embedder) -> None:
    config = KnowledgeConfig(data_dir=tmp_path / "big-data", max_file_bytes=40_000, chunk_size=2000)
    big = tmp_path / "big.log.txt"
    line = "request served from cache in 3 ms\n"
    with big.open("w") as handle:
        for _ in range(200_000):  # ~7 MB
            handle.write(line)
    with KnowledgeBase.open(config, embedder=embedder) as small_kb:
        report = small_kb.add([big])
        assert report.truncated == [str(big)]
        (source,) = small_kb.sources()
        assert source.chunks <= 40_000 // 1000  # bounded by max_file_bytes, not by the 7 MB file


def test_failed_ingest_leaves_index_untouched(
    kb: KnowledgeBase, corpus: Path, config: KnowledgeConfig, embedder: MiniLmBm25Embedder
) -> None:
    kb.add([corpus])
    before = manifest_bytes(config)
    hits_before = [h.chunk_id for h in kb.search("token bucket", limit=5)]

    class BrokenEmbedder:
        name, dense_size, sparse_idf, colbert_size = embedder.name, embedder.dense_size, True, None

        def embed_documents(self, texts: list[str]) -> list[Embedded]:
            raise RuntimeError("model crashed half way")

        def embed_query(self, text: str) -> Embedded:
            return embedder.embed_query(text)

    (corpus / "rate-limiting.md").write_text("# Rate limiting\n\nCompletely rewritten.\n")
    (corpus / "sqlite-wal.md").unlink()
    kb.close()
    broken = KnowledgeBase.open(config, embedder=BrokenEmbedder())
    try:
        with pytest.raises(RuntimeError, match="half way"):
            broken.add([corpus])
    finally:
        broken.close()
    assert manifest_bytes(config) == before
    reopened = KnowledgeBase.open(config, embedder=embedder)
    try:
        assert [h.chunk_id for h in reopened.search("token bucket", limit=5)] == hits_before
        assert any(Path(h.source).name == "sqlite-wal.md" for h in reopened.search("WAL checkpoint", limit=3))
    finally:
        reopened.close()


def test_dead_qdrant_url_fails_fast_with_advice(tmp_path: Path, embedder: MiniLmBm25Embedder) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        KnowledgeBase.open(KnowledgeConfig(url=url, data_dir=tmp_path, timeout_s=2), embedder=embedder)
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert f"cannot reach Qdrant at URL: {url}" in message and "unset knowledge.url" in message
    assert "\n" not in message
