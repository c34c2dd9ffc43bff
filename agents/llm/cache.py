"""Model-response cache: an exact cache and an optional semantic one, in one SQLite file.

Why only temperature 0: a sampled reply is one draw from a distribution, and replaying it would silently turn a
stochastic call into a deterministic one (a retry after a bad draw would get the same bad draw). At temperature 0
the server would (nearly) repeat itself anyway, so serving the stored reply changes nothing but the latency.

Exact: the key hashes everything that shapes the reply (model, endpoints and backend, temperature, token limit,
schema name and body, request extras) plus every message.
Semantic (optional): within the same scope and the same earlier messages, the last message is compared by
embedding (cosine similarity ≥ threshold) with stored ones. Only short last messages take part: embedding models
truncate long inputs (MiniLM at 256 word pieces), so two long prompts that differ only at the end would look
identical.

Kept with storage.sqlite (WAL, busy timeout, ordered migrations), a short connection per operation: safe from
parallel graph branches and from several processes sharing a project.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.messages import BaseMessage

from agents.errors import AgentError
from storage.sqlite import Database, Migration

EmbedFn = Callable[[str], Sequence[float]]

# The schema as the hand-written helper made it: idempotent, so files from before migrations upgrade in place.
SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_message TEXT NOT NULL,
    reply TEXT NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS responses_scope ON responses (scope, created_at);
"""
MIGRATIONS = (Migration("m001_responses", SCHEMA),)
SEMANTIC_MAX_CHARS = 1000  # about 250 word pieces: MiniLM still sees the whole message
SEMANTIC_SCAN_LIMIT = 2000  # newest entries compared per lookup


@dataclass(frozen=True)
class CallScope:
    """Everything except the messages that decides what a model replies."""

    model: str
    endpoints: tuple[str, ...]  # "backend:base_url" of every endpoint of the tier (failover may use any)
    temperature: float
    max_tokens: int
    schema: str = ""  # schema name + hash of its JSON body; "" for free text
    extras: str = ""  # backend request extras (e.g. Ollama num_ctx), as JSON

    @property
    def deterministic(self) -> bool:
        return self.temperature == 0

    def digest(self) -> str:
        return _sha(json.dumps(self.__dict__, sort_keys=True))


def schema_tag(name: str, json_schema: dict[str, Any]) -> str:
    return f"{name}:{_sha(json.dumps(json_schema, sort_keys=True))[:16]}"


@dataclass
class CacheCounts:
    hits: int = 0
    semantic_hits: int = 0
    misses: int = 0
    bypassed: int = 0  # temperature > 0: never looked up, never stored
    stored: int = 0

    def summary(self) -> str:
        semantic = f" ({self.semantic_hits} semantic)" if self.semantic_hits else ""
        return f"cache: {self.hits} hits{semantic}, {self.misses} misses, {self.bypassed} bypassed (temperature > 0)"


@dataclass
class ResponseCache:
    path: Path
    ttl_s: float = 7 * 24 * 3600
    embed: EmbedFn | None = None  # set: the semantic cache is on
    semantic_threshold: float = 0.95
    clock: Callable[[], float] = time.time
    counts: CacheCounts = field(default_factory=CacheCounts)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # guards `counts`
    db: Database = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        path = self.path
        self.db = Database(
            path,
            MIGRATIONS,
            pragmas={"synchronous": "NORMAL"},  # WAL stays consistent; a crash may only lose recent entries
            error=lambda exc: AgentError(
                f"cannot use the response cache {path} ({exc}); delete the file or set cache.enabled = false"
            ),
        )
        self.db.migrate()

    # --- keys ----------------------------------------------------------------------------------------------
    @staticmethod
    def _keys(scope: CallScope, messages: Sequence[BaseMessage]) -> tuple[str, str, str]:
        """(exact key, semantic scope: call scope + all earlier messages, last message text)."""
        plain = [[m.type, _text(m)] for m in messages]
        earlier, last = plain[:-1], plain[-1][1] if plain else ""
        exact = _sha(json.dumps([scope.digest(), plain]))
        semantic_scope = _sha(json.dumps([scope.digest(), earlier, plain[-1][0] if plain else ""]))
        return exact, semantic_scope, last

    # --- lookup and store ----------------------------------------------------------------------------------
    def lookup(self, scope: CallScope, messages: Sequence[BaseMessage]) -> str | None:
        """The stored reply, or None (a miss, or a sampled call that the cache must not answer)."""
        if not scope.deterministic:
            self._count("bypassed")
            return None
        exact, semantic_scope, last = self._keys(scope, messages)
        cutoff = self.clock() - self.ttl_s
        with self.db.connect() as conn:
            row = conn.execute("SELECT reply FROM responses WHERE key = ? AND created_at >= ?", (exact, cutoff))
            found = row.fetchone()
        if found is not None:
            self._count("hits")
            return str(found[0])
        reply = self._semantic_lookup(semantic_scope, last, cutoff)
        if reply is not None:
            self._count("hits")
            self._count("semantic_hits")
            return reply
        self._count("misses")
        return None

    def _semantic_lookup(self, semantic_scope: str, last: str, cutoff: float) -> str | None:
        if self.embed is None or len(last) > SEMANTIC_MAX_CHARS:
            return None
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT reply, embedding FROM responses WHERE scope = ? AND created_at >= ? AND embedding IS NOT NULL "
                "ORDER BY created_at DESC LIMIT ?",
                (semantic_scope, cutoff, SEMANTIC_SCAN_LIMIT),
            ).fetchall()
        if not rows:
            return None
        query = _unit(self.embed(last))
        rows = [(reply, blob) for reply, blob in rows if len(blob) == query.nbytes]  # another embedder's vectors
        if not rows:
            return None
        stored = np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
        similarities = stored @ query
        best = int(np.argmax(similarities))
        return str(rows[best][0]) if similarities[best] >= self.semantic_threshold else None

    def store(self, scope: CallScope, messages: Sequence[BaseMessage], reply: str) -> None:
        if not scope.deterministic:
            return
        exact, semantic_scope, last = self._keys(scope, messages)
        embedding = None
        if self.embed is not None and len(last) <= SEMANTIC_MAX_CHARS:
            embedding = _unit(self.embed(last)).tobytes()
        now = self.clock()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO responses (key, scope, created_at, last_message, reply, embedding) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (exact, semantic_scope, now, last, reply, embedding),
            )
            conn.execute("DELETE FROM responses WHERE created_at < ?", (now - self.ttl_s,))
        self._count("stored")

    def discard(self, scope: CallScope, messages: Sequence[BaseMessage]) -> None:
        """Drop an entry that turned out unusable (a cached structured reply that no longer validates)."""
        exact, _, _ = self._keys(scope, messages)
        with self.db.connect() as conn:
            conn.execute("DELETE FROM responses WHERE key = ?", (exact,))

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.counts, name, getattr(self.counts, name) + 1)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(message: BaseMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else json.dumps(content, sort_keys=True)


def _unit(vector: Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array
