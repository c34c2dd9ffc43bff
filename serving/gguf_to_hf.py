"""Turn a bundled GGUF into a Hugging Face safetensors directory that vLLM can serve, with no hub access.

vLLM's CPU backend has no kernels for llama.cpp quantization types such as Q4_1, and its GGUF loader wants
the original repo's tokenizer from the hub. transformers reads GGUF itself (`from_pretrained(dir,
gguf_file=...)`, needs the `gguf` package): it de-quantizes every tensor, undoes llama.cpp's Q/K
permutation and rebuilds the tokenizer and chat template from the file's metadata. Saving that model gives
an ordinary HF directory. The weights are the de-quantized Q4_1 values, so vLLM serves the same numbers
llama.cpp does; `integration/vllm` proves it by comparing greedy outputs of the two servers, because such a
conversion has been seen to produce garbage for other architectures (Gemma).

Heavy imports (torch, transformers) happen inside the function: this module is imported by a CLI that must
start fast, and transformers + gguf are installed only where vLLM is (`make test-vllm`, the `vllm` extra).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from serving.errors import ServingError

MARKER = "taskmaster-gguf-source.json"  # records which GGUF a directory was made from, so reruns reuse it


def convert_gguf_to_hf(gguf_path: Path, out_dir: Path, *, dtype: str = "float32") -> Path:
    """Write `out_dir` (config, safetensors, tokenizer, chat template) from `gguf_path`; reuse it when it was
    already made from the same file. float32 keeps the de-quantized values exact; bfloat16 halves the size."""
    source = {"gguf": str(gguf_path.resolve()), "size": gguf_path.stat().st_size, "dtype": dtype}
    marker = out_dir / MARKER
    try:
        if json.loads(marker.read_text()) == source:
            return out_dir
    except (OSError, ValueError):
        pass
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ServingError(
            f"converting a GGUF needs torch, transformers, accelerate and gguf ({exc.name} is missing); "
            "install them with `pip install '.[vllm]'` or run `make test-vllm`"
        ) from exc
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch_dtype = getattr(torch, dtype)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch_dtype)
    # The tensors are plain floats now; drop the GGUF "quantization" tag, or save_pretrained refuses, and a
    # config that still claims GGUF would make vLLM look for a .gguf file.
    model.config.__dict__.pop("quantization_config", None)
    model.hf_quantizer = None
    model.is_quantized = False
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / MARKER).write_text(json.dumps(source))
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.replace(out_dir)  # a half-written directory is never mistaken for a finished one
    return out_dir
