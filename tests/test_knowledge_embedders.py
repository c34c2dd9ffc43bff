"""The int8 ONNX MiniLM against the torch original, its cached export, the per-process shared embedder, and the
rule that an index never mixes vectors of two embedders. All on the real packaged model and Qdrant Edge."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import LEGACY_MINILM_IDENTITY, KnowledgeBase
from knowledge.config import KnowledgeConfig
from knowledge.embedders import (
    Embedded,
    MiniLmBm25Embedder,
    default_cache_dir,
    default_quantization,
    minilm_model_dir,
    onnx_minilm_dir,
    shared_embedder,
)
from knowledge.errors import EmbedderUnavailable, StoreError

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
def torch_embedder() -> MiniLmBm25Embedder:
    return MiniLmBm25Embedder(backend="torch")


@pytest.fixture(scope="module")
def onnx_embedder() -> MiniLmBm25Embedder:
    return MiniLmBm25Embedder(backend="onnx")


def example_texts() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8")[:1500] for path in sorted(EXAMPLES.iterdir()) if path.is_file()}


def dense(embedder: MiniLmBm25Embedder, texts: Sequence[str]) -> np.ndarray:
    return np.array([e.dense for e in embedder.embed_documents(texts)])


def test_int8_onnx_vectors_match_torch(torch_embedder: MiniLmBm25Embedder, onnx_embedder: MiniLmBm25Embedder) -> None:
    texts = list(example_texts().values()) + list(QUERIES)
    cosines = (dense(torch_embedder, texts) * dense(onnx_embedder, texts)).sum(axis=1)  # both are unit vectors
    # int8 with the FFN down-projections in float32: 0.996 on average, 0.991 at worst on 216 texts.
    assert cosines.min() >= 0.99, f"lowest cosine {cosines.min():.4f}"
    assert onnx_embedder.identity != torch_embedder.identity
    assert "onnx" in onnx_embedder.identity and default_quantization() in onnx_embedder.identity


def test_int8_onnx_ranks_the_same_top_document(
    torch_embedder: MiniLmBm25Embedder, onnx_embedder: MiniLmBm25Embedder
) -> None:
    names, docs = zip(*example_texts().items(), strict=True)
    for embedder in (torch_embedder, onnx_embedder):
        doc_vectors = dense(embedder, docs)
        top = [names[int(np.argmax(doc_vectors @ np.array(embedder.embed_query(q).dense)))] for q in QUERIES]
        assert top == list(QUERIES.values()), f"{embedder.identity}: {top}"


def test_the_export_is_cached_and_leaves_no_partial_copy(onnx_embedder: MiniLmBm25Embedder) -> None:
    cache = default_cache_dir()
    first = onnx_minilm_dir(minilm_model_dir(), cache, default_quantization())
    assert onnx_minilm_dir(minilm_model_dir(), cache, default_quantization()) == first
    assert not [p for p in cache.iterdir() if p.name.startswith(".")], "a staging directory was left behind"
    assert not (first / "onnx" / "model.onnx").exists()  # only the quantized graph is kept


def test_a_failed_export_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sentence_transformers

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(sentence_transformers, "export_dynamic_quantized_onnx_model", broken)
    with pytest.raises(EmbedderUnavailable, match="disk full"):
        onnx_minilm_dir(minilm_model_dir(), tmp_path / "cache", "avx2")
    assert list((tmp_path / "cache").iterdir()) == []


def test_the_shared_embedder_is_loaded_once_per_process(tmp_path: Path) -> None:
    config = KnowledgeConfig(data_dir=tmp_path / "data")
    assert shared_embedder(config) is shared_embedder(config.model_copy())
    with KnowledgeBase.open(config) as first, KnowledgeBase.open(config) as second:
        assert first._embedder is second._embedder is shared_embedder(config)
    other = KnowledgeConfig(data_dir=tmp_path / "data", backend="torch")
    assert shared_embedder(other) is not shared_embedder(config)


def test_a_changed_embedder_reindexes_everything_and_never_mixes_vectors(
    tmp_path: Path, torch_embedder: MiniLmBm25Embedder, onnx_embedder: MiniLmBm25Embedder
) -> None:
    corpus = tmp_path / "kb"
    shutil.copytree(EXAMPLES, corpus)
    config = KnowledgeConfig(data_dir=tmp_path / "data")
    with KnowledgeBase.open(config, embedder=torch_embedder) as kb:
        first = kb.add([corpus])
        assert first.reindexed_from is None and first.added
        indexed = {s.path for s in kb.sources()}
        points_before = kb._store.count()
    with KnowledgeBase.open(config, embedder=onnx_embedder) as kb:
        with pytest.raises(StoreError, match="never mixed") as caught:
            kb.search("cursor pagination")
        assert torch_embedder.identity in str(caught.value) and onnx_embedder.identity in str(caught.value)
        # Naming one file re-embeds every indexed file: no vector of the torch model survives.
        report = kb.add([corpus / "api-pagination.md"])
        assert report.reindexed_from == torch_embedder.identity
        assert set(report.updated) == indexed and report.chunks_reused == 0
        hits = kb.search("keyset cursor pagination stable under inserts", limit=1)
        assert Path(hits[0].source).name == "api-pagination.md"
        assert kb._store.count() == points_before  # every point replaced, none added beside it
    with KnowledgeBase.open(config, embedder=onnx_embedder) as kb:
        again = kb.add([corpus / "api-pagination.md"])
        assert again.reindexed_from is None and again.unchanged


def test_a_legacy_manifest_counts_as_torch_vectors(tmp_path: Path, onnx_embedder: MiniLmBm25Embedder) -> None:
    config = KnowledgeConfig(data_dir=tmp_path / "data")
    with KnowledgeBase.open(config, embedder=onnx_embedder) as kb:
        kb.add([EXAMPLES / "api-pagination.md"])
        kb._manifest.pop("embedder_identity")  # as written before identities were recorded
        with pytest.raises(StoreError, match=LEGACY_MINILM_IDENTITY.replace("+", r"\+")):
            kb.search("pagination")


class FailingAfter:
    """The real embedder until its `calls`-th batch, then a model error (e.g. out of memory)."""

    def __init__(self, inner: MiniLmBm25Embedder, calls: int) -> None:
        self.inner, self.left = inner, calls
        self.name, self.identity, self.dense_size = inner.name, inner.identity, inner.dense_size
        self.sparse_idf, self.colbert_size = inner.sparse_idf, inner.colbert_size

    def embed_documents(self, texts: Sequence[str]) -> list[Embedded]:
        self.left -= 1
        if self.left < 0:
            raise RuntimeError("model crashed")
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> Embedded:
        return self.inner.embed_query(text)


def test_a_model_error_mid_ingest_removes_the_points_already_streamed(
    tmp_path: Path, onnx_embedder: MiniLmBm25Embedder
) -> None:
    corpus = tmp_path / "kb"
    shutil.copytree(EXAMPLES, corpus)
    config = KnowledgeConfig(data_dir=tmp_path / "data", batch_size=1, chunk_size=300, chunk_overlap=0)
    with KnowledgeBase.open(config, embedder=onnx_embedder) as kb:
        kb.add([corpus / "api-pagination.md"])
        before = kb._store.count()
    with KnowledgeBase.open(config, embedder=FailingAfter(onnx_embedder, calls=3)) as kb:  # type: ignore[arg-type]
        streamed: list[int] = []
        upsert = kb._store.upsert
        kb._store.upsert = lambda points: (streamed.append(len(points)), upsert(points))[1]  # type: ignore[method-assign]
        with pytest.raises(RuntimeError, match="model crashed"):
            kb.add([corpus])
        assert streamed, "no file was complete before the failure, so nothing was streamed"
        assert kb._store.count() == before
        assert [s.path for s in kb.sources()] == [str((corpus / "api-pagination.md").resolve())]


def test_the_text_encoder_is_sentence_transformers_onnx_pipeline(onnx_embedder: MiniLmBm25Embedder) -> None:
    """The torch-free encoder gives the vectors sentence-transformers' ONNX backend gives for each text alone."""
    texts = [*QUERIES, *list(example_texts().values())[:4], "x"]
    reference = onnx_embedder._load_model()  # sentence-transformers, backend="onnx", same file
    expected = np.array([reference.encode([t], normalize_embeddings=True)[0] for t in texts])
    got = dense(onnx_embedder, texts)
    assert (expected * got).sum(axis=1).min() >= 0.9999


