"""Settings of the knowledge layer; the app's settings object embeds this model as its ``knowledge`` section."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class KnowledgeConfig(BaseModel):
    """Everything the knowledge base needs to open its index and embed text.

    ``rrf_k`` is 60 rather than Qdrant's default of 2: with k=2 the top rank of either retriever dominates the fused
    list (1/3 vs 1/4 for ranks 1 and 2), so one noisy BM25 keyword hit can outrank a passage both retrievers agree on.
    k=60 (the value of the original RRF paper) flattens the curve so agreement between dense and sparse wins.
    """

    embedder: Literal["minilm", "bge-m3"] = "minilm"
    bge_m3_path: Path | None = Field(default=None, description="Local directory of BAAI/bge-m3; never downloaded.")
    backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="MiniLM runtime: onnx = int8-quantized ONNX (about 4x the torch throughput on CPU, cosine 0.996); "
        "changing it re-embeds the index on the next `kb add`.",
    )
    model_cache_dir: Path | None = Field(
        default=None, description="Where the int8 ONNX export of MiniLM is kept; default ~/.cache/taskmaster/embedders."
    )
    device: str = Field(
        default="cpu",
        description="Device for BGE-M3; pinned because FlagEmbedding otherwise spreads over every visible GPU.",
    )
    max_length: int = Field(default=512, ge=8, description="Token limit per text, passed explicitly to the model.")
    batch_size: int = Field(default=32, ge=1)
    max_chars_per_text: int = Field(default=4000, ge=64, description="Characters kept per text before tokenising.")
    use_colbert: bool = Field(default=False, description="BGE-M3 only: store ColBERT vectors and rerank with them.")
    url: str | None = Field(default=None, description="Qdrant server URL; unset means the embedded Edge store.")
    api_key: str | None = None
    data_dir: Path = Field(default=Path(".taskmaster/knowledge"), description="Edge storage and ingest manifest.")
    collection: str = "knowledge"
    chunk_size: int = Field(default=1200, ge=100, description="Characters per chunk.")
    chunk_overlap: int = Field(default=150, ge=0)
    rrf_k: int = Field(default=60, ge=1)
    hnsw_ef: int = Field(default=256, ge=4)
    prefetch_limit: int = Field(default=50, ge=1, description="Candidates each retriever contributes to fusion.")
    notebook_outputs: bool = Field(
        default=False, description="Index the text outputs of notebook code cells as well as their source."
    )
    max_file_bytes: int = Field(
        default=20_000_000, ge=1024, description="Files are read in bounded blocks and truncated past this size."
    )
    timeout_s: float = Field(default=5.0, gt=0, description="Qdrant server timeout; a dead URL fails this fast.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "KnowledgeConfig":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"knowledge.chunk_overlap ({self.chunk_overlap}) must be smaller than knowledge.chunk_size "
                f"({self.chunk_size})"
            )
        return self
