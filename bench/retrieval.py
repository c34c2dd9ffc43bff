"""Retrieval benchmark: ingest throughput, hybrid query latency at 10k chunks, HNSW recall vs exact search; and,
with --recall, answer-file recall on real documentation with written questions, side by side with a naive baseline.

Run: .venv/bin/python bench/retrieval.py [--chunks 10000] [--threads 2]
     .venv/bin/python bench/retrieval.py --recall [--corpus bench/data/taskmaster-docs]
         [--questions bench/data/questions/taskmaster-docs.heldout.jsonl ...]
Uses the real MiniLM model and Qdrant Edge; synthetic passages are embedded for real. Prints figures and the
ratio to each target (ratio >= 1.0 means the target is met).

The naive baseline of --recall is what a quick RAG script does: every file cut into fixed 1000-character pieces,
MiniLM dense vectors only, exact cosine search. The knowledge base must do at least as well on every question set.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from knowledge.base import Hit, KnowledgeBase
from knowledge.config import KnowledgeConfig
from knowledge.embedders import MiniLmBm25Embedder
from knowledge.store import EdgeStore, QueryOptions, QueryVectors, SearchFilter, StoredPoint, point_id

TARGET_INGEST_PER_S = 200.0
TARGET_P50_MS = 30.0
TARGET_RECALL = 0.98
TARGET_DOCS_RECALL_AT_5 = 0.95
TARGET_ANSWER_S = 60.0
DATA = Path(__file__).resolve().parent / "data"
DEFAULT_CORPUS = DATA / "taskmaster-docs"
DEFAULT_QUESTIONS = [
    DATA / "questions" / "taskmaster-docs.heldout.jsonl",
    DATA / "questions" / "taskmaster-docs.dev.jsonl",
]
BASELINE_CHUNK = 1000

SUBJECTS = [
    "the SQLite write-ahead log",
    "cursor pagination",
    "argon2 password hashing",
    "the FastAPI test client",
    "HTML sanitising",
    "token bucket rate limiting",
    "CSV import",
    "the reading list schema",
    "OAuth login",
    "background jobs",
    "full-text search",
    "the Docker image",
    "database migrations",
    "structured logging",
    "HTTP caching",
    "email reminders",
    "tag autocomplete",
    "the mobile layout",
    "accessibility audits",
    "backup rotation",
    "feature flags",
    "metrics dashboards",
]
VERBS = [
    "slows down",
    "breaks",
    "needs tuning for",
    "depends on",
    "was rewritten to use",
    "must validate",
    "caches",
    "retries",
]
OBJECTS = [
    "large imports",
    "concurrent writers",
    "expired sessions",
    "unicode titles",
    "duplicate URLs",
    "slow disks",
    "bursts of requests",
    "missing columns",
    "stale cursors",
    "weak passwords",
    "malicious links",
    "long articles",
    "offline clients",
]
DETAILS = (
    "so we added a regression test",
    "which the ops runbook now documents",
    "and the fix shipped in the last release",
    "because users reported errors",
    "after profiling showed the hot path",
    "until the configuration limit is raised",
)


def passage(rng: random.Random) -> str:
    sentences = [
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(DETAILS)}."
        for _ in range(rng.randint(2, 4))
    ]
    return f"Note {rng.randint(1, 10**6)}: " + " ".join(sentences)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ratio_line(name: str, value: float, target: float, unit: str, higher_is_better: bool) -> str:
    ratio = value / target if higher_is_better else target / max(value, 1e-9)
    verdict = "OK" if ratio >= 1.0 else "BELOW TARGET"
    sign = ">=" if higher_is_better else "<="
    return f"{name:<34} {value:10.2f} {unit:<9} target {sign} {target:g} {unit:<9} ratio {ratio:5.2f}  {verdict}"


def naive_baseline(corpus: Path, embedder: MiniLmBm25Embedder) -> Callable[[str, int], list[Hit]]:
    """Fixed 1000-character pieces of every supported file's raw text, dense MiniLM only, exact cosine ranking."""
    import numpy as np

    from knowledge.documents import is_supported

    pieces: list[tuple[str, str]] = []
    for path in sorted(corpus.rglob("*")):
        if is_supported(path) and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            pieces += [(str(path), text[i : i + BASELINE_CHUNK]) for i in range(0, len(text), BASELINE_CHUNK)]
    matrix = np.array([e.dense for e in embedder.embed_documents([t for _, t in pieces])], dtype=np.float32)

    def search(query: str, limit: int) -> list[Hit]:
        scores = matrix @ np.array(embedder.embed_query(query).dense, dtype=np.float32)
        order = np.argsort(-scores)[:limit]
        return [Hit(str(i), pieces[i][1], pieces[i][0], "", 0, 0, float(scores[i])) for i in order]

    return search