def test_a_passage_vector_does_not_depend_on_its_batch(onnx_embedder: MiniLmBm25Embedder) -> None:
    """Dynamic int8 scales activations per tensor: batched with a long text, a short one used to drift to 0.96."""
    short, long = "keyset pagination", " ".join(example_texts().values())[:3000]
    alone = onnx_embedder.embed_documents([short])[0].dense
    batched = onnx_embedder.embed_documents([long, short, long])[1].dense
    assert alone == batched
    assert onnx_embedder.embed_query(short).dense == alone


def test_the_cli_says_when_the_embedder_changed_and_reindexes(isolated_project: Path) -> None:
    """`kb search` after switching knowledge.backend: one error line naming both embedders; `kb add` re-embeds."""
    from e2e import one_line_error, run_cli

    shutil.copytree(EXAMPLES, isolated_project / "docs")
    torch_env = {"TASKMASTER_KNOWLEDGE__BACKEND": "torch"}
    assert run_cli("kb", "add", "docs", cwd=isolated_project, env=torch_env).returncode == 0
    refused = run_cli("kb", "search", "cursor pagination", cwd=isolated_project)
    line = one_line_error(refused)
    assert "all-MiniLM-L6-v2+torch+float32" in line and "+onnx+" in line and "kb add" in line
    readded = run_cli("kb", "add", "docs/api-pagination.md", cwd=isolated_project)
    assert readded.returncode == 0, readded.stderr
    assert "re-embedding every indexed file" in readded.stdout and "all-MiniLM-L6-v2+torch+float32" in readded.stdout
    found = run_cli("kb", "search", "keyset cursor pagination stable under inserts", "--json", cwd=isolated_project)
    assert found.returncode == 0, found.stderr
    assert "api-pagination.md" in found.stdout
