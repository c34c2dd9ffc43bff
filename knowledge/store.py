"""Two real Qdrant engines behind one small interface.

``EdgeStore`` runs Qdrant Edge in-process (no server to install; the index is a directory under ``data_dir``).
``ServerStore`` talks to a Qdrant server or cluster through qdrant-client; the same class in qdrant-client's local
mode (``path=``/``":memory:"``) lets tests exercise exactly the server code path. Both use the same collection layout:
named dense vector ``dense`` (cosine), sparse vector ``sparse`` (with the IDF modifier when the embedder emits raw
term frequencies, i.e. BM25), optional multivector ``colbert``; a hybrid query prefetches dense and sparse candidates
and fuses them with Reciprocal Rank Fusion.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from knowledge.errors import StoreError, StoreUnavailable

DENSE = "dense"
SPARSE = "sparse"
COLBERT = "colbert"
INDEXED_FIELDS = ("source", "tags", "task_id", "sha256")
UPSERT_BATCH = 256


@dataclass(frozen=True)
class SparseVec:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class Layout:
    """What the collection must hold; a mismatch with an existing index is reported, never silently mixed."""

    dense_size: int
    sparse_idf: bool
    colbert_size: int | None = None


@dataclass(frozen=True)
class StoredPoint:
    id: str
    dense: list[float]
    sparse: SparseVec
    payload: dict[str, Any]
    colbert: list[list[float]] | None = None


@dataclass(frozen=True)
class QueryVectors:
    dense: list[float]
    sparse: SparseVec
    colbert: list[list[float]] | None = None


@dataclass(frozen=True)
class SearchFilter:
    source: str | None = None
    tag: str | None = None
    task_id: str | None = None

    def conditions(self) -> list[tuple[str, str]]:
        pairs = (("source", self.source), ("tags", self.tag), ("task_id", self.task_id))
        return [(key, value) for key, value in pairs if value is not None]


@dataclass(frozen=True)
class FoundPoint:
    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryOptions:
    limit: int
    prefetch_limit: int
    rrf_k: int
    hnsw_ef: int
    exact: bool = False


class VectorStore(Protocol):
    """The few operations the knowledge base needs; both engines implement exactly these."""

    identity: str

    def ensure(self, layout: Layout) -> None: ...
    def upsert(self, points: Sequence[StoredPoint]) -> None: ...
    def delete_source(self, source: str, keep_ids: Iterable[str] = ()) -> None: ...
    def vectors_by_sha(self, shas: Iterable[str]) -> dict[str, StoredPoint]: ...
    def hybrid_query(self, query: QueryVectors, where: SearchFilter, options: QueryOptions) -> list[FoundPoint]: ...
    def dense_query(self, dense: list[float], options: QueryOptions) -> list[FoundPoint]: ...
    def count(self) -> int: ...
    def optimize(self) -> None: ...
    def close(self) -> None: ...


def point_id(source: str, sha256: str) -> str:
    """Deterministic id per (file, passage): an unchanged passage keeps its id across re-ingests."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source}\n{sha256}"))


def _batches(points: Sequence[StoredPoint], size: int = UPSERT_BATCH) -> Iterator[Sequence[StoredPoint]]:
    for start in range(0, len(points), size):
        yield points[start : start + size]


# --------------------------------------------------------------------------------------------------------------
# Qdrant Edge (embedded)
# --------------------------------------------------------------------------------------------------------------


def _stored_point(record: Any) -> StoredPoint:
    """A scrolled record (Edge or qdrant-client: same shape) as the vectors and payload we can reuse."""
    payload = record.payload or {}
    vec = record.vector or {}
    sparse = vec[SPARSE]
    return StoredPoint(
        id=str(record.id),
        dense=list(vec[DENSE]),
        sparse=SparseVec(list(sparse.indices), list(sparse.values)),
        payload=payload,
        colbert=vec.get(COLBERT),
    )


