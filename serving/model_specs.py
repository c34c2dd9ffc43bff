"""Architecture facts of the models we plan to serve, copied from their published Hugging Face `config.json`.

The VRAM planner needs only a handful of numbers per model (layers, KV heads, head size, parameter count,
vocabulary and hidden size for the parts quantizers leave in 16 bit). Keeping them in one table means the
arithmetic in `vram.py` can be checked against public figures instead of trusted on faith.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from serving.errors import ServingError


class Quantization(BaseModel):
    """How weights are stored on the GPU.

    `bits_per_weight` includes the per-group overhead, not just the nominal width: AWQ INT4 with group size 128
    stores an FP16 scale and a 4-bit zero point per 128 weights (4 + 20/128 ≈ 4.16 bits); we round up to 4.25
    to cover packing padding, norms and biases that stay in 16 bit.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    bits_per_weight: float = Field(gt=0)
    vllm_quantization: str | None = None
    quantizes_embeddings: bool = False


FP16 = Quantization(name="fp16", bits_per_weight=16.0, vllm_quantization=None, quantizes_embeddings=True)
AWQ_INT4 = Quantization(name="awq", bits_per_weight=4.25, vllm_quantization="awq_marlin")
QUANTIZATIONS: dict[str, Quantization] = {q.name: q for q in (FP16, AWQ_INT4)}


class ModelSpec(BaseModel):
    """One model's published shape plus the quantization it will be served with."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    hf_id: str
    params_b: float = Field(gt=0, description="total parameters, billions")
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    attention_heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    tied_embeddings: bool = False
    max_context: int = Field(gt=0)
    quantization: Quantization = FP16
    awq_hf_id: str | None = Field(default=None, description="a pre-quantized AWQ export to serve instead of hf_id")

    @property
    def uses_gqa(self) -> bool:
        return self.kv_heads < self.attention_heads

    @property
    def embedding_params_b(self) -> float:
        """Input embedding plus LM head: AWQ leaves both in FP16, which is why 70B AWQ is ~38 GiB, not 35."""
        matrices = 1 if self.tied_embeddings else 2
        return matrices * self.vocab_size * self.hidden_size / 1e9

    @property
    def served_hf_id(self) -> str:
        if self.quantization.name == AWQ_INT4.name and self.awq_hf_id:
            return self.awq_hf_id
        return self.hf_id

    def with_quantization(self, quantization: Quantization) -> ModelSpec:
        return self.model_copy(update={"quantization": quantization})


LLAMA_31_70B = ModelSpec(
    key="llama-3.1-70b",
    name="Llama-3.1-70B-Instruct",
    hf_id="meta-llama/Llama-3.1-70B-Instruct",
    params_b=70.6,
    layers=80,
    hidden_size=8192,
    attention_heads=64,
    kv_heads=8,
    head_dim=128,
    vocab_size=128256,
    max_context=131072,
    awq_hf_id="hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
)
MISTRAL_7B = ModelSpec(
    key="mistral-7b",
    name="Mistral-7B-Instruct-v0.3",
    hf_id="mistralai/Mistral-7B-Instruct-v0.3",
    params_b=7.25,
    layers=32,
    hidden_size=4096,
    attention_heads=32,
    kv_heads=8,
    head_dim=128,
    vocab_size=32768,
    max_context=32768,
    # A community AWQ export; check it exists (or quantize with llm-compressor) before deploying.
    awq_hf_id="solidrust/Mistral-7B-Instruct-v0.3-AWQ",
)
CODELLAMA_13B = ModelSpec(
    key="codellama-13b",
    name="CodeLlama-13B-Instruct",
    hf_id="codellama/CodeLlama-13b-Instruct-hf",
    params_b=13.0,
    layers=40,
    hidden_size=5120,
    attention_heads=40,
    kv_heads=40,
    head_dim=128,
    vocab_size=32016,
    max_context=16384,
    awq_hf_id="TheBloke/CodeLlama-13B-Instruct-AWQ",
)
QWEN25_CODER_7B = ModelSpec(
    key="qwen2.5-coder-7b",
    name="Qwen2.5-Coder-7B-Instruct",
    hf_id="Qwen/Qwen2.5-Coder-7B-Instruct",
    params_b=7.6,
    layers=28,
    hidden_size=3584,
    attention_heads=28,
    kv_heads=4,
    head_dim=128,
    vocab_size=152064,
    max_context=32768,
    awq_hf_id="Qwen/Qwen2.5-Coder-7B-Instruct-AWQ",
)
SMOLLM2_135M = ModelSpec(
    key="smollm2-135m",
    name="SmolLM2-135M-Instruct",
    hf_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    params_b=0.135,
    layers=30,
    hidden_size=576,
    attention_heads=9,
    kv_heads=3,
    head_dim=64,
    vocab_size=49152,
    tied_embeddings=True,
    max_context=8192,
)

CATALOGUE: dict[str, ModelSpec] = {
    m.key: m for m in (LLAMA_31_70B, MISTRAL_7B, CODELLAMA_13B, QWEN25_CODER_7B, SMOLLM2_135M)
}

# Published HumanEval pass@1 of the two small coder candidates (model cards / Qwen2.5-Coder report),
# quoted in the planner's alternatives so the suggestion to swap tiers is backed by a number.
HUMANEVAL_PASS1: dict[str, float] = {"qwen2.5-coder-7b": 88.4, "codellama-13b": 42.7}


def resolve(name: str) -> ModelSpec:
    """Turn `llama-3.1-70b-awq` / `mistral-7b` / `codellama-13b-fp16` into a spec with its quantization.

    No suffix means FP16, the way the weights are published.
    """
    wanted = name.strip().lower()
    for quant in QUANTIZATIONS.values():
        suffix = f"-{quant.name}"
        if wanted.endswith(suffix) and wanted[: -len(suffix)] in CATALOGUE:
            return CATALOGUE[wanted[: -len(suffix)]].with_quantization(quant)
    if wanted in CATALOGUE:
        return CATALOGUE[wanted]
    known = ", ".join(sorted(CATALOGUE))
    raise ServingError(
        f"unknown model {name!r}; use one of {known}, optionally suffixed with -awq or -fp16 (e.g. llama-3.1-70b-awq)"
    )