def recall_bench(args: argparse.Namespace) -> None:
    """The knowledge base vs the naive baseline on each question set: recall@1/5/10, MRR, search latency."""
    from taskmaster.evals.research import evaluate, load_questions

    corpus = Path(args.corpus).resolve()
    embedder = MiniLmBm25Embedder(batch_size=args.batch_size, backend=args.backend)
    print(f"embedder: {embedder.identity}")
    sets = {Path(q).name: load_questions(Path(q)) for q in (args.questions or DEFAULT_QUESTIONS)}
    with tempfile.TemporaryDirectory(prefix="kb-recall-") as tmp:
        config = KnowledgeConfig(data_dir=Path(tmp) / "data")
        kb = KnowledgeBase.open(config, store=EdgeStore(config.data_dir, config.collection), embedder=embedder)
        started = time.perf_counter()
        report = kb.add([corpus])
        ingest_s = time.perf_counter() - started
        chunks = report.chunks_embedded + report.chunks_reused
        files = len(report.added)
        skipped = ", ".join(f"{n} {reason}" for reason, n in report.skip_counts().items()) or "none"
        started = time.perf_counter()
        baseline = naive_baseline(corpus, embedder)
        baseline_s = time.perf_counter() - started
        print(
            f"corpus {corpus}: {files} files, {chunks} passages in {ingest_s:.1f}s (skipped: {skipped}); "
            f"baseline built in {baseline_s:.1f}s"
        )
        print(
            f"{'question set':<40} {'system':<10} {'n':>3} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6} {'p50 ms':>7}"
        )
        for name, questions in sets.items():
            ours = evaluate(questions, lambda q, k: kb.search(q, limit=k))
            naive = evaluate(questions, baseline)
            for label, rep in (("kb", ours), ("baseline", naive)):
                r = rep.recall
                print(
                    f"{name:<40} {label:<10} {rep.questions:>3} {r['@1']:6.3f} {r['@5']:6.3f} {r['@10']:6.3f} "
                    f"{rep.mrr:6.3f} {rep.search_ms_p50:7.1f}"
                )
            if args.verbose:
                for result in ours.results:
                    if not result.rank or result.rank > 5:
                        print(f"   kb miss@5 (rank {result.rank}): {result.question}")
            print(ratio_line(f"{name[:24]} R@5 vs target", ours.recall["@5"], TARGET_DOCS_RECALL_AT_5, "", True))
            print(
                ratio_line(f"{name[:24]} R@5 vs baseline", ours.recall["@5"], max(naive.recall["@5"], 1e-9), "", True)
            )
        if args.answers:
            answer_bench(kb, next(iter(sets.values()))[: args.answers])
        kb.close()