class EdgeStore:
    """Qdrant Edge shard stored under ``data_dir/edge/<collection>``."""

    def __init__(self, data_dir: Path, collection: str) -> None:
        import qdrant_edge as qe

        self._qe = qe
        self.path = Path(data_dir) / "edge" / collection
        self.identity = f"edge-{collection}"
        self._shard: Any = None
        if self.path.is_dir() and any(self.path.iterdir()):
            try:
                self._shard = qe.EdgeShard.load(str(self.path))
            except Exception as exc:  # the binding raises plain RuntimeError/ValueError with the engine's message
                raise StoreError(
                    f"cannot open the Qdrant Edge index at {self.path} ({exc}); close other taskmaster processes "
                    "using it, or delete the directory and re-ingest"
                ) from exc

    def ensure(self, layout: Layout) -> None:
        qe = self._qe
        if self._shard is not None:
            self._check_layout(layout)
            return
        vectors = {DENSE: qe.EdgeVectorParams(size=layout.dense_size, distance=qe.Distance.Cosine)}
        if layout.colbert_size:
            vectors[COLBERT] = qe.EdgeVectorParams(
                size=layout.colbert_size,
                distance=qe.Distance.Cosine,
                multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
            )
        sparse = qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf if layout.sparse_idf else None)
        config = qe.EdgeConfig(vectors=vectors, sparse_vectors={SPARSE: sparse})
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._shard = qe.EdgeShard.create(str(self.path), config)
            for name in INDEXED_FIELDS:
                self._shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        except Exception as exc:
            raise StoreError(f"cannot create the Qdrant Edge index at {self.path} ({exc}); check disk space") from exc

    def _check_layout(self, layout: Layout) -> None:
        """Compare with the layout Edge persisted in ``edge_config.json`` when the shard was created."""
        config_file = self.path / "edge_config.json"
        if not config_file.exists():
            return
        vectors = json.loads(config_file.read_text()).get("vectors") or {}
        size = int((vectors.get(DENSE) or {}).get("size", 0))
        if size != layout.dense_size or (COLBERT in vectors) != bool(layout.colbert_size):
            raise StoreError(
                f"the index at {self.path} was built with a different embedder; set knowledge.embedder back, "
                "or delete that directory and re-ingest"
            )

    def _require(self) -> Any:
        if self._shard is None:
            raise StoreError(f"the Qdrant Edge index at {self.path} is not initialised; ingest documents first")
        return self._shard

    def _filter(self, where: SearchFilter) -> Any:
        qe = self._qe
        must = [qe.FieldCondition(key=key, match=qe.MatchValue(value)) for key, value in where.conditions()]
        return qe.Filter(must=must) if must else None

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        qe = self._qe
        shard = self._require()
        for batch in _batches(points):
            edge_points = []
            for point in batch:
                vector: dict[str, Any] = {
                    DENSE: list(point.dense),
                    SPARSE: qe.SparseVector(indices=point.sparse.indices, values=point.sparse.values),
                }
                if point.colbert is not None:
                    vector[COLBERT] = point.colbert
                edge_points.append(qe.Point(point.id, vector, point.payload))
            shard.update(qe.UpdateOperation.upsert_points(edge_points))
        shard.flush()

    def delete_source(self, source: str, keep_ids: Iterable[str] = ()) -> None:
        qe = self._qe
        if self._shard is None:
            return
        keep = {uuid.UUID(i) for i in keep_ids}
        flt = qe.Filter(
            must=[qe.FieldCondition(key="source", match=qe.MatchValue(source))],
            must_not=[qe.HasIdCondition(keep)] if keep else None,
        )
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(flt))
        self._shard.flush()

    def vectors_by_sha(self, shas: Iterable[str]) -> dict[str, StoredPoint]:
        qe = self._qe
        wanted = sorted(set(shas))
        if self._shard is None or not wanted:
            return {}
        found: dict[str, StoredPoint] = {}
        for start in range(0, len(wanted), 512):
            flt = qe.Filter(must=[qe.FieldCondition(key="sha256", match=qe.MatchAny(wanted[start : start + 512]))])
            offset = None
            while True:
                records, offset = self._shard.scroll(
                    qe.ScrollRequest(offset=offset, limit=256, filter=flt, with_payload=True, with_vector=True)
                )
                for record in records:
                    point = _stored_point(record)
                    found.setdefault(point.payload["sha256"], point)
                if offset is None:
                    break
        return found

    def hybrid_query(self, query: QueryVectors, where: SearchFilter, options: QueryOptions) -> list[FoundPoint]:
        qe = self._qe
        if self._shard is None:
            return []
        flt = self._filter(where)
        params = qe.SearchParams(hnsw_ef=options.hnsw_ef, exact=options.exact)
        prefetches = [
            qe.Prefetch(
                limit=options.prefetch_limit,
                query=qe.Query.Nearest(list(query.dense), using=DENSE),
                params=params,
                filter=flt,
            ),
            qe.Prefetch(
                limit=options.prefetch_limit,
                query=qe.Query.Nearest(qe.SparseVector(query.sparse.indices, query.sparse.values), using=SPARSE),
                filter=flt,
            ),
        ]
        if query.colbert is not None:
            fused = qe.Prefetch(
                limit=options.prefetch_limit, query=qe.Fusion.Rrf(k=options.rrf_k), prefetches=prefetches
            )
            request = qe.QueryRequest(
                limit=options.limit,
                prefetches=[fused],
                query=qe.Query.Nearest(query.colbert, using=COLBERT),
                with_payload=True,
                filter=flt,
            )
        else:
            request = qe.QueryRequest(
                limit=options.limit, prefetches=prefetches, query=qe.Fusion.Rrf(k=options.rrf_k), with_payload=True
            )
        return [FoundPoint(str(p.id), float(p.score), dict(p.payload or {})) for p in self._shard.query(request)]

    def dense_query(self, dense: list[float], options: QueryOptions) -> list[FoundPoint]:
        qe = self._qe
        request = qe.QueryRequest(
            limit=options.limit,
            query=qe.Query.Nearest(list(dense), using=DENSE),
            params=qe.SearchParams(hnsw_ef=options.hnsw_ef, exact=options.exact),
            with_payload=False,
        )
        return [FoundPoint(str(p.id), float(p.score)) for p in self._require().query(request)]

    def count(self) -> int:
        return 0 if self._shard is None else int(self._shard.count(self._qe.CountRequest(exact=True)))

    def optimize(self) -> None:
        """Build the HNSW index now instead of when the optimizer gets to it (benchmarks want the steady state)."""
        self._require().optimize()

    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None