def answer_bench(kb: KnowledgeBase, questions: list) -> None:
    """Research answers on the embedded profile (its strongest tier, its research limits): seconds per answer,
    and whether every answer cites passages or is flagged extractive."""
    from graphs.research import ResearchContext, answer_question
    from taskmaster.evals.research import evaluate
    from taskmaster.settings import Settings
    from taskmaster.workspace import Workspace
    from taskmaster.workspace.models import model_router

    settings = Settings(profile="embedded")
    with model_router(settings) as router:  # the bench's own knowledge base (a temp dir), so not ws.research_context
        limits = Workspace(settings).research_limits()
        context = ResearchContext.for_knowledge_base(router, kb, limits=limits)
        report = evaluate(questions, lambda q, k: kb.search(q, limit=k), answer=lambda q: answer_question(context, q))
    for r in report.results:
        print(f"   {r.answer_seconds:6.1f}s  {', '.join(r.flags) or 'cited':<32} {r.question}")
    trusted = sum(1 for r in report.results if "extractive" in r.flags or "uncited" not in r.flags)
    print(
        f"answers: {report.questions}, cited or extractive: {trusted}, extractive: {report.extractive}, "
        f"attributed: {report.attributed}, keyword hit rate: {report.keyword_hit_rate}"
    )
    print(ratio_line("research answer mean (embedded)", report.answer_seconds_mean or 0, TARGET_ANSWER_S, "s", False))
    print(ratio_line("research answer max (embedded)", report.answer_seconds_max or 0, TARGET_ANSWER_S, "s", False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=10_000, help="index size for latency and recall")
    parser.add_argument("--ingest-chunks", type=int, default=2_000, help="chunks ingested through KnowledgeBase.add")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target assumes 2 cores)")
    parser.add_argument("--backend", choices=["onnx", "torch"], default="onnx", help="MiniLM runtime (int8 ONNX)")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per model batch")
    parser.add_argument("--recall", action="store_true", help="answer-file recall on a real docs corpus instead")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="--recall: the documents to ingest")
    parser.add_argument("--questions", nargs="*", help="--recall: question files (JSON lines)")
    parser.add_argument("--verbose", action="store_true", help="--recall: list the questions missed at 5")
    parser.add_argument(
        "--answers", type=int, default=0, help="--recall: also time research answers on the first N questions"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.recall:
        recall_bench(args)
        return
    load_before = os.getloadavg()[0]
    rng = random.Random(0)

    embedder = MiniLmBm25Embedder(batch_size=args.batch_size, backend=args.backend)
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        root = Path(tmp)
        docs = root / "docs"
        docs.mkdir()
        per_file = 10
        for index in range(args.ingest_chunks // per_file):
            body = "\n\n".join(passage(rng) for _ in range(per_file))
            (docs / f"note-{index:05d}.txt").write_text(body + "\n", encoding="utf-8")

        # chunk_size is just above one passage so every passage becomes one chunk.
        config = KnowledgeConfig(
            data_dir=root / "data", chunk_size=420, chunk_overlap=0, batch_size=args.batch_size, backend=args.backend
        )
        store = EdgeStore(config.data_dir, config.collection)
        kb = KnowledgeBase.open(config, store=store, embedder=embedder)
        load_ingest = os.getloadavg()[0]
        started = time.perf_counter()
        cpu_started = time.process_time()
        report = kb.add([docs])
        ingest_s = time.perf_counter() - started
        ingest_cpu_s = time.process_time() - cpu_started
        ingested = report.chunks_embedded
        ingest_rate = ingested / ingest_s

        # Fill up to --chunks with more real embeddings, written straight to the store.
        remaining = max(0, args.chunks - store.count())
        texts = [passage(rng) for _ in range(remaining)]
        fill_started = time.perf_counter()
        for start in range(0, len(texts), 512):
            part = texts[start : start + 512]
            points = []
            for offset, (text, vec) in enumerate(zip(part, embedder.embed_documents(part), strict=True)):
                source = f"/bench/synthetic-{(start + offset) // per_file}.txt"
                sha = f"{start + offset:064x}"
                payload = {"source": source, "text": text, "heading": "", "line_start": 1, "line_end": 1}
                payload |= {"sha256": sha, "tags": [], "task_id": None}
                points.append(StoredPoint(point_id(source, sha), vec.dense, vec.sparse, payload))
            store.upsert(points)
        fill_s = time.perf_counter() - fill_started
        optimize_started = time.perf_counter()
        store.optimize()
        optimize_s = time.perf_counter() - optimize_started
        total = store.count()

        queries = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(args.queries)]
        query_vecs = [embedder.embed_query(q) for q in queries]
        options = QueryOptions(limit=10, prefetch_limit=50, rrf_k=config.rrf_k, hnsw_ef=config.hnsw_ef)
        for vec in query_vecs[:10]:  # warm caches
            store.hybrid_query(QueryVectors(vec.dense, vec.sparse), SearchFilter(), options)
        store_ms = []
        for vec in query_vecs:
            t0 = time.perf_counter()
            store.hybrid_query(QueryVectors(vec.dense, vec.sparse), SearchFilter(), options)
            store_ms.append((time.perf_counter() - t0) * 1000)
        e2e_ms = []
        for query in queries:
            t0 = time.perf_counter()
            kb.search(query, limit=10)
            e2e_ms.append((time.perf_counter() - t0) * 1000)

        exact = QueryOptions(limit=10, prefetch_limit=10, rrf_k=config.rrf_k, hnsw_ef=config.hnsw_ef, exact=True)
        recalls = []
        for vec in query_vecs:
            approx_ids = {p.id for p in store.dense_query(vec.dense, options)}
            exact_ids = {p.id for p in store.dense_query(vec.dense, exact)}
            recalls.append(len(approx_ids & exact_ids) / max(1, len(exact_ids)))
        recall = statistics.fmean(recalls)
        info = store._require().info()
        kb.close()

    print(f"load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(
        f"torch threads: {args.threads}   index size: {total} chunks   "
        f"HNSW-indexed vectors: {info.indexed_vectors_count}"
    )
    print(
        f"extra fill: {remaining} chunks embedded+stored in {fill_s:.1f}s ({remaining / max(fill_s, 1e-9):.0f}/s); "
        f"optimize (HNSW build) {optimize_s:.1f}s"
    )
    print(f"embedder: {embedder.identity}, batch size {args.batch_size}")
    print(
        f"ingest via KnowledgeBase.add: {ingested} chunks from {len(report.added)} files in {ingest_s:.1f}s "
        f"(load average {load_ingest:.1f}); CPU {ingest_cpu_s:.1f}s = "
        f"{ingested / max(ingest_cpu_s / 2, 1e-9):.0f} chunks per 2 CPU-seconds (the rate on 2 idle cores)"
    )
    print(ratio_line("ingest throughput (MiniLM)", ingest_rate, TARGET_INGEST_PER_S, "chunks/s", True))
    print(ratio_line(f"hybrid query p50 @ {total} (store)", percentile(store_ms, 0.5), TARGET_P50_MS, "ms", False))
    print(f"{'hybrid query p95 (store)':<34} {percentile(store_ms, 0.95):10.2f} ms")
    print(ratio_line("search() p50 incl. query embed", percentile(e2e_ms, 0.5), TARGET_P50_MS, "ms", False))
    print(f"{'search() p95 incl. query embed':<34} {percentile(e2e_ms, 0.95):10.2f} ms")
    print(ratio_line(f"recall@10 HNSW (ef={config.hnsw_ef}) vs exact", recall, TARGET_RECALL, "", True))


if __name__ == "__main__":
    main()