# --------------------------------------------------------------------------------------------------------------
# Qdrant server / cluster (and qdrant-client local mode for tests)
# --------------------------------------------------------------------------------------------------------------


class ServerStore:
    """A collection on a Qdrant server, reached with qdrant-client."""

    def __init__(self, collection: str, client: Any, identity: str, local: bool) -> None:
        self.collection = collection
        self.identity = identity
        self._client = client
        self._local = local
        self._ready = False

    @classmethod
    def connect(cls, url: str, collection: str, api_key: str | None = None, timeout_s: float = 5.0) -> ServerStore:
        from qdrant_client import QdrantClient

        client = QdrantClient(  # trust_env=False: proxy variables never carry the knowledge base (egress rule)
            url=url, api_key=api_key, timeout=max(1, round(timeout_s)), check_compatibility=False, trust_env=False
        )
        try:
            client.get_collections()
        except Exception as exc:  # connection refused, DNS, TLS, 401: all mean "not usable from here"
            client.close()
            raise StoreUnavailable(url, _first_line(exc)) from exc
        slug = re.sub(r"[^A-Za-z0-9]+", "_", url).strip("_")
        return cls(collection, client, f"server-{slug}-{collection}", local=False)

    @classmethod
    def local(cls, path: Path | str, collection: str) -> ServerStore:
        """qdrant-client's local mode: same API as the server, used to test this code path without a server."""
        from qdrant_client import QdrantClient

        client = QdrantClient(location=":memory:") if str(path) == ":memory:" else QdrantClient(path=str(path))
        slug = re.sub(r"[^A-Za-z0-9]+", "_", str(path)).strip("_")
        return cls(collection, client, f"local-{slug}-{collection}", local=True)

    def ensure(self, layout: Layout) -> None:
        from qdrant_client import models

        if self._ready:
            return
        try:
            if self._client.collection_exists(self.collection):
                info = self._client.get_collection(self.collection)
                vectors = info.config.params.vectors or {}
                dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
                if (
                    dense is None
                    or dense.size != layout.dense_size
                    or (COLBERT in vectors) != bool(layout.colbert_size)
                ):
                    raise StoreError(
                        f"Qdrant collection '{self.collection}' was built with a different embedder; set "
                        "knowledge.embedder back or use another knowledge.collection"
                    )
            else:
                vectors_config = {DENSE: models.VectorParams(size=layout.dense_size, distance=models.Distance.COSINE)}
                if layout.colbert_size:
                    vectors_config[COLBERT] = models.VectorParams(
                        size=layout.colbert_size,
                        distance=models.Distance.COSINE,
                        multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
                    )
                self._client.create_collection(
                    self.collection,
                    vectors_config=vectors_config,
                    sparse_vectors_config={
                        SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF if layout.sparse_idf else None)
                    },
                )
                if not self._local:  # local mode has no payload indexes and warns if asked
                    for name in INDEXED_FIELDS:
                        self._client.create_payload_index(self.collection, name, models.PayloadSchemaType.KEYWORD)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"Qdrant refused to prepare collection '{self.collection}' ({_first_line(exc)})") from exc
        self._ready = True

    def _exists(self) -> bool:
        return self._ready or bool(self._client.collection_exists(self.collection))

    def _filter(self, where: SearchFilter) -> Any:
        from qdrant_client import models

        must = [
            models.FieldCondition(key=key, match=models.MatchValue(value=value)) for key, value in where.conditions()
        ]
        return models.Filter(must=must) if must else None

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        from qdrant_client import models

        for batch in _batches(points):
            structs = []
            for point in batch:
                vector: dict[str, Any] = {
                    DENSE: list(point.dense),
                    SPARSE: models.SparseVector(indices=point.sparse.indices, values=point.sparse.values),
                }
                if point.colbert is not None:
                    vector[COLBERT] = point.colbert
                structs.append(models.PointStruct(id=point.id, vector=vector, payload=point.payload))
            self._client.upsert(self.collection, points=structs, wait=True)

    def delete_source(self, source: str, keep_ids: Iterable[str] = ()) -> None:
        from qdrant_client import models

        if not self._exists():
            return
        keep = list(keep_ids)
        flt = models.Filter(
            must=[models.FieldCondition(key="source", match=models.MatchValue(value=source))],
            must_not=[models.HasIdCondition(has_id=keep)] if keep else None,
        )
        self._client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)

    def vectors_by_sha(self, shas: Iterable[str]) -> dict[str, StoredPoint]:
        from qdrant_client import models

        wanted = sorted(set(shas))
        if not wanted or not self._exists():
            return {}
        found: dict[str, StoredPoint] = {}
        for start in range(0, len(wanted), 512):
            flt = models.Filter(
                must=[models.FieldCondition(key="sha256", match=models.MatchAny(any=wanted[start : start + 512]))]
            )
            offset = None
            while True:
                records, offset = self._client.scroll(
                    self.collection, scroll_filter=flt, limit=256, offset=offset, with_payload=True, with_vectors=True
                )
                for record in records:
                    point = _stored_point(record)
                    found.setdefault(point.payload["sha256"], point)
                if offset is None:
                    break
        return found

    def _params(self, options: QueryOptions) -> Any:
        from qdrant_client import models

        # Local mode is always exact and warns on search params, so only a real server gets them.
        return None if self._local else models.SearchParams(hnsw_ef=options.hnsw_ef, exact=options.exact)

    def hybrid_query(self, query: QueryVectors, where: SearchFilter, options: QueryOptions) -> list[FoundPoint]:
        from qdrant_client import models

        if not self._exists():
            return []
        flt = self._filter(where)
        prefetch = [
            models.Prefetch(
                query=list(query.dense),
                using=DENSE,
                limit=options.prefetch_limit,
                filter=flt,
                params=self._params(options),
            ),
            models.Prefetch(
                query=models.SparseVector(indices=query.sparse.indices, values=query.sparse.values),
                using=SPARSE,
                limit=options.prefetch_limit,
                filter=flt,
            ),
        ]
        fusion = models.RrfQuery(rrf=models.Rrf(k=options.rrf_k))
        if query.colbert is not None:
            response = self._client.query_points(
                self.collection,
                prefetch=[models.Prefetch(prefetch=prefetch, query=fusion, limit=options.prefetch_limit)],
                query=query.colbert,
                using=COLBERT,
                limit=options.limit,
                with_payload=True,
                query_filter=flt,
            )
        else:
            response = self._client.query_points(
                self.collection, prefetch=prefetch, query=fusion, limit=options.limit, with_payload=True
            )
        return [FoundPoint(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]

    def dense_query(self, dense: list[float], options: QueryOptions) -> list[FoundPoint]:
        response = self._client.query_points(
            self.collection, query=list(dense), using=DENSE, limit=options.limit, search_params=self._params(options)
        )
        return [FoundPoint(str(p.id), float(p.score)) for p in response.points]

    def count(self) -> int:
        if not self._exists():
            return 0
        return int(self._client.count(self.collection, exact=True).count)

    def optimize(self) -> None:
        """The server optimises in the background; nothing to force here."""

    def close(self) -> None:
        self._client.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
